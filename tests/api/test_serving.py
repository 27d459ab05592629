"""`tessera.build_node` and `tessera.serving`: a node from the facade's parts, on loopback."""

from __future__ import annotations

import socket

import httpx
import pytest
from backends import free_port

import tessera


def _home(tmp_path):
    t = tessera.Tessera.init(tmp_path / "home", chain="inprocess", password="pw", scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0")
    source = tmp_path / "facts.jsonl"
    source.write_text('{"text": "The Pleno Orchestra uses cobalt as its official colour."}\n')
    t.contribute("facts", [source])
    return t


def test_serving_answers_while_the_block_runs_and_closes_the_node(
    tmp_path, wide_generator, tiny_embedder
):
    t = _home(tmp_path)
    config = tessera.NodeConfig(datanets=("facts",), port=free_port(), payments=False)
    node = tessera.build_node(t.node_parts(), config, wide_generator, tiny_embedder)
    with tessera.serving(node) as url:
        assert url == f"http://127.0.0.1:{config.port}"
        client = tessera.NodeClient(url)
        answer = client.ask("What colour is the Pleno Orchestra?")
        client.close()
        assert answer.receipt is not None and answer.receipt.node == t.address()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=2)
    # closed: the same account can serve again on this home
    again = tessera.build_node(t.node_parts(), config, wide_generator, tiny_embedder)
    again.close()


def test_serving_on_a_port_in_use_says_so_and_closes_the_node(
    tmp_path, wide_generator, tiny_embedder
):
    t = _home(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tessera.NodeConfig(datanets=("facts",), port=port, payments=False)
        node = tessera.build_node(t.node_parts(), config, wide_generator, tiny_embedder)
        with (
            pytest.raises(
                tessera.NodeError, match=f"could not serve on 127.0.0.1:{port} .*free port"
            ),
            tessera.serving(node),
        ):
            pass
    tessera.build_node(t.node_parts(), config, wide_generator, tiny_embedder).close()
