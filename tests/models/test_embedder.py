"""The embedder on a tiny random BERT (fast), and once on the real all-MiniLM-L6-v2 (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tessera._errors import ModelError
from tessera._models import Embedder, EmbedderConfig, default_embedder_dir, load_embedder

TEXTS = [
    "Ulora Brewery was established by Radul Thothosa.",
    "short",
    "The Juora Brewery has 2135 registered members and uses violet as its official colour.",
]


def test_embeddings_are_unit_float32_rows(tiny_embedder: Embedder) -> None:
    vectors = tiny_embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), tiny_embedder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batching_and_padding_do_not_change_a_vector(tiny_embedder: Embedder) -> None:
    small_batches = load_embedder(str(tiny_embedder.folder), EmbedderConfig(batch_size=2))
    alone = np.stack([tiny_embedder.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(tiny_embedder.embed(TEXTS), alone, atol=1e-5)
    np.testing.assert_allclose(small_batches.embed(TEXTS), alone, atol=1e-5)


def test_no_texts_give_an_empty_matrix(tiny_embedder: Embedder) -> None:
    assert tiny_embedder.embed([]).shape == (0, tiny_embedder.dim)


def test_long_texts_are_truncated(tiny_embedder: Embedder) -> None:
    assert tiny_embedder.max_tokens == 256
    assert np.all(np.isfinite(tiny_embedder.embed(["word " * 2000])))


def test_loading_errors_say_what_was_wrong(tmp_path: Path, tiny_embedder: Embedder) -> None:
    with pytest.raises(ModelError, match="no embedding model folder"):
        load_embedder(str(tmp_path / "missing"))
    cls_pooled = tmp_path / "cls"
    shutil.copytree(tiny_embedder.folder, cls_pooled)
    (cls_pooled / "1_Pooling").mkdir()
    (cls_pooled / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    with pytest.raises(ModelError, match="pooling"):
        load_embedder(str(cls_pooled))


@pytest.mark.slow
def test_real_minilm_matches_sentence_transformers_and_retrieves() -> None:
    from sentence_transformers import SentenceTransformer

    embedder = load_embedder()
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    reference = SentenceTransformer(str(default_embedder_dir()), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    question = embedder.embed(["Who founded the Ulora Brewery?"])[0]
    assert int(np.argmax(vectors @ question)) == 0
