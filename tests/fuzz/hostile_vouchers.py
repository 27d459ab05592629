"""Hostile cases for the X-Tessera-Voucher header, forged from a genuine voucher."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hostile_authorizations import signed_chat
from hostile_case import (
    LIMITS,
    SECP256K1_N,
    VOUCHER,
    HostileCase,
    chat,
    compact_rsv,
    joined_rsv,
    nested,
    split_rsv,
)

from tessera._crypto.authorization import AUTHORIZATION_HEADER
from tessera._crypto.voucher import VOUCHER_HEADER, Voucher

# the X-Tessera-Voucher header -----------------------------------------------------------------


def voucher_cases(genuine: Voucher, client: LocalAccount, registry: str) -> list[HostileCase]:
    """Forged from `genuine` (signed by `client` for the node under test, whose deployment's
    registry is `registry`)."""
    fields = {
        "client": genuine.client,
        "node": genuine.node,
        "amount": str(genuine.amount),
        "chain_id": genuine.chain_id,
        "settlement": genuine.settlement,
        "signature": genuine.signature,
    }
    header = json.dumps(fields, separators=(",", ":"))  # the form NodeClient sends
    amount, chain_id = str(genuine.amount), genuine.chain_id
    stranger = Account.from_key(b"\x07" * 32)
    r, s, v = split_rsv(genuine.signature)

    def sent(
        name: str,
        value: str | bytes | None,
        status: int = 402,
        code: str | None = None,
        signer: LocalAccount | None = None,
    ):
        """The voucher header `value`, with `signer`'s authorization of the body if given
        (else the client's, added when sent)."""
        headers = () if value is None else ((VOUCHER_HEADER, value),)
        if signer is not None:
            headers += ((AUTHORIZATION_HEADER, signed_chat(signer, genuine, registry)),)
        code = code or ("invalid_voucher" if status == 402 else None)
        return HostileCase(VOUCHER, name, status, code, body=chat(), headers=headers, paid=False)

    def changed(**changes: Any) -> str:
        return json.dumps({**fields, **changes}, separators=(",", ":"))

    def resigned(**changes: Any) -> str:
        return replace(genuine, **changes).signed_by(client).to_header()

    def amount_as(text: str) -> str:
        return header.replace(f'"amount":"{amount}"', f'"amount":{text}')

    def chain_id_as(text: str) -> str:
        return header.replace(f'"chain_id":{chain_id}', f'"chain_id":{text}')

    def signature(value: Any) -> str:
        return changed(signature=value)

    def unfunded(**changes: Any) -> str:
        return replace(genuine, client=stranger.address, **changes).signed_by(stranger).to_header()

    by_stranger = replace(genuine, client=stranger.address).signed_by(stranger)
    pad = max(0, LIMITS.max_voucher_bytes - len(header))
    twin_v = 55 - v  # 27 <-> 28
    return [
        sent("genuine", header, 200),
        sent("genuine-with-lowercase-addresses", header.lower(), 200),
        sent("eip2098-compact-signature", signature(compact_rsv(r, s, v)), 200),
        sent("padded-to-exactly-the-limit", header[:1] + " " * pad + header[1:], 200),
        sent("duplicate-amount-last-genuine", '{"amount":"1",' + header[1:], 200),
        sent("absent", None, code="payment_required"),
        sent("empty", "", code="payment_required"),
        sent("genuine-padded-past-the-limit", header[:1] + " " * (pad + 1) + header[1:]),
        sent("8kb-of-junk", "j" * 8192),
        sent("64kb-of-junk", "j" * 65_536),
        sent("not-json", "voucher please"),
        sent("truncated-json", header[:-9]),
        sent("json-array", f"[{header}]"),
        sent("json-string", json.dumps(header)),
        sent("json-null", "null"),
        sent("json-number", "10000000000000000000"),
        sent("nested-600-deep", nested(600)),
        sent("wrapped-in-an-object", json.dumps({"voucher": fields})),
        sent("client-an-object", changed(client={"client": fields["client"]})),
        sent("client-nested-lists", changed(client=json.loads(nested(200, '"0x"')))),
        sent("not-latin1-safe", b"\xff\xfe" + header.encode()),
        sent("utf8-in-the-client", header.replace('"0x', '"0x\u00e9', 1).encode()),
        *(sent(f"no-{name}", _without(fields, name)) for name in fields),
        sent("duplicate-amount-last-forged", header[:-1] + ',"amount":"1"}'),
        # amount forms: most parse, in a lax parser, to the amount that was signed
        sent("amount-json-float", amount_as(f"{amount}.0")),
        sent("amount-json-exponent", amount_as(_exponent(amount))),
        sent("amount-string-exponent", amount_as(f'"{_exponent(amount)}"')),
        sent("amount-string-decimal", amount_as(f'"{amount}.0"')),
        sent("amount-negative", amount_as('"-1"')),
        sent("amount-underscores", amount_as(f'"{int(amount):_}"')),
        sent("amount-leading-space", amount_as(f'" {amount}"')),
        sent("amount-trailing-newline", amount_as(f'"{amount}\\n"')),
        sent("amount-leading-plus", amount_as(f'"+{amount}"')),
        sent("amount-hex", amount_as(f'"{int(amount):#x}"')),
        sent("amount-arabic-indic-digits", amount_as(json.dumps(_digits(amount, 0x0660)))),
        sent("amount-fullwidth-digits", amount_as(json.dumps(_digits(amount, 0xFF10)))),
        sent("amount-2-to-256", amount_as(f'"{2**256}"')),
        sent("amount-100-digits", amount_as('"' + "9" * 100 + '"')),
        sent("amount-empty", amount_as('""')),
        sent("amount-true", amount_as("true")),
        sent("amount-null", amount_as("null")),
        sent("amount-a-list", amount_as(f'["{amount}"]')),
        # chain_id forms
        sent("chain-id-true", chain_id_as("true")),
        sent("chain-id-float", chain_id_as(f"{chain_id}.0")),
        sent("chain-id-exponent", chain_id_as(f"{chain_id}e0")),
        sent("chain-id-negative", chain_id_as(f"-{chain_id}")),
        sent("chain-id-2-to-256", chain_id_as(str(2**256))),
        # addresses
        sent("client-bad-checksum", changed(client=_miscased(fields["client"]))),
        sent("node-bad-checksum", changed(node=_miscased(fields["node"]))),
        sent("settlement-bad-checksum", changed(settlement=_miscased(fields["settlement"]))),
        sent("client-without-0x", changed(client=fields["client"][2:])),
        sent("client-39-hex-digits", changed(client=fields["client"][:-1])),
        sent("client-41-hex-digits", changed(client=fields["client"] + "0")),
        sent("client-not-hex", changed(client=fields["client"][:-1] + "g")),
        sent("client-with-spaces", changed(client=f" {fields['client']} ")),
        sent("client-a-number", changed(client=int(fields["client"], 16))),
        sent("client-zero-address", changed(client="0x" + "00" * 20)),
        sent("client-swapped", changed(client=stranger.address)),
        # signature forms of the genuine signature
        sent("signature-v-as-0-1", signature(joined_rsv(r, s, v - 27))),
        sent("signature-high-s-twin", signature(joined_rsv(r, SECP256K1_N - s, twin_v))),
        sent("signature-high-s-twin-v-0-1", signature(joined_rsv(r, SECP256K1_N - s, twin_v - 27))),
        sent("signature-v-flipped", signature(joined_rsv(r, s, twin_v))),
        sent("signature-v-29", signature(joined_rsv(r, s, 29))),
        sent("signature-v-eip155", signature(joined_rsv(r, s, 37))),
        sent("signature-r-zero", signature(joined_rsv(0, s, v))),
        sent("signature-s-zero", signature(joined_rsv(r, 0, v))),
        sent("signature-r-n", signature(joined_rsv(SECP256K1_N, s, v))),
        sent("signature-s-n", signature(joined_rsv(r, SECP256K1_N, v))),
        sent("signature-s-half-n-plus-1", signature(joined_rsv(r, SECP256K1_N // 2 + 1, v))),
        sent("signature-compact-wrong-parity", signature(compact_rsv(r, s, twin_v))),
        sent("signature-65-zero-bytes", signature("0x" + "00" * 65)),
        sent("signature-64-zero-bytes", signature("0x" + "00" * 64)),
        sent("signature-63-bytes", signature(genuine.signature[: 2 + 126])),
        sent("signature-66-bytes", signature(genuine.signature + "00")),
        sent("signature-doubled", signature(genuine.signature + genuine.signature[2:])),
        sent("signature-odd-hex-length", signature(genuine.signature[:-1])),
        sent("signature-not-hex", signature(genuine.signature[:-2] + "zz")),
        sent("signature-0x-only", signature("0x")),
        sent("signature-empty", signature("")),
        sent("signature-a-number", signature(int(genuine.signature, 16))),
        sent("signature-a-list", signature(list(bytes.fromhex(genuine.signature[2:])))),
        sent("signature-by-a-stranger", changed(signature=by_stranger.signature)),
        sent("amount-raised-after-signing", changed(amount=str(genuine.amount + 1))),
        # genuine signatures, for somewhere else or for too little
        sent("for-another-node", resigned(node=stranger.address)),
        sent("for-another-chain", resigned(chain_id=chain_id + 1)),
        sent("for-another-settlement", resigned(settlement=stranger.address)),
        # genuine, but from a client with nothing in escrow
        sent(
            "stranger-for-one-unit",
            unfunded(amount=1),
            code="insufficient_voucher",
            signer=stranger,
        ),
        sent("stranger-without-escrow", unfunded(), code="insufficient_escrow", signer=stranger),
        HostileCase(
            VOUCHER,
            "two-voucher-headers",
            402,
            "invalid_voucher",
            body=chat(),
            headers=((VOUCHER_HEADER, header), (VOUCHER_HEADER, changed(amount="1"))),
            paid=False,
        ),
    ]


def _without(fields: dict[str, Any], name: str) -> str:
    return json.dumps({k: v for k, v in fields.items() if k != name})


def _exponent(number: str) -> str:
    """1E+19 for 10000000000000000000: the same integer, in exponent form."""
    mantissa = number.rstrip("0")
    return f"{mantissa}E+{len(number) - len(mantissa)}"


def _digits(number: str, zero: int) -> str:
    return "".join(chr(zero + int(d)) for d in number)


def _miscased(address: str) -> str:
    """The checksummed `address` with one letter's case flipped: a wrong EIP-55 checksum."""
    at = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:at] + address[at].swapcase() + address[at + 1 :]
