"""settlement.vy under a challenge: the receipts root, the disputes link, frozen claims, voided
epochs, the ejected node and the refund, positive and negative with exact revert strings.

The disputes contract's own tests drive these through real challenges; here an account is
linked as the disputes contract, so each of settlement's rules is checked on its own.
"""

from __future__ import annotations

import pytest
from chain_helpers import block_time, events, next_block_at, run_ahead_of_wall_clock
from eth_abi import encode
from eth_utils import keccak

from tessera._payments.payouts import PayoutTree

ZERO = "0x" + "00" * 20
ZERO32 = b"\x00" * 32
MAX_UINT256 = 2**256 - 1
EPOCH, CHALLENGE, DELAY = 3600, 600, 7200
FUNDS = 1_000
CID = "bafybundle"
RECEIPTS_ROOT = b"\x02" * 32


ALONE = [ZERO32]  # a lone recipient's payout proof: a zero bitmap, no sibling


def payout_root(node: str, recipient: str, cumulative: int) -> bytes:
    """The payout root of `recipient` alone owed `cumulative`, which `ALONE` proves; owing
    nothing, the tree is empty and its root zero, which post_epoch refuses, so a stand-in."""
    tree = PayoutTree(node, {recipient: cumulative})
    assert tree.leaf_proof(recipient) == ALONE
    return tree.root if cumulative else NOTHING_OWED


NOTHING_OWED = b"\x03" * 32


def refund_hash(refunds: list[tuple[str, int]]) -> bytes:
    hashed = ZERO32
    for client, amount in refunds:
        hashed = keccak(encode(["bytes32", "address", "uint256"], [hashed, client, amount]))
    return hashed


@pytest.fixture
def split(accounts):
    return (3000, 2000, 4000, 500, accounts[9], 500, accounts[7])


@pytest.fixture
def settlement(w3, deploy, token, split):
    contract = deploy("settlement", token.address, split, EPOCH, CHALLENGE, DELAY)
    run_ahead_of_wall_clock(w3)
    return contract


@pytest.fixture
def disputes(accounts, settlement):
    """The account linked as the disputes contract."""
    settlement.functions.link_disputes(accounts[8]).transact({"from": accounts[0]})
    return accounts[8]


@pytest.fixture
def node(accounts):
    return accounts[2]


@pytest.fixture
def recipient(accounts):
    return accounts[4]


@pytest.fixture
def clients(w3, accounts, signers, token, settlement, node):
    """The keyed signers, each with FUNDS tokens, 300 of them in its channel to `node`."""
    tester = w3.provider.ethereum_tester
    for client in signers:
        tester.add_account(client.key.hex())
        w3.eth.send_transaction({"from": accounts[0], "to": client.address, "value": 10**18})
        token.functions.transfer(client.address, FUNDS).transact({"from": accounts[1]})
        token.functions.approve(settlement.address, MAX_UINT256).transact({"from": client.address})
        settlement.functions.deposit(node, 300).transact({"from": client.address})
    return signers


@pytest.fixture
def post(w3, settlement, node, split, sign_voucher, recipient):
    """`post(epoch, {client: cumulative signed})`: `node` redeems and owes it all to
    `recipient`; returns the post's timestamp."""
    owed = {"total": 0}

    def _post(epoch, vouchers, *, receipts=RECEIPTS_ROOT, sender=None):
        redemptions = [
            (c.address, amount, amount, sign_voucher(c, settlement, node, amount))
            for c, amount in vouchers.items()
        ]
        fresh = sum(
            amount - settlement.functions.redeemed(c.address, node).call()
            for c, amount in vouchers.items()
        )
        owed["total"] += fresh
        total = owed["total"]
        if epoch:
            next_block_at(w3, settlement.functions.next_epoch_at(node).call())
        fn = settlement.functions.post_epoch(
            epoch, payout_root(node, recipient, total), total, CID, 1, receipts, split, redemptions
        )
        return block_time(w3, fn.transact({"from": sender or node}))

    return _post


def state(settlement, token, node, clients) -> tuple:
    """Everything a refused call must leave as it was."""
    return (
        settlement.functions.node_redeemed(node).call(),
        settlement.functions.node_paid(node).call(),
        settlement.functions.frozen(node).call(),
        settlement.functions.voided_from(node).call(),
        [token.functions.balanceOf(c.address).call() for c in clients],
        token.functions.balanceOf(settlement.address).call(),
    )


# the receipts root and the seed block -------------------------------------------------------


def test_an_epoch_records_its_receipts_root_and_block(w3, settlement, clients, node, post):
    post(0, {clients[0]: 70})
    block = w3.eth.block_number
    assert settlement.functions.epoch_receipts_root(node, 0).call() == RECEIPTS_ROOT
    assert settlement.functions.epoch_receipt_count(node, 0).call() == 1
    record = settlement.functions.epochs(node, 0).call()
    assert record[9:] == (RECEIPTS_ROOT, block, refund_hash([(clients[0].address, 70)]))


def test_an_empty_receipts_root_is_refused(settlement, clients, node, post, reverts):
    with reverts("settlement: empty receipts root"):
        post(0, {clients[0]: 70}, receipts=ZERO32)
    assert settlement.functions.epoch_count(node).call() == 0


def test_the_receipts_views_refuse_an_unknown_epoch(settlement, node, reverts):
    for view in (
        settlement.functions.epoch_receipts_root,
        settlement.functions.epoch_receipt_count,
    ):
        with reverts("settlement: unknown epoch"):
            view(node, 0).call()


def test_the_refund_hash_chains_each_fresh_amount_in_order(settlement, clients, node, post):
    post(0, {clients[0]: 70, clients[1]: 20})
    post(1, {clients[1]: 50, clients[2]: 5})  # clients[1] fresh: 30
    expected = refund_hash([(clients[1].address, 30), (clients[2].address, 5)])
    assert settlement.functions.epochs(node, 1).call()[11] == expected


# linking the disputes contract --------------------------------------------------------------


def test_the_owner_links_disputes_once(settlement, accounts, reverts):
    assert settlement.functions.disputes().call() == ZERO
    with reverts("settlement: zero disputes"):
        settlement.functions.link_disputes(ZERO).transact({"from": accounts[0]})
    with reverts("ownable: caller is not the owner"):
        settlement.functions.link_disputes(accounts[8]).transact({"from": accounts[1]})
    tx = settlement.functions.link_disputes(accounts[8]).transact({"from": accounts[0]})
    assert settlement.functions.disputes().call() == accounts[8]
    (linked,) = events(settlement, "DisputesLinked", tx)
    assert linked.args.disputes == accounts[8]
    with reverts("settlement: disputes already linked"):
        settlement.functions.link_disputes(accounts[6]).transact({"from": accounts[0]})
    assert settlement.functions.disputes().call() == accounts[8]


@pytest.mark.parametrize("call", ["freeze", "unfreeze", "void_from"])
def test_only_disputes_freezes_and_voids(
    settlement, disputes, clients, node, post, accounts, reverts, call
):
    post(0, {clients[0]: 70})
    args = (node, 0) if call == "void_from" else (node,)
    for stranger in (node, accounts[0], accounts[1]):
        with reverts("settlement: caller is not disputes"):
            getattr(settlement.functions, call)(*args).transact({"from": stranger})


def test_nobody_freezes_before_disputes_is_linked(settlement, node, accounts, reverts):
    with reverts("settlement: caller is not disputes"):
        settlement.functions.freeze(node).transact({"from": accounts[8]})


# frozen claims ------------------------------------------------------------------------------


def test_claims_wait_until_every_open_challenge_is_resolved(
    w3, settlement, token, disputes, clients, node, recipient, post, reverts
):
    posted_at = post(0, {clients[0]: 70})
    s = settlement.functions
    tx = s.freeze(node).transact({"from": disputes})
    s.freeze(node).transact({"from": disputes})
    assert s.frozen(node).call() == 2
    assert events(settlement, "Frozen", tx)[0].args.open_challenges == 1
    next_block_at(w3, posted_at + CHALLENGE)
    with reverts("settlement: claims frozen by a challenge"):
        s.claim(node, 0, 70, ALONE).transact({"from": recipient})
    s.unfreeze(node).transact({"from": disputes})
    with reverts("settlement: claims frozen by a challenge"):
        s.claim(node, 0, 70, ALONE).transact({"from": recipient})
    s.unfreeze(node).transact({"from": disputes})
    s.claim(node, 0, 70, ALONE).transact({"from": recipient})
    assert token.functions.balanceOf(recipient).call() == 70


def test_a_freeze_stops_only_that_nodes_claims(w3, settlement, disputes, clients, node, post):
    post(0, {clients[0]: 70})
    settlement.functions.freeze(clients[0].address).transact({"from": disputes})
    assert settlement.functions.frozen(node).call() == 0


def test_unfreeze_without_an_open_challenge_reverts(settlement, disputes, node, reverts):
    with reverts("settlement: no open challenge"):
        settlement.functions.unfreeze(node).transact({"from": disputes})
    settlement.functions.freeze(node).transact({"from": disputes})
    settlement.functions.unfreeze(node).transact({"from": disputes})
    assert settlement.functions.frozen(node).call() == 0


# voided epochs and the ejected node ---------------------------------------------------------


def test_void_from_voids_the_epoch_and_every_later_one(
    settlement, disputes, clients, node, post, reverts
):
    post(0, {clients[0]: 70})
    post(1, {clients[0]: 100})
    post(2, {clients[1]: 10})
    s = settlement.functions
    tx = s.void_from(node, 1).transact({"from": disputes})
    assert s.voided_from(node).call() == 2
    assert [s.is_voided(node, e).call() for e in range(4)] == [False, True, True, False]
    assert events(settlement, "Voided", tx)[0].args.from_epoch == 1
    s.void_from(node, 2).transact({"from": disputes})  # a later fault moves nothing
    assert s.voided_from(node).call() == 2
    s.void_from(node, 0).transact({"from": disputes})  # an earlier one moves the start back
    assert [s.is_voided(node, e).call() for e in range(3)] == [True, True, True]


def test_void_from_refuses_an_unknown_epoch(settlement, disputes, node, reverts):
    with reverts("settlement: unknown epoch"):
        settlement.functions.void_from(node, 0).transact({"from": disputes})
    assert settlement.functions.voided_from(node).call() == 0


def test_an_ejected_node_posts_no_more(settlement, disputes, clients, node, post, reverts):
    post(0, {clients[0]: 70})
    settlement.functions.void_from(node, 0).transact({"from": disputes})
    with reverts("settlement: node ejected"):
        post(1, {clients[0]: 80})
    assert settlement.functions.epoch_count(node).call() == 1


def test_a_voided_epoch_pays_no_claim_an_earlier_one_does(
    w3, settlement, token, disputes, clients, node, recipient, post, reverts
):
    post(0, {clients[0]: 70})
    posted_at = post(1, {clients[0]: 100})
    settlement.functions.void_from(node, 1).transact({"from": disputes})
    next_block_at(w3, posted_at + CHALLENGE)
    with reverts("settlement: epoch voided"):
        settlement.functions.claim(node, 1, 100, ALONE).transact({"from": recipient})
    settlement.functions.claim(node, 0, 70, ALONE).transact({"from": recipient})
    assert token.functions.balanceOf(recipient).call() == 70


# refunds ------------------------------------------------------------------------------------


def test_a_voided_epoch_refunds_each_client_its_fresh_amount(
    settlement, token, disputes, clients, node, post, accounts
):
    post(0, {clients[0]: 70})
    post(1, {clients[0]: 100, clients[1]: 40})
    settlement.functions.void_from(node, 1).transact({"from": disputes})
    before = [token.functions.balanceOf(c.address).call() for c in clients]
    refunds = [(clients[0].address, 30), (clients[1].address, 40)]
    tx = settlement.functions.refund(node, 1, refunds).transact({"from": accounts[5]})
    after = [token.functions.balanceOf(c.address).call() for c in clients]
    assert [a - b for a, b in zip(after, before, strict=True)] == [30, 40, 0]
    assert settlement.functions.node_redeemed(node).call() == 70
    assert settlement.functions.refunded(node, 1).call()
    logged = [
        (e.args.node, e.args.epoch, e.args.client, e.args.amount)
        for e in events(settlement, "Refunded", tx)
    ]
    assert logged == [(node, 1, client, amount) for client, amount in refunds]


@pytest.mark.parametrize(
    "refunds",
    [
        pytest.param([(0, 31), (1, 40)], id="more"),
        pytest.param([(0, 30), (1, 39)], id="less"),
        pytest.param([(1, 40), (0, 30)], id="reordered"),
        pytest.param([(0, 30)], id="missing"),
        pytest.param([(0, 30), (1, 40), (2, 0)], id="extra"),
        pytest.param([(2, 30), (1, 40)], id="another-client"),
    ],
)
def test_refunds_must_match_the_epoch(
    settlement, token, disputes, clients, node, post, reverts, refunds
):
    post(0, {clients[0]: 70})
    post(1, {clients[0]: 100, clients[1]: 40})
    settlement.functions.void_from(node, 1).transact({"from": disputes})
    before = state(settlement, token, node, clients)
    with reverts("settlement: refunds do not match the epoch"):
        settlement.functions.refund(
            node, 1, [(clients[i].address, amount) for i, amount in refunds]
        ).transact({"from": node})
    assert state(settlement, token, node, clients) == before


def test_a_refund_is_paid_once_and_only_for_a_voided_epoch(
    settlement, token, disputes, clients, node, post, reverts
):
    post(0, {clients[0]: 70})
    post(1, {clients[1]: 40})
    refunds = [(clients[1].address, 40)]
    with reverts("settlement: epoch not voided"):
        settlement.functions.refund(node, 1, refunds).transact({"from": node})
    settlement.functions.void_from(node, 1).transact({"from": disputes})
    with reverts("settlement: epoch not voided"):  # epoch 0 stands
        settlement.functions.refund(node, 0, [(clients[0].address, 70)]).transact({"from": node})
    with reverts("settlement: epoch not voided"):  # never posted
        settlement.functions.refund(node, 2, []).transact({"from": node})
    settlement.functions.refund(node, 1, refunds).transact({"from": node})
    before = state(settlement, token, node, clients)
    with reverts("settlement: already refunded"):
        settlement.functions.refund(node, 1, refunds).transact({"from": node})
    assert state(settlement, token, node, clients) == before


def test_an_epoch_without_redemptions_refunds_nothing(
    settlement, token, disputes, clients, node, post
):
    post(0, {})
    settlement.functions.void_from(node, 0).transact({"from": disputes})
    before = token.functions.balanceOf(settlement.address).call()
    settlement.functions.refund(node, 0, []).transact({"from": node})
    assert settlement.functions.refunded(node, 0).call()
    assert token.functions.balanceOf(settlement.address).call() == before


def test_a_refund_never_takes_what_was_already_claimed(
    w3, settlement, token, disputes, clients, node, recipient, post, accounts, reverts
):
    # a window reopened by governance lets a fault be proven after a later epoch was claimed
    post(0, {clients[0]: 70})
    posted_at = post(1, {clients[1]: 40})
    next_block_at(w3, posted_at + CHALLENGE)
    settlement.functions.claim(node, 1, 110, ALONE).transact({"from": recipient})
    settlement.functions.void_from(node, 0).transact({"from": disputes})
    with reverts("settlement: refunds exceed what is left"):
        settlement.functions.refund(node, 0, [(clients[0].address, 70)]).transact({"from": node})
    assert token.functions.balanceOf(settlement.address).call() == 3 * 300 - 110
