"""payout_prover.vy: payouts that do not follow the receipts are proven by the contract alone.

The world's node posts epoch 1 over receipts with real attribution: each receipt's leaf commits
to the payout state after it, built by `tessera._payments.bundle` (the node's own code). An
honest epoch cannot be proven wrong at any step; a node that moves one receipt's credit, or
posts a root that is not its last state, is slashed in the transaction that proves it, and
every malformed proof reverts with its reason, changing nothing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from chain_helpers import events
from dispute_world import (
    CID,
    DIGEST,
    MODEL,
    NODE_STAKE,
    PARAMS,
    PAYOUTS,
    SLASHED,
    UNAPPROVED,
    key,
)
from test_disputes_receipts import state

from tessera._chain.settlement import FeeSplit
from tessera._crypto.receipt import AttributedSource, Receipt
from tessera._payments.bundle import EpochBundle, build_bundle
from tessera._payments.payouts import PayoutTree
from tessera._payments.receipts_tree import PayoutState
from tessera._payments.split import CONTRIBUTOR, split_receipt
from tessera._payments.trace import owner_key, payout_states, state_of, step_updates
from tessera._store.cid import cid_for
from tessera._validator.evidence import evidence_for
from tessera._validator.payout_proof import PayoutFault, attribution_of, find_payout_fault

SLASH = NODE_STAKE * PARAMS.slash_bps // 10_000
TO_CHALLENGER = SLASH * PARAMS.challenger_share_bps // 10_000
CONTRIBUTORS = [key(f"contributor {i}").address for i in range(3)]


def _receipts(dw, weights_of_second=(600_000, 400_000)) -> list[Receipt]:
    def sources(weights):
        return tuple(
            AttributedSource(cid_for(f"doc {i}".encode()), CONTRIBUTORS[i], 1, w)
            for i, w in enumerate(weights)
        )

    plan = [  # price, digest, weights: remainders, a zero weight, an unapproved version
        (31, DIGEST, (500_000, 300_000, 200_000)),
        (23, DIGEST, weights_of_second),
        (17, UNAPPROVED, (0, 1_000_000)),
        (11, DIGEST, ()),
    ]
    return [
        Receipt(
            id=f"e1-r{i}",
            node=dw.node.address,
            chain_id=dw.w3.eth.chain_id,
            verifying_contract=dw.registry,
            request={"model": MODEL, "messages": [{"role": "user", "content": f"p{i}"}]},
            response_text=f"answer {i}",
            model=MODEL,
            datanets=(),
            attribution=sources(weights),
            price=price,
            client=dw.clients[i % 2].address,
            timestamp=1_700_000_100 + i,
            model_digest=digest,
            answer_tokens=(1, i),
        ).signed_by(dw.node)
        for i, (price, digest, weights) in enumerate(plan)
    ]


def _split(dw) -> FeeSplit:
    return FeeSplit(*dw.settlement.functions.fee_split().call())


def _owners(dw) -> dict[str, str | None]:
    return {owner_key(MODEL, DIGEST): dw.owner, owner_key(MODEL, UNAPPROVED): None}


def honest_bundle(dw, receipts=None) -> EpochBundle:
    receipts = receipts or _receipts(dw)
    return build_bundle(
        dw.node.address,
        dw.w3.eth.chain_id,
        dw.settlement.address,
        1,
        _split(dw),
        _owners(dw),
        receipts,
        [],
        dw.payouts,
    )


def skewed_bundle(dw, at: int) -> EpochBundle:
    """Receipt `at`'s contributors' part is credited to the node; the node commits to the
    states its lie leads to, and posts the last of them."""
    bundle = honest_bundle(dw)
    tree, states = PayoutTree(dw.node.address, dw.payouts), []
    for index, receipt in enumerate(bundle.receipts):
        for credit in split_receipt(receipt, bundle.split, bundle.owner_of(receipt)):
            moved = index == at and credit.role == CONTRIBUTOR
            tree.credit(dw.node.address if moved else credit.recipient, credit.amount)
        states.append(state_of(tree))
    return replace(bundle, root="0x" + tree.root.hex(), total=tree.total, trace=tuple(states))


def post(dw, bundle: EpochBundle, root: bytes | None = None, total: int | None = None) -> None:
    """The node posts `bundle` as epoch 1 (100 more redeemed from each client)."""
    s = dw.settlement.functions
    dw.at(s.next_epoch_at(dw.node.address).call())
    redemptions = [
        (c.address, amount + 100, amount + 100, dw.sign_voucher(c, amount + 100))
        for c, (_, amount) in zip(dw.clients, dw.refunds, strict=True)
    ]
    s.post_epoch(
        1,
        root if root is not None else bytes.fromhex(bundle.root[2:]),
        total if total is not None else bundle.total,
        CID,
        len(bundle.receipts),
        bundle.receipts_tree.root,
        s.fee_split().call(),
        redemptions,
    ).transact({"from": dw.node.address})


def fault_of(dw, bundle: EpochBundle) -> PayoutFault | None:
    root, total = dw.settlement.functions.epoch_payouts(dw.node.address, 1).call()
    return find_payout_fault(
        bundle, dw.payouts, _split(dw), bundle.owner_of, PayoutState(bytes(root), total)
    )


def prove(dw, fault: PayoutFault, sender=None, **lie):
    """Sends the fault's proof (keywords replace its parts); returns the transaction."""
    evidence, before = fault.evidence, fault.before
    assert evidence is not None
    f = dw.prover.functions
    sender = (sender or dw.challenger).address
    if not fault.is_step:
        return f.prove_last(dw.node.address, 1, evidence.as_abi()).transact({"from": sender})
    none = replace(evidence, index=0)  # what the first receipt's "before" holds: it is not read
    return f.prove_step(
        dw.node.address,
        lie.get("epoch", 1),
        lie.get("before", (before or none).as_abi()),
        lie.get("evidence", evidence.as_abi()),
        lie.get("attribution", fault.attribution),
        lie.get("updates", fault.updates),
    ).transact({"from": sender})


def step(dw, bundle: EpochBundle, index: int) -> PayoutFault:
    """The proof of receipt `index`'s step, built from the replay whatever the node committed."""
    tree, receipts = bundle.receipts_tree, bundle.receipts
    before, _ = payout_states(
        bundle.node, dw.payouts, receipts[:index], bundle.split, bundle.owner_of
    )
    credits = split_receipt(receipts[index], bundle.split, bundle.owner_of(receipts[index]))
    return PayoutFault(
        index,
        "a step",
        evidence_for(tree, index - 1, receipts[index - 1]) if index else None,
        evidence_for(tree, index, receipts[index]),
        attribution_of(receipts[index]),
        [u.as_abi() for u in step_updates(before, credits)],
    )


def assert_slashed(dw, tx, index: int) -> None:
    (opened,) = events(dw.disputes, "ChallengeOpened", tx)
    assert (opened.args.index, opened.args.kind, opened.args.epoch) == (index, PAYOUTS, 1)
    assert opened.args.challenger == dw.challenger.address
    (resolved,) = events(dw.disputes, "ChallengeResolved", tx)
    assert (resolved.args.status, resolved.args.slashed) == (SLASHED, SLASH)
    assert dw.node_stake() == NODE_STAKE - SLASH
    s = dw.settlement.functions
    assert s.is_voided(dw.node.address, 1).call() and not s.is_voided(dw.node.address, 0).call()
    assert s.frozen(dw.node.address).call() == 0  # decided at once: nothing stays frozen


# an honest epoch ------------------------------------------------------------------------------


def test_an_honest_epoch_cannot_be_proven_wrong_at_any_step_nor_at_its_root(dw, reverts):
    bundle = honest_bundle(dw)
    post(dw, bundle)
    assert fault_of(dw, bundle) is None
    before = state(dw)
    for index in range(len(bundle.receipts)):
        with reverts("disputes: payouts follow the receipt"):
            prove(dw, step(dw, bundle, index))
    last = len(bundle.receipts) - 1
    tail = PayoutFault(
        4, "", evidence=evidence_for(bundle.receipts_tree, last, bundle.receipts[last])
    )
    with reverts("disputes: the posted root is the last receipt's"):
        prove(dw, tail)
    assert state(dw) == before
    # the unapproved version's royalty went to the treasury, on chain as in Python
    credits = split_receipt(bundle.receipts[2], bundle.split, bundle.owner_of(bundle.receipts[2]))
    assert dw.owner not in {c.recipient for c in credits}


# lies -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("at", [0, 1, 3], ids=["first", "middle", "no-sources"])
def test_a_receipt_whose_credit_is_moved_slashes_the_node_in_the_proving_transaction(dw, at):
    bundle = skewed_bundle(dw, at)
    post(dw, bundle)
    fault = fault_of(dw, bundle)
    if at == 3:  # a receipt with no sources pays its pool to the treasury: nothing to move
        assert fault is None
        return
    assert fault is not None and fault.is_step and fault.index == at
    challenger = dw.balance(dw.challenger.address)
    tx = prove(dw, fault)
    assert_slashed(dw, tx, at)
    assert dw.balance(dw.challenger.address) == challenger + TO_CHALLENGER  # no bond moved


def test_a_posted_root_that_is_not_the_last_state_slashes(dw):
    bundle = honest_bundle(dw)
    lying = PayoutTree(dw.node.address, bundle.cumulative)
    lying.credit(dw.node.address, 1)  # one unit more to itself than its receipts say
    post(dw, bundle, lying.root, lying.total)
    fault = fault_of(dw, bundle)
    assert fault is not None and not fault.is_step and fault.index == len(bundle.receipts)
    assert_slashed(dw, prove(dw, fault), len(bundle.receipts))


def test_a_receipt_no_honest_node_signs_is_itself_the_fault(dw):
    receipts = _receipts(dw, weights_of_second=(2_000_000, 400_000))  # a weight above 1,000,000
    bundle = honest_bundle(dw, receipts)  # whatever states it commits to
    post(dw, bundle)
    fault = fault_of(dw, bundle)
    assert fault is not None and fault.index == 1 and fault.updates == []
    assert_slashed(dw, prove(dw, fault), 1)


# refusals -------------------------------------------------------------------------------------


def test_every_malformed_proof_reverts_with_its_reason_and_changes_nothing(dw, reverts):
    bundle = skewed_bundle(dw, 1)
    post(dw, bundle)
    fault = fault_of(dw, bundle)
    assert fault is not None and fault.before is not None and fault.evidence is not None
    updates = fault.updates
    assert updates is not None and len(updates) >= 3
    cids, contributors, datanets, weights = fault.attribution
    other = step(dw, bundle, 2)
    cases = {
        "disputes: attribution does not match the receipt": dict(
            attribution=(cids, contributors, datanets, [weights[1], weights[0]])
        ),
        "disputes: leaf proof does not match the state": dict(
            updates=[updates[1], updates[0], *updates[2:]]
        ),
        "disputes: one leaf proof per credit": dict(updates=updates[:-1]),
        "disputes: not the receipt before": dict(before=other.before.as_abi()),
        "disputes: invalid receipt proof": dict(
            evidence=replace(fault.evidence, payout_total=fault.evidence.payout_total + 1).as_abi()
        ),
        "disputes: unknown receipt": dict(evidence=replace(fault.evidence, index=9).as_abi()),
        "payouts: malformed proof": dict(
            updates=[(updates[0][0], updates[0][1][:-1]), *updates[1:]]
        ),
    }
    before = state(dw)
    for reason, lie in cases.items():
        with reverts(reason):
            prove(dw, fault, **lie)
    with reverts("disputes: bond too small"):
        prove(dw, fault, sender=dw.stranger)
    with reverts("disputes: not the last receipt"):
        prove(dw, PayoutFault(4, "", evidence=fault.evidence))
    with reverts("disputes: caller is not the payout prover"):
        dw.disputes.functions.slash_payouts(dw.node.address, 1, 1, dw.challenger.address).transact(
            {"from": dw.challenger.address}
        )
    assert state(dw) == before
    dw.at(dw.settlement.functions.claimable_at(dw.node.address, 1).call())
    with reverts("disputes: challenge window closed"):
        prove(dw, fault)
    assert dw.node_stake() == NODE_STAKE


def test_one_fault_is_proven_once_and_the_prover_is_linked_once(dw, reverts):
    bundle = skewed_bundle(dw, 1)
    post(dw, bundle)
    fault = fault_of(dw, bundle)
    assert fault is not None
    prove(dw, fault)
    with reverts("disputes: payouts already challenged"):
        prove(dw, fault)
    with reverts("disputes: prover already linked"):
        dw.disputes.functions.link_prover(dw.stranger.address).transact({"from": dw.owner})
    assert dw.disputes.functions.payout_prover().call() == dw.prover.address
