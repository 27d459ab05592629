"""The texts an adapter learned, in its folder: written as trained, read back hostile-safe."""

from __future__ import annotations

import json

import pytest

from tessera._errors import ModelError
from tessera._models import learned_texts
from tessera._models.learned_texts import TRAINING_TEXTS, read_training_texts, write_training_texts
from tessera._models.training_data import TrainingText, question_answer

TEXTS = [
    TrainingText("bafy-one", "The Lunqui Brewery was founded in 1634."),
    question_answer("bafy-one", "When was it founded?", "The Lunqui Brewery was founded in 1634."),
]


def test_what_is_written_reads_back_the_same(tmp_path):
    write_training_texts(tmp_path, TEXTS)
    assert read_training_texts(tmp_path) == TEXTS


def test_a_folder_without_the_file_has_no_texts(tmp_path):
    assert read_training_texts(tmp_path) is None


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("not json", "is not JSON"),
        (json.dumps({"cid": "c", "text": "t"}), "must have exactly"),
        (json.dumps({"cid": "c", "text": "t", "answer_from": 0, "x": 1}), "must have exactly"),
        (json.dumps({"cid": 7, "text": "t", "answer_from": 0}), "must be strings"),
        (json.dumps({"cid": "c", "text": "t", "answer_from": 5}), "a position in the text"),
        (json.dumps({"cid": "c", "text": "t", "answer_from": True}), "a position in the text"),
        (json.dumps([1, 2, 3]), "must have exactly"),
    ],
)
def test_a_file_not_as_the_trainer_writes_is_refused(tmp_path, line, says):
    (tmp_path / TRAINING_TEXTS).write_text(line + "\n")
    with pytest.raises(ModelError, match=says):
        read_training_texts(tmp_path)


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(learned_texts, "MAX_TEXTS_BYTES", 10)
    (tmp_path / TRAINING_TEXTS).write_text("x" * 11)
    with pytest.raises(ModelError, match="over 10 bytes"):
        read_training_texts(tmp_path)
