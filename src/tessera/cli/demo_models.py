"""The demo's model builder: trains an adapter on the demo datanet, publishes it with its
provenance, and token holders approve it (with the base) naming the builder as royalty owner."""

from __future__ import annotations

from rich.console import Console

import tessera
from tessera.cli import render

DEMO_ADAPTER = "demo-facts-lora"
BASE_MODEL = "gemma-3-270m"


def build_adapter(t: tessera.Tessera, out: Console, datanet: str) -> tessera.ModelRecord:
    """The builder trains an adapter on a snapshot of `datanet` and publishes it."""
    # a short run so the demo stays within minutes: a small rank and two passes over the
    # documents and the questions the base model asks about their sentences, in the very
    # Question/Answer form the node prompts with
    settings = tessera.TrainSettings(rank=8, epochs=2, augmentation="questions")
    trained = t.train_model(DEMO_ADAPTER, [datanet], settings, account="builder")
    r = trained.result
    out.print(
        f"builder trains {DEMO_ADAPTER} (LoRA rank {settings.rank}) on {datanet}: "
        f"{len(trained.snapshot.documents)} contributions, {r.steps} steps, {r.tokens} tokens "
        f"at {r.tokens_per_s:.0f} tokens/s, final loss {r.final_loss:.2f}"
    )
    record = t.factory.publish(t.signer("builder"), DEMO_ADAPTER)
    out.print(
        f"published version {record.version}: digest {record.weights_digest[:18]}..., files "
        f"{record.manifest_cid}, data root {record.data_root[:18]}... on chain (block "
        f"{record.block}); `tessera model trace` goes from an answer to each contribution",
        soft_wrap=True,
    )
    trace = t.factory.trace(DEMO_ADAPTER)
    out.print(
        f"traced back from the chain: {len(trace.contributions)} contributions, "
        f"{'every claim checks out' if trace.ok else 'PROBLEMS: ' + '; '.join(trace.problems)}"
    )
    return record


def approve_models(t: tessera.Tessera, out: Console, adapter: tessera.ModelRecord) -> None:
    """One proposal approves the base and the adapter version, each with the builder as its
    royalty owner: the royalty follows a vote, so nobody can take it by naming a model first."""
    base = tessera.weights_digest(tessera.default_model_dir())  # the folder the node serves
    builder = t.address("builder")
    actions = t.gov.actions.approve_model(BASE_MODEL, base, builder)
    actions += t.gov.actions.approve_model(adapter.model_id, adapter.weights_digest, builder)
    proposal = t.gov.propose(
        actions, f"Approve {BASE_MODEL} and {adapter.model_id} v{adapter.version}; royalty to "
        f"{builder}",
    )  # fmt: skip
    t.gov.wait_for(proposal, tessera.ProposalState.ACTIVE)
    t.gov.vote(proposal, "for")
    t.gov.wait_for(proposal, tessera.ProposalState.SUCCEEDED)
    t.gov.queue(proposal)
    t.gov.execute(proposal, wait=True)
    out.print(
        f"token holders approve {BASE_MODEL} at {base[:18]}... and {adapter.model_id} at "
        f"{adapter.weights_digest[:18]}... (proposal {proposal}): royalties go to {builder}"
    )


def ask_through_adapter(t: tessera.Tessera, out: Console, url: str, question: str) -> None:
    """The client names the adapter as its model; the receipt names the adapter's version."""
    result = t.ask(question, node=url, model=DEMO_ADAPTER, account="client")
    assert result.receipt is not None
    t.verify_receipt(result.receipt)
    out.print(f"\n[bold]Q ({DEMO_ADAPTER}):[/bold] {question}\n[bold]A:[/bold] {result.text}")
    out.print(
        f"   receipt names {result.receipt.model} at {result.receipt.model_digest[:18]}..., "
        f"paid {render.tsr(result.receipt.price)}: the royalty share goes to its builder"
    )
    r = result.receipt
    if r.training:
        top = r.training[0]
        out.print(
            f"   and {r.training_share_ppm / 1e4:.1f}% of the contributors' pool pays "
            f"{len(r.training)} contribution(s) the adapter learned it from (top {top.cid[:16]}"
            f"... at {top.weight_ppm / 1e4:.1f}%), traced on chain to their contributors"
        )
    else:
        out.print(
            f"   no text the adapter learned from gave this answer ({r.training_method or 'no'}"
            " training attribution): the contributors' pool pays its context"
        )
