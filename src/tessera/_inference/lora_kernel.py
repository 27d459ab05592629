"""One call per layer for a decoding step's LoRA deltas: each row's x A^T B^T, added in place.

A decoding step on many adapters has one row per adapter, and in PyTorch each row costs two
matrix-vector calls per layer, whose dispatch (about 5 us each, with the views around them)
is most of their time: on the default model, 8 rows on 8 adapters added 20 ms to a 93 ms
step. This kernel loops over the rows in C, reading each row's own A and B in place (no
gather, nothing merged into the base), so a layer is one call.

It is compiled once per machine with the system's C compiler into the user's cache folder
(a file named by the hash of its source and flags; written to a temporary name and renamed,
so concurrent processes never load half a file). Where no compiler works, `rows_kernel()` is
None and the PyTorch path in `lora.py` runs instead: same arithmetic, slower.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import torch

log = logging.getLogger(__name__)

_SOURCE = r"""
#include <stdint.h>

/* out[rows[i]] += (A[slots[i]] x[rows[i]])^T Bt[slots[i]] for i < n, where A is (rank, in)
   and Bt (B transposed) is (rank, out) per slot, and the rows of x and out are dense. The A
   side keeps eight partial sums per dot product and the B side is an axpy per rank, so the
   compiler vectorizes both without reassociating floating point itself; the function is
   built for AVX2 and for the baseline (the loader picks what the CPU has), without fused
   multiply-adds, so every CPU computes the same bits. */
__attribute__((target_clones("avx2", "default")))
void lora_rows(int64_t n, const int64_t *rows, const int64_t *slots, const int64_t *ranks,
               const float *x, int64_t in, float *out, int64_t out_features,
               const float *a, int64_t a_slot, int64_t a_row,
               const float *bt, int64_t b_slot, int64_t b_row) {
    float low[256];
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x + rows[i] * in;
        float *restrict oi = out + rows[i] * out_features;
        const float *ai = a + slots[i] * a_slot;
        const float *bi = bt + slots[i] * b_slot;
        int64_t rank = ranks[i];
        for (int64_t k = 0; k < rank; k++) {
            const float *row = ai + k * a_row;
            float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t j = 0;
            for (; j + 8 <= in; j += 8)
                for (int t = 0; t < 8; t++) s[t] += row[j + t] * xi[j + t];
            float total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
            for (; j < in; j++) total += row[j] * xi[j];
            low[k] = total;
        }
        for (int64_t k = 0; k < rank; k++) {
            const float *restrict row = bi + k * b_row;
            float weight = low[k];
            for (int64_t o = 0; o < out_features; o++) oi[o] += weight * row[o];
        }
    }
}
"""
_FLAGS = ("-O3", "-shared", "-fPIC", "-fno-fast-math", "-ffp-contract=off")
MAX_RANK = 256  # the kernel's stack buffer; adapter.MAX_RANK is not above it


def _cache_folder() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "tessera" / "kernels"


def _compile(target: Path) -> None:
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        raise OSError("no C compiler (cc) on PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        source = Path(scratch) / "lora_rows.c"
        source.write_text(_SOURCE)
        built = Path(scratch) / "lora_rows.so"
        subprocess.run(
            [compiler, *_FLAGS, "-o", str(built), str(source)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        os.replace(built, target)  # atomic: another process sees the old file or the whole new


@cache
def rows_kernel() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """The compiled kernel, or None where it cannot be built here (the caller falls back)."""
    if os.environ.get("TESSERA_LORA_KERNEL", "1") == "0":
        return None
    tag = hashlib.sha256((_SOURCE + " ".join(_FLAGS) + platform.machine()).encode()).hexdigest()
    target = _cache_folder() / f"lora_rows-{tag[:16]}.so"
    try:
        if not target.exists():
            _compile(target)
        function = ctypes.CDLL(str(target)).lora_rows
    except (OSError, subprocess.SubprocessError) as error:
        log.warning(
            "LoRA rows kernel unavailable (%s): decoding uses the slower PyTorch path", error
        )
        return None
    i64, pointer = ctypes.c_int64, ctypes.c_void_p
    function.argtypes = [i64, pointer, pointer, pointer, pointer, i64, pointer, i64]
    function.argtypes += [pointer, i64, i64, pointer, i64, i64]
    function.restype = None
    return function


def add_rows(
    kernel: ctypes._CFuncPtr,  # type: ignore[name-defined]
    out: torch.Tensor,
    x: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    index: torch.Tensor,
) -> None:
    """out[row] += b[slot, :, :rank] (a[slot, :rank] x[row]) for each column (row, slot, rank)
    of `index` (a dense int64 (3, n) tensor). out and x: dense (rows, features); a: (slots,
    rank, in) and b: (slots, out, rank), each slot's rows dense; float32 on the CPU."""
    if out.dtype != torch.float32 or x.dtype != torch.float32 or not x.is_contiguous():
        raise ValueError("the LoRA rows kernel takes dense float32 rows")
    if a.stride(2) != 1 or b.stride(2) != 1 or not out.is_contiguous():
        raise ValueError("the LoRA rows kernel takes A and B with dense rows")
    if index.dtype != torch.int64 or not index.is_contiguous():
        raise ValueError("the LoRA rows kernel takes a dense int64 index")
    rows, slots, ranks = index
    kernel(
        index.shape[1],
        rows.data_ptr(),
        slots.data_ptr(),
        ranks.data_ptr(),
        x.data_ptr(),
        x.shape[1],
        out.data_ptr(),
        out.shape[1],
        a.data_ptr(),
        a.stride(0),
        a.stride(1),
        b.data_ptr(),
        b.stride(0),
        b.stride(1),
    )
