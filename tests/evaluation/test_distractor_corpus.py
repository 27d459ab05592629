"""bench/distractors.py: the corpora where lexical overlap misleads are what they claim."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from distractors import entity_and_attribute, other_names  # noqa: E402


def test_a_question_splits_into_the_entity_and_what_is_asked_of_it():
    assert entity_and_attribute("What is the official colour of the Lunqui Brewery?") == (
        "Lunqui Brewery",
        "official colour",
    )
    asked_twice = "In what year was the Pleno Orchestra founded, and what is the colour of it?"
    assert entity_and_attribute(asked_twice)[0] == "Pleno Orchestra"


def test_other_entities_are_named_nowhere_in_the_corpus():
    names = other_names(40, "The Quarnel Gallery opened. Tibosk is a town.")
    assert len(set(names)) == 40
    assert not any(n.split()[0].lower() in ("quarnel", "tibosk") for n in names)


@pytest.mark.parametrize("kind", ["words", "bound-elsewhere"])
def test_each_question_gets_a_distractor_of_its_own(tmp_path, kind):
    corpus, questions = tmp_path / "c.jsonl", tmp_path / "q.jsonl"
    corpus.write_text(
        json.dumps({"doc_id": "d1", "contributor": "0x" + "1" * 40,
                    "text": "The banner of the Lunqui Brewery is teal."}) + "\n"
    )  # fmt: skip
    questions.write_text(
        json.dumps({"qid": "q1", "question": "What is the official colour of the Lunqui Brewery?",
                    "answer": "teal", "support": ["d1"]}) + "\n"
    )  # fmt: skip
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "distractors.py"), "--corpus", str(corpus),
         "--questions", str(questions), "--out-dir", str(out), "--kind", kind],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    docs = [json.loads(line) for line in (out / "corpus.jsonl").read_text().splitlines()]
    assert [d["doc_id"] for d in docs] == ["d1", "distractor-q1"]
    trap = docs[1]["text"]
    assert docs[1]["contributor"] != docs[0]["contributor"]
    assert "Lunqui Brewery" in trap and "official colour" in trap
    # only the bound-elsewhere kind holds the value, and binds it to another entity
    assert ("teal" in trap) == (kind == "bound-elsewhere")
    if kind == "bound-elsewhere":
        other = other_names(1, docs[0]["text"])[0]
        assert other in trap and trap.index(other) < trap.index("teal")
