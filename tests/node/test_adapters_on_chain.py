"""A node reads its adapters from the deployment's model registry on chain: an adapter
published after the node started is served without a restart, and one built on another base
is not served at all."""

from __future__ import annotations

import httpx
import pytest
from adapter_helpers import save_random_adapter
from node_helpers import start_node

from tessera._chain.models import ModelRegistryClient, Snapshot
from tessera._models import TinyConfig, build_tiny_generator, load_generator
from tessera._models.digest import weights_digest
from tessera._models.publication import publish_model

BASE = "gemma-3-270m"
HASH = "0x" + "ab" * 32


def _publish(t, folder, model_id, base_digest):
    """`folder` in the home's store, and its version on chain, built by the default account."""
    manifest = publish_model(t.store, folder, model_id)
    registry = ModelRegistryClient(t.chain, t.config.deployment.models)
    snapshot = Snapshot((1,), (1,))  # the facts datanet's first batch
    return registry.publish(
        t.signer(), model_id, manifest.weights_digest, base_digest, manifest.cid, snapshot,
        HASH, 5, HASH, True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def node(tmp_path_factory, wide_generator, tiny_embedder):
    root = tmp_path_factory.mktemp("adapters-on-chain")
    own = load_generator(str(wide_generator.folder))  # its own copy: the bank wraps its layers
    live = start_node(root, own, tiny_embedder, adapters=("all",), catalog_refresh_s=0.0)
    live.root = root
    yield live
    live.stop()


def _listed(node):
    data = httpx.get(node.url + "/v1/models", timeout=30).json()["data"]
    return {m["id"]: m for m in data}


def test_an_adapter_published_on_chain_after_start_is_served(node, wide_generator):
    assert set(_listed(node)) == {BASE}
    base = wide_generator.folder
    folder = save_random_adapter(base, node.root / "late", 7)
    record = _publish(node.t, folder, "acme/late", weights_digest(base))
    listed = _listed(node)
    assert listed["acme/late"]["parent"] == BASE
    assert listed["acme/late"]["weights_digest"] == record.weights_digest
    body = {"model": "acme/late", "messages": [{"role": "user", "content": "Who?"}]}
    answer = httpx.post(node.url + "/v1/chat/completions", json=body, timeout=60).json()
    assert answer["receipt"]["model"] == "acme/late"
    assert answer["receipt"]["model_digest"] == record.weights_digest


def test_an_adapter_on_another_base_is_not_served(node):
    other = build_tiny_generator(node.root / "other-base", TinyConfig(seed=1))
    folder = save_random_adapter(other, node.root / "foreign", 8)
    _publish(node.t, folder, "acme/foreign", weights_digest(other))
    assert "acme/foreign" not in _listed(node)
    body = {"model": "acme/foreign", "messages": [{"role": "user", "content": "Who?"}]}
    response = httpx.post(node.url + "/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
