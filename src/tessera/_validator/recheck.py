"""Re-check one receipt: what its node signed, against the named weights and the network's data.

    rechecker = Rechecker(RecheckModel(model, tokenizer, digest), RecheckWorld(...))
    findings = rechecker.recheck(receipt)  # [] for an honest receipt

The prompt is rebuilt from the receipt's documents (fetched by CID) and its request's question,
as the node builds it; then, cheapest first, each check below returns its findings, and a
proven fault ends the re-check (the daemon challenges the first one). A finding that is
`inconclusive` (data that could not be had, a near tie within a tolerance) is reported and
never challenged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tessera._attribution.base import Answered, Attributor
from tessera._crypto.receipt import Receipt
from tessera._errors import InputError, ModelError, TesseraError
from tessera._inference.engine import eos_token_ids
from tessera._inference.lora import AdapterBank
from tessera._inference.packed import PackedModel
from tessera._inference.prompt import Prompt, PromptBuilder
from tessera._models.adapter import LoraAdapter
from tessera._node.learned import NOT_TRACED, LearnedAdapters
from tessera._validator.answer_check import Decoding, ForcedPass, check_answer, teacher_forced
from tessera._validator.attribution_check import (
    attributor_named,
    check_weights,
    engine_effects,
    engine_measure,
)
from tessera._validator.finding import Finding, proven
from tessera._validator.prompt_check import Retrieve, check_retrieval, fetch_documents
from tessera._validator.static_check import (
    Approved,
    check_client,
    check_model,
    check_price,
    check_signature,
    check_sources,
)
from tessera._validator.terms import Asked, NodeTerms, asked
from tessera._validator.training_check import (
    check_owners,
    check_share,
    check_training_weights,
    training_method_named,
)

RETRIEVAL_SLACK = 2  # fetch this many times top_k, to see how far a stray document ranks


@dataclass(frozen=True)
class RecheckModel:
    """The weights a validator re-executes on, loaded once."""

    model: Any  # a transformers causal LM
    tokenizer: Any
    weights_digest: str  # 0x-hex: the approved version these weights are
    prompts: PromptBuilder | None = None  # the nodes' prompt format; None: the default
    bank: AdapterBank | None = None  # slots over `model` for the adapters receipts name
    # weights digest -> what reads that adapter version on this base, its folder fetched by
    # CID (None: not one); the bank calls it only when the adapter is not resident
    adapters: Callable[[str], Callable[[], LoraAdapter] | None] | None = None
    # what each adapter learned from (its texts, their owners traced on chain), and the
    # fetched folder of the adapter with a weights digest: the training re-check's inputs
    learned: LearnedAdapters | None = None
    folder: Callable[[str], Path | None] | None = None


@dataclass(frozen=True)
class RecheckWorld:
    """What the re-checks read outside the model: the network's data and the chain's rules."""

    documents: Callable[[str], bytes]  # cid -> bytes: the fetching store's get
    retrieve: Retrieve
    terms: Callable[[str], NodeTerms]  # node address -> its advertised prices and rules
    approved: Approved  # policy.was_approved
    chain_id: int
    verifying_contract: str  # the registry: the receipts' EIP-712 domain
    # the governed training weight (bps) in force at a chain time (policy.training_weight_at)
    training_weight: Callable[[int], int] | None = None


@dataclass
class Transcript:
    """A receipt's prompt rebuilt, and the one teacher-forced pass over it once it has run."""

    question: Asked
    terms: NodeTerms
    prompt: Prompt
    forced: ForcedPass | None = None
    effects: list[float] | None = None  # what the attribution re-check measured, once it ran
    adapter: int | None = None  # the bank slot of the adapter the receipt names, while held
    context_gain: float | None = None  # what the documents gave the answer (nats), once run


class Rechecker:
    def __init__(self, model: RecheckModel, world: RecheckWorld) -> None:
        self.model, self.tokenizer = model.model, model.tokenizer
        self.weights_digest = model.weights_digest
        self.prompts = model.prompts or PromptBuilder(model.tokenizer)
        self.world = world
        self.bank, self.adapters = model.bank, model.adapters
        self.learned, self.folder = model.learned, model.folder
        self.packed = PackedModel(model.model, model.bank)  # the engine's own pass, for probes
        self.decoding = Decoding(
            model.tokenizer,
            eos_token_ids(model.model, model.tokenizer),
            getattr(model.model.config, "max_position_embeddings", 1 << 30),
        )

    def recheck(self, receipt: Receipt, node: str | None = None) -> list[Finding]:
        """Every check, cheapest first, until one proves a fault; `node`: the epoch's node,
        whose signature the receipt must carry (default: the node it names)."""
        return self.inspect(receipt, node)[0]

    def inspect(
        self, receipt: Receipt, node: str | None = None
    ) -> tuple[list[Finding], Transcript | None]:
        """`recheck`, and the transcript it re-ran (its forced pass and effects: what the
        deviation figures of bench/verify.py read); None where no prompt could be rebuilt."""
        if node is not None:  # the node field is not signed: the epoch says whose it is
            receipt = replace(receipt, node=node)
        read = self.transcript(receipt)
        transcript = read if isinstance(read, Transcript) else None
        found = self.check_static(receipt, transcript)
        if transcript is None:
            return [*found, *([read] if isinstance(read, Finding) else [])], None
        if proven(found):
            return found, transcript
        found += self.check_prompt(receipt, transcript)
        if proven(found):
            return found, transcript
        held = self._hold_adapter(receipt.model_digest, transcript)
        if isinstance(held, Finding):
            return [*found, held], transcript
        try:
            for check in (self.check_answer, self.check_attribution, self.check_training):
                found += check(receipt, transcript)
                if proven(found):
                    break
        finally:
            if self.bank is not None and transcript.adapter is not None:
                self.bank.release(transcript.adapter)
                transcript.adapter = None
        return found, transcript

    def _hold_adapter(self, digest: str, transcript: Transcript) -> Finding | None:
        """Re-execute on the weights the receipt names: the base, or the adapter version with
        that digest (held in a bank slot until released); a Finding when they cannot be had."""
        if digest.lower() == self.weights_digest.lower():
            return None
        load = None
        if self.bank is not None and self.adapters is not None:
            try:
                load = self.adapters(digest.lower())
            except TesseraError as exc:
                detail = f"the adapter with weights {digest} cannot be fetched: {exc}"
                return Finding("model", detail, inconclusive=True)
        if load is None or self.bank is None:
            detail = f"served by weights {digest}, which this validator does not hold"
            return Finding("model", detail, inconclusive=True)
        try:
            transcript.adapter = self.bank.acquire(digest.lower(), load)
        except ModelError as exc:  # busy slots, or an adapter that does not fit this base
            return Finding("model", f"the adapter {digest} cannot be loaded: {exc}", True)
        return None

    def transcript(self, receipt: Receipt) -> Transcript | Finding:
        """The prompt the node must have built, or why it cannot be rebuilt."""
        try:
            terms = self.world.terms(receipt.node)
        except TesseraError as exc:
            return Finding("price", f"the node's advertised terms cannot be read: {exc}", True)
        try:
            question = asked(receipt.request, terms)
        except InputError as exc:
            return Finding("prompt", f"{exc}: a node answers no such request")
        documents = fetch_documents(self.world.documents, receipt.context)
        if isinstance(documents, Finding):
            return documents
        return Transcript(question, terms, self.prompts.build(documents, question.text))

    # the checks -----------------------------------------------------------------------------

    def check_static(self, receipt: Receipt, transcript: Transcript | None = None) -> list[Finding]:
        """Signature, client authorization, model approval, credited documents; the price too
        given the rebuilt prompt (its token count)."""
        w = self.world
        found = check_signature(receipt, w.chain_id, w.verifying_contract)
        found += check_client(receipt, w.chain_id, w.verifying_contract)
        found += check_model(receipt, w.approved)
        found += check_sources(receipt)
        if transcript is not None:
            found += check_price(receipt, len(transcript.prompt.ids), transcript.terms)
        return found

    def check_prompt(self, receipt: Receipt, transcript: Transcript) -> list[Finding]:
        k = transcript.terms.top_k
        try:
            hits = self.world.retrieve(
                transcript.question.text, receipt.datanets, k * RETRIEVAL_SLACK
            )
        except TesseraError as exc:
            return [Finding("prompt", f"retrieval cannot be re-run: {exc}", inconclusive=True)]
        return check_retrieval(receipt.context, receipt.attribution, hits, k)

    def check_answer(self, receipt: Receipt, transcript: Transcript) -> list[Finding]:
        if impossible := self._impossible(receipt, transcript):
            return impossible
        return check_answer(
            self.forced_pass(receipt, transcript),
            self.decoding,
            len(transcript.prompt.ids),
            receipt.answer_tokens,
            receipt.response_text,
            transcript.question,
        )

    def check_attribution(self, receipt: Receipt, transcript: Transcript) -> list[Finding]:
        if impossible := self._impossible(receipt, transcript):
            return impossible
        method = attributor_named(receipt.method)
        if method is None:
            detail = f"unknown attribution method {receipt.method!r}: cannot recompute it"
            return [Finding("attribution", detail, inconclusive=True)]
        effects = self.effects(receipt, transcript, method)
        return check_weights(receipt.context, receipt.attribution, method, effects)

    def effects(self, receipt: Receipt, transcript: Transcript, method: Attributor) -> list[float]:
        """What `method`, run as the engine runs it, finds each context document was worth."""
        forced = self.forced_pass(receipt, transcript)
        answer, prompt = receipt.answer_tokens, transcript.prompt
        if not (prompt.doc_spans and answer):
            transcript.effects = engine_effects(self.packed, method, prompt, forced, answer)
            return transcript.effects
        answered = Answered(
            prompt.ids, prompt.prefix_len, prompt.doc_spans, answer, forced.logprobs(answer)
        )
        transcript.effects, transcript.context_gain = engine_measure(
            self.packed, method, answered, forced, transcript.adapter
        )
        return transcript.effects

    def check_training(self, receipt: Receipt, transcript: Transcript) -> list[Finding]:
        """The training side, redone from the adapter's published texts (training_check.py)."""
        digest = receipt.model_digest.lower()
        claims = bool(receipt.training or receipt.training_share_ppm or receipt.withheld)
        if digest == self.weights_digest.lower():
            if not claims:
                return []
            return [Finding("attribution", "a base model's answer credits training data")]
        if self.learned is None or self.folder is None:
            return [Finding("attribution", "training attribution is not re-checked here", True)]
        folder = self.folder(digest)
        if folder is not None:
            self.learned.learn(digest, folder)
        owners = self.learned.owners(digest)
        if owners is None:
            why = self.learned.unavailable(digest)
            if not claims:
                return []
            detail = f"the receipt pays training data, but {why}"
            return [Finding("attribution", detail, inconclusive=why == NOT_TRACED)]
        method = training_method_named(receipt.training_method, self.learned.index)
        if method is None:
            detail = f"training method {receipt.training_method!r} is not one to recompute"
            return [Finding("attribution", detail, inconclusive=True)]
        if impossible := self._impossible(receipt, transcript):
            return impossible
        forced = self.forced_pass(receipt, transcript)
        prompt, answer = transcript.prompt, receipt.answer_tokens
        answered = Answered(
            prompt.ids, prompt.prefix_len, prompt.doc_spans, answer, forced.logprobs(answer),
            digest,
        )  # fmt: skip
        effects, gain = engine_measure(self.packed, method, answered, forced, transcript.adapter)
        learned = self.learned.index.contributions(digest)
        if not receipt.training:
            if not any(w > 0 for w in method.weights(effects)):
                return []
            detail = "the receipt credits no training data, where its adapter's texts give some"
            return [Finding("attribution", detail, inconclusive=True)]
        found = check_owners(receipt, learned, owners)
        found = found or check_training_weights(receipt, learned, method, effects)
        if proven(found):
            return found
        weight = receipt.training_weight_bps
        if self.world.training_weight is not None:
            weight = self.world.training_weight(receipt.timestamp)
        return found + check_share(receipt, weight, transcript.context_gain, gain)

    def _impossible(self, receipt: Receipt, transcript: Transcript) -> list[Finding]:
        """An answer no engine on these weights could give: run nothing on it."""
        vocab = int(
            self.model.get_output_embeddings().out_features
        )  # a oneDNN layer has no .weight
        foreign = [t for t in receipt.answer_tokens if not 0 <= t < vocab]
        if foreign:
            detail = f"the answer holds token ids {foreign[:5]} outside the model's vocabulary"
            return [Finding("answer", detail)]
        length = len(transcript.prompt.ids) + len(receipt.answer_tokens)
        if length > self.decoding.max_positions:
            detail = f"prompt and answer hold {length} tokens, over the model's context window"
            return [Finding("answer", detail)]
        return []

    def forced_pass(self, receipt: Receipt, transcript: Transcript) -> ForcedPass:
        """The one teacher-forced pass over the prompt and the answer, run once per receipt."""
        if transcript.forced is None:
            ids, slot = transcript.prompt.ids, transcript.adapter
            held = (self.bank, slot) if self.bank is not None and slot is not None else None
            transcript.forced = teacher_forced(self.model, ids, receipt.answer_tokens, held)
        return transcript.forced
