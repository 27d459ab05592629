"""The reads that pages make over every epoch, from logs read once and a call per page of
epochs: the same answers as a call per epoch, and right again after the chain moves back."""

from __future__ import annotations

import json

import pytest
from epoch_helpers import post_epochs
from gov_helpers import enact

from tessera import Tessera, TesseraError
from tessera._chain.logs import LogIndex
from tessera._chain.settlement import Periods
from tessera._errors import StoreError
from tessera._payments.bundle import load_bundle
from tessera._store.local import LocalBlobStore

EPOCHS = 4


@pytest.fixture
def home(tmp_path):
    t = Tessera.init(tmp_path / "home", chain="inprocess", password="pw", scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0")
    source = tmp_path / "facts.jsonl"
    source.write_text("".join(json.dumps({"text": f"Fact {i} is {i * 7}."}) + "\n"
                              for i in range(12)))  # fmt: skip
    for name in ("carol", "node", "client"):
        t.new_account(name)
    t.contribute("facts", [source], account="carol")
    t.transfer(10**21, "client")
    t.deposit(10**20, t.address("node"), "client")
    yield t
    t.close()


def test_epoch_summaries_match_the_contract_epoch_by_epoch(home):
    t = home
    post_epochs(t, EPOCHS)
    node = t.address("node")
    # a longer challenge period extends every open window: the batched read must agree
    current = t.settlement.periods()
    longer = Periods(current.epoch_length, current.challenge_period * 3, current.withdrawal_delay)
    enact(t, t.gov.actions.periods(longer), "longer challenge windows")
    summaries = t.settlement.epoch_summaries(node, range(EPOCHS - 1, -1, -1))
    assert [s.epoch for s in summaries] == list(range(EPOCHS - 1, -1, -1))
    for s in summaries:
        posted = t.settlement.epoch(node, s.epoch)
        assert (s.total, s.redeemed, s.receipt_count, s.posted_at) == (
            posted.total, posted.redeemed, posted.receipt_count, posted.posted_at,
        )  # fmt: skip
        assert s.claimable_at == t.settlement.claimable_at(node, s.epoch)
        assert not s.voided and not t.settlement.is_voided(node, s.epoch)
    assert t.settlement.claimable_times(node) == [
        t.settlement.claimable_at(node, n) for n in range(EPOCHS)
    ]
    with pytest.raises(TesseraError, match="has not posted epoch"):
        t.settlement.epoch_summaries(node, [EPOCHS])


def test_earnings_and_uses_add_up_to_the_bundles_credits(home):
    t = home
    bundles = post_epochs(t, EPOCHS)
    carol = t.address("carol")
    credits = [c for b in bundles for c in b.credits() if c.recipient == carol]
    assert credits, "the random answers credited none of carol's contributions"
    earned = t.earnings("carol")
    assert earned.total() == sum(c.amount for c in credits)
    assert {e.epoch for e in earned.epochs} == {b.epoch for b in bundles if any(
        c.recipient == carol for c in b.credits())}  # fmt: skip
    cid = credits[0].cid
    usage = t.contribution_usage(cid)
    assert usage.earned("context") == sum(c.amount for c in credits if c.cid == cid) > 0
    answers = {(b.epoch, r.id) for b in bundles for r in b.receipts
               if any(s.cid == cid for s in r.attribution)}  # fmt: skip
    assert {(u.epoch, u.receipt) for u in usage.uses} == answers
    assert all(u.kind == "context" and u.weight_ppm > 0 for u in usage.uses)
    assert usage.models == []  # no model was trained here


def test_logs_are_read_again_when_the_chain_moves_back(home):
    t = home
    tester = t.chain.w3.provider.ethereum_tester
    post_epochs(t, 1)
    node = t.address("node")
    assert len(t.settlement.posted_logs(node)) == 1
    snapshot = tester.take_snapshot()
    post_epochs(t, 2)
    assert [int(log.args.epoch) for log in t.settlement.posted_logs(node)] == [0, 1, 2]
    tester.revert_to_snapshot(snapshot)  # the two later epochs were never posted
    assert [int(log.args.epoch) for log in t.settlement.posted_logs(node)] == [0]
    tester.mine_blocks(5)  # the chain grows past where it was: new blocks, new hashes
    assert [int(log.args.epoch) for log in t.settlement.posted_logs(node)] == [0]
    post_epochs(t, 1)
    assert [int(log.args.epoch) for log in t.settlement.posted_logs(node)] == [0, 1]
    assert t.settlement.nodes_with_epochs() == [node]


def test_a_contributors_contributions_come_a_page_at_a_time(home):
    t = home
    total, page = t.contributions_by("carol", 0, 5)
    everything = t.datanet("facts").contributions
    assert total == len(everything) == 12
    assert [c.cid for c in page] == [c.cid for c in everything[::-1][:5]]
    _, last = t.contributions_by(t.address("carol").lower(), 10, 5)
    assert [c.cid for c in last] == [c.cid for c in everything[::-1][10:]]
    assert t.contributions_by("client", 0, 5) == (0, [])


def test_a_contract_watched_late_after_a_revert_is_read_whole(home):
    t = home
    tester = t.chain.w3.provider.ethereum_tester
    post_epochs(t, 2)
    index = t.chain.log_index
    snapshot = tester.take_snapshot()
    post_epochs(t, 1)
    index.catch_up()  # read through the epoch that is about to be undone
    tester.revert_to_snapshot(snapshot)
    fresh = LogIndex(t.chain)  # as a second home on this chain would
    fresh.watch([t.settlement.address], t.config.deployment.block)
    assert len(fresh.read(t.settlement.contract.events.EpochPosted)) == 2
    assert len(index.read(t.settlement.contract.events.EpochPosted)) == 2
    with pytest.raises(ValueError, match="no argument"):
        index.read(t.settlement.contract.events.EpochPosted, nobody="x")


def test_a_bundle_one_store_parsed_is_not_served_by_a_store_without_it(home, tmp_path):
    t = home
    (bundle,) = post_epochs(t, 1)
    cid = t.settlement.epoch(t.address("node"), 0).bundle_cid
    assert load_bundle(t.store, cid).root == bundle.root
    with pytest.raises(StoreError):
        load_bundle(LocalBlobStore(tmp_path / "empty"), cid)  # a store that never held it


def test_where_a_contribution_was_used_follows_new_epochs_and_reverts(home):
    t = home
    tester = t.chain.w3.provider.ethereum_tester
    cid = t.datanet("facts").contributions[0].cid

    def answers(bundles):
        return {(b.epoch, r.id) for b in bundles for r in b.receipts
                if any(s.cid == cid for s in r.attribution)}  # fmt: skip

    first = post_epochs(t, 3, per_answer=6)
    assert {(u.epoch, u.receipt) for u in t.contribution_usage(cid).uses} == answers(first)
    snapshot = tester.take_snapshot()
    later = post_epochs(t, 3, per_answer=6, seed=1)  # read on the next view, not before
    seen = {(u.epoch, u.receipt) for u in t.contribution_usage(cid).uses}
    assert seen == answers(first + later) and answers(later)
    tester.revert_to_snapshot(snapshot)
    tester.mine_blocks(3)
    assert {(u.epoch, u.receipt) for u in t.contribution_usage(cid).uses} == answers(first)
