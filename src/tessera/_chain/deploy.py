"""Deploy Tessera's contracts and check that a chain really has them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from tessera._chain.client import Chain
from tessera._chain.governance import DEFAULT_GOVERNANCE, GovernanceSettings, deploy_governance
from tessera._chain.settlement import FeeSplit, Periods
from tessera._chain.token import TokenClient
from tessera._errors import ChainError

TOKEN_NAME = "Tessera"
TOKEN_SYMBOL = "TSR"
TOKEN_DECIMALS = 18
INITIAL_SUPPLY = 1_000_000_000 * 10**TOKEN_DECIMALS  # minted to the deployer (the treasury)
# of every answer's price: node 30%, model owner 20%, contributors 40%, treasury 10%
DEFAULT_SPLIT_BPS = (3_000, 2_000, 4_000, 1_000)
DEFAULT_PERIODS = Periods(epoch_length=3_600, challenge_period=3_600, withdrawal_delay=7_200)
DEFAULT_MIN_STAKE = 1_000 * 10**TOKEN_DECIMALS  # the least bonded stake of an eligible node


def default_unbonding_delay(periods: Periods) -> int:
    """An hour longer than an epoch plus its challenge window: stake cannot leave ahead of a
    challenge to the last epoch its node posted."""
    return periods.epoch_length + periods.challenge_period + 3_600


DEFAULT_UNBONDING_DELAY = default_unbonding_delay(DEFAULT_PERIODS)


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    registry: str
    token: str
    settlement: str
    staking: str
    timelock: str
    governor: str
    policy: str
    block: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        for name, feature in (
            ("settlement", "payments"),
            ("governor", "governance"),
            ("staking", "the node network"),
        ):
            if name not in data:
                raise ChainError(
                    f"this home's contracts predate {feature} (no {name} contract): "
                    "run `tessera init --force` to deploy them again"
                )
        return cls(
            int(data["chain_id"]),
            data["registry"],
            data["token"],
            data["settlement"],
            data["staking"],
            data["timelock"],
            data["governor"],
            data["policy"],
            int(data["block"]),
        )


def deploy_contracts(
    chain: Chain,
    deployer: LocalAccount,
    periods: Periods = DEFAULT_PERIODS,
    governance: GovernanceSettings = DEFAULT_GOVERNANCE,
) -> Deployment:
    """Deploy registry, token, settlement, staking and governance. The deployer holds the
    supply (and delegates its votes to itself) and is the treasury; the timelock owns the
    settlement's and the staking's parameters, the policy and the token's minting, so only
    passed proposals change them. Staking starts with `DEFAULT_MIN_STAKE`, an unbonding delay
    an hour above the epoch plus challenge window, and no slasher."""
    governance.check(INITIAL_SUPPLY)  # before any gas is spent
    start = chain.block_number()
    registry = chain.deploy("registry", deployer)
    token = chain.deploy(
        "token", deployer, TOKEN_NAME, TOKEN_SYMBOL, INITIAL_SUPPLY, deployer.address
    )
    split = FeeSplit(*DEFAULT_SPLIT_BPS, treasury=deployer.address)
    settlement = chain.deploy(
        "settlement",
        deployer,
        token,
        split.as_abi(),
        periods.epoch_length,
        periods.challenge_period,
        periods.withdrawal_delay,
    )
    staking = chain.deploy(
        "staking",
        deployer,
        token,
        settlement,
        DEFAULT_MIN_STAKE,
        default_unbonding_delay(periods),
    )
    owned = [("settlement", settlement), ("staking", staking), ("token", token)]
    timelock, governor, policy = deploy_governance(chain, deployer, token, owned, governance)
    TokenClient(chain, token).delegate(deployer, deployer.address)
    return Deployment(
        chain.chain_id, registry, token, settlement, staking, timelock, governor, policy, start
    )


def check_deployment(chain: Chain, deployment: Deployment) -> None:
    """Raise ChainError unless `chain` is the chain the contracts were deployed on."""
    if chain.chain_id != deployment.chain_id:
        raise ChainError(
            f"the chain at {chain.url} has id {chain.chain_id}, but this home's contracts live on "
            f"chain {deployment.chain_id}: point --chain at that chain or run `tessera init` again"
        )
    for name, address in (
        ("registry", deployment.registry),
        ("token", deployment.token),
        ("settlement", deployment.settlement),
        ("staking", deployment.staking),
        ("governor", deployment.governor),
        ("timelock", deployment.timelock),
        ("policy", deployment.policy),
    ):
        if not chain.has_code(address):
            raise ChainError(
                f"there is no Tessera {name} contract at {address} on the chain at {chain.url} "
                "(a fresh or reset chain?): run `tessera init --force` to deploy them again"
            )
