"""A live node on loopback: tiny models, an in-process chain, a datanet of five facts."""

from __future__ import annotations

import pytest
from node_helpers import start_node


@pytest.fixture(scope="module")
def live(tmp_path_factory, wide_generator, tiny_embedder):
    node = start_node(tmp_path_factory.mktemp("node"), wide_generator, tiny_embedder)
    yield node
    node.stop()


@pytest.fixture
def openai_client(live):
    from openai import OpenAI

    return OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0)
