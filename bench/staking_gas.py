"""Gas of each staking step a node operator takes, against a token transfer and a batch
registration measured in the same run.

    python bench/staking_gas.py

On one in-process py-evm chain with the whole deployment (`deploy_contracts`), an operator
approves, registers (endpoint + metadata CID + stake), updates its listing, adds stake,
unbonds part, leaves, withdraws after the wait and registers again; a second operator
registers into a list that is no longer empty. The baselines are a plain TSR `transfer` and
one `register_batch` of the data registry (a Merkle root of contributions), the cheapest and
the most common write a node already pays for.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table

from tessera._chain.client import IN_PROCESS, Chain
from tessera._chain.deploy import DEFAULT_MIN_STAKE, deploy_contracts
from tessera._chain.registry import RegistryClient
from tessera._chain.staking import StakingClient

TSR = 10**18
ENDPOINT = "http://203.0.113.7:8000"  # a typical public endpoint
CID = "bafkreibkm5y5gofuea7v4e3tmqjfffu7rzdh36pmggojxvqzfcprlde2xa"  # a CIDv1, 59 characters


def _gas(receipt: Any) -> int:
    return int(receipt["gasUsed"])


def operator(chain: Chain, staking: StakingClient, treasury: LocalAccount) -> LocalAccount:
    account = Account.create()
    chain.fund(account.address, 10**20)
    staking.token.transfer(treasury, account.address, 10 * DEFAULT_MIN_STAKE)
    return account


def staking_rows(chain: Chain, staking: StakingClient, treasury: LocalAccount) -> dict[str, int]:
    """Gas of every step of one operator's life, and of a second operator's registration."""
    first, second = operator(chain, staking, treasury), operator(chain, staking, treasury)
    token = staking.token.contract.functions
    rows = {
        "approve": _gas(
            chain.transact(token.approve(staking.address, 10 * DEFAULT_MIN_STAKE), first)
        )
    }
    rows["register (first node)"] = staking.register(first, 2 * DEFAULT_MIN_STAKE, ENDPOINT, CID)
    rows["register (second node)"] = staking.register(second, DEFAULT_MIN_STAKE, ENDPOINT, CID)
    rows["update"] = staking.update(first, ENDPOINT.replace("8000", "8001"), CID[:-1] + "b")
    rows["add_stake"] = staking.add_stake(first, DEFAULT_MIN_STAKE)
    rows["unbond"] = staking.unbond(first, DEFAULT_MIN_STAKE)
    rows["leave"] = staking.leave(first)
    chain.wait_until(staking.node(first.address).withdrawable_at)
    rows["withdraw"] = _gas(chain.transact(staking.contract.functions.withdraw(), first))
    rows["register again"] = staking.register(first, DEFAULT_MIN_STAKE, ENDPOINT, CID)
    return rows


def baseline_rows(chain: Chain, registry: RegistryClient, token: Any, treasury: LocalAccount):
    """A TSR transfer to a fresh address, and one batch registered to a datanet."""
    transfer = _gas(chain.transact(token.transfer(Account.create().address, TSR), treasury))
    datanet = registry.create_datanet(treasury, "bench", "CC-BY-4.0", CID)
    _, batch = registry.register_batch(
        treasury, datanet, b"\x01" * 32, 1_000, b"\x02" * 32, 10, CID
    )
    return {"token transfer": transfer, "register_batch": batch}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "staking_gas.json"
    )
    args = parser.parse_args()
    console = Console()
    chain = Chain.connect(IN_PROCESS)
    treasury = Account.create()
    chain.fund(treasury.address, 10**21)
    deployment = deploy_contracts(chain, treasury)
    staking = StakingClient(chain, deployment.staking)
    steps = staking_rows(chain, staking, treasury)
    registry = RegistryClient(chain, deployment.registry)
    baselines = baseline_rows(chain, registry, staking.token.contract.functions, treasury)

    transfer = baselines["token transfer"]
    table = Table(title="gas per staking step (in-process py-evm)")
    for column in ("step", "gas", "x token transfer", "x register_batch"):
        table.add_column(column, justify="left" if column == "step" else "right")
    rows = []
    for step, gas in [*steps.items(), *baselines.items()]:
        row = {
            "step": step,
            "gas": gas,
            "x_transfer": round(gas / transfer, 2),
            "x_register_batch": round(gas / baselines["register_batch"], 2),
        }
        rows.append(row)
        table.add_row(
            step, f"{gas:,}", f"{row['x_transfer']:.2f}", f"{row['x_register_batch']:.2f}"
        )
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    body = {"endpoint": ENDPOINT, "metadata_cid": CID, "rows": rows}
    args.out.write_text(json.dumps(body, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
