"""What the node accepts as a voucher signature is exactly what the settlement contract accepts.

Every malleable form of a real signature (v as 0/1, the high-s twin, EIP-2098 compact, zero or
out-of-range r and s, wrong lengths, random bytes) is judged twice: by `Voucher.verify` (the
node's check) and by the contract's own `voucher_signer` (the check `_redeem` applies), on
both chain backends. They must agree on every one.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera._chain.deploy import deploy_contracts
from tessera._chain.settlement import SettlementClient
from tessera._crypto.ecdsa import HALF_N, SECP256K1_N
from tessera._crypto.voucher import Voucher
from tessera._errors import SignatureError


@pytest.fixture
def signed(chain, funded):
    deployer, client, node = funded(), Account.create(), Account.create()
    deployment = deploy_contracts(chain, deployer)
    settlement = SettlementClient(chain, deployment.settlement)
    unsigned = Voucher(client.address, node.address, 10**18, chain.chain_id, settlement.address)
    return settlement, unsigned.signed_by(client)


def _parts(voucher: Voucher) -> tuple[int, int, int]:
    raw = bytes.fromhex(voucher.signature[2:])
    return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]


def _rsv(r: int, s: int, v: int) -> str:
    return "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])).hex()


def _compact(r: int, s: int, v: int) -> str:
    return "0x" + (r.to_bytes(32, "big") + (((v - 27) << 255) | s).to_bytes(32, "big")).hex()


def forms(voucher: Voucher) -> dict[str, str]:
    r, s, v = _parts(voucher)
    twin_v = 55 - v  # 27 <-> 28
    return {
        "original": voucher.signature,
        "v as 0/1": _rsv(r, s, v - 27),
        "high-s twin": _rsv(r, SECP256K1_N - s, twin_v),
        "high-s twin, v as 0/1": _rsv(r, SECP256K1_N - s, twin_v - 27),
        "eip-2098 compact": _compact(r, s, v),
        "v flipped": _rsv(r, s, twin_v),
        "v = 29": _rsv(r, s, 29),
        "s = 0": _rsv(r, 0, v),
        "r = 0": _rsv(0, s, v),
        "s = n/2 + 1": _rsv(r, HALF_N + 1, v),
        "s = n": _rsv(r, SECP256K1_N, v),
        "r = n": _rsv(SECP256K1_N, s, v),
        "r + n (mod 2^256)": _rsv((r + SECP256K1_N) % 2**256, s, v),
        "64 bytes of zeros": "0x" + "00" * 64,
        "65 bytes of zeros": "0x" + "00" * 65,
        "truncated to 63": voucher.signature[: 2 + 126],
    }


def judged_by_node(voucher: Voucher) -> bool:
    try:
        voucher.verify()
    except SignatureError:
        return False
    return True


def judged_by_contract(settlement: SettlementClient, voucher: Voucher) -> bool:
    raw = voucher.signature.removeprefix("0x")
    if len(raw) % 2 or len(raw) > 130:
        return False  # the contract takes Bytes[65]: the ABI cannot even carry it
    signer = settlement.voucher_signer(voucher.client, voucher.node, voucher.amount, "0x" + raw)
    return signer == voucher.client


def test_every_malleable_form_is_judged_alike_by_node_and_contract(signed):
    settlement, voucher = signed
    verdicts = {}
    for name, signature in forms(voucher).items():
        candidate = replace(voucher, signature=signature)
        verdicts[name] = (judged_by_node(candidate), judged_by_contract(settlement, candidate))
    disagreements = {name: v for name, v in verdicts.items() if v[0] != v[1]}
    assert not disagreements, disagreements
    accepted = sorted(name for name, (node, _) in verdicts.items() if node)
    assert accepted == ["eip-2098 compact", "original"]


def test_ethereum_libraries_accept_the_high_s_twin_that_both_refuse(signed):
    """The attack of the issue: eth-account recovers the client from the twin."""
    settlement, voucher = signed
    twin = replace(voucher, signature=forms(voucher)["high-s twin"])
    message = encode_typed_data(full_message=twin.typed_data())
    raw = bytes.fromhex(twin.signature[2:])
    assert Account.recover_message(message, signature=raw) == voucher.client
    assert not judged_by_node(twin)
    assert not judged_by_contract(settlement, twin)


@pytest.mark.parametrize("chain", ["inprocess"], indirect=True)
def test_random_signatures_are_judged_alike(signed):
    settlement, voucher = signed
    r, s, v = _parts(voucher)

    @given(
        r=st.sampled_from([r, 0, 1, SECP256K1_N - 1, SECP256K1_N]) | st.integers(0, 2**256 - 1),
        s=st.sampled_from([s, SECP256K1_N - s, HALF_N, HALF_N + 1]) | st.integers(0, 2**256 - 1),
        v=st.sampled_from([v, 55 - v, 0, 1, 29]) | st.integers(0, 255),
        compact=st.booleans(),
    )
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def agree(r, s, v, compact):
        if compact and (s >= 2**255 or v not in (27, 28)):
            return  # not expressible in 64 bytes
        signature = _compact(r, s, v) if compact else _rsv(r, s, v)
        candidate = replace(voucher, signature=signature)
        assert judged_by_node(candidate) == judged_by_contract(settlement, candidate)

    agree()
