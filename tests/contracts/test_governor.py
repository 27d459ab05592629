"""governor.vy with its timelock, wired as production deploys them: every path, exact reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from chain_helpers import (
    back_to,
    block_time,
    calldata,
    deploy_contract,
    events,
    latest_block_at,
    latest_time,
    next_block_at,
    run_ahead_of_wall_clock,
)
from eth_abi import encode
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract

ZERO = "0x" + "00" * 20
ZERO32 = b"\x00" * 32
TOKEN = 10**18
SUPPLY = 1_000_000 * TOKEN
VOTING_DELAY, VOTING_PERIOD, MIN_DELAY, GRACE = 10, 100, 50, 200
THRESHOLD = 1_000 * TOKEN
QUORUM_BPS = 400  # 4% of the 1,000,000 supply: 40,000 tokens
QUORUM = 40_000 * TOKEN
MAX_DELAY = MAX_VOTING_PERIOD = 30 * 86_400  # governor.vy's bounds
MAX_GRACE = 90 * 86_400
MAX_THRESHOLD = SUPPLY // 100
ALICE_TOKENS, BOB_TOKENS, CAROL_TOKENS = 30_000 * TOKEN, 20_000 * TOKEN, 10_000 * TOKEN
EPOCH, CHALLENGE, DELAY = 3600, 600, 7200
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
AGAINST, FOR, ABSTAIN = 0, 1, 2
PROPOSAL_FIELDS = (
    "proposer",
    "snapshot",
    "deadline",
    "quorum_bps",
    "for_votes",
    "against_votes",
    "abstain_votes",
    "eta",
    "expires_at",
    "cancelled",
    "executed",
)
NOT_OWNER = "ownable: caller is not the owner"
MISSING_ROLE = "access_control: account is missing role"
NOT_TIMELOCK = "governor: caller is not the timelock"
CID = "bafybeigdyrztbad"


@dataclass
class Governance:
    w3: Web3
    token: Contract
    timelock: Contract
    governor: Contract
    policy: Contract
    settlement: Contract
    split: tuple
    deployer: str
    holder: str  # keeps the undelegated rest of the supply
    alice: str  # 30,000 delegated to herself: the usual proposer
    bob: str  # 20,000 delegated to himself
    carol: str  # 10,000 delegated to herself
    buyer: str  # no tokens
    stranger: str  # no tokens


# helpers ------------------------------------------------------------------------------------


def action(contract, fn: str, *args: Any) -> tuple[str, bytes]:
    return contract.address, calldata(contract, fn, *args)


def propose(g: Governance, actions, description: str = "", sender: str | None = None):
    """Proposes `actions` ((target, payload) pairs); returns the new id and the transaction."""
    targets = [target for target, _ in actions]
    payloads = [data for _, data in actions]
    tx = g.governor.functions.propose(targets, payloads, description).transact(
        {"from": sender or g.alice}
    )
    return g.governor.functions.proposal_count().call(), tx


def info(g: Governance, pid: int) -> dict:
    return dict(zip(PROPOSAL_FIELDS, g.governor.functions.proposals(pid).call(), strict=True))


def state(g: Governance, pid: int) -> int:
    return g.governor.functions.state(pid).call()


def vote(g: Governance, pid: int, voter: str, support: int):
    return g.governor.functions.cast_vote(pid, support).transact({"from": voter})


def open_voting(g: Governance, pid: int) -> None:
    """The next transaction lands in the first second of voting."""
    next_block_at(g.w3, info(g, pid)["snapshot"] + 1)


def close_voting(g: Governance, pid: int) -> None:
    """The latest block is the first second after the deadline."""
    latest_block_at(g.w3, info(g, pid)["deadline"] + 1)


def passed(g: Governance, actions, description: str = "", votes=None) -> int:
    """A proposal that succeeded (alice and carol for: exactly the quorum)."""
    pid, _ = propose(g, actions, description)
    open_voting(g, pid)
    for voter, support in votes or [(g.alice, FOR), (g.carol, FOR)]:
        vote(g, pid, voter, support)
    close_voting(g, pid)
    return pid


def queue(g: Governance, pid: int, sender: str | None = None):
    return g.governor.functions.queue(pid).transact({"from": sender or g.stranger})


def execute(g: Governance, pid: int, sender: str | None = None):
    return g.governor.functions.execute(pid).transact({"from": sender or g.stranger})


def cancel(g: Governance, pid: int, sender: str | None = None):
    return g.governor.functions.cancel(pid).transact({"from": sender or g.alice})


def queued(g: Governance, actions, description: str = "") -> tuple[int, int]:
    """A queued proposal and its eta."""
    pid = passed(g, actions, description)
    queue(g, pid)
    return pid, info(g, pid)["eta"]


def enact(g: Governance, actions, description: str = "") -> int:
    """Runs `actions` through the whole lifecycle."""
    pid, eta = queued(g, actions, description)
    next_block_at(g.w3, eta)
    execute(g, pid)
    assert state(g, pid) == EXECUTED
    return pid


def block_cid(g: Governance, cid: str = CID) -> list[tuple[str, bytes]]:
    return [action(g.policy, "block_content", cid)]


def salt(g: Governance, pid: int, index: int = 0) -> bytes:
    return keccak(encode(["address", "uint256", "uint256"], [g.governor.address, pid, index]))


# fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wired() -> tuple[Governance, int]:
    """The production wiring, once per module: the timelock owns everything, the governor alone
    runs it; returns it with a chain snapshot that every test starts from."""
    w3 = Web3(EthereumTesterProvider())
    accounts = list(w3.eth.accounts)
    deployer, holder, alice, bob, carol = accounts[:5]
    token = deploy_contract(w3, "token", "Tessera", "TSR", SUPPLY, holder)
    timelock = deploy_contract(w3, "timelock", MIN_DELAY, [], [], deployer)
    governor = deploy_contract(
        w3,
        "governor",
        token.address,
        timelock.address,
        VOTING_DELAY,
        VOTING_PERIOD,
        THRESHOLD,
        QUORUM_BPS,
        GRACE,
    )
    roles = timelock.functions
    for role in (roles.PROPOSER_ROLE(), roles.CANCELLER_ROLE(), roles.EXECUTOR_ROLE()):
        roles.grantRole(role.call(), governor.address).transact({"from": deployer})
    roles.renounceRole(roles.DEFAULT_ADMIN_ROLE().call(), deployer).transact({"from": deployer})
    policy = deploy_contract(w3, "policy")
    split = (3000, 2000, 4000, 1000, accounts[9], 0, ZERO)
    settlement = deploy_contract(w3, "settlement", token.address, split, EPOCH, CHALLENGE, DELAY)
    for owned in (policy, settlement, token):
        owned.functions.transfer_ownership(timelock.address).transact({"from": deployer})
    for voter, amount in ((alice, ALICE_TOKENS), (bob, BOB_TOKENS), (carol, CAROL_TOKENS)):
        token.functions.transfer(voter, amount).transact({"from": holder})
        token.functions.delegate(voter).transact({"from": voter})
    run_ahead_of_wall_clock(w3)
    w3.provider.ethereum_tester.mine_blocks(1)
    governance = Governance(
        w3=w3,
        token=token,
        timelock=timelock,
        governor=governor,
        policy=policy,
        settlement=settlement,
        split=split,
        deployer=deployer,
        holder=holder,
        alice=alice,
        bob=bob,
        carol=carol,
        buyer=accounts[6],
        stranger=accounts[8],
    )
    return governance, w3.provider.ethereum_tester.take_snapshot()


@pytest.fixture
def w3(wired) -> Web3:
    """Overrides conftest's: every test starts from the wired chain's snapshot."""
    governance, snapshot = wired
    return back_to(governance.w3, snapshot)


@pytest.fixture
def governance(w3, wired) -> Governance:
    return wired[0]


@pytest.fixture
def setter_governor(deploy, governance, accounts) -> tuple[Contract, str]:
    """A governor whose `timelock` is the plain account `accounts[5]`, to call setters directly."""
    fake_timelock = accounts[5]
    contract = deploy(
        "governor",
        governance.token.address,
        fake_timelock,
        VOTING_DELAY,
        VOTING_PERIOD,
        THRESHOLD,
        QUORUM_BPS,
        GRACE,
    )
    return contract, fake_timelock


# wiring and construction --------------------------------------------------------------------


def test_constructor_sets_the_parameters(governance):
    g = governance.governor.functions
    assert g.token().call() == governance.token.address
    assert g.timelock().call() == governance.timelock.address
    assert g.voting_delay().call() == VOTING_DELAY
    assert g.voting_period().call() == VOTING_PERIOD
    assert g.proposal_threshold().call() == THRESHOLD
    assert g.quorum_bps().call() == QUORUM_BPS
    assert g.grace_period().call() == GRACE
    assert g.proposal_count().call() == 0
    constants = (g.PENDING, g.ACTIVE, g.CANCELED, g.DEFEATED, g.SUCCEEDED, g.QUEUED, g.EXPIRED)
    assert [c().call() for c in constants] + [g.EXECUTED().call()] == list(range(8))
    assert (g.VOTE_AGAINST().call(), g.VOTE_FOR().call(), g.VOTE_ABSTAIN().call()) == (0, 1, 2)


def test_constructor_logs_every_setting(w3, deploy, governance, accounts):
    # distinct values, to tell the settings apart
    governor = deploy("governor", governance.token.address, accounts[5], 1, 2, 3, 4, 5)
    tx = w3.eth.get_block("latest").transactions[0]
    logged = [
        (e.args.setting, e.args.old_value, e.args.new_value)
        for e in events(governor, "SettingChanged", tx)
    ]
    assert logged == [
        ("voting_delay", 0, 1),
        ("voting_period", 0, 2),
        ("proposal_threshold", 0, 3),
        ("quorum_bps", 0, 4),
        ("grace_period", 0, 5),
    ]


@pytest.mark.parametrize(
    ("delay", "period", "quorum_bps", "grace", "reason"),
    [
        (0, VOTING_PERIOD, QUORUM_BPS, GRACE, "governor: voting delay is zero"),
        (MAX_DELAY + 1, VOTING_PERIOD, QUORUM_BPS, GRACE, "governor: voting delay too long"),
        (VOTING_DELAY, 0, QUORUM_BPS, GRACE, "governor: voting period is zero"),
        (
            VOTING_DELAY,
            MAX_VOTING_PERIOD + 1,
            QUORUM_BPS,
            GRACE,
            "governor: voting period too long",
        ),
        (VOTING_DELAY, VOTING_PERIOD, 5_001, GRACE, "governor: quorum above 50%"),
        (VOTING_DELAY, VOTING_PERIOD, QUORUM_BPS, 0, "governor: grace period is zero"),
        (VOTING_DELAY, VOTING_PERIOD, QUORUM_BPS, MAX_GRACE + 1, "governor: grace period too long"),
    ],
)
def test_constructor_rejects_out_of_bounds_settings(
    deploy, governance, accounts, reverts, delay, period, quorum_bps, grace, reason
):
    with reverts(reason):
        deploy(
            "governor", governance.token.address, accounts[5], delay, period, 0, quorum_bps, grace
        )


def test_constructor_accepts_the_bounds(deploy, governance, accounts):
    token = governance.token.address
    governor = deploy("governor", token, accounts[5], MAX_DELAY, 1, MAX_THRESHOLD, 5_000, MAX_GRACE)
    g = governor.functions
    assert (g.voting_delay().call(), g.voting_period().call()) == (MAX_DELAY, 1)
    assert (g.quorum_bps().call(), g.grace_period().call()) == (5_000, MAX_GRACE)
    assert g.proposal_threshold().call() == MAX_THRESHOLD
    low = deploy("governor", token, accounts[5], 1, MAX_VOTING_PERIOD, 0, 0, 1)
    assert (low.functions.voting_delay().call(), low.functions.quorum_bps().call()) == (1, 0)


def test_constructor_rejects_a_threshold_above_one_percent_of_supply(
    deploy, governance, accounts, reverts
):
    with reverts("governor: threshold above 1% of supply"):
        deploy("governor", governance.token.address, accounts[5], 1, 1, MAX_THRESHOLD + 1, 0, 1)


def test_wiring_leaves_the_governor_the_timelocks_only_operator(governance):
    t, g = governance.timelock.functions, governance.governor.address
    admin = t.DEFAULT_ADMIN_ROLE().call()
    roles = [t.PROPOSER_ROLE().call(), t.CANCELLER_ROLE().call(), t.EXECUTOR_ROLE().call()]
    assert all(t.hasRole(role, g).call() for role in roles)
    for account in (governance.deployer, governance.alice, ZERO):
        assert not any(t.hasRole(role, account).call() for role in [admin, *roles])
    assert t.hasRole(admin, governance.timelock.address).call()
    assert not t.hasRole(admin, g).call()
    assert t.get_minimum_delay().call() == MIN_DELAY
    for owned in (governance.policy, governance.settlement, governance.token):
        assert owned.functions.owner().call() == governance.timelock.address
    assert governance.token.functions.is_minter(governance.timelock.address).call()
    assert not governance.token.functions.is_minter(governance.deployer).call()


def test_renounce_role_only_for_itself(deploy, accounts, reverts):
    timelock = deploy("timelock", MIN_DELAY, [], [], accounts[0])
    admin = timelock.functions.DEFAULT_ADMIN_ROLE().call()
    with reverts("access_control: can only renounce roles for itself"):
        timelock.functions.renounceRole(admin, accounts[0]).transact({"from": accounts[1]})
    assert timelock.functions.hasRole(admin, accounts[0]).call()


def test_deployer_cannot_administer_the_timelock_after_wiring(governance, reverts):
    t = governance.timelock.functions
    for role in (t.PROPOSER_ROLE().call(), t.EXECUTOR_ROLE().call(), t.DEFAULT_ADMIN_ROLE().call()):
        with reverts(MISSING_ROLE):
            t.grantRole(role, governance.deployer).transact({"from": governance.deployer})
        with reverts(MISSING_ROLE):
            t.revokeRole(role, governance.governor.address).transact({"from": governance.deployer})
    with reverts("timelock_controller: caller must be timelock"):
        t.update_delay(0).transact({"from": governance.deployer})


@pytest.mark.parametrize("who", ["deployer", "alice", "holder"])
def test_no_account_drives_the_timelock_directly(governance, reverts, who):
    t, sender = governance.timelock.functions, getattr(governance, who)
    target, data = block_cid(governance)[0]
    salt32 = b"\x01" * 32
    with reverts(MISSING_ROLE):
        t.schedule(target, 0, data, ZERO32, salt32, MIN_DELAY).transact({"from": sender})
    with reverts(MISSING_ROLE):
        t.schedule_batch([target], [0], [data], ZERO32, salt32, MIN_DELAY).transact(
            {"from": sender}
        )
    with reverts(MISSING_ROLE):
        t.execute(target, 0, data, ZERO32, salt32).transact({"from": sender})
    with reverts(MISSING_ROLE):
        t.execute_batch([target], [0], [data], ZERO32, salt32).transact({"from": sender})
    with reverts(MISSING_ROLE):
        t.cancel(salt32).transact({"from": sender})


def test_no_account_changes_governed_parameters_directly(governance, reverts):
    g = governance
    new_split = (2500, 2500, 4000, 1000, g.stranger, 0, ZERO)
    for sender in (g.deployer, g.alice, g.holder):
        with reverts(NOT_OWNER):
            g.settlement.functions.set_fee_split(new_split).transact({"from": sender})
        with reverts(NOT_OWNER):
            g.settlement.functions.set_periods(60, 60, 120).transact({"from": sender})
        with reverts(NOT_OWNER):
            g.settlement.functions.transfer_ownership(sender).transact({"from": sender})
        with reverts(NOT_OWNER):
            g.policy.functions.block_content(CID).transact({"from": sender})
        with reverts(NOT_OWNER):
            g.policy.functions.approve_model("m", b"\x01" * 32, sender).transact({"from": sender})
        with reverts(NOT_OWNER):
            g.policy.functions.transfer_ownership(sender).transact({"from": sender})
        with reverts("token: caller is not a minter"):
            g.token.functions.mint(sender, 1).transact({"from": sender})
        with reverts(NOT_OWNER):
            g.token.functions.set_minter(sender, True).transact({"from": sender})
        with reverts(NOT_OWNER):
            g.token.functions.transfer_ownership(sender).transact({"from": sender})


@pytest.mark.parametrize(
    ("setter", "value"),
    [
        ("set_voting_delay", 1),
        ("set_voting_period", 1),
        ("set_proposal_threshold", 0),
        ("set_quorum_bps", 0),
        ("set_grace_period", 1),
    ],
)
def test_governor_setters_refuse_everyone_but_the_timelock(governance, reverts, setter, value):
    g = governance
    for sender in (g.deployer, g.alice, g.holder):
        with reverts(NOT_TIMELOCK):
            getattr(g.governor.functions, setter)(value).transact({"from": sender})


# proposing ----------------------------------------------------------------------------------


def test_propose_records_the_proposal_and_logs_it(governance):
    g = governance
    actions = block_cid(g)
    pid, tx = propose(g, actions, "block a bad cid")
    proposed_at = block_time(g.w3, tx)
    assert pid == 1
    fields = info(g, pid)
    assert fields == {
        "proposer": g.alice,
        "snapshot": proposed_at + VOTING_DELAY,
        "deadline": proposed_at + VOTING_DELAY + VOTING_PERIOD,
        "quorum_bps": QUORUM_BPS,
        "for_votes": 0,
        "against_votes": 0,
        "abstain_votes": 0,
        "eta": 0,
        "expires_at": 0,
        "cancelled": False,
        "executed": False,
    }
    assert g.governor.functions.actions(pid).call() == [[a[0] for a in actions], [actions[0][1]]]
    assert g.governor.functions.descriptions(pid).call() == "block a bad cid"
    (event,) = events(g.governor, "ProposalCreated", tx)
    assert dict(event.args) == {
        "proposal_id": 1,
        "proposer": g.alice,
        "snapshot": proposed_at + VOTING_DELAY,
        "deadline": proposed_at + VOTING_DELAY + VOTING_PERIOD,
        "description": "block a bad cid",
    }
    assert state(g, pid) == PENDING


def test_proposal_ids_are_sequential_and_equal_batches_get_distinct_operations(governance):
    g = governance
    first, _ = propose(g, block_cid(g))
    second, _ = propose(g, block_cid(g), sender=g.bob)
    assert (first, second) == (1, 2)
    assert g.governor.functions.proposal_count().call() == 2
    assert info(g, second)["proposer"] == g.bob
    ids = [g.governor.functions.operation_id(pid, 0).call() for pid in (first, second)]
    assert ids[0] != ids[1]


def test_propose_with_several_actions(governance, reverts):
    g = governance
    actions = [*block_cid(g, "a"), *block_cid(g, "b"), action(g.policy, "block_datanet", 7)]
    pid, _ = propose(g, actions)
    ids = [g.governor.functions.operation_id(pid, i).call() for i in range(3)]
    assert len(set(ids)) == 3  # one timelock operation per call, equal calls included
    with reverts("governor: no such action"):
        g.governor.functions.operation_id(pid, 3).call()
    open_voting(g, pid)
    for voter in (g.alice, g.carol):
        vote(g, pid, voter, FOR)
    close_voting(g, pid)
    queue(g, pid)
    next_block_at(g.w3, info(g, pid)["eta"])
    execute(g, pid)
    assert all(g.timelock.functions.is_operation_done(op).call() for op in ids)
    targets, payloads = g.governor.functions.actions(pid).call()
    assert targets == [g.policy.address] * 3
    assert payloads == [data for _, data in actions]
    p = g.policy.functions
    assert p.blocked_content().call() == ["a", "b"]
    assert p.blocked_datanets().call() == [7]
    assert p.version().call() == 3


def test_propose_refuses_a_proposer_below_the_threshold(governance, reverts):
    g = governance
    g.token.functions.transfer(g.buyer, THRESHOLD - 1).transact({"from": g.holder})
    g.token.functions.delegate(g.buyer).transact({"from": g.buyer})
    with reverts("governor: proposer votes below threshold"):
        propose(g, block_cid(g), sender=g.buyer)
    g.token.functions.transfer(g.buyer, 1).transact({"from": g.holder})
    pid, _ = propose(g, block_cid(g), sender=g.buyer)
    assert info(g, pid)["proposer"] == g.buyer


def test_propose_counts_only_delegated_votes(governance, reverts):
    g = governance
    # the holder has most of the supply, undelegated: no votes
    with reverts("governor: proposer votes below threshold"):
        propose(g, block_cid(g), sender=g.holder)
    # a holder who delegated away has no votes of its own
    g.token.functions.delegate(g.bob).transact({"from": g.alice})
    with reverts("governor: proposer votes below threshold"):
        propose(g, block_cid(g), sender=g.alice)
    with reverts("governor: proposer votes below threshold"):
        propose(g, block_cid(g), sender=g.stranger)


def test_propose_refuses_an_empty_proposal(governance, reverts):
    with reverts("governor: empty proposal"):
        propose(governance, [])


def test_propose_refuses_mismatched_lengths(governance, reverts):
    g = governance
    target, data = block_cid(g)[0]
    with reverts("governor: targets and payloads differ in length"):
        g.governor.functions.propose([target, target], [data], "").transact({"from": g.alice})
    with reverts("governor: targets and payloads differ in length"):
        g.governor.functions.propose([target], [data, data], "").transact({"from": g.alice})
    with reverts("governor: empty proposal"):  # checked first
        g.governor.functions.propose([], [data], "").transact({"from": g.alice})


def test_zero_threshold_lets_anyone_propose(setter_governor, governance):
    governor, fake_timelock = setter_governor
    governor.functions.set_proposal_threshold(0).transact({"from": fake_timelock})
    target, data = block_cid(governance)[0]
    governor.functions.propose([target], [data], "").transact({"from": governance.stranger})
    assert governor.functions.proposal_count().call() == 1


# the full lifecycle -------------------------------------------------------------------------


def test_full_lifecycle(governance):
    g = governance
    actions = block_cid(g)
    pid, tx = propose(g, actions, "block it")
    proposed_at = block_time(g.w3, tx)
    snapshot, deadline = proposed_at + VOTING_DELAY, proposed_at + VOTING_DELAY + VOTING_PERIOD
    assert state(g, pid) == PENDING
    latest_block_at(g.w3, snapshot)
    assert state(g, pid) == PENDING  # the snapshot second itself is still pending

    # voting: the first second after the snapshot
    tx = vote(g, pid, g.alice, FOR)
    assert block_time(g.w3, tx) == snapshot + 1
    assert state(g, pid) == ACTIVE
    (event,) = events(g.governor, "VoteCast", tx)
    assert dict(event.args) == {
        "voter": g.alice,
        "proposal_id": pid,
        "support": FOR,
        "weight": ALICE_TOKENS,
        "reason": "",
    }
    tx = g.governor.functions.cast_vote_with_reason(pid, AGAINST, "too strict").transact(
        {"from": g.bob}
    )
    (event,) = events(g.governor, "VoteCast", tx)
    assert (event.args.voter, event.args.support, event.args.weight, event.args.reason) == (
        g.bob,
        AGAINST,
        BOB_TOKENS,
        "too strict",
    )
    assert g.governor.functions.cast_vote(pid, ABSTAIN).call({"from": g.carol}) == CAROL_TOKENS
    vote(g, pid, g.carol, ABSTAIN)
    fields = info(g, pid)
    assert (fields["for_votes"], fields["against_votes"], fields["abstain_votes"]) == (
        ALICE_TOKENS,
        BOB_TOKENS,
        CAROL_TOKENS,
    )
    for voter in (g.alice, g.bob, g.carol):
        assert g.governor.functions.has_voted(pid, voter).call()
    assert not g.governor.functions.has_voted(pid, g.holder).call()
    latest_block_at(g.w3, deadline)
    assert state(g, pid) == ACTIVE  # the deadline is the last second of voting
    g.w3.provider.ethereum_tester.mine_blocks(1)
    # 30,000 for + 10,000 abstain reach the 40,000 quorum; 30,000 for beat 20,000 against
    assert g.governor.functions.proposal_quorum(pid).call() == QUORUM
    assert state(g, pid) == SUCCEEDED

    # queue: scheduled in the timelock under the governor's salt
    tx = queue(g, pid)
    queued_at = block_time(g.w3, tx)
    eta = queued_at + MIN_DELAY
    (event,) = events(g.governor, "ProposalQueued", tx)
    assert dict(event.args) == {"proposal_id": pid, "eta": eta}
    assert (info(g, pid)["eta"], info(g, pid)["expires_at"]) == (eta, eta + GRACE)
    assert state(g, pid) == QUEUED
    op = g.governor.functions.operation_id(pid, 0).call()
    target, data = actions[0]
    t = g.timelock.functions
    assert op == t.hash_operation(target, 0, data, ZERO32, salt(g, pid)).call()
    assert t.is_operation_pending(op).call()
    assert not t.is_operation_ready(op).call()
    assert t.get_timestamp(op).call() == eta
    scheduled = events(g.timelock, "CallScheduled", tx)
    assert [(e.args.id, e.args.target, e.args.payload, e.args.delay) for e in scheduled] == [
        (op, target, data, MIN_DELAY)
    ]
    assert not g.policy.functions.is_content_blocked(CID).call()

    # execute: anyone, once the delay is over
    next_block_at(g.w3, eta)
    tx = execute(g, pid, sender=g.stranger)
    (event,) = events(g.governor, "ProposalExecuted", tx)
    assert dict(event.args) == {"proposal_id": pid}
    (blocked,) = events(g.policy, "ContentBlocked", tx)
    assert blocked.args.cid == CID
    assert state(g, pid) == EXECUTED
    assert info(g, pid)["executed"]
    assert t.is_operation_done(op).call()
    assert g.policy.functions.is_content_blocked(CID).call()
    assert g.policy.functions.version().call() == 1


def test_state_moves_at_exact_seconds(governance):
    g = governance
    pid, tx = propose(g, block_cid(g))
    snapshot = block_time(g.w3, tx) + VOTING_DELAY
    latest_block_at(g.w3, snapshot)
    assert state(g, pid) == PENDING
    g.w3.provider.ethereum_tester.mine_blocks(1)
    assert state(g, pid) == ACTIVE
    latest_block_at(g.w3, snapshot + VOTING_PERIOD)
    assert state(g, pid) == ACTIVE
    g.w3.provider.ethereum_tester.mine_blocks(1)
    assert state(g, pid) == DEFEATED  # nobody voted


def test_proposal_quorum_before_the_snapshot_is_a_future_lookup(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    with reverts("votes: future lookup"):
        g.governor.functions.proposal_quorum(pid).call()


def test_quorum_view_uses_the_current_bps_and_past_supply(governance, reverts):
    g = governance
    past = latest_time(g.w3) - 1
    assert g.governor.functions.quorum(past).call() == QUORUM
    with reverts("votes: future lookup"):
        g.governor.functions.quorum(latest_time(g.w3)).call()


# voting -------------------------------------------------------------------------------------


def test_voting_before_the_snapshot_is_refused(governance, reverts):
    g = governance
    pid, tx = propose(g, block_cid(g))
    with reverts("governor: voting has not started"):
        vote(g, pid, g.alice, FOR)
    next_block_at(g.w3, block_time(g.w3, tx) + VOTING_DELAY)  # the snapshot second
    with reverts("governor: voting has not started"):
        vote(g, pid, g.alice, FOR)
    g.w3.provider.ethereum_tester.mine_blocks(1)
    vote(g, pid, g.alice, FOR)
    assert info(g, pid)["for_votes"] == ALICE_TOKENS


def test_voting_after_the_deadline_is_refused(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    deadline = info(g, pid)["deadline"]
    next_block_at(g.w3, deadline)
    vote(g, pid, g.alice, FOR)  # the last second counts
    with reverts("governor: voting is closed"):
        vote(g, pid, g.bob, FOR)
    assert info(g, pid)["for_votes"] == ALICE_TOKENS
    assert not g.governor.functions.has_voted(pid, g.bob).call()


def test_no_address_votes_twice(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    open_voting(g, pid)
    vote(g, pid, g.alice, FOR)
    for support in (FOR, AGAINST, ABSTAIN):
        with reverts("governor: vote already cast"):
            vote(g, pid, g.alice, support)
    with reverts("governor: vote already cast"):
        g.governor.functions.cast_vote_with_reason(pid, AGAINST, "again").transact(
            {"from": g.alice}
        )
    assert (info(g, pid)["for_votes"], info(g, pid)["against_votes"]) == (ALICE_TOKENS, 0)


def test_votes_on_one_proposal_do_not_count_on_another(governance):
    g = governance
    first, _ = propose(g, block_cid(g, "a"))
    second, _ = propose(g, block_cid(g, "b"))
    open_voting(g, second)
    vote(g, first, g.alice, FOR)
    vote(g, second, g.alice, AGAINST)
    assert info(g, first)["for_votes"] == info(g, second)["against_votes"] == ALICE_TOKENS


@pytest.mark.parametrize("support", [3, 255])
def test_invalid_vote_type_is_refused(governance, reverts, support):
    g = governance
    pid, _ = propose(g, block_cid(g))
    open_voting(g, pid)
    with reverts("governor: invalid vote type"):
        vote(g, pid, g.alice, support)
    assert not g.governor.functions.has_voted(pid, g.alice).call()


def test_voting_without_power_is_refused(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    open_voting(g, pid)
    for voter in (g.holder, g.stranger):  # undelegated tokens, no tokens
        with reverts("governor: no voting power at the snapshot"):
            vote(g, pid, voter, FOR)


def test_tokens_acquired_after_the_snapshot_cannot_vote(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    open_voting(g, pid)
    # after the snapshot alice sells everything to a fresh buyer, who delegates to himself
    g.token.functions.transfer(g.buyer, ALICE_TOKENS).transact({"from": g.alice})
    g.token.functions.delegate(g.buyer).transact({"from": g.buyer})
    assert g.token.functions.get_votes(g.buyer).call() == ALICE_TOKENS
    assert g.token.functions.get_votes(g.alice).call() == 0
    with reverts("governor: no voting power at the snapshot"):
        vote(g, pid, g.buyer, FOR)
    # the power alice held at the snapshot still counts
    tx = vote(g, pid, g.alice, FOR)
    (event,) = events(g.governor, "VoteCast", tx)
    assert event.args.weight == ALICE_TOKENS


def test_the_snapshot_second_counts_the_one_after_does_not(governance, reverts):
    g = governance
    pid, tx = propose(g, block_cid(g))
    snapshot = block_time(g.w3, tx) + VOTING_DELAY
    late = g.stranger
    for account in (g.buyer, late):
        g.token.functions.transfer(account, 5_000 * TOKEN).transact({"from": g.holder})
    next_block_at(g.w3, snapshot)
    g.token.functions.delegate(g.buyer).transact({"from": g.buyer})  # at the snapshot
    g.token.functions.delegate(late).transact({"from": late})  # a second later
    vote(g, pid, g.buyer, FOR)
    assert info(g, pid)["for_votes"] == 5_000 * TOKEN
    with reverts("governor: no voting power at the snapshot"):
        vote(g, pid, late, FOR)


def test_delegation_moves_the_vote(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    # during the voting delay carol delegates to bob
    g.token.functions.delegate(g.bob).transact({"from": g.carol})
    open_voting(g, pid)
    with reverts("governor: no voting power at the snapshot"):
        vote(g, pid, g.carol, FOR)
    tx = vote(g, pid, g.bob, FOR)
    (event,) = events(g.governor, "VoteCast", tx)
    assert event.args.weight == BOB_TOKENS + CAROL_TOKENS
    # delegating back after the snapshot gives carol nothing for this proposal
    g.token.functions.delegate(g.carol).transact({"from": g.carol})
    with reverts("governor: no voting power at the snapshot"):
        vote(g, pid, g.carol, FOR)


def test_holder_that_delegates_to_another_before_proposing(governance, reverts):
    g = governance
    g.token.functions.delegate(g.buyer).transact({"from": g.holder})
    pid, _ = propose(g, block_cid(g))
    open_voting(g, pid)
    with reverts("governor: no voting power at the snapshot"):
        vote(g, pid, g.holder, FOR)
    vote(g, pid, g.buyer, FOR)
    assert info(g, pid)["for_votes"] == SUPPLY - ALICE_TOKENS - BOB_TOKENS - CAROL_TOKENS


# outcome and quorum -------------------------------------------------------------------------


def test_for_and_abstain_below_quorum_is_defeated(governance):
    g = governance
    # 30,000 for beat 20,000 against, but for + abstain = 30,000 < 40,000
    pid = passed(g, block_cid(g), votes=[(g.alice, FOR), (g.bob, AGAINST)])
    assert state(g, pid) == DEFEATED
    # 10,000 less than the quorum by one unit: carol moves one unit away before the snapshot
    pid2, _ = propose(g, block_cid(g, "x"))
    g.token.functions.transfer(g.holder, 1).transact({"from": g.carol})
    open_voting(g, pid2)
    vote(g, pid2, g.alice, FOR)
    vote(g, pid2, g.carol, ABSTAIN)
    close_voting(g, pid2)
    fields = info(g, pid2)
    assert fields["for_votes"] + fields["abstain_votes"] == QUORUM - 1
    assert state(g, pid2) == DEFEATED


def test_abstain_counts_toward_quorum(governance):
    g = governance
    pid = passed(g, block_cid(g), votes=[(g.alice, FOR), (g.carol, ABSTAIN)])
    assert state(g, pid) == SUCCEEDED  # 30,000 for + 10,000 abstain = the quorum, no against


def test_only_abstain_votes_are_defeated(governance):
    g = governance
    # everyone abstains: the quorum is met, but 0 for does not beat 0 against
    pid = passed(g, block_cid(g), votes=[(g.alice, ABSTAIN), (g.bob, ABSTAIN), (g.carol, ABSTAIN)])
    assert state(g, pid) == DEFEATED


def test_for_not_above_against_is_defeated(governance):
    g = governance
    other = g.stranger
    g.token.functions.transfer(other, 10_000 * TOKEN).transact({"from": g.holder})
    g.token.functions.delegate(other).transact({"from": other})
    # a tie: 30,000 for against 20,000 + 10,000; carol's abstention makes the quorum
    votes = [(g.alice, FOR), (g.bob, AGAINST), (other, AGAINST), (g.carol, ABSTAIN)]
    pid = passed(g, block_cid(g), votes=votes)
    fields = info(g, pid)
    assert fields["for_votes"] == fields["against_votes"] == ALICE_TOKENS
    assert state(g, pid) == DEFEATED
    # one more for vote than against passes
    g.token.functions.transfer(g.alice, 1).transact({"from": other})
    pid = passed(g, block_cid(g, "y"), votes=votes)
    assert info(g, pid)["for_votes"] == info(g, pid)["against_votes"] + 2
    assert state(g, pid) == SUCCEEDED


def test_quorum_is_read_from_the_supply_at_the_snapshot(governance):
    g = governance
    pid, _ = propose(g, block_cid(g))
    open_voting(g, pid)
    # after the snapshot the timelock-owned token cannot mint, but holders can burn
    g.token.functions.burn(500_000 * TOKEN).transact({"from": g.holder})
    vote(g, pid, g.alice, FOR)
    close_voting(g, pid)
    assert g.governor.functions.proposal_quorum(pid).call() == QUORUM
    assert g.governor.functions.quorum(latest_time(g.w3) - 1).call() == QUORUM // 2
    assert state(g, pid) == DEFEATED  # 30,000 < 40,000, not 20,000


def test_quorum_change_goes_through_a_proposal_and_spares_earlier_proposals(governance):
    g = governance
    raise_quorum = [action(g.governor, "set_quorum_bps", 5_000)]
    change, _ = propose(g, raise_quorum, "raise the quorum to 50%")
    earlier, _ = propose(g, block_cid(g), "block a cid")
    open_voting(g, earlier)
    for pid in (change, earlier):
        vote(g, pid, g.alice, FOR)
        vote(g, pid, g.carol, FOR)
    close_voting(g, earlier)
    assert state(g, change) == state(g, earlier) == SUCCEEDED
    tx = queue(g, change)
    next_block_at(g.w3, block_time(g.w3, tx) + MIN_DELAY)
    tx = execute(g, change)
    (event,) = events(g.governor, "SettingChanged", tx)
    assert (event.args.setting, event.args.old_value, event.args.new_value) == (
        "quorum_bps",
        QUORUM_BPS,
        5_000,
    )
    assert g.governor.functions.quorum_bps().call() == 5_000
    assert g.governor.functions.quorum(latest_time(g.w3) - 1).call() == 500_000 * TOKEN
    # the earlier proposal keeps the 4% it was made under
    assert info(g, earlier)["quorum_bps"] == QUORUM_BPS
    assert g.governor.functions.proposal_quorum(earlier).call() == QUORUM
    assert state(g, earlier) == SUCCEEDED
    tx = queue(g, earlier)
    next_block_at(g.w3, block_time(g.w3, tx) + MIN_DELAY)
    execute(g, earlier)
    assert g.policy.functions.is_content_blocked(CID).call()
    # a new proposal with the same votes now falls short of 50%
    later = passed(g, block_cid(g, "later"))
    assert info(g, later)["quorum_bps"] == 5_000
    assert g.governor.functions.proposal_quorum(later).call() == 500_000 * TOKEN
    assert state(g, later) == DEFEATED


# queue and execute --------------------------------------------------------------------------


def test_only_succeeded_proposals_are_queued(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    with reverts("governor: proposal not successful"):  # pending
        queue(g, pid)
    open_voting(g, pid)
    vote(g, pid, g.alice, FOR)
    vote(g, pid, g.carol, FOR)
    with reverts("governor: proposal not successful"):  # active
        queue(g, pid)
    close_voting(g, pid)
    queue(g, pid, sender=g.holder)  # anyone may queue
    with reverts("governor: proposal not successful"):  # queued
        queue(g, pid)


def test_defeated_proposal_cannot_be_queued_or_executed(governance, reverts):
    g = governance
    pid = passed(g, block_cid(g), votes=[(g.alice, AGAINST)])
    assert state(g, pid) == DEFEATED
    with reverts("governor: proposal not successful"):
        queue(g, pid)
    with reverts("governor: proposal not queued"):
        execute(g, pid)


def test_execute_needs_the_proposal_queued(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    with reverts("governor: proposal not queued"):  # pending
        execute(g, pid)
    open_voting(g, pid)
    vote(g, pid, g.alice, FOR)
    vote(g, pid, g.carol, FOR)
    with reverts("governor: proposal not queued"):  # active
        execute(g, pid)
    close_voting(g, pid)
    with reverts("governor: proposal not queued"):  # succeeded
        execute(g, pid)


def test_execute_waits_for_the_timelock_delay(governance, reverts):
    g = governance
    pid, eta = queued(g, block_cid(g))
    with reverts("governor: timelock delay not over"):
        execute(g, pid)
    next_block_at(g.w3, eta - 1)
    with reverts("governor: timelock delay not over"):
        execute(g, pid)
    g.w3.provider.ethereum_tester.mine_blocks(1)
    tx = execute(g, pid)
    assert block_time(g.w3, tx) == eta
    assert g.policy.functions.is_content_blocked(CID).call()


def test_execute_twice_is_refused(governance, reverts):
    g = governance
    pid = enact(g, block_cid(g))
    with reverts("governor: proposal already executed"):
        execute(g, pid)
    assert g.policy.functions.version().call() == 1


def test_queued_proposal_expires_after_the_grace_period(governance, reverts):
    g = governance
    pid, eta = queued(g, block_cid(g))
    latest_block_at(g.w3, eta + GRACE)
    assert state(g, pid) == QUEUED  # the last second of grace
    g.w3.provider.ethereum_tester.mine_blocks(1)
    assert state(g, pid) == EXPIRED
    with reverts("governor: proposal expired"):
        execute(g, pid)
    with reverts("governor: proposal not successful"):
        queue(g, pid)
    # the timelock still holds the operation, ready, until anyone cancels it
    op = g.governor.functions.operation_id(pid, 0).call()
    assert g.timelock.functions.is_operation_ready(op).call()
    cancel(g, pid, sender=g.stranger)
    assert state(g, pid) == CANCELED
    assert not g.timelock.functions.is_operation(op).call()
    assert not g.policy.functions.is_content_blocked(CID).call()


def test_execute_in_the_last_second_of_grace(governance):
    g = governance
    pid, eta = queued(g, block_cid(g))
    next_block_at(g.w3, eta + GRACE)
    execute(g, pid)
    assert state(g, pid) == EXECUTED


def test_grace_period_change_applies_to_proposals_queued_later(governance):
    g = governance
    pending, eta = queued(g, block_cid(g, "a"))
    enact(g, [action(g.governor, "set_grace_period", 1_000)])
    assert g.governor.functions.grace_period().call() == 1_000
    assert info(g, pending)["expires_at"] == eta + GRACE
    later, later_eta = queued(g, block_cid(g, "b"))
    assert info(g, later)["expires_at"] == later_eta + 1_000


def test_passed_proposal_changes_the_settlement_fee_split_and_periods(governance):
    g = governance
    new_split = (2500, 2500, 4000, 1000, g.stranger, 0, ZERO)
    actions = [
        action(g.settlement, "set_fee_split", new_split),
        action(g.settlement, "set_periods", 60, 30, 120),
    ]
    pid, eta = queued(g, actions, "new fees and periods")
    assert g.settlement.functions.fee_split().call() == g.split  # not before it runs
    next_block_at(g.w3, eta)
    tx = execute(g, pid)
    s = g.settlement.functions
    assert s.fee_split().call() == new_split
    assert (s.epoch_length().call(), s.challenge_period().call()) == (60, 30)
    assert s.withdrawal_delay().call() == 120
    (fees,) = events(g.settlement, "FeeSplitChanged", tx)
    assert (fees.args.node_bps, fees.args.treasury) == (2500, g.stranger)
    (periods,) = events(g.settlement, "PeriodsChanged", tx)
    assert (periods.args.epoch_length, periods.args.withdrawal_delay) == (60, 120)
    executed = events(g.timelock, "CallExecuted", tx)
    ops = [g.governor.functions.operation_id(pid, i).call() for i in range(2)]
    assert [(e.args.id, e.args.target) for e in executed] == [
        (ops[0], g.settlement.address),
        (ops[1], g.settlement.address),
    ]


def test_a_reverting_call_reverts_execute_with_its_reason(governance, reverts):
    g = governance
    bad_split = (2500, 2500, 4000, 999, g.stranger, 0, ZERO)  # sums to 9,999
    actions = [*block_cid(g), action(g.settlement, "set_fee_split", bad_split)]
    pid, eta = queued(g, actions)
    op = g.governor.functions.operation_id(pid, 0).call()
    next_block_at(g.w3, eta)
    with reverts("settlement: split must sum to 10000"):
        execute(g, pid)
    # nothing happened: the batch is atomic and the proposal stays queued until it expires
    assert state(g, pid) == QUEUED
    assert not info(g, pid)["executed"]
    assert g.timelock.functions.is_operation_pending(op).call()
    assert not g.policy.functions.is_content_blocked(CID).call()
    assert g.settlement.functions.fee_split().call() == g.split
    latest_block_at(g.w3, eta + GRACE + 1)
    assert state(g, pid) == EXPIRED


def test_a_governor_setter_out_of_bounds_reverts_execute(governance, reverts):
    g = governance
    pid, eta = queued(g, [action(g.governor, "set_voting_period", 0)])
    next_block_at(g.w3, eta)
    with reverts("governor: voting period is zero"):
        execute(g, pid)
    assert state(g, pid) == QUEUED
    assert g.governor.functions.voting_period().call() == VOTING_PERIOD


def test_governance_sets_every_governor_setting(governance):
    g = governance
    changes = [
        ("set_voting_delay", 20),
        ("set_voting_period", 200),
        ("set_proposal_threshold", 2_000 * TOKEN),
        ("set_quorum_bps", 300),
        ("set_grace_period", 400),
    ]
    pid, eta = queued(g, [action(g.governor, name, value) for name, value in changes])
    next_block_at(g.w3, eta)
    tx = execute(g, pid)
    f = g.governor.functions
    assert (f.voting_delay().call(), f.voting_period().call()) == (20, 200)
    assert (f.proposal_threshold().call(), f.quorum_bps().call()) == (2_000 * TOKEN, 300)
    assert f.grace_period().call() == 400
    logged = [(e.args.setting, e.args.new_value) for e in events(g.governor, "SettingChanged", tx)]
    assert logged == [(name.removeprefix("set_"), value) for name, value in changes]
    # the next proposal uses the new delay and period
    next_pid, tx = propose(g, block_cid(g))
    proposed_at = block_time(g.w3, tx)
    assert info(g, next_pid)["snapshot"] == proposed_at + 20
    assert info(g, next_pid)["deadline"] == proposed_at + 220


def test_passed_proposal_mints_through_the_timelock(governance):
    g = governance
    before = g.token.functions.totalSupply().call()
    enact(g, [action(g.token, "mint", g.stranger, 7 * TOKEN)])
    assert g.token.functions.balanceOf(g.stranger).call() == 7 * TOKEN
    assert g.token.functions.totalSupply().call() == before + 7 * TOKEN


def test_passed_proposal_changes_the_timelock_delay(governance):
    g = governance
    tx_delay = 120
    enact(g, [action(g.timelock, "update_delay", tx_delay)])
    assert g.timelock.functions.get_minimum_delay().call() == tx_delay
    pid = passed(g, block_cid(g))
    tx = queue(g, pid)
    assert info(g, pid)["eta"] == block_time(g.w3, tx) + tx_delay


@pytest.mark.parametrize("delay", [MAX_DELAY + 1, 2**256 - 1])
def test_a_timelock_delay_that_would_lock_governance_cannot_be_proposed(governance, reverts, delay):
    g = governance
    with reverts("governor: timelock delay too long"):
        propose(g, [*block_cid(g), action(g.timelock, "update_delay", delay)])
    assert g.governor.functions.proposal_count().call() == 0


def test_the_longest_timelock_delay_can_be_proposed_and_still_queues(governance):
    g = governance
    enact(g, [action(g.timelock, "update_delay", MAX_DELAY)])
    pid = passed(g, block_cid(g))
    tx = queue(g, pid)
    assert info(g, pid)["eta"] == block_time(g.w3, tx) + MAX_DELAY


# cancel -------------------------------------------------------------------------------------


def _cancelled(g: Governance, pid: int, tx) -> None:
    (event,) = events(g.governor, "ProposalCanceled", tx)
    assert dict(event.args) == {"proposal_id": pid}
    assert state(g, pid) == CANCELED
    assert info(g, pid)["cancelled"]


def test_proposer_cancels_a_pending_proposal(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    _cancelled(g, pid, cancel(g, pid))
    open_voting(g, pid)
    with reverts("governor: voting is closed"):
        vote(g, pid, g.alice, FOR)


def test_proposer_cancels_an_active_proposal(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    open_voting(g, pid)
    vote(g, pid, g.alice, FOR)
    vote(g, pid, g.carol, FOR)
    _cancelled(g, pid, cancel(g, pid))
    with reverts("governor: voting is closed"):
        vote(g, pid, g.bob, AGAINST)
    close_voting(g, pid)
    assert state(g, pid) == CANCELED  # not succeeded, though it had the votes
    with reverts("governor: proposal not successful"):
        queue(g, pid)


def test_proposer_cancels_a_succeeded_proposal(governance, reverts):
    g = governance
    pid = passed(g, block_cid(g))
    _cancelled(g, pid, cancel(g, pid))
    with reverts("governor: proposal not successful"):
        queue(g, pid)
    with reverts("governor: proposal not queued"):
        execute(g, pid)


def test_cancelling_a_queued_proposal_cancels_its_timelock_operation(governance, reverts):
    g = governance
    pid, eta = queued(g, [*block_cid(g), *block_cid(g, "other")])
    ops = [g.governor.functions.operation_id(pid, i).call() for i in range(2)]
    assert all(g.timelock.functions.is_operation(op).call() for op in ops)
    tx = cancel(g, pid)
    _cancelled(g, pid, tx)
    assert [e.args.id for e in events(g.timelock, "Cancelled", tx)] == ops
    assert not any(g.timelock.functions.is_operation(op).call() for op in ops)
    next_block_at(g.w3, eta)
    with reverts("governor: proposal not queued"):
        execute(g, pid)
    assert not g.policy.functions.is_content_blocked(CID).call()


def test_proposer_cancels_a_queued_proposal_after_its_eta(governance):
    g = governance
    pid, eta = queued(g, block_cid(g))
    next_block_at(g.w3, eta + 1)
    _cancelled(g, pid, cancel(g, pid))


def test_only_the_proposer_cancels(governance, reverts):
    g = governance
    pid, _ = propose(g, block_cid(g))
    for sender in (g.bob, g.deployer, g.holder):
        with reverts("governor: only the proposer can cancel"):
            cancel(g, pid, sender=sender)
    assert state(g, pid) == PENDING


def test_finished_proposals_cannot_be_cancelled(governance, reverts):
    g = governance
    executed = enact(g, block_cid(g, "a"))
    defeated = passed(g, block_cid(g, "b"), votes=[(g.alice, AGAINST)])
    cancelled, _ = propose(g, block_cid(g, "c"))
    cancel(g, cancelled)
    for pid in (executed, defeated, cancelled):
        with reverts("governor: proposal cannot be cancelled"):
            cancel(g, pid)
        with reverts("governor: only the proposer can cancel"):
            cancel(g, pid, sender=g.bob)
    assert (state(g, executed), state(g, defeated), state(g, cancelled)) == (
        EXECUTED,
        DEFEATED,
        CANCELED,
    )


# governor settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setter", "getter", "ok", "bad", "reason"),
    [
        ("set_voting_delay", "voting_delay", [1, MAX_DELAY], 0, "voting delay is zero"),
        ("set_voting_delay", "voting_delay", [1], MAX_DELAY + 1, "voting delay too long"),
        ("set_voting_period", "voting_period", [1, MAX_VOTING_PERIOD], 0, "voting period is zero"),
        (
            "set_voting_period",
            "voting_period",
            [1],
            MAX_VOTING_PERIOD + 1,
            "voting period too long",
        ),
        ("set_quorum_bps", "quorum_bps", [0, 5_000], 5_001, "quorum above 50%"),
        ("set_grace_period", "grace_period", [1, MAX_GRACE], 0, "grace period is zero"),
        ("set_grace_period", "grace_period", [1], MAX_GRACE + 1, "grace period too long"),
        (
            "set_proposal_threshold",
            "proposal_threshold",
            [0, MAX_THRESHOLD],
            MAX_THRESHOLD + 1,
            "threshold above 1% of supply",
        ),
    ],
)
def test_setter_bounds(setter_governor, reverts, setter, getter, ok, bad, reason):
    governor, fake_timelock = setter_governor
    before = getattr(governor.functions, getter)().call()
    for value in ok:
        tx = getattr(governor.functions, setter)(value).transact({"from": fake_timelock})
        (event,) = events(governor, "SettingChanged", tx)
        assert (event.args.setting, event.args.old_value, event.args.new_value) == (
            getter,
            before,
            value,
        )
        assert getattr(governor.functions, getter)().call() == value
        before = value
    with reverts(f"governor: {reason}"):
        getattr(governor.functions, setter)(bad).transact({"from": fake_timelock})
    assert getattr(governor.functions, getter)().call() == before


def test_the_threshold_bound_follows_the_supply_when_set(setter_governor, governance):
    governor, fake_timelock = setter_governor
    g = governance
    g.token.functions.burn(SUPPLY // 2).transact({"from": g.holder})
    supply = g.token.functions.totalSupply().call()
    governor.functions.set_proposal_threshold(supply // 100).transact({"from": fake_timelock})
    assert governor.functions.proposal_threshold().call() == supply // 100 < MAX_THRESHOLD


# unknown proposals --------------------------------------------------------------------------


@pytest.mark.parametrize("pid", [0, 1, 2**256 - 1])
def test_unknown_proposal_is_refused_everywhere(governance, reverts, pid):
    g = governance
    f = g.governor.functions
    for view in (f.state, f.actions, f.proposal_quorum):
        with reverts("governor: unknown proposal"):
            view(pid).call()
    with reverts("governor: unknown proposal"):
        f.operation_id(pid, 0).call()
    with reverts("governor: unknown proposal"):
        vote(g, pid, g.alice, FOR)
    with reverts("governor: unknown proposal"):
        f.cast_vote_with_reason(pid, FOR, "").transact({"from": g.alice})
    with reverts("governor: unknown proposal"):
        queue(g, pid)
    with reverts("governor: unknown proposal"):
        execute(g, pid)
    with reverts("governor: unknown proposal"):
        cancel(g, pid)


def test_the_next_id_is_unknown_until_proposed(governance, reverts):
    g = governance
    propose(g, block_cid(g))
    with reverts("governor: unknown proposal"):
        state(g, 2)
    propose(g, block_cid(g))
    assert state(g, 2) == PENDING
