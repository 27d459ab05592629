"""Typed clients of governor.vy, timelock.vy and policy.vy, and the governance deployment.

The timelock owns every governed contract (settlement, policy, the token's minting, the
governor's own settings); the governor is its only proposer, canceller and executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from tessera._chain.client import Chain
from tessera._errors import InputError

MAX_ACTIONS = 10  # governor.vy's bound on calls per proposal
MAX_PAYLOAD = 1_024  # the timelock's bound on one call's bytes
# governor.vy's bounds: no setting may lock governance out of changing it back
MAX_DELAY = 30 * 86_400  # voting delay and timelock delay
MAX_VOTING_PERIOD = 30 * 86_400
MAX_GRACE_PERIOD = 90 * 86_400
MAX_QUORUM_BPS = 5_000
ZERO_ROLE = b"\x00" * 32  # access_control's DEFAULT_ADMIN_ROLE


class ProposalState(IntEnum):
    """governor.vy's states, numbered as OpenZeppelin's `ProposalState`."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7

    @property
    def label(self) -> str:
        return self.name.lower()


class Support(IntEnum):
    AGAINST = 0
    FOR = 1
    ABSTAIN = 2


@dataclass(frozen=True)
class GovernanceSettings:
    """Seconds and amounts of the governance process. The defaults suit a local chain that a
    person drives by hand; a public network would use days (e.g. 1 d delay, 7 d voting)."""

    voting_delay: int = 5  # from proposal to snapshot
    voting_period: int = 60  # voting after the snapshot
    timelock_delay: int = 30  # from queue to execution
    grace_period: int = 7 * 86_400  # a queued proposal expires after this
    proposal_threshold: int = 1_000 * 10**18  # votes a proposer needs (smallest unit)
    quorum_bps: int = 400  # for + abstain votes needed: 4% of the supply at the snapshot

    def check(self, supply: int) -> None:
        """Raise InputError unless governor.vy would accept these settings (`supply`: the
        token's total supply, which bounds the proposal threshold)."""
        bounds = {
            "voting_delay": (1, MAX_DELAY),
            "voting_period": (1, MAX_VOTING_PERIOD),
            "timelock_delay": (0, MAX_DELAY),
            "grace_period": (1, MAX_GRACE_PERIOD),
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise InputError(f"{name} is {value} s: give {low} to {high:,} s")
        if not 0 <= self.quorum_bps <= MAX_QUORUM_BPS:
            raise InputError(f"quorum_bps is {self.quorum_bps}: give 0 to {MAX_QUORUM_BPS:,}")
        if not 0 <= self.proposal_threshold <= supply // 100:
            raise InputError(
                f"the proposal threshold must be between 0 and 1% of the supply "
                f"({supply // 100} smallest units)"
            )


DEFAULT_GOVERNANCE = GovernanceSettings()


@dataclass(frozen=True)
class Action:
    """One call a proposal makes through the timelock."""

    target: str
    payload: bytes


@dataclass(frozen=True)
class ProposalRecord:
    id: int
    proposer: str
    snapshot: int
    deadline: int
    quorum_bps: int
    for_votes: int
    against_votes: int
    abstain_votes: int
    eta: int
    expires_at: int
    cancelled: bool
    executed: bool
    description: str
    state: ProposalState
    quorum: int | None  # None until the snapshot has passed
    actions: tuple[Action, ...]


class GovernorClient:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        self.contract = chain.contract("governor", address)

    def propose(self, sender: LocalAccount, actions: list[Action], description: str) -> int:
        self.chain.catch_up_clock()
        fn = self.contract.functions.propose(
            [Web3.to_checksum_address(a.target) for a in actions],
            [a.payload for a in actions],
            description,
        )
        receipt = self.chain.transact(fn, sender)
        (created,) = self.contract.events.ProposalCreated().process_receipt(receipt)
        return int(created["args"]["proposal_id"])

    def vote(self, sender: LocalAccount, proposal_id: int, support: Support, reason: str) -> int:
        self.chain.catch_up_clock()
        fn = self.contract.functions.cast_vote_with_reason(proposal_id, int(support), reason)
        receipt = self.chain.transact(fn, sender)
        (cast,) = self.contract.events.VoteCast().process_receipt(receipt)
        return int(cast["args"]["weight"])

    def queue(self, sender: LocalAccount, proposal_id: int) -> int:
        self.chain.catch_up_clock()
        self.chain.transact(self.contract.functions.queue(proposal_id), sender)
        return self.proposal(proposal_id).eta

    def execute(self, sender: LocalAccount, proposal_id: int) -> None:
        self.chain.catch_up_clock()
        self.chain.transact(self.contract.functions.execute(proposal_id), sender)

    def cancel(self, sender: LocalAccount, proposal_id: int) -> None:
        self.chain.catch_up_clock()  # whether it expired depends on the time
        self.chain.transact(self.contract.functions.cancel(proposal_id), sender)

    def count(self) -> int:
        return int(self.chain.call(self.contract.functions.proposal_count()))

    def threshold(self) -> int:
        return int(self.chain.call(self.contract.functions.proposal_threshold()))

    def has_voted(self, proposal_id: int, voter: str) -> bool:
        fn = self.contract.functions.has_voted(proposal_id, Web3.to_checksum_address(voter))
        return bool(self.chain.call(fn))

    def proposal(self, proposal_id: int) -> ProposalRecord:
        fields = self.chain.call(self.contract.functions.proposals(proposal_id))
        state = ProposalState(self.chain.call(self.contract.functions.state(proposal_id)))
        targets, payloads = self.chain.call(self.contract.functions.actions(proposal_id))
        quorum = None
        if state not in (ProposalState.PENDING, ProposalState.CANCELED):
            quorum = int(self.chain.call(self.contract.functions.proposal_quorum(proposal_id)))
        proposer, snapshot, deadline, quorum_bps, yes, no, abstain, eta, expires, *flags = fields
        return ProposalRecord(
            proposal_id,
            str(proposer),
            int(snapshot),
            int(deadline),
            int(quorum_bps),
            int(yes),
            int(no),
            int(abstain),
            int(eta),
            int(expires),
            bool(flags[0]),
            bool(flags[1]),
            str(self.chain.call(self.contract.functions.descriptions(proposal_id))),
            state,
            quorum,
            tuple(Action(str(t), bytes(p)) for t, p in zip(targets, payloads, strict=True)),
        )

    def settings(self) -> GovernanceSettings:
        f = self.contract.functions
        timelock = self.chain.contract("timelock", self.chain.call(f.timelock()))
        return GovernanceSettings(
            voting_delay=int(self.chain.call(f.voting_delay())),
            voting_period=int(self.chain.call(f.voting_period())),
            timelock_delay=int(self.chain.call(timelock.functions.get_minimum_delay())),
            grace_period=int(self.chain.call(f.grace_period())),
            proposal_threshold=self.threshold(),
            quorum_bps=int(self.chain.call(f.quorum_bps())),
        )


@dataclass(frozen=True)
class ModelVersion:
    model_id: str
    weights_digest: str  # 0x-hex sha256


@dataclass(frozen=True)
class PolicySnapshot:
    """The policy as of one `version`: what nodes must not use, what is approved, and how the
    contributors' pool weighs an adapter's training against the prompt's context."""

    version: int
    blocked_cids: frozenset[str]
    blocked_datanets: frozenset[int]
    approved_models: frozenset[ModelVersion]
    training_weight_bps: int = 10_000  # 1.0: a nat from training counts as one from context
    previous_training_weight_bps: int = 10_000  # policy.vy keeps exactly one previous value
    training_weight_since: int = 0  # block timestamp of the last change; 0: never changed

    def model_approved(self, model_id: str, weights_digest: str) -> bool:
        return ModelVersion(model_id, weights_digest.lower()) in self.approved_models

    def training_weight_at(self, timestamp: int) -> int:
        """The training weight (bps) in force at `timestamp`, e.g. a receipt's signing time.
        Only one previous value is kept: right unless the weight changed twice since then."""
        if timestamp < self.training_weight_since:
            return self.previous_training_weight_bps
        return self.training_weight_bps


class PolicyClient:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        self.contract = chain.contract("policy", address)

    def version(self) -> int:
        return int(self.chain.call(self.contract.functions.version()))

    def snapshot(self) -> PolicySnapshot:
        """Every list and the version, read at one block so that they belong together."""
        block = self.chain.block_number()
        f = self.contract.functions
        version = int(self.chain.call(f.version(), block))
        cids = frozenset(str(c) for c in self.chain.call(f.blocked_content(), block))
        datanets = frozenset(int(d) for d in self.chain.call(f.blocked_datanets(), block))
        models = frozenset(
            ModelVersion(str(m), "0x" + bytes(d).hex())
            for m, d, _ in self.chain.call(f.approved_models(), block)
        )
        return PolicySnapshot(
            version,
            cids,
            datanets,
            models,
            training_weight_bps=int(self.chain.call(f.training_weight_bps(), block)),
            previous_training_weight_bps=int(
                self.chain.call(f.previous_training_weight_bps(), block)
            ),
            training_weight_since=int(self.chain.call(f.training_weight_since(), block)),
        )

    def training_weight_bps(self) -> int:
        """How a nat of gain from an adapter's training counts against one from the context,
        in basis points of 1.0 (10_000: equally)."""
        return int(self.chain.call(self.contract.functions.training_weight_bps()))

    def model_owner(
        self, model_id: str, weights_digest: str, block: int | None = None
    ) -> str | None:
        """Whom governance named as the royalty owner of this exact model version, now or at
        `block` (None: unapproved, or approved without an owner: the treasury is paid)."""
        digest = bytes.fromhex(weights_digest.removeprefix("0x"))
        fn = self.contract.functions.model_owner(model_id, digest)
        owner = str(self.chain.call(fn, block))
        return None if int(owner, 16) == 0 else Web3.to_checksum_address(owner)

    def royalty_owner(self, model_id: str, weights_digest: str) -> str | None:
        """Whom settlement pays a model version's royalty: the owner named at its approval,
        kept after a revocation (None: never approved, or without an owner: the treasury).
        It never changes, so the payout prover reads the same owner the node did."""
        digest = bytes.fromhex(weights_digest.removeprefix("0x"))
        fn = self.contract.functions.royalty_owner(model_id, digest)
        owner = str(self.chain.call(fn))
        return None if int(owner, 16) == 0 else Web3.to_checksum_address(owner)

    def is_blocked(self, cid: str) -> bool:
        return bool(self.chain.call(self.contract.functions.is_content_blocked(cid)))

    def was_approved(self, model_id: str, weights_digest: str) -> bool:
        """Whether this model version was ever approved (a later revocation does not make a
        receipt served under the approval a fault), as the disputes contract decides."""
        digest = bytes.fromhex(weights_digest.removeprefix("0x"))
        return bool(self.chain.call(self.contract.functions.was_approved(model_id, digest)))

    def owner(self) -> str:
        return str(self.chain.call(self.contract.functions.owner()))


def encode_call(chain: Chain, contract: str, address: str, function: str, *args: Any) -> Action:
    """An action calling `function(*args)` on `contract` (a name in contracts/) at `address`."""
    handle = chain.contract(contract, address)
    payload = handle.encode_abi(function, args=list(args))
    return Action(Web3.to_checksum_address(address), bytes.fromhex(payload.removeprefix("0x")))


def deploy_governance(
    chain: Chain,
    deployer: LocalAccount,
    token: str,
    owned: list[tuple[str, str]],
    settings: GovernanceSettings,
) -> tuple[str, str, str]:
    """Deploy timelock, governor and policy, wire the governor in as the timelock's only
    proposer, canceller and executor, hand `owned` ((contract name, address) pairs: the
    settlement and the token) and the policy to the timelock, and drop the deployer's admin.
    Returns (timelock, governor, policy)."""
    timelock = chain.deploy("timelock", deployer, settings.timelock_delay, [], [], deployer.address)
    governor = chain.deploy(
        "governor",
        deployer,
        token,
        timelock,
        settings.voting_delay,
        settings.voting_period,
        settings.proposal_threshold,
        settings.quorum_bps,
        settings.grace_period,
    )
    policy = chain.deploy("policy", deployer)
    lock = chain.contract("timelock", timelock)
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
        role_id = keccak(text=role)
        chain.transact(lock.functions.grantRole(role_id, governor), deployer)
    for name, address in [*owned, ("policy", policy)]:
        handle = chain.contract(name, address)
        chain.transact(handle.functions.transfer_ownership(timelock), deployer)
    chain.transact(lock.functions.renounceRole(ZERO_ROLE, deployer.address), deployer)
    return timelock, governor, policy
