"""disputes.vy, validators and parameters: staking into the set, leaving after the unbonding
delay, rewards collected from the validators' pool and shared by stake (the remainder to the
treasury), the governed parameters and the constructor, each path positive and negative."""

from __future__ import annotations

from dataclasses import replace

import pytest
from chain_helpers import deploy_contract, events
from dispute_world import (
    ANSWER,
    CHALLENGE,
    HONEST,
    MAX_UINT256,
    PARAMS,
    VALIDATOR_STAKES,
    ZERO,
)
from eth_account import Account

NOT_OWNER = "ownable: caller is not the owner"


def stake_validator(dw, who, amount):
    return dw.disputes.functions.stake_validator(amount).transact({"from": who.address})


def newcomer(dw, tokens: int = 10_000):
    account = Account.create()
    dw.w3.provider.ethereum_tester.add_account(account.key.hex())
    dw.w3.eth.send_transaction({"from": dw.owner, "to": account.address, "value": 10**18})
    dw.token.functions.transfer(account.address, tokens).transact({"from": dw.holder})
    dw.token.functions.approve(dw.disputes.address, MAX_UINT256).transact({"from": account.address})
    return account


def collect(dw, sender=None):
    pool = dw.disputes.address
    return dw.disputes.functions.collect(
        dw.node.address, 0, dw.payouts[pool], dw.payout_proof(pool)
    ).transact({"from": (sender or dw.stranger).address})


# staking ------------------------------------------------------------------------------------


def test_the_world_starts_with_four_staked_validators(dw):
    d = dw.disputes.functions
    assert d.validators().call() == [v.address for v in dw.validators]
    assert [d.validator_stake(v.address).call() for v in dw.validators] == list(VALIDATOR_STAKES)
    assert all(d.is_validator(v.address).call() for v in dw.validators)
    assert d.total_staked().call() == sum(VALIDATOR_STAKES) == dw.balance(dw.disputes.address)


def test_staking_below_the_minimum_is_refused_and_a_top_up_counts(dw, reverts):
    fresh = newcomer(dw)
    with reverts("disputes: stake below minimum"):
        stake_validator(dw, fresh, PARAMS.min_validator_stake - 1)
    with reverts("disputes: zero amount"):
        stake_validator(dw, fresh, 0)
    assert not dw.disputes.functions.is_validator(fresh.address).call()
    tx = stake_validator(dw, fresh, PARAMS.min_validator_stake)
    stake_validator(dw, fresh, 1)  # a top-up needs no minimum of its own
    assert dw.disputes.functions.validator_stake(fresh.address).call() == (
        PARAMS.min_validator_stake + 1
    )
    assert dw.disputes.functions.validators().call()[-1] == fresh.address
    (staked,) = events(dw.disputes, "ValidatorStaked", tx)
    assert dict(staked.args) == {
        "validator": fresh.address,
        "amount": PARAMS.min_validator_stake,
        "stake": PARAMS.min_validator_stake,
    }


def test_staking_needs_the_tokens_approved(dw, reverts):
    fresh = newcomer(dw)
    dw.token.functions.approve(dw.disputes.address, 0).transact({"from": fresh.address})
    with reverts("erc20: insufficient allowance"):
        stake_validator(dw, fresh, PARAMS.min_validator_stake)


def test_the_validator_set_holds_64(dw, reverts):
    for _ in range(64 - len(dw.validators)):
        stake_validator(dw, newcomer(dw), PARAMS.min_validator_stake)
    assert len(dw.disputes.functions.validators().call()) == 64
    late = newcomer(dw)
    with reverts("disputes: validator set full"):
        stake_validator(dw, late, PARAMS.min_validator_stake)
    dw.disputes.functions.unstake_validator().transact({"from": dw.validators[0].address})
    stake_validator(dw, late, PARAMS.min_validator_stake)  # a place freed by leaving


# leaving ------------------------------------------------------------------------------------


def test_a_validator_leaves_after_the_unbonding_delay(dw, reverts):
    leaving = dw.validators[1]
    d = dw.disputes.functions
    tx = d.unstake_validator().transact({"from": leaving.address})
    ends = d.validator_unbonding_ends(leaving.address).call()
    (unstaked,) = events(dw.disputes, "ValidatorUnstaked", tx)
    assert dict(unstaked.args) == {
        "validator": leaving.address,
        "stake": VALIDATOR_STAKES[1],
        "unbonding_ends": ends,
    }
    assert not d.is_validator(leaving.address).call()
    assert leaving.address not in d.validators().call()
    assert d.validator_stake(leaving.address).call() == VALIDATOR_STAKES[1]  # still held
    with reverts("disputes: validator unbonding"):
        stake_validator(dw, leaving, 1)
    with reverts("disputes: not a validator"):
        d.unstake_validator().transact({"from": leaving.address})
    dw.at(ends - 1)
    with reverts("disputes: unbonding not over"):
        d.withdraw_validator().transact({"from": leaving.address})
    before = dw.balance(leaving.address)
    dw.at(ends)
    d.withdraw_validator().transact({"from": leaving.address})
    assert dw.balance(leaving.address) - before == VALIDATOR_STAKES[1]
    assert d.validator_stake(leaving.address).call() == 0
    assert d.total_staked().call() == sum(VALIDATOR_STAKES) - VALIDATOR_STAKES[1]
    stake_validator(dw, leaving, PARAMS.min_validator_stake)  # and may come back
    assert d.is_validator(leaving.address).call()


def test_only_a_leaving_validator_withdraws(dw, reverts):
    d = dw.disputes.functions
    for who in (dw.stranger, dw.validators[0]):
        with reverts("disputes: not unbonding"):
            d.withdraw_validator().transact({"from": who.address})
    with reverts("disputes: not a validator"):
        d.unstake_validator().transact({"from": dw.stranger.address})


def test_a_leaving_member_keeps_its_vote_on_a_drawn_committee(dw):
    fn = dw.disputes.functions.challenge_receipt(
        dw.node.address, 0, ANSWER, dw.evidence(HONEST), 0, b""
    )
    fn.transact({"from": dw.challenger.address})
    cid = dw.last_id()
    drawn = dw.disputes.functions.committee(cid).call()
    leaving = next(v for v in dw.validators if v.address == drawn[0])
    dw.disputes.functions.unstake_validator().transact({"from": leaving.address})
    assert dw.disputes.functions.committee(cid).call() == drawn


# rewards ------------------------------------------------------------------------------------


def test_collect_shares_the_pool_by_stake_and_names_the_remainder(dw):
    pool = dw.payouts[dw.disputes.address]
    dw.at(dw.posted_at + CHALLENGE)
    treasury_before = dw.balance(dw.treasury)
    tx = collect(dw)
    total = sum(VALIDATOR_STAKES)
    shares = [pool * s // total for s in VALIDATOR_STAKES]
    rewards = [dw.disputes.functions.rewards(v.address).call() for v in dw.validators]
    assert rewards == shares
    remainder = pool - sum(shares)
    assert remainder > 0  # 25 over 1:2:3:4 does not divide
    assert dw.balance(dw.treasury) - treasury_before == remainder
    assert dw.disputes.functions.total_rewards().call() == sum(shares)
    (collected,) = events(dw.disputes, "RewardsCollected", tx)
    assert dict(collected.args) == {
        "node": dw.node.address,
        "epoch": 0,
        "amount": pool,
        "remainder": remainder,
    }


def test_rewards_are_withdrawn_once(dw, reverts):
    dw.at(dw.posted_at + CHALLENGE)
    collect(dw)
    v = dw.validators[3]
    owed = dw.disputes.functions.rewards(v.address).call()
    before = dw.balance(v.address)
    dw.disputes.functions.withdraw_rewards().transact({"from": v.address})
    assert dw.balance(v.address) - before == owed
    with reverts("disputes: no rewards"):
        dw.disputes.functions.withdraw_rewards().transact({"from": v.address})
    with reverts("disputes: no rewards"):
        dw.disputes.functions.withdraw_rewards().transact({"from": dw.stranger.address})


def test_with_no_active_validator_the_pool_goes_to_the_treasury(dw):
    for validator in dw.validators:
        dw.disputes.functions.unstake_validator().transact({"from": validator.address})
    dw.at(dw.posted_at + CHALLENGE)
    before = dw.balance(dw.treasury)
    collect(dw)
    assert dw.balance(dw.treasury) - before == dw.payouts[dw.disputes.address]


def test_collect_follows_the_settlements_rules(dw, reverts):
    with reverts("settlement: challenge window open"):
        collect(dw)
    dw.at(dw.posted_at + CHALLENGE)
    collect(dw)
    with reverts("settlement: nothing to claim"):
        collect(dw)


# parameters ---------------------------------------------------------------------------------


def test_the_owner_sets_the_parameters(dw, reverts):
    new = replace(PARAMS, min_bond=7, committee_size=5)
    with reverts(NOT_OWNER):
        dw.disputes.functions.set_params(new.as_abi()).transact({"from": dw.stranger.address})
    tx = dw.disputes.functions.set_params(new.as_abi()).transact({"from": dw.owner})
    assert dw.disputes.functions.params().call() == new.as_abi()
    (changed,) = events(dw.disputes, "ParamsChanged", tx)
    assert tuple(changed.args.params.values()) == new.as_abi()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"min_validator_stake": 0}, "disputes: zero minimum stake"),
        ({"min_bond": 0}, "disputes: zero bond"),
        ({"response_period": 0}, "disputes: zero period"),
        ({"commit_period": 0}, "disputes: zero period"),
        ({"reveal_period": 0}, "disputes: zero period"),
        ({"validator_unbonding_delay": 10 * 365 * 86_400 + 1}, "disputes: period too long"),
        ({"response_period": 10 * 365 * 86_400 + 1}, "disputes: period too long"),
        (
            {"commit_period": 5 * 365 * 86_400 + 1, "reveal_period": 5 * 365 * 86_400},
            "disputes: period too long",
        ),
        ({"committee_size": 0}, "disputes: committee size out of range"),
        ({"committee_size": 17}, "disputes: committee size out of range"),
        ({"supermajority_bps": 5_000}, "disputes: supermajority out of range"),
        ({"supermajority_bps": 10_001}, "disputes: supermajority out of range"),
        ({"slash_bps": 10_001}, "disputes: share above 10000"),
        ({"challenger_share_bps": 10_001}, "disputes: share above 10000"),
        ({"dissent_penalty_bps": 10_001}, "disputes: share above 10000"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_bad_parameters_are_refused(dw, reverts, change, reason):
    with reverts(reason):
        dw.disputes.functions.set_params(replace(PARAMS, **change).as_abi()).transact(
            {"from": dw.owner}
        )
    assert dw.disputes.functions.params().call() == PARAMS.as_abi()


def test_the_edges_of_the_parameters_are_accepted(dw):
    edge = replace(
        PARAMS,
        committee_size=16,
        supermajority_bps=5_001,
        slash_bps=10_000,
        challenger_share_bps=0,
        dissent_penalty_bps=0,
        validator_unbonding_delay=0,
    )
    dw.disputes.functions.set_params(edge.as_abi()).transact({"from": dw.owner})
    assert dw.disputes.functions.params().call() == edge.as_abi()


def test_ownership_moves_to_governance(dw, reverts):
    d = dw.disputes.functions
    assert d.owner().call() == dw.owner
    d.transfer_ownership(dw.stranger.address).transact({"from": dw.owner})
    with reverts(NOT_OWNER):
        d.set_params(PARAMS.as_abi()).transact({"from": dw.owner})
    d.set_params(PARAMS.as_abi()).transact({"from": dw.stranger.address})


# the constructor ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        (0, "disputes: zero token"),
        (1, "disputes: zero settlement"),
        (2, "disputes: zero staking"),
        (3, "disputes: zero policy"),
        (4, "disputes: zero registry"),
    ],
)
def test_the_constructor_refuses_zero_addresses(dw, reverts, position, reason):
    args = [
        dw.token.address,
        dw.settlement.address,
        dw.staking.address,
        dw.policy.address,
        dw.registry,
    ]
    args[position] = ZERO
    with reverts(reason):
        deploy_contract(dw.w3, "disputes", *args, PARAMS.as_abi(), sender=dw.owner)


def test_the_constructor_checks_the_parameters(dw, reverts):
    args = [dw.token.address, dw.settlement.address, dw.staking.address, dw.policy.address]
    with reverts("disputes: zero bond"):
        deploy_contract(dw.w3, "disputes", *args, dw.registry, replace(PARAMS, min_bond=0).as_abi())
    deployed = deploy_contract(dw.w3, "disputes", *args, dw.registry, PARAMS.as_abi())
    assert deployed.functions.params().call() == PARAMS.as_abi()
    assert deployed.functions.token().call() == dw.token.address
    assert deployed.functions.settlement().call() == dw.settlement.address
    assert deployed.functions.staking().call() == dw.staking.address
    assert deployed.functions.policy().call() == dw.policy.address
