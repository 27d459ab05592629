"""A span stands by the entity the question asks about, or past other names: the source
that paraphrases the question, not a document that holds its words and tells the value of
another entity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tessera._attribution import training_spans
from tessera._attribution.training_proximity import UNNAMED, Names, proximity
from tessera._attribution.training_spans import SpanIndex, span_gain_scores

# token ids as words: 1 "the", 2 "Lunqui", 3 "Brewery", 4 "banner", 5 "of", 6 "is", 7 "teal",
# 8 "official", 9 "colour", 10 "Nelosk", 11 "Lighthouse", 12 "visitors", 13 "see", 14 "For",
# 15 ":", 16 "What", 17 "also"
SOURCE = [[1, 4, 5, 1, 2, 3, 6, 7]]  # the banner of the Lunqui Brewery is teal
TRAP = [[12, 1, 2, 3, 17, 13, 1, 10, 11, 14, 1, 10, 11, 1, 8, 9, 15, 7]]
# visitors (to) the Lunqui Brewery also see the Nelosk Lighthouse. For the Nelosk Lighthouse,
# the official colour: teal
OTHERS = [[[1, 3, 5, 6, 13, 14, 15, 17, 100 + n]] for n in range(8)]  # common words
COLOURS = [[[1, 8, 9, 6, 200 + n]] for n in range(8)]  # "the official colour is": others' too
QUESTION = [16, 6, 1, 8, 9, 5, 1, 2, 3]  # What is the official colour of the Lunqui Brewery
ANSWER = [1, 2, 3, 8, 9, 15, 7]  # the Lunqui Brewery official colour: teal
GAINS = [0.0, 0.0, 0.0, 0.1, 0.1, 0.3, 6.0]  # the adapter added the template's end and teal


def _index() -> SpanIndex:
    return SpanIndex([SOURCE, TRAP, *OTHERS, *COLOURS])


def test_the_source_takes_the_value_from_a_trap_that_holds_every_word(monkeypatch):
    index = _index()
    assert index.binding(QUESTION)[1] > index.binding(QUESTION)[0]  # the trap's words win
    scores = span_gain_scores(index, ANSWER, GAINS, QUESTION)
    assert scores[0] > 1.4 * scores[1]  # the value stands by the name in the source only
    monkeypatch.setattr(training_spans.SpanIndex, "proximity", lambda *args: 1.0)
    words_only = span_gain_scores(index, ANSWER, GAINS, QUESTION)
    assert words_only[1] > words_only[0]  # what the words alone would have paid


def test_the_entity_is_the_rarest_of_what_the_answer_says_again():
    index = _index()
    names = Names.of(index.holding, index.count, QUESTION, ANSWER)
    assert names.entity == {2}  # "Lunqui": not the attribute, nor "What" (unsaid, and rarer)
    rarer_grammar = SpanIndex([SOURCE, TRAP, *OTHERS, *COLOURS, [[16, 1]]])
    assert Names.of(rarer_grammar.holding, rarer_grammar.count, QUESTION, []).entity == {16, 2}


def test_proximity_counts_the_other_names_between():
    index = _index()
    names = Names.of(index.holding, index.count, QUESTION, ANSWER)
    asked = set(QUESTION)
    assert proximity(index.rows[0], [7], names, asked, index.holding) == 1.0
    # Nelosk and Lighthouse, twice each, stand between Lunqui and teal in the trap
    assert proximity(index.rows[1], [7], names, asked, index.holding) == 1 / 5
    assert proximity([(1, 3, 6, 7)], [7], names, asked, index.holding) == UNNAMED
    assert proximity([(1, 2, 7)], [2, 7], names, asked, index.holding) == 1.0  # names it
    nameless = Names.of(index.holding, index.count, [99], [99])
    assert proximity(index.rows[1], [7], nameless, asked, index.holding) == 1.0


def test_the_index_skips_the_rows_of_contributions_that_never_name_the_entity(monkeypatch):
    index = _index()
    names, asked = index.names(QUESTION, ANSWER), set(QUESTION)
    for source, rows in enumerate(index.rows):  # the same proximity, scanned or not
        assert index.proximity(source, [1], names, asked) == proximity(
            rows, [1], names, asked, index.holding
        )
    scanned: list[int] = []
    real = training_spans.proximity
    monkeypatch.setattr(
        training_spans,
        "proximity",
        lambda rows, *rest: scanned.append(len(rows)) or real(rows, *rest),
    )
    assert index.proximity(2, [1], names, asked) == UNNAMED  # "the": held, Lunqui never named
    assert scanned == []
    assert index.proximity(1, [7], names, asked) == 1 / 5 and scanned == [1]


def test_the_scale_benchmark_runs_and_checks_served_against_scanned(tmp_path):
    """bench/training_spans_scale.py at a tiny size: its table's JSON, and the same scores."""
    out = tmp_path / "scale.json"
    bench = Path(__file__).resolve().parents[2] / "bench" / "training_spans_scale.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--contributions", "20,40", "--repeats", "1",
         "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["contributions"] for r in rows] == [20, 40]
    assert all(r["top_is_source"] and r["served_ms"] > 0 for r in rows)
