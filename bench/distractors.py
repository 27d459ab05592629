"""A corpus where lexical overlap misleads: the first N entities of an attribution-dev style
corpus, plus for every question a distractor document by a contributor of its own.

Two kinds (`--kind`):

- `words`: the question's words, not its answer. It misleads BM25 over the question alone.
- `bound-elsewhere`: the question's words and its answer's value, with the value bound to
  another entity (one this corpus never names): "Beside the Lunqui Brewery is the Quarnel
  Gallery, whose official colour is teal." BM25 over question and answer is drawn to it (it
  holds every word of both, in fewer words than the source); a method that follows what the
  adapter learned should not be, since it binds the value to the other entity. Whether it
  taught the adapter the answer anyway is a causal question: `--brittleness` with
  `--compare bm25` retrains without it and without the source, and says.

Stop 30's finding: distractors that hold the question verbatim teach the adapter to answer
with them. Phrased as the question, it recited them for 29 of 30 questions; as statements
around the question ("Historians still argue about this: <question>"), for all 30 (0 answers
learned): a distractor that is the likeliest continuation of the question measures training,
not attribution. So a distractor now holds the question's content words (the entity's name
and the attribute asked about), without the question's own words around them, in a sentence
of its own shape: it misleads BM25 as much, and it does not read as an answer.

    python bench/distractors.py --corpus C --questions Q --entities 20 --out-dir D \
        [--kind bound-elsewhere]
    tessera eval training-attribution --corpus D/corpus.jsonl --questions D/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from tessera._evaluation.attribution_eval import read_jsonl
from tessera._evaluation.training_attribution_eval import entities

# Question words that make a distractor read as the question; what is left names the entity
# and the attribute asked about.
_QUESTION_WORDS = frozenset(
    [
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "how",
        "many",
        "much",
        "in",
        "of",
        "is",
        "was",
        "does",
        "did",
        "do",
        "the",
        "a",
        "an",
        "by",
        "for",
        "from",
        "to",
        "at",
        "on",
        "year",
    ]
)
SHAPES = (
    "Tour guides never mention the {words}. They spend the visit on the gardens instead.",
    "A local newsletter once promised a column on the {words}, and never printed it.",
    "Nobody at the spring fair could say anything about the {words}; the talk was of rain.",
)


BOUND_SHAPES = (
    "Beside the {entity} is the {other}, whose {attribute} is {value}.",
    "Visitors to the {entity} also see the {other}. For the {other}, the {attribute}: {value}.",
    "The {entity} and the {other} share a street; only the {other} gives {value} as its "
    "{attribute}.",
)
_KINDS = ("Gallery", "Lighthouse", "Archive", "Theatre", "Market", "Tower")


def content_words(question: str) -> str:
    words = re.findall(r"[A-Za-z0-9']+", question)
    return " ".join(w for w in words if w.lower() not in _QUESTION_WORDS)


def entity_and_attribute(question: str) -> tuple[str, str]:
    """The question's capitalized content words (the entity's name) and the rest (what is
    asked of it): "official colour Lunqui Brewery" -> ("Lunqui Brewery", "official colour")."""
    words = content_words(question).split()
    named = list(dict.fromkeys(w for w in words if w[:1].isupper()))  # named once
    return " ".join(named), " ".join(w for w in words if not w[:1].isupper())


def other_names(count: int, corpus_text: str) -> list[str]:
    """`count` entity names no document of the corpus holds (made of syllables, by index)."""
    names: list[str] = []
    n = 0
    while len(names) < count:
        first, second = _SYLLABLES[n % 7], _SYLLABLES[(n // 7 + 2 * n + 1) % 7]
        stem = (first + second).capitalize()
        if stem.lower() not in corpus_text.lower():
            names.append(f"{stem} {_KINDS[len(names) % len(_KINDS)]}")
        n += 1
    return names


_SYLLABLES = ("quar", "nel", "tib", "osk", "vem", "dro", "lak")


def distractor_text(kind: str, n: int, question: dict[str, object], other: str) -> str:
    if kind == "words":
        return SHAPES[n % len(SHAPES)].format(words=content_words(str(question["question"])))
    entity, attribute = entity_and_attribute(str(question["question"]))
    shape = BOUND_SHAPES[n % len(BOUND_SHAPES)]
    return shape.format(entity=entity, other=other, attribute=attribute,
                        value=str(question["answer"]).replace(";", " and"))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--entities", type=int, default=20)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--kind", choices=("words", "bound-elsewhere"), default="words")
    args = parser.parse_args()
    corpus = read_jsonl(args.corpus, ("doc_id", "contributor", "text"))
    questions = read_jsonl(args.questions, ("qid", "question", "answer", "support"))
    kept = {d for g in entities(corpus, questions)[: args.entities] for d in g}
    documents = [d for d in corpus if str(d["doc_id"]) in kept]
    asked = [q for q in questions if {str(s) for s in q["support"]} <= kept]
    others = other_names(len(asked), " ".join(str(d["text"]) for d in corpus))
    for n, q in enumerate(asked):
        text = distractor_text(args.kind, n, q, others[n])
        documents.append({"doc_id": f"distractor-{q['qid']}",
                          "contributor": f"0x{0xD15 << 148 | n:040x}", "text": text})  # fmt: skip
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("corpus.jsonl", documents), ("questions.jsonl", asked)):
        (args.out_dir / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(documents)} documents ({len(asked)} distractors), {len(asked)} questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
