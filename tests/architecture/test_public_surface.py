"""The one public door: `tessera.__all__` is exactly the surface below, every name in it
imports, the daemon and the models load only when asked for, and the CLI (the person-facing
surface) imports `tessera` and its own modules, nothing deeper.

A new export is a decision: add it to EXPECTED in the same change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from import_graph import imported_modules

import tessera

EXPECTED = {
    # the facade and what its methods return
    "Tessera",
    "Wallet",
    "AccountInfo",
    "AskResult",
    "AuditReport",
    "ClaimResult",
    "ContributionProof",
    "DatanetDetail",
    "DatanetRecord",
    "DecodedCall",
    "Earnings",
    "ChannelEvent",
    "ContributionUsage",
    "ContributionUse",
    "IngestReport",
    "NetworkParameters",
    "ProposalStatus",
    "Receipt",
    "SettleResult",
    "SettlementStatus",
    "Voucher",
    "UnsignedAsk",
    "Withdrawal",
    "NetworkNode",
    "NodeRecord",
    "ServedModel",
    "Channel",
    # what callers hand in
    "Action",
    "FeeSplit",
    "GovernanceSettings",
    "Periods",
    "Progress",
    "ProposalState",
    # defaults the CLI shows
    "DEFAULT_ANVIL_PORT",
    "DEFAULT_GOVERNANCE",
    "DEFAULT_NODE_URL",
    "DEFAULT_PERIODS",
    # token units
    "format_tsr",
    "parse_tsr",
    # the local chain, a node client, serving a node
    "AnvilProcess",
    "NodeClient",
    "Node",
    "NodeConfig",
    "build_node",
    "build_byzantine_node",
    "build_validator",
    "validator_status",
    "ValidatorConfig",
    "ValidatorRuntime",
    "ValidatorStatus",
    "Challenge",
    "DisputeParams",
    "DEFAULT_DISPUTE_PARAMS",
    "serve_node",
    "serving",
    # models and the attribution benchmark
    "default_model_dir",
    "weights_digest",
    "ModelManifest",
    "ModelRecord",
    "ModelTrace",
    "TrainProgress",
    "TrainSettings",
    "TrainedModel",
    "EvalConfig",
    "evaluate_attribution",
    "TrainingEvalConfig",
    "evaluate_training_attribution",
    # errors
    "TesseraError",
    "AccountError",
    "AdapterBusy",
    "ChainError",
    "ChainUnavailable",
    "ConfigError",
    "ContractRevert",
    "InputError",
    "ModelError",
    "NodeError",
    "NotDue",
    "NotFoundError",
    "PaidRequests",
    "SignatureError",
    "StoreError",
}
# loaded on first use: `import tessera` must not pay for torch or the node daemon
HEAVY = (
    "torch",
    "transformers",
    "uvicorn",
    "tessera._node",
    "tessera._evaluation",
    "tessera._validator",
)

CLI = Path(tessera.__file__).parent / "cli"
WEB = Path(tessera.__file__).parent / "web"


def test_all_is_exactly_the_expected_surface():
    exported = set(tessera.__all__)
    assert len(tessera.__all__) == len(exported), "a name is exported twice"
    assert not exported - EXPECTED, f"new exports: add them to EXPECTED: {exported - EXPECTED}"
    assert not EXPECTED - exported, f"missing from tessera.__all__: {EXPECTED - exported}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_exported_name_imports(name):
    namespace: dict[str, object] = {}
    exec(f"from tessera import {name}", namespace)
    value = namespace[name]
    assert value is getattr(tessera, name)
    assert not (isinstance(value, type(tessera))), f"{name} is a module, not an API"


def test_a_name_that_is_not_exported_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'build_nodes'"):
        tessera.build_nodes  # noqa: B018


def test_import_tessera_loads_neither_the_daemon_nor_the_models():
    # the library does not import the daemon: a fresh interpreter proves it
    code = (
        "import sys, tessera\n"
        "tessera.Tessera, tessera.NodeClient, tessera.Receipt\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} "
        f"or m.startswith({HEAVY!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# each person-facing surface, and the packages of its own it may import besides `tessera`
SURFACES = [
    *((m, ("tessera.cli", "tessera.web")) for m in sorted(CLI.glob("*.py"))),
    *((m, ("tessera.web",)) for m in sorted(WEB.glob("*.py"))),
]


@pytest.mark.parametrize(
    ("module", "own"),
    SURFACES,
    ids=lambda v: f"{v.parent.name}/{v.name}" if isinstance(v, Path) else "",
)
def test_the_person_facing_surfaces_import_only_the_public_door(module, own):
    wrong = {
        name
        for name in imported_modules(module)
        if name.split(".")[0] == "tessera"
        and name != "tessera"
        and not any(name == p or name.startswith(p + ".") for p in own)
    }
    assert not wrong, f"{module.name} imports {sorted(wrong)}: use `tessera` (its __all__)"


def test_the_import_check_sees_what_it_must(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from tessera._api import Tessera\n"
        "def f():\n    from tessera import _node\n    from .. import _home\n"
        "from tessera import Tessera\nfrom tessera.cli import render\n"
    )
    assert {"tessera._api", "tessera._node", "tessera._home"} <= imported_modules(
        probe, "tessera.cli.probe"
    )
    assert "tessera.Tessera" not in imported_modules(probe, "tessera.cli.probe")
