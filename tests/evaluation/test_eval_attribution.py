"""`tessera eval attribution` on a small planted-fact corpus: the JSON contract and the metrics."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from eval_helpers import run_tessera_eval

from tessera._evaluation.metrics import answer_is_correct, answer_states_fact

DEMO = Path(__file__).resolve().parents[2] / "src" / "tessera" / "cli" / "demo_data"
KEYS = {
    "answer_accuracy",
    "retrieval_recall",
    "top1_attribution_accuracy",
    "support_recall",
    "attribution_overhead",
}


@pytest.mark.parametrize(
    ("expected", "answer", "ok"),
    [
        ("1737", "It was founded in 1737.", True),
        ("1737; cobalt", "1737, and its colour is Cobalt", True),
        ("1737; cobalt", "It was founded in 1737.", False),
        ("teal", "", False),
    ],
)
def test_answer_accuracy_needs_every_part(expected, answer, ok):
    assert answer_is_correct(expected, answer) is ok


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        ("The banner of the Lunqui Brewery is teal.", True),
        ("Teal. The Lunqui Brewery official colour: teal", True),  # sentences open capitalized
        ("For the Nelosk Lighthouse, the official colour: teal.", False),  # another's value
        ("The Lunqui Brewery and the Nelosk Lighthouse share a street; teal", False),
        ("The Lunqui Brewery is saffron.", False),
    ],
)
def test_a_closed_book_fact_is_the_value_said_of_what_was_asked(answer, ok):
    question = "What is the official colour of the Lunqui Brewery?"
    assert answer_states_fact("teal", answer, question) is ok
    assert answer_states_fact("Tanul Molunba", "It was set up by Tanul Molunba.", "Who?")


def run_eval(*args: str) -> subprocess.CompletedProcess:
    return run_tessera_eval("attribution", *args)


def test_eval_runs_the_whole_path_and_writes_the_documented_json(tmp_path, tiny_generator):
    out = tmp_path / "eval.json"
    done = run_eval(
        "--corpus", str(DEMO / "corpus.jsonl"), "--questions", str(DEMO / "questions.jsonl"),
        "--limit", "3", "--model", str(tiny_generator.folder), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert set(result) >= KEYS and result["questions"] == 3
    assert set(result["baselines"]) == {"retrieval", "contextcite"}
    for baseline in result["baselines"].values():
        assert set(baseline) >= KEYS
    assert result["baselines"]["retrieval"]["attribution_overhead"] == 1.0
    assert result["attribution_overhead"] > 0
    assert 0 <= result["retrieval_recall"] <= 1
    for row in result["per_question"]:
        assert len(row["retrieved"]) == 3 and all(row["retrieved"])  # every CID maps to a doc
        ours = row["weights"]["ours"]
        assert all(w >= 0 for w in ours) and sum(ours) in (pytest.approx(1, abs=1e-5), 0)
    assert "attribution benchmark" in done.stdout


def test_eval_refuses_a_corpus_without_the_fields(tmp_path):
    bad = tmp_path / "corpus.jsonl"
    bad.write_text('{"text": "no id"}\n')
    done = run_eval("--corpus", str(bad), "--questions", str(DEMO / "questions.jsonl"))
    assert done.returncode == 1 and "lacks doc_id, contributor" in done.stderr
