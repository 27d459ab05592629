"""Tessera: an open AI network in which every answer pays the people whose work it used."""

from tessera.api import Tessera
from tessera.chain.governance import GovernanceSettings, ProposalState
from tessera.chain.settlement import FeeSplit, Periods
from tessera.errors import (
    AccountError,
    ChainError,
    ConfigError,
    ContractRevert,
    InputError,
    NotFoundError,
    SignatureError,
    StoreError,
    TesseraError,
)

__all__ = [
    "AccountError",
    "ChainError",
    "ConfigError",
    "ContractRevert",
    "FeeSplit",
    "GovernanceSettings",
    "InputError",
    "NotFoundError",
    "Periods",
    "ProposalState",
    "SignatureError",
    "StoreError",
    "Tessera",
    "TesseraError",
]
