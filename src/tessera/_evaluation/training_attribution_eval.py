"""The training-attribution benchmark: train an adapter on a corpus, ask it closed-book, and
score how well each method finds the training contribution an answer's fact came from.

    tessera eval training-attribution --corpus corpus.jsonl --questions questions.jsonl \\
        --limit 40 --out eval.json

The corpus becomes a datanet on an in-process chain, one account per contributor, and the
adapter is trained on its snapshot by the model factory (as `tessera model train` does). The
questions are asked with the prompt the adapter learned ("Question: q\\nAnswer:"), no
retrieval, by the engine that serves adapters. The facts are planted, so an answer the
adapter gets right and the base model does not can only have come from its support
documents: those are the ground truth. `--limit N` keeps the first N entities (the documents
that questions tie together, in the questions file's order) and their questions; without it
every document is trained on, those no question names (distractors) too.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tessera._attribution.training import LearnedIndex, TrainingSpans
from tessera._errors import InputError, ModelError
from tessera._evaluation.attribution_eval import ingest_corpus, read_jsonl
from tessera._evaluation.lexical import Bm25
from tessera._evaluation.metrics import answer_states_fact
from tessera._models.training import TrainSettings

Log = Callable[[str], None]
BASELINES = ("bm25", "gradient_cosine", "representation")
ANSWER_TOKENS = 24


@dataclass
class TrainingEvalConfig:
    limit: int | None = None  # entities
    settings: TrainSettings = field(default_factory=TrainSettings)
    model_path: str | None = None
    brittleness: int = 0  # questions whose top contribution is removed and the adapter retrained
    brittleness_group: int = 1  # independent questions that share one retrain
    keep_adapter: Path | None = None  # copy the trained adapter's folder here
    adapter: Path | None = None  # one kept before, for this corpus: skip training
    # a baseline whose top contribution is also removed, where it is not ours: which of the
    # two the answer needed is the causal test between them
    brittleness_compare: str | None = None


@dataclass
class Asked:
    """One question, answered by the base model and by the adapter."""

    qid: str
    question: str
    expected: str
    support: list[str]
    base_answer: str
    answer: str
    answer_ids: list[int]
    scores: dict[str, list[float]] = field(default_factory=dict)  # method -> per contribution
    seconds: dict[str, float] = field(default_factory=dict)

    def states_fact(self, answer: str) -> bool:
        """`answer` says the expected value of what was asked (not another entity's)."""
        return answer_states_fact(self.expected, answer, self.question)

    @property
    def learned(self) -> bool:
        """Right from the adapter and not from the base: the fact came from training."""
        return self.states_fact(self.answer) and not self.states_fact(self.base_answer)


def entities(
    corpus: Sequence[dict[str, Any]], questions: Sequence[dict[str, Any]]
) -> list[list[str]]:
    """Doc ids tied together by questions (connected parts), in the order questions first
    name them; documents no question names are left out (nothing would measure them)."""
    known = {str(d["doc_id"]) for d in corpus}
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for q in questions:
        support = [str(s) for s in q["support"]]
        unknown = [s for s in support if s not in known]
        if unknown:
            raise InputError(f"question {q['qid']} names documents not in the corpus: {unknown}")
        for other in support[1:]:
            parent[root(other)] = root(support[0])
    groups: dict[str, list[str]] = {}
    for q in questions:
        for doc in q["support"]:
            members = groups.setdefault(root(str(doc)), [])
            if str(doc) not in members:
                members.append(str(doc))
    return list(groups.values())


def evaluate(
    corpus_path: Path, questions_path: Path, config: TrainingEvalConfig, log: Log
) -> dict[str, Any]:
    from tessera._api import Tessera

    corpus = read_jsonl(corpus_path, ("doc_id", "contributor", "text"))
    questions = read_jsonl(questions_path, ("qid", "question", "answer", "support"))
    groups = entities(corpus, questions)
    if config.limit:  # a document no question names belongs to no entity: left out
        kept = {d for g in groups[: config.limit] for d in g}
        corpus = [d for d in corpus if str(d["doc_id"]) in kept]
    else:  # all of it, distractors too: they are training data nothing should credit
        kept = {str(d["doc_id"]) for d in corpus}
    questions = [q for q in questions if {str(s) for s in q["support"]} <= kept]
    if not corpus or not questions:
        raise InputError("no question is left to ask: raise --limit, or check the files")
    os.environ.setdefault("TESSERA_PASSWORD", "eval")
    with tempfile.TemporaryDirectory() as home:
        t = Tessera.init(Path(home), chain="inprocess", scrypt_n=2**4)
        try:
            doc_of = ingest_corpus(t, corpus, "eval", log)
            began = time.perf_counter()
            folder = _adapter_folder(t, config, log)
            train_s = time.perf_counter() - began
            bench = _Bench.load(folder, config.model_path, doc_of)
            unknown = {x.cid for x in bench.texts} - set(doc_of)
            if unknown:
                raise InputError(
                    f"{config.adapter} was trained on {len(unknown)} contributions this corpus "
                    "does not hold: keep an adapter with --keep-adapter on the same corpus"
                )
            try:
                asked = [bench.ask(q) for q in questions]
                for n, a in enumerate(asked, start=1):
                    if a.learned:
                        bench.attribute(a)
                    log(f"[{n}/{len(asked)}] {a.qid} {'learned' if a.learned else '-      '} "
                        f"{a.answer!r} top={bench.top(a, 'ours')} support={a.support}")  # fmt: skip
                result = report(asked, bench.doc_ids)
                if config.brittleness:
                    result["brittleness"] = bench.brittleness(
                        asked, config.brittleness, _retraining(config, folder), log,
                        config.brittleness_group, config.brittleness_compare,
                    )  # fmt: skip
            finally:
                bench.close()
        finally:
            t.close()
    result["training_s"] = round(train_s, 1)
    return result


def _retraining(config: TrainingEvalConfig, folder: Path) -> TrainSettings:
    """The settings to retrain with: a kept adapter's own (from its training manifest), so
    removing a contribution is the only change."""
    if config.adapter is None:
        return config.settings
    import dataclasses
    import json

    manifest = json.loads((folder / "training_manifest.json").read_text())
    known = {f.name for f in dataclasses.fields(TrainSettings)}
    recipe = {k: v for k, v in manifest.get("settings", {}).items() if k in known}
    return dataclasses.replace(TrainSettings(**recipe), threads=config.settings.threads)


def _adapter_folder(t: Any, config: TrainingEvalConfig, log: Log) -> Path:
    """The adapter to ask: one kept before (`--adapter`), or one trained now on the eval's
    datanet, copied to `--keep-adapter` if given (scoring can then be studied without
    training again)."""
    if config.adapter is not None:
        log(f"asking the adapter kept in {config.adapter} (not trained again)")
        return Path(config.adapter)
    base = Path(config.model_path) if config.model_path else None
    trained = t.train_model(
        "eval-adapter", ["eval"], config.settings, base=base, progress=_progress(log)
    )
    log(f"trained on {len(trained.snapshot.documents)} contributions")
    if config.keep_adapter is None:
        return Path(trained.folder)
    if config.keep_adapter.exists():
        raise InputError(f"{config.keep_adapter} exists: name a new folder for the adapter")
    shutil.copytree(trained.folder, config.keep_adapter)
    log(f"kept the adapter in {config.keep_adapter}")
    return config.keep_adapter


def _progress(log: Log) -> Callable[[Any], None]:
    def show(p: Any) -> None:  # a TrainProgress, about every tenth of the run
        if p.step == p.total or p.step % max(1, p.total // 10) == 0:
            log(f"training: step {p.step}/{p.total}, loss {p.loss:.3f}, "
                f"{p.tokens_per_s:.0f} tokens/s, ETA {p.eta_s:.0f} s")  # fmt: skip

    return show


class _Bench:
    """The base model and the adapter in one engine, and what each method needs."""

    def __init__(self, generator: Any, folder: Path, texts: list[Any], doc_of: dict[str, str]):
        from tessera._inference.engine import Engine
        from tessera._inference.lora import AdapterBank
        from tessera._inference.prompt import PromptBuilder
        from tessera._models.adapter import read_adapter

        self.generator, self.folder, self.texts = generator, folder, texts
        self.adapter = read_adapter(folder)
        self.learned = LearnedIndex(self._ids)
        self.contributions = list(self.learned.add(self.adapter.digest, texts).cids)
        self.method = TrainingSpans(self.learned)
        self.bank = AdapterBank(generator.model, capacity=2, rank=self.adapter.rank)
        # the serving path: the engine runs training attribution beside, one probe per answer
        self.engine = Engine(
            generator.model, generator.tokenizer, max_batch=1, bank=self.bank, also=[self.method]
        )
        self.prompts = PromptBuilder(generator.tokenizer)
        self.doc_ids = [doc_of.get(cid, "") for cid in self.contributions]
        # each contribution's own text (its augmentations are learned from an answer on)
        self.documents = {t.cid: t.text for t in texts if t.answer_from == 0}
        self.bm25 = Bm25([self.documents.get(cid, "") for cid in self.contributions])
        self._gradients: torch.Tensor | None = None
        self._representations: torch.Tensor | None = None

    @classmethod
    def load(cls, folder: Path, model_path: str | None, doc_of: dict[str, str]) -> _Bench:
        from tessera._models import load_generator
        from tessera._models.learned_texts import read_training_texts

        texts = read_training_texts(folder)
        if texts is None:
            raise ModelError(f"{folder} holds no training texts: train it with this version")
        return cls(load_generator(model_path), folder, texts, doc_of)

    def close(self) -> None:
        self.engine.close()

    def _ids(self, text: str) -> list[int]:
        return list(self.generator.tokenizer(text, add_special_tokens=False)["input_ids"])

    def ask(self, q: dict[str, Any], adapter: Any = None, attributed: bool = True) -> Asked:
        """`q` asked of the base model and of `adapter` (default: the one trained), the
        adapter's answer twice, without training attribution and with it (order alternating
        per question, so a shared machine's drift falls on both), each timed."""
        from tessera._inference.engine import Job

        adapter = adapter or self.adapter
        prompt = self.prompts.build([], str(q["question"]))
        base = self.engine.run(Job(prompt, ANSWER_TOKENS, ("\n",), attribute=False))
        seconds, done = {}, {}
        order = (False, True) if zlib.crc32(str(q["qid"]).encode()) % 2 else (True, False)
        for attribute in order if attributed else (False,):
            began = time.perf_counter()
            job = Job(prompt, ANSWER_TOKENS, ("\n",), attribute=attribute)
            done[attribute] = self.engine.submit_adapted(
                job, adapter.digest, lambda: adapter
            ).result()
            seconds["attributed" if attribute else "answer"] = time.perf_counter() - began
        adapted = done[attributed]
        asked = Asked(
            str(q["qid"]), str(q["question"]), str(q["answer"]), [str(s) for s in q["support"]],
            base.text.strip(), adapted.text.strip(), list(adapted.answer_ids),
        )  # fmt: skip
        asked.seconds = seconds
        effects = adapted.also.get(self.method.name)
        if effects is not None:
            asked.scores["ours"] = effects
        return asked

    def attribute(self, asked: Asked) -> None:
        """The baselines, on the answer the engine attributed (its "ours" scores)."""
        prompt = self.prompts.build([], asked.question).ids
        asked.scores["bm25"] = self.bm25.scores(f"{asked.question} {asked.answer}")
        asked.scores["gradient_cosine"] = self.gradient_cosine(prompt, asked.answer_ids)
        asked.scores["representation"] = self.representation(prompt, asked.answer_ids)

    def top(self, asked: Asked, method: str) -> str | None:
        ranked = ranked_docs(asked.scores.get(method), self.doc_ids)
        return ranked[0] if ranked else None

    # the baselines: the loss gradient and the hidden state, each against every contribution's

    def gradient_cosine(self, prompt: list[int], answer: list[int]) -> list[float]:
        if self._gradients is None:
            self._gradients = torch.stack([self._gradient(rows) for rows in self._rows()])
        query = self._gradient([(prompt + answer, len(prompt))])
        return torch.nn.functional.cosine_similarity(self._gradients, query[None]).tolist()

    def representation(self, prompt: list[int], answer: list[int]) -> list[float]:
        if self._representations is None:
            self._representations = torch.stack(
                [
                    self._hidden(self._ids(self.documents.get(cid, "")) or [0], 0)
                    for cid in self.contributions
                ]
            )
        query = self._hidden(prompt + answer, len(prompt))
        return torch.nn.functional.cosine_similarity(self._representations, query[None]).tolist()

    def _rows(self) -> list[list[tuple[list[int], int]]]:
        """Per contribution, its training rows as (ids, first learned position)."""
        rows: dict[str, list[tuple[list[int], int]]] = {c: [] for c in self.contributions}
        for text in self.texts:
            head = self._ids(text.text[: text.answer_from]) if text.answer_from else []
            rows[text.cid].append((head + self._ids(text.text[text.answer_from :]), len(head)))
        return [rows[c] for c in self.contributions]

    def _peft(self) -> Any:
        if not hasattr(self, "_peft_model"):
            from peft import PeftModel

            from tessera._models.training import load_causal_lm

            model, _ = load_causal_lm(Path(self.generator.folder))
            self._peft_model = PeftModel.from_pretrained(model, self.folder, is_trainable=True)
        return self._peft_model

    def _gradient(self, rows: Sequence[tuple[list[int], int]]) -> torch.Tensor:
        """The LoRA weights' gradient of the rows' summed loss, flattened (float32)."""
        model = self._peft()
        model.zero_grad(set_to_none=True)
        for ids, start in rows:
            if len(ids) < 2:
                continue
            labels = torch.tensor([[-100] * max(start, 1) + ids[max(start, 1) :]])
            model(input_ids=torch.tensor([ids]), labels=labels).loss.backward()
        grads = [
            (p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
            for name, p in model.named_parameters()
            if "lora_" in name
        ]
        return torch.cat(grads)  # a few million floats per contribution: fine at this scale

    def _hidden(self, ids: list[int], start: int) -> torch.Tensor:
        """The adapter's last hidden state averaged over positions start.. of `ids`."""
        with torch.no_grad():
            out = self._peft()(input_ids=torch.tensor([ids]), output_hidden_states=True)
        return out.hidden_states[-1][0, start:].mean(0).float()

    def brittleness(
        self,
        asked: list[Asked],
        count: int,
        settings: TrainSettings,
        log: Log,
        group: int = 1,
        compare: str | None = None,
    ) -> dict[str, Any]:
        """For `count` learned questions: retrain without the top-attributed contribution, and
        (the control) without a random contribution outside the question's support; how often
        the answer is lost. `group` questions share a retrain when no one's support or top is
        another's (the planted entities are independent facts), so a larger sample costs
        fewer retrains; group 1 is one retrain per question and kind. With `compare` (a
        baseline), questions where its top is not ours are sampled first, and retrained
        without its top too."""
        if compare is not None and compare not in BASELINES:
            raise InputError(f"compare with one of {', '.join(BASELINES)}, not {compare!r}")
        trials = self._trials(asked, count, compare)
        outcomes: list[dict[str, Any]] = []
        retrains = 0
        for batch in _disjoint_groups(trials, group):
            touched = set().union(*(t.touched for t in batch))
            others = sorted(c for c in self.contributions if c not in touched)
            controls = random.Random(batch[0].asked.qid).sample(
                others, min(len(batch), len(others))
            )
            kinds = [("top", [t.top for t in batch]), ("control", controls)]
            rivals = [t.rival for t in batch if t.rival]
            if rivals:
                kinds.append((compare or "", rivals))
            said = {
                kind: self._retrain_without(removed, batch, settings, log, kind)
                for kind, removed in kinds
            }
            lost = {k: [not t.asked.states_fact(x) for t, x in zip(batch, got, strict=True)]
                    for k, got in said.items()}  # fmt: skip
            retrains += len(kinds)
            for n, t in enumerate(batch):
                outcome = {
                    "qid": t.asked.qid, "support": len(t.asked.support),
                    "top": lost["top"][n], "control": lost["control"][n],
                    "answers": {k: got[n] for k, got in said.items()},
                }  # fmt: skip
                if t.rival:
                    outcome[f"{compare}_top"] = lost[compare or ""][n]
                    outcome[f"{compare}_top_doc"] = self.doc_ids[self.contributions.index(t.rival)]
                outcomes.append(outcome)
        return _summary(outcomes, retrains, group, compare)

    def _trials(self, asked: list[Asked], count: int, compare: str | None) -> list[_Trial]:
        """The sampled learned questions, each with ours' top and `compare`'s where it differs
        (those first when comparing: that is what is measured)."""
        learned = [a for a in asked if a.learned and a.scores.get("ours")]
        if compare is None:
            sample = random.Random(0).sample(learned, min(count, len(learned)))
        else:
            shuffled = random.Random(0).sample(learned, len(learned))
            shuffled.sort(key=lambda a: self._top_cid(a, compare) == self._top_cid(a, "ours"))
            sample = shuffled[:count]
        cid_of = {doc: cid for cid, doc in zip(self.contributions, self.doc_ids, strict=True)}
        trials: list[_Trial] = []
        for a in sample:
            top = self._top_cid(a, "ours")
            rival = self._top_cid(a, compare) if compare is not None else None
            rival = rival if rival != top else None
            touched = {top} | {cid_of[d] for d in a.support if d in cid_of}
            trials.append(_Trial(a, top, touched | ({rival} if rival else set()), rival))
        return trials

    def _top_cid(self, asked: Asked, method: str) -> str:
        scores = asked.scores[method]
        return self.contributions[max(range(len(scores)), key=lambda i: (scores[i], -i))]

    def _retrain_without(
        self, removed: list[str], batch: list[_Trial], settings: TrainSettings, log: Log, kind: str
    ) -> list[str]:
        """Retrain without `removed`; per trial of `batch`, what the retrained adapter says."""
        from tessera._models.adapter import read_adapter
        from tessera._models.training import train_adapter
        from tessera._models.training_data import TrainingDocument

        gone = set(removed)
        docs = [TrainingDocument(c, self.documents[c]) for c in self.contributions
                if c not in gone and c in self.documents]  # fmt: skip
        texts = [t for t in self.texts if t.cid not in gone]
        said = []
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "adapter"
            train_adapter(Path(self.generator.folder), docs, settings, out, texts=texts)
            adapter = read_adapter(out)
            for t in batch:
                a = t.asked
                question = {"qid": a.qid, "question": a.question, "answer": a.expected,
                            "support": a.support}  # fmt: skip
                answer = self.ask(question, adapter, attributed=False).answer
                said.append(answer)
                log(f"brittleness {a.qid}: without {kind} ({len(gone)} removed): {answer!r}")
        return said


@dataclass
class _Trial:
    """A sampled question, its top-attributed contribution, and every contribution that
    retraining for another question must leave in place (its support and its top)."""

    asked: Asked
    top: str
    touched: set[str]
    rival: str | None = None  # the compared baseline's top, where it is not ours


def _disjoint_groups(trials: list[_Trial], size: int) -> list[list[_Trial]]:
    """Trials in groups of at most `size`, first fit, no two in a group touching the same
    contribution."""
    groups: list[list[_Trial]] = []
    for trial in trials:
        for g in groups:
            if len(g) < size and all(not (trial.touched & t.touched) for t in g):
                g.append(trial)
                break
        else:
            groups.append([trial])
    return groups


def _summary(
    outcomes: list[dict[str, Any]], retrains: int, group: int, compare: str | None
) -> dict[str, Any]:
    single = [o for o in outcomes if o["support"] == 1]
    result: dict[str, Any] = {
        "questions": len(outcomes),
        "retrains": retrains,
        "group": group,
        "lost_without_top": _share(o["top"] for o in outcomes),
        "lost_without_random": _share(o["control"] for o in outcomes),
        "lost_without_top_single_support": _share(o["top"] for o in single),
    }
    if compare is not None:
        compared = [o for o in outcomes if f"{compare}_top" in o]
        result[f"{compare}_disagreed"] = len(compared)
        result["lost_without_ours_where_disagreed"] = _share(o["top"] for o in compared)
        result[f"lost_without_{compare}_top_where_disagreed"] = _share(
            o[f"{compare}_top"] for o in compared
        )
    result["per_question"] = outcomes
    return result


def _share(flags: Any) -> float | None:
    """The share of true among `flags`; None for none."""
    seen = list(flags)
    return sum(seen) / len(seen) if seen else None


def ranked_docs(scores: Sequence[float] | None, doc_ids: Sequence[str]) -> list[str]:
    """Doc ids by score, highest first, those scoring above 0 only."""
    if not scores:
        return []
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [doc_ids[i] for i in order if scores[i] > 0]


def _method(learned: list[Asked], method: str, doc_ids: Sequence[str]) -> dict[str, Any]:
    top1 = recall = 0
    for a in learned:
        ranked = ranked_docs(a.scores[method], doc_ids)
        top1 += bool(ranked) and ranked[0] in a.support
        recall += bool(set(ranked[:3]) & set(a.support))
    n = len(learned)
    return {
        "top1_attribution_accuracy": top1 / n if n else None,
        "recall_at_3": recall / n if n else None,
    }


def report(asked: list[Asked], doc_ids: Sequence[str]) -> dict[str, Any]:
    """The benchmark's figures: accuracy over every question; attribution over the answers
    the adapter learned (right from it, wrong from the base)."""
    learned = [a for a in asked if a.learned and "ours" in a.scores]
    n = len(asked)
    answering = sum(a.seconds["answer"] for a in learned)
    attributing = sum(a.seconds["attributed"] for a in learned)
    return {
        "answer_accuracy": {
            "base": sum(a.states_fact(a.base_answer) for a in asked) / n,
            "adapter": sum(a.states_fact(a.answer) for a in asked) / n,
        },
        "questions": n,
        "learned": len(learned),
        **_method(learned, "ours", doc_ids),
        "attribution_overhead": attributing / answering if answering else None,
        "baselines": {b: _method(learned, b, doc_ids) for b in BASELINES},
        "per_question": [
            {
                "qid": a.qid,
                "answer": a.answer,
                "base_answer": a.base_answer,
                "learned": a.learned,
                "support": a.support,
                "top": {m: (ranked_docs(a.scores.get(m), doc_ids)[:3]) for m in a.scores},
            }
            for a in asked
        ],
    }
