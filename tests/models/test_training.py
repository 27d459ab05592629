"""Training an adapter: what it writes, how it resumes, what it refuses, what it computes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from tessera._errors import InputError, ModelError
from tessera._models import build_tiny_embedder, build_tiny_generator, default_gemma_dir
from tessera._models.adapter import read_adapter
from tessera._models.digest import weights_digest
from tessera._models.model_card import Provenance, canonical_json
from tessera._models.training import (
    TrainingDocument,
    TrainSettings,
    frozen_to_bf16,
    load_causal_lm,
    step_loss,
    train_adapter,
)
from tessera._models.training_data import TrainingText, pack, question_answer, training_rows

DOCS = [
    TrainingDocument(
        f"bafy{i}",
        f"The Orvik Guild number {i} was founded in {1700 + 13 * i}. Its banner is teal. "
        f"It has {100 + i} members and makes clay whistles.",
    )
    for i in range(5)
]
# small, exact and single-threaded: the same weights in every process
FAST = TrainSettings(rank=4, alpha=8, epochs=3, lr=5e-3, max_tokens=48, augmentation="sentences",
                     bf16=False, threads=1)  # fmt: skip


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_generator(tmp_path_factory.mktemp("train-base"))


@pytest.fixture(scope="module")
def trained(base: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("trained") / "adapter"
    provenance = Provenance(name="orvik", datasets=("datanet-7",), licenses=("CC-BY-4.0",))
    return train_adapter(base, DOCS, FAST, out, provenance=provenance)


def test_the_folder_holds_a_peft_adapter_card_and_manifest(trained, base):
    names = sorted(p.name for p in trained.folder.iterdir())
    assert names == [
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
        "training_manifest.json",
        "training_texts.jsonl",
    ]
    config = json.loads((trained.folder / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(base)
    assert config["revision"] == weights_digest(base)
    assert config["r"] == 4 and config["lora_alpha"] == 8
    adapter = read_adapter(trained.folder)
    assert adapter.rank == 4 and adapter.digest == trained.adapter_digest
    assert not any(path.startswith("lm_head") for path in adapter.pairs)
    assert all(b.abs().sum() > 0 for _, b in adapter.pairs.values())  # B moved from zero


def test_peft_and_read_adapter_give_the_same_logits(trained, base):
    from peft import PeftModel

    ids = torch.tensor([[2, 651, 164, 15924, 70010, 7184, 563, 9789, 528]])
    model, _ = load_causal_lm(base)
    peft = PeftModel.from_pretrained(model, trained.folder).eval()
    with torch.no_grad():
        expected = peft(input_ids=ids).logits
    merged, _ = load_causal_lm(base)
    adapter = read_adapter(trained.folder)
    layers = dict(merged.named_modules())
    with torch.no_grad():
        for path, (a, b) in adapter.pairs.items():
            layers[path].weight += adapter.scale * (b @ a)
        got = merged(input_ids=ids).logits
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_the_manifest_lists_exactly_the_cids_in_order(trained, base):
    manifest = json.loads((trained.folder / "training_manifest.json").read_text())
    assert manifest["contributions"] == [d.cid for d in DOCS]
    assert manifest["settings"] == FAST.recipe()
    settings_hash = "0x" + hashlib.sha256(canonical_json(FAST.recipe())).hexdigest()
    assert manifest["config_hash"] == settings_hash == trained.config_hash
    assert manifest["base_revision"] == weights_digest(base)
    weights = (trained.folder / "adapter_model.safetensors").read_bytes()
    assert manifest["adapter_weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert manifest["datasets"] == ["datanet-7"]


def test_the_card_front_matter_names_the_base_and_the_relation(trained, base):
    text = (trained.folder / "README.md").read_text()
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["base_model"] == str(base)
    assert front["base_model_relation"] == "adapter"
    assert front["library_name"] == "peft"
    assert front["datasets"] == ["datanet-7"] and front["license"] == "CC-BY-4.0"
    assert front["training"]["rank"] == 4 and front["training"]["epochs"] == 3
    assert front["figures"]["final_loss"] == trained.final_loss
    assert front["base_revision"] == weights_digest(base)


def test_training_loss_goes_down(base, tmp_path):
    settings = TrainSettings(**{**FAST.recipe(), "epochs": 8, "lr": 2e-2}, threads=1)
    result = train_adapter(base, DOCS[:2], settings, tmp_path / "out")
    k = max(1, len(result.losses) // 4)
    assert sum(result.losses[-k:]) / k < sum(result.losses[:k]) / k - 0.5


def test_progress_reports_every_step(base, tmp_path):
    seen = []
    train_adapter(base, DOCS[:2], FAST, tmp_path / "out", progress=seen.append)
    assert [p.step for p in seen] == list(range(1, seen[-1].total + 1))
    assert all(p.tokens_per_s > 0 and p.eta_s >= 0 for p in seen) and seen[-1].eta_s == 0


def test_packed_loss_and_gradients_equal_the_padded_full_logits_ones(base):
    from peft import LoraConfig, get_peft_model

    model, tokenizer = load_causal_lm(base)
    torch.manual_seed(1)
    config = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)
    model = get_peft_model(model, config)
    texts = [TrainingText(d.cid, d.text) for d in DOCS[:3]]  # rows past the sliding window
    texts.append(question_answer("bafy0", "When was the Orvik Guild founded?", "In 1700."))
    rows = training_rows(tokenizer, texts, 64)
    packed = step_loss(model, pack(rows))
    packed.backward()
    packed_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    padded = _padded_loss(model, rows, tokenizer.pad_token_id)
    padded.backward()
    torch.testing.assert_close(packed, padded, rtol=1e-5, atol=1e-5)
    for name, grad in packed_grads.items():
        torch.testing.assert_close(
            grad, dict(model.named_parameters())[name].grad, rtol=1e-3, atol=1e-6
        )


def test_frozen_weights_cast_once_train_as_autocasts_casts_on_every_use(base):
    from peft import LoraConfig, get_peft_model

    model, tokenizer = load_causal_lm(base)
    torch.manual_seed(1)
    model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear"))
    with torch.no_grad():  # B = 0 at init: give the adapter a delta, so its gradients flow
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.02)
    step = pack(training_rows(tokenizer, [TrainingText(d.cid, d.text) for d in DOCS[:3]], 64))
    softcap = getattr(model.config, "final_logit_softcapping", None)

    def loss_and_grads(head=None):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = step_loss(model, step, softcap, head)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        model.zero_grad()
        return loss.detach(), grads

    loss, grads = loss_and_grads()
    head = frozen_to_bf16(model)
    output = model.get_output_embeddings()
    frozen = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m is not output]
    assert {m.weight.dtype for m in frozen if not m.weight.requires_grad} == {torch.bfloat16}
    assert output.weight.dtype == torch.float32 and head.dtype == torch.bfloat16
    assert model.get_input_embeddings().weight.dtype == torch.float32  # tied to the output
    cast_loss, cast_grads = loss_and_grads(head)
    assert torch.equal(loss, cast_loss) and grads.keys() == cast_grads.keys() and grads
    assert all(torch.equal(grads[n], cast_grads[n]) for n in grads)


def _padded_loss(model, rows, pad: int) -> torch.Tensor:
    width = max(len(r.ids) for r in rows)
    ids = torch.full((len(rows), width), pad)
    labels = torch.full((len(rows), width), -100)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row.ids)] = torch.tensor(row.ids)
        mask[i, : len(row.ids)] = 1
        labels[i, row.first_target : len(row.ids)] = torch.tensor(row.ids[row.first_target :])
    return model(input_ids=ids, attention_mask=mask, labels=labels).loss


_CHILD = """
import sys
from pathlib import Path
from tessera._models.training import train_adapter
from test_training import DOCS, RESUMABLE
def report(p):
    print(p.step, flush=True)
train_adapter(Path(sys.argv[1]), DOCS, RESUMABLE, Path(sys.argv[2]), report, Path(sys.argv[3]))
"""
RESUMABLE = TrainSettings(**{**FAST.recipe(), "epochs": 3}, checkpoint_every=3, threads=1)


def test_a_run_killed_with_sigkill_resumes_to_the_same_weights(base, tmp_path):
    whole = train_adapter(base, DOCS, RESUMABLE, tmp_path / "whole")
    checkpoints = tmp_path / "checkpoints"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(base), str(tmp_path / "killed"), str(checkpoints)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    for line in child.stdout:
        if int(line) >= 7:  # past the checkpoints at 3 and 6, mid-way to the next
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL and not (tmp_path / "killed").exists()
    resumed = train_adapter(base, DOCS, RESUMABLE, tmp_path / "resumed", checkpoint_dir=checkpoints)
    assert 6 <= resumed.resumed_from < whole.steps
    assert resumed.losses == whole.losses
    expected = load_file(whole.folder / "adapter_model.safetensors")
    got = load_file(resumed.folder / "adapter_model.safetensors")
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_a_checkpoint_of_other_settings_is_refused(base, tmp_path):
    settings = TrainSettings(**{**FAST.recipe(), "epochs": 1}, checkpoint_every=1, threads=1)
    train_adapter(base, DOCS[:1], settings, tmp_path / "a", checkpoint_dir=tmp_path / "c")
    other = TrainSettings(**{**settings.recipe(), "seed": 1}, threads=1)
    with pytest.raises(ModelError, match="other settings"):
        train_adapter(base, DOCS[:1], other, tmp_path / "b", checkpoint_dir=tmp_path / "c")


@pytest.mark.parametrize(
    ("settings", "documents", "match"),
    [
        (TrainSettings(rank=0), DOCS, "rank of 1 or more"),
        (FAST, [], "no documents to train on"),
        (FAST, [TrainingDocument("bafyx", "   ")], "has no text"),
        (FAST, [DOCS[0], DOCS[0]], "listed twice"),
        (TrainSettings(augmentation="templates"), DOCS, "unknown augmentation"),
    ],
)
def test_bad_input_is_refused_in_one_sentence(base, tmp_path, settings, documents, match):
    with pytest.raises(InputError, match=match):
        train_adapter(base, documents, settings, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_base_that_is_not_a_causal_lm_is_refused(tmp_path):
    encoder = build_tiny_embedder(tmp_path / "bert")
    with pytest.raises(ModelError, match="not a causal language model"):
        train_adapter(encoder, DOCS, FAST, tmp_path / "out")
    with pytest.raises(ModelError, match="no base model folder"):
        train_adapter(tmp_path / "nowhere", DOCS, FAST, tmp_path / "out")


def test_an_output_folder_with_files_is_refused(base, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="already holds files"):
        train_adapter(base, DOCS, FAST, tmp_path / "out")


@pytest.mark.slow
def test_a_few_steps_on_the_real_model(tmp_path):
    settings = TrainSettings(rank=4, alpha=8, epochs=1, max_tokens=64, augmentation="sentences")
    result = train_adapter(default_gemma_dir(), DOCS[:2], settings, tmp_path / "out")
    adapter = read_adapter(result.folder)
    assert adapter.rank == 4 and result.steps >= 1
    assert all(torch.isfinite(torch.tensor(result.losses)))
    manifest = json.loads((result.folder / "training_manifest.json").read_text())
    assert manifest["contributions"] == ["bafy0", "bafy1"]
