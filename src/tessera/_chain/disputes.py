"""Typed client of disputes.vy: validator stake and rewards, challenges of a node's epochs
(objective faults decided at once, withheld receipts the node must produce, committee votes
with commit-reveal) and what each challenge came to."""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from functools import cached_property
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.logs import DISCARD
from web3.types import TxReceipt

from tessera._chain.client import Chain
from tessera._chain.token import TokenClient
from tessera._errors import ChainError

# challenge kinds, as disputes.vy numbers them
(
    SIGNATURE,
    MODEL,
    UNAUTHORIZED,
    WITHHELD,
    ANSWER,
    ATTRIBUTION,
    PROMPT,
    PRICE,
    REPLAYED,
    PAYOUTS,
) = range(1, 11)
KIND_NAMES = {
    SIGNATURE: "signature",
    MODEL: "model",
    UNAUTHORIZED: "unauthorized",
    WITHHELD: "withheld",
    ANSWER: "answer",
    ATTRIBUTION: "attribution",
    PROMPT: "prompt",
    PRICE: "price",
    REPLAYED: "replayed",
    PAYOUTS: "payouts",
}
# decided in the same transaction (payouts through the payout prover)
OBJECTIVE_KINDS = frozenset({SIGNATURE, MODEL, UNAUTHORIZED, REPLAYED, PAYOUTS})
COMMITTEE_KINDS = frozenset({ANSWER, ATTRIBUTION, PROMPT, PRICE})  # decided by a vote
# challenge statuses
OPEN, SLASHED, DISMISSED, ANSWERED = range(1, 5)
STATUS_NAMES = {OPEN: "open", SLASHED: "slashed", DISMISSED: "dismissed", ANSWERED: "answered"}
MAX_BODY_BYTES = 32_768  # the largest receipt body `produce` takes


@dataclass(frozen=True)
class DisputeParams:
    """What governance sets on the disputes contract (amounts in the token's smallest unit,
    periods in seconds, shares in basis points of 10,000)."""

    min_validator_stake: int
    validator_unbonding_delay: int
    min_bond: int  # what a challenger puts at stake
    response_period: int  # a node's time to produce a withheld receipt
    commit_period: int
    reveal_period: int
    committee_size: int  # validators drawn by stake per committee challenge (1 to 16)
    supermajority_bps: int  # guilty stake needed, of the committee's stake, to slash
    slash_bps: int  # of the node's bonded plus unbonding stake
    challenger_share_bps: int  # of the slashed amount; the rest goes to the treasury
    dissent_penalty_bps: (
        int  # of a voter's rewards, for voting against the outcome or not revealing
    )

    def as_abi(self) -> tuple[int, ...]:
        return astuple(self)

    @classmethod
    def from_abi(cls, fields: Any) -> DisputeParams:
        return cls(*(int(f) for f in fields))


@dataclass(frozen=True)
class ReceiptEvidence:
    """One receipt as the contract checks it: the signed fields, the node's signature, the
    hash of its canonical body, and its leaf's proof under the epoch's receipts root."""

    index: int
    request_hash: bytes
    response_hash: bytes
    model: str
    model_digest: bytes
    datanets_hash: bytes
    attribution_hash: bytes
    transcript_hash: bytes
    authorization_hash: bytes
    price: int
    client: str
    timestamp: int
    signature: bytes
    body_hash: bytes
    payout_root: bytes  # the node's payout state once the receipt is split
    payout_total: int
    proof: list[bytes]

    def as_abi(self) -> tuple[Any, ...]:
        return (
            self.index,
            self.request_hash,
            self.response_hash,
            self.model,
            self.model_digest,
            self.datanets_hash,
            self.attribution_hash,
            self.transcript_hash,
            self.authorization_hash,
            self.price,
            Web3.to_checksum_address(self.client),
            self.timestamp,
            self.signature,
            self.body_hash,
            self.payout_root,
            self.payout_total,
            list(self.proof),
        )


@dataclass(frozen=True)
class Challenge:
    id: int
    node: str
    epoch: int
    index: int  # the receipt challenged; for payouts, the receipt count: the posted root
    kind: int
    challenger: str
    bond: int
    opened_at: int
    deadline: int  # the end of the response period, or of the reveal phase
    status: int
    commit_ends: int  # committee challenges: commits until then, reveals until the deadline
    slashed: int = 0  # what the node lost, when it was slashed

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, str(self.kind))

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, str(self.status))

    @property
    def reveal_ends(self) -> int:
        return self.deadline


def _no_receipt() -> ReceiptEvidence:
    """What `prove_step` takes as the receipt before the first one (it is not read)."""
    zero = b"\x00" * 32
    return ReceiptEvidence(
        0,
        zero,
        zero,
        "",
        zero,
        zero,
        zero,
        zero,
        zero,
        0,
        "0x" + "00" * 20,
        0,
        b"",
        zero,
        zero,
        0,
        [],
    )


def vote_commitment(challenge_id: int, guilty: bool, salt: bytes, voter: str) -> bytes:
    """What a committee member commits to: `keccak256(abi_encode(id, guilty, salt, voter))`."""
    return keccak(
        encode(
            ["uint256", "bool", "bytes32", "address"],
            [challenge_id, guilty, salt, Web3.to_checksum_address(voter)],
        )
    )


class DisputesClient:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        self.contract = chain.contract("disputes", address)

    @cached_property
    def token(self) -> TokenClient:
        return TokenClient(self.chain, self.chain.call(self.contract.functions.token()))

    # validators -----------------------------------------------------------------------------

    def stake_validator(self, sender: LocalAccount, amount: int) -> None:
        """Approve and bond `amount` more as a validator (the total must reach the minimum)."""
        self._approve(sender, amount)
        self.chain.transact(self.contract.functions.stake_validator(amount), sender)

    def unstake_validator(self, sender: LocalAccount) -> int:
        """Leave the validator set; returns when the stake can be withdrawn."""
        self.chain.transact(self.contract.functions.unstake_validator(), sender)
        return self.unbonding_ends(sender.address)

    def withdraw_validator(self, sender: LocalAccount) -> int:
        """Withdraw the sender's validator stake after its unbonding; returns the amount."""
        self.chain.catch_up_clock()
        return self._paid(sender, self.contract.functions.withdraw_validator())

    def collect(
        self, sender: LocalAccount, node: str, epoch: int, cumulative: int, proof: list[bytes]
    ) -> int:
        """Claim the validators' pool leaf of a node's epoch and share it by stake; returns the
        amount collected."""
        self.chain.catch_up_clock()
        fn = self.contract.functions.collect(
            Web3.to_checksum_address(node), epoch, cumulative, proof
        )
        receipt = self.chain.transact(fn, sender)
        (collected,) = self.contract.events.RewardsCollected().process_receipt(
            receipt, errors=DISCARD
        )
        return int(collected.args.amount)

    def withdraw_rewards(self, sender: LocalAccount) -> int:
        return self._paid(sender, self.contract.functions.withdraw_rewards())

    def validator_stake(self, account: str) -> int:
        fn = self.contract.functions.validator_stake(Web3.to_checksum_address(account))
        return int(self.chain.call(fn))

    def unbonding_ends(self, account: str) -> int:
        """When a leaving validator's stake can be withdrawn (0: not leaving)."""
        fn = self.contract.functions.validator_unbonding_ends(Web3.to_checksum_address(account))
        return int(self.chain.call(fn))

    def validators(self) -> list[str]:
        return [str(a) for a in self.chain.call(self.contract.functions.validators())]

    def is_validator(self, account: str) -> bool:
        fn = self.contract.functions.is_validator(Web3.to_checksum_address(account))
        return bool(self.chain.call(fn))

    def rewards(self, account: str) -> int:
        return int(
            self.chain.call(self.contract.functions.rewards(Web3.to_checksum_address(account)))
        )

    # challenges -----------------------------------------------------------------------------

    def challenge_receipt(
        self,
        sender: LocalAccount,
        node: str,
        epoch: int,
        kind: int,
        evidence: ReceiptEvidence,
        nonce: int = 0,
        client_signature: bytes = b"",
    ) -> int:
        """Challenge one receipt with a bond; returns the challenge's id. An objective fault
        is decided in this transaction (the node slashed, the bond back); a committee kind
        opens a vote."""
        self._approve(sender, self.params().min_bond)
        fn = self.contract.functions.challenge_receipt(
            Web3.to_checksum_address(node),
            epoch,
            kind,
            evidence.as_abi(),
            nonce,
            client_signature,
        )
        return self._opened(self.chain.transact(fn, sender))

    def challenge_replayed(
        self,
        sender: LocalAccount,
        node: str,
        later: tuple[int, ReceiptEvidence, bytes],
        earlier: tuple[int, ReceiptEvidence, bytes],
        nonce: int,
    ) -> int:
        """Prove, with a bond, that two receipts the node posted spend one client's one
        authorization: (epoch, evidence, client signature) of each, the later one's epoch
        inside its window. Decided in this transaction (the node slashed, the bond back)."""
        self._approve(sender, self.params().min_bond)
        (epoch, evidence, signature), (earlier_epoch, first, first_signature) = later, earlier
        fn = self.contract.functions.challenge_replayed(
            Web3.to_checksum_address(node),
            epoch,
            evidence.as_abi(),
            earlier_epoch,
            first.as_abi(),
            nonce,
            signature,
            first_signature,
        )
        return self._opened(self.chain.transact(fn, sender))

    def challenge_withheld(self, sender: LocalAccount, node: str, epoch: int, index: int) -> int:
        """Ask the node, with a bond, to produce receipt `index` of its epoch on chain."""
        self._approve(sender, self.params().min_bond)
        fn = self.contract.functions.challenge_withheld(
            Web3.to_checksum_address(node), epoch, index
        )
        return self._opened(self.chain.transact(fn, sender))

    @cached_property
    def payout_prover(self) -> Any:
        address = str(self.chain.call(self.contract.functions.payout_prover()))
        if int(address, 16) == 0:
            raise ChainError("this disputes contract has no payout prover linked")
        return self.chain.contract("payout_prover", address)

    def prove_payout_step(
        self,
        sender: LocalAccount,
        node: str,
        epoch: int,
        receipts: tuple[ReceiptEvidence | None, ReceiptEvidence],
        attribution: tuple[list[bytes], list[str], list[int], list[int]],
        updates: list[tuple[int, list[bytes]]],
    ) -> int:
        """Prove, with a bond, that the payout state a receipt commits to is not the state
        before it (the receipt before's, or the previous epoch's root for the first) plus its
        split: `attribution` is the receipt's sources (cids, contributors, datanets, weights),
        `updates` one (amount before, leaf proof) per credit. Decided in this transaction."""
        self._approve(sender, self.params().min_bond)
        before, evidence = receipts
        fn = self.payout_prover.functions.prove_step(
            Web3.to_checksum_address(node),
            epoch,
            (before or _no_receipt()).as_abi(),
            evidence.as_abi(),
            attribution,
            updates,
        )
        return self._opened(self.chain.transact(fn, sender))

    def prove_payout_last(
        self, sender: LocalAccount, node: str, epoch: int, last: ReceiptEvidence
    ) -> int:
        """Prove, with a bond, that the posted payout root and total are not the state the
        epoch's last receipt commits to. Decided in this transaction."""
        self._approve(sender, self.params().min_bond)
        fn = self.payout_prover.functions.prove_last(
            Web3.to_checksum_address(node), epoch, last.as_abi()
        )
        return self._opened(self.chain.transact(fn, sender))

    def link_prover(self, sender: LocalAccount, prover: str) -> None:
        """Name, once, the payout prover (only the owner may)."""
        fn = self.contract.functions.link_prover(Web3.to_checksum_address(prover))
        self.chain.transact(fn, sender)

    def produce(
        self, sender: LocalAccount, challenge_id: int, evidence: ReceiptEvidence, body: bytes
    ) -> int:
        """The node answers a withheld-receipt challenge with the receipt's body; returns the
        gas used."""
        fn = self.contract.functions.produce(challenge_id, evidence.as_abi(), body)
        return int(self.chain.transact(fn, sender)["gasUsed"])

    def commit_vote(self, sender: LocalAccount, challenge_id: int, commitment: bytes) -> None:
        self.chain.transact(self.contract.functions.commit_vote(challenge_id, commitment), sender)

    def reveal_vote(
        self, sender: LocalAccount, challenge_id: int, guilty: bool, salt: bytes
    ) -> None:
        self.chain.catch_up_clock()
        fn = self.contract.functions.reveal_vote(challenge_id, guilty, salt)
        self.chain.transact(fn, sender)

    def resolve(self, sender: LocalAccount, challenge_id: int) -> Challenge:
        """Close a challenge whose response period or vote is over; returns how it ended."""
        self.chain.catch_up_clock()
        self.chain.transact(self.contract.functions.resolve(challenge_id), sender)
        return self.challenge(challenge_id)

    # reads ----------------------------------------------------------------------------------

    def challenge(self, challenge_id: int) -> Challenge:
        found = self._record(
            challenge_id, self.chain.call(self.contract.functions.challenge(challenge_id))
        )
        resolved = self.chain.log_index.read(
            self.contract.events.ChallengeResolved, id=challenge_id
        )
        return replace(found, slashed=sum(int(log.args.slashed) for log in resolved))

    def challenge_count(self) -> int:
        return int(self.chain.call(self.contract.functions.challenge_count()))

    def committee(self, challenge_id: int) -> list[str]:
        return [str(a) for a in self.chain.call(self.contract.functions.committee(challenge_id))]

    def challenges(self, from_block: int = 0, node: str | None = None) -> list[Challenge]:
        """Every challenge opened since `from_block` (against `node` only, if given), in id
        order, as it stands now, with what each slash took."""
        filters: dict[str, Any] = {"node": Web3.to_checksum_address(node)} if node else {}
        logs = self.chain.log_index
        opened = logs.read(self.contract.events.ChallengeOpened, from_block, **filters)
        resolved = logs.read(self.contract.events.ChallengeResolved, from_block)
        slashed = {int(log.args.id): int(log.args.slashed) for log in resolved}
        ids = sorted({int(log.args.id) for log in opened})
        return [
            replace(
                self._record(i, self.chain.call(self.contract.functions.challenge(i))),
                slashed=slashed.get(i, 0),
            )
            for i in ids
        ]

    def produced_body(self, challenge_id: int, from_block: int = 0) -> bytes | None:
        """The receipt body a node produced on chain for a withheld-receipt challenge."""
        logs = self.chain.log_index.read(
            self.contract.events.ReceiptProduced, from_block, id=challenge_id
        )
        return bytes(logs[0].args.body) if logs else None

    def receipt_digest(self, evidence: ReceiptEvidence) -> bytes:
        """The receipt's EIP-712 digest as the contract recomputes it."""
        return bytes(self.chain.call(self.contract.functions.receipt_digest(evidence.as_abi())))

    def slashes(self, node: str) -> int:
        return int(self.chain.call(self.contract.functions.slashes(Web3.to_checksum_address(node))))

    def slashed_amount(self, node: str) -> int:
        fn = self.contract.functions.slashed_amount(Web3.to_checksum_address(node))
        return int(self.chain.call(fn))

    # parameters -----------------------------------------------------------------------------

    def params(self) -> DisputeParams:
        return DisputeParams.from_abi(self.chain.call(self.contract.functions.params()))

    def set_params(self, sender: LocalAccount, params: DisputeParams) -> None:
        self.chain.transact(self.contract.functions.set_params(params.as_abi()), sender)

    def owner(self) -> str:
        return str(self.chain.call(self.contract.functions.owner()))

    # helpers --------------------------------------------------------------------------------

    def _approve(self, sender: LocalAccount, amount: int) -> None:
        if self.token.allowance(sender.address, self.address) < amount:
            self.token.approve(sender, self.address, amount)

    def _paid(self, sender: LocalAccount, fn: Any) -> int:
        before = self.token.balance_of(sender.address)
        self.chain.transact(fn, sender)
        return self.token.balance_of(sender.address) - before

    def _opened(self, receipt: TxReceipt) -> int:
        logs = self.contract.events.ChallengeOpened().process_receipt(receipt, errors=DISCARD)
        if not logs:
            raise ChainError("the challenge was mined but the disputes contract opened none")
        return int(logs[0].args.id)

    @staticmethod
    def _record(challenge_id: int, fields: Any) -> Challenge:
        node, epoch, index, kind, challenger, bond, opened_at, deadline, status, commit_ends = (
            fields
        )
        return Challenge(
            challenge_id,
            Web3.to_checksum_address(node),
            int(epoch),
            int(index),
            int(kind),
            Web3.to_checksum_address(challenger),
            int(bond),
            int(opened_at),
            int(deadline),
            int(status),
            int(commit_ends),
        )
