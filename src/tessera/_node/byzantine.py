"""Nodes that lie, for the cheaters' suite and `bench/verify.py`: an honest node's parts with
one lie each, built by their own builder and never a flag on the honest node (Tendermint's
"maverick" node).

    node = build_byzantine_node(parts, config, "moved-weight", lie_rate=0.05, seed=7)
    node.book.receipts  # receipt id -> the lie it carries: what a validator must catch

Each lie is told on a fraction `lie_rate` of answers (of epochs, for the two epoch lies),
drawn deterministically from `seed`: the same questions asked in any order lie on the same
answers. What a validator's re-check must find for each is `CAUGHT_AS`.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from eth_utils import keccak

from tessera._crypto.authorization import authorize_request
from tessera._crypto.receipt import WEIGHT_SCALE, Receipt, canonical_json
from tessera._errors import InputError
from tessera._inference.engine import Completion, Engine, Job
from tessera._node.app import create_app
from tessera._node.catalog import CatalogSource, ServedVersion
from tessera._node.config import NodeConfig
from tessera._node.runtime import Node, build_node
from tessera._node.service import (
    Answer,
    ChainAndStorage,
    NodeService,
    Pending,
    Question,
    ServedModel,
    Source,
    TrainedSource,
)
from tessera._parts import NodeParts
from tessera._payments.bundle import EpochBundle, load_bundle
from tessera._payments.epochs import EpochSettler, Uncollectable
from tessera._payments.ledger import BUILT, EpochRow
from tessera._payments.payouts import PayoutTree
from tessera._payments.split import CONTRIBUTOR, NODE, TREASURY, split_receipt
from tessera._payments.trace import state_of
from tessera._store.base import BlobStore
from tessera._store.local import LocalBlobStore

# lie -> the re-check finding (or, for a withheld bundle, the challenge) that catches it
CAUGHT_AS = {
    "other-model": "answer",  # the named weights do not give these tokens
    "changed-answer": "answer",
    "phantom-document": "prompt",  # credits a document outside the prompt's context
    "moved-weight": "attribution",  # the method recomputed weighs the sources otherwise
    "invented-receipt": "authorization",  # no client signed the request
    "replayed-authorization": "replayed",  # one signed request billed twice (the bundle scan)
    "skewed-payouts": "payouts",  # the payout root does not follow the receipts
    "withheld-bundle": "withheld",  # nobody can fetch the bundle; the node does not produce
}
LIES = tuple(CAUGHT_AS)
# lies only a node serving adapters can tell (kept out of LIES: the court's nodes serve none)
ADAPTER_LIES = {
    "base-as-adapter": "answer",  # the base model answered; the receipt names the adapter
    # the top training contribution's weight moved to another the adapter learned from
    "moved-training-credit": "attribution",
}
CHANGED_WORDS = (" never", " nobody")  # what a changed answer says instead of its first token
OTHER_MODEL_SEED = 1  # the cheaper model a lying node serves unless handed one


@dataclass
class LieBook:
    """Which answers (and epochs) lied, and how: the truth a validator is measured against."""

    lie: str
    rate: float
    seed: int = 0
    receipts: dict[str, str] = field(default_factory=dict)  # receipt id -> what was lied
    epochs: dict[int, str] = field(default_factory=dict)  # epoch -> what was lied
    _seen: Counter[bytes] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def draw(self, key: bytes) -> bool:
        """Whether to lie on the `n`-th occurrence of `key`: keccak(seed, key, n) below rate."""
        with self._lock:
            n = self._seen[key]
            self._seen[key] += 1
        h = keccak(self.seed.to_bytes(32, "big") + keccak(key) + n.to_bytes(32, "big"))
        return int.from_bytes(h[:8], "big") < self.rate * 2**64

    def lied(self, receipt_id: str, detail: str) -> None:
        with self._lock:
            self.receipts[receipt_id] = detail


@dataclass
class ByzantineNode(Node):
    book: LieBook = field(default_factory=lambda: LieBook("", 0.0))


# answers ------------------------------------------------------------------------------------


class LyingService(NodeService):
    """The honest service's parts; it answers as the honest one does, then lies on the drawn
    answers (`lie_about`)."""

    def __init__(self, honest: NodeService, book: LieBook, engine: Engine | None = None) -> None:
        model = ServedModel(
            engine or honest.engine,
            honest.prompts,
            honest.embed,
            honest.weights_digest,
            honest.adapters,
        )
        world = ChainAndStorage(
            honest.follower,
            honest.vectors,
            honest.store,
            honest.receipts,
            honest.node_key,
            honest.chain_id,
            honest.verifying_contract,
            honest.payments,
            honest.policy,
        )
        super().__init__(honest.config, model, world)
        self.book = book

    def complete(self, question: Question, completion: Completion, pending: Pending) -> Answer:
        answer = super().complete(question, completion, pending)
        if answer.receipt is None or not self.drawn(answer.receipt, pending):
            return answer
        return self.lie_about(answer, question, completion, pending)

    def drawn(self, receipt: Receipt, pending: Pending) -> bool:
        return self.book.draw(receipt.request_hash)

    def lie_about(
        self, answer: Answer, question: Question, completion: Completion, pending: Pending
    ) -> Answer:
        raise NotImplementedError

    def _resigned(
        self,
        answer: Answer,
        question: Question,
        completion: Completion,
        pending: Pending,
        sources: list[Source],
    ) -> Answer:
        """The answer as `completion` and `sources` say, under a receipt signed for them."""
        context = tuple(h.cid for h in pending.hits)
        client = pending.reservation.client
        receipt = self._receipt(answer.id, question, client, completion, sources, context)
        receipt = self._with_training(receipt, answer.training)
        return replace(
            answer,
            text=completion.text,
            completion_tokens=len(completion.answer_ids),
            sources=sources,
            receipt=receipt,
        )


class OtherModelService(LyingService):
    """Drawn answers come from another model's weights; the receipt names the approved one."""

    engine: SwitchedEngine

    def drawn(self, receipt: Receipt, pending: Pending) -> bool:
        return self.engine.took(pending.future)

    def lie_about(
        self, answer: Answer, question: Question, completion: Completion, pending: Pending
    ) -> Answer:
        assert answer.receipt is not None
        self.book.lied(answer.receipt.id, "generated by another model's weights")
        return answer


class BaseAsAdapterService(LyingService):
    """Drawn answers asked of an adapter are generated by the base model alone (no adapter
    loaded, no slot taken) and billed as the adapter's: its receipt names the adapter."""

    def __init__(self, honest: NodeService, book: LieBook) -> None:
        super().__init__(honest, book)
        self._on_base: set[Future[Completion]] = set()

    def _generate(self, job: Job, model: ServedVersion | None) -> Any:
        if (
            model is None
            or model.adapter is None
            or not self.book.draw(repr(job.prompt.ids).encode())
        ):
            return super()._generate(job, model)
        future = self.engine.submit(job)
        self._on_base.add(future)
        return future

    def drawn(self, receipt: Receipt, pending: Pending) -> bool:
        taken = pending.future in self._on_base
        self._on_base.discard(pending.future)
        return taken

    def lie_about(
        self, answer: Answer, question: Question, completion: Completion, pending: Pending
    ) -> Answer:
        assert answer.receipt is not None
        self.book.lied(
            answer.receipt.id, f"the base model's answer billed as {answer.receipt.model}"
        )
        return answer


class ChangedAnswerService(LyingService):
    """The answer's first token is replaced after generation, and the receipt signed for it."""

    def lie_about(
        self, answer: Answer, question: Question, completion: Completion, pending: Pending
    ) -> Answer:
        tokenizer = self.engine.tokenizer
        words = [tokenizer.encode(w, add_special_tokens=False)[0] for w in CHANGED_WORDS]
        tokens = list(completion.answer_ids)
        first = words[1] if tokens[:1] == words[:1] else words[0]
        changed = [first, *tokens[1:]]
        text = tokenizer.decode(changed, skip_special_tokens=True).lstrip()
        lied = self._resigned(
            answer,
            question,
            replace(completion, text=text, answer_ids=changed),
            pending,
            answer.sources,
        )
        assert lied.receipt is not None
        self.book.lied(lied.receipt.id, f"first token {tokens[:1]} replaced by {first}")
        return lied


class PhantomDocumentService(LyingService):
    """Credits a contribution of the served datanets that the prompt never held (the next one
    retrieval would rank) with the top source's weight, or all of it if none mattered."""

    def lie_about(
        self, answer: Answer, question: Question, completion: Completion, pending: Pending
    ) -> Answer:
        policy = self.content_policy()
        served = [d for d in self.follower.snapshots if d not in policy.blocked_datanets]
        held = frozenset(h.cid for h in pending.hits)
        query = self.embed([question.text])[0]
        found = self.vectors.search(query, 1, served, exclude=policy.blocked_cids | held)
        if not found:
            return answer  # every contribution is in the prompt: nothing to invent
        hit = found[0]
        names = {s.datanet: s.name for s in self.follower.snapshots.values()}
        phantom = Source(
            hit.cid, hit.contributor, hit.datanet, names[hit.datanet], hit.score, 0.0, 0.0, 0
        )
        sources = _weight_moved(answer.sources, phantom)
        lied = self._resigned(answer, question, completion, pending, sources)
        assert lied.receipt is not None
        self.book.lied(lied.receipt.id, f"credits {hit.cid}, not in the prompt")
        return lied


class MovedWeightService(LyingService):
    """Moves the top source's weight (all of it when none mattered) to the last document of
    the prompt written by another contributor: one the node controls."""

    def lie_about(
        self, answer: Answer, question: Question, completion: Completion, pending: Pending
    ) -> Answer:
        top = max(answer.sources, key=lambda s: s.weight_ppm, default=None)
        if top is None:
            return answer  # nothing retrieved
        others = [
            s
            for s in answer.sources
            if s.cid != top.cid and (top.weight_ppm == 0 or s.contributor != top.contributor)
        ]
        if not others:
            return answer  # no other contributor's document in the prompt
        order = {h.cid: i for i, h in enumerate(pending.hits)}
        target = max(others, key=lambda s: order[s.cid])
        sources = _weight_moved(answer.sources, target)
        lied = self._resigned(answer, question, completion, pending, sources)
        assert lied.receipt is not None
        self.book.lied(lied.receipt.id, f"weight of {top.cid} moved to {target.cid}")
        return lied


class InventedReceiptService(LyingService):
    """Beside a drawn answer, saves a receipt for a request nobody made: the same question
    with another `user` field, billed to the same client, whose authorization the node forged
    with its own key. Only a paying node bills it (a free node's receipts are never settled)."""

    def lie_about(
        self, answer: Answer, question: Question, completion: Completion, pending: Pending
    ) -> Answer:
        real = answer.receipt
        assert real is not None
        request = {**real.request, "user": f"invented-for-{real.id}"}
        forged = authorize_request(
            self.node_key,
            self.chain_id,
            self.verifying_contract,
            self.node_key.address,
            keccak(canonical_json(request)),
        )
        invented = replace(
            real, id=real.id + "-invented", request=request, authorization=forged, signature=""
        ).signed_by(self.node_key)
        self.receipts.save(invented)
        self.book.lied(invented.id, f"invented beside {real.id}; authorization forged")
        return answer


class ReplayedAuthorizationService(LyingService):
    """Beside a drawn answer, saves a second receipt for the same request under the client's
    same authorization, a second later: a request its client signed once, billed twice. Each
    receipt alone is honest; only the two together are the lie."""

    def lie_about(
        self, answer: Answer, question: Question, completion: Completion, pending: Pending
    ) -> Answer:
        real = answer.receipt
        assert real is not None
        if real.authorization is None:
            return answer  # a free answer: nothing to bill twice
        again = replace(real, id=real.id + "-again", timestamp=real.timestamp + 1, signature="")
        self.receipts.save(again.signed_by(self.node_key))
        self.book.lied(again.id, f"bills the authorization of {real.id} again")
        return answer


class MovedTrainingCreditService(LyingService):
    """On an adapter's answer that credits its training data, moves the top training
    contribution's weight to the last other contribution the adapter learned from that
    another contributor registered (one the node controls), and signs the receipt for it."""

    def lie_about(
        self, answer: Answer, question: Question, completion: Completion, pending: Pending
    ) -> Answer:
        training, receipt = answer.training, answer.receipt
        learned = self.adapters.learned if self.adapters is not None else None
        digest = completion.adapter_digest
        if not (training and training.sources and receipt and learned and digest):
            return answer  # nothing trained on was credited: no credit to move
        owners = learned.owners(digest) or {}
        top = training.sources[0]
        others = [
            c for c in learned.index.contributions(digest)
            if owners[c].contributor != top.contributor
        ]  # fmt: skip
        if not others:
            return answer
        target = others[-1]
        kept = {s.cid: s for s in training.sources if s.cid != top.cid}
        was = kept.pop(target, None)
        ppm = top.weight_ppm + (was.weight_ppm if was is not None else 0)
        owner = owners[target]
        moved = TrainedSource(target, owner.contributor, owner.datanet, 0.0, ppm / 1e6, ppm)
        sources = tuple(sorted([*kept.values(), moved], key=lambda s: (-s.weight_ppm, s.cid)))
        lied = replace(training, sources=sources)
        signed = self._with_training(replace(receipt, signature=""), lied)
        self.book.lied(signed.id, f"training credit of {top.cid} moved to {target}")
        return replace(answer, training=lied, receipt=signed)


def _weight_moved(sources: list[Source], target: Source) -> list[Source]:
    """`sources` with the top one's weight moved to `target` (added if not among them); all
    of the weight when no source mattered. Ordered as the honest node orders them."""
    top = max(sources, key=lambda s: s.weight_ppm, default=None)
    moved = top.weight_ppm if top is not None and top.weight_ppm > 0 else WEIGHT_SCALE
    kept = [s for s in sources if s.cid != target.cid]
    if top is not None and top.weight_ppm > 0:
        kept = [replace(s, weight=0.0, weight_ppm=0) if s.cid == top.cid else s for s in kept]
    ppm = target.weight_ppm + moved
    out = [*kept, replace(target, weight=ppm / WEIGHT_SCALE, weight_ppm=ppm)]
    return sorted(out, key=lambda s: (-s.weight_ppm, -s.similarity))


class SwitchedEngine(Engine):
    """An engine over another model (same tokenizer) that takes only the drawn jobs, handing
    every other one to the approved model's engine."""

    def __init__(self, approved: Engine, other: Any, book: LieBook) -> None:
        super().__init__(other.model, other.tokenizer, approved.max_batch, approved.attributor)
        self.lock = approved.lock  # one torch user at a time, as with one engine
        self.approved, self.book = approved, book
        self._taken: set[Future[Completion]] = set()

    def submit(self, job: Job) -> Future[Completion]:
        if not self.book.draw(repr(job.prompt.ids).encode()):
            return self.approved.submit(job)
        future = super().submit(job)
        self._taken.add(future)
        return future

    def took(self, future: Future[Completion]) -> bool:
        """Whether the other model answered; asked once per answer."""
        taken = future in self._taken
        self._taken.discard(future)
        return taken

    def close(self) -> None:
        super().close()
        self.approved.close()


# epochs -------------------------------------------------------------------------------------


class SkewedSettler(EpochSettler):
    """Posts payouts that do not follow the receipts: the contributors' part of each drawn
    receipt (the treasury's when it credits none) is paid to the node."""

    def __init__(self, honest: EpochSettler, book: LieBook) -> None:
        super().__init__(
            honest.settlement,
            honest.policy,
            honest.store,
            honest.db,
            honest.node_key,
            honest.lock_path,
        )
        self.book = book

    def _build(
        self, epoch: int, previous: EpochRow | None
    ) -> tuple[EpochRow | None, list[Uncollectable]]:
        row, waiting = super()._build(epoch, previous)
        if row is None:
            return row, waiting
        bundle = load_bundle(self.store, row.bundle_cid)
        skewed, lied = self._skewed(bundle)
        if not lied:
            return row, waiting
        cid = self.store.put(skewed.to_bytes())
        self.db.discard_epoch(epoch)  # the settler's own rebuild path: re-record, same receipts
        self.db.begin_epoch(epoch, cid, [r.id for r in bundle.receipts])
        for receipt_id in lied:
            self.book.lied(receipt_id, "its contributors' part paid to the node")
        self.book.epochs[epoch] = f"{len(lied)} receipts' payouts moved to the node"
        return EpochRow(epoch, BUILT, cid, None), waiting

    def _skewed(self, bundle: EpochBundle) -> tuple[EpochBundle, list[str]]:
        lied = {r.id for r in bundle.receipts if r.price > 0 and self.book.draw(r.request_hash)}
        tree, states = PayoutTree(bundle.node, bundle.previous), []
        for receipt in bundle.receipts:  # the node commits to the states its lie leads to
            mine = split_receipt(receipt, bundle.split, bundle.owner_of(receipt))
            if receipt.id in lied:
                taken = CONTRIBUTOR if any(c.role == CONTRIBUTOR for c in mine) else TREASURY
                mine = [
                    replace(c, recipient=bundle.node, role=NODE) if c.role == taken else c
                    for c in mine
                ]
            for credit in mine:
                tree.credit(credit.recipient, credit.amount)
            states.append(state_of(tree))
        skewed = replace(
            bundle,
            cumulative=dict(tree.amounts),
            root="0x" + tree.root.hex(),
            total=tree.total,
            trace=tuple(states),
        )
        return skewed, sorted(lied)


class WithholdingSettler(EpochSettler):
    """Builds every bundle in a store nobody reads and hands on only the epochs not drawn:
    a drawn epoch is posted, but nobody can fetch its bundle, and the node never produces a
    receipt of it when challenged."""

    def __init__(self, honest: EpochSettler, book: LieBook, hidden: BlobStore) -> None:
        super().__init__(
            honest.settlement, honest.policy, hidden, honest.db, honest.node_key, honest.lock_path
        )
        self.public, self.book = honest.store, book

    def _build(
        self, epoch: int, previous: EpochRow | None
    ) -> tuple[EpochRow | None, list[Uncollectable]]:
        row, waiting = super()._build(epoch, previous)
        if row is None:
            return row, waiting
        if self.book.draw(f"epoch {epoch}".encode()):
            self.book.epochs[epoch] = "bundle withheld"
        else:
            self.public.put(self.store.get(row.bundle_cid))
        return row, waiting


# the builder --------------------------------------------------------------------------------

_SERVICES: dict[str, type[LyingService]] = {
    "changed-answer": ChangedAnswerService,
    "phantom-document": PhantomDocumentService,
    "moved-weight": MovedWeightService,
    "invented-receipt": InventedReceiptService,
    "replayed-authorization": ReplayedAuthorizationService,
    "base-as-adapter": BaseAsAdapterService,
    "moved-training-credit": MovedTrainingCreditService,
}


def build_byzantine_node(
    parts: NodeParts,
    config: NodeConfig,
    lie: str,
    lie_rate: float = 1.0,
    generator: Any = None,
    embedder: Any = None,
    *,
    seed: int = 0,
    other_generator: Any = None,
    catalog: CatalogSource | None = None,
) -> ByzantineNode:
    """An honest node's parts with the lie named `lie` (one of `LIES`, or `ADAPTER_LIES`
    given `config.adapters` and their `catalog`) told on `lie_rate` of its answers.
    `other_generator`: what `other-model` serves (default: a tiny random Gemma 3, built once
    into the home)."""
    if lie not in CAUGHT_AS and lie not in ADAPTER_LIES:
        names = ", ".join((*LIES, *ADAPTER_LIES))
        raise InputError(f"unknown lie {lie!r}: choose one of {names}")
    if not 0.0 <= lie_rate <= 1.0:
        raise InputError(f"lie_rate must be between 0 and 1, not {lie_rate}")
    book = LieBook(lie, lie_rate, seed)
    settle_every = config.settle_check_s if config.payments else None
    honest = build_node(parts, replace(config, settle_check_s=None), generator, embedder, catalog)
    try:
        service, engine, settler = honest.service, honest.engine, honest.settler
        if lie == "other-model":
            engine = SwitchedEngine(engine, other_generator or _other_model(parts), book)
            service = OtherModelService(service, book, engine)
        elif lie in _SERVICES:
            service = _SERVICES[lie](service, book)
        elif lie == "skewed-payouts":
            settler = SkewedSettler(settler, book)
        else:
            hidden = LocalBlobStore(parts.home.path / "byzantine" / "withheld")
            settler = WithholdingSettler(settler, book, hidden)
    except BaseException:
        honest.close()
        raise
    node = ByzantineNode(
        service,
        create_app(service),
        honest.follower,
        engine,
        settler,
        honest.serving_lock,
        book=book,
    )
    if settle_every:
        node.start_settling(settle_every)
    return node


def _other_model(parts: NodeParts) -> Any:
    from tessera._models import TinyConfig, build_tiny_generator, load_generator

    folder = parts.home.path / "byzantine" / f"other-model-{OTHER_MODEL_SEED}"
    if not (folder / "config.json").exists():
        build_tiny_generator(folder, TinyConfig(seed=OTHER_MODEL_SEED))
    return load_generator(str(folder))
