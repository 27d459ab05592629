"""Governance steps as unsigned transactions for a browser wallet: vote, queue, execute and
delegate, checked as governor.vy checks them and dry-run as the sender before the wallet
is asked (it would show a revert without its reason)."""

from __future__ import annotations

from web3.contract.contract import ContractFunction

from tessera._chain.client import Chain
from tessera._chain.governance import GovernorClient, Support
from tessera._chain.token import TokenClient
from tessera._chain.wallet_txs import UnsignedTx, dry_run, unsigned, wallet_address
from tessera._errors import ContractRevert, InputError
from tessera._govern.governance import explained, parse_support

MAX_REASON_BYTES = 256  # governor.vy's String[256]


class GovernanceTransactions:
    def __init__(self, chain: Chain, governor: GovernorClient, token: TokenClient) -> None:
        self.chain = chain
        self.governor = governor
        self.token = token

    def vote(
        self, sender: str, proposal_id: int, support: str | Support, reason: str = ""
    ) -> list[UnsignedTx]:
        choice = parse_support(support)
        if len(reason.encode()) > MAX_REASON_BYTES:
            raise InputError(f"the reason is over {MAX_REASON_BYTES} bytes: shorten it")
        self._check_proposal(proposal_id)
        fn = self.governor.contract.functions.cast_vote_with_reason
        return self._one(sender, fn(proposal_id, int(choice), reason))

    def queue(self, sender: str, proposal_id: int) -> list[UnsignedTx]:
        self._check_proposal(proposal_id)
        return self._one(sender, self.governor.contract.functions.queue(proposal_id))

    def execute(self, sender: str, proposal_id: int) -> list[UnsignedTx]:
        self._check_proposal(proposal_id)
        return self._one(sender, self.governor.contract.functions.execute(proposal_id))

    def delegate(self, sender: str) -> list[UnsignedTx]:
        """Point the sender's voting power at itself (its tokens vote only once delegated)."""
        address = wallet_address(sender, "the sender")
        return self._one(address, self.token.contract.functions.delegate(address))

    def _check_proposal(self, proposal_id: int) -> None:
        if not 1 <= proposal_id <= self.governor.count():
            raise InputError(f"there is no proposal {proposal_id}: the proposals page lists them")

    def _one(self, sender: str, fn: ContractFunction) -> list[UnsignedTx]:
        address = wallet_address(sender, "the sender")
        try:
            dry_run(self.chain, fn, address)
        except ContractRevert as exc:
            raise explained(exc) from None
        return [unsigned(self.chain, fn, address)]
