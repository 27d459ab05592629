"""Hostile cases for the X-Tessera-Authorization header, forged from a genuine authorization."""

from __future__ import annotations

import json
import secrets
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hostile_case import (
    AUTHORIZATION,
    CHAT,
    SECP256K1_N,
    HostileCase,
    chat,
    compact_rsv,
    joined_rsv,
    split_rsv,
)
from paid_requests import kept_request

from tessera._crypto.authorization import AUTHORIZATION_HEADER, request_typed_data
from tessera._crypto.eip712 import sign_typed
from tessera._crypto.receipt import canonical_json
from tessera._crypto.voucher import VOUCHER_HEADER, Voucher
from tessera._node.request_checks import MAX_AUTHORIZATION_CHARS


def signed_chat(
    signer: LocalAccount,
    genuine: Voucher,
    registry: str,
    nonce: int | None = None,
    **changes: Any,
) -> str:
    """`signer`'s authorization of `chat()` for the node `genuine` pays, on the deployment
    whose registry is `registry` (the receipts' verifying contract), with one part of what it
    signs changed: `chain_id`, `verifying_contract`, `node` or `request_hash`."""
    request_hash = keccak(canonical_json(kept_request(CHAT, json.loads(chat()))))
    domain = {
        "chain_id": genuine.chain_id,
        "verifying_contract": registry,
        "node": genuine.node,
        "request_hash": request_hash,
        **changes,
    }
    nonce = secrets.randbits(128) if nonce is None else nonce
    return f"{nonce}:{sign_typed(signer, request_typed_data(**domain, nonce=nonce))}"


def authorization_cases(genuine: Voucher, client: LocalAccount, registry: str) -> list[HostileCase]:
    """Forged from `client`'s authorization of `chat()` (`signed_chat`)."""
    body = chat()
    stranger = Account.from_key(b"\x07" * 32)

    def signed(signer: LocalAccount = client, nonce: int | None = None, **changes: Any) -> str:
        return signed_chat(signer, genuine, registry, nonce, **changes)

    header = signed()
    nonce, signature = header.split(":")
    r, s, v = split_rsv(signature)
    twin_v = 55 - v  # 27 <-> 28

    def sent(name: str, value: str | bytes | None, status: int = 401, code: str | None = None):
        headers = () if value is None else ((AUTHORIZATION_HEADER, value),)
        code = code or ("invalid_authorization" if status == 401 else None)
        param = "authorization" if status == 401 else None
        return HostileCase(
            AUTHORIZATION, name, status, code, param, body=body, headers=headers, signed=False
        )

    def with_nonce(text: str) -> str:
        return f"{text}:{signature}"

    def with_signature(text: str) -> str:
        return f"{nonce}:{text}"

    def respelled(spell: Any) -> str:
        fresh_nonce, fresh_signature = signed().split(":")
        return str(spell(fresh_nonce, fresh_signature))

    def compact_form(n: str, sig: str) -> str:
        return f"{n}:{compact_rsv(*split_rsv(sig))}"

    def zero_padded(n: str, sig: str) -> str:
        return "0" * (78 - len(n)) + f"{n}:{sig}"

    pad = MAX_AUTHORIZATION_CHARS - len(header)
    return [
        sent("genuine", header, 200),
        # other spellings of a genuine authorization are answered: each its own (a node spends
        # a nonce once, so each is signed afresh)
        sent("uppercase-0x-prefix", respelled(lambda n, sig: f"{n}:0X{sig[2:]}"), 200),
        sent("eip2098-compact-signature", respelled(compact_form), 200),
        sent("nonce-with-leading-zeros-to-78-digits", respelled(zero_padded), 200),
        sent("nonce-zero", signed(nonce=0), 200),
        sent("nonce-2-to-256-minus-1", signed(nonce=2**256 - 1), 200),
        sent("absent", None, code="authorization_required"),
        sent("empty", "", code="authorization_required"),
        sent("padded-past-the-limit", "0" * (pad + 1) + header),
        sent("8kb-of-junk", "j" * 8192),
        sent("64kb-of-junk", "j" * 65_536),
        sent("not-nonce-colon-signature", "authorize me"),
        sent("signature-only", signature),
        sent("nonce-only", f"{nonce}:"),
        sent("colon-only", ":"),
        sent("two-colons", header + ":" + nonce),
        sent("as-json", json.dumps({"nonce": int(nonce), "signature": signature})),
        sent("the-voucher-instead", genuine.to_header()),
        sent("not-latin1-safe", b"\xff\xfe" + header.encode()),
        # nonce forms: a lax parser reads most of them as the nonce that was signed
        sent("nonce-negative", with_nonce(f"-{nonce}")),
        sent("nonce-leading-plus", with_nonce(f"+{nonce}")),
        sent("space-before-the-colon", with_nonce(f"{nonce} ")),
        sent("space-after-the-colon", with_signature(f" {signature}")),
        sent("nonce-hex", with_nonce(f"{int(nonce):#x}")),
        sent("nonce-underscores", with_nonce(f"{int(nonce):_}")),
        sent("nonce-float", with_nonce(f"{nonce}.0")),
        sent("nonce-exponent", with_nonce(f"{nonce}e0")),
        sent("nonce-superscript-digit", b"\xb2:" + signature.encode()),  # latin-1 "²"
        sent("nonce-2-to-256", with_nonce(str(2**256))),
        sent("nonce-79-digits", with_nonce("1" * 79)),
        sent("nonce-raised-after-signing", with_nonce(str(int(nonce) + 1))),
        # signature forms of the genuine signature
        sent("signature-v-as-0-1", with_signature(joined_rsv(r, s, v - 27))),
        sent("signature-high-s-twin", with_signature(joined_rsv(r, SECP256K1_N - s, twin_v))),
        sent("signature-v-flipped", with_signature(joined_rsv(r, s, twin_v))),
        sent("signature-r-zero", with_signature(joined_rsv(0, s, v))),
        sent("signature-s-zero", with_signature(joined_rsv(r, 0, v))),
        sent("signature-r-n", with_signature(joined_rsv(SECP256K1_N, s, v))),
        sent("signature-65-zero-bytes", with_signature("0x" + "00" * 65)),
        sent("signature-63-bytes", with_signature(signature[: 2 + 126])),
        sent("signature-66-bytes", with_signature(signature + "00")),
        sent("signature-doubled", with_signature(signature + signature[2:])),
        sent("signature-odd-hex-length", with_signature(signature[:-1])),
        sent("signature-not-hex", with_signature(signature[:-2] + "zz")),
        sent("signature-without-0x", with_signature(signature[2:])),
        sent("signature-0x-only", with_signature("0x")),
        # genuine signatures of something else
        sent("signed-by-a-stranger", signed(stranger)),
        sent("for-another-body", signed(request_hash=keccak(canonical_json({"model": "x"})))),
        sent("for-another-node", signed(node=stranger.address)),
        sent("for-another-chain", signed(chain_id=genuine.chain_id + 1)),
        sent("for-another-registry", signed(verifying_contract=genuine.settlement)),
        HostileCase(
            AUTHORIZATION,
            "two-authorization-headers",
            401,
            "invalid_authorization",
            "authorization",
            body=body,
            headers=((AUTHORIZATION_HEADER, header), (AUTHORIZATION_HEADER, header)),
            signed=False,
        ),
        # the voucher is checked first: its refusals stand whatever the authorization
        HostileCase(
            AUTHORIZATION,
            "genuine-without-a-voucher",
            402,
            "payment_required",
            "voucher",
            body=body,
            headers=((AUTHORIZATION_HEADER, header),),
            paid=False,
            signed=False,
        ),
        HostileCase(
            AUTHORIZATION,
            "genuine-with-a-garbled-voucher",
            402,
            "invalid_voucher",
            "voucher",
            body=body,
            headers=((VOUCHER_HEADER, "{[[["), (AUTHORIZATION_HEADER, header)),
            signed=False,
        ),
    ]
