"""An epoch's bundle: every receipt it settles, the vouchers it redeems, and the payouts.

The bundle is stored content-addressed and its CID posted on chain with the payout root and
the receipts root, so anyone can fetch it, re-verify every receipt and recompute both roots
(see `audit.py`). It also carries the payout state the node committed to after each receipt
(`trace`): the receipts root is built over them, and a validator replays them step by step.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property

from eth_utils import to_checksum_address

from tessera._chain.settlement import FeeSplit, Redemption
from tessera._crypto.receipt import Receipt
from tessera._errors import InputError
from tessera._payments.payouts import PayoutTree
from tessera._payments.receipts_tree import PayoutState, ReceiptsTree
from tessera._payments.split import Credit, split_receipt
from tessera._payments.trace import payout_states, receipt_version
from tessera._store.base import BlobStore

BUNDLE_VERSION = 2  # 2: payout states per receipt, royalty owners per model version


@dataclass(frozen=True)
class EpochBundle:
    node: str
    chain_id: int
    settlement: str
    epoch: int
    split: FeeSplit
    model_owners: dict[str, str | None]  # "model@digest" -> royalty owner (None: the treasury)
    receipts: tuple[Receipt, ...]
    redemptions: tuple[Redemption, ...]
    previous: dict[str, int]  # cumulative payouts through the previous epoch
    cumulative: dict[str, int]  # cumulative payouts through this epoch
    root: str  # 0x-hex
    total: int
    # model id -> the weights digest the node served: governance names the owner per digest
    model_digests: dict[str, str] = field(default_factory=dict)
    trace: tuple[PayoutState, ...] = ()  # the node's payout state after each receipt

    def owner_of(self, receipt: Receipt) -> str | None:
        return self.model_owners.get(receipt_version(receipt))

    def credits(self) -> list[Credit]:
        """This epoch's credits, recomputed from its receipts."""
        return [c for r in self.receipts for c in split_receipt(r, self.split, self.owner_of(r))]

    def tree(self) -> PayoutTree:
        return PayoutTree(self.node, self.cumulative)

    @cached_property
    def receipts_tree(self) -> ReceiptsTree:
        """The receipts with the states the node committed to: what its receipts root is."""
        return ReceiptsTree(self.receipts, self.trace)

    @cached_property
    def receipts_root(self) -> str:
        """0x-hex root of the receipts in bundle order: recomputed, never stored, so a bundle
        cannot carry a root that disagrees with its receipts."""
        return "0x" + self.receipts_tree.root.hex()

    def to_bytes(self) -> bytes:
        body = {
            "version": BUNDLE_VERSION,
            "node": self.node,
            "chain_id": self.chain_id,
            "settlement": self.settlement,
            "epoch": self.epoch,
            "split": asdict(self.split),
            "model_owners": self.model_owners,
            "model_digests": self.model_digests,
            "receipts": [r.to_json() for r in self.receipts],
            "redemptions": [r.to_json() for r in self.redemptions],
            "previous": {k: str(v) for k, v in self.previous.items()},
            "cumulative": {k: str(v) for k, v in self.cumulative.items()},
            "root": self.root,
            "total": str(self.total),
            "trace": [["0x" + s.root.hex(), str(s.total)] for s in self.trace],
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> EpochBundle:
        try:
            body = json.loads(data)
            if body.get("version") != BUNDLE_VERSION:
                raise ValueError(f"unknown bundle version {body.get('version')!r}")
            return cls(
                node=body["node"],
                chain_id=int(body["chain_id"]),
                settlement=body["settlement"],
                epoch=int(body["epoch"]),
                split=FeeSplit(**body["split"]),
                model_owners=dict(body["model_owners"]),
                receipts=tuple(Receipt.from_json(r) for r in body["receipts"]),
                redemptions=tuple(Redemption.from_json(r) for r in body["redemptions"]),
                previous={k: int(v) for k, v in body["previous"].items()},
                cumulative={k: int(v) for k, v in body["cumulative"].items()},
                root=body["root"],
                total=int(body["total"]),
                model_digests=dict(body.get("model_digests", {})),
                trace=tuple(
                    PayoutState(bytes.fromhex(str(root).removeprefix("0x")), int(total))
                    for root, total in body["trace"]
                ),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"not an epoch bundle ({type(exc).__name__}: {exc})") from None


def build_bundle(
    node: str,
    chain_id: int,
    settlement: str,
    epoch: int,
    split: FeeSplit,
    model_owners: dict[str, str | None],
    receipts: list[Receipt],
    redemptions: list[Redemption],
    previous: dict[str, int],
    model_digests: dict[str, str] | None = None,
) -> EpochBundle:
    """Split every receipt, add the epoch to the previous cumulative payouts, build the root
    and the state after each receipt. `model_owners` is keyed by `owner_key(model, digest)`."""
    draft = EpochBundle(
        to_checksum_address(node),
        chain_id,
        to_checksum_address(settlement),
        epoch,
        split,
        model_owners,
        tuple(receipts),
        tuple(redemptions),
        dict(previous),
        {},
        "",
        0,
        dict(model_digests or {}),
    )
    tree, states = payout_states(node, previous, receipts, split, draft.owner_of)
    return replace(
        draft,
        cumulative=dict(tree.amounts),
        root="0x" + tree.root.hex(),
        total=tree.total,
        trace=tuple(states),
    )


PARSED_BUNDLES = 256  # per store, the most recently read bundles kept parsed


def load_bundle(store: BlobStore, cid: str) -> EpochBundle:
    """The bundle at `cid`. A CID names one content (the store checks what it returns
    against it), so each is parsed once per store: pages that read every epoch's bundle
    (earnings, where a contribution was used) do not parse them all again on every view.
    Kept per store, because whether a store can serve a bundle at all is itself a fact (a
    validator asks its own store; a withheld bundle must stay unavailable to it)."""
    with _PARSED_LOCK:
        kept = _PARSED.setdefault(store, OrderedDict())
        if cid in kept:
            kept.move_to_end(cid)
            return kept[cid]
    bundle = EpochBundle.from_bytes(store.get(cid))
    with _PARSED_LOCK:
        kept[cid] = bundle
        while len(kept) > PARSED_BUNDLES:
            kept.popitem(last=False)
    return bundle


_PARSED: weakref.WeakKeyDictionary[BlobStore, OrderedDict[str, EpochBundle]] = (
    weakref.WeakKeyDictionary()
)
_PARSED_LOCK = threading.Lock()
