"""Claims: what each node owes a recipient, proven against its latest claimable root."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from tessera._chain.settlement import PostedEpoch, SettlementClient
from tessera._errors import ChainError
from tessera._payments.bundle import EpochBundle, load_bundle
from tessera._store.base import BlobStore


@dataclass(frozen=True)
class Claimable:
    node: str
    epoch: int  # the latest epoch of that node whose challenge window is over
    cumulative: int  # the recipient's cumulative payout through that epoch
    already: int  # what it claimed before
    proof: list[bytes]

    @property
    def amount(self) -> int:
        return self.cumulative - self.already


@dataclass(frozen=True)
class ClaimResult:
    node: str
    epoch: int
    amount: int
    gas: int


def posted_bundle(store: BlobStore, posted: PostedEpoch) -> EpochBundle:
    """The bundle an epoch points at, checked against the root on chain."""
    return checked_bundle(store, posted.bundle_cid, posted.node, posted.epoch, posted.root)


def checked_bundle(store: BlobStore, cid: str, node: str, epoch: int, root: bytes) -> EpochBundle:
    """The bundle at `cid`, refused unless it is the node's and has the epoch's root."""
    bundle = load_bundle(store, cid)
    if bundle.root != "0x" + root.hex() or bundle.node != node:
        raise ChainError(
            f"the bundle {cid} does not match epoch {epoch} of node {node} on chain: it is "
            "not the bundle that was posted"
        )
    return bundle


def claimable(settlement: SettlementClient, store: BlobStore, recipient: str) -> list[Claimable]:
    """Per node, what `recipient` can claim now (nodes with nothing to claim are left out)."""
    recipient = to_checksum_address(recipient)
    now = settlement.now()
    found = []
    for node in settlement.nodes_with_epochs():
        if settlement.open_challenges(node):
            continue  # frozen until its challenges are resolved
        epoch = settlement.epoch_count(node) - 1
        # a voided epoch (its node was slashed) pays nobody: the last sound one still does
        while epoch >= 0 and (
            settlement.claimable_at(node, epoch) > now or settlement.is_voided(node, epoch)
        ):
            epoch -= 1
        if epoch < 0:
            continue
        tree = posted_bundle(store, settlement.epoch(node, epoch)).tree()
        if recipient not in tree.amounts:
            continue
        cumulative, proof = tree.proof(recipient)
        already = settlement.claimed(node, recipient)
        if cumulative > already:
            found.append(Claimable(node, epoch, cumulative, already, proof))
    return found


def claim_all(
    settlement: SettlementClient, store: BlobStore, recipient: LocalAccount
) -> list[ClaimResult]:
    """Claim from every node that owes `recipient` something: one transaction per node."""
    results = []
    for item in claimable(settlement, store, recipient.address):
        gas = settlement.claim(recipient, item.node, item.epoch, item.cumulative, item.proof)
        results.append(ClaimResult(item.node, item.epoch, item.amount, gas))
    return results
