"""Deploy Tessera's contracts and check that a chain really has them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from tessera.chain.client import Chain
from tessera.errors import ChainError

TOKEN_NAME = "Tessera"
TOKEN_SYMBOL = "TSR"
TOKEN_DECIMALS = 18
INITIAL_SUPPLY = 1_000_000_000 * 10**TOKEN_DECIMALS  # minted to the deployer (the treasury)


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    registry: str
    token: str
    block: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        return cls(int(data["chain_id"]), data["registry"], data["token"], int(data["block"]))


def deploy_contracts(chain: Chain, deployer: LocalAccount) -> Deployment:
    start = chain.block_number()
    registry = chain.deploy("registry", deployer)
    token = chain.deploy(
        "token", deployer, TOKEN_NAME, TOKEN_SYMBOL, INITIAL_SUPPLY, deployer.address
    )
    return Deployment(chain.chain_id, registry, token, start)


def check_deployment(chain: Chain, deployment: Deployment) -> None:
    """Raise ChainError unless `chain` is the chain the contracts were deployed on."""
    if chain.chain_id != deployment.chain_id:
        raise ChainError(
            f"the chain at {chain.url} has id {chain.chain_id}, but this home's contracts live on "
            f"chain {deployment.chain_id}: point --chain at that chain or run `tessera init` again"
        )
    for name, address in (("registry", deployment.registry), ("token", deployment.token)):
        if not chain.has_code(address):
            raise ChainError(
                f"there is no Tessera {name} contract at {address} on the chain at {chain.url} "
                "(a fresh or reset chain?): run `tessera init --force` to deploy them again"
            )
