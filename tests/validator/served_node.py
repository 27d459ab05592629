"""A live node on tiny models that signs real receipts, and a validator's Rechecker beside it
with its own copy of the weights (loaded without oneDNN, as another machine might run them),
its own query embedder, and the node's home's content store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from node_helpers import build_test_node

from tessera._crypto.receipt import DatanetSnapshot, Receipt
from tessera._data.vectors import Hit
from tessera._inference.engine import Completion
from tessera._models import (
    GeneratorConfig,
    load_embedder,
    load_generator,
)
from tessera._node import wire
from tessera._node.questions import from_chat
from tessera._node.service import Answer, Question
from tessera._validator.finding import Finding, proven
from tessera._validator.recheck import Rechecker, RecheckModel, RecheckWorld
from tessera._validator.terms import NodeTerms

MIN_EFFECT = 0.1  # the tiny model's documents move its answers by tenths of a nat
QUESTIONS = [
    "Who founded the Ulora Brewery?",
    "What colour does the Pleno Orchestra use?",
    "How many members has the Juora Brewery?",
    "When was the Lunqui Brewery founded?",
    "Where is the Gravlun Institute?",
    "Which brewery did Radul Thothosa found?",
    "Tell me about cobalt.",
    "What is in Vikvikdul?",
]


@dataclass
class Served:
    """A node and a validator watching it."""

    t: Any  # the node's Tessera home
    node: Any  # tessera._node.runtime.Node
    rechecker: Rechecker
    approved: set[tuple[str, str]]

    @property
    def service(self) -> Any:
        return self.node.service

    def question(self, text: str, **body: Any) -> Question:
        """The node's Question for a chat request, as its HTTP route builds it."""
        request = {"model": self.service.config.model_id, "max_tokens": 8, **body}
        request["messages"] = [{"role": "user", "content": text}]
        chat = wire.ChatRequest.model_validate(request)
        return from_chat(chat, [], self.service.config)

    def answer(
        self, questions: Sequence[Question], together: bool
    ) -> list[tuple[Answer, Completion]]:
        """Answers one at a time, or all submitted at once (batched in the engine's steps)."""
        service, done = self.service, []
        queued = [service.submit(q) for q in questions] if together else []
        for i, q in enumerate(questions):
            p = queued[i] if together else service.submit(q)
            completion = p.future.result()
            done.append((service.complete(q, completion, p), completion))
            service.release(p)
        return done

    def forge(self, receipt: Receipt, **changes: Any) -> Receipt:
        """The receipt changed and signed again by the node: a lie the node stands behind."""
        return replace(receipt, **changes, signature="").signed_by(self.service.node_key)

    def rechecker_with(self, **world: Any) -> Rechecker:
        """Another validator on the same weights, whose world differs in `world`'s parts."""
        r = self.rechecker
        model = RecheckModel(r.model, r.tokenizer, r.weights_digest)
        return Rechecker(model, replace(r.world, **world))


def build_served(tmp_path, generator, embedder) -> Iterator[Served]:
    t, node = build_test_node(
        tmp_path, generator, embedder, authors=("alice", "bob"), min_effect=MIN_EFFECT
    )
    service = node.service
    config = service.config
    mine = load_generator(str(generator.folder), GeneratorConfig(onednn=False))
    query_embedder = load_embedder(str(embedder.folder))

    def retrieve(text: str, snapshots: tuple[DatanetSnapshot, ...], k: int) -> list[Hit]:
        vector = query_embedder.embed([text])[0]
        return service.vectors.search(vector, k, [s.datanet for s in snapshots])

    approved = {(config.model_id, service.weights_digest)}
    terms = NodeTerms(
        0,  # a free node
        0,
        config.top_k,
        config.stop,
        config.default_max_tokens,
        config.max_tokens_limit,
    )
    world = RecheckWorld(
        t.store.get,
        retrieve,
        lambda node: terms,
        lambda model, digest: (model, digest) in approved,
        service.chain_id,
        service.verifying_contract,
    )
    rechecker = Rechecker(RecheckModel(mine.model, mine.tokenizer, service.weights_digest), world)
    yield Served(t, node, rechecker, approved)
    node.close()


def first_fault(findings: Sequence[Finding]) -> Finding:
    """What the daemon would challenge: the first proven finding."""
    faults = proven(findings)
    assert faults, f"no fault found: {findings}"
    return faults[0]
