"""`tessera eval training-attribution`: the whole path on a tiny model, the JSON contract,
each method's scores, and the refusals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from eval_helpers import run_tessera_eval

from tessera._errors import InputError
from tessera._evaluation.training_attribution_eval import (
    Asked,
    _Bench,
    _disjoint_groups,
    _Trial,
    entities,
    ranked_docs,
    report,
)

DEMO = Path(__file__).resolve().parents[2] / "src" / "tessera" / "cli" / "demo_data"
KEYS = {"top1_attribution_accuracy", "recall_at_3"}
TOP = {"answer_accuracy", "attribution_overhead", "baselines", *KEYS}


def run_eval(*args: str) -> subprocess.CompletedProcess:
    return run_tessera_eval("training-attribution", *args)


def test_the_whole_path_writes_the_documented_json(tmp_path, tiny_generator):
    out = tmp_path / "eval.json"
    done = run_eval(
        "--corpus", str(DEMO / "corpus.jsonl"), "--questions", str(DEMO / "questions.jsonl"),
        "--limit", "2", "--epochs", "2", "--rank", "4", "--model", str(tiny_generator.folder),
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert set(result) >= TOP
    assert set(result["answer_accuracy"]) == {"base", "adapter"}
    assert set(result["baselines"]) == {"bm25", "gradient_cosine", "representation"}
    for body in result["baselines"].values():
        assert set(body) == KEYS
    assert 0 < result["questions"] == len(result["per_question"])
    assert "training: step" in done.stderr and "trained on" in done.stderr
    assert "training attribution" in done.stdout


def test_each_method_scores_every_contribution(tmp_path, tiny_generator):
    """On a tiny adapter nothing is learned, so the benchmark attributes no answer; the
    methods themselves are run here on one answer, as they are on a learned one."""
    from tessera._models.training import TrainSettings, train_adapter
    from tessera._models.training_data import TrainingDocument

    docs = [
        TrainingDocument("cid-a", "The Brisk Observatory was founded in 1511."),
        TrainingDocument("cid-b", "The Quorind Guild is known for jade bells."),
    ]
    folder = tmp_path / "adapter"
    settings = TrainSettings(rank=4, alpha=8, epochs=1, augmentation="sentences", bf16=False)
    train_adapter(tiny_generator.folder, docs, settings, folder)
    bench = _Bench.load(folder, str(tiny_generator.folder), {"cid-a": "a", "cid-b": "b"})
    try:
        question = {"qid": "q", "question": "When was it founded?", "answer": "1511",
                    "support": ["a"]}  # fmt: skip
        asked = bench.ask(question)
        bench.attribute(asked)
        again = bench.ask(question, attributed=False)
    finally:
        bench.close()
    assert asked.answer_ids, "the tiny adapter said nothing: the methods had nothing to score"
    assert set(asked.scores) == {"ours", "bm25", "gradient_cosine", "representation"}
    for scores in asked.scores.values():
        assert len(scores) == 2
    assert all(s >= 0 for s in asked.scores["ours"])
    assert set(asked.seconds) == {"answer", "attributed"}
    assert again.answer_ids == asked.answer_ids and "ours" not in again.scores


def test_the_figures_count_only_what_the_adapter_learned():
    def asked(qid, base, answer, support, ours):
        a = Asked(qid, "q", "1634", support, base, answer, [1])
        a.scores = {m: ours for m in ("ours", "bm25", "gradient_cosine", "representation")}
        a.seconds = {"answer": 1.0, "attributed": 1.5}
        return a

    rows = [
        asked("learned-right", "no", "1634", ["a"], [0.9, 0.1]),
        asked("learned-wrong", "no", "1634", ["a"], [0.1, 0.9]),
        asked("base-knew", "1634", "1634", ["a"], [0.0, 1.0]),  # not learned: not scored
        asked("missed", "no", "no", ["a"], [0.0, 1.0]),
        # the value, said of another entity (a distractor's sentence recited): not the fact
        asked("recited", "no", "Beside it is the Quarnel Gallery, founded 1634", ["a"], [1, 0]),
    ]
    result = report(rows, ["a", "b"])
    assert result["learned"] == 2
    assert result["answer_accuracy"] == {"base": 0.2, "adapter": 0.6}
    assert result["top1_attribution_accuracy"] == 0.5
    assert result["recall_at_3"] == 1.0
    assert result["attribution_overhead"] == pytest.approx(1.5)


def test_ranked_docs_leave_out_what_scored_nothing():
    assert ranked_docs([0.0, 2.0, 1.0], ["a", "b", "c"]) == ["b", "c"]
    assert ranked_docs(None, ["a"]) == []


def test_entities_are_the_documents_questions_tie_together():
    corpus = [{"doc_id": d} for d in ("a", "b", "c", "d")]
    questions = [
        {"qid": 1, "support": ["a"]},
        {"qid": 2, "support": ["c", "a"]},
        {"qid": 3, "support": ["b"]},
    ]
    assert entities(corpus, questions) == [["a", "c"], ["b"]]


def test_a_question_naming_a_document_not_in_the_corpus_is_refused(tmp_path):
    bad = tmp_path / "questions.jsonl"
    bad.write_text('{"qid": "q", "question": "?", "answer": "x", "support": ["nowhere"]}\n')
    done = run_eval("--corpus", str(DEMO / "corpus.jsonl"), "--questions", str(bad))
    assert done.returncode == 1 and "not in the corpus: ['nowhere']" in done.stderr


def test_a_limit_of_zero_is_refused_before_anything_runs():
    done = run_eval(
        "--corpus", str(DEMO / "corpus.jsonl"), "--questions", str(DEMO / "questions.jsonl"),
        "--limit", "0",
    )  # fmt: skip
    assert done.returncode == 2 and "--limit" in done.stderr


def _trial(qid, top, *touched):
    return _Trial(Asked(qid, "q", "x", [], "", "x", [1]), top, {top, *touched})


def test_retrains_are_shared_only_by_questions_that_touch_different_contributions():
    trials = [_trial("1", "a"), _trial("2", "b"), _trial("3", "a", "c"), _trial("4", "d", "b")]
    groups = _disjoint_groups(trials, size=3)
    assert [[t.asked.qid for t in g] for g in groups] == [["1", "2"], ["3", "4"]]
    assert [len(g) for g in _disjoint_groups(trials, size=1)] == [1, 1, 1, 1]


def _hall_bench(tmp_path, tiny_generator, count):
    """A tiny adapter trained one epoch on `count` halls, and its bench."""
    from tessera._models.training import TrainSettings, train_adapter
    from tessera._models.training_data import TrainingDocument

    docs = [TrainingDocument(f"cid-{n}", f"The Brisk Hall number {n} was built in 15{n}1.")
            for n in range(count)]  # fmt: skip
    settings = TrainSettings(rank=4, alpha=8, epochs=1, augmentation="sentences", bf16=False)
    train_adapter(tiny_generator.folder, docs, settings, tmp_path / "adapter")
    bench = _Bench.load(tmp_path / "adapter", str(tiny_generator.folder),
                        {f"cid-{n}": f"d{n}" for n in range(count)})  # fmt: skip
    return bench, settings


def _planted(bench, n):
    """Question n asked, then planted as learned with its own hall on top: the tiny model
    learns nothing, the retrains are what is tested."""
    a = bench.ask({"qid": f"q{n}", "question": f"When was hall {n} built?",
                   "answer": "x", "support": [f"d{n}"]})  # fmt: skip
    a.expected, a.answer, a.base_answer = "15x1", "15x1", "no"
    a.scores["ours"] = [1.0 if c == f"cid-{n}" else 0.0 for c in bench.contributions]
    return a


def test_brittleness_retrains_without_the_top_and_without_a_control(tmp_path, tiny_generator):
    """Two questions about different documents share each retrain: one retrain without both
    tops, one without two contributions neither question rests on."""
    bench, settings = _hall_bench(tmp_path, tiny_generator, 5)
    lines: list[str] = []
    try:
        asked = [_planted(bench, n) for n in (0, 1)]
        result = bench.brittleness(asked, 2, settings, lines.append, group=2)
    finally:
        bench.close()
    assert result["questions"] == 2 and result["retrains"] == 2
    assert {o["qid"] for o in result["per_question"]} == {"q0", "q1"}
    assert result["lost_without_top"] == 1.0  # the tiny adapter never says "15x1"
    assert sum("without top (2 removed)" in line for line in lines) == 2
    assert sum("without control (2 removed)" in line for line in lines) == 2
    for outcome in result["per_question"]:  # what each retrained adapter said, to re-check
        for kind in ("top", "control"):
            said = outcome["answers"][kind]
            assert f"{outcome['qid']}: without {kind} (2 removed): {said!r}" in "\n".join(lines)


def test_brittleness_compares_where_a_baseline_disagrees(tmp_path, tiny_generator):
    """Retrained without ours' top, a control, and the baseline's top where it is not ours;
    a kept adapter is retrained with the settings its manifest records."""
    from tessera._evaluation.training_attribution_eval import TrainingEvalConfig, _retraining

    bench, settings = _hall_bench(tmp_path, tiny_generator, 6)
    kept = _retraining(TrainingEvalConfig(adapter=tmp_path / "adapter"), tmp_path / "adapter")
    assert kept.recipe() == settings.recipe()  # not the defaults: 24 epochs, rank 16
    lines: list[str] = []
    try:
        asked = [_planted(bench, n) for n in (0, 1)]
        for a, rival in zip(asked, ("cid-0", "cid-4"), strict=True):
            # BM25 agrees on q0 and points at another document for q1
            a.scores["bm25"] = [1.0 if c == rival else 0.0 for c in bench.contributions]
        with pytest.raises(InputError, match="compare with one of"):
            bench.brittleness(asked, 2, settings, lines.append, group=2, compare="ours")
        result = bench.brittleness(asked, 2, settings, lines.append, group=2, compare="bm25")
    finally:
        bench.close()
    assert result["retrains"] == 3 and result["bm25_disagreed"] == 1
    by_qid = {o["qid"]: o for o in result["per_question"]}
    assert "bm25_top" not in by_qid["q0"] and by_qid["q1"]["bm25_top_doc"] == "d4"
    assert result["lost_without_bm25_top_where_disagreed"] == 1.0  # the tiny model knows none
    assert sum("without bm25 (1 removed)" in line for line in lines) == 2


def test_a_kept_adapter_is_asked_again_without_training(tmp_path, tiny_generator):
    files = ("--corpus", str(DEMO / "corpus.jsonl"), "--questions", str(DEMO / "questions.jsonl"),
             "--limit", "2", "--model", str(tiny_generator.folder))  # fmt: skip
    kept, first, again = tmp_path / "adapter", tmp_path / "first.json", tmp_path / "again.json"
    done = run_eval(*files, "--epochs", "2", "--rank", "4", "--keep-adapter", str(kept),
                    "--out", str(first))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (kept / "training_texts.jsonl").is_file()
    done = run_eval(*files, "--adapter", str(kept), "--out", str(again))
    assert done.returncode == 0, done.stderr[-3000:]
    said = " ".join(done.stderr.split())  # the log wraps long lines
    assert "training: step" not in said and "(not trained again)" in said
    tops = [
        [q["answer"], q["learned"], q.get("top")]
        for q in json.loads(first.read_text())["per_question"]
    ]
    assert tops == [[q["answer"], q["learned"], q.get("top")]
                    for q in json.loads(again.read_text())["per_question"]]  # fmt: skip
    # a kept folder is not overwritten, and a kept adapter trains nothing more
    assert run_eval(*files, "--keep-adapter", str(kept)).returncode != 0
    refused = run_eval(*files, "--adapter", str(kept), "--keep-adapter", str(tmp_path / "k2"))
    assert refused.returncode != 0 and "trains nothing" in " ".join(refused.stderr.split())
    refused = run_eval(*files, "--adapter", str(kept), "--brittleness-compare", "bm25")
    assert refused.returncode != 0 and "needs --brittleness" in " ".join(refused.stderr.split())
    # an adapter kept on one corpus is refused on another
    other = tmp_path / "other.jsonl"
    rows = [json.loads(line) for line in (DEMO / "corpus.jsonl").read_text().splitlines()]
    other.write_text("".join(json.dumps({**r, "text": r["text"] + " (edited)"}) + "\n"
                             for r in rows))  # fmt: skip
    moved = ("--corpus", str(other), *files[2:])
    refused = run_eval(*moved, "--adapter", str(kept))
    assert refused.returncode != 0 and "does not hold" in " ".join(refused.stderr.split())
