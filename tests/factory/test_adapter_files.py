"""A published adapter's manifest is checked before a single file of it is fetched."""

from __future__ import annotations

import pytest

from tessera import ModelError
from tessera._models.adapter import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    MAX_WEIGHTS_BYTES,
    check_adapter_files,
)


def test_an_adapter_manifest_within_bounds_passes():
    check_adapter_files([(ADAPTER_CONFIG, 900), (ADAPTER_WEIGHTS, 7 << 20), ("README.md", 2000)])


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ([(ADAPTER_WEIGHTS, 10)], "not a PEFT adapter"),
        ([(ADAPTER_CONFIG, 10), (ADAPTER_WEIGHTS, MAX_WEIGHTS_BYTES + 1)], "over the"),
        ([(ADAPTER_CONFIG, 10), (ADAPTER_WEIGHTS, 10), ("model.gguf", 8 << 30)], "over the"),
        ([(ADAPTER_CONFIG, 10), (ADAPTER_WEIGHTS, 10)] + [(f"x{i}", 1) for i in range(7)],
         "at most 8"),
    ],
)  # fmt: skip
def test_a_manifest_no_adapter_could_have_is_refused(files, said):
    with pytest.raises(ModelError, match=said):
        check_adapter_files(files)
