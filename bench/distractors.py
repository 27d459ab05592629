"""A corpus where lexical overlap misleads: the first N entities of an attribution-dev style
corpus, plus for every question a distractor document that repeats the question's words
(twice, as statements) but not its answer, by a contributor of its own.

Stop 30's finding: such distractors teach the adapter to answer with them. Phrased as the
question, it recited them for 29 of 30 questions; as statements, for all 30 (0 answers
learned). A distractor that measures attribution must not be the likeliest continuation of the
question: the next try is one that shares the entity's name and the question's nouns in a
sentence of its own shape.

    python bench/distractors.py --corpus C --questions Q --entities 20 --out-dir D
    tessera eval training-attribution --corpus D/corpus.jsonl --questions D/questions.jsonl

BM25 over question and answer is drawn to a distractor; a method that follows what the
adapter learned should not be, since a distractor teaches no answer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tessera._evaluation.attribution_eval import read_jsonl
from tessera._evaluation.training_attribution_eval import entities


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--entities", type=int, default=20)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    corpus = read_jsonl(args.corpus, ("doc_id", "contributor", "text"))
    questions = read_jsonl(args.questions, ("qid", "question", "answer", "support"))
    kept = {d for g in entities(corpus, questions)[: args.entities] for d in g}
    documents = [d for d in corpus if str(d["doc_id"]) in kept]
    asked = [q for q in questions if {str(s) for s in q["support"]} <= kept]
    for n, q in enumerate(asked):
        said = str(q["question"]).rstrip("?").strip()
        text = f"Historians still argue about this: {said}. The records on {said} were lost."
        documents.append({"doc_id": f"distractor-{q['qid']}",
                          "contributor": f"0x{0xD15 << 148 | n:040x}", "text": text})  # fmt: skip
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("corpus.jsonl", documents), ("questions.jsonl", asked)):
        (args.out_dir / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(documents)} documents ({len(asked)} distractors), {len(asked)} questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
