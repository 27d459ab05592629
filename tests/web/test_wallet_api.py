"""The browser wallet's JSON: the transactions it is handed, signed with a real key and sent as
a wallet sends them, do what they say on chain; voucher typed data signs as the voucher
does; bad input is a 400 with a sentence and nothing built."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from money_helpers import TSR

from tessera import ProposalState, Voucher
from tessera._payments import wallet_txs
from tessera._payments.claims import Claimable

NODE = "0x" + "ab" * 20


def _send(t, account, tx) -> str:
    """What a wallet does with one transaction: fill nonce, gas and its price, sign, send."""
    assert set(tx) == {"from", "to", "data", "value", "chainId"}
    assert tx["from"] == account.address
    w3 = t.chain.w3
    full = {
        **tx,
        "value": int(tx["value"], 16),
        "chainId": int(tx["chainId"], 16),
        "nonce": w3.eth.get_transaction_count(account.address),
        "gasPrice": w3.eth.gas_price,
    }
    full["gas"] = w3.eth.estimate_gas(full)
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(full).raw_transaction)
    w3.eth.wait_for_transaction_receipt(tx_hash)
    return "0x" + bytes(tx_hash).hex()


def _built(web, path: str) -> list[dict[str, str]]:
    answer = web.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return answer.json()["transactions"]


def _proposal(t) -> int:
    proposal = t.gov.propose(t.gov.actions.block_content(["bafk-example"]), "block it")
    t.gov.wait_for(proposal, ProposalState.ACTIVE)
    return proposal


def test_a_wallet_votes_queues_and_executes_a_proposal(web, web_home):
    t, me = web_home, web_home.signer("default")
    proposal = _proposal(t)
    (vote,) = _built(
        web, f"/api/tx/vote?proposal={proposal}&support=for&reason=ok&from={me.address}"
    )
    assert web.get(f"/api/tx-status/{_send(t, me, vote)}").json() == {"status": "succeeded"}
    record = t.gov.status(proposal).record
    assert record.for_votes == t.gov.voting_power(me.address)[0] > 0
    assert t.gov.has_voted(proposal, me.address)

    t.gov.wait_for(proposal, ProposalState.SUCCEEDED)
    (queue,) = _built(web, f"/api/tx/queue?proposal={proposal}&from={me.address}")
    _send(t, me, queue)
    assert t.gov.status(proposal).state == ProposalState.QUEUED
    t.chain.wait_until(t.gov.status(proposal).record.eta)
    (execute,) = _built(web, f"/api/tx/execute?proposal={proposal}&from={me.address}")
    _send(t, me, execute)
    assert t.gov.status(proposal).state == ProposalState.EXECUTED


def test_a_step_the_governor_would_refuse_is_refused_with_its_reason(web, web_home):
    t, me = web_home, web_home.signer("default")
    proposal = t.gov.propose(t.gov.actions.block_content(["bafk-example"]), "block it")
    answer = web.get(f"/api/tx/vote?proposal={proposal}&support=for&from={me.address}")
    assert answer.status_code == 400
    assert "voting has not started" in answer.json()["error"]
    t.gov.wait_for(proposal, ProposalState.ACTIVE)
    t.gov.vote(proposal, "for")
    answer = web.get(f"/api/tx/vote?proposal={proposal}&support=against&from={me.address}")
    assert answer.status_code == 400 and "vote already cast" in answer.json()["error"]
    answer = web.get(f"/api/tx/queue?proposal={proposal}&from={me.address}")
    assert answer.status_code == 400 and "proposal not successful" in answer.json()["error"]


def test_a_wallet_delegates_its_votes_to_itself(web, web_home):
    t, carol = web_home, web_home.signer("carol")
    t.transfer(1_000 * TSR, "carol")
    assert t.gov.voting_power("carol")[0] == 0
    (delegate,) = _built(web, f"/api/tx/delegate?from={carol.address}")
    _send(t, carol, delegate)
    assert t.gov.voting_power("carol") == (1_000 * TSR, carol.address)


def test_a_wallet_deposits_into_a_channel_in_two_transactions(web, web_home):
    t, carol = web_home, web_home.signer("carol")
    t.transfer(10 * TSR, "carol")
    built = _built(web, f"/api/tx/deposit?node={NODE}&amount=2.5&from={carol.address}")
    assert [tx["to"] for tx in built] == [t.settlement.token.address, t.settlement.address]
    for tx in built:
        _send(t, carol, tx)
    wallet = t.wallet("carol")
    assert wallet.channel(NODE).balance == 25 * TSR // 10
    assert wallet.tokens == 10 * TSR - 25 * TSR // 10


def test_a_deposit_the_allowance_covers_is_one_transaction(web, web_home):
    t, carol = web_home, web_home.signer("carol")
    t.transfer(10 * TSR, "carol")
    t.settlement.token.approve(carol, t.settlement.address, 3 * TSR)
    (deposit,) = _built(web, f"/api/tx/deposit?node={NODE}&amount=3&from={carol.address}")
    _send(t, carol, deposit)
    assert t.wallet("carol").channel(NODE).balance == 3 * TSR


def test_a_claim_carries_each_nodes_proof(web, web_home, monkeypatch):
    carol = web_home.address("carol")
    assert web.get(f"/api/tx/claim?from={carol}").status_code == 400  # nothing owed yet
    owed = Claimable(NODE.lower(), 2, 7 * TSR, 3 * TSR, [b"\x11" * 32])
    monkeypatch.setattr(wallet_txs, "claimable", lambda settlement, store, who: [owed])
    refused = web.get(f"/api/tx/claim?from={carol}")  # no such epoch: the dry run reverts
    assert refused.status_code == 400 and "the contract refused" in refused.json()["error"]
    monkeypatch.setattr(wallet_txs, "dry_run", lambda chain, fn, sender: None)
    (claim,) = _built(web, f"/api/tx/claim?from={carol}")
    assert claim["to"] == web_home.settlement.address
    fn, args = web_home.settlement.contract.decode_function_input(claim["data"])
    assert fn.fn_name == "claim"
    assert (args["node"], args["epoch"], args["cumulative"], list(args["proof"])) == (
        web_home.address(NODE),
        2,
        7 * TSR,
        [b"\x11" * 32],
    )


def test_voucher_typed_data_signed_by_a_wallet_is_the_voucher_signature(web, web_home):
    t, key = web_home, Account.create()
    answer = web.get(f"/api/voucher?node={NODE}&amount=12.5&from={key.address}")
    assert answer.status_code == 200, answer.text
    typed = answer.json()
    assert typed["message"]["amount"] == str(125 * TSR // 10)  # a string: above 2**53
    signature = Account.sign_typed_data(key.key, full_message=typed).signature
    voucher = Voucher(
        key.address,
        t.address(NODE),
        125 * TSR // 10,
        t.chain.chain_id,
        t.settlement.address,
        "0x" + bytes(signature).hex(),
    )
    voucher.verify()  # the node's check
    # the same signature a local account signs: the wallet's hash is the voucher's
    assert voucher.signature == replace(voucher, signature="").signed_by(key).signature
    assert t.settlement.voucher_signer(key.address, NODE, voucher.amount, voucher.signature) == (
        key.address
    )  # the contract's check when redeemed


def test_a_transaction_that_fails_on_chain_is_reverted(web, web_home):
    t, me = web_home, web_home.signer("default")
    proposal = _proposal(t)
    (vote,) = _built(web, f"/api/tx/vote?proposal={proposal}&support=for&from={me.address}")
    _send(t, me, vote)
    again = {**vote, "value": 0, "chainId": int(vote["chainId"], 16), "gas": 300_000}
    again |= {"nonce": t.chain.w3.eth.get_transaction_count(me.address), "gasPrice": 10**10}
    tx_hash = t.chain.w3.eth.send_raw_transaction(me.sign_transaction(again).raw_transaction)
    t.chain.w3.eth.wait_for_transaction_receipt(tx_hash)  # mined, failed: a vote counts once
    status = web.get(f"/api/tx-status/0x{bytes(tx_hash).hex()}").json()
    assert status == {"status": "reverted"}


def test_the_status_of_a_transaction_the_chain_has_not_seen_is_pending(web):
    assert web.get("/api/tx-status/0x" + "00" * 32).json() == {"status": "pending"}
    answer = web.get("/api/tx-status/0x1234")
    assert answer.status_code == 400 and "not a transaction hash" in answer.json()["error"]


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/api/tx/vote?proposal=1&support=for&from=alice", "is not an address"),
        ("/api/tx/vote?proposal=1&support=for&from=0x" + "12" * 19, "is not an address"),
        ("/api/tx/vote?proposal=1&support=for", "'from' parameter is missing"),
        ("/api/tx/vote?proposal=9&support=for&from={me}", "there is no proposal 9"),
        ("/api/tx/vote?proposal=1x&support=for&from={me}", "not a proposal number"),
        ("/api/tx/vote?proposal=1&support=maybe&from={me}", "not one of: for, against, abstain"),
        ("/api/tx/vote?proposal=1&support=for&reason=" + "r" * 300 + "&from={me}", "256 bytes"),
        ("/api/tx/vote?proposal=1&support=for&reason=" + "r" * 2000 + "&from={me}", "over 1024"),
        ("/api/tx/deposit?node={node}&amount=abc&from={me}", "'abc' is not an amount"),
        ("/api/tx/deposit?node={node}&amount=0&from={me}", "not a positive amount"),
        ("/api/tx/deposit?node=carol&amount=1&from={me}", "'node' parameter 'carol' is not"),
        ("/api/tx/deposit?node=0x" + "00" * 20 + "&amount=1&from={me}", "the zero address"),
        ("/api/tx/deposit?node={node}&amount=1&from=0x" + "cd" * 20, "holds 0 TSR"),
        ("/api/voucher?node={node}&amount=-1&from={me}", "not a positive amount"),
        ("/api/tx/delegate?from=0xABaBaBaBABabABabAbAbABAbABabababaBaBABab", "EIP-55 checksum"),
        ("/api/tx/delegate?from=0x" + "ab" * 20, "has no ETH to pay gas"),
    ],
)
def test_bad_input_is_a_400_with_a_sentence_and_nothing_built(web, web_home, path, said):
    url = path.format(me=web_home.address(), node=NODE)
    answer = web.get(url)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert set(body) == {"error"} and said in body["error"], body


def test_an_unknown_step_is_a_404(web, web_home):
    answer = web.get(f"/api/tx/mint?from={web_home.address()}")
    assert answer.status_code == 404 and "give one of vote, queue" in answer.json()["error"]
