"""Property: under any history of transfers, mints, burns and delegations, votes match balances."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ZERO = "0x" + "00" * 20
HOLDERS = 4  # accounts[1..4]; accounts[1] starts with the whole supply

holder = st.integers(0, HOLDERS - 1)
delegatee = st.integers(-1, HOLDERS - 1)  # -1 stands for the zero address
amount = st.integers(0, 10**24)
operation = st.one_of(
    st.tuples(st.just("transfer"), holder, holder, amount),
    st.tuples(st.just("mint"), holder, amount),
    st.tuples(st.just("burn"), holder, amount),
    st.tuples(st.just("delegate"), holder, delegatee),
)


def _apply(token, holders, minter, op):
    """Runs one operation; amounts wrap to the sender's balance so that none reverts."""
    kind, who, *rest = op
    sender = holders[who]
    balance = token.functions.balanceOf(sender).call()
    if kind == "transfer":
        receiver, value = holders[rest[0]], rest[1] % (balance + 1)
        token.functions.transfer(receiver, value).transact({"from": sender})
    elif kind == "mint":
        token.functions.mint(sender, rest[0]).transact({"from": minter})
    elif kind == "burn":
        token.functions.burn(rest[0] % (balance + 1)).transact({"from": sender})
    else:
        target = ZERO if rest[0] < 0 else holders[rest[0]]
        token.functions.delegate(target).transact({"from": sender})


def _delegated_balances(token, holders, block):
    """Each delegate's expected votes at `block`: the balances of the holders delegating to it."""
    expected = dict.fromkeys(holders, 0)
    for account in holders:
        target = token.functions.delegates(account).call(block_identifier=block)
        if target != ZERO:
            expected[target] += token.functions.balanceOf(account).call(block_identifier=block)
    return expected


# each example runs on a snapshot of the freshly deployed chain and reverts it afterwards
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(operation, max_size=10))
def test_votes_and_past_supply_match_balances(w3, token, accounts, mine, operations):
    tester, holders = w3.provider.ethereum_tester, accounts[1 : HOLDERS + 1]
    snapshot = tester.take_snapshot()
    try:
        deployed = w3.eth.block_number
        for op in operations:
            _apply(token, holders, accounts[0], op)
        mine()

        # per delegate, so the sum of votes equals the sum of delegated balances too
        votes = {d: token.functions.get_votes(d).call() for d in holders}
        assert votes == _delegated_balances(token, holders, "latest")
        for block in range(deployed, w3.eth.block_number):
            # one second per block in process, so each block's stamp names its state
            stamp = w3.eth.get_block(block).timestamp
            supply = token.functions.totalSupply().call(block_identifier=block)
            assert token.functions.get_past_total_supply(stamp).call() == supply
            past = {d: token.functions.get_past_votes(d, stamp).call() for d in holders}
            assert past == _delegated_balances(token, holders, block)
    finally:
        tester.revert_to_snapshot(snapshot)
