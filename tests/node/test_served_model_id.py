"""Which id a node serves a model folder under: local/FOLDER, unless the operator names it
(`tessera node start --model FOLDER --model-id ID`, e.g. a folder from `tessera model fetch`
served under the id governance approved)."""

from __future__ import annotations

import pytest
from node_helpers import build_test_node


@pytest.mark.parametrize(
    ("given", "expected"),
    [({}, None), ({"model_id": "gemma-3-270m", "model_id_given": True}, "gemma-3-270m")],
)
def test_a_folder_is_served_as_local_unless_its_id_is_given(
    tmp_path, wide_generator, tiny_embedder, given, expected
):
    folder = str(wide_generator.folder)
    _, node = build_test_node(tmp_path, wide_generator, tiny_embedder, model_path=folder, **given)
    try:
        served = node.service.config.model_id
        assert served == (expected or f"local/{wide_generator.folder.name}")
    finally:
        node.close()
