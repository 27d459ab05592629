"""Property: under any history of validator stakes, challenges of every kind, answers, votes,
resolutions, reward collection, refunds and time, the disputes contract's money adds up: it
holds exactly its validators' stake, their rewards and the open bonds; every token of the
supply is at a known party; every slashed token is at the challenger or the treasury, in the
shares the parameters name; and a challenge ends once and pays its bond once. (A refused
call is never mined in process, so it changes nothing by construction; the other disputes
tests check each refusal's state explicitly.)
"""

from __future__ import annotations

from chain_helpers import back_to, events
from dispute_world import (
    ANSWER,
    ATTRIBUTION,
    CHALLENGE,
    FORGED,
    FORGED_AUTH,
    HIGH_S,
    MODEL_KIND,
    OPEN,
    PARAMS,
    PRICE,
    PROMPT,
    SIGNATURE,
    SLASHED,
    UNAPPROVED_MODEL,
    UNAUTHORIZED,
    UNAUTHORIZED_PAID,
    WITHHELD,
    World,
    commitment,
    key,
)
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_bytes
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from web3.exceptions import ContractLogicError

OBJECTIVE = [SIGNATURE, MODEL_KIND, UNAUTHORIZED]
COMMITTEE = [ANSWER, ATTRIBUTION, PROMPT, PRICE]
receipt = st.integers(0, 6)
amount = st.sampled_from([0, 1, PARAMS.min_validator_stake - 1, PARAMS.min_validator_stake, 2_500])
# the world's faulty receipts with the kinds that prove them (and so slash at once)
FAULTS = st.sampled_from(
    [
        (FORGED, SIGNATURE),
        (HIGH_S, SIGNATURE),
        (UNAPPROVED_MODEL, MODEL_KIND),
        (UNAUTHORIZED_PAID, UNAUTHORIZED),
        (FORGED_AUTH, UNAUTHORIZED),
    ]
)
actor = st.integers(0, 5)  # the four validators, the challenger, the stranger (no tokens)
ballot = st.sampled_from([True, False, None])  # None: commits, never reveals
seconds = st.sampled_from([1, 60, PARAMS.commit_period, CHALLENGE, 86_400])


class DisputesMachine(RuleBasedStateMachine):
    built: tuple[World, object]

    @initialize()
    def fresh(self) -> None:
        self.w, snapshot = self.built
        back_to(self.w.w3, snapshot)
        self.actors = [*self.w.validators, self.w.challenger, self.w.stranger]
        self.status: dict[int, int] = {}  # challenge id -> status as last seen
        self.bonds: dict[int, int] = {}  # challenge id -> the bond it holds while open
        self.slashed = 0  # the sum of every slash seen

    # helpers --------------------------------------------------------------------------------

    def parties(self) -> list[str]:
        w = self.w
        return [
            w.owner, w.holder, w.treasury, w.node.address, w.challenger.address,
            w.stranger.address, key("contributor").address,
            *[c.address for c in w.clients], *[v.address for v in w.validators],
            w.settlement.address, w.staking.address, w.disputes.address,
        ]  # fmt: skip

    def send(self, fn, sender: str):
        """Mines `fn` from `sender`; returns the tx, or None when it was refused."""
        try:
            tx = fn.transact({"from": sender})
        except (TransactionFailed, ContractLogicError):
            return None
        for cid in range(len(self.status) + 1, self.w.last_id() + 1):
            self.status[cid] = OPEN  # opened by this call
            self.bonds[cid] = self.w.challenge(cid)[5]
        for cid, status in self.status.items():
            if status == OPEN:
                self.status[cid] = self.w.challenge(cid)[8]
                if self.status[cid] != OPEN:
                    event(f"a challenge ended with status {self.status[cid]}")
        self.check_slashes(tx)
        return tx

    def open_ones(self, kinds: list[int]) -> list[int]:
        return [c for c, s in self.status.items() if s == OPEN and self.w.challenge(c)[3] in kinds]

    def check_slashes(self, tx) -> None:
        """Every token a slash took is at the challenger or the treasury, in the named shares."""
        w = self.w
        for resolved in events(w.disputes, "ChallengeResolved", tx):
            if resolved.args.status != SLASHED:
                continue
            challenger = w.challenge(resolved.args.id)[4]
            slashes = [(e.args.recipient, e.args.amount) for e in events(w.staking, "Slashed", tx)]
            to_challenger = resolved.args.slashed * PARAMS.challenger_share_bps // 10_000
            to_treasury = resolved.args.slashed - to_challenger
            expected = [(challenger, to_challenger), (w.treasury, to_treasury)]
            assert slashes == [(r, a) for r, a in expected if a != 0]
            self.slashed += resolved.args.slashed

    # rules ----------------------------------------------------------------------------------

    @rule(who=actor, value=amount)
    def stake(self, who, value):
        self.send(self.w.disputes.functions.stake_validator(value), self.actors[who].address)

    @rule(who=actor)
    def unstake(self, who):
        self.send(self.w.disputes.functions.unstake_validator(), self.actors[who].address)

    @rule(who=actor)
    def withdraw(self, who):
        self.send(self.w.disputes.functions.withdraw_validator(), self.actors[who].address)

    @rule(who=actor)
    def withdraw_rewards(self, who):
        self.send(self.w.disputes.functions.withdraw_rewards(), self.actors[who].address)

    @rule(fault=FAULTS | st.tuples(receipt, st.sampled_from(OBJECTIVE + COMMITTEE)), who=actor)
    def challenge_receipt(self, fault, who):
        index, kind = fault
        auth = self.w.receipts[index].authorization
        nonce, signature = (auth.nonce, to_bytes(hexstr=auth.signature)) if auth else (0, b"")
        fn = self.w.disputes.functions.challenge_receipt(
            self.w.node.address, 0, kind, self.w.evidence(index), nonce, signature
        )
        self.send(fn, self.actors[who].address)

    @rule(index=receipt, who=actor)
    def ask(self, index, who):
        fn = self.w.disputes.functions.challenge_withheld(self.w.node.address, 0, index)
        self.send(fn, self.actors[who].address)

    @rule(who=actor)
    def prove_payouts(self, who):
        """The world's receipts commit to empty payout states, so its posted root is not the
        last receipt's: the payout prover slashes at once (with a bond, once per epoch)."""
        last = len(self.w.receipts) - 1
        fn = self.w.prover.functions.prove_last(self.w.node.address, 0, self.w.evidence(last))
        self.send(fn, self.actors[who].address)

    @rule(pick=st.integers(0, 100))
    def produce(self, pick):
        asked = self.open_ones([WITHHELD])
        if not asked:
            return
        cid = asked[pick % len(asked)]
        index = self.w.challenge(cid)[2]
        fn = self.w.disputes.functions.produce(
            cid, self.w.evidence(index), self.w.receipts[index].body_bytes()
        )
        self.send(fn, self.w.node.address)

    @rule(
        pick=st.integers(0, 100),
        votes=st.lists(st.sampled_from([True, False, None]), min_size=3, max_size=3),
    )
    def vote(self, pick, votes):
        """Every member of an open committee commits; at the reveal phase, those with a vote
        (not None) reveal it."""
        voting = self.open_ones(COMMITTEE)
        if not voting:
            return
        cid = voting[pick % len(voting)]
        members = self.w.disputes.functions.committee(cid).call()
        for voter, guilty in zip(members, votes, strict=False):
            value = commitment(cid, bool(guilty), keccak(text=f"{cid} {voter}"), voter)
            self.send(self.w.disputes.functions.commit_vote(cid, value), voter)
        self.w.at(self.w.challenge(cid)[9])
        for voter, guilty in zip(members, votes, strict=False):
            if guilty is not None:
                salt = keccak(text=f"{cid} {voter}")
                self.send(self.w.disputes.functions.reveal_vote(cid, guilty, salt), voter)

    @rule(pick=st.integers(0, 100), early=st.booleans())
    def resolve(self, pick, early):
        pending = self.open_ones([WITHHELD, *COMMITTEE])
        if not pending:
            return
        cid = pending[pick % len(pending)]
        if not early:
            self.w.at(self.w.challenge(cid)[7])
        self.send(self.w.disputes.functions.resolve(cid), self.w.stranger.address)

    @rule()
    def collect(self):
        pool = self.w.disputes.address
        fn = self.w.disputes.functions.collect(
            self.w.node.address, 0, self.w.payouts[pool], self.w.payout_proof(pool)
        )
        self.send(fn, self.w.stranger.address)

    @rule()
    def refund(self):
        fn = self.w.settlement.functions.refund(self.w.node.address, 0, self.w.refunds)
        self.send(fn, self.w.stranger.address)

    @rule(wait=seconds)
    def time_passes(self, wait):
        self.w.at(int(self.w.w3.eth.get_block("latest").timestamp) + wait)

    # invariants -----------------------------------------------------------------------------

    @invariant()
    def the_disputes_contract_holds_stakes_rewards_and_open_bonds(self):
        w, d = self.w, self.w.disputes.functions
        open_bonds = sum(self.bonds[c] for c, status in self.status.items() if status == OPEN)
        assert d.bonds_held().call() == open_bonds
        held = d.total_staked().call() + d.total_rewards().call() + open_bonds
        assert w.balance(w.disputes.address) == held

    def teardown(self):
        """The checks that read every account, once per history."""
        w, d = self.w, self.w.disputes.functions
        for cid, status in self.status.items():
            assert w.challenge(cid)[8] == status  # an ended challenge never changed again
        everyone = [a.address for a in self.actors]
        assert d.total_rewards().call() == sum(d.rewards(a).call() for a in everyone)
        assert d.total_staked().call() == sum(d.validator_stake(a).call() for a in everyone)
        # every token of the supply is at a known party
        supply = w.token.functions.totalSupply().call()
        assert sum(w.balance(a) for a in self.parties()) == supply
        # and the node lost exactly what the slashes took, to the challenger and the treasury
        assert self.slashed == d.slashed_amount(w.node.address).call()
        assert w.node_stake() == 10_000 - self.slashed


def test_the_disputes_money_adds_up_under_any_history(disputes_built):
    DisputesMachine.built = disputes_built
    run_state_machine_as_test(
        DisputesMachine,
        settings=settings(
            max_examples=5,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
