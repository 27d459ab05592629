"""A browser wallet for the journeys: an EIP-1193 `window.ethereum` injected into every page,
forwarding each request to `TestWallet` in Python, which holds a real key.

A journey overrides `injected_wallet` with WALLET and `wallet_bindings` with
`{"testWalletRequest": wallet.request}` (see conftest.py).
"""

from __future__ import annotations

import json
from typing import Any

from eth_account import Account

WALLET = """
window.ethereum = {
  isTestWallet: true,
  async request({ method, params }) {
    const answer = await window.testWalletRequest(method, params || []);
    if (answer.error) throw answer.error;
    return answer.result;
  },
  on() {},
};
"""
REJECTED = {"code": 4001, "message": "User rejected the request."}


class TestWallet:
    """What a wallet extension does with each request, for one key; `refuse` names the methods
    whose prompt the person declines. It signs transactions (`sent`, their hashes) and typed
    data (`signed`, each one's primary type)."""

    __test__ = False  # not a test class: pytest must not collect it

    def __init__(self, t, account: str) -> None:
        self.w3, self.key = t.chain.w3, t.signer(account)
        self.refuse: set[str] = set()
        self.sent: list[str] = []
        self.signed: list[str] = []

    def request(self, method: str, params: list[Any]) -> dict[str, Any]:
        if method in self.refuse:
            return {"error": REJECTED}
        if method in ("eth_requestAccounts", "eth_accounts"):
            return {"result": [self.key.address]}
        if method == "eth_chainId":
            return {"result": hex(self.w3.eth.chain_id)}
        if method == "eth_sendTransaction":
            return {"result": self._send(params[0])}
        if method == "eth_signTypedData_v4":
            return {"result": self._sign_typed(*params)}
        return {"error": {"code": 4200, "message": f"{method} is not supported"}}

    def _send(self, tx: dict[str, str]) -> str:
        assert tx["from"].lower() == self.key.address.lower()
        full = {
            "to": tx["to"],
            "data": tx["data"],
            "value": int(tx["value"], 16),
            "chainId": int(tx["chainId"], 16),
            "nonce": self.w3.eth.get_transaction_count(self.key.address),
            "gasPrice": self.w3.eth.gas_price,
        }
        full["gas"] = self.w3.eth.estimate_gas({**full, "from": self.key.address})
        signed = self.key.sign_transaction(full)
        tx_hash = "0x" + bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction)).hex()
        self.sent.append(tx_hash)
        return tx_hash

    def _sign_typed(self, address: str, typed_json: str) -> str:
        """As a wallet signs: the JSON text it was handed, by the account it names."""
        assert address.lower() == self.key.address.lower()
        typed = json.loads(typed_json)
        signature = Account.sign_typed_data(self.key.key, full_message=typed).signature
        self.signed.append(typed["primaryType"])
        return "0x" + bytes(signature).hex()
