"""The answer page's own check of a receipt (static/receipt-check.mjs), run under Node.js on
receipts the Python code signed, served as the web app serves them: a signed receipt verifies;
one field changed in its JSON (as a server could change it, its "hashes" left alone) does not,
and the reason names what changed."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from node_helpers import LiveNode, start_paying_node
from starlette.responses import JSONResponse

from tessera._client import NodeClient
from tessera._crypto.authorization import authorize_request
from tessera._crypto.ecdsa import SECP256K1_N
from tessera._crypto.receipt import AttributedSource, DatanetSnapshot, Receipt, canonical_json
from tessera._errors import TesseraError
from tessera._store.cid import cid_for

CHECK = Path(__file__).parents[2] / "src" / "tessera" / "web" / "static" / "receipt-check.mjs"
RUN = f"""
import {{ readFileSync }} from "node:fs";
import {{ checkReceipt }} from {json.dumps(CHECK.as_uri())};
const texts = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(texts.map(checkReceipt)));
"""
NODE = Account.from_key("0x" + "11" * 32)
CLIENT = Account.from_key("0x" + "22" * 32)
CONTRACT = "0x" + "ab" * 20
# numbers and strings whose JSON spelling the request hash covers, keys Python sorts by code
# point (U+FFFF before U+1F37A, unlike JavaScript's default sort)
REQUEST = {
    "messages": [{"role": "user", "content": 'Who founded Ulora? 🍺 "é"\n\u0001'}],
    "\uffff": 1,
    "🍺": 2,
    "temperature": 0.7,
    "top_p": 1.0,
    "tiny": 1e-05,
    "big": 10**30,
    "more": [2.5e20, None, True, -0.0],
}


@pytest.fixture(scope="module")
def node_js() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the page's receipt check is run under node")
    return node


def _check(node_js: str, *receipts: Receipt | dict[str, Any]) -> list[dict[str, Any]]:
    """checkReceipt on each receipt's JSON text, byte for byte as /receipts/ID.json serves it."""
    bodies = [r.to_json() if isinstance(r, Receipt) else r for r in receipts]
    texts = [bytes(JSONResponse(b).body).decode() for b in bodies]
    done = subprocess.run(
        [node_js, "--input-type=module", "-e", RUN],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["verified"] for r in results] == [_python_verifies(b) for b in bodies]
    return results


def _python_verifies(body: dict[str, Any]) -> bool:
    """Receipt.verify's verdict on the same JSON: the page and Python agree on every case."""
    try:
        Receipt.from_json(body).verify()
    except TesseraError:
        return False
    return True


def _source(seed: bytes, contributor: str, datanet: int, weight_ppm: int) -> AttributedSource:
    return AttributedSource(cid_for(seed), contributor, datanet, weight_ppm)


def _receipt() -> Receipt:
    """Every field the signature covers in use: an adapter's answer, one training source
    withheld, weights that leave a rounding remainder to merge, the client's authorization."""
    request_hash = keccak(canonical_json(REQUEST))
    return Receipt(
        id="chatcmpl-1",
        node=NODE.address,
        chain_id=31337,
        verifying_contract=CONTRACT,
        request=REQUEST,
        response_text="Radul Thothosa founded it.\r\n",
        model="gemma-3-270m",
        datanets=(DatanetSnapshot(1, "0x" + "cd" * 32, 3), DatanetSnapshot(2, "0x" + "ef" * 32, 1)),
        attribution=(
            _source(b"a", "0x" + "33" * 20, 1, 333_333),
            _source(b"b", "0x" + "44" * 20, 2, 666_667),
        ),
        price=123 * 10**12,
        client=CLIENT.address,
        timestamp=1_700_000_000,
        model_digest="0x" + "12" * 32,
        context=(cid_for(b"a"), cid_for(b"b")),
        answer_tokens=(5, 17, 2**40),
        method="leave-one-out",
        authorization=authorize_request(CLIENT, 31337, CONTRACT, NODE.address, request_hash),
        training=(
            _source(b"c", "0x" + "55" * 20, 3, 700_001),
            _source(b"d", "0x" + "66" * 20, 3, 299_999),
        ),
        training_method="tracin",
        training_share_ppm=250_001,
        training_weight_bps=3000,
        withheld=(cid_for(b"d"),),
        withheld_to="0x" + "77" * 20,
    ).signed_by(NODE)


Change = Callable[[Any], None]


def _changed(receipt: Receipt, change: Change) -> dict[str, Any]:
    """The receipt's JSON with `change(body)` applied, its stated hashes as signed."""
    body = json.loads(json.dumps(receipt.to_json()))
    change(body)
    return body


def _set(path: tuple[str | int, ...], value: Any) -> Change:
    def change(body: Any) -> None:
        for key in path[:-1]:
            body = body[key]
        body[path[-1]] = value

    return change


def _shift_training(body: dict[str, Any]) -> None:
    first, second = body["training"]
    first["weight_ppm"], second["weight_ppm"] = 600_001, 399_999  # still summing to 1e6


def test_a_signed_receipt_verifies_and_names_its_node(node_js):
    receipt = _receipt()
    receipt.verify()
    plain = dataclasses.replace(
        receipt, training=(), training_method="", training_share_ppm=0, withheld=(),
        withheld_to="", training_weight_bps=0, authorization=None, context=(), answer_tokens=(),
    ).signed_by(NODE)  # fmt: skip
    for result in _check(node_js, receipt, plain):
        assert result == {
            "verified": True,
            "reason": "",
            "signer": NODE.address,
            "node": NODE.address,
            "answer": receipt.response_text,
        }


CHANGES = {
    "answer text": (
        _set(("response_text",), "Someone else founded it."),
        "the answer text differs from what the node signed (responseHash)",
    ),
    "request": (
        _set(("request", "temperature"), 0.8),
        "the request differs from what the node signed (requestHash)",
    ),
    "attribution weight": (
        _set(("attribution", 0, "weight_ppm"), 333_334),
        "the attribution differs from what the node signed (attributionHash)",
    ),
    "training attribution": (
        _shift_training,
        "the attribution, the transcript and the training attribution differ from what the "
        "node signed (attributionHash, transcriptHash, trainingHash)",
    ),
    "training method": (
        _set(("training_method",), "other"),
        "the transcript and the training attribution differ from what the node signed "
        "(transcriptHash, trainingHash)",
    ),
    "client authorization": (
        lambda body: body["authorization"].update(nonce=body["authorization"]["nonce"] + 1),
        "the client's authorization differs from what the node signed (authorizationHash)",
    ),
    "datanet snapshot": (
        _set(("datanets", 0, "batches"), 4),
        "the list of datanet snapshots differs from what the node signed (datanetsHash)",
    ),
}


@pytest.mark.parametrize("what", CHANGES)
def test_a_changed_hashed_field_fails_and_says_which(node_js, what):
    change, reason = CHANGES[what]
    (result,) = _check(node_js, _changed(_receipt(), change))
    assert result["verified"] is False and result["node"] == NODE.address
    assert result["reason"] == reason


@pytest.mark.parametrize(
    "field, value",
    [("price", 123 * 10**12 + 1), ("client", "0x" + "99" * 20), ("model", "other"),
     ("timestamp", 1), ("chain_id", 1), ("model_digest", "0x" + "34" * 32)],
)  # fmt: skip
def test_a_changed_signed_value_fails_as_another_signer(node_js, field, value):
    (result,) = _check(node_js, _changed(_receipt(), _set((field,), value)))
    assert result["verified"] is False
    assert result["signer"] not in (None, NODE.address)
    assert result["reason"].startswith(
        f"the signature recovers to {result['signer']}, not to the node {NODE.address}"
    )


def test_hashes_restated_to_match_a_change_do_not_help(node_js):
    forged = dataclasses.replace(_receipt(), response_text="Someone else founded it.")
    (result,) = _check(node_js, forged)
    assert result["verified"] is False and "not to the node" in result["reason"]


def test_a_signature_by_another_key_or_malformed_or_malleable_is_refused(node_js):
    receipt = _receipt()
    other = dataclasses.replace(receipt, node=CLIENT.address).signed_by(CLIENT).signature
    raw = bytes.fromhex(receipt.signature[2:])
    high_s = (SECP256K1_N - int.from_bytes(raw[32:64], "big")).to_bytes(32, "big")
    twin = raw[:32] + high_s + bytes([55 - raw[64]])  # the same signature's malleable form
    results = _check(
        node_js,
        _changed(receipt, _set(("signature",), other)),
        _changed(receipt, _set(("signature",), receipt.signature[:-3])),
        _changed(receipt, _set(("signature",), "0x" + twin.hex())),
        _changed(receipt, _set(("signature",), "")),
    )
    assert [r["verified"] for r in results] == [False] * 4
    assert results[0]["signer"] == CLIENT.address
    assert results[0]["reason"].startswith(f"the signature recovers to {CLIENT.address}")
    assert results[1]["reason"].startswith("the node's signature is malformed")
    assert "upper half" in results[2]["reason"]
    assert results[3]["reason"] == "the receipt is not signed"


def test_what_is_not_a_receipt_is_said_so(node_js):
    results = _check(node_js, {"id": "x"}, _changed(_receipt(), _set(("context", 0), "Qm")))
    assert results[0]["reason"].startswith("the receipt cannot be read")
    assert results[1]["reason"] == "Qm is not a raw sha256 CIDv1"


@pytest.fixture(scope="module")
def paying(tmp_path_factory, wide_generator, tiny_embedder) -> Iterator[LiveNode]:
    node = start_paying_node(tmp_path_factory.mktemp("paying"), wide_generator, tiny_embedder)
    yield node
    node.stop()


def test_a_live_nodes_receipt_verifies_and_its_answer_cannot_be_changed(node_js, paying):
    t = paying.t
    with closing(NodeClient(paying.url, payer=t.payer("alice"))) as alice:
        receipt = alice.ask("Who founded the Ulora Brewery?").receipt
    assert receipt is not None and receipt.attribution and receipt.authorization
    changed = _changed(receipt, _set(("response_text",), receipt.response_text + "!"))
    valid, forged = _check(node_js, receipt, changed)
    assert valid["verified"] is True and valid["signer"] == receipt.node
    assert forged["reason"] == "the answer text differs from what the node signed (responseHash)"
