"""Measure the default models on this CPU: load, determinism, speed, retrieval, grounded answers.

    python bench/models_bench.py                        # all sections, ~15 minutes on 2 cores
    python bench/models_bench.py --only qa --questions 100 --dtype bfloat16

Data: shared/benchmarks/attribution-dev (fictional facts, so the model can only answer from
context). Figures go to bench/results/models.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tessera._models import (
    Generator,
    GeneratorConfig,
    default_gemma_dir,
    load_embedder,
    load_generator,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "attribution-dev"
RESULTS = Path(__file__).resolve().parent / "results" / "models.json"
FEW_SHOT = (
    "Document: The Kestrel Bakery was founded by Amra Tolvin in 1902.\n"
    "Document: The Pell Museum is located in the town of Orvik.\n"
    "Question: Who founded the Kestrel Bakery?\n"
    "Answer: Amra Tolvin\n\n"
)


def prompt_formats(generator: Generator) -> dict[str, object]:
    """Ways of putting documents and a question in front of the model; each returns a prompt."""

    def plain(docs: list[str], question: str) -> str:
        return "\n".join(docs) + f"\nQuestion: {question}\nAnswer:"

    def documents(docs: list[str], question: str) -> str:
        return "".join(f"Document: {d}\n" for d in docs) + f"Question: {question}\nAnswer:"

    def instruction(docs: list[str], question: str) -> str:
        return (
            "Answer the question in a few words, using only the documents.\n\n"
            + "\n".join(docs)
            + f"\n\nQuestion: {question}\nAnswer:"
        )

    def question_first(docs: list[str], question: str) -> str:
        return f"Question: {question}\n" + "\n".join(docs) + f"\nQuestion: {question}\nAnswer:"

    def few_shot(docs: list[str], question: str) -> str:
        return FEW_SHOT + documents(docs, question)

    def chat(docs: list[str], question: str) -> str:
        text = generator.tokenizer.apply_chat_template(
            [{"role": "user", "content": "\n".join(docs) + f"\n\nQuestion: {question}"}],
            tokenize=False,
            add_generation_prompt=True,
        )
        return text.removeprefix(generator.tokenizer.bos_token)  # the tokenizer adds its own

    return {
        "plain": plain,
        "documents": documents,
        "instruction": instruction,
        "question_first": question_first,
        "few_shot": few_shot,
        "chat": chat,
    }


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def bench_load(dtype: str, convert: bool) -> dict:
    out = {}
    if convert:  # a fresh conversion, in a throwaway cache
        previous = os.environ.get("XDG_CACHE_HOME")
        with tempfile.TemporaryDirectory() as cache:
            os.environ["XDG_CACHE_HOME"] = cache
            _, out["convert_gguf_s"] = timed(default_gemma_dir)
        if previous is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = previous
    default_gemma_dir()
    generator, out["load_cached_s"] = timed(load_generator, None, GeneratorConfig(dtype=dtype))
    _, out["first_forward_s"] = timed(generator.generate, ["Hello"], 1)
    _, out["load_embedder_s"] = timed(load_embedder)
    return out


def bench_determinism(generator: Generator, prompts: list[str]) -> dict:
    batch = generator.generate(prompts, 32)
    again = generator.generate(prompts, 32)
    alone = [generator.generate([p], 32)[0] for p in prompts]
    scored = generator.continuation_logprobs(prompts, " the answer")
    scored_alone = np.concatenate(
        [generator.continuation_logprobs([p], " the answer") for p in prompts]
    )
    return {
        "prompts": len(prompts),
        "same_twice": batch == again,
        "batch_vs_alone_text_mismatches": sum(a != b for a, b in zip(batch, alone, strict=True)),
        "batch_vs_alone_logprob_max_abs_diff": float(np.abs(scored - scored_alone).max()),
    }


def bench_speed(generator: Generator, prompts: list[str], threads: list[int]) -> list[dict]:
    from transformers import GenerationConfig

    rows = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for size in (1, 8):
            batch = generator.tokenizer(
                prompts[:size], return_tensors="pt", padding=True, padding_side="left"
            )
            settings = GenerationConfig(
                max_new_tokens=32, min_new_tokens=32, do_sample=False, pad_token_id=0
            )
            with torch.inference_mode():
                generator.model.generate(**batch, generation_config=settings)  # warm-up
                _, seconds = timed(generator.model.generate, **batch, generation_config=settings)
            _, score_s = timed(generator.continuation_logprobs, prompts[:size], " the answer")
            rows.append(
                {
                    "threads": n_threads,
                    "batch": size,
                    "prompt_tokens": int(batch["input_ids"].shape[1]),
                    "generate_32_s": round(seconds, 2),
                    "new_tokens_per_s": round(size * 32 / seconds, 1),
                    "score_forward_s": round(score_s, 2),
                }
            )
    return rows


def speed_prompts(tokenizer, corpus: list[dict]) -> list[str]:
    prompts = []
    for start in range(0, 8 * 29, 29):
        docs: list[str] = []
        while len(tokenizer(" ".join(docs)).input_ids) < 290:
            docs.append(corpus[(start + len(docs)) % len(corpus)]["text"])
        prompts.append(" ".join(docs) + "\nQuestion: Who founded it?\nAnswer:")
    return prompts


def bench_retrieval(corpus: list[dict], questions: list[dict]) -> tuple[dict, np.ndarray]:
    embedder = load_embedder()
    doc_vectors, seconds = timed(embedder.embed, [d["text"] for d in corpus])  # (docs, 384)
    question_vectors = embedder.embed([q["question"] for q in questions])  # (questions, 384)
    ranking = np.argsort(-(question_vectors @ doc_vectors.T), axis=1)  # (questions, docs)
    ids = [d["doc_id"] for d in corpus]
    hits1 = hits4 = 0
    for question, order in zip(questions, ranking, strict=True):
        top = [ids[i] for i in order[:4]]
        hits1 += top[0] in question["support"]
        hits4 += all(s in top for s in question["support"])
    n = len(questions)
    return {
        "docs": len(corpus),
        "embed_docs_s": round(seconds, 2),
        "recall@1": round(hits1 / n, 3),
        "recall@4_all_support": round(hits4 / n, 3),
    }, ranking


def is_correct(generated: str, answer: str) -> bool:
    text = re.sub(r"\s+", " ", generated.lower())
    return all(part.strip().lower() in text for part in answer.split(";"))


def bench_qa(
    generator: Generator, corpus: list[dict], questions: list[dict], ranking: np.ndarray
) -> dict:
    """Support docs plus the 3 best-ranked other docs (hard distractors), support placed in turn."""
    texts = {d["doc_id"]: d["text"] for d in corpus}
    ids = [d["doc_id"] for d in corpus]
    cases = []
    for k, (question, order) in enumerate(zip(questions, ranking, strict=True)):
        distractors = [ids[i] for i in order if ids[i] not in question["support"]][:3]
        docs = [texts[d] for d in distractors]
        for s in question["support"]:
            docs.insert(k % (len(docs) + 1), texts[s])
        cases.append((docs, question))
    scores = {}
    for name, build in prompt_formats(generator).items():
        prompts = [build(docs, q["question"]) for docs, q in cases]
        answers = []
        for start in range(0, len(prompts), 8):
            answers += generator.generate(prompts[start : start + 8], 16, stop=["\n"])
        correct = [is_correct(a, q["answer"]) for a, (_, q) in zip(answers, cases, strict=True)]
        scores[name] = {
            "accuracy": round(sum(correct) / len(correct), 3),
            "examples": [
                {"question": q["question"], "answer": q["answer"], "generated": a}
                for a, (_, q) in list(zip(answers, cases, strict=True))[:3]
            ],
        }
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    parser.add_argument("--convert", action="store_true", help="also time a fresh GGUF conversion")
    parser.add_argument("--only", nargs="*", default=["load", "determinism", "speed", "qa"])
    args = parser.parse_args()

    corpus = read_jsonl(DATA / "corpus.jsonl")
    questions = read_jsonl(DATA / "questions.jsonl")
    results: dict = {"dtype": args.dtype, "torch": torch.__version__}
    if "load" in args.only:
        results["load"] = bench_load(args.dtype, args.convert)
    generator = load_generator(config=GeneratorConfig(dtype=args.dtype))
    results["retrieval"], ranking = bench_retrieval(corpus, questions)
    if "determinism" in args.only:
        prompts = [f"{d['text']}\nQuestion: What is it known for?\nAnswer:" for d in corpus[:16]]
        results["determinism"] = bench_determinism(generator, prompts)
    if "speed" in args.only:
        threads = [int(t) for t in args.threads.split(",")]
        prompts = speed_prompts(generator.tokenizer, corpus)
        results["speed"] = bench_speed(generator, prompts, threads)
    if "qa" in args.only:
        n = args.questions
        results["qa"] = bench_qa(generator, corpus, questions[:n], ranking[:n])
        results["qa_questions"] = n

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print_table(results)


def print_table(results: dict) -> None:
    print(f"dtype {results['dtype']}, torch {results['torch']}")
    for section in ("load", "retrieval", "determinism"):
        for key, value in results.get(section, {}).items():
            print(f"{section:12} {key:38} {value}")
    for row in results.get("speed", []):
        print(
            f"speed        threads={row['threads']} batch={row['batch']} "
            f"prompt={row['prompt_tokens']} tok: {row['new_tokens_per_s']:6.1f} new tok/s, "
            f"score forward {row['score_forward_s']} s"
        )
    accuracies = {name: s["accuracy"] for name, s in results.get("qa", {}).items()}
    for name, accuracy in sorted(accuracies.items(), key=lambda item: -item[1]):
        print(f"qa           {name:38} {accuracy} on {results['qa_questions']} questions")
    if accuracies:
        print(f"best format: {max(accuracies, key=accuracies.__getitem__)}")
    print(f"written to {RESULTS} (single runs: CPU timings move with the load on the machine)")


if __name__ == "__main__":
    main()
