"""The attribution benchmark: ingest a corpus, serve it, answer its questions, and score how
well each method finds the document an answer came from.

    tessera eval attribution --corpus corpus.jsonl --questions questions.jsonl --out eval.json

Corpus lines: {doc_id, contributor, text}; question lines: {qid, question, answer, support}.
The facts are planted (they exist nowhere else), so a correct answer must have used its
support documents: those are the ground truth for attribution.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tessera._api import Tessera
from tessera._attribution.contextcite import ContextCite
from tessera._attribution.weights import weights_from_scores
from tessera._data.chunking import split_text
from tessera._errors import InputError, ModelError
from tessera._evaluation.metrics import QuestionOutcome, score_method
from tessera._store.cid import cid_for

if TYPE_CHECKING:
    from tessera._inference.engine import Engine

Log = Callable[[str], None]


@dataclass
class EvalConfig:
    limit: int | None = None
    contextcite: bool = True
    contextcite_limit: int | None = None  # ContextCite scores 64 ablations of every answer
    model_path: str | None = None


def read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"{path}:{number} is not valid JSON") from None
        missing = [k for k in required if k not in row]
        if missing:
            raise InputError(f"{path}:{number} lacks {', '.join(missing)}")
        rows.append(row)
    if not rows:
        raise InputError(f"{path} holds no records")
    return rows


def ingest_corpus(
    t: Tessera, corpus: list[dict[str, Any]], datanet: str, log: Log
) -> dict[str, str]:
    """One local account per distinct contributor, each contributing its documents; returns
    CID -> doc_id for every chunk."""
    t.create_datanet(datanet, "CC-BY-4.0", "attribution benchmark corpus")
    by_contributor: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in corpus:
        by_contributor[str(doc["contributor"])].append(doc)
    doc_of: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        for n, (_, docs) in enumerate(sorted(by_contributor.items()), start=1):
            name = f"contributor-{n:03d}"
            t.new_account(name)
            path = Path(folder) / f"{name}.jsonl"
            path.write_text("".join(json.dumps({"text": d["text"]}) + "\n" for d in docs))
            t.contribute(datanet, [path], account=name)
    for doc in corpus:
        for piece in split_text(doc["text"]):
            doc_of[cid_for(piece.encode())] = str(doc["doc_id"])
    log(f"ingested {len(corpus)} documents from {len(by_contributor)} contributors")
    return doc_of


def evaluate(
    corpus_path: Path, questions_path: Path, config: EvalConfig, log: Log
) -> dict[str, Any]:
    import os

    from tessera._inference.engine import Engine
    from tessera._node.config import NodeConfig
    from tessera._node.runtime import build_node

    corpus = read_jsonl(corpus_path, ("doc_id", "contributor", "text"))
    questions = read_jsonl(questions_path, ("qid", "question", "answer", "support"))
    questions = questions[: config.limit] if config.limit else questions
    os.environ.setdefault("TESSERA_PASSWORD", "eval")
    outcomes: list[QuestionOutcome] = []
    with tempfile.TemporaryDirectory() as home:
        t = Tessera.init(Path(home), chain="inprocess", scrypt_n=2**4)
        doc_of = ingest_corpus(t, corpus, "eval", log)
        # a free node: the benchmark measures answers and attribution, not payment
        settings = NodeConfig(
            datanets=("eval",), model_path=config.model_path, follow_interval_s=3600, payments=False
        )
        node = build_node(t.node_parts(), settings)
        # the baseline runs through an engine of its own, on the node's model and prompts
        citer = Engine(node.engine.model, node.engine.tokenizer, 1, ContextCite())
        try:
            for i, q in enumerate(questions):
                outcome = _answer(node, q, doc_of, attribution_first=i % 2 == 0)
                cite = config.contextcite and (
                    config.contextcite_limit is None or i < config.contextcite_limit
                )
                if cite:
                    _contextcite(node, citer, q, outcome)
                outcomes.append(outcome)
                log(
                    f"[{i + 1}/{len(questions)}] {q['qid']} {'ok ' if outcome.correct else 'bad'}"
                    f" {outcome.answer!r} top={outcome.ranked('ours')[:1]} "
                    f"support={outcome.support}"
                )
        finally:
            citer.close()
            node.close()
            t.close()
    return report(outcomes)


def _answer(
    node: Any, q: dict[str, Any], doc_of: dict[str, str], attribution_first: bool
) -> QuestionOutcome:
    """Answer twice, with and without attribution (greedy: the same answer), timing both."""
    from tessera._node.service import Question

    service = node.service
    question = Question(
        q["question"],
        {"question": q["question"]},
        service.config.default_max_tokens,
        service.config.stop,
    )
    seconds, answers = {}, {}
    # alternating the order spreads a shared machine's drift over both sides
    for attribute in (True, False) if attribution_first else (False, True):
        began = time.perf_counter()
        answers[attribute] = service.answer(question, attribute=attribute)
        seconds["with" if attribute else "without"] = time.perf_counter() - began
    outcome = QuestionOutcome.of(q, answers[True], doc_of)
    outcome.seconds.update(seconds)
    return outcome


def _contextcite(node: Any, citer: Engine, q: dict[str, Any], outcome: QuestionOutcome) -> None:
    """ContextCite on the node's prompt and the node's answer (greedy decoding gives the same
    tokens again); its seconds are its attribution step alone, as ours are inside "with"."""
    from tessera._inference.engine import Job

    service = node.service
    hits = service.retrieve(q["question"]).hits  # the node's documents, in its prompt's order
    documents = [service.store.get(h.cid).decode() for h in hits]
    prompt = service.prompts.build(documents, q["question"])
    done = citer.run(Job(prompt, service.config.default_max_tokens, service.config.stop))
    if done.text != outcome.answer:
        raise ModelError(
            f"{q['qid']}: the ContextCite engine answered {done.text!r}, the node "
            f"{outcome.answer!r}: both must decode the same prompt greedily"
        )
    scores = done.effects or [0.0] * len(hits)  # None: an empty answer, nothing to cite
    by_cid = dict(zip((h.cid for h in hits), scores, strict=True))
    weights = citer.attributor.weights([by_cid[s.cid] for s in outcome.sources])
    outcome.scores["contextcite"] = weights
    outcome.seconds["contextcite"] = done.attribute_seconds


def report(outcomes: list[QuestionOutcome]) -> dict[str, Any]:
    for o in outcomes:
        o.scores["retrieval"] = weights_from_scores([s.similarity for s in o.sources])
    cited = [o for o in outcomes if "contextcite" in o.scores]
    baselines: dict[str, Any] = {"retrieval": score_method(outcomes, "retrieval", "none").to_json()}
    if cited:
        baselines["contextcite"] = {
            **score_method(cited, "contextcite", "contextcite").to_json(),
            "questions": len(cited),
            "ours_on_the_same_questions": score_method(cited, "ours", None).to_json(),
        }
    else:
        baselines["contextcite"] = None
    return {
        **score_method(outcomes, "ours", None).to_json(),
        "questions": len(outcomes),
        "baselines": baselines,
        "per_question": [o.to_json() for o in outcomes],
    }
