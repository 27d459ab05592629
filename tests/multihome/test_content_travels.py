"""Three homes on one chain, then a fourth: content contributed through one is served by all.

The first home deploys and contributes; the second and third join from its registry's address
and never ingest anything: their nodes follow the registry, fetch manifests and contributions
from the registered nodes by CID, verify them, index them and answer. Stopping the first
changes nothing; a fourth home joining later fetches from the second.
"""

from __future__ import annotations

import pytest
from homes import FACTS, Operator, deploying_home, joining_home, start_operator

from tessera import NodeClient, StoreError
from tessera._store.cid import cid_for

QUESTION = "Who founded the Ulora Brewery?"
FOUNDER_CID = cid_for(FACTS[0].encode())


@pytest.fixture(scope="module")
def network(anvil_url, tmp_path_factory, wide_generator, tiny_embedder):
    root = tmp_path_factory.mktemp("network")
    first = deploying_home(root / "a", anvil_url)
    operators = {"a": start_operator(first, wide_generator, tiny_embedder)}
    for name in ("b", "c"):
        joined = joining_home(root / name, anvil_url, first)
        operators[name] = start_operator(joined, wide_generator, tiny_embedder)
    yield operators, root
    for operator in operators.values():
        operator.stop()


def _sources(operator: Operator) -> list[str]:
    client = NodeClient(operator.url)
    try:
        return [s["cid"] for s in client.ask(QUESTION).sources]
    finally:
        client.close()


def test_joined_homes_never_ingested_but_hold_every_contribution(network):
    operators, _ = network
    every = [cid_for(fact.encode()) for fact in FACTS]
    for name in ("b", "c"):
        store = operators[name].t.store
        assert all(store.local_blocks().has(cid) for cid in every), name
        assert store.fetched >= len(FACTS), f"{name} fetched {store.fetched} blocks"
        assert operators[name].t.config.joined


def test_joined_nodes_answer_from_content_they_fetched(network):
    operators, _ = network
    assert FOUNDER_CID in _sources(operators["a"])
    for name in ("b", "c"):
        assert FOUNDER_CID in _sources(operators[name]), name


def test_stopping_the_first_home_changes_nothing(network, wide_generator, tiny_embedder):
    operators, _root = network
    before = {name: _sources(operators[name]) for name in ("b", "c")}
    operators["a"].stop()
    after = {name: _sources(operators[name]) for name in ("b", "c")}
    assert after == before


def test_a_fourth_home_joining_later_fetches_from_the_second(
    network, anvil_url, wide_generator, tiny_embedder
):
    operators, root = network
    operators["a"].stop()  # down, still registered: skipped
    operators["c"].stop()  # down too, so only the second can have served the fourth
    late = joining_home(root / "d", anvil_url, operators["a"].t)  # a's home holds the treasury
    fourth = start_operator(late, wide_generator, tiny_embedder)
    try:
        assert FOUNDER_CID in _sources(fourth)
        assert late.store.local_blocks().has(FOUNDER_CID)
        assert late.store.fetched >= len(FACTS)
    finally:
        fourth.stop()


def test_a_cid_no_peer_has_names_the_cid_and_every_peer_tried(network):
    operators, _ = network
    unknown = cid_for(b"nobody ever stored this")
    with pytest.raises(StoreError) as caught:
        operators["b"].t.store.get(unknown)
    message = str(caught.value)
    assert unknown in message
    for name in ("a", "c"):  # the registered endpoints b tried (both down by now)
        assert operators[name].t.config.deployment.registry
    assert message.count("127.0.0.1") >= 2
    assert not operators["b"].t.store.local_blocks().has(unknown)
