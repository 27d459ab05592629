"""disputes.vy, receipt challenges: the on-chain digest and leaf are the ones Python signs and
builds; objective faults (signature, model, authorization) slash in the same transaction and
an honest receipt cannot be slashed; every bad input reverts with its exact reason, changing
nothing."""

from __future__ import annotations

import pytest
from chain_helpers import events
from dispute_world import (
    CHALLENGE,
    FORGED,
    FORGED_AUTH,
    FREE,
    HIGH_S,
    HONEST,
    MODEL,
    NODE_STAKE,
    PARAMS,
    PAYOUTS,
    REPLAYED,
    SIGNATURE,
    SLASHED,
    UNAPPROVED_MODEL,
    UNAUTHORIZED,
    UNAUTHORIZED_PAID,
    WITHHELD,
    ZERO32,
)
from dispute_world import MODEL_KIND as MODEL_FAULT
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_bytes

from tessera._crypto.receipt import RECEIPT_TYPES
from tessera._payments.receipts_tree import ReceiptsTree

SLASH = NODE_STAKE * PARAMS.slash_bps // 10_000
TO_CHALLENGER = SLASH * PARAMS.challenger_share_bps // 10_000


def auth_of(receipt) -> tuple[int, bytes]:
    auth = receipt.authorization
    return (auth.nonce, to_bytes(hexstr=auth.signature)) if auth else (0, b"")


def challenge(dw, receipt: int, kind: int, *, sender=None, epoch: int = 0, auth=None, **lie):
    """Challenges receipt `receipt` of epoch 0 (keywords change the evidence); returns the tx."""
    nonce, signature = auth if auth is not None else auth_of(dw.receipts[receipt])
    fn = dw.disputes.functions.challenge_receipt(
        dw.node.address, epoch, kind, dw.evidence(receipt, **lie), nonce, signature
    )
    return fn.transact({"from": (sender or dw.challenger).address})


def state(dw) -> tuple:
    """Everything a refused challenge must leave as it was."""
    parties = [dw.challenger.address, dw.stranger.address, dw.treasury]
    contracts = [dw.disputes.address, dw.staking.address, dw.settlement.address]
    s = dw.settlement.functions
    return (
        [dw.balance(a) for a in parties + contracts],
        dw.node_stake(),
        dw.last_id(),
        s.frozen(dw.node.address).call(),
        s.voided_from(dw.node.address).call(),
        dw.disputes.functions.bonds_held().call(),
    )


# the receipt's digest and leaf ---------------------------------------------------------------


def spec_typed_data(dw, receipt) -> dict:
    """The receipt's EIP-712 message built from spec §1's field list, not the lead's code."""
    names = [
        "requestHash",
        "responseHash",
        "model",
        "modelDigest",
        "datanetsHash",
        "attributionHash",
        "transcriptHash",
        "authorizationHash",
        "price",
        "client",
        "timestamp",
    ]
    kinds = ["bytes32", "bytes32", "string"] + ["bytes32"] * 5 + ["uint256", "address", "uint256"]
    message = dict(zip(names, receipt.struct_fields(), strict=True))
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Receipt": [{"name": n, "type": t} for n, t in zip(names, kinds, strict=True)],
        },
        "primaryType": "Receipt",
        "domain": {
            "name": "Tessera Node",
            "version": "1",
            "chainId": dw.w3.eth.chain_id,
            "verifyingContract": dw.registry,
        },
        "message": message,
    }


def test_the_contract_recomputes_the_digest_nodes_sign(dw):
    assert [f["name"] for f in spec_typed_data(dw, dw.receipts[0])["types"]["Receipt"]] == [
        f["name"] for f in RECEIPT_TYPES["Receipt"]
    ]
    for i, receipt in enumerate(dw.receipts):
        signable = encode_typed_data(full_message=spec_typed_data(dw, receipt))
        by_spec = keccak(b"\x19" + signable.version + signable.header + signable.body)
        on_chain = dw.disputes.functions.receipt_digest(dw.evidence(i)).call()
        assert on_chain == by_spec == receipt.digest()


def test_the_digest_covers_every_signed_field(dw):
    digest = dw.disputes.functions.receipt_digest
    honest = digest(dw.evidence(HONEST)).call()
    changes = {
        "request_hash": b"\x01" * 32,
        "response_hash": b"\x01" * 32,
        "model": MODEL + "x",
        "model_digest": b"\x01" * 32,
        "datanets_hash": b"\x01" * 32,
        "attribution_hash": b"\x01" * 32,
        "transcript_hash": b"\x01" * 32,
        "authorization_hash": b"\x01" * 32,
        "price": 11,
        "client": dw.stranger.address,
        "timestamp": 1,
    }
    for field, value in changes.items():
        assert digest(dw.evidence(HONEST, **{field: value})).call() != honest, field


def test_the_receipts_domain_is_the_registrys(dw):
    separator = keccak(
        b"".join(
            [
                keccak(
                    text="EIP712Domain(string name,string version,uint256 chainId,"
                    "address verifyingContract)"
                ),
                keccak(text="Tessera Node"),
                keccak(text="1"),
                dw.w3.eth.chain_id.to_bytes(32, "big"),
                bytes(12) + to_bytes(hexstr=dw.registry),
            ]
        )
    )
    assert dw.disputes.functions.receipt_domain_separator().call() == separator


def test_the_spec_leaf_is_the_bundles_leaf(dw):
    assert ReceiptsTree(dw.receipts).root == dw.tree.root
    assert dw.settlement.functions.epoch_receipts_root(dw.node.address, 0).call() == (dw.tree.root)


# objective faults ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "kind"),
    [
        pytest.param(FORGED, SIGNATURE, id="signed-by-another-key"),
        pytest.param(HIGH_S, SIGNATURE, id="malleable-signature"),
        pytest.param(UNAPPROVED_MODEL, MODEL_FAULT, id="unapproved-model"),
        pytest.param(UNAUTHORIZED_PAID, UNAUTHORIZED, id="paid-without-authorization"),
        pytest.param(FORGED_AUTH, UNAUTHORIZED, id="authorization-by-another-key"),
    ],
)
def test_an_objective_fault_slashes_at_once(dw, index, kind):
    node, challenger = dw.node.address, dw.challenger.address
    before = {who: dw.balance(who) for who in (challenger, dw.treasury)}
    tx = challenge(dw, index, kind)

    cid = dw.last_id()
    record = dw.challenge(cid)
    assert record[:5] == (node, 0, index, kind, challenger)
    assert record[6] == record[7]  # decided when opened
    assert (record[5], record[8], record[9]) == (0, SLASHED, 0)  # no bond held: none needed
    assert dw.node_stake() == NODE_STAKE - SLASH
    assert dw.balance(challenger) - before[challenger] == TO_CHALLENGER  # and the bond kept
    assert dw.balance(dw.treasury) - before[dw.treasury] == SLASH - TO_CHALLENGER
    d = dw.disputes.functions
    assert (d.slashes(node).call(), d.slashed_amount(node).call(), d.bonds_held().call()) == (
        1,
        SLASH,
        0,
    )
    s = dw.settlement.functions
    assert s.is_voided(node, 0).call() and s.frozen(node).call() == 0
    (opened,) = events(dw.disputes, "ChallengeOpened", tx)
    assert dict(opened.args) == {
        "id": cid,
        "node": node,
        "epoch": 0,
        "index": index,
        "kind": kind,
        "challenger": challenger,
    }
    (resolved,) = events(dw.disputes, "ChallengeResolved", tx)
    assert dict(resolved.args) == {"id": cid, "status": SLASHED, "slashed": SLASH}


def test_a_slashed_epoch_is_refunded_to_its_clients_and_never_claimed(dw, reverts):
    challenge(dw, FORGED, SIGNATURE)
    dw.at(dw.posted_at + CHALLENGE)
    with reverts("settlement: epoch voided"):
        dw.settlement.functions.claim(
            dw.node.address,
            0,
            dw.payouts[dw.node.address],
            dw.payout_proof(dw.node.address),
        ).transact({"from": dw.node.address})
    before = [dw.balance(c.address) for c in dw.clients]
    dw.settlement.functions.refund(dw.node.address, 0, dw.refunds).transact(
        {"from": dw.stranger.address}
    )
    after = [dw.balance(c.address) for c in dw.clients]
    assert [a - b for a, b in zip(after, before, strict=True)] == [r[1] for r in dw.refunds]


def test_the_slashed_node_is_ejected(dw, reverts):
    challenge(dw, UNAPPROVED_MODEL, MODEL_FAULT)
    assert dw.settlement.functions.voided_from(dw.node.address).call() == 1
    with reverts("settlement: node ejected"):
        dw.settlement.functions.post_epoch(
            1,
            b"\x01" * 32,
            0,
            "bafy",
            1,
            b"\x02" * 32,
            dw.settlement.functions.fee_split().call(),
            [],
        ).transact({"from": dw.node.address})


@pytest.mark.parametrize(
    ("index", "kind", "auth", "reason"),
    [
        pytest.param(HONEST, SIGNATURE, None, "disputes: receipt signature is valid", id="sig"),
        pytest.param(FREE, SIGNATURE, None, "disputes: receipt signature is valid", id="free-sig"),
        pytest.param(HONEST, MODEL_FAULT, None, "disputes: model was approved", id="model"),
        pytest.param(
            HONEST, UNAUTHORIZED, None, "disputes: client authorized the request", id="auth"
        ),
        pytest.param(
            FREE, UNAUTHORIZED, None, "disputes: client authorized the request", id="free"
        ),
        pytest.param(
            HONEST,
            UNAUTHORIZED,
            (0, b""),
            "disputes: authorization does not match the receipt",
            id="auth-withheld-by-challenger",
        ),
        pytest.param(
            HONEST,
            UNAUTHORIZED,
            "other",
            "disputes: authorization does not match the receipt",
            id="auth-swapped-by-challenger",
        ),
    ],
)
def test_an_honest_receipt_cannot_be_slashed(dw, reverts, index, kind, auth, reason):
    if auth == "other":  # another receipt's genuine authorization
        auth = auth_of(dw.receipts[FORGED])
    before = state(dw)
    with reverts(reason):
        challenge(dw, index, kind, auth=auth)
    assert state(dw) == before


def test_a_model_revoked_after_serving_is_not_a_fault(dw, reverts):
    digest = to_bytes(hexstr=dw.receipts[HONEST].model_digest)
    dw.policy.functions.revoke_model(MODEL, digest).transact({"from": dw.owner})
    with reverts("disputes: model was approved"):
        challenge(dw, HONEST, MODEL_FAULT)
    challenge(dw, UNAPPROVED_MODEL, MODEL_FAULT)  # one never approved still is
    assert dw.challenge(dw.last_id())[8] == SLASHED


def test_a_node_without_stake_left_is_still_voided(dw):
    challenge(dw, FORGED, SIGNATURE)
    challenge(dw, UNAPPROVED_MODEL, MODEL_FAULT)  # another fault takes half of what is left
    assert dw.node_stake() == NODE_STAKE - SLASH - (NODE_STAKE - SLASH) // 2
    assert dw.disputes.functions.slashes(dw.node.address).call() == 2


# bad input: each reverts with its reason and changes nothing ---------------------------------


@pytest.mark.parametrize("kind", [0, WITHHELD, REPLAYED, PAYOUTS, PAYOUTS + 1, 255])
def test_an_unknown_kind_is_refused_first(dw, reverts, kind):
    before = state(dw)
    with reverts("disputes: unknown kind"):
        challenge(dw, HONEST, kind, epoch=5, proof=[])  # every later check would fail too
    assert state(dw) == before


def test_an_unknown_epoch_is_refused(dw, reverts):
    before = state(dw)
    with reverts("disputes: unknown epoch"):
        challenge(dw, FORGED, SIGNATURE, epoch=1)
    assert state(dw) == before


def test_the_window_closes_when_claims_open(dw, reverts):
    dw.at(dw.posted_at + CHALLENGE - 1)
    before = state(dw)
    dw.at(dw.posted_at + CHALLENGE)
    with reverts("disputes: challenge window closed"):
        challenge(dw, FORGED, SIGNATURE)
    assert state(dw) == before


def test_the_last_second_of_the_window_is_inside(dw):
    dw.at(dw.posted_at + CHALLENGE - 1)
    challenge(dw, FORGED, SIGNATURE)
    assert dw.challenge(dw.last_id())[8] == SLASHED


def test_an_unknown_receipt_is_refused(dw, reverts):
    count = len(dw.receipts)
    before = state(dw)
    for index in (count, count + 1, 2**256 - 1):
        with reverts("disputes: unknown receipt"):
            challenge(dw, FORGED, SIGNATURE, index=index)
    assert state(dw) == before


@pytest.mark.parametrize(
    "lie",
    [
        pytest.param({"proof": []}, id="no-proof"),
        pytest.param({"index": HONEST}, id="another-position"),
        pytest.param({"price": 9}, id="changed-price"),
        pytest.param({"model_digest": ZERO32}, id="changed-digest"),
        pytest.param({"body_hash": ZERO32}, id="changed-body"),
        pytest.param({"signature": b"\x01" * 65}, id="changed-signature"),
        pytest.param({"payout_root": b"\x01" * 32}, id="changed-payout-root"),
        pytest.param({"payout_total": 1}, id="changed-payout-total"),
    ],
)
def test_a_wrong_receipt_proof_is_refused(dw, reverts, lie):
    before = state(dw)
    with reverts("disputes: invalid receipt proof"):
        challenge(dw, FORGED, SIGNATURE, **lie)
    assert state(dw) == before


def test_a_receipt_is_challenged_once_per_fault(dw, reverts):
    challenge(dw, FORGED, SIGNATURE)
    before = state(dw)
    with reverts("disputes: receipt already challenged"):
        challenge(dw, FORGED, SIGNATURE)
    assert state(dw) == before


def test_another_fault_of_the_same_receipt_may_still_be_argued(dw, reverts):
    with reverts("disputes: model was approved"):
        challenge(dw, FORGED, MODEL_FAULT)  # a refused challenge claims nothing
    challenge(dw, FORGED, SIGNATURE)
    with reverts("disputes: model was approved"):
        challenge(dw, FORGED, MODEL_FAULT)


@pytest.mark.parametrize("missing", ["allowance", "balance"])
def test_a_challenge_without_bond_is_refused(dw, reverts, missing):
    stranger = dw.stranger.address
    token = dw.token.functions
    if missing == "allowance":
        token.transfer(stranger, PARAMS.min_bond).transact({"from": dw.holder})
        token.approve(dw.disputes.address, PARAMS.min_bond - 1).transact({"from": stranger})
    else:
        token.transfer(stranger, PARAMS.min_bond - 1).transact({"from": dw.holder})
        token.approve(dw.disputes.address, PARAMS.min_bond).transact({"from": stranger})
    before = state(dw)
    with reverts("disputes: bond too small"):
        challenge(dw, FORGED, SIGNATURE, sender=dw.stranger)
    assert state(dw) == before
    token.transfer(stranger, 1).transact({"from": dw.holder})
    token.approve(dw.disputes.address, PARAMS.min_bond).transact({"from": stranger})
    challenge(dw, FORGED, SIGNATURE, sender=dw.stranger)  # with the bond it is heard
    assert dw.challenge(dw.last_id())[4] == stranger


def test_checks_run_in_the_order_of_the_spec(dw, reverts):
    stranger = dw.stranger  # no bond at all
    with reverts("disputes: unknown epoch"):
        challenge(dw, FORGED, SIGNATURE, epoch=1, sender=stranger, proof=[])
    with reverts("disputes: unknown receipt"):
        challenge(dw, FORGED, SIGNATURE, index=99, sender=stranger)
    with reverts("disputes: invalid receipt proof"):
        challenge(dw, FORGED, SIGNATURE, proof=[], sender=stranger)
    with reverts("disputes: bond too small"):
        challenge(dw, HONEST, SIGNATURE, sender=stranger)  # before the fault is weighed
    assert dw.last_id() == 0


def test_the_challenge_view_refuses_unknown_ids(dw, reverts):
    for cid in (0, 1):
        with reverts("disputes: unknown challenge"):
            dw.disputes.functions.challenge(cid).call()
    challenge(dw, FORGED, SIGNATURE)
    assert dw.challenge(1)[8] == SLASHED
