"""staking.vy and its node_registry module: every path, positive and negative, exact revert
strings; then the typed client on every backend."""

from __future__ import annotations

import pytest
from chain_helpers import (
    block_time,
    events,
    next_block_at,
    run_ahead_of_wall_clock,
)
from eth_account import Account

from tessera._chain.client import IN_PROCESS, Chain
from tessera._chain.deploy import Deployment, deploy_contracts
from tessera._chain.staking import NodeRecord, StakingClient
from tessera._errors import ChainError

ZERO = "0x" + "00" * 20
MAX_UINT256 = 2**256 - 1
EPOCH, CHALLENGE, WITHDRAWAL = 3_600, 600, 7_200
FLOOR = EPOCH + CHALLENGE + 1  # the shortest unbonding wait these periods allow
MIN, DELAY = 1_000, 5_000  # minimum stake; unbonding delay, above FLOOR
FUNDS = 10_000  # each node's tokens
TEN_YEARS = 10 * 365 * 86_400
URL, CID = "http://127.0.0.1:8000", "bafymeta"
NOT_OWNER = "ownable: caller is not the owner"


# fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def settlement(deploy, token, accounts):
    split = (3000, 2000, 4000, 1000, accounts[9], 0, "0x" + "00" * 20)
    return deploy("settlement", token.address, split, EPOCH, CHALLENGE, WITHDRAWAL)


@pytest.fixture
def nodes(accounts):
    return accounts[2:4]


@pytest.fixture
def slasher(accounts):
    return accounts[4]


@pytest.fixture
def recipient(accounts):
    return accounts[5]


@pytest.fixture
def stranger(accounts):
    return accounts[6]


@pytest.fixture
def staking(w3, deploy, token, settlement, accounts, nodes):
    """Staking at MIN / DELAY, owned by accounts[0]; each node holds FUNDS, all approved."""
    contract = deploy("staking", token.address, settlement.address, MIN, DELAY)
    for node in nodes:
        token.functions.transfer(node, FUNDS).transact({"from": accounts[1]})
        token.functions.approve(contract.address, MAX_UINT256).transact({"from": node})
    run_ahead_of_wall_clock(w3)
    return contract


@pytest.fixture
def armed(staking, accounts, slasher):
    """The staking contract with `slasher` named."""
    staking.functions.set_slasher(slasher).transact({"from": accounts[0]})
    return staking


def register(staking, node, amount=MIN, endpoint=URL, cid=CID):
    return staking.functions.register(amount, endpoint, cid).transact({"from": node})


def balance(token, who) -> int:
    return token.functions.balanceOf(who).call()


# deployment ---------------------------------------------------------------------------------


def test_the_constructor_sets_the_parameters_and_names_no_slasher(staking, token, settlement):
    f = staking.functions
    assert (f.token().call(), f.settlement().call()) == (token.address, settlement.address)
    assert (f.min_stake().call(), f.unbonding_delay().call(), f.slasher().call()) == (
        MIN,
        DELAY,
        ZERO,
    )
    assert (f.total_staked().call(), f.node_count().call()) == (0, 0)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("token", ZERO, MIN, DELAY), "staking: zero settlement"),
        ((ZERO, "settlement", MIN, DELAY), "staking: zero token"),
        (("token", "settlement", 0, DELAY), "staking: zero minimum stake"),
        (("token", "settlement", MIN, 0), "staking: zero unbonding delay"),
        (("token", "settlement", MIN, TEN_YEARS + 1), "staking: unbonding delay too long"),
    ],
)
def test_the_constructor_refuses_bad_parameters(deploy, token, settlement, reverts, args, reason):
    named = {"token": token.address, "settlement": settlement.address}
    with reverts(reason):
        deploy("staking", *(named.get(a, a) if isinstance(a, str) else a for a in args))


# register -----------------------------------------------------------------------------------


def test_register_bonds_the_stake_and_lists_the_node(w3, staking, token, nodes):
    node = nodes[0]
    tx = register(staking, node, MIN + 5)
    f = staking.functions
    assert f.nodes(node).call() == (URL, CID, MIN + 5, block_time(w3, tx), True)
    assert (f.stake_of(node).call(), f.total_staked().call()) == (MIN + 5, MIN + 5)
    assert (f.node_count().call(), f.node_at(0).call()) == (1, node)
    assert f.is_eligible(node).call()
    assert balance(token, node) == FUNDS - MIN - 5
    assert balance(token, staking.address) == MIN + 5
    (logged,) = events(staking, "Registered", tx)
    assert dict(logged.args) == {"node": node, "endpoint": URL, "metadata_cid": CID, "stake": 1005}


def test_register_exactly_the_minimum_passes_one_below_does_not(staking, nodes, reverts):
    with reverts("staking: stake below minimum"):
        register(staking, nodes[0], MIN - 1)
    with reverts("staking: stake below minimum"):
        register(staking, nodes[0], 0)
    register(staking, nodes[1], MIN)
    assert staking.functions.is_eligible(nodes[1]).call()
    assert not staking.functions.is_eligible(nodes[0]).call()
    assert staking.functions.node_count().call() == 1


def test_register_refuses_a_registered_node_and_empty_fields(staking, nodes, reverts):
    register(staking, nodes[0])
    with reverts("staking: already registered"):
        register(staking, nodes[0])
    with reverts("staking: empty endpoint"):
        register(staking, nodes[1], endpoint="")
    with reverts("staking: empty metadata cid"):
        register(staking, nodes[1], cid="")
    assert staking.functions.total_staked().call() == MIN


def test_register_without_allowance_or_tokens_moves_nothing(staking, token, stranger, reverts):
    with reverts("erc20: insufficient allowance"):
        register(staking, stranger)
    token.functions.approve(staking.address, MIN).transact({"from": stranger})
    with reverts("erc20: transfer amount exceeds balance"):
        register(staking, stranger)
    assert staking.functions.node_count().call() == 0


def test_node_at_refuses_an_index_past_the_list(staking, nodes, reverts):
    with reverts("staking: node index out of range"):
        staking.functions.node_at(0).call()
    register(staking, nodes[0])
    with reverts("staking: node index out of range"):
        staking.functions.node_at(1).call()


# update and add_stake -----------------------------------------------------------------------


def test_update_changes_the_listing_of_a_registered_node_only(staking, nodes, stranger, reverts):
    register(staking, nodes[0])
    tx = staking.functions.update("https://node.example", "bafynew").transact({"from": nodes[0]})
    assert staking.functions.nodes(nodes[0]).call()[:3] == ("https://node.example", "bafynew", MIN)
    (logged,) = events(staking, "Updated", tx)
    assert logged.args.metadata_cid == "bafynew"
    with reverts("staking: not registered"):
        staking.functions.update(URL, CID).transact({"from": stranger})
    with reverts("staking: empty endpoint"):
        staking.functions.update("", CID).transact({"from": nodes[0]})
    with reverts("staking: empty metadata cid"):
        staking.functions.update(URL, "").transact({"from": nodes[0]})
    staking.functions.leave().transact({"from": nodes[0]})
    with reverts("staking: not registered"):
        staking.functions.update(URL, CID).transact({"from": nodes[0]})


def test_add_stake_bonds_more_for_a_registered_node_only(staking, token, nodes, reverts):
    register(staking, nodes[0])
    tx = staking.functions.add_stake(7).transact({"from": nodes[0]})
    assert staking.functions.stake_of(nodes[0]).call() == MIN + 7
    assert staking.functions.total_staked().call() == MIN + 7
    assert balance(token, staking.address) == MIN + 7
    (logged,) = events(staking, "Staked", tx)
    assert (logged.args.amount, logged.args.stake) == (7, MIN + 7)
    with reverts("staking: zero amount"):
        staking.functions.add_stake(0).transact({"from": nodes[0]})
    with reverts("staking: not registered"):
        staking.functions.add_stake(7).transact({"from": nodes[1]})


# unbond and leave ---------------------------------------------------------------------------


def test_unbond_moves_stake_above_the_minimum_into_unbonding(w3, staking, nodes, reverts):
    node, f = nodes[0], staking.functions
    register(staking, node, MIN + 300)
    tx = f.unbond(100).transact({"from": node})
    at = block_time(w3, tx)
    assert (f.stake_of(node).call(), f.unbonding_of(node).call()) == (MIN + 200, 100)
    assert f.withdrawable_at(node).call() == at + DELAY
    assert f.total_staked().call() == MIN + 200 and f.total_unbonding().call() == 100
    assert f.is_eligible(node).call()
    (logged,) = events(staking, "Unbonded", tx)
    assert (logged.args.amount, logged.args.unbonding) == (100, 100)
    with reverts("staking: zero amount"):
        f.unbond(0).transact({"from": node})
    with reverts("staking: exceeds stake"):
        f.unbond(MIN + 201).transact({"from": node})
    with reverts("staking: remaining stake below minimum"):
        f.unbond(201).transact({"from": node})
    with reverts("staking: not registered"):
        f.unbond(1).transact({"from": nodes[1]})


def test_a_second_unbond_adds_to_the_pending_amount_and_restarts_the_wait(w3, staking, nodes):
    node, f = nodes[0], staking.functions
    register(staking, node, MIN + 300)
    f.unbond(100).transact({"from": node})
    next_block_at(w3, block_time(w3, f.unbond(1).transact({"from": node})) + 1_000)
    tx = f.unbond(99).transact({"from": node})
    assert f.unbonding_of(node).call() == 200
    assert f.withdrawable_at(node).call() == block_time(w3, tx) + DELAY


def test_leave_deregisters_and_unbonds_the_whole_stake(w3, staking, nodes, reverts):
    node, f = nodes[0], staking.functions
    register(staking, node, MIN + 50)
    tx = f.leave().transact({"from": node})
    endpoint, cid, stake, _, active = f.nodes(node).call()
    assert (endpoint, cid, stake, active) == (URL, CID, 0, False)
    assert f.unbonding_of(node).call() == MIN + 50
    assert f.withdrawable_at(node).call() == block_time(w3, tx) + DELAY
    assert not f.is_eligible(node).call()
    assert (f.node_count().call(), f.node_at(0).call()) == (1, node)  # listed, inactive
    assert (f.total_staked().call(), f.total_unbonding().call()) == (0, MIN + 50)
    (left,) = events(staking, "Left", tx)
    assert left.args.unbonded == MIN + 50
    with reverts("staking: not registered"):
        f.leave().transact({"from": node})
    with reverts("staking: not registered"):
        f.leave().transact({"from": nodes[1]})


def test_a_node_that_leaves_and_returns_is_listed_once(w3, staking, nodes):
    node, f = nodes[0], staking.functions
    register(staking, nodes[1])
    register(staking, node, MIN + 1)
    f.leave().transact({"from": node})
    tx = register(staking, node, MIN + 2, "http://back", "bafyback")
    assert f.node_count().call() == 2
    assert [f.node_at(i).call() for i in range(2)] == [nodes[1], node]
    assert f.nodes(node).call() == ("http://back", "bafyback", MIN + 2, block_time(w3, tx), True)
    assert f.unbonding_of(node).call() == MIN + 1  # the old stake still waits out its delay
    assert f.total_staked().call() == 2 * MIN + 2


# withdraw -----------------------------------------------------------------------------------


def test_withdraw_pays_exactly_when_the_delay_is_over(w3, staking, token, nodes, reverts):
    node, f = nodes[0], staking.functions
    with reverts("staking: nothing to withdraw"):
        f.withdraw().transact({"from": node})
    register(staking, node, MIN + 10)
    at = block_time(w3, f.leave().transact({"from": node}))
    next_block_at(w3, at + DELAY - 1)
    with reverts("staking: unbonding delay not over"):
        f.withdraw().transact({"from": node})
    next_block_at(w3, at + DELAY)
    tx = f.withdraw().transact({"from": node})
    assert block_time(w3, tx) == at + DELAY
    assert balance(token, node) == FUNDS
    assert balance(token, staking.address) == 0
    assert (f.unbonding_of(node).call(), f.withdrawable_at(node).call()) == (0, 0)
    assert f.total_unbonding().call() == 0
    (logged,) = events(staking, "Withdrawn", tx)
    assert logged.args.amount == MIN + 10
    with reverts("staking: nothing to withdraw"):
        f.withdraw().transact({"from": node})


def test_the_wait_is_never_shorter_than_an_epoch_plus_the_challenge_window(
    w3, staking, settlement, accounts, nodes, reverts
):
    node, f = nodes[0], staking.functions
    f.set_unbonding_delay(10).transact({"from": accounts[0]})
    register(staking, node)
    at = block_time(w3, f.leave().transact({"from": node}))
    assert f.withdrawable_at(node).call() == at + FLOOR
    # governance lengthens the settlement's periods: the pending stake waits the longer floor
    longer = (2 * EPOCH, 2 * CHALLENGE, 2 * WITHDRAWAL)
    settlement.functions.set_periods(*longer).transact({"from": accounts[0]})
    assert f.withdrawable_at(node).call() == at + 2 * EPOCH + 2 * CHALLENGE + 1
    next_block_at(w3, at + FLOOR)
    with reverts("staking: unbonding delay not over"):
        f.withdraw().transact({"from": node})
    next_block_at(w3, at + 2 * EPOCH + 2 * CHALLENGE)
    with reverts("staking: unbonding delay not over"):
        f.withdraw().transact({"from": node})
    next_block_at(w3, at + 2 * EPOCH + 2 * CHALLENGE + 1)
    f.withdraw().transact({"from": node})
    assert f.unbonding_of(node).call() == 0


# slash --------------------------------------------------------------------------------------


def test_nobody_can_slash_until_governance_names_a_slasher(
    staking, accounts, nodes, slasher, recipient, reverts
):
    register(staking, nodes[0])
    for caller in (accounts[0], slasher, nodes[0]):  # not even the owner
        with reverts("staking: caller is not the slasher"):
            staking.functions.slash(nodes[0], 1, recipient).transact({"from": caller})
    tx = staking.functions.set_slasher(slasher).transact({"from": accounts[0]})
    (logged,) = events(staking, "SlasherChanged", tx)
    assert (logged.args.previous, logged.args.slasher) == (ZERO, slasher)
    with reverts("staking: caller is not the slasher"):
        staking.functions.slash(nodes[0], 1, recipient).transact({"from": accounts[0]})


def test_a_slash_takes_bonded_stake_and_pays_the_recipient(armed, token, nodes, slasher, recipient):
    node, f = nodes[0], armed.functions
    register(armed, node, MIN + 100)
    tx = f.slash(node, 150, recipient).transact({"from": slasher})
    assert f.stake_of(node).call() == MIN - 50
    assert balance(token, recipient) == 150
    assert balance(token, armed.address) == f.total_staked().call() == MIN - 50
    (logged,) = events(armed, "Slashed", tx)
    assert dict(logged.args) == {"node": node, "amount": 150, "recipient": recipient}
    # below the minimum it stays registered, but clients skip it
    assert f.nodes(node).call()[4] and not f.is_eligible(node).call()


def test_a_slash_takes_unbonding_stake_after_the_bonded(
    w3, armed, token, nodes, slasher, recipient
):
    node, f = nodes[0], armed.functions
    register(armed, node, MIN + 300)
    at = block_time(w3, f.unbond(300).transact({"from": node}))
    f.slash(node, MIN + 100, recipient).transact({"from": slasher})
    assert (f.stake_of(node).call(), f.unbonding_of(node).call()) == (0, 200)
    assert f.withdrawable_at(node).call() == at + DELAY  # a slash does not restart the wait
    assert (f.total_staked().call(), f.total_unbonding().call()) == (0, 200)
    assert balance(token, recipient) == MIN + 100
    next_block_at(w3, at + 1_000)
    f.leave().transact({"from": node})  # nothing bonded to move: the pending wait stands
    assert f.withdrawable_at(node).call() == at + DELAY


def test_leaving_does_not_escape_a_slash(w3, armed, token, nodes, slasher, recipient, reverts):
    node, f = nodes[0], armed.functions
    register(armed, node, MIN)
    f.leave().transact({"from": node})
    f.slash(node, MIN, recipient).transact({"from": slasher})
    assert f.unbonding_of(node).call() == 0 and f.withdrawable_at(node).call() == 0
    assert balance(token, recipient) == MIN
    with reverts("staking: nothing to withdraw"):
        f.withdraw().transact({"from": node})


def test_a_slash_refuses_more_than_the_node_holds_and_unnamed_recipients(
    armed, nodes, slasher, recipient, reverts
):
    node, f = nodes[0], armed.functions
    register(armed, node, MIN + 300)
    f.unbond(300).transact({"from": node})
    with reverts("staking: slash exceeds stake"):
        f.slash(node, MIN + 301, recipient).transact({"from": slasher})
    with reverts("staking: slash exceeds stake"):
        f.slash(nodes[1], 1, recipient).transact({"from": slasher})
    with reverts("staking: zero amount"):
        f.slash(node, 0, recipient).transact({"from": slasher})
    with reverts("staking: zero recipient"):
        f.slash(node, 1, ZERO).transact({"from": slasher})
    with reverts("staking: recipient is the staking contract"):
        f.slash(node, 1, armed.address).transact({"from": slasher})
    assert (f.stake_of(node).call(), f.unbonding_of(node).call()) == (MIN, 300)
    f.slash(node, MIN + 300, recipient).transact({"from": slasher})  # all of it, exactly
    assert (f.stake_of(node).call(), f.unbonding_of(node).call()) == (0, 0)


# owner-only parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setter", "value"),
    [("set_min_stake", 5), ("set_unbonding_delay", 5), ("set_slasher", ZERO)],
)
def test_only_the_owner_sets_parameters(staking, stranger, nodes, setter, value, reverts):
    for caller in (stranger, nodes[0]):
        with reverts(NOT_OWNER):
            getattr(staking.functions, setter)(value).transact({"from": caller})


def test_the_owner_sets_the_minimum_stake_and_the_delay_within_bounds(
    staking, accounts, nodes, reverts
):
    owner, f = accounts[0], staking.functions
    register(staking, nodes[0])
    tx = f.set_min_stake(MIN + 1).transact({"from": owner})
    assert events(staking, "MinStakeChanged", tx)[0].args.min_stake == MIN + 1
    assert not f.is_eligible(nodes[0]).call()  # registered below the raised minimum
    with reverts("staking: zero minimum stake"):
        f.set_min_stake(0).transact({"from": owner})
    tx = f.set_unbonding_delay(TEN_YEARS).transact({"from": owner})
    assert events(staking, "UnbondingDelayChanged", tx)[0].args.unbonding_delay == TEN_YEARS
    with reverts("staking: zero unbonding delay"):
        f.set_unbonding_delay(0).transact({"from": owner})
    with reverts("staking: unbonding delay too long"):
        f.set_unbonding_delay(TEN_YEARS + 1).transact({"from": owner})
    assert (f.min_stake().call(), f.unbonding_delay().call()) == (MIN + 1, TEN_YEARS)


def test_ownership_moves_only_by_the_owner(staking, accounts, stranger, reverts):
    with reverts(NOT_OWNER):
        staking.functions.transfer_ownership(stranger).transact({"from": stranger})
    staking.functions.transfer_ownership(stranger).transact({"from": accounts[0]})
    staking.functions.set_min_stake(1).transact({"from": stranger})
    with reverts(NOT_OWNER):
        staking.functions.set_min_stake(2).transact({"from": accounts[0]})


# the typed client, on every backend --------------------------------------------------------


def test_the_client_registers_lists_and_refuses_on_every_backend(chain, owner, funded, refused):
    token = chain.deploy("token", owner, "Tessera", "TSR", 10**6, owner.address)
    split = (3000, 2000, 4000, 1000, owner.address, 0, "0x" + "00" * 20)
    settlement = chain.deploy("settlement", owner, token, split, EPOCH, CHALLENGE, WITHDRAWAL)
    client = StakingClient(chain, chain.deploy("staking", owner, token, settlement, MIN, DELAY))
    node = funded()
    client.token.transfer(owner, node.address, FUNDS)
    with refused("staking: stake below minimum"):
        client.register(node, MIN - 1, URL, CID)
    assert client.register(node, MIN + 1, URL, CID) > 0  # the gas it used
    with refused("staking: already registered"):
        client.register(node, MIN, URL, CID)
    client.update(node, "http://other", "bafyother")
    client.add_stake(node, 10)
    client.unbond(node, 11)
    record = client.node(node.address)
    assert record == NodeRecord(
        node.address,
        "http://other",
        "bafyother",
        MIN,
        11,
        record.withdrawable_at,
        record.registered_at,
        True,
        True,
    )
    assert record.withdrawable_at >= record.registered_at + DELAY
    client.leave(node)
    with refused("staking: unbonding delay not over"):
        client.withdraw(node)
    with refused("staking: caller is not the slasher"):
        client.slash(owner, node.address, 1, owner.address)
    (listed,) = client.nodes()
    assert (listed.stake, listed.unbonding, listed.active, listed.eligible) == (
        0,
        MIN + 11,
        False,
        False,
    )
    assert (client.min_stake(), client.unbonding_delay(), client.slasher()) == (MIN, DELAY, ZERO)
    assert client.owner() == owner.address


def test_a_home_deployed_before_staking_is_told_to_redeploy():
    chain, deployer = Chain.connect(IN_PROCESS), Account.create()
    chain.fund(deployer.address, 10**20)
    record = deploy_contracts(chain, deployer).to_json()
    assert Deployment.from_json(record).staking == record["staking"]
    del record["staking"]
    with pytest.raises(ChainError) as refused:
        Deployment.from_json(record)
    assert str(refused.value) == (
        "this home's contracts predate the node network (no staking contract): "
        "run `tessera init --force` to deploy them again"
    )
