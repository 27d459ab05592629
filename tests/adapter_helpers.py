"""Random PEFT LoRA adapters over a tiny base, saved as PEFT saves them, for serving tests."""

from __future__ import annotations

from pathlib import Path

import torch


def save_random_adapter(
    base: Path, into: Path, seed: int, rank: int = 4, alpha: int = 64, targets="all-linear"
) -> Path:
    """A PEFT adapter with random A and B (so it changes the answers) over the model at `base`."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        config = LoraConfig(
            r=rank, lora_alpha=alpha, target_modules=targets, init_lora_weights=False
        )
        peft_model = get_peft_model(model, config)
    peft_model.save_pretrained(into)
    return Path(into)


def peft_reference(base: Path, adapters: dict[str, Path]):
    """The base model with `adapters` loaded by PEFT itself: the reference implementation."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True)
    names = list(adapters)
    reference = PeftModel.from_pretrained(model, adapters[names[0]], adapter_name=names[0])
    for name in names[1:]:
        reference.load_adapter(adapters[name], adapter_name=name)
    return reference.eval()


@torch.inference_mode()
def greedy(model, ids: list[int], steps: int, adapter: str | None = None) -> list[int]:
    """`steps` greedy tokens after `ids`, by full forward passes (no cache to get wrong)."""
    tokens = list(ids)
    for _ in range(steps):
        batch = torch.tensor([tokens])
        if adapter is None:
            with model.disable_adapter():
                logits = model(input_ids=batch).logits
        else:
            model.set_adapter(adapter)
            logits = model(input_ids=batch).logits
        tokens.append(int(logits[0, -1].argmax()))
    return tokens[len(ids) :]
