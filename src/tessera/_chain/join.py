"""Join a deployment that someone else made: from its registry's address or a deployment file.

A joining home deploys nothing. It reads the addresses the deployer linked into the registry
(`registry.link_deployment`), checks that each one holds code on this chain, and keeps them.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from tessera._chain.client import Chain
from tessera._chain.deploy import Deployment, check_deployment
from tessera._chain.registry import LinkedDeployment, RegistryClient
from tessera._errors import ChainError, ConfigError, InputError

MAX_DEPLOYMENT_FILE_BYTES = 64 * 1024


def link(chain: Chain, deployer: LocalAccount, deployment: Deployment) -> None:
    """Record the deployment's addresses in its registry, so others can join from it."""
    linked = LinkedDeployment(
        deployment.token,
        deployment.settlement,
        deployment.staking,
        deployment.timelock,
        deployment.governor,
        deployment.policy,
        deployment.disputes,
        deployment.models,
        deployment.block,
    )
    RegistryClient(chain, deployment.registry).link_deployment(deployer, linked)


def joined_deployment(chain: Chain, source: str) -> Deployment:
    """The deployment named by `source`: a registry address on `chain`, or the path of a
    deployment file (a home's config.json, or the `contracts` object inside it)."""
    deployment = _from_address(chain, source) if is_address(source) else _from_file(source)
    check_deployment(chain, deployment)
    return deployment


def _from_address(chain: Chain, address: str) -> Deployment:
    address = to_checksum_address(address)
    if not chain.has_code(address):
        raise ChainError(
            f"there is no contract at {address} on the chain at {chain.url}: pass the registry "
            "address that `tessera init` printed on the deploying machine, on the same chain"
        )
    try:
        linked = RegistryClient(chain, address).linked_deployment()
    except ChainError:
        linked = None
    if linked is None:
        raise ChainError(
            f"{address} is not a Tessera registry with a linked deployment: pass the registry "
            "address that `tessera init` printed, or --join a deployment file"
        )
    return Deployment(
        chain_id=chain.chain_id,
        registry=address,
        token=linked.token,
        settlement=linked.settlement,
        staking=linked.staking,
        timelock=linked.timelock,
        governor=linked.governor,
        policy=linked.policy,
        disputes=linked.disputes,
        models=linked.models,
        block=linked.block,
    )


def _from_file(source: str) -> Deployment:
    path = Path(source).expanduser()
    if not path.is_file():
        raise InputError(
            f"--join {source!r} is neither a contract address (0x...) nor a file: pass the "
            "registry address `tessera init` printed, or the path of a deployment file"
        )
    if path.stat().st_size > MAX_DEPLOYMENT_FILE_BYTES:
        raise InputError(f"{path} is over {MAX_DEPLOYMENT_FILE_BYTES} bytes: not a deployment file")
    try:
        body = json.loads(path.read_text())
        contracts = body.get("contracts", body)
        return Deployment.from_json(contracts)
    except (ValueError, KeyError, TypeError, AttributeError, ChainError) as exc:
        raise ConfigError(
            f"{path} is not a deployment file ({type(exc).__name__}: {exc}): pass the "
            "config.json of a home on that deployment, or its registry's address"
        ) from None
