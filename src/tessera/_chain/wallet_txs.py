"""Transactions a browser wallet signs (EIP-1193): unsigned, in the form `eth_sendTransaction`
takes, and what became of one once sent. No key is held here: the wallet signs and sends.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import requests
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import TransactionNotFound, Web3Exception

from tessera._chain.client import Chain
from tessera._errors import ChainUnavailable, InputError, NotFoundError

UnsignedTx = dict[str, str]  # from, to, data, value, chainId: 0x-hex strings
TxStatus = Literal["pending", "succeeded", "reverted"]
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


def wallet_address(text: str, what: str) -> str:
    """A 0x-address as a wallet gives it, checksummed; InputError for anything else (a name,
    the zero address, a mixed-case address whose EIP-55 checksum is wrong)."""
    if len(text) != 42 or not Web3.is_address(text):
        raise InputError(
            f"{what} {text[:64]!r} is not an address: give 0x and 40 hex digits "
            "(in mixed case only with a correct EIP-55 checksum)"
        )
    body = text[2:]
    if body not in (body.lower(), body.upper()) and not Web3.is_checksum_address(text):
        raise InputError(
            f"{what} {text} mixes cases but its EIP-55 checksum is wrong: a typo? "
            "Copy it from the wallet again"
        )
    if int(text, 16) == 0:
        raise InputError(f"{what} is the zero address")
    return str(Web3.to_checksum_address(text))


def unsigned(chain: Chain, fn: ContractFunction, sender: str) -> UnsignedTx:
    """`fn` as sent by `sender`; the wallet picks the nonce, the gas and its price."""
    return {
        "from": sender,
        "to": str(fn.address),
        "data": str(fn._encode_transaction_data()),
        "value": "0x0",
        "chainId": hex(chain.chain_id),
    }


def dry_run(chain: Chain, fn: ContractFunction, sender: str) -> None:
    """Run `fn` as `sender` would send it now, so that a revert (ContractRevert, with the
    contract's reason) stops it here instead of in the wallet, which shows no reason."""
    if chain.w3.eth.get_balance(Web3.to_checksum_address(sender)) == 0:
        raise InputError(
            f"{sender} has no ETH to pay gas on chain {chain.chain_id}: fund it first "
            "(`tessera account fund` on a local chain)"
        )
    chain.catch_up_clock()  # governor and escrow check the time
    chain.call(fn, sender=sender)


def check_tx_hash(tx_hash: str) -> str:
    if not _HASH.fullmatch(tx_hash):
        raise InputError(f"{tx_hash[:80]!r} is not a transaction hash: give 0x and 64 hex digits")
    return tx_hash


def mined_transaction(chain: Chain, tx_hash: str) -> tuple[Any, Any]:
    """A mined transaction and its receipt; NotFoundError if this chain has not mined it."""
    check_tx_hash(tx_hash)
    try:
        return (chain.w3.eth.get_transaction(tx_hash),  # type: ignore[arg-type]
                chain.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]  # fmt: skip
    except TransactionNotFound:
        raise NotFoundError(f"transaction {tx_hash} is not on this chain") from None


def transaction_status(chain: Chain, tx_hash: str) -> TxStatus:
    """`pending` until the transaction is mined (or while the chain has not seen it yet)."""
    check_tx_hash(tx_hash)
    try:
        receipt = chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return "pending"
    except (Web3Exception, OSError, requests.RequestException) as exc:
        raise ChainUnavailable(
            f"the chain at {chain.url} did not answer ({type(exc).__name__}): try again"
        ) from None
    return "succeeded" if receipt["status"] == 1 else "reverted"
