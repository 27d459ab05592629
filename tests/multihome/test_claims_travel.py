"""Money across homes: a client pays a node of another operator, and a contributor on a third
machine claims with a proof built from the epoch bundle it fetched from the network."""

from __future__ import annotations

from homes import Operator, deploying_home, joining_home, start_operator
from money_helpers import TSR

from tessera import NodeClient, Periods

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
        assert not contributors.store.local_blocks().has(bundle_cid)  # only the node has it

        contributors.chain.wait_until(serving.settlement.claimable_at(node, 0))
        claims = contributors.claim()
        assert contributors.store.local_blocks().has(bundle_cid)  # fetched, then verified
        paid = sum(c.amount for c in claims)
        assert paid > 0
        assert paid == contributors.settlement.claimed(node, contributors.address())
    finally:
        for operator in operators:
            operator.stop()
