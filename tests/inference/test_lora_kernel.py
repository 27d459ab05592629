"""The C kernel for a decoding step's single LoRA rows: PyTorch's sums, each row on its own."""

from __future__ import annotations

import logging

import pytest
import torch

from tessera._inference import lora_kernel
from tessera._inference.lora import AdapterBank, LoraPlan, active, reset
from tessera._inference.lora_kernel import add_rows, rows_kernel
from tessera._models import TinyConfig, build_tiny_generator, load_generator
from tessera._models.adapter import LoraAdapter


def _weights(seed: int, slots: int, rank: int, width: int, out: int):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(slots, rank, width, generator=generator)
    bt = torch.randn(slots, rank, out, generator=generator)
    return a, bt


def _reference(out, x, a, bt, index):
    expected = out.clone()
    for row, slot, rank in index.T.tolist():
        expected[row] += (a[slot, :rank] @ x[row]) @ bt[slot, :rank]
    return expected


@pytest.fixture(scope="module")
def kernel():
    found = rows_kernel()
    assert found is not None, "the C compiler (cc) should build the LoRA rows kernel here"
    return found


def test_each_row_gets_its_own_slots_delta_at_its_own_rank(kernel):
    width, out = 37, 53  # not multiples of 8: the kernel's tails run
    a, bt = _weights(1, slots=5, rank=6, width=width, out=out)
    x = torch.randn(7, width)
    before = torch.randn(7, out)
    index = torch.tensor([[5, 0, 3, 6], [4, 1, 1, 0], [6, 2, 3, 1]])  # rows 1, 2, 4 untouched
    got = before.clone()
    add_rows(kernel, got, x, a, bt, index)
    assert torch.allclose(got, _reference(before, x, a, bt, index), rtol=1e-5, atol=1e-4)
    for untouched in (1, 2, 4):
        assert torch.equal(got[untouched], before[untouched])


def test_a_rows_result_is_the_same_bits_alone_or_with_others(kernel):
    a, bt = _weights(2, slots=4, rank=8, width=64, out=96)
    x, before = torch.randn(4, 64), torch.randn(4, 96)
    together = before.clone()
    add_rows(kernel, together, x, a, bt, torch.tensor([[0, 1, 2, 3], [3, 0, 2, 1], [8, 8, 8, 8]]))
    alone = before.clone()
    add_rows(kernel, alone, x, a, bt, torch.tensor([[2], [2], [8]]))
    assert torch.equal(together[2], alone[2])


def test_member_views_of_a_stacked_a_are_read_at_their_strides(kernel):
    stacked = torch.randn(3, 2 * 4, 16)  # two members' A per slot, as SharedInput keeps them
    second = stacked[:, 4:8]
    bt = torch.randn(3, 4, 10)
    x, before = torch.randn(2, 16), torch.zeros(2, 10)
    index = torch.tensor([[0, 1], [2, 0], [4, 3]])
    got = before.clone()
    add_rows(kernel, got, x, second, bt, index)
    assert torch.allclose(got, _reference(before, x, second, bt, index), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "change",
    [
        lambda out, x, index: (out, x.T.contiguous().T, index),  # x not dense
        lambda out, x, index: (out, x.double(), index),
        lambda out, x, index: (out, x, index.int()),
        lambda out, x, index: (out, x, index.T.contiguous().T),
    ],
)
def test_bad_operands_are_refused_before_the_kernel_reads_them(kernel, change):
    a, bt = _weights(3, slots=2, rank=2, width=8, out=8)
    out, x, index = change(
        torch.zeros(2, 8), torch.randn(2, 8), torch.tensor([[0, 1], [1, 0], [2, 2]])
    )
    with pytest.raises(ValueError, match="LoRA rows kernel"):
        add_rows(kernel, out, x, a, bt, index)


def test_no_compiler_means_no_kernel_and_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CC", "/bin/false")
    rows_kernel.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=lora_kernel.__name__):
            assert rows_kernel() is None
        assert "PyTorch path" in caplog.text
        assert not list(tmp_path.rglob("*.so"))  # nothing half-built left to load later
    finally:
        rows_kernel.cache_clear()


def test_a_bank_decodes_the_same_rows_with_and_without_the_kernel(tmp_path, kernel):
    generator = load_generator(str(build_tiny_generator(tmp_path / "base", TinyConfig())))
    bank = AdapterBank(generator.model, capacity=2, rank=4)
    pairs = {
        path: (torch.randn(4, m.in_features) * 0.1, torch.randn(m.out_features, 4) * 0.1)
        for path, m in bank.layers.items()
    }
    slot = bank.acquire("d", lambda: LoraAdapter("d", 4, 2.0, pairs, "tiny"))
    ids = torch.tensor([[5], [9]])  # two single rows: one adapted, one base
    plan = LoraPlan.of([(1, slot), (1, None)], bank.ranks)
    assert plan is not None and not plan.dense

    def logits():
        token = active(plan)
        try:
            with torch.no_grad():
                return generator.model(input_ids=ids, use_cache=False).logits
        finally:
            reset(token)

    with_kernel = logits()
    bank.kernel = None
    without = logits()
    token = active(None)
    try:
        with torch.no_grad():
            base = generator.model(input_ids=ids, use_cache=False).logits
    finally:
        reset(token)
    assert torch.allclose(with_kernel, without, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(with_kernel[0], base[0], atol=1e-3)  # the adapter changed row 0
    assert torch.allclose(with_kernel[1], base[1], rtol=1e-5, atol=1e-5)  # and not row 1
