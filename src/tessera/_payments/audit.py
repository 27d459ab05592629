"""Anyone's audit of a posted epoch: fetch its bundle, re-verify, recompute, compare.

tessera audit epoch 3 --node 0xNODE
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from eth_utils import to_checksum_address

from tessera._chain.governance import PolicyClient
from tessera._chain.settlement import SettlementClient
from tessera._crypto.receipt import Receipt
from tessera._crypto.voucher import Voucher
from tessera._errors import NotFoundError, SignatureError, TesseraError
from tessera._payments.bundle import EpochBundle, load_bundle
from tessera._payments.receipts_tree import PayoutState
from tessera._payments.trace import payout_states, receipt_version
from tessera._store.base import BlobStore


class ChallengeRecord(Protocol):
    """What the audit needs of a challenge on chain (the disputes client's record)."""

    @property
    def node(self) -> str: ...

    @property
    def epoch(self) -> int: ...


@dataclass
class AuditReport:
    node: str
    epoch: int
    bundle_cid: str
    receipts: int = 0
    redeemed: int = 0
    root_on_chain: str = ""
    root_recomputed: str = ""
    receipts_root_on_chain: str = ""
    receipts_root_recomputed: str = ""
    problems: list[str] = field(default_factory=list)
    challenges: list[ChallengeRecord] = field(default_factory=list)  # of this epoch, by id

    @property
    def ok(self) -> bool:
        return not self.problems


def with_challenges(report: AuditReport, challenges: Iterable[ChallengeRecord]) -> AuditReport:
    """The report with the challenges opened against its epoch (others are left out), so the
    audit shows what validators found beside what it recomputed."""
    node = to_checksum_address(report.node)
    report.challenges = [
        c for c in challenges if to_checksum_address(c.node) == node and c.epoch == report.epoch
    ]
    return report


def audit_epoch(
    settlement: SettlementClient,
    policy: PolicyClient,
    store: BlobStore,
    node: str,
    epoch: int,
) -> AuditReport:
    node = to_checksum_address(node)
    count = settlement.epoch_count(node)
    if not 0 <= epoch < count:
        raise NotFoundError(
            f"node {node} has posted {count} epochs (0 to {count - 1}), not epoch {epoch}"
        )
    posted = settlement.epoch(node, epoch)
    report = AuditReport(
        node,
        epoch,
        posted.bundle_cid,
        root_on_chain="0x" + posted.root.hex(),
        receipts_root_on_chain="0x" + posted.receipts_root.hex(),
    )
    try:
        bundle = load_bundle(store, posted.bundle_cid)
        history = [load_bundle(store, settlement.epoch(node, e).bundle_cid) for e in range(epoch)]
    except TesseraError as exc:
        report.problems.append(f"cannot fetch the bundles: {exc}")
        return report
    report.receipts, problems = len(bundle.receipts), report.problems

    expected = (node, settlement.chain.chain_id, settlement.address, epoch)
    if (bundle.node, bundle.chain_id, bundle.settlement, bundle.epoch) != expected:
        problems.append("the bundle names another node, chain, contract or epoch")
    if bundle.split != posted.split:
        problems.append(f"the bundle's fee split {bundle.split} is not the posted {posted.split}")
    owners = royalty_owners(bundle.receipts, policy)
    problems += _check_owners(bundle, owners)
    problems += _check_receipts(bundle, history, node)
    problems += _check_redemptions(bundle, history, node, posted.redeemed)
    if len(bundle.receipts) != posted.receipt_count:
        problems.append(f"{len(bundle.receipts)} receipts, but {posted.receipt_count} posted")
    problems += _check_receipts_root(bundle, report)

    previous = history[-1].cumulative if history else {}
    if history and history[-1].root != "0x" + settlement.epoch(node, epoch - 1).root.hex():
        problems.append("the previous epoch's bundle does not match its root on chain")
    tree, states = payout_states(
        node, previous, bundle.receipts, posted.split, lambda r: owners[receipt_version(r)]
    )
    problems += _check_trace(bundle, states)
    report.root_recomputed = "0x" + tree.root.hex()
    if report.root_recomputed != report.root_on_chain:
        problems.append("the recomputed payout root differs from the root on chain")
    if tree.total != posted.total:
        problems.append(f"the recomputed total {tree.total} differs from the posted {posted.total}")
    report.redeemed = posted.redeemed
    return report


def royalty_owners(receipts: Iterable[Receipt], policy: PolicyClient) -> dict[str, str | None]:
    """The royalty owner of every model version the receipts name, as the chain names it (a
    version's owner never changes, so this is the owner at any block)."""
    owners: dict[str, str | None] = {}
    for receipt in receipts:
        key, digest = receipt_version(receipt), receipt.model_digest
        if key not in owners:
            zero = int(digest, 16) == 0
            owners[key] = None if zero else policy.royalty_owner(receipt.model, digest)
    return owners


def _check_owners(bundle: EpochBundle, owners: dict[str, str | None]) -> list[str]:
    problems = []
    for key, approved in owners.items():
        owner = bundle.model_owners.get(key)
        if owner != approved:
            problems.append(
                f"model version {key}: the bundle pays its royalty to {owner}, but governance "
                f"named {approved} when it approved it"
            )
    return problems


def _check_trace(bundle: EpochBundle, states: list[PayoutState]) -> list[str]:
    """The payout state each receipt's leaf commits to must be the replayed one: the first
    that is not is what the payout prover proves."""
    if len(bundle.trace) != len(states):
        return [f"the bundle has {len(bundle.trace)} payout states for {len(states)} receipts"]
    for index, (claimed, replayed) in enumerate(zip(bundle.trace, states, strict=True)):
        if claimed != replayed:
            return [f"receipt {index}: the payout state it commits to does not follow from it"]
    return []


def _check_receipts(bundle: EpochBundle, history: list[EpochBundle], node: str) -> list[str]:
    problems = []
    seen = {r.id for old in history for r in old.receipts}
    for receipt in bundle.receipts:
        try:
            receipt.verify()
        except SignatureError as exc:
            problems.append(f"receipt {receipt.id}: {exc}")
        if to_checksum_address(receipt.node) != node:
            problems.append(f"receipt {receipt.id} was signed for node {receipt.node}")
        if receipt.id in seen:
            problems.append(f"receipt {receipt.id} is settled twice")
        seen.add(receipt.id)
    return problems


def _check_receipts_root(bundle: EpochBundle, report: AuditReport) -> list[str]:
    """The posted receipts root is what validators prove receipts against: it must be the
    root of exactly this bundle's receipts, in its order."""
    try:
        report.receipts_root_recomputed = bundle.receipts_root
    except (ValueError, TesseraError) as exc:  # no receipts, or one that cannot be hashed
        return [f"cannot recompute the receipts root: {exc}"]
    if report.receipts_root_recomputed != report.receipts_root_on_chain:
        return ["the recomputed receipts root differs from the receipts root on chain"]
    return []


def _check_redemptions(
    bundle: EpochBundle, history: list[EpochBundle], node: str, posted_redeemed: int
) -> list[str]:
    """Each client pays exactly its receipts, under a voucher it signed."""
    problems = []
    before: dict[str, int] = {}
    for old in history:
        before.update({r.client: r.amount for r in old.redemptions})
    owed: dict[str, int] = defaultdict(int)
    for receipt in bundle.receipts:
        owed[str(to_checksum_address(receipt.client))] += receipt.price
    fresh = 0
    for r in bundle.redemptions:
        client = str(to_checksum_address(r.client))
        voucher = Voucher(
            client, node, r.signed_amount, bundle.chain_id, bundle.settlement, r.signature
        )
        try:
            voucher.verify()
        except SignatureError as exc:
            problems.append(f"voucher of {client}: {exc}")
        taken = r.amount - before.get(client, 0)
        fresh += taken
        if taken != owed.pop(client, 0):
            problems.append(f"{client} is charged {taken}, not the sum of its receipts")
    for client, amount in owed.items():
        problems.append(f"{client} owes {amount} for receipts, but no voucher of it is redeemed")
    if fresh != posted_redeemed:
        problems.append(f"the vouchers redeem {fresh}, the chain recorded {posted_redeemed}")
    return problems
