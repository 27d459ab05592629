"""The staking parameters belong to governance: a passed proposal changes the minimum stake,
the unbonding delay and the slasher; nothing else can, and bad values are refused before gas."""

from __future__ import annotations

import pytest
from gov_helpers import enact
from money_helpers import TSR

from tessera._api import Tessera
from tessera._chain.deploy import DEFAULT_MIN_STAKE, DEFAULT_PERIODS
from tessera._errors import ContractRevert, InputError
from tessera.cli import gov_view


@pytest.fixture(scope="module")
def t(tmp_path_factory):
    home = tmp_path_factory.mktemp("staking-gov") / "home"
    opened = Tessera.init(home, chain="inprocess", password="pw", scrypt_n=2**4)
    opened.new_account("judge")
    yield opened
    opened.close()


def test_only_a_passed_proposal_changes_the_staking_parameters(t):
    d, judge = t.config.deployment, t.address("judge")
    assert t.staking.owner() == d.timelock
    p = t.gov.parameters().staking
    an_hour_over = DEFAULT_PERIODS.epoch_length + DEFAULT_PERIODS.challenge_period + 3_600
    expected = (DEFAULT_MIN_STAKE, an_hour_over, d.disputes)  # the disputes contract slashes
    assert (p.min_stake, p.unbonding_delay, p.slasher) == expected
    with pytest.raises(ContractRevert, match="ownable: caller is not the owner"):
        t.chain.transact(t.staking.contract.functions.set_slasher(judge), t.signer())

    actions = [
        *t.gov.actions.min_stake(5 * TSR),
        *t.gov.actions.unbonding_delay(86_400),
        *t.gov.actions.slasher(judge),
    ]
    proposal = enact(t, actions, "tighter staking, a judge")
    assert t.gov.status(proposal).changes == (
        f"staking.set_min_stake(min_stake={5 * TSR})",
        "staking.set_unbonding_delay(unbonding_delay=86400)",
        f"staking.set_slasher(slasher={judge})",
    )
    p = t.gov.parameters().staking
    assert (p.min_stake, p.unbonding_delay, p.slasher) == (5 * TSR, 86_400, judge)
    with gov_view.console.capture() as shown:  # what `tessera gov status` prints
        gov_view.parameters(t.gov.parameters())
    assert "min stake 5 TSR  unbonding delay 86400 s" in shown.get()
    assert f"slasher {judge}" in shown.get().replace("\n", "")


def test_bad_staking_values_are_refused_before_any_transaction(t):
    nonce = t.chain.w3.eth.get_transaction_count(t.address())
    supply = t.settlement.token.total_supply()
    for amount in (0, supply + 1):
        with pytest.raises(InputError, match="minimum stake must be above 0 and at most"):
            t.gov.actions.min_stake(amount)
    with pytest.raises(InputError, match="is the one in force"):
        t.gov.actions.min_stake(t.staking.min_stake())
    for seconds in (0, 10 * 365 * 86_400 + 1):
        with pytest.raises(InputError, match="between 1 s and 315,360,000 s"):
            t.gov.actions.unbonding_delay(seconds)
    with pytest.raises(InputError, match="is the one in force"):
        t.gov.actions.unbonding_delay(t.staking.unbonding_delay())
    with pytest.raises(InputError, match="'judge' is not an address"):
        t.gov.actions.slasher("judge")
    with pytest.raises(InputError, match="is already the slasher"):
        t.gov.actions.slasher(t.staking.slasher())
    assert t.chain.w3.eth.get_transaction_count(t.address()) == nonce
