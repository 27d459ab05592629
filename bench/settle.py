"""On-chain gas per answer: epoch settlement vs. paying every recipient of every answer.

    python bench/settle.py                 # epochs of 10, 1,000 and 100,000 answers
    python bench/settle.py --quick         # 10 and 100, for a smoke test

Each epoch size is settled by its own node on one in-process py-evm chain: 10 clients sign
vouchers, every answer attributes 10 contributors (from a pool of 100), the payouts go
through the same split and Merkle tree as `tessera epoch settle`, the node posts the epoch in
one transaction and then every recipient claims once. Gas per answer = the post's gas /
answers (claims are cumulative, so a recipient claims when it likes, not once per epoch);
gas per claim is reported beside it, and so is the worst case where every recipient claims
after every epoch: (post + every claim) / answers. The naive baseline, measured in the same
run on the same chain, pays each answer's 13 recipients (node, model owner, treasury, 10
contributors) with one token transfer transaction each. Receipts are not signed here
(signatures cost no gas, and the contract does not verify receipts on chain).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tessera import Tessera
from tessera._api import Periods
from tessera._chain.settlement import Redemption
from tessera._crypto.receipt import WEIGHT_SCALE, AttributedSource, Receipt
from tessera._payments.bundle import build_bundle
from tessera._store.cid import cid_for

CLIENTS, CONTRIBUTORS, PER_ANSWER = 10, 100, 10
PRICE = 91 * 10**12  # about one demo answer
MODEL = "gemma-3-270m"
NAIVE_ANSWERS = 20  # answers paid the naive way, to average the gas of one


def receipts_for(node: str, clients: list[str], pool: list[str], answers: int) -> list[Receipt]:
    """`answers` receipts, each crediting PER_ANSWER contributors with random weights."""
    rng = random.Random(answers)
    cids = [cid_for(f"doc {i}".encode()) for i in range(1000)]
    out = []
    for i in range(answers):
        chosen = rng.sample(range(len(pool)), PER_ANSWER)
        cuts = sorted(rng.sample(range(1, WEIGHT_SCALE), PER_ANSWER - 1))
        weights = [b - a for a, b in zip([0, *cuts], [*cuts, WEIGHT_SCALE], strict=True)]
        sources = tuple(
            AttributedSource(cids[(i + j) % len(cids)], pool[c], 1, w)
            for j, (c, w) in enumerate(zip(chosen, weights, strict=True))
        )
        client = clients[i % len(clients)]
        out.append(Receipt(f"r{i}", node, 0, node, {}, "", MODEL, (), sources, PRICE, client, 0))
    return out


def settle_row(t: Tessera, answers: int, row: int, names: dict[str, list[str]]) -> dict[str, float]:
    node_name = f"node-{row}"
    t.new_account(node_name)
    node = t.signer(node_name)
    clients = [t.signer(n) for n in names["clients"]]
    for client in names["clients"]:  # escrow is per channel: each client funds this node's
        t.deposit(10**22, node.address, client)
    pool = [t.address(n) for n in names["contributors"]]
    receipts = receipts_for(node.address, [c.address for c in clients], pool, answers)

    began = time.perf_counter()
    owed: dict[str, int] = {}
    for r in receipts:
        owed[r.client] = owed.get(r.client, 0) + r.price
    redemptions = []
    for client in clients:
        voucher = t.sign_voucher(node.address, owed[client.address], client.address)
        redemptions.append(
            Redemption(client.address, voucher.amount, voucher.amount, voucher.signature)
        )
    split = t.settlement.fee_split()
    bundle = build_bundle(
        node.address, t.chain.chain_id, t.settlement.address, 0, split,
        {MODEL: t.address("builder")}, receipts, redemptions, {},
    )  # fmt: skip
    cid = t.store.put(bundle.to_bytes())
    compute_seconds = time.perf_counter() - began
    roots = bytes.fromhex(bundle.root[2:]), bytes.fromhex(bundle.receipts_root[2:])
    post_gas = t.settlement.post_epoch(
        node, 0, roots[0], bundle.total, cid, answers, roots[1], split, redemptions
    )
    tester = t.chain.w3.provider.ethereum_tester
    tester.time_travel(t.settlement.now() + t.settlement.periods().challenge_period)
    tester.mine_blocks(1)
    tree = bundle.tree()
    claim_gas = []
    by_address = {t.address(a.name): a.name for a in t.accounts()}
    for recipient in tree.recipients:
        cumulative, proof = tree.proof(recipient)
        signer = t.signer(by_address[recipient])
        claim_gas.append(t.settlement.claim(signer, node.address, 0, cumulative, proof))
    assert t.settlement.node_paid(node.address) == answers * PRICE
    return {
        "answers": answers,
        "recipients": len(tree.recipients),
        "post_gas": post_gas,
        "gas_per_answer": post_gas / answers,
        "claims": len(claim_gas),
        "gas_per_claim": sum(claim_gas) / len(claim_gas),
        "gas_per_answer_with_every_claim": (post_gas + sum(claim_gas)) / answers,
        "payout_compute_seconds": compute_seconds,
    }


def naive_row(t: Tessera, names: dict[str, list[str]]) -> dict[str, float]:
    """Every recipient of every answer paid by the client with its own transfer."""
    client = t.signer(names["clients"][0])
    pool = [t.address(n) for n in names["contributors"]]
    others = [t.address(n) for n in ("builder", "default")] + [t.address("node-naive")]
    rng = random.Random(0)
    gas = 0
    for _ in range(NAIVE_ANSWERS):
        for to in others + rng.sample(pool, PER_ANSWER):
            fn = t.settlement.token.contract.functions.transfer(to, PRICE // 13)
            gas += int(t.chain.transact(fn, client)["gasUsed"])
    return {
        "answers": NAIVE_ANSWERS,
        "transfers_per_answer": 13,
        "gas_per_answer": gas / NAIVE_ANSWERS,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small epochs, for a smoke test")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "settle.json"
    )
    args = parser.parse_args()
    sizes = [10, 100] if args.quick else [10, 1_000, 100_000]
    os.environ.setdefault("TESSERA_PASSWORD", "bench")
    console = Console()
    with tempfile.TemporaryDirectory() as home:
        t = Tessera.init(Path(home), chain="inprocess", scrypt_n=2**4, periods=Periods(60, 60, 120))
        names = {
            "clients": [f"client-{i}" for i in range(CLIENTS)],
            "contributors": [f"contributor-{i}" for i in range(CONTRIBUTORS)],
        }
        for name in [*names["clients"], *names["contributors"], "builder", "node-naive"]:
            t.new_account(name)
        for client in names["clients"]:
            t.transfer(10**24, client)
        naive = naive_row(t, names)
        rows = []
        for i, size in enumerate(sizes):
            row = settle_row(t, size, i, names)
            row["x_less_gas_than_naive"] = naive["gas_per_answer"] / row["gas_per_answer"]
            row["x_less_gas_with_every_claim"] = (
                naive["gas_per_answer"] / row["gas_per_answer_with_every_claim"]
            )
            rows.append(row)
            console.print(f"epoch of {size:,} answers settled", style="dim")

    table = Table(
        "answers / epoch", "recipients", "post gas", "gas / answer", "x less",
        "gas / claim", "gas / answer, all claim", "x less",
        title=f"settlement gas (naive: {naive['gas_per_answer']:,.0f} gas / answer)",
    )  # fmt: skip
    for r in rows:
        table.add_row(
            f"{r['answers']:,}", str(r["recipients"]), f"{r['post_gas']:,}",
            f"{r['gas_per_answer']:,.1f}", f"{r['x_less_gas_than_naive']:,.0f}x",
            f"{r['gas_per_claim']:,.0f}", f"{r['gas_per_answer_with_every_claim']:,.1f}",
            f"{r['x_less_gas_with_every_claim']:,.0f}x",
        )  # fmt: skip
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "clients": CLIENTS,
        "contributors_per_answer": PER_ANSWER,
        "contributor_pool": CONTRIBUTORS,
        "naive": naive,
        "epochs": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    bar = next((r for r in rows if r["answers"] == 1_000), None)
    if bar is not None and bar["x_less_gas_than_naive"] < 100:
        console.print("bar missed: less than 100x less gas per answer at 1,000 answers")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
