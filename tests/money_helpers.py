"""Token amounts and chain time for payment tests."""

from __future__ import annotations

TSR = 10**18


def travel(t, seconds: int) -> None:
    """Move the in-process chain's clock forward and mine a block at the new time."""
    tester = t.chain.w3.provider.ethereum_tester
    tester.time_travel(t.settlement.now() + seconds)
    tester.mine_blocks(1)
