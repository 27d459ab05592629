"""`Governance`: propose, vote, queue, execute, cancel, delegate and read the parameters.

Reached as `Tessera(...).gov`; the CLI's `tessera gov ...` commands call only this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from eth_account.signers.local import LocalAccount

from tessera._chain.client import Chain
from tessera._chain.deploy import Deployment
from tessera._chain.governance import (
    Action,
    GovernanceSettings,
    GovernorClient,
    PolicyClient,
    PolicySnapshot,
    ProposalRecord,
    ProposalState,
    Support,
)
from tessera._chain.settlement import FeeSplit, Periods, SettlementClient
from tessera._chain.staking import StakingClient, StakingParameters
from tessera._errors import ContractRevert, InputError
from tessera._govern.actions import ActionBuilder, DecodedCall, check_count, decode, describe

T = TypeVar("T")

# what to do about the reverts a person meets most
_HINTS = {
    "governor: proposer votes below threshold": "proposing needs votes delegated to you before "
    "this block: `tessera gov delegate` to yourself, or get more TSR",
    "governor: no voting power at the snapshot": "votes count as delegated when the proposal's "
    "snapshot passed; tokens or delegations since then do not vote on it",
    "governor: vote already cast": "each address votes once per proposal",
    "governor: voting has not started": "wait for the snapshot (`tessera gov status ID`)",
    "governor: voting is closed": "the voting period is over (`tessera gov status ID`)",
    "governor: proposal not successful": "only a succeeded proposal can be queued: "
    "it needs a quorum and more for than against votes",
    "governor: timelock delay not over": "wait for its eta (`tessera gov status ID`)",
    "governor: proposal not queued": "queue it first (`tessera gov queue ID`) once it succeeded",
    "governor: proposal expired": "it was not executed within the grace period: propose it again",
    "governor: only the proposer can cancel": "cancel with the account that proposed it",
    "governor: proposal cannot be cancelled": "it already ran, was defeated or was cancelled",
    "governor: unknown proposal": "`tessera gov status` lists the proposals",
    "votes: signature expired": "the signed delegation is past its expiry: sign a new one",
    "votes: invalid nonce": "the delegator's nonce moved on (another delegation or a permit "
    "since): sign a new delegation",
}


@dataclass(frozen=True)
class ProposalStatus:
    record: ProposalRecord
    changes: tuple[str, ...]  # each action, decoded as text
    calls: tuple[DecodedCall | None, ...]  # each action, decoded (None: not a governed function)
    now: int

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def state(self) -> ProposalState:
        return self.record.state


@dataclass(frozen=True)
class NetworkParameters:
    fee_split: FeeSplit
    periods: Periods
    settings: GovernanceSettings
    policy: PolicySnapshot
    staking: StakingParameters


def parse_support(text: str | Support) -> Support:
    if isinstance(text, Support):
        return text
    try:
        return Support[text.strip().upper()]
    except KeyError:
        raise InputError(f"vote {text!r} is not one of: for, against, abstain") from None


class Governance:
    def __init__(
        self,
        chain: Chain,
        deployment: Deployment,
        settlement: SettlementClient,
        signer: Callable[[str | None], LocalAccount],
        address: Callable[[str | None], str],
    ) -> None:
        self.chain = chain
        self.deployment = deployment
        self.settlement = settlement
        self.governor = GovernorClient(chain, deployment.governor)
        self.policy = PolicyClient(chain, deployment.policy)
        self.staking = StakingClient(chain, deployment.staking)
        self.actions = ActionBuilder(chain, deployment)
        self._signer = signer
        self._address = address

    # voting power ---------------------------------------------------------------------------

    def delegate(self, to: str | None = None, account: str | None = None) -> str:
        """Point `account`'s voting power at `to` (default: itself); returns the delegate."""
        signer = self._signer(account)
        delegatee = self._address(to) if to else signer.address
        self.settlement.token.delegate(signer, delegatee)
        return delegatee

    def voting_power(self, account: str | None = None) -> tuple[int, str]:
        """(votes delegated to `account` now, the delegate `account`'s own balance points at)."""
        address = self._address(account)
        token = self.settlement.token
        return token.votes(address), token.delegate_of(address)

    # the lifecycle --------------------------------------------------------------------------

    def propose(self, actions: list[Action], description: str, account: str | None = None) -> int:
        check_count(actions)
        if not description.strip():
            raise InputError("say what the proposal does and why: give it a description")
        if len(description.encode()) > 1_024:
            raise InputError("the description is over 1,024 bytes: shorten it")
        return self._run(lambda s: self._propose(s, actions, description), account)

    def _propose(self, signer: LocalAccount, actions: list[Action], description: str) -> int:
        # the threshold counts votes as of the second before: a delegation made this very
        # second (a script that delegates, then proposes) counts from the next one
        votes, _ = self.voting_power(signer.address)
        if votes >= self.governor.threshold():
            self.chain.wait_until(self.chain.now() + 1)
        return self.governor.propose(signer, actions, description)

    def vote(
        self,
        proposal_id: int,
        support: str | Support,
        reason: str = "",
        account: str | None = None,
    ) -> int:
        choice = parse_support(support)
        if len(reason.encode()) > 256:
            raise InputError("the reason is over 256 bytes: shorten it")
        return self._run(lambda s: self.governor.vote(s, proposal_id, choice, reason), account)

    def queue(self, proposal_id: int, account: str | None = None) -> int:
        """Queue a succeeded proposal in the timelock; returns when it may run."""
        return self._run(lambda s: self.governor.queue(s, proposal_id), account)

    def execute(self, proposal_id: int, account: str | None = None, wait: bool = False) -> None:
        """Run a queued proposal; with `wait`, first wait for its timelock delay to pass."""
        if wait:
            record = self.governor.proposal(proposal_id)
            if record.state == ProposalState.QUEUED:
                self.chain.wait_until(record.eta)
        self._run(lambda s: self.governor.execute(s, proposal_id), account)

    def cancel(self, proposal_id: int, account: str | None = None) -> None:
        self._run(lambda s: self.governor.cancel(s, proposal_id), account)

    # reading --------------------------------------------------------------------------------

    def status(self, proposal_id: int) -> ProposalStatus:
        if not 1 <= proposal_id <= self.governor.count():
            raise InputError(f"there is no proposal {proposal_id}: `tessera gov status` lists them")
        # a proposal's state is a function of time: an idle dev chain's last block lags
        self.chain.catch_up_clock()
        record = self.governor.proposal(proposal_id)
        changes = tuple(describe(self.chain, self.deployment, a) for a in record.actions)
        calls = tuple(decode(self.chain, self.deployment, a) for a in record.actions)
        return ProposalStatus(record, changes, calls, self.chain.now())

    def proposals(self) -> list[ProposalStatus]:
        return [self.status(i) for i in range(1, self.governor.count() + 1)]

    def has_voted(self, proposal_id: int, account: str | None = None) -> bool:
        return self.governor.has_voted(proposal_id, self._address(account))

    def parameters(self) -> NetworkParameters:
        return NetworkParameters(
            self.settlement.fee_split(),
            self.settlement.periods(),
            self.governor.settings(),
            self.policy.snapshot(),
            self.staking.parameters(),
        )

    def wait_for(self, proposal_id: int, state: ProposalState) -> ProposalStatus:
        """Wait (moving a dev chain's clock) until voting opens or closes for a proposal:
        `ACTIVE` waits out the voting delay, anything later waits out the voting period."""
        record = self.governor.proposal(proposal_id)
        active = state == ProposalState.ACTIVE
        self.chain.wait_until(record.snapshot + 1 if active else record.deadline + 1)
        return self.status(proposal_id)

    def _run(self, step: Callable[[LocalAccount], T], account: str | None) -> T:
        signer = self._signer(account)
        try:
            return step(signer)
        except ContractRevert as exc:
            raise explained(exc) from None


def explained(exc: ContractRevert) -> ContractRevert:
    """The revert, with what to do about it where the governor's reason has a known remedy."""
    hint = _HINTS.get(exc.reason)
    return exc if hint is None else ContractRevert(exc.reason, hint)
