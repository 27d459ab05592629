"""The README's first command: `tessera demo`, on the real default models."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
# the whole loop on the real models, with validators: minutes alone, more beside other tests
@pytest.mark.timeout(1800)
def test_the_demo_runs_the_whole_loop_on_the_embedded_defaults(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tessera.cli.main",
            "--home",
            str(tmp_path / "home"),
            "demo",
            "--chain",
            "inprocess",
        ],
        capture_output=True,
        text=True,
        timeout=1700,
        env={**os.environ, "TESSERA_PASSWORD": "demo", "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.count("VERIFIED by the registry contract") == 3
    assert "24 contributions in 4 batches, 4 contributors" in out
    assert out.count("receipt verified on chain") == 6  # two from the cheater
    assert "A: Ilsa Varrow" in out
    # two operators: the second joins from the registry's address and fetches what it serves
    assert "joins from registry 0x" in out and "no data ingested" in out
    fetched = int(out.split("operator-2's node fetched ")[1].split(" blocks")[0])
    assert fetched >= 24 + 4  # every contribution and every manifest, none ingested there
    assert out.count("bonds 1000 TSR and registers") == 3  # two operators and the cheater
    assert out.count("(approved: yes)") >= 2
    # the cheaper node answers first; stopped, the client fails over to the other
    answered = [line.split("(node ")[1][:42] for line in out.splitlines() if "answered by" in line]
    assert len(answered) == 6 and len(set(answered[:3])) == 1 and answered[3] != answered[0]
    assert "passed over " + answered[0] in out
    assert "epoch 0: 4 receipts" in out and "epoch 0: 1 receipts" in out and "(posted," in out
    assert out.count(": OK") == 3 and "1 receipts re-verified" in out
    assert "4 receipts re-verified" in out  # one through the adapter
    assert "token holders approve gemma-3-270m at 0x" in out  # proposal 1
    assert "and demo-facts-lora at 0x" in out
    # the builder trains an adapter on the datanet, publishes it; the client asks through it
    assert "traced back from the chain: 24 contributions, every claim checks out" in out
    assert "receipt names demo-facts-lora at 0x" in out
    through_adapter = out.split("Q (demo-facts-lora):")[1].split("receipt names")[0]
    assert "Ilsa Varrow" in through_adapter  # the adapter answers from the retrieved fact
    # the same receipt divides the contributors' pool with what the adapter learned from
    receipt = out.split("Q (demo-facts-lora):")[1].split("receipt names")[1]
    assert "contributors' pool pays" in receipt.split("\n\n")[0]
    assert "who earned what, and why" in out
    for role in ("model owner", "contributor", "treasury", "node"):
        assert role in out, role
    assert "operator-2 (default)" in out  # the second operator's node fee, claimed in its home
    # governance blocks the contribution behind the first answer; the planted fact exists
    # nowhere else, so an answer without it cannot name the founder any more
    # validators: two stake, re-check every epoch; the cheater's changed answer is challenged,
    # a committee votes, it is slashed and its epoch refunded; the honest nodes are not touched
    assert out.count("stakes 1000 TSR as a validator") == 2
    caught = out.split("12. validators re-check")[1].split("13. after the challenge")[0]
    assert "answer" in caught and "slashed" in caught
    assert "back to the client who paid it" in caught
    governed = out.split("14. token holders block a contribution")[1]
    assert "proposal 2: SUCCEEDED" in governed and "proposal 2 executed" in governed
    assert governed.count("withheld bafk") == 1
    assert "the blocked contribution is no longer used or paid" in governed
    assert "Ilsa Varrow" not in governed
