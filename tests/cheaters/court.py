"""One home and chain where an honest node and one node per lie answer the same client, settle
an epoch each, and two validators re-check, challenge, vote and resolve; a lying challenger
accuses the honest node. Built once per module: the tests read what came of it. Payouts
that do not follow the receipts are proven by the payout prover and slashed at once; no
committee votes on them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from backends import free_port
from gov_helpers import enact
from money_helpers import TSR, advance_home_chain
from node_helpers import FACTS, LiveNode

from tessera import Tessera
from tessera._chain.disputes import ANSWER, COMMITTEE_KINDS, OPEN, WITHHELD, Challenge
from tessera._client import NodeClient
from tessera._crypto.receipt import Receipt
from tessera._models import load_generator
from tessera._node.byzantine import LIES, build_byzantine_node
from tessera._node.config import NodeConfig
from tessera._node.runtime import build_node
from tessera._payments.bundle import EpochBundle, load_bundle
from tessera._validator.evidence import evidence_for
from tessera._validator.runtime import ValidatorConfig, ValidatorRuntime, build_validator

QUESTIONS = [
    "Who founded the Ulora Brewery?",
    "What colour does the Pleno Orchestra use?",
    "When was the Lunqui Brewery founded?",
    "Where is the Gravlun Institute headquartered?",
]
# one client per question: an invented receipt bills its client beyond what the client's
# voucher covers for a further request, so each client asks each node once
CLIENTS = ("alice", "bob", "erin", "frank")
EPOCH_LIES = ("skewed-payouts", "withheld-bundle")  # told once per epoch: always, here
LIE_RATE = 0.5  # the answer lies: about half the answers, so honest ones sit beside them
SEED = 3  # makes every answer liar lie on some of the questions and not on others
MIN_EFFECT = 0.1  # the tiny model's documents move its answers by tenths of a nat
STAKE = 1_000 * TSR
HONEST = "operator"


@dataclass
class Court:
    t: Any
    nodes: dict[str, LiveNode]  # account -> node; HONEST and one per lie, named by the lie
    validators: list[ValidatorRuntime]
    bundles: dict[str, EpochBundle]  # account -> its epoch 0
    false_challenge: int  # the lying challenger's, against the honest node
    tokens: dict[str, tuple[int, int]]  # mallory and HONEST: tokens before and after judging
    honest_claimed: int  # what the honest node claimed once its window closed

    def address(self, account: str) -> str:
        return self.t.address(account)

    def challenges(self, account: str) -> list[Challenge]:
        return self.t.challenges(self.address(account))

    def receipts(self, account: str) -> tuple[Receipt, ...]:
        """What the account's node settled in epoch 0, in bundle order."""
        return self.bundles[account].receipts


def open_court(tmp_path, generator, embedder) -> Iterator[Court]:
    t = Tessera.init(tmp_path / "home", chain="inprocess", password="pw", scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0")
    for i, author in enumerate(("carol", "dave")):  # two contributors: weight can move
        t.new_account(author)
        source = tmp_path / f"facts-{author}.jsonl"
        source.write_text("".join(f'{{"text": "{f}"}}\n' for f in FACTS[i::2]))
        t.contribute("facts", [source], account=author)
    for name in (*CLIENTS, "mallory", "v1", "v2", HONEST, *LIES):
        t.new_account(name)
        t.transfer(3 * STAKE, name)
    for client in CLIENTS:  # once for every deposit to come
        t.settlement.token.approve(t.signer(client), t.settlement.address, 100 * TSR)
    started: list[Any] = []
    try:
        nodes = {a: _serve(t, a, generator, embedder, started) for a in (HONEST, *LIES)}
        bundles = {a: _ask_and_settle(t, a, nodes[a]) for a in nodes}
        advance_home_chain(t, 1)  # the block after the posts fixes the samples
        own = load_generator(str(generator.folder))  # the engines rewrite the nodes' layers
        validators = []
        for name in ("v1", "v2"):
            t.stake_validator(STAKE, name)
            config = replace(ValidatorConfig(), sample_rate=1.0, follow_interval_s=3600)
            runtime = build_validator(t.validator_parts(name), config, own, embedder)
            started.append(runtime)
            validators.append(runtime)
        before = {a: t.wallet(a).tokens for a in ("mallory", HONEST)}
        false_challenge = _accuse(t, HONEST, bundles[HONEST])
        _judge(t, [v.validator for v in validators])
        tokens = {a: (before[a], t.wallet(a).tokens) for a in before}
        advance_home_chain(t, t.settlement.periods().challenge_period)
        claimed = sum(c.amount for c in t.claim(HONEST))
        yield Court(t, nodes, validators, bundles, false_challenge, tokens, claimed)
    finally:
        for thing in reversed(started):
            thing.stop() if isinstance(thing, LiveNode) else thing.close()


def _serve(t: Any, account: str, generator: Any, embedder: Any, started: list[Any]) -> LiveNode:
    port = free_port()
    config = NodeConfig(
        datanets=("facts",),
        port=port,
        settle_check_s=None,
        follow_interval_s=3600,
        min_effect=MIN_EFFECT,
    )
    parts = t.node_parts(account)
    if account == HONEST:
        node = build_node(parts, config, generator, embedder)
    else:
        rate = 1.0 if account in EPOCH_LIES else LIE_RATE
        node = build_byzantine_node(parts, config, account, rate, generator, embedder, seed=SEED)
    live = LiveNode(t, node, port)
    started.append(live)
    digest = node.service.weights_digest
    if not t.gov.policy.was_approved(config.model_id, digest):
        enact(t, t.gov.actions.approve_model(config.model_id, digest, t.address()), "approve")
    t.register_node(live.url, STAKE, account)
    for client in CLIENTS:  # not t.deposit: the wallet it returns reads every channel's logs
        t.settlement.deposit(t.signer(client), t.address(account), TSR)
    return live


def _ask_and_settle(t: Any, account: str, live: LiveNode) -> EpochBundle:
    for name, question in zip(CLIENTS, QUESTIONS, strict=True):
        client = NodeClient(live.url, payer=t.payer(name))
        try:
            client.ask(question)
        finally:
            client.close()
    # the node's own settler: the payout and withholding lies live in it
    settled = live.node.settler.settle()
    assert settled is not None and settled.epoch == 0, settled
    return load_bundle(live.node.settler.store, settled.bundle_cid)


def _accuse(t: Any, account: str, bundle: EpochBundle) -> int:
    """A lying challenger claims the honest node's first answer is not its model's."""
    receipt = bundle.receipts[0]
    evidence = evidence_for(bundle.receipts_tree, 0, receipt)
    nonce, signature = receipt.authorization.nonce, receipt.authorization.signature
    return t.disputes.challenge_receipt(
        t.signer("mallory"),
        t.address(account),
        0,
        ANSWER,
        evidence,
        nonce,
        bytes.fromhex(signature.removeprefix("0x")),
    )


def _judge(t: Any, validators: list[Any]) -> None:
    """Tick through every phase: open, commit, reveal, and resolve after the deadlines."""
    for v in validators:
        v.tick()  # the first opens its challenges; both commit their votes
    for v in validators:
        v.tick()  # commits on what the other opened
    open_ = [c for c in t.challenges() if c.status == OPEN]
    committees = [c for c in open_ if c.kind in COMMITTEE_KINDS]
    if committees:
        advance_home_chain(t, max(c.commit_ends for c in committees) - t.settlement.now())
        for v in validators:
            v.tick()  # reveal
    ends = [c.deadline for c in open_ if c.kind in COMMITTEE_KINDS or c.kind == WITHHELD]
    if ends:
        advance_home_chain(t, max(ends) - t.settlement.now())
        for v in validators:
            v.tick()  # resolve
