"""Delegation by signature: a holder's wallet signs an EIP-712 `Delegation` and a relayer
sends `delegate_by_sig`, paying its gas. The signature is checked here by the token's own
rules (signer, low s, expiry, nonce) and the call dry-run before the relayer spends anything.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract.contract import ContractFunction

from tessera._chain.client import Chain
from tessera._chain.token import TokenClient
from tessera._chain.wallet_txs import dry_run, wallet_address
from tessera._crypto.delegation import Delegation, TokenDomain
from tessera._crypto.ecdsa import parse_hex_signature, split_signature
from tessera._errors import ContractRevert, InputError, SignatureError
from tessera._govern.governance import explained

DELEGATION_TTL_S = 15 * 60  # how long a served delegation stays signable and relayable
UINT256_LIMIT = 2**256
# a 0x-hex string or raw bytes (65: r, s, v; 64: EIP-2098), or the (v, r, s) the token takes
SignatureInput = str | bytes | tuple[int, int, int]


class DelegationRelay:
    def __init__(self, chain: Chain, token: TokenClient) -> None:
        self.chain = chain
        self.token = token

    @cached_property
    def domain(self) -> TokenDomain:
        return TokenDomain(*self.token.eip712_domain())

    def typed_data(self, delegator: str, delegatee: str) -> dict[str, Any]:
        """`delegator`'s delegation to `delegatee` at its next nonce, for a wallet to sign."""
        delegator = wallet_address(delegator, "the delegator")
        delegatee = wallet_address(delegatee, "the delegatee")
        expiry = self.chain.now() + DELEGATION_TTL_S
        delegation = Delegation(self.domain, delegatee, self.token.nonces(delegator), expiry)
        return delegation.wallet_typed_data()

    def checked(
        self,
        delegator: str,
        delegatee: str,
        nonce: int,
        expiry: int,
        signature: SignatureInput,
        relayer: str,
    ) -> ContractFunction:
        """The `delegate_by_sig` call, once the signature is `delegator`'s, unexpired and at
        its next nonce, and the call runs as `relayer` would send it; the error that says
        why not otherwise (nothing is sent either way)."""
        delegator = wallet_address(delegator, "the delegator")
        delegatee = wallet_address(delegatee, "the delegatee")
        nonce, expiry = _uint256(nonce, "nonce"), _uint256(expiry, "expiry")
        text = _hex_signature(signature)
        v, r, s = split_signature(_raw_signature(text))
        now = self.chain.now()
        if expiry < now:
            raise SignatureError(
                f"the delegation expired {now - expiry} s ago: ask for a new one and sign it "
                f"(each is valid for {DELEGATION_TTL_S // 60} minutes)"
            )
        self._check_signer(Delegation(self.domain, delegatee, nonce, expiry), text, delegator)
        self._check_nonce(delegator, nonce)
        fn = self.token.delegate_by_sig(delegatee, nonce, expiry, v, r, s)
        try:
            dry_run(self.chain, fn, relayer)
        except ContractRevert as exc:
            raise explained(exc) from None
        return fn

    def send(self, fn: ContractFunction, relayer: LocalAccount) -> str:
        """Send a `checked` call from `relayer`, which pays the gas; its transaction hash."""
        try:
            receipt = self.chain.transact(fn, relayer)
        except ContractRevert as exc:
            raise explained(exc) from None
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def _check_signer(self, delegation: Delegation, signature: str, delegator: str) -> None:
        signer = delegation.signer(signature)
        if signer != delegator:
            raise SignatureError(
                f"the delegation is signed by {signer}, not by the delegator {delegator}: it was "
                "changed after signing, or signed by another account; sign it with the "
                "delegator's own wallet"
            )

    def _check_nonce(self, delegator: str, nonce: int) -> None:
        expected = self.token.nonces(delegator)
        if nonce < expected:
            raise SignatureError(
                f"the delegation's nonce {nonce} is used already ({delegator}'s next is "
                f"{expected}): a signature is relayed once; ask for a new one and sign it"
            )
        if nonce > expected:
            raise SignatureError(
                f"the delegation's nonce {nonce} is not {delegator}'s next ({expected}): ask "
                "for a new one and sign it"
            )


def _uint256(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < UINT256_LIMIT:
        raise InputError(f"the delegation's {name} must be an integer from 0 to 2**256 - 1")
    return value


def _raw_signature(text: str) -> bytes:
    try:
        return parse_hex_signature(text, "delegation")
    except SignatureError as exc:  # malformed input, not a signature the token refuses
        raise InputError(str(exc)) from None


def _hex_signature(signature: SignatureInput) -> str:
    """Any accepted form as 0x-hex: what the recovery and the token read alike."""
    if isinstance(signature, str):
        return signature
    if isinstance(signature, bytes):
        return "0x" + signature.hex()
    if isinstance(signature, tuple) and len(signature) == 3:
        v, r, s = signature
        if all(isinstance(x, int) and not isinstance(x, bool) for x in signature) and (
            0 <= v < 256 and 0 <= r < UINT256_LIMIT and 0 <= s < UINT256_LIMIT
        ):
            return "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex() + f"{v:02x}"
    raise InputError(
        "give the delegation's signature as 0x-hex (65 bytes, or 64: EIP-2098), bytes, or "
        "(v, r, s) integers"
    )
