"""Train an adapter on a subset of a QA corpus; measure speed and what it learned.

    python bench/train.py            # defaults, 40 entities, the sweep: ~50 min on 2 idle cores
    python bench/train.py --quick            # 10 entities, no sweep: a few minutes
    python bench/train.py --speed-only --out bench/results/train-speed.json   # 2 minutes
    python bench/train.py --sweep augmentation=none,rank=8 --entities 40 --threads 2
    python bench/train.py --corpus C.jsonl --questions Q.jsonl   # any corpus of this format

Data: shared/benchmarks/attribution-dev (corpus.jsonl: doc_id, contributor, text;
questions.jsonl: qid, question, answer, support doc ids); the facts are fictional, so the base
model cannot know them. An entity is a group of documents that questions tie together (the
connected parts of the documents-questions graph); the first `--entities` of them, in a seeded
order, are trained on. In the same run:

- speed: the Tessera trainer against a plain PEFT loop (padded batches of 8 rows, full
  logits, the same rows, LoRA, optimizer, precision and threads), each for one epoch;
- accuracy: the trained entities' questions asked closed-book ("Question: q\\nAnswer:",
  greedy), correct when every part of the expected answer appears, normalized; the base
  model on the same questions; control questions about entities not trained on, which must
  not get their planted answer;
- a sweep: one setting changed at a time (augmentation, rank, epochs).

Figures go to bench/results/train.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rich.console import Console
from rich.table import Table

from tessera._models import default_gemma_dir
from tessera._models.training import (
    TrainingDocument,
    TrainProgress,
    TrainSettings,
    load_causal_lm,
    train_adapter,
    training_texts,
)
from tessera._models.training_data import QUESTION_PROMPT, training_rows

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "attribution-dev"
RESULTS = Path(__file__).resolve().parent / "results" / "train.json"
SWEEP = {
    "augmentation=none": {"augmentation": "none"},
    "augmentation=sentences": {"augmentation": "sentences"},
    "rank=8": {"rank": 8, "alpha": 16},
    "epochs=12": {"epochs": 12},
}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def entities(corpus: list[dict], questions: list[dict], seed: int) -> list[list[str]]:
    """Groups of doc ids that questions tie together, in a seeded order; docs no question
    names are left out (nothing would measure them)."""
    parent = {d["doc_id"]: d["doc_id"] for d in corpus}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for q in questions:
        for other in q["support"][1:]:
            parent[root(other)] = root(q["support"][0])
    asked = {d for q in questions for d in q["support"]}
    groups: dict[str, list[str]] = {}
    for doc in sorted(asked):
        groups.setdefault(root(doc), []).append(doc)
    ordered = sorted(groups.values())
    random.Random(seed).shuffle(ordered)
    return ordered


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def correct(output: str, answer: str) -> bool:
    said = f" {normalize(output)} "
    return all(f" {normalize(part)} " in said for part in answer.split(";") if part.strip())


@torch.no_grad()
def ask(model: Any, tokenizer: Any, questions: list[str], batch: int = 16) -> list[str]:
    """Closed-book greedy answers, one line each."""
    answers: list[str] = []
    for start in range(0, len(questions), batch):
        prompts = [QUESTION_PROMPT.format(question=q) for q in questions[start : start + batch]]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model.generate(
                **enc,
                max_new_tokens=24,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                stop_strings=["\n"],
                tokenizer=tokenizer,
            )
        texts = tokenizer.batch_decode(
            out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
        )
        answers.extend(t.strip().split("\n")[0] for t in texts)
    return answers


def score(model: Any, tokenizer: Any, questions: list[dict]) -> tuple[int, list[str]]:
    outputs = ask(model, tokenizer, [q["question"] for q in questions])
    hits = sum(correct(o, q["answer"]) for o, q in zip(outputs, questions, strict=True))
    return hits, outputs


def evaluate(base: Path, adapter: Path | None, workload: dict) -> dict[str, Any]:
    from peft import PeftModel

    model, tokenizer = load_causal_lm(base)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    hits, outputs = score(model, tokenizer, workload["questions"])
    leaked, control_outputs = score(model, tokenizer, workload["controls"])
    return {
        "correct": hits,
        "questions": len(workload["questions"]),
        "control_answered": leaked,
        "controls": len(workload["controls"]),
        "examples": [
            {"q": q["question"], "expected": q["answer"], "said": o}
            for q, o in zip(workload["questions"][:6], outputs[:6], strict=False)
        ],
        "control_examples": control_outputs[:3],
    }


def plain_peft_epoch(base: Path, texts: list, settings: TrainSettings, batch: int = 8) -> dict:
    """The baseline: a textbook PEFT loop over the same rows, padded batches, full logits."""
    from peft import LoraConfig, get_peft_model

    model, tokenizer = load_causal_lm(base)
    rows = training_rows(tokenizer, texts, settings.max_tokens)
    random.Random(settings.seed).shuffle(rows)
    torch.manual_seed(settings.seed)
    lora = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, target_modules="all-linear")
    model = get_peft_model(model, lora).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], settings.lr)
    real, started = 0, time.perf_counter()
    for start in range(0, len(rows), batch):
        group = rows[start : start + batch]
        width = max(len(r.ids) for r in group)
        ids = torch.full((len(group), width), tokenizer.pad_token_id)
        labels = torch.full((len(group), width), -100)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for i, r in enumerate(group):
            ids[i, : len(r.ids)] = torch.tensor(r.ids)
            mask[i, : len(r.ids)] = 1
            labels[i, r.first_target : len(r.ids)] = torch.tensor(r.ids[r.first_target :])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        real += sum(len(r.ids) for r in group)
    wall = time.perf_counter() - started
    return {"real_tokens": real, "wall_s": round(wall, 1), "tokens_per_s": round(real / wall, 1)}


def workload(args: argparse.Namespace) -> dict[str, Any]:
    corpus, questions = read_jsonl(args.corpus), read_jsonl(args.questions)
    groups = entities(corpus, questions, args.seed)
    if len(groups) < args.entities + 1:
        raise SystemExit(f"{args.corpus} has {len(groups)} entities: ask for fewer")
    trained = {d for g in groups[: args.entities] for d in g}
    held_out = {d for g in groups[args.entities :] for d in g}
    docs = [TrainingDocument(d["doc_id"], d["text"]) for d in corpus if d["doc_id"] in trained]
    asked = [q for q in questions if set(q["support"]) <= trained]
    controls = [q for q in questions if set(q["support"]) <= held_out][: args.controls]
    return {"documents": docs, "questions": asked, "controls": controls}


def texts_for(base: Path, work: dict, settings: TrainSettings) -> tuple[list, float]:
    """The augmented texts (made once per augmentation) and the seconds it took to make them."""
    cache = work.setdefault("texts", {})
    if settings.augmentation not in cache:
        started = time.perf_counter()
        texts = training_texts(base, work["documents"], settings)
        cache[settings.augmentation] = (texts, time.perf_counter() - started)
    return cache[settings.augmentation]


def show(progress: TrainProgress) -> None:
    if progress.step % 10 == 0 or progress.step == progress.total:
        print(
            f"  step {progress.step}/{progress.total} loss {progress.loss:.3f} "
            f"{progress.tokens_per_s:.0f} tokens/s, ETA {progress.eta_s:.0f} s",
            flush=True,
        )


def train_and_score(base: Path, work: dict, settings: TrainSettings, into: Path) -> dict:
    texts, augment_s = texts_for(base, work, settings)
    started = time.perf_counter()
    result = train_adapter(base, work["documents"], settings, into, progress=show, texts=texts)
    wall = time.perf_counter() - started + augment_s  # making the texts is part of training
    print(f"  trained {into.name}: {wall:.0f} s, loss {result.final_loss}", flush=True)
    return {
        "settings": settings.recipe(),
        "wall_s": round(wall, 1),
        "augmentation_s": round(augment_s, 1),
        "texts": len(texts),
        "steps": result.steps,
        "tokens": result.tokens,
        "tokens_per_s": round(result.tokens_per_s, 1),
        "first_loss": round(result.losses[0], 3),
        "final_loss": result.final_loss,
        **evaluate(base, into, work),
    }


def speed(base: Path, work: dict, settings: TrainSettings, scratch: Path) -> dict[str, Any]:
    """One epoch each over the same rows (the documents and their augmentation), same run."""
    texts, _ = texts_for(base, work, settings)
    one = TrainSettings(**{**settings.recipe(), "epochs": 1}, threads=settings.threads)
    plain = plain_peft_epoch(base, texts, one)
    ours = train_adapter(base, work["documents"], one, scratch / "speed", texts=texts)
    tessera = {
        "real_tokens": ours.tokens,
        "wall_s": round(ours.wall_s, 1),
        "tokens_per_s": round(ours.tokens_per_s, 1),
    }
    ratio = round(ours.tokens_per_s / plain["tokens_per_s"], 2)
    return {"plain_peft": plain, "tessera": tessera, "ratio": ratio}


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a local model folder (default: Gemma 3 270M)")
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=DATA / "questions.jsonl")
    parser.add_argument("--entities", type=int, help="entities trained on (default 40)")
    parser.add_argument("--controls", type=int, help="control questions (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--epochs", type=int, help="override the default epochs")
    parser.add_argument(
        "--sweep", default=",".join(SWEEP), help=f"comma-separated, of {', '.join(SWEEP)}; '' none"
    )
    parser.add_argument("--quick", action="store_true", help="10 entities, 12 epochs, no sweep")
    parser.add_argument(
        "--speed-only", action="store_true", help="the speed section alone (no accuracy runs)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    quick = {"entities": 10, "controls": 10, "epochs": 12} if args.quick else {}
    args.entities = args.entities or quick.get("entities", 40)
    args.controls = args.controls or quick.get("controls", 20)
    args.epochs = args.epochs or quick.get("epochs")
    args.sweep = "" if args.quick else args.sweep
    return args


def main() -> int:
    args = options()
    torch.set_num_threads(args.threads)
    base = args.model or default_gemma_dir()
    work = workload(args)
    defaults = TrainSettings(threads=args.threads)
    if args.epochs:
        defaults = dataclasses.replace(defaults, epochs=args.epochs)
    print(f"{len(work['documents'])} documents, {len(work['questions'])} questions", flush=True)
    result: dict[str, Any] = {
        "model": str(args.model or "gemma-3-270m (default)"),
        "workload": [str(args.corpus), str(args.questions)],
        "entities": args.entities,
        "documents": len(work["documents"]),
        "threads": args.threads,
    }
    with tempfile.TemporaryDirectory() as scratch:
        result["speed"] = speed(base, work, defaults, Path(scratch))
        figures = result["speed"]
        print(
            f"  speed: tessera {figures['tessera']['tokens_per_s']} real tokens/s, plain PEFT "
            f"{figures['plain_peft']['tokens_per_s']}: {figures['ratio']}x",
            flush=True,
        )
        if args.speed_only:
            ratio = figures["ratio"]
            result["bar"] = {"speed_vs_plain_peft": {"min_ratio": 2.0, "ratio": ratio}}
            result["bar"]["speed_vs_plain_peft"]["met"] = ratio >= 2.0
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n")
            print(f"figures in {args.out}")
            return 0 if ratio >= 2.0 else 1
        result["base"] = evaluate(base, None, work)
        runs = {"defaults": defaults}
        for name in filter(None, args.sweep.split(",")):
            runs[name] = dataclasses.replace(defaults, **SWEEP[name])
        result["runs"] = {
            name: train_and_score(base, work, s, Path(scratch) / name.replace("=", "-"))
            for name, s in runs.items()
        }
    made = work.get("texts", {}).get(defaults.augmentation, ([], 0))[0]
    result["augmentation_examples"] = [t.text for t in made if t.answer_from][:10]
    result["bar"] = bars(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    report(result, args.out)
    return 0 if all(b["met"] for b in result["bar"].values()) else 1


def bars(result: dict[str, Any]) -> dict[str, Any]:
    ours = result["runs"]["defaults"]
    ratio, base = result["speed"]["ratio"], result["base"]["correct"]
    return {
        "speed_vs_plain_peft": {"min_ratio": 2.0, "ratio": ratio, "met": ratio >= 2.0},
        "learns": {
            "adapter_correct": ours["correct"],
            "base_correct": base,
            "questions": ours["questions"],
            "met": ours["correct"] >= max(3, 2 * base),  # learned, not noise
        },
        "controls_unanswered": {
            "answered": ours["control_answered"],
            "met": ours["control_answered"] == 0,
        },
    }


def report(result: dict[str, Any], out: Path) -> None:
    speed = result["speed"]
    table = Table(title="training: one epoch over the same rows, same run")
    for col in ("trainer", "real tokens", "wall s", "real tokens/s", "x vs plain PEFT"):
        table.add_column(col, justify="right")
    for name, key in (("plain PEFT loop", "plain_peft"), ("tessera", "tessera")):
        row = speed[key]
        ratio = speed["ratio"] if key == "tessera" else 1.0
        table.add_row(
            name,
            str(row["real_tokens"]),
            str(row["wall_s"]),
            str(row["tokens_per_s"]),
            f"{ratio:.2f}",
        )
    Console(width=140).print(table)
    table = Table(title=f"closed-book accuracy, {result['entities']} entities, same run")
    for col in (
        "model",
        "rank",
        "epochs",
        "augmentation",
        "wall s",
        "tokens/s",
        "final loss",
        "correct",
        "controls answered",
    ):
        table.add_column(col, justify="right")
    base = result["base"]
    table.add_row(
        "base",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        f"{base['correct']}/{base['questions']}",
        f"{base['control_answered']}/{base['controls']}",
    )
    for name, run in result["runs"].items():
        s = run["settings"]
        table.add_row(
            name,
            str(s["rank"]),
            str(s["epochs"]),
            s["augmentation"],
            str(run["wall_s"]),
            str(run["tokens_per_s"]),
            str(run["final_loss"]),
            f"{run['correct']}/{run['questions']}",
            f"{run['control_answered']}/{run['controls']}",
        )
    Console(width=160).print(table)
    for name, bar in result["bar"].items():
        print(f"bar {name}: {'met' if bar['met'] else 'NOT met'} {bar}")
    print(f"figures in {out}")


if __name__ == "__main__":
    raise SystemExit(main())
