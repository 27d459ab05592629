"""Money across homes: a client pays a node of another operator, and a contributor on a third
machine claims with a proof built from the epoch bundle it fetched from the network."""

from __future__ import annotations

import time

from homes import Operator, deploying_home, joining_home, start_operator
from money_helpers import TSR

from tessera import NodeClient, Periods


def _kept(operator: Operator) -> bool:
    assert operator.live is not None
    keeper = operator.live.node.follower.bundles
    return keeper is not None and bool(keeper.kept)


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


PERIODS = Periods(epoch_length=4, challenge_period=3, withdrawal_delay=8)


def test_a_contributor_claims_from_a_bundle_fetched_from_the_node_that_settled(
    anvil_url, tmp_path, wide_generator, tiny_embedder
):
    contributors = deploying_home(tmp_path / "a", anvil_url, periods=PERIODS)
    operators: list[Operator] = [start_operator(contributors, wide_generator, tiny_embedder)]
    try:
        serving = joining_home(tmp_path / "c", anvil_url, contributors)
        operators.append(
            start_operator(
                serving, wide_generator, tiny_embedder, payments=True, settle_check_s=None
            )
        )
        node = serving.address()
        client = joining_home(tmp_path / "b", anvil_url, contributors)
        client.deposit(10 * TSR, node)
        ask = NodeClient(operators[1].url, payer=client.payer())
        answer = ask.ask("Who founded the Ulora Brewery?")
        ask.close()
        assert answer.receipt is not None and answer.receipt.price > 0
        settled = serving.settle_epoch()
        assert settled is not None
        bundle_cid = serving.settlement.epoch(node, 0).bundle_cid
        # only the settling node held the bundle when it posted; the contributors' own node
        # keeps posted bundles too (replication.py), so whether it or the claim below fetches
        # it first is a race, and either way it came from the node that settled

        contributors.chain.wait_until(serving.settlement.claimable_at(node, 0))
        claims = contributors.claim()
        assert contributors.store.local_blocks().has(bundle_cid)  # fetched, then verified
        paid = sum(c.amount for c in claims)
        assert paid > 0
        assert paid == contributors.settlement.claimed(node, contributors.address())

        # the other node kept a copy of the bundle: with the settling node gone, an auditor
        # in a fourth home still fetches it, from that copy
        _wait_for(lambda: _kept(operators[0]))
        operators[1].stop()
        auditor = joining_home(tmp_path / "d", anvil_url, contributors)
        report = auditor.audit_epoch(0, node)
        assert report.ok, report.problems
        assert auditor.store.local_blocks().has(bundle_cid)
    finally:
        for operator in operators:
            operator.stop()
