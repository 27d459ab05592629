"""Token amounts and chain time for payment tests."""

from __future__ import annotations

TSR = 10**18


def advance_home_chain(t, seconds: int) -> None:
    """Move the in-process chain's clock forward and mine a block at the new time."""
    tester = t.chain.w3.provider.ethereum_tester
    tester.time_travel(t.settlement.now() + seconds)
    tester.mine_blocks(1)


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def high_s_twin(signature: str) -> str:
    """The other signature of the same message by the same key: s' = n - s, v flipped.
    Ethereum libraries accept it; the contracts (snekmate's ecdsa) refuse it."""
    raw = bytes.fromhex(signature.removeprefix("0x"))
    s, v = int.from_bytes(raw[32:64], "big"), raw[64]
    return "0x" + (raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])).hex()


def keep_voucher(db, voucher) -> None:
    """Write a voucher into a node database as an older, laxer node would have kept it."""
    with db._lock, db.db:
        db.db.execute(
            "INSERT OR REPLACE INTO vouchers (client, amount, body) VALUES (?,?,?)",
            (voucher.client, str(voucher.amount), voucher.to_header()),
        )
