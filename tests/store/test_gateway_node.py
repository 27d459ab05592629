"""A real node serves its store over /ipfs: another machine's store fetches from it by CID."""

import os

import httpx
from node_helpers import start_node

from tessera._store.fetching import FetchingBlobStore
from tessera._store.layout import CHUNK_SIZE
from tessera._store.local import LocalBlobStore
from tessera._store.peers import PeerFetcher


def test_a_store_elsewhere_fetches_a_nodes_blobs_through_its_gateway(
    tmp_path, wide_generator, tiny_embedder
):
    live = start_node(tmp_path / "node", wide_generator, tiny_embedder)
    try:
        big = os.urandom(2 * CHUNK_SIZE + 1)
        store = live.service.store
        small_cid, big_cid = store.put(b"held by the node"), store.put(big)
        fetcher = PeerFetcher(lambda: [live.url])
        elsewhere = FetchingBlobStore(LocalBlobStore(tmp_path / "elsewhere"), fetcher)
        assert elsewhere.get(small_cid) == b"held by the node"
        assert elsewhere.get(big_cid) == big and elsewhere.fetched == 1 + 4
        # the gateway speaks IPFS, not OpenAI: it stays out of the node's OpenAPI schema
        paths = httpx.get(live.url + "/openapi.json").json()["paths"]
        assert "/health" in paths and not any(p.startswith("/ipfs") for p in paths)
        fetcher.close()
    finally:
        live.stop()
