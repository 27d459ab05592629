"""Gas of every dispute step: each challenge kind, a committee vote (commit and reveal), a
resolve that slashes and one that dismisses, a produced receipt, a refund, against a token
transfer measured in the same run.

    python bench/dispute_gas.py [--receipts 1024]

On one in-process py-evm chain with the whole deployment (`deploy_contracts`, default dispute
parameters: committees of 3), four validators stake and a node posts one epoch of `--receipts`
signed receipts (so each proof is as long as a real epoch's). Then, inside the challenge
window: two receipts are asked for (one produced, one not), one answer and the payouts go to
committees (voted guilty and not guilty), and a forged signature, an unapproved model and a
paid request without the client's authorization are proven at once, and so is a client
authorization billed twice. The voided epoch is then
refunded to its clients. The first slash also writes the node's void record, so later
slashes of the same node cost a little less.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_bytes
from rich.console import Console
from rich.table import Table

from tessera._chain.client import IN_PROCESS, Chain
from tessera._chain.deploy import Deployment, deploy_contracts
from tessera._chain.disputes import (
    ANSWER,
    MODEL,
    PRICE,
    SIGNATURE,
    UNAUTHORIZED,
    DisputesClient,
    ReceiptEvidence,
    vote_commitment,
)
from tessera._chain.settlement import Redemption, SettlementClient
from tessera._chain.staking import StakingClient
from tessera._crypto.authorization import authorize_request
from tessera._crypto.receipt import Receipt
from tessera._crypto.voucher import Voucher
from tessera._payments.payouts import PayoutTree
from tessera._payments.receipts_tree import ReceiptsTree
from tessera._payments.split import split_receipt
from tessera._payments.trace import step_updates

TSR = 10**18
# the faulty receipts' positions (every one names an unapproved model); the replay bills
# receipt 0's authorization again
FORGED, UNAUTHORIZED_AT, REPLAYED_AT = 1, 2, 3


def _gas(receipt: Any) -> int:
    return int(receipt["gasUsed"])


def account(chain: Chain, settlement: SettlementClient, treasury: LocalAccount, tsr: int):
    made = Account.create()
    chain.fund(made.address, 10**20)
    if tsr:
        settlement.token.transfer(treasury, made.address, tsr * TSR)
    return made


def receipts(
    chain: Chain, d: Deployment, node: LocalAccount, client: LocalAccount, count: int
) -> list[Receipt]:
    """`count` signed, authorized receipts; one forged, one paid without authorization, one
    that bills the first one's authorization again."""
    impostor = Account.create()
    made = []
    for i in range(count):
        receipt = Receipt(
            id=f"r{i}",
            node=node.address,
            chain_id=chain.chain_id,
            verifying_contract=d.registry,
            request={"model": "tessera/tiny", "messages": [{"role": "user", "content": f"q{i}"}]},
            response_text=f"answer {i}",
            model="tessera/tiny",
            datanets=(),
            attribution=(),
            price=10,
            client=client.address,
            timestamp=1_700_000_000 + i,
            model_digest="0x" + keccak(text="weights").hex(),
            answer_tokens=(1, 2, 3),
            method="context-ablation",
        )
        if i == REPLAYED_AT:
            receipt = replace(receipt, request=made[0].request, authorization=made[0].authorization)
        elif i != UNAUTHORIZED_AT:
            auth = authorize_request(
                client, chain.chain_id, d.registry, node.address, receipt.request_hash
            )
            receipt = replace(receipt, authorization=auth)
        if i == FORGED:
            receipt = replace(
                replace(receipt, node=impostor.address).signed_by(impostor), node=node.address
            )
        else:
            receipt = receipt.signed_by(node)
        made.append(receipt)
    return made


def evidence(tree: ReceiptsTree, index: int, receipt: Receipt) -> ReceiptEvidence:
    fields = receipt.struct_fields()
    return ReceiptEvidence(
        index,
        *fields,
        to_bytes(hexstr=receipt.signature),
        keccak(receipt.body_bytes()),
        tree.states[index].root,
        tree.states[index].total,
        tree.proof(index),
    )


def dispute_rows(chain: Chain, d: Deployment, treasury: LocalAccount, count: int) -> dict[str, int]:
    settlement = SettlementClient(chain, d.settlement)
    disputes = DisputesClient(chain, d.disputes)
    staking = StakingClient(chain, d.staking)
    fn = disputes.contract.functions
    p = disputes.params()
    rows: dict[str, int] = {}

    validators = [account(chain, settlement, treasury, 2_000) for _ in range(4)]
    for v in validators:
        disputes.token.approve(v, disputes.address, 2**256 - 1)
        rows["stake_validator"] = _gas(chain.transact(fn.stake_validator(p.min_validator_stake), v))
    node = account(chain, settlement, treasury, 20_000)
    staking.register(node, 10_000 * TSR, "http://node", "bafynode")
    client = account(chain, settlement, treasury, 1_000)
    settlement.deposit(client, node.address, 1_000)
    voucher = Voucher(client.address, node.address, 500, chain.chain_id, d.settlement).signed_by(
        client
    )
    signed = receipts(chain, d, node, client, count)
    tree = ReceiptsTree(signed)
    settlement.post_epoch(
        node, 0, PayoutTree(node.address, {d.disputes: 500}).root, 500, "bafy", count, tree.root,
        settlement.fee_split(), [Redemption(client.address, 500, 500, voucher.signature)],
    )  # fmt: skip

    challenger = account(chain, settlement, treasury, 1_000)
    disputes.token.approve(challenger, disputes.address, 2**256 - 1)

    def by_challenger(call: Any) -> int:
        return _gas(chain.transact(call, challenger))

    honest = evidence(tree, 0, signed[0])
    rows["challenge_withheld"] = by_challenger(fn.challenge_withheld(node.address, 0, 5))
    produced = disputes.challenge_count()
    by_challenger(fn.challenge_withheld(node.address, 0, 6))
    unanswered = disputes.challenge_count()
    rows["challenge_receipt (committee: answer)"] = by_challenger(
        fn.challenge_receipt(node.address, 0, ANSWER, honest.as_abi(), 0, b"")
    )
    guilty = disputes.challenge_count()
    rows["challenge_receipt (committee: price)"] = by_challenger(
        fn.challenge_receipt(node.address, 0, PRICE, honest.as_abi(), 0, b"")
    )
    innocent = disputes.challenge_count()

    body = signed[5].body_bytes()
    rows[f"produce ({len(body)}-byte body)"] = disputes.produce(
        node, produced, evidence(tree, 5, signed[5]), body
    )
    by_address = {v.address: v for v in validators}
    salt = b"\x07" * 32
    for cid, verdict in ((guilty, True), (innocent, False)):
        for member in disputes.committee(cid):
            commitment = vote_commitment(cid, verdict, salt, member)
            rows["commit_vote"] = _gas(
                chain.transact(fn.commit_vote(cid, commitment), by_address[member])
            )
    chain.wait_until(disputes.challenge(unanswered).deadline)
    rows["resolve (withheld, slash)"] = _gas(chain.transact(fn.resolve(unanswered), challenger))
    chain.wait_until(disputes.challenge(guilty).commit_ends)
    for cid, verdict in ((guilty, True), (innocent, False)):
        for member in disputes.committee(cid):
            rows["reveal_vote"] = _gas(
                chain.transact(fn.reveal_vote(cid, verdict, salt), by_address[member])
            )
    chain.wait_until(disputes.challenge(guilty).deadline)
    rows["resolve (committee, slash)"] = _gas(chain.transact(fn.resolve(guilty), challenger))
    rows["resolve (committee, dismissed)"] = _gas(chain.transact(fn.resolve(innocent), challenger))

    for kind, index, name in (
        (SIGNATURE, FORGED, "signature"),
        (MODEL, 0, "model"),
        (UNAUTHORIZED, UNAUTHORIZED_AT, "unauthorized"),
    ):
        call = fn.challenge_receipt(
            node.address, 0, kind, evidence(tree, index, signed[index]).as_abi(), 0, b""
        )
        rows[f"challenge_receipt ({name}: proven and slashed)"] = by_challenger(call)
    first, again = signed[0].authorization, signed[REPLAYED_AT].authorization
    assert first is not None and again is not None
    rows["challenge_replayed (two receipts: proven and slashed)"] = by_challenger(
        fn.challenge_replayed(
            node.address,
            0,
            evidence(tree, REPLAYED_AT, signed[REPLAYED_AT]).as_abi(),
            0,
            honest.as_abi(),
            first.nonce,
            to_bytes(hexstr=again.signature),
            to_bytes(hexstr=first.signature),
        )
    )
    # the receipts commit to no payout state: the first step and the posted root are both wrong
    split, first_receipt = settlement.fee_split(), signed[0]
    credits = split_receipt(first_receipt, split, None)
    updates = [u.as_abi() for u in step_updates(PayoutTree(node.address), credits)]
    rows[f"prove_step ({len(credits)} credits: proven and slashed)"] = _gas(
        chain.transact(
            disputes.payout_prover.functions.prove_step(
                node.address, 0, honest.as_abi(), honest.as_abi(), ([], [], [], []), updates
            ),
            challenger,
        )
    )
    last = evidence(tree, count - 1, signed[count - 1])
    rows["prove_last (posted root: proven and slashed)"] = _gas(
        chain.transact(
            disputes.payout_prover.functions.prove_last(node.address, 0, last.as_abi()), challenger
        )
    )
    rows["refund (one client)"] = settlement.refund(treasury, node.address, 0)
    rows["token transfer"] = _gas(
        chain.transact(
            settlement.token.contract.functions.transfer(Account.create().address, TSR), treasury
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=1_024, help="receipts in the epoch")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "dispute_gas.json"
    )
    args = parser.parse_args()
    console = Console()
    chain = Chain.connect(IN_PROCESS)
    treasury = Account.create()
    chain.fund(treasury.address, 10**21)
    deployment = deploy_contracts(chain, treasury)
    steps = dispute_rows(chain, deployment, treasury, args.receipts)
    transfer = steps["token transfer"]

    table = Table(title=f"gas per dispute step (in-process py-evm, {args.receipts} receipts)")
    for column in ("step", "gas", "x token transfer"):
        table.add_column(column, justify="left" if column == "step" else "right")
    rows = []
    for step, gas in steps.items():
        rows.append({"step": step, "gas": gas, "x_transfer": round(gas / transfer, 2)})
        table.add_row(step, f"{gas:,}", f"{gas / transfer:.2f}")
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    proof = (args.receipts - 1).bit_length()
    body = {"receipts": args.receipts, "proof_length": proof, "committee_size": 3, "rows": rows}
    args.out.write_text(json.dumps(body, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
