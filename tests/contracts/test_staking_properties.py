"""Property: under any history of registrations, stake moves, unbonding, leaving, withdrawals,
slashes, parameter changes and time, the staking contract holds exactly the stake it lists,
pays nothing out before the wait is over, and every slashed token is in a named recipient's
balance.

A Python model predicts each operation's outcome (its exact revert reason, or success) and the
state after it; after every step the chain must match the model, and a refused operation (also
mined, to test it on chain) must change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from chain_helpers import next_block_not_before, run_ahead_of_wall_clock
from eth_abi import decode
from eth_tester.exceptions import TransactionFailed
from eth_utils import to_checksum_address
from eth_utils.abi import get_abi_output_types
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from web3.exceptions import ContractLogicError

MAX_UINT256 = 2**256 - 1
EPOCH, CHALLENGE = 3_600, 600
MIN, DELAY = 1_000, 5_000  # DELAY beats EPOCH + CHALLENGE + 1 until the periods grow
FUNDS = 5_000  # each node's tokens
NODES, RECIPIENTS = 2, 2
ZERO = "0x" + "00" * 20

node = st.integers(0, NODES - 1)
# the boundaries of every check, and anything in between
amount = st.sampled_from([0, 1, MIN - 1, MIN, MIN + 1, 2 * MIN, FUNDS, FUNDS + 1]) | st.integers(
    0, FUNDS + 10
)
small = st.sampled_from([0, 1, 10, MIN // 2, MIN - 1, MIN, MIN + 1])  # against a node's stake


@dataclass
class Model:
    """What the staking contract should hold and list; `slashed`: paid to each recipient."""

    wallet: dict[str, int]
    stake: dict[str, int]
    active: dict[str, bool]
    unbonding: dict[str, tuple[int, int]]  # (amount, requested_at)
    listed: list[str] = field(default_factory=list)
    slashed: dict[str, int] = field(default_factory=dict)
    min_stake: int = MIN
    periods: tuple[int, int] = (EPOCH, CHALLENGE)

    def withdrawable_at(self, who: str) -> int:
        pending, requested_at = self.unbonding[who]
        if pending == 0:
            return 0
        return requested_at + max(DELAY, sum(self.periods) + 1)


@dataclass
class Built:
    """Deployed once per module: the chain is reverted to `snapshot` before each example."""

    w3: object
    token: object
    settlement: object
    staking: object
    owner: str
    nodes: list[str]
    slasher: str
    recipients: list[str]
    snapshot: object


class StakingMachine(RuleBasedStateMachine):
    built: Built  # set by the test below

    def __init__(self) -> None:
        super().__init__()
        b = self.built
        b.w3.provider.ethereum_tester.revert_to_snapshot(b.snapshot)
        self.w3, self.token, self.staking = b.w3, b.token, b.staking
        self.model = Model(
            wallet=dict.fromkeys(b.nodes, FUNDS),
            stake=dict.fromkeys(b.nodes, 0),
            active=dict.fromkeys(b.nodes, False),
            unbonding=dict.fromkeys(b.nodes, (0, 0)),
            slashed=dict.fromkeys(b.recipients, 0),
        )
        self.last: dict = self.observe()  # the state after the latest step

    # running operations ---------------------------------------------------------------------

    def now(self) -> int:
        """The next block's timestamp: ahead of the wall clock, blocks come a second apart."""
        return int(self.w3.eth.get_block("latest").timestamp) + 1

    def send(self, fn, sender: str, expected: str | None) -> None:
        """Runs `fn`; it must revert with `expected` (also when mined) or succeed if None."""
        event(f"{fn.fn_name}: {expected or 'ok'}")  # see --hypothesis-show-statistics
        try:
            fn.transact({"from": sender})
        except (ContractLogicError, TransactionFailed) as error:
            message = getattr(error, "message", None) or str(error)
            assert message == f"execution reverted: {expected}", message
            tx = fn.transact({"from": sender, "gas": 1_000_000})
            assert self.w3.eth.get_transaction_receipt(tx)["status"] == 0
            assert self.observe() == self.last, expected
            return
        assert expected is None, f"succeeded, expected {expected!r}"

    @initialize()
    def first_node(self) -> None:
        """Every history starts with a registered node, so stake moves from the first step."""
        self.register(0, 2 * MIN, None)

    @rule(who=node, stake=amount, empty=st.sampled_from([None] * 6 + ["endpoint", "cid"]))
    def register(self, who: int, stake: int, empty: str | None) -> None:
        address, m = self.built.nodes[who], self.model
        expected = None
        if m.active[address]:
            expected = "staking: already registered"
        elif empty:
            expected = f"staking: empty {'metadata cid' if empty == 'cid' else 'endpoint'}"
        elif m.stake[address] + stake < m.min_stake:
            expected = "staking: stake below minimum"
        elif stake > m.wallet[address]:
            expected = "erc20: transfer amount exceeds balance"
        endpoint = "" if empty == "endpoint" else f"http://node{who}"
        cid = "" if empty == "cid" else f"bafy{who}"
        self.send(self.staking.functions.register(stake, endpoint, cid), address, expected)
        if expected is None:
            m.wallet[address] -= stake
            m.stake[address] += stake
            m.active[address] = True
            if address not in m.listed:
                m.listed.append(address)

    @rule(who=node, more=small)
    def add_stake(self, who: int, more: int) -> None:
        address, m = self.built.nodes[who], self.model
        expected = None
        if more == 0:
            expected = "staking: zero amount"
        elif not m.active[address]:
            expected = "staking: not registered"
        elif more > m.wallet[address]:
            expected = "erc20: transfer amount exceeds balance"
        self.send(self.staking.functions.add_stake(more), address, expected)
        if expected is None:
            m.wallet[address] -= more
            m.stake[address] += more

    @rule(who=node, less=small)
    def unbond(self, who: int, less: int) -> None:
        address, m, now = self.built.nodes[who], self.model, self.now()
        expected = None
        if less == 0:
            expected = "staking: zero amount"
        elif not m.active[address]:
            expected = "staking: not registered"
        elif less > m.stake[address]:
            expected = "staking: exceeds stake"
        elif m.stake[address] - less < m.min_stake:
            expected = "staking: remaining stake below minimum"
        self.send(self.staking.functions.unbond(less), address, expected)
        if expected is None:
            m.stake[address] -= less
            m.unbonding[address] = (m.unbonding[address][0] + less, now)

    @rule(who=node)
    def leave(self, who: int) -> None:
        address, m, now = self.built.nodes[who], self.model, self.now()
        expected = None if m.active[address] else "staking: not registered"
        self.send(self.staking.functions.leave(), address, expected)
        if expected is None:
            m.active[address] = False
            if m.stake[address]:
                m.unbonding[address] = (m.unbonding[address][0] + m.stake[address], now)
            m.stake[address] = 0

    @rule(who=node, patience=st.sampled_from([None, -1, 0]))
    def withdraw(self, who: int, patience: int | None) -> None:
        """`patience`: first wait until a second before (-1) or exactly when the wait ends."""
        address, m = self.built.nodes[who], self.model
        if patience is not None and m.unbonding[address][0]:
            next_block_not_before(self.w3, m.withdrawable_at(address) + patience)
        now = self.now()
        pending = m.unbonding[address][0]
        expected = None
        if pending == 0:
            expected = "staking: nothing to withdraw"
        elif now < m.withdrawable_at(address):
            expected = "staking: unbonding delay not over"
        self.send(self.staking.functions.withdraw(), address, expected)
        if expected is None:
            assert now >= m.unbonding[address][1] + max(DELAY, sum(m.periods) + 1)
            m.wallet[address] += pending
            m.unbonding[address] = (0, 0)

    @rule(
        who=node,
        taken=small,
        to=st.sampled_from([0, 1, 0, 1, None]),  # None: the zero address
        by_slasher=st.sampled_from([True, True, True, False]),
    )
    def slash(self, who: int, taken: int, to: int | None, by_slasher: bool) -> None:
        b, m = self.built, self.model
        address = b.nodes[who]
        recipient = ZERO if to is None else b.recipients[to]
        pending, requested_at = m.unbonding[address]
        expected = None
        if not by_slasher:
            expected = "staking: caller is not the slasher"
        elif taken == 0:
            expected = "staking: zero amount"
        elif to is None:
            expected = "staking: zero recipient"
        elif taken > m.stake[address] + pending:
            expected = "staking: slash exceeds stake"
        caller = b.slasher if by_slasher else b.owner
        self.send(self.staking.functions.slash(address, taken, recipient), caller, expected)
        if expected is None:
            from_stake = min(taken, m.stake[address])
            m.stake[address] -= from_stake
            m.unbonding[address] = (pending - (taken - from_stake), requested_at)
            m.slashed[recipient] += taken

    @rule(seconds=st.sampled_from([1, 600, DELAY - 2, DELAY - 1, DELAY, EPOCH + CHALLENGE]))
    def wait(self, seconds: int) -> None:
        next_block_not_before(self.w3, self.now() + seconds)

    @rule(
        change=st.sampled_from(
            [
                ("periods", EPOCH, CHALLENGE),
                ("periods", 2 * EPOCH, 60),
                ("periods", EPOCH, 60),
                ("min_stake", MIN // 2),
                ("min_stake", MIN),
                ("min_stake", 2 * MIN),
            ]
        )
    )
    def govern(self, change: tuple) -> None:
        """Governance moves the settlement's periods (pending waits follow at once) or the
        minimum stake (eligibility follows at once)."""
        if change[0] == "periods":
            _, epoch, challenge = change
            fn = self.built.settlement.functions.set_periods(epoch, challenge, epoch + 1)
            self.send(fn, self.built.owner, None)
            self.model.periods = (epoch, challenge)
        else:
            self.send(self.staking.functions.set_min_stake(change[1]), self.built.owner, None)
            self.model.min_stake = change[1]

    # checking -------------------------------------------------------------------------------

    def read(self, contract, name: str, *args):
        """A view straight through eth-tester: web3's stack for every read would be slow."""
        function = contract.get_function_by_name(name)
        data = contract.encode_abi(name, list(args))
        raw = self.w3.provider.ethereum_tester.call(
            {"from": self.built.owner, "to": contract.address, "data": data}
        )
        values = decode(get_abi_output_types(function.abi), bytes.fromhex(raw[2:]))
        value = values[0] if len(values) == 1 else values
        return to_checksum_address(value) if isinstance(value, str) and len(value) == 42 else value

    def observe(self) -> dict:
        b, s = self.built, self.staking
        count = self.read(s, "node_count")
        return {
            "held": self.read(self.token, "balanceOf", s.address),
            "totals": (self.read(s, "total_staked"), self.read(s, "total_unbonding")),
            "wallet": {n: self.read(self.token, "balanceOf", n) for n in b.nodes},
            "paid": {r: self.read(self.token, "balanceOf", r) for r in b.recipients},
            "node": {n: self.read(s, "nodes", n)[2:] for n in b.nodes},  # stake, since, active
            "unbonding": {n: self.read(s, "unbonding_of", n) for n in b.nodes},
            "withdrawable_at": {n: self.read(s, "withdrawable_at", n) for n in b.nodes},
            "eligible": {n: self.read(s, "is_eligible", n) for n in b.nodes},
            "listed": [self.read(s, "node_at", i) for i in range(count)],
        }

    @invariant()
    def holds(self) -> None:
        """One read of the whole state per step (reads are most of the run), checked twice."""
        self.last = self.observe()
        self.chain_matches_the_model(self.last)
        self.every_token_is_accounted_for(self.last)

    def chain_matches_the_model(self, state: dict) -> None:
        m, nodes = self.model, self.built.nodes
        assert state["wallet"] == m.wallet
        assert state["paid"] == m.slashed  # every slashed token is at a named recipient
        assert {n: (s, a) for n, (s, _, a) in state["node"].items()} == {
            n: (m.stake[n], m.active[n]) for n in nodes
        }
        assert state["unbonding"] == {n: m.unbonding[n][0] for n in nodes}
        assert state["withdrawable_at"] == {n: m.withdrawable_at(n) for n in nodes}
        assert state["eligible"] == {n: m.active[n] and m.stake[n] >= m.min_stake for n in nodes}
        assert state["listed"] == m.listed  # each node once, in order of first registration

    def every_token_is_accounted_for(self, state: dict) -> None:
        m = self.model
        staked, unbonding = sum(m.stake.values()), sum(p for p, _ in m.unbonding.values())
        assert min(m.stake.values()) >= 0 and min(p for p, _ in m.unbonding.values()) >= 0
        assert state["held"] == state["totals"][0] + state["totals"][1] == staked + unbonding
        everything = state["held"] + sum(state["wallet"].values()) + sum(state["paid"].values())
        assert everything == NODES * FUNDS


@pytest.fixture(scope="module")
def built() -> Built:
    from chain_helpers import deploy_contract
    from web3 import EthereumTesterProvider, Web3

    w3 = Web3(EthereumTesterProvider())
    accounts = list(w3.eth.accounts)
    owner, holder, slasher = accounts[0], accounts[1], accounts[2]
    nodes, recipients = accounts[3 : 3 + NODES], accounts[3 + NODES : 3 + NODES + RECIPIENTS]
    token = deploy_contract(w3, "token", "Tessera", "TSR", NODES * FUNDS, holder)
    split = (3000, 2000, 4000, 1000, holder, 0, "0x" + "00" * 20)
    settlement = deploy_contract(w3, "settlement", token.address, split, EPOCH, CHALLENGE, 7_200)
    staking = deploy_contract(w3, "staking", token.address, settlement.address, MIN, DELAY)
    staking.functions.set_slasher(slasher).transact({"from": owner})
    for n in nodes:
        token.functions.transfer(n, FUNDS).transact({"from": holder})
        token.functions.approve(staking.address, MAX_UINT256).transact({"from": n})
    run_ahead_of_wall_clock(w3)
    snapshot = w3.provider.ethereum_tester.take_snapshot()
    return Built(w3, token, settlement, staking, owner, nodes, slasher, recipients, snapshot)


def test_staking_holds_what_it_lists_and_pays_only_after_the_wait(built):
    StakingMachine.built = built
    run_state_machine_as_test(
        StakingMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
        ),
    )
