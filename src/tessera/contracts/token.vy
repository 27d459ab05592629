# pragma version ~=0.4.3
"""
@title Tessera governance token
@custom:contract-name token
@license Apache-2.0
@notice An ERC-20 with EIP-2612 permits, owner and minter roles (snekmate's
        `erc20`) and delegable, checkpointed voting power (`votes`).
@dev snekmate's transfer hooks are empty internals that cannot be
     overridden, so every function that moves balances is defined here:
     it calls the `erc20` internal, then moves the voting power. Every
     other `erc20` function is exported unchanged.
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

import votes

initializes: ownable
initializes: erc20[ownable := ownable]
initializes: votes[erc20 := erc20]

exports: (
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.approve,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    erc20.is_minter,
    erc20.set_minter,
    erc20.owner,
    erc20.transfer_ownership,
    erc20.renounce_ownership,
    votes.__interface__,
)


_DECIMALS: constant(uint8) = 18
_EIP712_VERSION: constant(String[20]) = "1"


@deploy
def __init__(
    name_: String[25], symbol_: String[5], initial_supply: uint256, initial_holder: address
):
    """
    @notice The deployer becomes owner and minter.
    @param name_ The token's name, also its EIP-712 domain name.
    @param symbol_ The token's symbol.
    @param initial_supply The number of tokens (18 decimals) minted at once.
    @param initial_holder The account that receives them; not zero.
    """
    ownable.__init__()
    erc20.__init__(name_, symbol_, _DECIMALS, name_, _EIP712_VERSION)
    self._mint(initial_holder, initial_supply)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` tokens from the caller to `to`.
    @param to The receiver; not zero.
    @param amount The number of tokens.
    @return bool Always true; failures revert.
    """
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` tokens from `owner` to `to`, spending the
            caller's allowance.
    @param owner The sender; not zero.
    @param to The receiver; not zero.
    @param amount The number of tokens.
    @return bool Always true; failures revert.
    """
    erc20._spend_allowance(owner, msg.sender, amount)
    self._transfer(owner, to, amount)
    return True


@external
def mint(owner: address, amount: uint256):
    """
    @notice Creates `amount` tokens for `owner`; minters only.
    @param owner The receiver; not zero.
    @param amount The number of tokens.
    """
    assert erc20.is_minter[msg.sender], "token: caller is not a minter"
    self._mint(owner, amount)


@external
def burn(amount: uint256):
    """
    @notice Destroys `amount` of the caller's tokens.
    @param amount The number of tokens.
    """
    self._burn(msg.sender, amount)


@external
def burn_from(owner: address, amount: uint256):
    """
    @notice Destroys `amount` of `owner`'s tokens, spending the caller's
            allowance.
    @param owner The holder; not zero.
    @param amount The number of tokens.
    """
    erc20._spend_allowance(owner, msg.sender, amount)
    self._burn(owner, amount)


@internal
def _transfer(owner: address, to: address, amount: uint256):
    """
    @dev Moves balance, then the voting power that follows it.
    """
    erc20._transfer(owner, to, amount)
    votes._transfer_voting_units(owner, to, amount)


@internal
def _mint(owner: address, amount: uint256):
    """
    @dev Mints, then checkpoints the supply and the receiver's delegate.
    """
    erc20._mint(owner, amount)
    votes._transfer_voting_units(empty(address), owner, amount)


@internal
def _burn(owner: address, amount: uint256):
    """
    @dev Burns, then checkpoints the supply and the holder's delegate.
    """
    erc20._burn(owner, amount)
    votes._transfer_voting_units(owner, empty(address), amount)
