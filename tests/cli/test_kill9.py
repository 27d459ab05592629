"""kill -9 in the middle of `tessera contribute`, then run it again: no duplicates, no gaps."""

from __future__ import annotations

import signal
import time

from web3 import Web3

from tessera._chain.client import Chain
from tessera._chain.registry import RegistryClient


def test_kill_minus_9_mid_ingest_then_rerun_finishes_exactly_once(cli, tmp_path):
    import json

    cli.ok("datanet", "create", "crash", "--license", "MIT")
    source = tmp_path / "many.jsonl"
    n = 40
    source.write_text("".join(json.dumps({"text": f"crash fact {i}"}) + "\n" for i in range(n)))
    config = json.loads((cli.home / "config.json").read_text())
    registry = RegistryClient(
        Chain.connect(config["chain"]["url"]),
        Web3.to_checksum_address(config["contracts"]["registry"]),
    )
    datanet = registry.datanet_id("crash")

    proc = cli.popen("contribute", "crash", str(source), "--batch-size", "1")
    deadline = time.time() + 120
    while registry.datanet(datanet).batch_count < 5 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    landed = registry.datanet(datanet).contribution_count
    assert 5 <= landed < n, "the kill must land mid-ingest"

    out = cli.ok("contribute", "crash", str(source), "--batch-size", "1")
    assert f"{n - landed} new contributions" in out
    assert f"{landed} chunk(s) already in crash" in out
    record = registry.datanet(datanet)
    assert (record.contribution_count, record.batch_count) == (n, n)
    show = cli.ok("datanet", "show", "crash")
    assert f"{n} contributions in {n} batches, 1 contributors" in show
