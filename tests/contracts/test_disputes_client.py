"""The deployment wires disputes in (settlement's link, the validators' pool, staking's slasher,
the timelock as owner, the registry's record), and the typed clients drive every dispute path
on the in-process chain: objective, withheld, committee, rewards, refunds."""

from __future__ import annotations

import pytest
from dispute_world import HONEST, key, make_receipts, signature_bytes
from eth_account import Account
from eth_utils import keccak

from tessera._chain.client import IN_PROCESS, Chain
from tessera._chain.deploy import (
    DEFAULT_DISPUTE_PARAMS,
    DEFAULT_SPLIT_BPS,
    DEFAULT_VALIDATORS_BPS,
    Deployment,
    check_deployment,
    deploy_contracts,
)
from tessera._chain.disputes import (
    ANSWER,
    ANSWERED,
    DISMISSED,
    MODEL,
    OPEN,
    PAYOUTS,
    PRICE,
    SIGNATURE,
    SLASHED,
    WITHHELD,
    Challenge,
    DisputeParams,
    DisputesClient,
    ReceiptEvidence,
    vote_commitment,
)
from tessera._chain.join import joined_deployment, link
from tessera._chain.settlement import Redemption, Refund, SettlementClient
from tessera._chain.staking import StakingClient
from tessera._chain.token import TokenClient
from tessera._crypto.receipt import Receipt
from tessera._crypto.voucher import Voucher
from tessera._errors import ChainError, ContractRevert
from tessera._payments.payouts import PayoutTree
from tessera._payments.receipts_tree import ReceiptsTree

TSR = 10**18
FORGED, UNAPPROVED_MODEL = 1, 2  # positions in make_receipts
SHORT = DisputeParams(
    **{**DEFAULT_DISPUTE_PARAMS.__dict__, "response_period": 60, "commit_period": 60}
)


def evidence_of(tree: ReceiptsTree, index: int, receipt: Receipt) -> ReceiptEvidence:
    fields = receipt.struct_fields()
    return ReceiptEvidence(
        index,
        *fields[:10],
        fields[10],
        signature_bytes(receipt),
        keccak(receipt.body_bytes()),
        b"\x00" * 32,  # the tree's receipts commit to empty payout states
        0,
        tree.proof(index),
    )


@pytest.fixture(scope="module")
def deployed():
    chain, deployer = Chain.connect(IN_PROCESS), Account.create()
    chain.fund(deployer.address, 10**21)
    return chain, deployer, deploy_contracts(chain, deployer, dispute_params=SHORT)


# the deployment -----------------------------------------------------------------------------


def test_the_deployment_wires_the_disputes_contract(deployed):
    chain, deployer, d = deployed
    settlement = SettlementClient(chain, d.settlement)
    disputes = DisputesClient(chain, d.disputes)
    assert settlement.disputes() == d.disputes
    assert settlement.fee_split() == settlement.fee_split().__class__(
        *DEFAULT_SPLIT_BPS, deployer.address, DEFAULT_VALIDATORS_BPS, d.disputes
    )
    assert StakingClient(chain, d.staking).slasher() == d.disputes
    assert disputes.owner() == d.timelock
    assert disputes.params() == SHORT
    assert disputes.token.address == d.token
    prover = disputes.payout_prover  # linked to disputes, reading what disputes reads
    assert chain.call(prover.functions.disputes()) == d.disputes
    assert chain.call(prover.functions.settlement()) == d.settlement
    assert chain.call(prover.functions.policy()) == d.policy
    check_deployment(chain, d)


def test_a_deployment_record_names_disputes(deployed):
    d = deployed[2]
    record = d.to_json()
    assert Deployment.from_json(record) == d
    del record["disputes"]
    with pytest.raises(ChainError) as refused:
        Deployment.from_json(record)
    assert str(refused.value) == (
        "this home's contracts predate validators (no disputes contract): "
        "run `tessera init --force` to deploy them again"
    )


def test_a_joining_home_finds_the_disputes_contract(deployed):
    chain, deployer, d = deployed
    link(chain, deployer, d)
    assert joined_deployment(chain, d.registry) == d


def test_the_default_parameters_are_the_specs():
    p = DEFAULT_DISPUTE_PARAMS
    assert (p.min_validator_stake, p.validator_unbonding_delay, p.min_bond) == (
        1_000 * TSR,
        2 * 86_400,
        100 * TSR,
    )
    assert (p.response_period, p.commit_period, p.reveal_period, p.committee_size) == (
        900,
        900,
        900,
        3,
    )
    assert (p.supermajority_bps, p.slash_bps, p.challenger_share_bps, p.dissent_penalty_bps) == (
        6_667,
        5_000,
        5_000,
        5_000,
    )
    assert (*DEFAULT_SPLIT_BPS, DEFAULT_VALIDATORS_BPS) == (3_000, 2_000, 4_000, 500, 500)


# the typed clients, every path --------------------------------------------------------------


def test_the_clients_drive_every_dispute_path(deployed):
    chain, deployer, d = deployed
    token = TokenClient(chain, d.token)
    settlement = SettlementClient(chain, d.settlement)
    staking = StakingClient(chain, d.staking)
    disputes = DisputesClient(chain, d.disputes)

    def account(tokens: int = 0):
        made = Account.create()
        chain.fund(made.address, 10**20)
        if tokens:
            token.transfer(deployer, made.address, tokens)
        return made

    p = disputes.params()
    validators = [account(p.min_validator_stake * (i + 1)) for i in range(4)]
    for i, v in enumerate(validators):
        disputes.stake_validator(v, p.min_validator_stake * (i + 1))
    assert disputes.validators() == [v.address for v in validators]
    assert disputes.is_validator(validators[0].address)
    assert disputes.validator_stake(validators[3].address) == 4 * p.min_validator_stake

    node = account(10_000 * TSR)
    staking.register(node, 10_000 * TSR, "http://node", "bafynode")
    clients = [account(1_000 * TSR) for _ in range(2)]
    redemptions = []
    for client, amount in zip(clients, (300, 200), strict=True):
        settlement.deposit(client, node.address, 1_000)
        voucher = Voucher(client.address, node.address, amount, chain.chain_id, d.settlement)
        signed = voucher.signed_by(client)
        redemptions.append(Redemption(client.address, amount, amount, signed.signature))
    receipts = make_receipts(chain.w3, d.registry, node, clients)
    tree = ReceiptsTree(receipts)
    payouts = PayoutTree(node.address, {d.disputes: 500})
    settlement.post_epoch(
        node,
        0,
        payouts.root,
        500,
        "bafy",
        len(receipts),
        tree.root,
        settlement.fee_split(),
        redemptions,
    )
    posted = settlement.epoch(node.address, 0)
    assert (posted.receipts_root, posted.receipt_count) == (tree.root, len(receipts))
    assert posted.posted_block == chain.block_number()

    # the contract's digest is the node's
    honest = evidence_of(tree, HONEST, receipts[HONEST])
    assert disputes.receipt_digest(honest) == receipts[HONEST].digest()

    challenger = account(1_000 * TSR)
    # withheld, produced
    asked = disputes.challenge_withheld(challenger, node.address, 0, 3)
    assert settlement.open_challenges(node.address) == 1
    opened = disputes.challenge(asked)
    assert (opened.kind_name, opened.status_name, opened.index) == ("withheld", "open", 3)
    body = receipts[3].body_bytes()
    assert disputes.produce(node, asked, evidence_of(tree, 3, receipts[3]), body) > 0
    assert disputes.produced_body(asked) == body
    assert Receipt.from_body(disputes.produced_body(asked)) == receipts[3]
    assert disputes.challenge(asked).status_name == "answered"

    # a committee vote that dismisses
    voted = disputes.challenge_receipt(challenger, node.address, 0, ANSWER, honest)
    members = {v.address: v for v in validators}
    drawn = [members[a] for a in disputes.committee(voted)]
    salt = b"\x07" * 32
    for member in drawn:
        disputes.commit_vote(member, voted, vote_commitment(voted, False, salt, member.address))
    chain.wait_until(disputes.challenge(voted).commit_ends)
    for member in drawn:
        disputes.reveal_vote(member, voted, False, salt)
    chain.wait_until(disputes.challenge(voted).reveal_ends)
    assert disputes.resolve(challenger, voted).status == DISMISSED
    with pytest.raises(ContractRevert) as refused:
        disputes.resolve(challenger, voted)
    assert refused.value.reason == "disputes: already resolved"

    # an objective fault: slashed at once, the epoch voided and refunded
    stake_before = staking.node(node.address).stake
    forged = disputes.challenge_receipt(
        challenger, node.address, 0, SIGNATURE, evidence_of(tree, FORGED, receipts[FORGED])
    )
    slashed = disputes.challenge(forged)
    assert slashed.status == SLASHED and slashed.slashed == stake_before * p.slash_bps // 10_000
    assert disputes.slashes(node.address) == 1
    assert disputes.slashed_amount(node.address) == slashed.slashed
    assert settlement.voided_from(node.address) == 0 and settlement.is_voided(node.address, 0)
    assert settlement.open_challenges(node.address) == 0
    assert settlement.refunds(node.address, 0) == [
        Refund(clients[0].address, 300),
        Refund(clients[1].address, 200),
    ]
    before = [token.balance_of(c.address) for c in clients]
    assert settlement.refund(account(), node.address, 0) > 0
    assert settlement.is_refunded(node.address, 0)
    assert [token.balance_of(c.address) - b for c, b in zip(clients, before, strict=True)] == [
        300,
        200,
    ]

    # the record of it all
    found = disputes.challenges(d.block, node=node.address)
    assert [(c.id, c.kind, c.status) for c in found] == [
        (asked, WITHHELD, ANSWERED),
        (voted, ANSWER, DISMISSED),
        (forged, SIGNATURE, SLASHED),
    ]
    assert found[-1] == slashed
    assert disputes.challenges(d.block, node=challenger.address) == []
    assert disputes.challenge_count() == 3
    # nothing was approved on this deployment: another fault, another slash
    unapproved = evidence_of(tree, UNAPPROVED_MODEL, receipts[UNAPPROVED_MODEL])
    again = disputes.challenge_receipt(challenger, node.address, 0, MODEL, unapproved)
    assert disputes.challenge(again).status_name == "slashed"
    assert disputes.slashes(node.address) == 2
    # the receipts commit to empty payout states, the posted root is not: proven, slashed
    last = len(receipts) - 1
    proved = disputes.prove_payout_last(
        challenger, node.address, 0, evidence_of(tree, last, receipts[last])
    )
    record = disputes.challenge(proved)
    assert (record.kind, record.status, record.index) == (PAYOUTS, SLASHED, len(receipts))
    assert record.challenger == challenger.address
    assert disputes.slashes(node.address) == 3


def test_a_challenge_record_names_its_kind_and_status():
    record = Challenge(1, key("n").address, 0, 3, PRICE, key("c").address, 5, 10, 30, OPEN, 20)
    assert (record.kind_name, record.status_name, record.reveal_ends) == ("price", "open", 30)
    proven = Challenge(2, key("n").address, 0, 9, PAYOUTS, key("c").address, 0, 5, 5, SLASHED, 0)
    assert (proven.kind_name, proven.status_name) == ("payouts", "slashed")
