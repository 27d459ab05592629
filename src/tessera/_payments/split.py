"""Split one answer's price between node, model owner, contributors, treasury and validators.

Integer arithmetic only. Each cut is floored; the remainder of the five-way split goes to
the node, the remainder of the contributors' pool to the contributor with the highest weight
(the first listed on a tie). The pool is split over the receipt's payable list: its context
and training attributions merged by the receipt's training share (`_crypto/pools.py`), each
credit tagged with the kind it was earned as. An answer that used no contribution pays the
contributors' pool to the treasury, and an unregistered model's royalty too. The parts always
sum to the price.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from eth_utils import to_checksum_address

from tessera._chain.settlement import BPS, FeeSplit
from tessera._crypto.pools import Payable
from tessera._crypto.receipt import Receipt

NODE, OWNER, CONTRIBUTOR, TREASURY, VALIDATORS, WITHHELD = (
    "node",
    "model owner",
    "contributor",
    "treasury",
    "validators",  # the validators' pool (the disputes contract), shared out by stake
    "withheld",  # a blocked training contribution's share, paid to the receipt's withheld_to
)


@dataclass(frozen=True)
class Credit:
    recipient: str  # checksum address
    role: str
    amount: int
    receipt: str  # the receipt id it comes from
    model: str
    datanet: int | None = None  # the contribution's datanet, for contributors
    kind: str = ""  # for contributors: "context" or "training" (pools.py); "" for the rest
    cid: str = ""  # for contributors: the contribution it was earned by


def split_receipt(receipt: Receipt, split: FeeSplit, model_owner: str | None) -> list[Credit]:
    """The credits one receipt's price pays, summing exactly to the price (zeros omitted)."""
    price = receipt.price
    pool = price * split.contributors_bps // BPS
    royalty = price * split.owner_bps // BPS
    treasury_cut = price * split.treasury_bps // BPS
    validators_cut = price * split.validators_bps // BPS
    node_cut = price - pool - royalty - treasury_cut - validators_cut  # the rounding remainder

    def credit(recipient: str, role: str, amount: int, datanet: int | None = None) -> Credit:
        return Credit(
            to_checksum_address(recipient), role, amount, receipt.id, receipt.model, datanet
        )

    def earned(p: Payable, amount: int) -> Credit:
        s = p.source
        role = WITHHELD if p.withheld else CONTRIBUTOR
        return Credit(
            to_checksum_address(s.contributor), role, amount, receipt.id, receipt.model,
            s.datanet, p.kind, s.cid,
        )  # fmt: skip

    credits = [credit(receipt.node, NODE, node_cut)]
    credits.append(
        credit(model_owner or split.treasury, OWNER if model_owner else TREASURY, royalty)
    )
    credits.append(credit(split.treasury, TREASURY, treasury_cut))
    if validators_cut:  # a split without validators may name no pool
        credits.append(credit(split.validators, VALIDATORS, validators_cut))
    payable = [p for p in receipt.payable if p.source.weight_ppm > 0]
    if not payable:
        credits.append(credit(split.treasury, TREASURY, pool))
    else:
        weights = [p.source.weight_ppm for p in payable]
        total_weight = sum(weights)
        shares = [pool * w // total_weight for w in weights]
        top = max(range(len(payable)), key=lambda i: (weights[i], -i))
        shares[top] += pool - sum(shares)  # the pool's rounding remainder
        credits += [earned(p, share) for p, share in zip(payable, shares, strict=True)]
    kept = [c for c in credits if c.amount > 0]
    assert sum(c.amount for c in kept) == price, "a split must pay exactly the price"
    return kept


def totals(credits: Iterable[Credit]) -> dict[str, int]:
    """Amount per recipient."""
    out: dict[str, int] = defaultdict(int)
    for c in credits:
        out[c.recipient] += c.amount
    return dict(out)


def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for recipient, amount in b.items():
        out[recipient] = out.get(recipient, 0) + amount
    return out
