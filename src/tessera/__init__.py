"""Tessera: an open AI network in which every answer pays the people whose work it used.

The one public door: the `Tessera` facade, the types its methods return, the errors, token
units, a client for nodes, and serving a node. The node daemon, the models and the attribution
benchmark load on first use (PEP 562), so `import tessera` stays quick.
"""

from __future__ import annotations

import importlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tessera._api import AnvilProcess, Tessera, Wallet
from tessera._chain.deploy import DEFAULT_DISPUTE_PARAMS, DEFAULT_PERIODS
from tessera._chain.disputes import Challenge, DisputeParams
from tessera._chain.governance import DEFAULT_GOVERNANCE, Action, GovernanceSettings, ProposalState
from tessera._chain.registry import DatanetRecord
from tessera._chain.settlement import Channel, FeeSplit, Periods, Withdrawal
from tessera._chain.staking import NodeRecord
from tessera._client import DEFAULT_NODE_URL, AskResult, NodeClient, PaidRequests
from tessera._crypto.keys import AccountInfo
from tessera._crypto.receipt import Receipt
from tessera._crypto.voucher import Voucher
from tessera._data.datanets import ContributionProof, DatanetDetail
from tessera._data.ingest import IngestReport, Progress
from tessera._errors import (
    AccountError,
    AdapterBusy,
    ChainError,
    ChainUnavailable,
    ConfigError,
    ContractRevert,
    InputError,
    ModelError,
    NodeError,
    NotDue,
    NotFoundError,
    SignatureError,
    StoreError,
    TesseraError,
)
from tessera._govern.actions import DecodedCall
from tessera._govern.governance import NetworkParameters, ProposalStatus
from tessera._home import DEFAULT_ANVIL_PORT
from tessera._network.records import NetworkNode, ServedModel
from tessera._network.wallet_asking import UnsignedAsk
from tessera._payments.audit import AuditReport
from tessera._payments.claims import ClaimResult
from tessera._payments.earnings import Earnings
from tessera._payments.epochs import SettlementStatus, SettleResult
from tessera._payments.spending import ChannelEvent
from tessera._payments.units import format_tsr, parse_tsr
from tessera._payments.usage import ContributionUsage, ContributionUse

if TYPE_CHECKING:
    from tessera._chain.models import ModelRecord
    from tessera._evaluation.attribution_eval import EvalConfig
    from tessera._evaluation.attribution_eval import evaluate as evaluate_attribution
    from tessera._evaluation.training_attribution_eval import TrainingEvalConfig
    from tessera._evaluation.training_attribution_eval import (
        evaluate as evaluate_training_attribution,
    )
    from tessera._factory.factory import TrainedModel
    from tessera._factory.tracing import ModelTrace
    from tessera._models.digest import weights_digest
    from tessera._models.gguf_cache import default_gemma_dir as default_model_dir
    from tessera._models.model_manifest import ModelManifest
    from tessera._models.training import TrainProgress, TrainSettings
    from tessera._node.byzantine import build_byzantine_node
    from tessera._node.config import NodeConfig
    from tessera._node.runtime import Node, build_node
    from tessera._validator.runtime import ValidatorConfig, ValidatorRuntime, build_validator
    from tessera._validator.status import ValidatorStatus, validator_status

__all__ = [
    "DEFAULT_ANVIL_PORT",
    "DEFAULT_DISPUTE_PARAMS",
    "DEFAULT_GOVERNANCE",
    "DEFAULT_NODE_URL",
    "DEFAULT_PERIODS",
    "AccountError",
    "AccountInfo",
    "Action",
    "AdapterBusy",
    "AnvilProcess",
    "AskResult",
    "AuditReport",
    "ChainError",
    "ChainUnavailable",
    "Challenge",
    "Channel",
    "ChannelEvent",
    "ClaimResult",
    "ConfigError",
    "ContractRevert",
    "ContributionProof",
    "ContributionUsage",
    "ContributionUse",
    "DatanetDetail",
    "DatanetRecord",
    "DecodedCall",
    "DisputeParams",
    "Earnings",
    "EvalConfig",
    "FeeSplit",
    "GovernanceSettings",
    "IngestReport",
    "InputError",
    "ModelError",
    "ModelManifest",
    "ModelRecord",
    "ModelTrace",
    "NetworkNode",
    "NetworkParameters",
    "Node",
    "NodeClient",
    "NodeConfig",
    "NodeError",
    "NodeRecord",
    "NotDue",
    "NotFoundError",
    "PaidRequests",
    "Periods",
    "Progress",
    "ProposalState",
    "ProposalStatus",
    "Receipt",
    "ServedModel",
    "SettleResult",
    "SettlementStatus",
    "SignatureError",
    "StoreError",
    "Tessera",
    "TesseraError",
    "TrainProgress",
    "TrainSettings",
    "TrainedModel",
    "TrainingEvalConfig",
    "UnsignedAsk",
    "ValidatorConfig",
    "ValidatorRuntime",
    "ValidatorStatus",
    "Voucher",
    "Wallet",
    "Withdrawal",
    "build_byzantine_node",
    "build_node",
    "build_validator",
    "default_model_dir",
    "evaluate_attribution",
    "evaluate_training_attribution",
    "format_tsr",
    "parse_tsr",
    "serve_node",
    "serving",
    "validator_status",
    "weights_digest",
]

# name -> (module, attribute): torch, transformers and the daemon load only when asked for
_LAZY = {
    "EvalConfig": ("tessera._evaluation.attribution_eval", "EvalConfig"),
    "evaluate_attribution": ("tessera._evaluation.attribution_eval", "evaluate"),
    "TrainingEvalConfig": ("tessera._evaluation.training_attribution_eval", "TrainingEvalConfig"),
    "evaluate_training_attribution": ("tessera._evaluation.training_attribution_eval", "evaluate"),
    "weights_digest": ("tessera._models.digest", "weights_digest"),
    "ModelManifest": ("tessera._models.model_manifest", "ModelManifest"),
    "ModelRecord": ("tessera._chain.models", "ModelRecord"),
    "ModelTrace": ("tessera._factory.tracing", "ModelTrace"),
    "TrainSettings": ("tessera._models.training", "TrainSettings"),
    "TrainedModel": ("tessera._factory.factory", "TrainedModel"),
    "TrainProgress": ("tessera._models.training", "TrainProgress"),
    "default_model_dir": ("tessera._models.gguf_cache", "default_gemma_dir"),
    "NodeConfig": ("tessera._node.config", "NodeConfig"),
    "Node": ("tessera._node.runtime", "Node"),
    "build_node": ("tessera._node.runtime", "build_node"),
    "build_byzantine_node": ("tessera._node.byzantine", "build_byzantine_node"),
    "ValidatorConfig": ("tessera._validator.runtime", "ValidatorConfig"),
    "ValidatorRuntime": ("tessera._validator.runtime", "ValidatorRuntime"),
    "build_validator": ("tessera._validator.runtime", "build_validator"),
    "ValidatorStatus": ("tessera._validator.status", "ValidatorStatus"),
    "validator_status": ("tessera._validator.status", "validator_status"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'tessera' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once loaded, a plain module attribute
    return value


def serve_node(node: Node) -> None:
    """Serve a node built by `build_node(t.node_parts(account), NodeConfig(...))` on its
    config's host and port until interrupted, then close it."""
    import uvicorn

    config = node.service.config
    try:
        uvicorn.run(node.app, host=config.host, port=config.port, log_level="warning")
    finally:
        node.close()


@contextmanager
def serving(node: Node) -> Iterator[str]:
    """Serve a built node in a background thread while the block runs; yields its URL. The
    node is closed afterwards, as `serve_node` closes it."""
    import uvicorn

    config = node.service.config
    listener = socket.socket()
    try:
        listener.bind((config.host, config.port))  # here, so a taken port is an error here
    except OSError as exc:
        listener.close()
        node.close()
        raise NodeError(
            f"the node could not serve on {config.host}:{config.port} ({exc.strerror}): "
            "give it a free port"
        ) from None
    server = uvicorn.Server(uvicorn.Config(node.app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            thread.join(0.05)
        if not server.started:
            raise NodeError(f"the node at {config.host}:{config.port} did not start: see its log")
        yield f"http://{config.host}:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
        node.close()
