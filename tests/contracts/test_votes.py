"""The token's voting power: delegation, delegation by signature, checkpoints and past lookups."""

from web3.logs import DISCARD

ZERO = "0x" + "00" * 20


def _votes(token, account):
    return token.functions.get_votes(account).call()


def _expiry(w3, offset=3600):
    return w3.eth.get_block("latest").timestamp + offset


def _stamp(w3, block="latest"):
    return w3.eth.get_block(block).timestamp


def test_clock_is_the_block_timestamp(w3, token):
    # in process, calls run against the latest block
    assert token.functions.clock().call() == _stamp(w3)
    assert token.functions.CLOCK_MODE().call() == "mode=timestamp"


def test_balance_counts_as_votes_only_once_delegated(token, accounts, initial_supply):
    holder = accounts[1]
    assert _votes(token, holder) == 0
    token.functions.delegate(holder).transact({"from": holder})
    assert token.functions.delegates(holder).call() == holder
    assert _votes(token, holder) == initial_supply


def test_delegate_logs_both_changes(token, accounts, initial_supply):
    holder = accounts[1]
    tx_hash = token.functions.delegate(accounts[2]).transact({"from": holder})
    receipt = token.w3.eth.wait_for_transaction_receipt(tx_hash)
    changed = token.events.DelegateChanged().process_receipt(receipt, errors=DISCARD)[0].args
    assert (changed.delegator, changed.from_delegate, changed.to_delegate) == (
        holder,
        ZERO,
        accounts[2],
    )
    moved = token.events.DelegateVotesChanged().process_receipt(receipt, errors=DISCARD)[0].args
    assert (moved.delegate, moved.previous_votes, moved.new_votes) == (
        accounts[2],
        0,
        initial_supply,
    )


def test_redelegating_moves_votes_to_the_new_delegate(token, accounts, initial_supply):
    holder = accounts[1]
    token.functions.delegate(accounts[2]).transact({"from": holder})
    token.functions.delegate(accounts[3]).transact({"from": holder})
    assert _votes(token, accounts[2]) == 0
    assert _votes(token, accounts[3]) == initial_supply


def test_delegating_to_zero_withdraws_votes(token, accounts):
    holder = accounts[1]
    token.functions.delegate(holder).transact({"from": holder})
    token.functions.delegate(ZERO).transact({"from": holder})
    assert token.functions.delegates(holder).call() == ZERO
    assert _votes(token, holder) == 0


def test_delegating_without_balance_gives_no_votes(token, accounts):
    token.functions.delegate(accounts[3]).transact({"from": accounts[2]})
    assert token.functions.delegates(accounts[2]).call() == accounts[3]
    assert _votes(token, accounts[3]) == 0
    assert token.functions.num_checkpoints(accounts[3]).call() == 0


def test_delegate_by_sig_delegates_for_the_signer(w3, token, accounts, signers, sign_delegation):
    signer, expiry = signers[0], _expiry(w3)
    token.functions.transfer(signer.address, 100).transact({"from": accounts[1]})
    v, r, s = sign_delegation(signer, token, accounts[3], 0, expiry)
    token.functions.delegate_by_sig(accounts[3], 0, expiry, v, r, s).transact({"from": accounts[2]})
    assert token.functions.delegates(signer.address).call() == accounts[3]
    assert _votes(token, accounts[3]) == 100
    assert token.functions.nonces(signer.address).call() == 1


def test_delegate_by_sig_rejects_expired_signature(
    w3, token, accounts, signers, sign_delegation, reverts
):
    expiry = _expiry(w3, offset=-1)
    v, r, s = sign_delegation(signers[0], token, accounts[3], 0, expiry)
    with reverts("votes: signature expired"):
        token.functions.delegate_by_sig(accounts[3], 0, expiry, v, r, s).transact(
            {"from": accounts[2]}
        )


def test_delegate_by_sig_rejects_wrong_nonce(
    w3, token, accounts, signers, sign_delegation, reverts
):
    expiry = _expiry(w3)
    v, r, s = sign_delegation(signers[0], token, accounts[3], 1, expiry)
    with reverts("votes: invalid nonce"):
        token.functions.delegate_by_sig(accounts[3], 1, expiry, v, r, s).transact(
            {"from": accounts[2]}
        )


def test_delegate_by_sig_rejects_replayed_signature(
    w3, token, accounts, signers, sign_delegation, reverts
):
    expiry = _expiry(w3)
    v, r, s = sign_delegation(signers[0], token, accounts[3], 0, expiry)
    delegation = token.functions.delegate_by_sig(accounts[3], 0, expiry, v, r, s)
    delegation.transact({"from": accounts[2]})
    with reverts("votes: invalid nonce"):
        delegation.transact({"from": accounts[2]})


def test_delegate_by_sig_with_altered_delegatee_leaves_the_signer_alone(
    w3, token, accounts, signers, sign_delegation
):
    # the altered message recovers to some other address, which has no tokens to delegate
    signer, expiry = signers[0], _expiry(w3)
    token.functions.transfer(signer.address, 100).transact({"from": accounts[1]})
    v, r, s = sign_delegation(signer, token, accounts[3], 0, expiry)
    token.functions.delegate_by_sig(accounts[2], 0, expiry, v, r, s).transact({"from": accounts[2]})
    assert token.functions.delegates(signer.address).call() == ZERO
    assert _votes(token, accounts[2]) == 0
    assert token.functions.nonces(signer.address).call() == 0


def test_delegation_and_permit_spend_the_same_nonces(
    w3, token, accounts, signers, sign_delegation, sign_permit
):
    signer, deadline = signers[0], _expiry(w3)
    v, r, s = sign_delegation(signer, token, accounts[3], 0, deadline)
    token.functions.delegate_by_sig(accounts[3], 0, deadline, v, r, s).transact(
        {"from": accounts[2]}
    )
    v, r, s = sign_permit(signer, token, accounts[2], 5, 1, deadline)
    token.functions.permit(signer.address, accounts[2], 5, deadline, v, r, s).transact(
        {"from": accounts[2]}
    )
    assert token.functions.nonces(signer.address).call() == 2


def test_transfer_moves_votes_between_delegates(token, accounts, initial_supply):
    holder = accounts[1]
    token.functions.delegate(holder).transact({"from": holder})
    token.functions.delegate(accounts[3]).transact({"from": accounts[2]})
    token.functions.transfer(accounts[2], 100).transact({"from": holder})
    assert _votes(token, holder) == initial_supply - 100
    assert _votes(token, accounts[3]) == 100


def test_transfer_to_undelegated_account_drops_votes(token, accounts, initial_supply):
    holder = accounts[1]
    token.functions.delegate(holder).transact({"from": holder})
    token.functions.transfer(accounts[2], 100).transact({"from": holder})
    assert _votes(token, holder) == initial_supply - 100
    assert _votes(token, accounts[2]) == 0


def test_transfer_from_moves_votes_between_delegates(token, accounts, initial_supply):
    holder = accounts[1]
    token.functions.delegate(holder).transact({"from": holder})
    token.functions.delegate(accounts[3]).transact({"from": accounts[2]})
    token.functions.approve(accounts[0], 100).transact({"from": holder})
    token.functions.transferFrom(holder, accounts[2], 100).transact({"from": accounts[0]})
    assert _votes(token, holder) == initial_supply - 100
    assert _votes(token, accounts[3]) == 100


def test_mint_adds_votes_to_the_receivers_delegate(token, accounts):
    token.functions.delegate(accounts[3]).transact({"from": accounts[2]})
    token.functions.mint(accounts[2], 40).transact({"from": accounts[0]})
    assert _votes(token, accounts[3]) == 40


def test_burn_removes_votes_from_the_holders_delegate(token, accounts, initial_supply):
    holder = accounts[1]
    token.functions.delegate(accounts[3]).transact({"from": holder})
    token.functions.burn(25).transact({"from": holder})
    assert _votes(token, accounts[3]) == initial_supply - 25


def test_burn_from_removes_votes_from_the_holders_delegate(token, accounts, initial_supply):
    holder = accounts[1]
    token.functions.delegate(accounts[3]).transact({"from": holder})
    token.functions.approve(accounts[2], 25).transact({"from": holder})
    token.functions.burn_from(holder, 25).transact({"from": accounts[2]})
    assert _votes(token, accounts[3]) == initial_supply - 25


def test_get_past_votes_returns_the_votes_after_each_second(
    w3, token, accounts, mine, initial_supply
):
    holder = accounts[1]
    token.functions.delegate(holder).transact({"from": holder})
    delegated = _stamp(w3)
    mine(3)
    token.functions.transfer(accounts[2], 100).transact({"from": holder})
    sent = _stamp(w3)
    mine()
    history = {delegated - 1: 0, delegated: initial_supply, sent - 1: initial_supply}
    history[sent] = initial_supply - 100
    for timepoint, votes in history.items():
        assert token.functions.get_past_votes(holder, timepoint).call() == votes


def test_get_past_votes_rejects_the_current_second(w3, token, accounts, reverts):
    with reverts("votes: future lookup"):
        token.functions.get_past_votes(accounts[1], _stamp(w3)).call()


def test_get_past_total_supply_follows_mints_and_burns(w3, token, accounts, mine, initial_supply):
    deployed = _stamp(w3)
    token.functions.mint(accounts[2], 40).transact({"from": accounts[0]})
    minted = _stamp(w3)
    token.functions.burn(15).transact({"from": accounts[2]})
    burned = _stamp(w3)
    mine()
    lookup = token.functions.get_past_total_supply
    assert lookup(deployed - 1).call() == 0
    assert lookup(deployed).call() == initial_supply
    assert lookup(minted).call() == initial_supply + 40
    assert lookup(burned).call() == initial_supply + 25


def test_get_past_total_supply_rejects_the_current_second(w3, token, reverts):
    with reverts("votes: future lookup"):
        token.functions.get_past_total_supply(_stamp(w3)).call()


def test_checkpoints_record_time_and_votes(w3, token, accounts, initial_supply):
    holder = accounts[1]
    token.functions.delegate(holder).transact({"from": holder})
    delegated = _stamp(w3)
    token.functions.burn(10).transact({"from": holder})
    burned = _stamp(w3)
    assert token.functions.num_checkpoints(holder).call() == 2
    assert token.functions.checkpoints(holder, 0).call() == (delegated, initial_supply)
    assert token.functions.checkpoints(holder, 1).call() == (burned, initial_supply - 10)


def test_checkpoints_rejects_index_out_of_range(token, accounts, reverts):
    with reverts("votes: checkpoint index out of range"):
        token.functions.checkpoints(accounts[1], 0).call()


def test_changes_within_one_second_share_one_checkpoint(w3, token, accounts, mine, initial_supply):
    holder, minter = accounts[1], accounts[0]
    token.functions.delegate(holder).transact({"from": holder})
    w3.provider.ethereum_tester.disable_auto_mine_transactions()
    # eth-tester queues one transaction per sender and block, hence two senders
    token.functions.transfer(accounts[2], 5).transact({"from": holder, "gas": 200_000})
    token.functions.mint(holder, 7).transact({"from": minter, "gas": 200_000})
    mine()
    assert token.functions.num_checkpoints(holder).call() == 2
    assert token.functions.checkpoints(holder, 1).call()[1] == initial_supply + 2
