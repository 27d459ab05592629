"""Fine-tune a LoRA adapter (PEFT) on a list of documents, resumably and fast.

    from tessera._models.training import TrainSettings, TrainingDocument, train_adapter
    result = train_adapter(base_folder, [TrainingDocument(cid, text)], TrainSettings(), out)

The adapter is plain LoRA on every linear layer of the decoder (not the output layer), saved
as PEFT saves it, with a model card (README.md) and a training manifest beside it. Training
packs rows end to end (no padding; positions restart at each row so attention stays inside
it), runs the output layer only at positions that have a target and a chunk at a time
(chunked_loss.py), and checkpoints every `checkpoint_every` steps: a run killed at any moment
resumes from its last checkpoint to the same weights as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tessera._errors import InputError, ModelError
from tessera._models.augmentation import augmented_texts, check_augmentation
from tessera._models.checkpoint import load_checkpoint, save_checkpoint
from tessera._models.chunked_loss import chunked_cross_entropy
from tessera._models.digest import weights_digest
from tessera._models.learned_texts import write_training_texts
from tessera._models.model_card import Provenance, RunFacts, config_hash, write_card, write_manifest
from tessera._models.training_data import (
    PackedStep,
    TrainingDocument,
    TrainingText,
    check_documents,
    check_max_tokens,
    packed_steps,
    training_rows,
)

__all__ = [
    "TrainProgress",
    "TrainResult",
    "TrainSettings",
    "TrainingDocument",
    "train_adapter",
    "training_texts",
]


@dataclass(frozen=True)
class TrainSettings:
    rank: int = 16
    alpha: int = 32  # LoRA scale = alpha / rank
    epochs: int = 24
    lr: float = 2e-3
    seed: int = 0
    max_tokens: int = 256  # tokens per optimizer step (rows packed end to end)
    augmentation: str = "questions"  # "none", "sentences", "questions": see augmentation.py
    warmup: float = 0.05  # share of the steps over which the learning rate rises
    bf16: bool = True  # bfloat16 autocast (the weights stay float32)
    checkpoint_every: int = 50  # steps
    threads: int | None = None  # torch threads; None keeps torch's choice (the machine's cores)

    def recipe(self) -> dict[str, Any]:
        """The settings that decide the weights (not where or how often they are saved)."""
        settings = dataclasses.asdict(self)
        for operational in ("checkpoint_every", "threads"):
            settings.pop(operational)
        return settings


@dataclass(frozen=True)
class TrainProgress:
    step: int  # steps done
    total: int
    loss: float  # of the last step
    tokens_per_s: float  # real (unpadded) tokens per second in this process
    eta_s: float


@dataclass(frozen=True)
class TrainResult:
    folder: Path
    adapter_digest: str  # weights_digest of the output folder: what read_adapter reports
    config_hash: str
    steps: int
    tokens: int  # real tokens trained on, all epochs
    losses: tuple[float, ...]  # one per step
    final_loss: float  # mean of the last epoch's steps
    tokens_per_s: float
    wall_s: float  # in this process (a resumed run counts its own part)
    resumed_from: int  # the step it resumed from (0: a fresh run)


@dataclass
class _Run:
    model: Any  # the PEFT model
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    steps: list[PackedStep]
    softcap: float | None
    losses: list[float]
    head: torch.Tensor | None = None  # the output layer's weight as the loss multiplies by it


def train_adapter(
    base: str | Path | Any,
    documents: Sequence[TrainingDocument],
    settings: TrainSettings | None = None,
    out: str | Path = "adapter",
    progress: Callable[[TrainProgress], None] | None = None,
    checkpoint_dir: str | Path | None = None,
    provenance: Provenance | None = None,
    texts: Sequence[TrainingText] | None = None,
    base_digest: str | None = None,
) -> TrainResult:
    """Train an adapter on `documents` over the causal LM at `base` (a folder, or a Generator)
    and write it to `out` (which must not hold files yet). `texts` are the documents'
    augmented texts when they were made already (`training_texts`), else they are made here;
    `base_digest` is the base folder's weights digest when the caller hashed it already."""
    settings, provenance = settings or TrainSettings(), provenance or Provenance()
    out, folder = Path(out), _base_folder(base)
    checkpoints = Path(checkpoint_dir) if checkpoint_dir is not None else None
    _check(settings, documents, out)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    digest = base_digest or weights_digest(folder)  # a gigabyte read: once per run
    recipe_hash = config_hash(settings.recipe())
    model, tokenizer = load_causal_lm(folder)
    state = load_checkpoint(checkpoints, recipe_hash)
    if state is not None:
        texts = state["texts"]
    elif texts is None:
        texts = _texts(documents, settings, model, tokenizer)
    _check_texts(texts, documents)
    run = _start(model, tokenizer, texts, settings, state)
    started, start_step = time.perf_counter(), len(run.losses)
    tokens = _train(run, settings, texts, recipe_hash, checkpoints, progress)
    wall = time.perf_counter() - started
    figures = _figures(run, settings.epochs, tokens / wall if wall > 0 else 0.0, start_step)
    cids = tuple(d.cid for d in documents)
    base_name = provenance.base_name or str(folder)
    facts = RunFacts(base_name, digest, cids, settings.recipe(), recipe_hash, figures, "")
    _write_output(run.model, out, provenance, facts, texts)
    return TrainResult(
        folder=out,
        adapter_digest=weights_digest(out),
        config_hash=recipe_hash,
        steps=len(run.steps),
        tokens=_tokens(run.steps),
        losses=tuple(run.losses),
        final_loss=figures["final_loss"],
        tokens_per_s=tokens / wall if wall > 0 else 0.0,
        wall_s=wall,
        resumed_from=start_step,
    )


def _base_folder(base: str | Path | Any) -> Path:
    folder = Path(base.folder if hasattr(base, "folder") else base)
    if not folder.is_dir():
        raise ModelError(f"no base model folder at {folder}: pass a transformers model folder")
    return folder


def _check(settings: TrainSettings, documents: Sequence[TrainingDocument], out: Path) -> None:
    if settings.rank < 1:
        raise InputError(f"the rank is {settings.rank}: a LoRA adapter needs a rank of 1 or more")
    if settings.alpha <= 0 or settings.lr <= 0:
        raise InputError("alpha and the learning rate must be positive")
    if settings.epochs < 1:
        raise InputError(f"epochs is {settings.epochs}: train for at least one epoch")
    if settings.checkpoint_every < 1:
        raise InputError("checkpoint_every must be at least 1 step")
    check_max_tokens(settings.max_tokens)
    check_augmentation(settings.augmentation)
    check_documents(documents)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out} already holds files: write the adapter to a new folder")


def load_causal_lm(folder: Path) -> tuple[Any, Any]:
    """The float32 model and tokenizer in `folder`; ModelError if it is not a causal LM."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as error:
        raise ModelError(f"{folder} holds no transformers model: {error}") from error
    architectures = getattr(config, "architectures", None) or []
    causal = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or not causal:
        raise ModelError(
            f"{folder} holds a {config.model_type} model ({', '.join(architectures) or 'no head'}),"
            " which is not a causal language model: "
            "train on a decoder such as Gemma 3"
        )
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def training_texts(
    base: str | Path | Any, documents: Sequence[TrainingDocument], settings: TrainSettings
) -> list[TrainingText]:
    """What `train_adapter` trains on: the documents and their augmentation (which may run
    the base model), made once so that several runs can share them."""
    check_documents(documents)
    check_augmentation(settings.augmentation)
    model, tokenizer = load_causal_lm(_base_folder(base))
    return _texts(documents, settings, model, tokenizer)


def _check_texts(texts: Sequence[TrainingText], documents: Sequence[TrainingDocument]) -> None:
    known = {d.cid for d in documents}
    strays = sorted({t.cid for t in texts} - known)
    if strays or not texts:
        raise InputError(f"training texts come from documents not trained on: {strays[:3]}")


def _texts(
    documents: Sequence[TrainingDocument], settings: TrainSettings, model: Any, tokenizer: Any
) -> list[TrainingText]:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16):
        return augmented_texts(documents, settings.augmentation, model.eval(), tokenizer)


def _start(
    model: Any,
    tokenizer: Any,
    texts: Sequence[TrainingText],
    settings: TrainSettings,
    state: dict[str, Any] | None,
) -> _Run:
    from peft import LoraConfig, get_peft_model

    rows = training_rows(tokenizer, texts, settings.max_tokens)
    steps = [
        step
        for epoch in range(settings.epochs)
        for step in packed_steps(rows, settings.max_tokens, settings.seed, epoch)
    ]
    lora = LoraConfig(
        r=settings.rank, lora_alpha=settings.alpha, target_modules="all-linear", lora_dropout=0.0
    )
    with torch.random.fork_rng():
        torch.manual_seed(settings.seed)
        peft_model = get_peft_model(model, lora)
    peft_model.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(len(steps), settings))
    softcap = getattr(model.config, "final_logit_softcapping", None)
    head = frozen_to_bf16(peft_model) if settings.bf16 else None
    run = _Run(peft_model, optimizer, scheduler, steps, softcap, [], head)
    if state is not None:
        _restore(run, state)
    return run


def frozen_to_bf16(model: Any) -> torch.Tensor:
    """Cast the frozen linear weights to bfloat16 once, as autocast casts them on every use
    (the same rounding, so the same numbers): 100M weights converted twice per step cost a
    third of it. The output layer, tied to the embeddings (which stay float32), gets a copy;
    it is returned for the loss."""
    head = model.get_output_embeddings()
    for module in model.modules():
        frozen = isinstance(module, torch.nn.Linear) and not module.weight.requires_grad
        if frozen and module is not head:
            module.weight.data = module.weight.data.to(torch.bfloat16)
    return head.weight.detach().to(torch.bfloat16)


def _schedule(total: int, settings: TrainSettings) -> Callable[[int], float]:
    """Linear warm-up, then cosine decay to a tenth of the learning rate."""
    warmup = max(1, round(total * settings.warmup))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        done = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, done)))

    return factor


def _adapter_state(model: Any) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _restore(run: _Run, state: dict[str, Any]) -> None:
    with torch.no_grad():
        for name, param in run.model.named_parameters():
            if param.requires_grad:
                param.copy_(state["adapter"][name])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.losses = list(state["losses"])


def _train(
    run: _Run,
    settings: TrainSettings,
    texts: Sequence[TrainingText],
    recipe_hash: str,
    checkpoints: Path | None,
    progress: Callable[[TrainProgress], None] | None,
) -> int:
    """Run the steps not done yet; the real tokens this process trained on."""
    started, tokens, first = time.perf_counter(), 0, len(run.losses)
    for index in range(first, len(run.steps)):
        run.losses.append(train_step(run, run.steps[index], settings.bf16))
        tokens += len(run.steps[index].input_ids)
        done = index + 1
        if checkpoints is not None and (done % settings.checkpoint_every == 0):
            save_checkpoint(checkpoints, _state(run, texts, recipe_hash))
        if progress is not None:
            elapsed = time.perf_counter() - started
            eta = elapsed / (done - first) * (len(run.steps) - done)
            progress(TrainProgress(done, len(run.steps), run.losses[-1], tokens / elapsed, eta))
    return tokens


def train_step(run: _Run, step: PackedStep, bf16: bool) -> float:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = step_loss(run.model, step, run.softcap, run.head)
    loss.backward()
    params = [p for group in run.optimizer.param_groups for p in group["params"]]
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def step_loss(
    model: Any, step: PackedStep, softcap: float | None = None, head: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean cross entropy of a packed step's targets; the output layer (`head`, default the
    model's own weight) runs only where there is a target, a chunk at a time."""
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal_lm.get_decoder()(
        input_ids=step.input_ids[None],
        position_ids=step.position_ids[None],
        use_cache=False,
    ).last_hidden_state[0]  # (tokens, hidden)
    weight = causal_lm.get_output_embeddings().weight if head is None else head  # (vocab, h)
    return chunked_cross_entropy(hidden[step.target_positions], weight, step.targets, softcap)


def _state(run: _Run, texts: Sequence[TrainingText], recipe_hash: str) -> dict[str, Any]:
    return {
        "config_hash": recipe_hash,
        "adapter": _adapter_state(run.model),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "losses": list(run.losses),
        "texts": list(texts),
    }


def _tokens(steps: Sequence[PackedStep]) -> int:
    return sum(len(s.input_ids) for s in steps)


def _figures(run: _Run, epochs: int, tokens_per_s: float, start_step: int) -> dict[str, Any]:
    last = run.losses[-max(1, len(run.steps) // epochs) :]
    return {
        "final_loss": round(sum(last) / len(last), 4),
        "first_loss": round(run.losses[0], 4),
        "steps": len(run.steps),
        "tokens": _tokens(run.steps),
        "tokens_per_s": round(tokens_per_s, 1),
        "resumed_from_step": start_step,
    }


def _write_output(
    model: Any, out: Path, provenance: Provenance, facts: RunFacts, texts: Sequence[TrainingText]
) -> None:
    """Adapter, card, manifest and the texts it learned, written beside `out` and moved in by
    one rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        model.save_pretrained(temp)
        _record_base(temp / "adapter_config.json", facts)
        weights = (temp / "adapter_model.safetensors").read_bytes()
        facts = dataclasses.replace(facts, adapter_sha256=hashlib.sha256(weights).hexdigest())
        write_card(temp, provenance, facts)
        write_manifest(temp, provenance, facts)
        write_training_texts(temp, texts)
        with contextlib.suppress(FileNotFoundError, OSError):
            out.rmdir()  # an empty folder the caller made
        os.replace(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _record_base(path: Path, facts: RunFacts) -> None:
    config = json.loads(path.read_text())
    config["base_model_name_or_path"] = facts.base_name
    config["revision"] = facts.base_revision
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
