"""Gas of each governance step, against running the same calls through the timelock's batch.

    python bench/govern.py

On one in-process py-evm chain, three proposals (a fee split; one blocked CID; ten blocked
CIDs) go through propose, vote, queue and execute as `tessera gov` runs them. The governor
queues one timelock operation per call (as Compound's Bravo does). The baseline, measured in
the same run, is what a governor using snekmate's `schedule_batch` / `execute_batch` would
pay for the queue and execute steps: the same calls, scheduled and run as one batch by an
account holding the proposer and executor roles on a timelock of its own.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tessera import Tessera
from tessera._api import FeeSplit, ProposalState
from tessera._chain.governance import Action

CID = "bafkreibkm5y5gofuea7v4e3tmqjfffu7rzdh36pmggojxvqzfcprlde2xa"


def _gas(t: Tessera) -> int:
    return int(t.chain.w3.eth.get_block("latest")["gasUsed"])


def governed_row(t: Tessera, actions: list[Action]) -> dict[str, int]:
    """Gas of each step of one proposal, as the CLI runs it."""
    gov = t.gov
    proposal = gov.propose(actions, "bench")
    row = {"propose": _gas(t)}
    gov.wait_for(proposal, ProposalState.ACTIVE)
    gov.vote(proposal, "for")
    row["vote"] = _gas(t)
    gov.wait_for(proposal, ProposalState.SUCCEEDED)
    gov.queue(proposal)
    row["queue"] = _gas(t)
    gov.execute(proposal, wait=True)
    row["execute"] = _gas(t)
    return row


def batch_row(t: Tessera, actions: list[Action], salt: bytes) -> dict[str, int]:
    """Gas of scheduling and running the same calls as one timelock batch. The calls target
    this deployment's contracts, owned by its own timelock, so the baseline timelock runs
    them against a fresh policy that it owns instead (same calls, same storage writes)."""
    signer = t.signer()
    lock_address = t.chain.deploy(
        "timelock", signer, 0, [signer.address], [signer.address], signer.address
    )
    lock = t.chain.contract("timelock", lock_address).functions
    policy = t.chain.deploy("policy", signer)
    t.chain.transact(
        t.chain.contract("policy", policy).functions.transfer_ownership(lock_address), signer
    )
    settlement = t.config.deployment.settlement
    targets = [policy if a.target.lower() != settlement.lower() else a.target for a in actions]
    if any(a.target.lower() == settlement.lower() for a in actions):
        return {}  # the settlement has one owner: no fair baseline to run
    payloads = [a.payload for a in actions]
    values = [0] * len(actions)
    t.chain.transact(lock.schedule_batch(targets, values, payloads, b"\0" * 32, salt, 0), signer)
    row = {"queue": _gas(t)}
    t.chain.transact(lock.execute_batch(targets, values, payloads, b"\0" * 32, salt), signer)
    row["execute"] = _gas(t)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "govern.json"
    )
    args = parser.parse_args()
    console = Console()
    home = Path(tempfile.mkdtemp(prefix="tessera-govern-bench-")) / "home"
    t = Tessera.init(home, chain="inprocess", password="bench", scrypt_n=2**4)
    gov = t.gov
    shapes = {
        "fee split": gov.actions.fee_split(FeeSplit(2_500, 2_500, 4_000, 1_000, t.address())),
        "block 1 CID": gov.actions.block_content([CID]),
        "block 10 CIDs": gov.actions.block_content([f"{CID[:-3]}{i:03d}" for i in range(10)]),
    }
    rows = []
    for i, (name, actions) in enumerate(shapes.items()):
        ours = governed_row(t, actions)
        batch = batch_row(t, actions, i.to_bytes(32, "big"))
        rows.append({"proposal": name, "calls": len(actions), **ours, "batch": batch})

    table = Table(title="gas per governance step (in-process py-evm)")
    for column in (
        "proposal",
        "calls",
        "propose",
        "vote",
        "queue",
        "execute",
        "batch queue",
        "batch execute",
        "x less (queue+execute)",
    ):
        table.add_column(column, justify="left" if column == "proposal" else "right")
    for row in rows:
        batch = row["batch"]
        ratio = (
            (batch["queue"] + batch["execute"]) / (row["queue"] + row["execute"]) if batch else None
        )
        row["x_less_than_batch"] = round(ratio, 2) if ratio else None
        table.add_row(
            row["proposal"], str(row["calls"]),
            *(f"{row[k]:,}" for k in ("propose", "vote", "queue", "execute")),
            *(f"{batch[k]:,}" if batch else "-" for k in ("queue", "execute")),
            f"{ratio:.1f}" if ratio else "-",
        )  # fmt: skip
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    t.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
