"""Deploy Tessera's contracts and check that a chain really has them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from tessera._chain.client import Chain
from tessera._chain.disputes import DisputeParams
from tessera._chain.governance import DEFAULT_GOVERNANCE, GovernanceSettings, deploy_governance
from tessera._chain.settlement import FeeSplit, Periods
from tessera._chain.token import TokenClient
from tessera._errors import ChainError

TOKEN_NAME = "Tessera"
TOKEN_SYMBOL = "TSR"
TOKEN_DECIMALS = 18
INITIAL_SUPPLY = 1_000_000_000 * 10**TOKEN_DECIMALS  # minted to the deployer (the treasury)
# of every answer's price: node 30%, model owner 20%, contributors 40%, treasury 5%, and the
# validators 5% (paid to the disputes contract, which shares it by stake)
DEFAULT_SPLIT_BPS = (3_000, 2_000, 4_000, 500)
DEFAULT_VALIDATORS_BPS = 500
DEFAULT_PERIODS = Periods(epoch_length=3_600, challenge_period=3_600, withdrawal_delay=7_200)
DEFAULT_MIN_STAKE = 1_000 * 10**TOKEN_DECIMALS  # the least bonded stake of an eligible node
DEFAULT_DISPUTE_PARAMS = DisputeParams(
    min_validator_stake=1_000 * 10**TOKEN_DECIMALS,
    validator_unbonding_delay=2 * 86_400,
    min_bond=100 * 10**TOKEN_DECIMALS,
    response_period=900,
    commit_period=900,
    reveal_period=900,
    committee_size=3,
    supermajority_bps=6_667,
    slash_bps=5_000,  # half the node's stake
    challenger_share_bps=5_000,  # half of what is slashed; the rest to the treasury
    dissent_penalty_bps=5_000,  # half a voter's rewards for voting against the outcome
)


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
    disputes: str
    models: str
    block: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        for name, feature in (
            ("settlement", "payments"),
            ("governor", "governance"),
            ("staking", "the node network"),
            ("disputes", "validators"),
            ("models", "the model factory"),
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
            data["disputes"],
            data["models"],
            int(data["block"]),
        )


def deploy_contracts(
    chain: Chain,
    deployer: LocalAccount,
    periods: Periods = DEFAULT_PERIODS,
    governance: GovernanceSettings = DEFAULT_GOVERNANCE,
    dispute_params: DisputeParams = DEFAULT_DISPUTE_PARAMS,
) -> Deployment:
    """Deploy registry, token, settlement, staking, governance, disputes and the model
    registry (its snapshots checked against the datanet registry, no owner). The deployer
    holds the supply (and delegates its votes to itself) and is the treasury; the timelock
    owns the settlement's, the staking's and the disputes' parameters, the policy and the
    token's minting, so only passed proposals change them. Staking's unbonding delay is an
    hour above the epoch plus challenge window; the disputes contract is its slasher, the
    settlement's disputes link, the validators' pool and the payout prover's way to slash."""
    governance.check(INITIAL_SUPPLY)  # before any gas is spent
    start = chain.block_number()
    registry = chain.deploy("registry", deployer)
    token = chain.deploy(
        "token", deployer, TOKEN_NAME, TOKEN_SYMBOL, INITIAL_SUPPLY, deployer.address
    )
    settlement = chain.deploy(
        "settlement",
        deployer,
        token,
        _first_split(deployer.address).as_abi(),
        periods.epoch_length,
        periods.challenge_period,
        periods.withdrawal_delay,
    )
    unbonding = default_unbonding_delay(periods)
    staking = chain.deploy("staking", deployer, token, settlement, DEFAULT_MIN_STAKE, unbonding)
    timelock, governor, policy = deploy_governance(
        chain, deployer, token, [("token", token)], governance
    )
    disputes = chain.deploy(
        "disputes", deployer, token, settlement, staking, policy, registry, dispute_params.as_abi()
    )
    models = chain.deploy("models", deployer, registry)
    _link_disputes(chain, deployer, settlement, staking, disputes)
    _link_prover(chain, deployer, settlement, policy, disputes, registry)
    _hand_to_timelock(
        chain, deployer, timelock, settlement=settlement, staking=staking, disputes=disputes
    )
    TokenClient(chain, token).delegate(deployer, deployer.address)
    return Deployment(
        chain.chain_id,
        registry,
        token,
        settlement,
        staking,
        timelock,
        governor,
        policy,
        disputes,
        models,
        start,
    )


def _first_split(treasury: str) -> FeeSplit:
    """The pool is the disputes contract, deployed after the settlement: until it is linked,
    the validators' share goes to the treasury."""
    node_bps, owner_bps, contributors_bps, treasury_bps = DEFAULT_SPLIT_BPS
    return FeeSplit(
        node_bps, owner_bps, contributors_bps, treasury_bps + DEFAULT_VALIDATORS_BPS, treasury
    )


def _link_prover(
    chain: Chain,
    deployer: LocalAccount,
    settlement: str,
    policy: str,
    disputes: str,
    registry: str,
) -> None:
    """The payout prover may slash through the disputes contract; the link is set once."""
    prover = chain.deploy("payout_prover", deployer, settlement, policy, disputes, registry)
    chain.transact(chain.contract("disputes", disputes).functions.link_prover(prover), deployer)


def _hand_to_timelock(
    chain: Chain, deployer: LocalAccount, timelock: str, **contracts: str
) -> None:
    """After linking, only passed proposals change these contracts' parameters."""
    for name, address in contracts.items():
        handle = chain.contract(name, address)
        chain.transact(handle.functions.transfer_ownership(timelock), deployer)


def _link_disputes(
    chain: Chain, deployer: LocalAccount, settlement: str, staking: str, disputes: str
) -> None:
    """While the deployer still owns them: the settlement names the disputes contract (to
    freeze and void) and pays it the validators' share; staking makes it the slasher."""
    node_bps, owner_bps, contributors_bps, treasury_bps = DEFAULT_SPLIT_BPS
    split = FeeSplit(
        node_bps,
        owner_bps,
        contributors_bps,
        treasury_bps,
        deployer.address,
        DEFAULT_VALIDATORS_BPS,
        disputes,
    )
    settle = chain.contract("settlement", settlement).functions
    chain.transact(settle.link_disputes(disputes), deployer)
    chain.transact(settle.set_fee_split(split.as_abi()), deployer)
    stake = chain.contract("staking", staking).functions
    chain.transact(stake.set_slasher(disputes), deployer)


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
        ("disputes", deployment.disputes),
        ("models", deployment.models),
    ):
        if not chain.has_code(address):
            raise ChainError(
                f"there is no Tessera {name} contract at {address} on the chain at {chain.url} "
                "(a fresh or reset chain?): run `tessera init --force` to deploy them again"
            )
