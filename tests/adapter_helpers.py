"""Random PEFT LoRA adapters over a tiny base, saved as PEFT saves them, for serving tests;
published into a home's store and an in-memory registry; a validator that re-checks them."""

from __future__ import annotations

import functools
import itertools
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from tessera._attribution.training import LearnedIndex
from tessera._data.snapshot import SnapshotDocument, take_snapshot
from tessera._factory.provenance import artefacts_of, from_snapshot, write_provenance
from tessera._models import GeneratorConfig, load_generator
from tessera._models.digest import weights_digest
from tessera._models.learned_texts import write_training_texts
from tessera._models.model_card import config_hash
from tessera._models.publication import publish_model
from tessera._models.training_data import TrainingText
from tessera._node.adapters import AdapterFolders, bank_for
from tessera._node.catalog import ALL_ADAPTERS, AdapterCatalog, InMemoryCatalog
from tessera._node.learned import LearnedAdapters
from tessera._node.runtime import owners_on_chain
from tessera._validator.recheck import Rechecker, RecheckModel, RecheckWorld
from tessera._validator.terms import NodeTerms


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


def publish_adapter(t, catalog: InMemoryCatalog, base: Path, folder: Path, model_id: str):
    """`folder` put into home `t`'s store and published in `catalog` on `base`."""
    manifest = publish_model(t.store, folder, model_id)
    return catalog.publish(
        model_id, manifest.weights_digest, manifest.cid, weights_digest(base), "0xBuilder"
    )


Lessons = Callable[[list[SnapshotDocument]], list[TrainingText]]


def taught(t, folder: Path, into: Path, base: Path, lessons: Lessons, datanet="facts") -> Path:
    """A copy of adapter `folder` at `into` that says it learned `lessons(documents)` from a
    snapshot of `datanet` taken now: its provenance (traceable on chain) and its texts. The
    weights are `folder`'s, so it answers as that adapter does."""
    shutil.copytree(folder, into)
    policy = t.gov.policy.snapshot()
    snapshot = take_snapshot(t.registry, t.store, t.index, policy, [datanet])
    settings = {"recipe": "test lessons"}
    write_training_texts(into, lessons(list(snapshot.documents)))
    provenance = from_snapshot(
        into.name, t.address(), "tiny", weights_digest(base), snapshot, config_hash(settings),
        settings, artefacts_of(into),
    )  # fmt: skip
    write_provenance(into, provenance)
    return into


def adapter_rechecker(t, service, catalog: InMemoryCatalog, base: Path, root: Path) -> Rechecker:
    """A validator beside `service`'s node on its own copy of the base weights at `base`
    (without oneDNN), that fetches the adapters receipts name through `catalog` into `root`;
    it holds every model approved and the node's terms (a free node)."""
    mine = load_generator(str(base), GeneratorConfig(onednn=False))
    registry = AdapterCatalog(catalog, service.weights_digest, (ALL_ADAPTERS,), float("inf"))
    folders = AdapterFolders(t.store, root)
    adapter = functools.partial(folders.loader, registry)  # as the validator daemon does

    bank = bank_for(mine.model, 64, 8)
    tokenizer = mine.tokenizer
    index = LearnedIndex.for_tokenizer(tokenizer)

    def folder(digest):
        version = registry.by_digest(digest)
        return folders.folder(version) if version is not None else None

    model = RecheckModel(
        mine.model, mine.tokenizer, service.weights_digest, None, bank, adapter,
        LearnedAdapters(index, owners_on_chain(t.node_parts())), folder,
    )  # fmt: skip
    config = service.config
    terms = NodeTerms(0, 0, config.top_k, config.stop, config.default_max_tokens, 512)

    def retrieve(text, snapshots, k):
        vector = service.embed([text])[0]
        return service.vectors.search(vector, k, [s.datanet for s in snapshots])

    world = RecheckWorld(
        t.store.get, retrieve, lambda _: terms, lambda m, d: True, service.chain_id,
        service.verifying_contract, lambda at: t.gov.policy.snapshot().training_weight_at(at),
    )  # fmt: skip
    return Rechecker(model, world)


def answers_as_lessons(said: list[tuple[str, str]]) -> Lessons:
    """Lessons in which a document learned each of `said`'s answers ((question, answer)
    pairs: an adapter's own answers), taking the contributors in turn, and the rest their
    own text."""

    def lessons(documents: list[SnapshotDocument]) -> list[TrainingText]:
        assert len(documents) >= len(said), "a document per answer to learn"
        by: dict[str, list[SnapshotDocument]] = {}
        for d in documents:
            by.setdefault(d.contributor, []).append(d)
        turns = [d for row in itertools.zip_longest(*by.values()) for d in row if d is not None]
        n = len(said)
        taught = [
            TrainingText(d.cid, f"{q} {a}") for d, (q, a) in zip(turns[:n], said, strict=True)
        ]
        return [*taught, *(TrainingText(d.cid, d.text) for d in turns[n:])]

    return lessons


def ask_service(service, model: str, text: str, max_tokens: int = 6):
    """`service`'s answer to `text` asked of `model`, as its chat route would take it."""
    from tessera._node import questions, wire

    body = {"model": model, "max_tokens": max_tokens}
    body["messages"] = [{"role": "user", "content": text}]
    question = questions.from_chat(wire.ChatRequest.model_validate(body), [], service.config)
    return service.answer(questions.for_model(question, model, service))


def taught_node(root: Path, base: Path, embedder, asked: list[str], seed: int, **options):
    """A node (built by `options["build"]`, default honest) serving "acme/learned": a random
    adapter over `base` that says it learned each of `asked`'s answers from a contribution of
    its own (contributors "ann" and "bob" in turn); and a validator beside it.
    Returns (home, node, rechecker)."""
    from node_helpers import build_test_node

    catalog = InMemoryCatalog()
    raw = save_random_adapter(base, root / "raw", seed)

    def before(t):
        publish_adapter(t, catalog, base, raw, "acme/raw")

    t, node = build_test_node(
        root, load_generator(str(base)), embedder, min_effect=0.1, authors=("ann", "bob"),
        adapters=(ALL_ADAPTERS,), catalog=catalog, before=before, **options,
    )  # fmt: skip
    said = [(q, ask_service(node.service, "acme/raw", q).text) for q in asked]
    folder = taught(t, raw, root / "learned", base, answers_as_lessons(said))
    publish_adapter(t, catalog, base, folder, "acme/learned")
    return t, node, adapter_rechecker(t, node.service, catalog, base, root / "validator-models")
