"""A deployment for disputes tests: a staked node that posted one epoch of signed receipts,
some honest and some faulty, four staked validators, a challenger, clients and a treasury.

Receipts are the lead's `Receipt` (signed as a node signs them); their leaves and evidence are
built here from spec §2 with eth_abi, so the contract is checked against the spec, not against
the code that builds bundles.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from chain_helpers import back_to, deploy_contract, next_block_at, run_ahead_of_wall_clock
from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_bytes
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract

from tessera._chain.disputes import DisputeParams
from tessera._crypto.authorization import authorize_request
from tessera._crypto.merkle import MerkleTree
from tessera._crypto.receipt import Receipt
from tessera._payments.payouts import PayoutTree

ZERO = "0x" + "00" * 20
ZERO32 = b"\x00" * 32
MAX_UINT256 = 2**256 - 1
EPOCH, CHALLENGE, DELAY = 3_600, 3_600, 7_200
NODE_MIN_STAKE, NODE_UNBONDING = 1_000, 20_000
NODE_STAKE = 10_000
VALIDATOR_STAKES = (1_000, 2_000, 3_000, 4_000)
FUNDS = 100_000  # each party's tokens
DIGEST = "0x" + keccak(text="weights v1").hex()  # the approved model version's digest
UNAPPROVED = "0x" + keccak(text="weights v0").hex()
MODEL = "tessera/tiny"
CID = "bafybundle"
PARAMS = DisputeParams(
    min_validator_stake=1_000,
    validator_unbonding_delay=86_400,
    min_bond=100,
    response_period=900,
    commit_period=900,
    reveal_period=900,
    committee_size=3,
    supermajority_bps=6_667,
    slash_bps=5_000,
    challenger_share_bps=5_000,
    dissent_penalty_bps=5_000,
)
SPLIT_BPS = (3_000, 2_000, 4_000, 500, 500)  # node, owner, contributors, treasury, validators

# challenge kinds and statuses, as disputes.vy numbers them
(
    SIGNATURE,
    MODEL_KIND,
    UNAUTHORIZED,
    WITHHELD,
    ANSWER,
    ATTRIBUTION,
    PROMPT,
    PRICE,
    REPLAYED,
    PAYOUTS,
) = range(1, 11)
OPEN, SLASHED, DISMISSED, ANSWERED = range(1, 5)

# the epoch's receipts, by position
HONEST, FORGED, UNAPPROVED_MODEL, UNAUTHORIZED_PAID, FORGED_AUTH, FREE, HIGH_S = range(7)
# HONEST's authorization billed again: as signed, and spelled in 64 bytes (EIP-2098)
REPLAY, REPLAY_COMPACT = 7, 8
VOUCHER_TYPES = {
    "Voucher": [
        {"name": "client", "type": "address"},
        {"name": "node", "type": "address"},
        {"name": "amount", "type": "uint256"},
    ]
}
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def key(name: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"tessera disputes {name}"))


# leaves and evidence, from spec §2 ------------------------------------------------------------


def signature_bytes(receipt: Receipt) -> bytes:
    return to_bytes(hexstr=receipt.signature) if receipt.signature else b""


def leaf(index: int, receipt: Receipt, state: tuple[bytes, int] = (ZERO32, 0)) -> bytes:
    """A receipt's leaf, with the payout state (root, total) the node committed to after it
    (zero here: this world's epoch 0 is not proven against its payouts)."""
    inner = encode(
        ["uint256", "bytes32", "bytes32", "bytes32", "bytes32", "uint256"],
        [
            index,
            receipt.digest(),
            keccak(signature_bytes(receipt)),
            keccak(receipt.body_bytes()),
            *state,
        ],
    )
    return keccak(keccak(inner))


def evidence(
    receipt: Receipt,
    position: int,
    tree: MerkleTree,
    state: tuple[bytes, int] = (ZERO32, 0),
    **changes: Any,
) -> tuple:
    """The `ReceiptEvidence` tuple of the receipt at `position`; keywords replace fields."""
    fields = dict(
        zip(
            (
                "request_hash",
                "response_hash",
                "model",
                "model_digest",
                "datanets_hash",
                "attribution_hash",
                "transcript_hash",
                "authorization_hash",
                "price",
                "client",
                "timestamp",
            ),
            receipt.struct_fields(),
            strict=True,
        )
    )
    record = {
        "index": position,
        **fields,
        "signature": signature_bytes(receipt),
        "body_hash": keccak(receipt.body_bytes()),
        "payout_root": state[0],
        "payout_total": state[1],
        "proof": tree.proof(position),
    }
    record.update(changes)
    return (
        record["index"],
        record["request_hash"],
        record["response_hash"],
        record["model"],
        record["model_digest"],
        record["datanets_hash"],
        record["attribution_hash"],
        record["transcript_hash"],
        record["authorization_hash"],
        record["price"],
        Web3.to_checksum_address(record["client"]),
        record["timestamp"],
        record["signature"],
        record["body_hash"],
        record["payout_root"],
        record["payout_total"],
        list(record["proof"]),
    )


def commitment(challenge_id: int, guilty: bool, salt: bytes, voter: str) -> bytes:
    return keccak(
        encode(["uint256", "bool", "bytes32", "address"], [challenge_id, guilty, salt, voter])
    )


# the world ------------------------------------------------------------------------------------


@dataclass
class World:
    w3: Web3
    token: Contract
    settlement: Contract
    staking: Contract
    policy: Contract
    disputes: Contract
    prover: Contract  # the payout prover, linked to disputes
    registry: str  # the receipts' verifying contract
    owner: str  # deployed everything; owns the parameters
    holder: str  # the supply
    treasury: str
    node: LocalAccount
    clients: list[LocalAccount]
    validators: list[LocalAccount]  # staked VALIDATOR_STAKES, in order
    challenger: LocalAccount  # not a validator; FUNDS tokens, approved to disputes
    stranger: LocalAccount  # gas, no tokens
    receipts: list[Receipt]
    tree: MerkleTree
    payouts: dict[str, int]  # recipient -> cumulative, epoch 0
    payout_tree: PayoutTree
    refunds: list[tuple[str, int]]
    posted_at: int

    def evidence(self, position: int, **changes: Any) -> tuple:
        return evidence(self.receipts[position], position, self.tree, **changes)

    def payout_proof(self, recipient: str) -> list[bytes]:
        return self.payout_tree.leaf_proof(recipient)

    def balance(self, who: str) -> int:
        return int(self.token.functions.balanceOf(who).call())

    def node_stake(self) -> int:
        node = self.node.address
        return int(
            self.staking.functions.stake_of(node).call()
            + self.staking.functions.unbonding_of(node).call()
        )

    def at(self, timestamp: int) -> None:
        """Makes `timestamp` the next transaction's time (or a second later if it passed)."""
        next_block_at(self.w3, max(timestamp, int(self.w3.eth.get_block("latest").timestamp) + 1))

    def sign_voucher(self, client: LocalAccount, amount: int) -> bytes:
        domain = {
            "name": "Tessera Settlement",
            "version": "1",
            "chainId": self.w3.eth.chain_id,
            "verifyingContract": self.settlement.address,
        }
        message = {"client": client.address, "node": self.node.address, "amount": amount}
        return bytes(client.sign_typed_data(domain, VOUCHER_TYPES, message).signature)

    def post_next_epoch(self) -> int:
        """The node posts epoch 1 (the same receipts and payouts; 100 more redeemed from each
        client) as soon as it may; returns its timestamp."""
        s = self.settlement.functions
        self.at(s.next_epoch_at(self.node.address).call())
        redemptions = [
            (c.address, amount + 100, amount + 100, self.sign_voucher(c, amount + 100))
            for c, (_, amount) in zip(self.clients, self.refunds, strict=True)
        ]
        total = sum(self.payouts.values())
        tx = s.post_epoch(
            1,
            self.payout_tree.root,
            total,
            CID,
            len(self.receipts),
            self.tree.root,
            s.fee_split().call(),
            redemptions,
        ).transact({"from": self.node.address})
        return int(
            self.w3.eth.get_block(self.w3.eth.get_transaction_receipt(tx)["blockNumber"]).timestamp
        )

    def challenge(self, challenge_id: int) -> tuple:
        return tuple(self.disputes.functions.challenge(challenge_id).call())

    def last_id(self) -> int:
        return int(self.disputes.functions.challenge_count().call())


def _keyed(w3: Web3, funder: str, account: LocalAccount) -> LocalAccount:
    w3.provider.ethereum_tester.add_account(account.key.hex())  # type: ignore[attr-defined]
    w3.eth.send_transaction({"from": funder, "to": account.address, "value": 10**20})
    return account


def make_receipts(w3: Web3, registry: str, node: LocalAccount, clients: list[LocalAccount]) -> list:
    chain_id = w3.eth.chain_id
    impostor = key("impostor")

    def receipt(i: int, client: LocalAccount, price: int, digest: str = DIGEST) -> Receipt:
        return Receipt(
            id=f"r{i}",
            node=node.address,
            chain_id=chain_id,
            verifying_contract=registry,
            request={"model": MODEL, "messages": [{"role": "user", "content": f"q{i}"}]},
            response_text=f"answer {i}",
            model=MODEL,
            datanets=(),
            attribution=(),
            price=price,
            client=client.address,
            timestamp=1_700_000_000 + i,
            model_digest=digest,
            answer_tokens=(1, 2, i),
            method="context-ablation",
        )

    def authorized(r: Receipt, signer: LocalAccount) -> Receipt:
        auth = authorize_request(signer, chain_id, registry, node.address, r.request_hash)
        return replace(r, authorization=auth)

    a, b = clients
    honest = authorized(receipt(HONEST, a, 10), a).signed_by(node)
    forged = replace(authorized(receipt(FORGED, a, 10), a), node=impostor.address)
    forged = replace(forged.signed_by(impostor), node=node.address)  # the node's name, not its key
    unapproved = authorized(receipt(UNAPPROVED_MODEL, b, 10, UNAPPROVED), b).signed_by(node)
    unauthorized = receipt(UNAUTHORIZED_PAID, b, 10).signed_by(node)
    forged_auth = authorized(receipt(FORGED_AUTH, b, 10), impostor).signed_by(node)
    free = receipt(FREE, a, 0).signed_by(node)
    signed = authorized(receipt(HIGH_S, a, 10), a).signed_by(node)
    raw = signature_bytes(signed)
    s = int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    high_s = replace(signed, signature="0x" + twin.hex())  # the same key's malleable twin
    again = replace(
        receipt(REPLAY, a, 10), request=honest.request, authorization=honest.authorization
    )
    auth = honest.authorization
    assert auth is not None
    compact = replace(
        auth, signature="0x" + compact_signature(to_bytes(hexstr=auth.signature)).hex()
    )
    spelled = replace(again, id=f"r{REPLAY_COMPACT}", timestamp=again.timestamp + 1)
    spelled = replace(spelled, authorization=compact)
    return [
        honest,
        forged,
        unapproved,
        unauthorized,
        forged_auth,
        free,
        high_s,
        again.signed_by(node),
        spelled.signed_by(node),
    ]


def compact_signature(raw: bytes) -> bytes:
    """The EIP-2098 64-byte spelling of a 65-byte (r, s, v) signature."""
    s = int.from_bytes(raw[32:64], "big") | ((raw[64] - 27) << 255)
    return raw[:32] + s.to_bytes(32, "big")


def build_world(w3: Web3, params: DisputeParams = PARAMS) -> World:
    accounts = list(w3.eth.accounts)
    owner, holder, treasury, registry = accounts[:4]

    def deploy(name: str, *args: Any) -> Contract:
        return deploy_contract(w3, name, *args, sender=owner)

    run_ahead_of_wall_clock(w3)
    token = deploy("token", "Tessera", "TSR", 10**12, holder)
    split = (*SPLIT_BPS[:3], SPLIT_BPS[3] + SPLIT_BPS[4], treasury, 0, ZERO)  # no pool yet
    settlement = deploy("settlement", token.address, split, EPOCH, CHALLENGE, DELAY)
    staking = deploy("staking", token.address, settlement.address, NODE_MIN_STAKE, NODE_UNBONDING)
    policy = deploy("policy")
    policy.functions.approve_model(MODEL, to_bytes(hexstr=DIGEST), owner).transact({"from": owner})
    disputes = deploy(
        "disputes",
        token.address,
        settlement.address,
        staking.address,
        policy.address,
        registry,
        params.as_abi(),
    )
    settlement.functions.link_disputes(disputes.address).transact({"from": owner})
    split = (*SPLIT_BPS[:4], treasury, SPLIT_BPS[4], disputes.address)
    settlement.functions.set_fee_split(split).transact({"from": owner})
    staking.functions.set_slasher(disputes.address).transact({"from": owner})
    prover = deploy("payout_prover", settlement.address, policy.address, disputes.address, registry)
    disputes.functions.link_prover(prover.address).transact({"from": owner})

    def tokens(to: str, amount: int = FUNDS) -> None:
        token.functions.transfer(to, amount).transact({"from": holder})

    node = _keyed(w3, owner, key("node"))
    clients = [_keyed(w3, owner, key(f"client {i}")) for i in range(2)]
    validators = [_keyed(w3, owner, key(f"validator {i}")) for i in range(4)]
    challenger = _keyed(w3, owner, key("challenger"))
    stranger = _keyed(w3, owner, key("stranger"))
    tokens(node.address)
    token.functions.approve(staking.address, NODE_STAKE).transact({"from": node.address})
    staking.functions.register(NODE_STAKE, "http://node", "bafynode").transact(
        {"from": node.address}
    )
    for validator, stake in zip(validators, VALIDATOR_STAKES, strict=True):
        tokens(validator.address)
        token.functions.approve(disputes.address, MAX_UINT256).transact({"from": validator.address})
        disputes.functions.stake_validator(stake).transact({"from": validator.address})
    tokens(challenger.address)
    token.functions.approve(disputes.address, MAX_UINT256).transact({"from": challenger.address})

    # the clients fund their channels; the node redeems 300 + 200 and owes it by the split
    for client in clients:
        tokens(client.address)
        token.functions.approve(settlement.address, MAX_UINT256).transact({"from": client.address})
        settlement.functions.deposit(node.address, 1_000).transact({"from": client.address})
    domain = {
        "name": "Tessera Settlement",
        "version": "1",
        "chainId": w3.eth.chain_id,
        "verifyingContract": settlement.address,
    }
    redemptions, refunds = [], []
    for client, amount in zip(clients, (300, 200), strict=True):
        message = {"client": client.address, "node": node.address, "amount": amount}
        signature = bytes(client.sign_typed_data(domain, VOUCHER_TYPES, message).signature)
        redemptions.append((client.address, amount, amount, signature))
        refunds.append((client.address, amount))
    total = 500
    payouts = {
        node.address: total * SPLIT_BPS[0] // 10_000,
        owner: total * SPLIT_BPS[1] // 10_000,
        key("contributor").address: total * SPLIT_BPS[2] // 10_000,
        treasury: total * SPLIT_BPS[3] // 10_000,
        disputes.address: total * SPLIT_BPS[4] // 10_000,
    }
    payout_tree = PayoutTree(node.address, payouts)
    receipts = make_receipts(w3, registry, node, clients)
    tree = MerkleTree([leaf(i, r) for i, r in enumerate(receipts)])
    tx = settlement.functions.post_epoch(
        0, payout_tree.root, total, CID, len(receipts), tree.root, split, redemptions
    ).transact({"from": node.address})
    receipt = w3.eth.get_transaction_receipt(tx)
    posted_at = int(w3.eth.get_block(receipt["blockNumber"]).timestamp)
    return World(
        w3=w3,
        token=token,
        settlement=settlement,
        staking=staking,
        policy=policy,
        disputes=disputes,
        prover=prover,
        registry=registry,
        owner=owner,
        holder=holder,
        treasury=treasury,
        node=node,
        clients=clients,
        validators=validators,
        challenger=challenger,
        stranger=stranger,
        receipts=receipts,
        tree=tree,
        payouts=payouts,
        payout_tree=payout_tree,
        refunds=refunds,
        posted_at=posted_at,
    )


# fixtures (conftest imports them) ------------------------------------------------------------


@pytest.fixture(scope="module")
def disputes_built() -> tuple[World, Any]:
    """The world, built once per module, and the snapshot every test starts from."""
    w3 = Web3(EthereumTesterProvider())
    return build_world(w3), w3.provider.ethereum_tester.take_snapshot()  # type: ignore[attr-defined]


@pytest.fixture
def dw(disputes_built) -> World:
    """The disputes world, fresh from its snapshot."""
    found, snapshot = disputes_built
    back_to(found.w3, snapshot)
    return found
