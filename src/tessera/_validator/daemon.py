"""The validator: a small loop over explicit parts that re-checks every posted epoch's sample,
challenges what it proves wrong, and votes on the committees it is drawn into.

tessera validator start --stake 2000 --as val

One turn (`tick`), committees first (their phases run on the clock; re-checks are slow):
1. every node's epochs still inside their challenge window and not yet checked: derive this
   validator's own sample from the hash of the block after the post (the node could not know
   it), at its stake's share of the network's rate (`sampling.py`); fetch the bundle by CID,
   check that it is the one posted (receipts root), scan all of it for a client authorization
   billed twice, re-check each sampled receipt and the epoch's payouts, and challenge the first
   fault of each receipt. A bundle nobody serves is asked for on chain (a withheld-data
   challenge): the validator does not claim a fault it could not see.
2. every open committee challenge it sits on: re-check that receipt, commit a vote (the salt
   is journaled first), reveal in the reveal phase, resolve when voting is over.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from tessera._chain.disputes import (
    COMMITTEE_KINDS,
    OPEN,
    PAYOUTS,
    REPLAYED,
    WITHHELD,
    Challenge,
    DisputesClient,
    ReceiptEvidence,
    vote_commitment,
)
from tessera._chain.governance import PolicyClient
from tessera._chain.settlement import PostedEpoch, SettlementClient
from tessera._chain.staking import StakingClient
from tessera._crypto.receipt import Receipt
from tessera._errors import ChainError, TesseraError
from tessera._payments.audit import royalty_owners
from tessera._payments.bundle import EpochBundle, load_bundle
from tessera._payments.payouts import PayoutTree
from tessera._payments.receipts_tree import PayoutState
from tessera._payments.trace import receipt_version
from tessera._store.base import BlobStore
from tessera._validator.evidence import KIND_OF_FINDING, evidence_for
from tessera._validator.finding import Finding, proven
from tessera._validator.journal import CheckedEpoch, ValidatorJournal
from tessera._validator.payout_proof import PayoutFault, find_payout_fault
from tessera._validator.sampling import NETWORK_SAMPLE_RATE, epoch_seed, sample, stake_share

log = logging.getLogger(__name__)

# receipt -> findings; the daemon's builder hands in the re-checker over its model and data
Recheck = Callable[[Receipt, str], Sequence[Finding]]  # (receipt, the epoch's node)


@dataclass
class TickReport:
    epochs_checked: int = 0
    receipts_checked: int = 0
    challenges_opened: list[int] = field(default_factory=list)
    votes: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Validator:
    def __init__(
        self,
        key: LocalAccount,
        settlement: SettlementClient,
        disputes: DisputesClient,
        store: BlobStore,
        journal: ValidatorJournal,
        recheck: Recheck,
        policy: PolicyClient,
        staking: StakingClient,
        sample_rate: float | None = None,
        from_block: int = 0,
    ) -> None:
        self.key, self.settlement, self.disputes = key, settlement, disputes
        self.staking = staking
        self.store, self.journal, self.recheck = store, journal, recheck
        self.policy, self.sample_rate, self.from_block = policy, sample_rate, from_block
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return self.key.address

    def rate(self) -> float:
        """The share of each epoch this validator re-checks: the one it was given, or its
        stake's share of the network's rate."""
        if self.sample_rate is not None:
            return self.sample_rate
        stakes = {v.lower(): self.disputes.validator_stake(v) for v in self.disputes.validators()}
        own = stakes.get(self.address.lower(), 0)
        return stake_share(NETWORK_SAMPLE_RATE, own, sum(stakes.values()))

    # the loop -------------------------------------------------------------------------------

    def start(self, every_s: float) -> None:
        self._thread = threading.Thread(target=self._loop, args=(every_s,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Idempotent; the journal stays open for its owner to close."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _loop(self, every_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # keep validating; the log and the journal say why
                log.error("validator turn failed: %s", exc, exc_info=exc)
            self._stop.wait(every_s)

    def tick(self) -> TickReport:
        report = TickReport()
        self._serve_committees(report)  # first: its phases run on the clock, re-checks are slow
        for node in self.settlement.nodes_with_epochs(self.from_block):
            if to_checksum_address(node) == self.address or not self._staked(node):
                continue  # a node with nothing at stake cannot be slashed: nothing to prove
            for epoch in range(self.settlement.epoch_count(node)):
                self._check_epoch(node, epoch, report)
        return report

    def _staked(self, node: str) -> bool:
        record = self.staking.node(node)
        return record.stake + record.unbonding > 0

    # checking epochs ------------------------------------------------------------------------

    def _check_epoch(self, node: str, epoch: int, report: TickReport) -> None:
        if self.journal.is_checked(node, epoch):
            return
        if self.settlement.now() >= self.settlement.claimable_at(node, epoch):
            return  # its window closed before this validator saw it
        posted = self.settlement.epoch(node, epoch)
        seed = epoch_seed(self.settlement.chain, posted.posted_block)
        if seed is None:
            return  # the block that fixes the sample does not exist yet
        indices = sample(seed, node, epoch, posted.receipt_count, self.rate(), self.address)
        try:
            bundle = load_bundle(self.store, posted.bundle_cid)
        except TesseraError as exc:
            self._problem(report, node, epoch, f"bundle {posted.bundle_cid} unavailable: {exc}")
            self._ask_for(node, epoch, indices[:1], report)
            return
        if not _is_posted(bundle, posted.receipts_root):
            self._problem(report, node, epoch, "the bundle is not the one posted (receipts root)")
            self._ask_for(node, epoch, indices[:1], report)
            return
        faults, inconclusive = self._check_replays(node, epoch, bundle, report), 0
        for index in indices:
            findings = list(self.recheck(bundle.receipts[index], node))
            report.receipts_checked += 1
            inconclusive += sum(1 for f in findings if f.inconclusive)
            faulty = proven(findings)
            if faulty:
                faults += 1
                self._challenge(node, epoch, bundle, index, faulty[0], report)
        faults += self._check_payouts(posted, bundle, report)
        note = "ok" if not faults else f"{faults} fault(s) challenged"
        self.journal.mark_checked(
            CheckedEpoch(node, epoch, len(indices), faults, inconclusive, note)
        )
        report.epochs_checked += 1

    def _check_replays(self, node: str, epoch: int, bundle: EpochBundle, report: TickReport) -> int:
        """Every client nonce in the bundle, not only the sample, against every one seen spent
        before (the journal keeps them across epochs): one spent twice is proven on chain."""
        faults = 0
        for index, receipt in enumerate(bundle.receipts):
            if receipt.authorization is None:
                continue
            nonce = receipt.authorization.nonce
            first = self.journal.spend(node, receipt.client, nonce, epoch, index)
            if first != (epoch, index):
                faults += 1
                self._challenge_replay(node, (epoch, index, bundle), first, report)
        return faults

    def _challenge_replay(
        self,
        node: str,
        later: tuple[int, int, EpochBundle],
        first: tuple[int, int],
        report: TickReport,
    ) -> None:
        epoch, index, bundle = later
        detail = f"receipt {index} spends the authorization of epoch {first[0]} receipt {first[1]}"
        if self._opened_already(node, epoch, index, REPLAYED):
            return  # another validator proved it first
        try:
            earlier = bundle
            if first[0] != epoch:
                earlier = load_bundle(self.store, self.settlement.epoch(node, first[0]).bundle_cid)
            proofs = [
                (e, _evidence(b, i), _client_signature(b.receipts[i]))
                for e, i, b in ((epoch, index, bundle), (first[0], first[1], earlier))
            ]
            nonce = bundle.receipts[index].authorization.nonce  # type: ignore[union-attr]
            challenge = self.disputes.challenge_replayed(
                self.key, node, proofs[0], proofs[1], nonce
            )
        except TesseraError as exc:  # a chain's refusal, or the earlier bundle gone
            self._problem(report, node, epoch, f"{detail}; could not prove it: {exc}")
            return
        self.journal.record_opened(challenge, node, epoch, index, "replayed", detail)
        report.challenges_opened.append(challenge)
        log.warning("challenged node %s epoch %d: %s", node, epoch, detail)

    def _check_payouts(self, posted: PostedEpoch, bundle: EpochBundle, report: TickReport) -> int:
        """Replay the epoch's payout states; prove the first that does not follow."""
        node, epoch = posted.node, posted.epoch
        try:
            previous = self._previous_payouts(node, epoch)
            owners = royalty_owners(bundle.receipts, self.policy)
        except TesseraError as exc:
            self._problem(report, node, epoch, f"cannot replay the payouts: {exc}")
            return 0
        fault = find_payout_fault(
            bundle,
            previous,
            posted.split,
            lambda r: owners[receipt_version(r)],
            PayoutState(posted.root, posted.total),
        )
        if fault is None:
            return 0
        if self._opened_already(node, epoch, fault.index, PAYOUTS):
            return 1  # another validator proved it first
        try:
            challenge = self._prove(node, epoch, fault)
        except TesseraError as exc:
            self._problem(report, node, epoch, f"{fault.detail}; could not prove it: {exc}")
            return 1
        self.journal.record_opened(challenge, node, epoch, fault.index, "payouts", fault.detail)
        report.challenges_opened.append(challenge)
        log.warning("challenged the payouts of node %s epoch %d: %s", node, epoch, fault.detail)
        return 1

    def _previous_payouts(self, node: str, epoch: int) -> dict[str, int]:
        """The payouts the previous epoch posted, from its bundle, checked against its root."""
        if epoch == 0:
            return {}
        earlier = self.settlement.epoch(node, epoch - 1)
        amounts = load_bundle(self.store, earlier.bundle_cid).cumulative
        tree = PayoutTree(node, amounts)
        if (tree.root, tree.total) != (earlier.root, earlier.total):
            raise ChainError(f"the bundle of epoch {epoch - 1} does not match its posted root")
        return amounts

    def _prove(self, node: str, epoch: int, fault: PayoutFault) -> int:
        assert fault.evidence is not None
        if not fault.is_step:
            return self.disputes.prove_payout_last(self.key, node, epoch, fault.evidence)
        assert fault.attribution is not None and fault.updates is not None
        return self.disputes.prove_payout_step(
            self.key,
            node,
            epoch,
            (fault.before, fault.evidence),
            fault.attribution,
            fault.updates,
        )

    def _challenge(
        self,
        node: str,
        epoch: int,
        bundle: EpochBundle,
        index: int,
        finding: Finding,
        report: TickReport,
    ) -> None:
        kind_name, detail = finding.kind, finding.detail[:500]
        kind = KIND_OF_FINDING.get(kind_name)
        if kind is None:
            self._problem(report, node, epoch, f"receipt {index}: {kind_name}: {detail}")
            return
        if any(
            (c.node, c.epoch, c.index) == (node, epoch, index)
            for c in self.disputes.challenges(self.from_block, node)
        ):
            return  # another validator challenged it first: the committee decides
        receipt = bundle.receipts[index]
        evidence = evidence_for(bundle.receipts_tree, index, receipt)
        auth = receipt.authorization
        try:
            challenge = self.disputes.challenge_receipt(
                self.key,
                node,
                epoch,
                kind,
                evidence,
                auth.nonce if auth else 0,
                _client_signature(receipt),
            )
        except ChainError as exc:
            self._problem(report, node, epoch, f"could not challenge receipt {index}: {exc}")
            return
        self.journal.record_opened(challenge, node, epoch, index, kind_name, detail)
        report.challenges_opened.append(challenge)
        log.warning(
            "challenged node %s epoch %d receipt %d (%s): %s", node, epoch, index, kind_name, detail
        )

    def _ask_for(self, node: str, epoch: int, indices: list[int], report: TickReport) -> None:
        for index in indices:
            if self._opened_already(node, epoch, index, WITHHELD):
                continue  # another validator asked first
            try:
                challenge = self.disputes.challenge_withheld(self.key, node, epoch, index)
            except ChainError as exc:
                self._problem(report, node, epoch, f"could not ask for receipt {index}: {exc}")
                continue
            self.journal.record_opened(
                challenge, node, epoch, index, "withheld", "bundle unavailable"
            )
            report.challenges_opened.append(challenge)
        self.journal.mark_checked(
            CheckedEpoch(node, epoch, len(indices), 0, 0, "bundle unavailable: asked on chain")
        )

    def _opened_already(self, node: str, epoch: int, index: int, kind: int) -> bool:
        """Whether a challenge of this kind against this receipt (or epoch) exists: the
        contract takes one per fault, so a second would only revert."""
        return any(
            (c.epoch, c.index, c.kind) == (epoch, index, kind)
            for c in self.disputes.challenges(self.from_block, node)
        )

    def _problem(self, report: TickReport, node: str, epoch: int, text: str) -> None:
        log.warning("node %s epoch %d: %s", node, epoch, text)
        report.problems.append(text)
        self.journal.report(self.settlement.now(), node, epoch, text)

    # committees -----------------------------------------------------------------------------

    def _serve_committees(self, report: TickReport) -> None:
        now = self.settlement.now()
        for challenge in self.disputes.challenges(self.from_block):
            if challenge.status != OPEN:
                continue
            if challenge.kind == WITHHELD and now >= challenge.deadline:
                self._resolve(challenge.id, report)  # the node did not produce the receipt
            if challenge.kind not in COMMITTEE_KINDS:
                continue
            members = self.disputes.committee(challenge.id)
            if self.address not in {to_checksum_address(m) for m in members}:
                if now >= challenge.reveal_ends:
                    self._resolve(challenge.id, report)
                continue
            vote = self.journal.vote(challenge.id)
            if now < challenge.commit_ends:
                if vote is None or not vote.committed:
                    self._commit(challenge, report)
            elif now < challenge.reveal_ends:
                if vote is not None and vote.committed and not vote.revealed:
                    self.disputes.reveal_vote(self.key, challenge.id, vote.guilty, vote.salt)
                    self.journal.set_vote(challenge.id, "revealed")
                    report.votes.append(challenge.id)
            else:
                self._resolve(challenge.id, report)

    def _commit(self, challenge: Challenge, report: TickReport) -> None:
        cid = challenge.id
        guilty = self._judge(challenge)
        if guilty is None:
            return  # could not get what the judgement needs: abstain, and say so
        vote = self.journal.plan_vote(cid, guilty, secrets.token_bytes(32))
        commitment = vote_commitment(cid, vote.guilty, vote.salt, self.address)
        self.disputes.commit_vote(self.key, cid, commitment)
        self.journal.set_vote(cid, "committed")
        report.votes.append(cid)

    def _judge(self, challenge: Challenge) -> bool | None:
        """Guilty iff this validator's own re-check finds the fault the challenge names."""
        node, epoch, kind, index = challenge.node, challenge.epoch, challenge.kind, challenge.index
        posted = self.settlement.epoch(node, epoch)
        try:
            bundle = load_bundle(self.store, posted.bundle_cid)
        except TesseraError as exc:
            self.journal.report(self.settlement.now(), node, epoch, f"cannot judge: {exc}")
            return None
        if not 0 <= index < len(bundle.receipts):
            return None
        findings = self.recheck(bundle.receipts[index], node)
        return any(KIND_OF_FINDING.get(f.kind) == kind for f in proven(findings))

    def _resolve(self, challenge_id: int, report: TickReport) -> None:
        try:
            self.disputes.resolve(self.key, challenge_id)
        except ChainError:
            return  # another validator resolved it first, or it is not over
        report.resolved.append(challenge_id)


def _evidence(bundle: EpochBundle, index: int) -> ReceiptEvidence:
    return evidence_for(bundle.receipts_tree, index, bundle.receipts[index])


def _is_posted(bundle: EpochBundle, receipts_root: bytes) -> bool:
    """Whether the bundle's receipts, with the payout states it carries, are the posted ones."""
    try:
        return bundle.receipts_tree.root == receipts_root
    except (ValueError, TesseraError):  # no receipts, states missing, or unhashable
        return False


def _client_signature(receipt: Receipt) -> bytes:
    auth = receipt.authorization
    return bytes.fromhex(auth.signature.removeprefix("0x")) if auth else b""
