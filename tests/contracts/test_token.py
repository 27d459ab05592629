"""The token's ERC-20 surface: balances, allowances, permits, minting, burning and roles."""

ZERO = "0x" + "00" * 20
MAX_UINT256 = 2**256 - 1


def _deadline(w3, offset=3600):
    return w3.eth.get_block("latest").timestamp + offset


def test_constructor_sets_metadata_roles_and_initial_supply(token, accounts, initial_supply):
    assert token.functions.name().call() == "Tessera"
    assert token.functions.symbol().call() == "TSR"
    assert token.functions.decimals().call() == 18
    assert token.functions.totalSupply().call() == initial_supply
    assert token.functions.balanceOf(accounts[1]).call() == initial_supply
    assert token.functions.owner().call() == accounts[0]
    assert token.functions.is_minter(accounts[0]).call()
    assert token.functions.eip712Domain().call()[1:3] == ["Tessera", "1"]


def test_constructor_rejects_zero_initial_holder(deploy, reverts):
    with reverts("erc20: mint to the zero address"):
        deploy("token", "Tessera", "TSR", 1, ZERO)


def test_constructor_rejects_supply_beyond_checkpoint_range(deploy, accounts, reverts):
    with reverts("votes: total supply exceeds checkpoint range"):
        deploy("token", "Tessera", "TSR", 2**208, accounts[1])


def test_transfer_moves_balance(token, accounts, initial_supply):
    token.functions.transfer(accounts[2], 30).transact({"from": accounts[1]})
    assert token.functions.balanceOf(accounts[1]).call() == initial_supply - 30
    assert token.functions.balanceOf(accounts[2]).call() == 30


def test_transfer_rejects_amount_above_balance(token, accounts, reverts):
    with reverts("erc20: transfer amount exceeds balance"):
        token.functions.transfer(accounts[1], 1).transact({"from": accounts[2]})


def test_transfer_rejects_zero_receiver(token, accounts, reverts):
    with reverts("erc20: transfer to the zero address"):
        token.functions.transfer(ZERO, 1).transact({"from": accounts[1]})


def test_approve_sets_allowance(token, accounts):
    token.functions.approve(accounts[2], 50).transact({"from": accounts[1]})
    assert token.functions.allowance(accounts[1], accounts[2]).call() == 50


def test_approve_rejects_zero_spender(token, accounts, reverts):
    with reverts("erc20: approve to the zero address"):
        token.functions.approve(ZERO, 50).transact({"from": accounts[1]})


def test_transfer_from_spends_allowance(token, accounts):
    token.functions.approve(accounts[2], 50).transact({"from": accounts[1]})
    token.functions.transferFrom(accounts[1], accounts[3], 20).transact({"from": accounts[2]})
    assert token.functions.balanceOf(accounts[3]).call() == 20
    assert token.functions.allowance(accounts[1], accounts[2]).call() == 30


def test_transfer_from_keeps_infinite_allowance(token, accounts):
    token.functions.approve(accounts[2], MAX_UINT256).transact({"from": accounts[1]})
    token.functions.transferFrom(accounts[1], accounts[3], 20).transact({"from": accounts[2]})
    assert token.functions.allowance(accounts[1], accounts[2]).call() == MAX_UINT256


def test_transfer_from_rejects_amount_above_allowance(token, accounts, reverts):
    token.functions.approve(accounts[2], 10).transact({"from": accounts[1]})
    with reverts("erc20: insufficient allowance"):
        token.functions.transferFrom(accounts[1], accounts[3], 11).transact({"from": accounts[2]})


def test_permit_sets_allowance_and_spends_nonce(w3, token, accounts, signers, sign_permit):
    owner, deadline = signers[0], _deadline(w3)
    v, r, s = sign_permit(owner, token, accounts[2], 70, 0, deadline)
    token.functions.permit(owner.address, accounts[2], 70, deadline, v, r, s).transact(
        {"from": accounts[3]}
    )
    assert token.functions.allowance(owner.address, accounts[2]).call() == 70
    assert token.functions.nonces(owner.address).call() == 1


def test_permit_rejects_expired_deadline(w3, token, accounts, signers, sign_permit, reverts):
    owner, deadline = signers[0], _deadline(w3, offset=-1)
    v, r, s = sign_permit(owner, token, accounts[2], 70, 0, deadline)
    with reverts("erc20: expired deadline"):
        token.functions.permit(owner.address, accounts[2], 70, deadline, v, r, s).transact(
            {"from": accounts[3]}
        )


def test_permit_rejects_signature_of_another_account(
    w3, token, accounts, signers, sign_permit, reverts
):
    owner, deadline = signers[0], _deadline(w3)
    v, r, s = sign_permit(signers[1], token, accounts[2], 70, 0, deadline)
    with reverts("erc20: invalid signature"):
        token.functions.permit(owner.address, accounts[2], 70, deadline, v, r, s).transact(
            {"from": accounts[3]}
        )


def test_permit_rejects_replayed_signature(w3, token, accounts, signers, sign_permit, reverts):
    owner, deadline = signers[0], _deadline(w3)
    v, r, s = sign_permit(owner, token, accounts[2], 70, 0, deadline)
    permit = token.functions.permit(owner.address, accounts[2], 70, deadline, v, r, s)
    permit.transact({"from": accounts[3]})
    with reverts("erc20: invalid signature"):
        permit.transact({"from": accounts[3]})


def test_minter_mints(token, accounts, initial_supply):
    token.functions.mint(accounts[2], 40).transact({"from": accounts[0]})
    assert token.functions.balanceOf(accounts[2]).call() == 40
    assert token.functions.totalSupply().call() == initial_supply + 40


def test_non_minter_cannot_mint(token, accounts, reverts):
    with reverts("token: caller is not a minter"):
        token.functions.mint(accounts[2], 40).transact({"from": accounts[1]})


def test_mint_rejects_zero_receiver(token, accounts, reverts):
    with reverts("erc20: mint to the zero address"):
        token.functions.mint(ZERO, 40).transact({"from": accounts[0]})


def test_mint_fills_checkpoint_range_but_not_beyond(token, accounts, reverts, initial_supply):
    headroom = 2**208 - 1 - initial_supply
    token.functions.mint(accounts[2], headroom).transact({"from": accounts[0]})
    assert token.functions.totalSupply().call() == 2**208 - 1
    with reverts("votes: total supply exceeds checkpoint range"):
        token.functions.mint(accounts[2], 1).transact({"from": accounts[0]})


def test_burn_destroys_callers_tokens(token, accounts, initial_supply):
    token.functions.burn(25).transact({"from": accounts[1]})
    assert token.functions.balanceOf(accounts[1]).call() == initial_supply - 25
    assert token.functions.totalSupply().call() == initial_supply - 25


def test_burn_rejects_amount_above_balance(token, accounts, reverts):
    with reverts("erc20: burn amount exceeds balance"):
        token.functions.burn(1).transact({"from": accounts[2]})


def test_burn_from_spends_allowance(token, accounts, initial_supply):
    token.functions.approve(accounts[2], 50).transact({"from": accounts[1]})
    token.functions.burn_from(accounts[1], 20).transact({"from": accounts[2]})
    assert token.functions.balanceOf(accounts[1]).call() == initial_supply - 20
    assert token.functions.allowance(accounts[1], accounts[2]).call() == 30
    assert token.functions.totalSupply().call() == initial_supply - 20


def test_burn_from_rejects_amount_above_allowance(token, accounts, reverts):
    with reverts("erc20: insufficient allowance"):
        token.functions.burn_from(accounts[1], 1).transact({"from": accounts[2]})


def test_owner_grants_and_revokes_minter(token, accounts, reverts):
    token.functions.set_minter(accounts[2], True).transact({"from": accounts[0]})
    token.functions.mint(accounts[2], 5).transact({"from": accounts[2]})
    token.functions.set_minter(accounts[2], False).transact({"from": accounts[0]})
    assert token.functions.balanceOf(accounts[2]).call() == 5
    with reverts("token: caller is not a minter"):
        token.functions.mint(accounts[2], 5).transact({"from": accounts[2]})


def test_non_owner_cannot_set_minter(token, accounts, reverts):
    with reverts("ownable: caller is not the owner"):
        token.functions.set_minter(accounts[2], True).transact({"from": accounts[1]})


def test_set_minter_rejects_zero_address_and_owner(token, accounts, reverts):
    with reverts("erc20: minter is the zero address"):
        token.functions.set_minter(ZERO, True).transact({"from": accounts[0]})
    with reverts("erc20: minter is owner address"):
        token.functions.set_minter(accounts[0], False).transact({"from": accounts[0]})


def test_transfer_ownership_moves_owner_and_minter_roles(token, accounts):
    token.functions.transfer_ownership(accounts[2]).transact({"from": accounts[0]})
    assert token.functions.owner().call() == accounts[2]
    assert token.functions.is_minter(accounts[2]).call()
    assert not token.functions.is_minter(accounts[0]).call()


def test_non_owner_cannot_transfer_ownership(token, accounts, reverts):
    with reverts("ownable: caller is not the owner"):
        token.functions.transfer_ownership(accounts[2]).transact({"from": accounts[1]})


def test_transfer_ownership_rejects_zero_address(token, accounts, reverts):
    with reverts("erc20: new owner is the zero address"):
        token.functions.transfer_ownership(ZERO).transact({"from": accounts[0]})


def test_renounce_ownership_drops_owner_and_minter_roles(token, accounts):
    token.functions.renounce_ownership().transact({"from": accounts[0]})
    assert token.functions.owner().call() == ZERO
    assert not token.functions.is_minter(accounts[0]).call()


def test_non_owner_cannot_renounce_ownership(token, accounts, reverts):
    with reverts("ownable: caller is not the owner"):
        token.functions.renounce_ownership().transact({"from": accounts[1]})
