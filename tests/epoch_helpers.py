"""Epochs posted straight to settlement, without a node: answers that credit contributions
the test picks, each epoch's bundle stored and its roots posted, as a node's settle does."""

from __future__ import annotations

import random

from tessera import Tessera
from tessera._chain.settlement import Redemption
from tessera._crypto.receipt import WEIGHT_SCALE, AttributedSource, Receipt
from tessera._payments.bundle import EpochBundle, build_bundle, load_bundle

PRICE = 91 * 10**12
MODEL = "gemma-3-270m"


def post_epochs(
    t: Tessera, epochs: int, per_epoch: int = 5, per_answer: int = 5, seed: int = 0,
    node: str = "node", client: str = "client",
) -> list[EpochBundle]:  # fmt: skip
    """`epochs` more epochs of `node`'s, each of `per_epoch` answers crediting `per_answer`
    random contributions of the first datanet equally, paid by `client`'s vouchers (its
    channel to the node must hold enough); each next epoch is opened by moving the clock."""
    signer, payer = t.signer(node), t.signer(client)
    contributions = t.datanet(t.datanets()[0].name).contributions
    rng = random.Random(seed)
    first = t.settlement.epoch_count(signer.address)
    last = t.settlement.epoch(signer.address, first - 1) if first else None
    previous = load_bundle(t.store, last.bundle_cid).cumulative if last else {}
    spent = t.settlement.redeemed(payer.address, signer.address)
    tester = t.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    posted = []
    for epoch in range(first, first + epochs):
        receipts = []
        for a in range(per_epoch):
            chosen = rng.sample(contributions, per_answer)
            share = WEIGHT_SCALE // per_answer
            weights = [share] * (per_answer - 1) + [WEIGHT_SCALE - share * (per_answer - 1)]
            sources = tuple(AttributedSource(c.cid, c.contributor, 1, w)
                            for c, w in zip(chosen, weights, strict=True))  # fmt: skip
            receipts.append(Receipt(f"e{epoch}a{a}", signer.address, 0, signer.address, {}, "",
                                    MODEL, (), sources, PRICE, payer.address, 0))  # fmt: skip
        spent += PRICE * per_epoch
        voucher = t.sign_voucher(signer.address, spent, client)
        redemptions = [Redemption(payer.address, spent, spent, voucher.signature)]
        split = t.settlement.fee_split()
        bundle = build_bundle(signer.address, t.chain.chain_id, t.settlement.address, epoch,
                              split, {}, receipts, redemptions, previous)  # fmt: skip
        cid = t.store.put(bundle.to_bytes())
        roots = bytes.fromhex(bundle.root[2:]), bytes.fromhex(bundle.receipts_root[2:])
        t.settlement.post_epoch(signer, epoch, roots[0], bundle.total, cid, len(receipts),
                                roots[1], split, redemptions)  # fmt: skip
        previous = bundle.cumulative
        posted.append(bundle)
        tester.time_travel(t.settlement.now() + t.settlement.periods().epoch_length + 1)
        tester.mine_blocks(1)
    return posted
