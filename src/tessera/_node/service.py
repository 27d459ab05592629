"""One attributed answer: retrieve, generate, attribute, sign a receipt, save it, respond.

The HTTP routes only translate between OpenAI's wire format and this service; delivery.py
takes an answer to its client, whole or streamed, and settles its receipt's status.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from eth_account.signers.local import LocalAccount

from tessera._attribution.pool_share import training_share_ppm
from tessera._attribution.training import TrainingSpans
from tessera._attribution.weights import to_ppm
from tessera._chain.governance import PolicySnapshot
from tessera._crypto.authorization import ClientAuthorization
from tessera._crypto.receipt import ZERO_DIGEST, AttributedSource, DatanetSnapshot, Receipt
from tessera._data.vectors import Hit, VectorIndex
from tessera._errors import ChainError, NodeError
from tessera._inference.engine import Completion, Engine, Job
from tessera._inference.prompt import Prompt, PromptBuilder
from tessera._node.adapters import ServedAdapters
from tessera._node.catalog import ServedVersion
from tessera._node.config import NodeConfig
from tessera._node.follower import Follower
from tessera._node.health import SettlementHealth
from tessera._node.payments import FREE, PaymentGate, Reservation
from tessera._node.policy import NO_POLICY, PolicyWatch
from tessera._payments.ledger import ReceiptDB
from tessera._store.base import BlobStore


@dataclass(frozen=True)
class Question:
    text: str  # what retrieval searches for and the prompt asks
    request: dict[str, Any]  # the body as received, for the receipt's request hash
    max_tokens: int
    stop: tuple[str, ...]
    voucher: str | None = None  # the X-Tessera-Voucher header, if any
    ignore_eos: bool = False  # generate all max_tokens (a load test's equal work)
    authorization: ClientAuthorization | None = None  # the client's signature of the request
    on_text: Callable[[str], None] | None = None
    cancelled: Any = None  # threading.Event set when the client went away
    model: ServedVersion | None = None  # the version asked for (None: the base model)


@dataclass(frozen=True)
class PolicyNote:
    """What the content policy kept out of one answer, to tell the client."""

    version: int = 0
    withheld: tuple[str, ...] = ()  # blocked CIDs that would have ranked among the hits
    blocked_datanets: tuple[str, ...] = ()  # served datanets that were not searched
    stale: bool = False  # the chain could not be read: the last policy read was applied


@dataclass(frozen=True)
class Retrieved:
    hits: list[Hit]
    policy: PolicyNote


@dataclass(frozen=True)
class Pending:
    """A question queued for generation, with what was retrieved and what is reserved."""

    future: Any
    retrieved: Retrieved
    retrieval_seconds: float
    reservation: Reservation

    @property
    def hits(self) -> list[Hit]:
        return self.retrieved.hits


@dataclass(frozen=True)
class Source:
    cid: str
    contributor: str
    datanet: int
    datanet_name: str
    similarity: float
    effect: float
    weight: float
    weight_ppm: int


@dataclass(frozen=True)
class TrainedSource:
    cid: str
    contributor: str  # from its signed registration on chain, never from the adapter's files
    datanet: int
    effect: float  # nats of the answer's gain over the base credited to it
    weight: float
    weight_ppm: int
    withheld: bool = False  # governance blocked it after training: its share is never paid


@dataclass(frozen=True)
class TrainingAttribution:
    """What an adapter's answer owed its training data (training_spans.py's method), and the
    share of the contributors' pool paid for it (pool_share.py's governed rule)."""

    available: bool
    method: str
    sources: tuple[TrainedSource, ...]  # those that mattered, highest weight first
    note: str
    share_ppm: int = 0  # of the contributors' pool, as the receipt's merge applies it
    weight_bps: int = 0  # the governed training weight the share was measured with


def _paid_note(share_ppm: int, weight_bps: int, withheld: int) -> str:
    held = (
        f"; {withheld} blocked contribution(s) matched: their part goes to the treasury"
        if withheld
        else ""
    )
    return (
        f"paid in this answer's receipt: {share_ppm / 1e4:.2f}% of the contributors' pool, by "
        f"what the adapter gave the answer over the base model against what the documents "
        f"gave it (training weight {weight_bps / 1e4:g}, set by governance){held}"
    )


@dataclass(frozen=True)
class Answer:
    id: str
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    sources: list[Source]  # every retrieved document, best first, weight 0 if it did not matter
    receipt: Receipt | None
    timings: dict[str, float] = field(default_factory=dict)
    policy: PolicyNote = PolicyNote()  # what governance kept out: neither used nor paid
    training: TrainingAttribution | None = None  # None: the base model answered

    @property
    def attribution(self) -> list[Source]:
        return [s for s in self.sources if s.weight_ppm > 0]


@dataclass(frozen=True)
class ServedModel:
    """What answers: the engine and prompt builder over one model, and the query embedder."""

    engine: Engine
    prompts: PromptBuilder
    embed: Callable[[list[str]], Any]  # texts -> (n, dim) vectors, under the engine's lock
    weights_digest: str = ""  # the model version governance approves
    adapters: ServedAdapters | None = None  # None: the base model alone


@dataclass(frozen=True)
class ChainAndStorage:
    """What the service reads and writes outside itself: the chain and the node's storage."""

    follower: Follower  # the served datanets' snapshots, kept current from the chain
    vectors: VectorIndex
    store: BlobStore
    receipts: ReceiptDB
    node_key: LocalAccount  # signs receipts
    chain_id: int
    verifying_contract: str  # the registry: the receipts' EIP-712 domain
    payments: PaymentGate | None = None  # None: a free node, whose receipts carry price 0
    policy: PolicyWatch | None = None  # None: no governance to honour (tests of the bare node)


class NodeService:
    def __init__(self, config: NodeConfig, model: ServedModel, world: ChainAndStorage) -> None:
        self.config = config
        self.engine, self.prompts, self.embed = model.engine, model.prompts, model.embed
        self.weights_digest, self.adapters = model.weights_digest, model.adapters
        self.follower, self.vectors, self.store = world.follower, world.vectors, world.store
        self.receipts, self.node_key = world.receipts, world.node_key
        self.chain_id, self.verifying_contract = world.chain_id, world.verifying_contract
        self.payments, self.policy = world.payments, world.policy
        self.settlement_health = SettlementHealth()  # kept current by the node's settling loop

    # models ---------------------------------------------------------------------------------

    def base_version(self) -> ServedVersion:
        return ServedVersion(self.config.model_id, self.weights_digest)

    def served_versions(self) -> list[ServedVersion]:
        """The base model, then every adapter served now."""
        adapters = self.adapters.catalog.served() if self.adapters is not None else []
        return [
            self.base_version(),
            *(ServedVersion(a.model_id, a.weights_digest, a) for a in adapters),
        ]

    def served_version(self, model_id: str) -> ServedVersion:
        """The version a request's `model` names; NodeError 404 if this node does not serve
        it, 403 if governance has not approved it and this node requires approval."""
        adapter = None
        if model_id != self.config.model_id:
            adapter = self.adapters.catalog.get(model_id) if self.adapters is not None else None
            if adapter is None:
                raise NodeError(
                    f"this node does not serve model {model_id!r}: it serves "
                    f"{self.config.model_id!r} and the adapters /v1/models lists",
                    status=404,
                    code="model_not_found",
                    param="model",
                )
        version = ServedVersion(
            model_id, adapter.weights_digest if adapter else self.weights_digest, adapter
        )
        if self.config.require_approval and not self.content_policy().model_approved(
            model_id, version.weights_digest
        ):
            raise NodeError(
                f"model {model_id!r} (weights {version.weights_digest}) is not approved by "
                "governance, and this node serves approved models only: ask for an approved "
                "one (/v1/models says which)",
                status=403,
                code="model_not_approved",
                param="model",
            )
        return version

    # retrieval ------------------------------------------------------------------------------

    def content_policy(self) -> PolicySnapshot:
        return self.policy.current() if self.policy is not None else NO_POLICY

    def blocked_cids(self) -> frozenset[str]:
        """What governance blocked: the gateway does not hand it on either."""
        return self.content_policy().blocked_cids

    def retrieve(self, text: str) -> Retrieved:
        """Top-k contributions of the served datanets, leaving out what governance blocked."""
        policy = self.content_policy()
        served = self.follower.snapshots
        if not any(s.contributions for s in served.values()):
            names = ", ".join(s.name for s in served.values()) or "none"
            raise NodeError(
                f"the datanets this node serves ({names}) have no contributions yet: "
                "contribute with `tessera contribute NAME FILE` and ask again",
                status=422,
                code="datanet_empty",
            )
        allowed = [d for d in served if d not in policy.blocked_datanets]
        blocked = tuple(sorted(s.name for d, s in served.items() if d not in allowed))
        if not allowed:
            names = ", ".join(s.name for s in served.values())
            raise NodeError(
                f"every datanet this node serves ({names}) is blocked by the network's content "
                "policy (a passed governance proposal): `tessera gov status` shows it",
                status=451,
                code="content_blocked",
            )
        query, k, excluded = self.embed([text])[0], self.config.top_k, policy.blocked_cids
        kept = self.vectors.search(query, k, allowed, exclude=excluded)
        withheld: tuple[str, ...] = ()
        if excluded:  # name the blocked ones that would have ranked: one more search
            ranked = self.vectors.search(query, k, allowed)
            withheld = tuple(dict.fromkeys(h.cid for h in ranked if h.cid in excluded))
        stale = self.policy is not None and self.policy.error is not None
        return Retrieved(kept, PolicyNote(policy.version, withheld, blocked, stale))

    def build_prompt(self, question: Question, hits: list[Hit]) -> Prompt:
        documents = [self.store.get(h.cid).decode("utf-8") for h in hits]
        prompt = self.prompts.build(documents, question.text)
        limit = self.config.max_prompt_tokens
        if len(prompt.ids) + question.max_tokens > limit:
            raise NodeError(
                f"this request needs {len(prompt.ids)} prompt tokens plus up to "
                f"{question.max_tokens} new ones, over this node's context window of {limit} "
                "tokens: shorten the messages or lower max_tokens",
                status=400,
                code="context_length_exceeded",
                param="messages",
            )
        return prompt

    # answering ------------------------------------------------------------------------------

    def submit(self, question: Question, attribute: bool = True) -> Pending:
        """Check payment for the most the answer can cost, then retrieve and queue generation.
        Payment comes first so an unpaid request costs no retrieval and no tokenisation. The
        caller releases the reservation (`release`) once the receipt is saved or dropped."""
        began = time.perf_counter()
        # prompt and answer must fit the context window, so this bounds any prompt's price
        window = self.config.max_prompt_tokens
        worst = self.price(max(window - question.max_tokens, 0), question.max_tokens)
        reservation = self.reserve(question, worst)
        try:
            retrieved = self.retrieve(question.text)
            prompt = self.build_prompt(question, retrieved.hits)
            exact = self.price(len(prompt.ids), question.max_tokens)
            if self.payments is not None:
                reservation = self.payments.shrink(reservation, exact)
            job = Job(
                prompt, question.max_tokens, question.stop, attribute, question.on_text,
                ignore_eos=question.ignore_eos,
            )  # fmt: skip
            if question.cancelled is not None:
                job.cancelled = question.cancelled
            future = self._generate(job, question.model)
        except BaseException:
            if self.payments is not None:
                self.payments.release(reservation)
            raise
        return Pending(future, retrieved, time.perf_counter() - began, reservation)

    def _generate(self, job: Job, model: ServedVersion | None) -> Any:
        """Queue `job` on the base model or on the adapter `model` names."""
        if model is None or model.adapter is None:
            return self.engine.submit(job)
        if self.adapters is None:  # a version from served_version always has its adapters
            raise NodeError(f"this node serves no adapters, not {model.model_id!r}", status=404)
        future = self.adapters.submit(self.engine, job, model.adapter)
        if self.receipts.model_digest(model.model_id) != model.weights_digest:
            self.receipts.set_model_digest(model.model_id, model.weights_digest)  # its bundles'
        return future

    def reserve(self, question: Question, max_price: int) -> Reservation:
        if self.payments is None:
            return FREE
        try:
            return self.payments.reserve(question.voucher, max_price)
        except ChainError as exc:  # a revert included: the chain is not what the node expects
            raise NodeError(
                f"this node cannot check payment now: {exc}. Retry later",
                status=503,
                code="chain_unavailable",
            ) from None

    def release(self, pending: Pending) -> None:
        if self.payments is not None:
            self.payments.release(pending.reservation)

    def complete(self, question: Question, completion: Completion, pending: Pending) -> Answer:
        """Turn a finished generation into an attributed answer with a signed receipt."""
        hits = pending.hits
        answer_id = "chatcmpl-" + secrets.token_hex(12)
        context = tuple(h.cid for h in hits)
        effects = completion.effects or [0.0] * len(hits)
        weights = self.engine.attributor.weights(effects)  # the method's own rule
        ppm = to_ppm(weights)
        names = {s.datanet: s.name for s in self.follower.snapshots.values()}
        sources = [
            Source(h.cid, h.contributor, h.datanet, names.get(h.datanet, ""), h.score, e, w, p)
            for h, e, w, p in zip(hits, effects, weights, ppm, strict=True)
        ]
        sources.sort(key=lambda s: (-s.weight_ppm, -s.similarity))
        timings = {
            "retrieval": pending.retrieval_seconds,
            "generate": completion.generate_seconds,
            "attribute": completion.attribute_seconds,
        }
        receipt = None
        training = self._training(completion)
        if completion.finish_reason != "cancelled":
            client = pending.reservation.client
            receipt = self._receipt(answer_id, question, client, completion, sources, context)
            receipt = self._with_training(receipt, training)
        return Answer(
            answer_id,
            completion.text,
            completion.finish_reason,
            completion.prompt_tokens,
            len(completion.answer_ids),
            sources,
            receipt,
            timings,
            pending.retrieved.policy,
            training,
        )

    def _training(self, completion: Completion) -> TrainingAttribution | None:
        digest = completion.adapter_digest
        learned = self.adapters.learned if self.adapters is not None else None
        if digest is None or learned is None:
            return None
        method = next((m for m in self.engine.also if isinstance(m, TrainingSpans)), None)
        owners = learned.owners(digest)
        effects = completion.also.get(method.name) if method is not None else None
        if method is None or owners is None or effects is None:
            name = method.name if method is not None else ""
            return TrainingAttribution(False, name, (), learned.unavailable(digest))
        policy = self.content_policy()
        weights = method.weights(effects)
        cids = learned.index.contributions(digest)
        found = [
            TrainedSource(
                c, owners[c].contributor, owners[c].datanet, e, w, p,
                c in policy.blocked_cids or owners[c].datanet in policy.blocked_datanets,
            )
            for c, e, w, p in zip(cids, effects, weights, to_ppm(weights), strict=True)
            if p > 0
        ]  # fmt: skip
        found.sort(key=lambda s: (-s.weight_ppm, s.cid))
        weight = policy.training_weight_bps
        gains = completion.gains
        share = training_share_ppm(
            gains.get(self.engine.attributor.name), gains.get(method.name), weight
        )
        share = share if found else 0
        withheld = sum(s.withheld for s in found)
        return TrainingAttribution(
            True, method.name, tuple(found), _paid_note(share, weight, withheld), share, weight
        )

    def answer(self, question: Question, attribute: bool = True) -> Answer:
        """Answer in this thread and save the receipt as delivered."""
        pending = self.submit(question, attribute)
        try:
            answer = self.complete(question, pending.future.result(), pending)
            if answer.receipt is not None:
                self.receipts.save(answer.receipt)
            return answer
        finally:
            self.release(pending)

    def price(self, prompt_tokens: int, completion_tokens: int) -> int:
        if self.payments is None:
            return 0
        return (
            prompt_tokens * self.config.price_per_input_token
            + completion_tokens * self.config.price_per_output_token
        )

    def _receipt(
        self,
        answer_id: str,
        question: Question,
        client: str,
        completion: Completion,
        sources: list[Source],
        context: tuple[str, ...],
    ) -> Receipt:
        snapshots = tuple(
            DatanetSnapshot(s.datanet, s.root, s.batches)
            for s in sorted(self.follower.snapshots.values(), key=lambda s: s.datanet)
        )
        attribution = tuple(
            AttributedSource(s.cid, s.contributor, s.datanet, s.weight_ppm)
            for s in sources
            if s.weight_ppm > 0
        )
        model = question.model or self.base_version()
        unsigned = Receipt(
            id=answer_id,
            node=self.node_key.address,
            chain_id=self.chain_id,
            verifying_contract=self.verifying_contract,
            request=question.request,
            response_text=completion.text,
            model=model.model_id,
            datanets=snapshots,
            attribution=attribution,
            price=self.price(completion.prompt_tokens, len(completion.answer_ids)),
            client=client,
            timestamp=int(time.time()),
            model_digest=model.weights_digest or ZERO_DIGEST,
            context=context,
            answer_tokens=tuple(completion.answer_ids),
            method=self.engine.attributor.name,
            authorization=question.authorization,
        )
        return unsigned

    def _with_training(self, unsigned: Receipt, t: TrainingAttribution | None) -> Receipt:
        """The receipt with its training side (if any), signed: one receipt for both."""
        if t is not None:
            withheld = tuple(s.cid for s in t.sources if s.withheld)
            unsigned = replace(
                unsigned,
                training=tuple(
                    AttributedSource(s.cid, s.contributor, s.datanet, s.weight_ppm)
                    for s in t.sources
                ),
                training_method=t.method,
                training_share_ppm=t.share_ppm,
                training_weight_bps=t.weight_bps,
                withheld=withheld,
                withheld_to=self._withheld_to() if withheld else "",
            )
        return unsigned.signed_by(self.node_key)

    def _withheld_to(self) -> str:
        """Who blocked contributions' shares go to: the treasury (the zero address on a free
        node, whose receipts pay nothing)."""
        if self.payments is None:
            return "0x" + "00" * 20
        return self.payments.settlement.fee_split().treasury
