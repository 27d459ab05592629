"""`Tessera.gov` on an in-process chain: the wiring that leaves only governance in charge, the
voting rules a holder meets, and a clear sentence for every bad input."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from gov_helpers import enact
from money_helpers import TSR

from tessera._api import FeeSplit, GovernanceSettings, Periods, ProposalState, Tessera
from tessera._errors import ContractRevert, InputError, NotFoundError
from tessera._govern.actions import decode, describe

ZERO = "0x" + "00" * 20


@pytest.fixture
def t(tmp_path):
    home = Tessera.init(tmp_path / "home", chain="inprocess", password="pw", scrypt_n=2**4)
    for name in ("alice", "bob"):
        home.new_account(name)
    yield home
    home.close()


def _block(t, cid="bafk-example"):
    return t.gov.actions.block_content([cid])


def test_the_deployment_hands_every_parameter_to_the_timelock(t):
    d = t.config.deployment
    assert t.settlement.owner() == d.timelock
    assert t.gov.policy.owner() == d.timelock
    token = t.settlement.token.contract.functions
    assert token.owner().call() == d.timelock and token.is_minter(d.timelock).call()
    assert not token.is_minter(t.address()).call()  # the deployer cannot mint any more
    lock = t.chain.contract("timelock", d.timelock).functions
    assert not lock.hasRole(b"\0" * 32, t.address()).call()
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
        assert lock.hasRole(keccak(text=role), d.governor).call()
        assert not lock.hasRole(keccak(text=role), t.address()).call()
    with pytest.raises(ContractRevert, match="ownable: caller is not the owner"):
        split = FeeSplit(1_000, 1_000, 7_000, 1_000, t.address()).as_abi()
        t.chain.transact(t.settlement.contract.functions.set_fee_split(split), t.signer())


def test_the_validators_share_changes_only_through_a_proposal(t):
    old = t.settlement.fee_split()
    assert old.validators_bps > 0 and old.validators == t.config.deployment.disputes
    new = FeeSplit(2_500, 2_000, 4_000, 500, old.treasury, 1_000, old.validators)
    actions = t.gov.actions.fee_split(new)
    shown = describe(t.chain, t.config.deployment, actions[0])
    assert f"validators_bps=1000, validators={old.validators}" in shown, shown
    enact(t, actions, "validators re-check more answers: pay them more")
    assert t.settlement.fee_split() == new


def test_periods_change_only_through_a_proposal(t):
    new = Periods(epoch_length=600, challenge_period=300, withdrawal_delay=1_200)
    enact(t, t.gov.actions.periods(new), "shorter epochs")
    assert t.settlement.periods() == new


def _decoded(t, actions):
    calls = [decode(t.chain, t.config.deployment, a) for a in actions]
    return [(c.contract, c.function, c.args) for c in calls]


def test_a_change_keeps_what_it_is_not_given_as_in_force(t):
    """The `*_change` builders, which the CLI and the web form both propose with."""
    now, split = t.settlement.periods(), t.settlement.fee_split()
    periods = t.gov.actions.periods_change(epoch_length=600, withdrawal_delay=1_200)
    kept = {"epoch_length": 600, "challenge_period": now.challenge_period, "withdrawal_delay": 1200}
    assert _decoded(t, periods) == [("settlement", "set_periods", kept)]
    (fee,) = _decoded(t, t.gov.actions.fee_split_change(5_000, 1_000, 3_000, 1_000))
    assert fee[2]["split"]["treasury"] == split.treasury
    assert fee[2]["split"]["validators"] == split.validators
    assert _decoded(t, t.gov.actions.staking_change(min_stake=5 * TSR, slasher=ZERO)) == [
        ("staking", "set_min_stake", {"min_stake": 5 * TSR}),
        ("staking", "set_slasher", {"slasher": ZERO}),
    ]
    assert _decoded(t, t.gov.actions.settings_change(voting_period=120, quorum_bps=400)) == [
        ("governor", "set_voting_period", {"new_value": 120})  # 400 bps is in force: no call
    ]
    for empty, message in (
        (t.gov.actions.periods_change, "periods are the ones in force"),
        (t.gov.actions.staking_change, "give a minimum stake, an unbonding delay or a slasher"),
        (t.gov.actions.settings_change, "settings are the ones in force"),
    ):
        with pytest.raises(InputError, match=message):
            empty()
    with pytest.raises(InputError, match="must exceed the epoch length"):
        t.gov.actions.periods_change(withdrawal_delay=now.epoch_length)


def test_tokens_received_after_the_snapshot_do_not_vote(t):
    t.transfer(50_000_000 * TSR, "alice")
    t.gov.delegate(account="alice")
    proposal = t.gov.propose(_block(t), "block it")
    t.gov.wait_for(proposal, ProposalState.ACTIVE)
    t.transfer(50_000_000 * TSR, "bob")  # after the snapshot
    t.gov.delegate(account="bob")
    with pytest.raises(ContractRevert, match="no voting power at the snapshot.*do not vote"):
        t.gov.vote(proposal, "for", account="bob")
    assert t.gov.vote(proposal, "for", account="alice") == 50_000_000 * TSR
    with pytest.raises(ContractRevert, match="vote already cast"):
        t.gov.vote(proposal, "against", account="alice")
    assert t.gov.has_voted(proposal, "alice") and not t.gov.has_voted(proposal, "bob")


def test_delegated_power_moves_with_the_delegation(t):
    t.transfer(60_000_000 * TSR, "alice")
    assert t.gov.delegate("bob", account="alice") == t.address("bob")
    assert t.gov.voting_power("bob") == (60_000_000 * TSR, "0x" + "00" * 20)
    assert t.gov.voting_power("alice") == (0, t.address("bob"))
    proposal = t.gov.propose(_block(t), "block it")
    t.gov.wait_for(proposal, ProposalState.ACTIVE)
    with pytest.raises(ContractRevert, match="no voting power"):
        t.gov.vote(proposal, "for", account="alice")
    assert t.gov.vote(proposal, "abstain", account="bob") == 60_000_000 * TSR
    record = t.gov.wait_for(proposal, ProposalState.SUCCEEDED).record
    assert record.abstain_votes == 60_000_000 * TSR and record.for_votes == 0
    assert record.state == ProposalState.DEFEATED  # abstain meets quorum, but none for


def test_a_holder_without_delegated_votes_cannot_propose(t):
    t.transfer(10_000 * TSR, "alice")  # above the threshold, but not delegated
    with pytest.raises(ContractRevert, match="below threshold.*tessera gov delegate"):
        t.gov.propose(_block(t), "block it", account="alice")
    assert t.gov.governor.count() == 0


def test_timelock_delay_double_execution_and_expiry(t):
    proposal = t.gov.propose(_block(t), "block it")
    t.gov.wait_for(proposal, ProposalState.ACTIVE)
    t.gov.vote(proposal, "for")
    t.gov.wait_for(proposal, ProposalState.SUCCEEDED)
    with pytest.raises(ContractRevert, match="proposal not queued.*queue it first"):
        t.gov.execute(proposal)
    eta = t.gov.queue(proposal)
    with pytest.raises(ContractRevert, match="timelock delay not over"):
        t.gov.execute(proposal)
    t.chain.wait_until(eta + t.gov.governor.settings().grace_period + 1)
    assert t.gov.status(proposal).state == ProposalState.EXPIRED
    with pytest.raises(ContractRevert, match="proposal expired"):
        t.gov.execute(proposal)
    assert t.gov.policy.version() == 0


def test_a_defeated_proposal_cannot_be_queued(t):
    t.transfer(100 * TSR, "alice")
    t.gov.delegate(account="alice")
    proposal = t.gov.propose(_block(t), "block it")
    t.gov.wait_for(proposal, ProposalState.ACTIVE)
    t.gov.vote(proposal, "for", account="alice")  # far below the 4% quorum
    assert t.gov.wait_for(proposal, ProposalState.SUCCEEDED).state == ProposalState.DEFEATED
    with pytest.raises(ContractRevert, match="proposal not successful"):
        t.gov.queue(proposal)


def test_bad_input_is_refused_before_any_transaction(t):
    nonce = t.chain.w3.eth.get_transaction_count(t.address())
    pool = t.settlement.fee_split().validators
    for bad, message in (
        (FeeSplit(5_000, 5_000, 5_000, 0, t.address()), "add up to 10,000"),
        (FeeSplit(3_000, 2_000, 4_000, 500, t.address(), 400, pool), "add up to 10,000"),
        (FeeSplit(3_000, 2_000, 4_000, 1_500, t.address(), -500, pool), "five non-negative"),
        (FeeSplit(3_000, 2_000, 4_000, 500, t.address(), 500, "pool"), "'pool' is not an addr"),
        (FeeSplit(3_000, 2_000, 4_000, 500, t.address(), 500, ZERO), "not the zero address"),
    ):
        with pytest.raises(InputError, match=message):
            t.gov.actions.fee_split(bad)
    # no share for validators needs no pool: the same split with 0 bps is a valid change
    assert t.gov.actions.fee_split(FeeSplit(3_000, 2_000, 4_000, 1_000, t.address(), 0, ZERO))
    with pytest.raises(InputError, match="must exceed the epoch length"):
        t.gov.actions.periods(Periods(600, 60, 600))
    with pytest.raises(InputError, match="not a weights digest"):
        t.gov.actions.approve_model("m", "0x1234")
    with pytest.raises(InputError, match="digest of zero"):
        t.gov.actions.approve_model("m", "0x" + "0" * 64)
    with pytest.raises(InputError, match="not a contribution CID"):
        t.gov.actions.block_content([" "])
    with pytest.raises(InputError, match="not blocked: bafk-never"):
        t.gov.actions.unblock_content(["bafk-never"])
    with pytest.raises(InputError, match="not a model id"):
        t.gov.actions.approve_model("m" * 129, "0x" + "ab" * 32)
    with pytest.raises(InputError, match="is not approved"):
        t.gov.actions.revoke_model("m", "0x" + "ab" * 32)
    with pytest.raises(InputError, match="between 1 s and"):
        t.gov.actions.periods(Periods(600, 60, 10 * 365 * 86_400 + 1))
    with pytest.raises(NotFoundError, match="no datanet named 'nope'"):
        t.gov.actions.block_datanet("nope")
    with pytest.raises(InputError, match="at least one change"):
        t.gov.propose([], "nothing")
    with pytest.raises(InputError, match="at most 10 calls"):
        t.gov.propose(t.gov.actions.block_content([f"c{i}" for i in range(11)]), "many")
    with pytest.raises(InputError, match="description"):
        t.gov.propose(_block(t), "   ")
    with pytest.raises(InputError, match="for, against, abstain"):
        t.gov.vote(1, "yes")
    with pytest.raises(InputError, match="no proposal 7"):
        t.gov.status(7)
    assert t.chain.w3.eth.get_transaction_count(t.address()) == nonce


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timelock_delay": 30 * 86_400 + 1}, "timelock_delay is 2592001 s: give 0 to"),
        ({"voting_period": 0}, "voting_period is 0 s: give 1 to 2,592,000 s"),
        ({"voting_delay": 0}, "voting_delay is 0 s: give 1 to"),
        ({"grace_period": 90 * 86_400 + 1}, "grace_period is 7776001 s: give 1 to"),
        ({"quorum_bps": 5_001}, "quorum_bps is 5001: give 0 to 5,000"),
        ({"proposal_threshold": 10**7 * TSR + 1}, "between 0 and 1% of the supply"),
    ],
)
def test_settings_out_of_bounds_are_refused_for_proposals_and_deployments(
    t, tmp_path, change, message
):
    from dataclasses import replace

    from tessera._api import DEFAULT_GOVERNANCE

    current = t.gov.governor.settings()
    with pytest.raises(InputError, match=message):
        t.gov.actions.settings(current, replace(current, **change))
    with pytest.raises(InputError, match=message):
        Tessera.init(
            tmp_path / "other", chain="inprocess", password="pw", scrypt_n=2**4,
            governance=replace(DEFAULT_GOVERNANCE, **change),
        )  # fmt: skip


def test_governance_changes_its_own_settings(t):
    current = t.gov.governor.settings()
    new = GovernanceSettings(
        voting_delay=1, voting_period=30, timelock_delay=10, grace_period=3_600,
        proposal_threshold=0, quorum_bps=1_000,
    )  # fmt: skip
    assert len(t.gov.actions.settings(current, new)) == 6
    enact(t, t.gov.actions.settings(current, new), "faster governance")
    assert t.gov.governor.settings() == new


def test_policy_changes_are_checked_against_the_policy_in_force(t):
    assert len(t.gov.actions.block_content(["a", "b", "a"])) == 2  # a repeat would revert
    enact(t, t.gov.actions.block_content(["a"]), "block a")
    with pytest.raises(InputError, match="already blocked: a"):
        t.gov.actions.block_content(["b", "a"])
    digest = "0x" + "cd" * 32
    enact(t, t.gov.actions.approve_model("m", digest), "approve m")
    with pytest.raises(InputError, match="already approved"):
        t.gov.actions.approve_model("m", digest.upper().replace("0X", "0x"))
    t.create_datanet("facts", "CC0")
    enact(t, t.gov.actions.block_datanet("facts"), "block facts")
    with pytest.raises(InputError, match="datanet facts is already blocked"):
        t.gov.actions.block_datanet("facts")
    assert len(t.gov.actions.unblock_datanet("facts")) == 1


def test_the_policy_snapshot_reads_every_list_at_one_block(t):
    enact(t, t.gov.actions.block_content(["a"]), "block a")
    snapshot = t.gov.policy.snapshot()
    assert (snapshot.version, snapshot.blocked_cids) == (1, frozenset({"a"}))
    assert (snapshot.training_weight_bps, snapshot.training_weight_since) == (10_000, 0)


def test_the_training_weight_changes_only_through_a_proposal(t):
    policy = t.gov.policy
    assert policy.training_weight_bps() == 10_000
    actions = t.gov.actions.training_weight(25_000)
    shown = describe(t.chain, t.config.deployment, actions[0])
    assert shown == "policy.set_training_weight(weight_bps=25000)", shown
    enact(t, actions, "adapters' training counts 2.5x")
    snapshot = policy.snapshot()
    changed_at = snapshot.training_weight_since
    assert changed_at > 0
    assert (snapshot.version, snapshot.training_weight_bps) == (1, 25_000)
    assert snapshot.previous_training_weight_bps == 10_000
    assert policy.training_weight_bps() == 25_000
    # a receipt signed before the change was under the old weight, one signed since the new
    assert snapshot.training_weight_at(changed_at - 1) == 10_000
    assert snapshot.training_weight_at(changed_at) == 25_000
    assert t.gov.parameters().policy.training_weight_bps == 25_000
    with pytest.raises(InputError, match="25000 bps is the one in force: give one that changes"):
        t.gov.actions.training_weight(25_000)
    assert t.gov.actions.training_weight(10_000)  # back to the default is a change


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (10_000, "10000 bps is the one in force: give one that changes"),
        (100_001, "between 0 and 100,000 bps .0 to 10x., not 100,001"),
        (-1, "between 0 and 100,000 bps .0 to 10x., not -1"),
        (2.5, "2.5 is not a whole number of basis points: give one such as 10000"),
        ("20000", "'20000' is not a whole number of basis points"),
        (True, "True is not a whole number of basis points"),
    ],
)
def test_a_bad_training_weight_is_refused_before_any_transaction(t, weight, message):
    nonce = t.chain.w3.eth.get_transaction_count(t.address())
    with pytest.raises(InputError, match=message):
        t.gov.actions.training_weight(weight)
    assert t.chain.w3.eth.get_transaction_count(t.address()) == nonce
    assert t.gov.policy.training_weight_bps() == 10_000
