"""Tessera: an open AI network in which every answer pays the people whose work it used."""

from tessera._api import Tessera
from tessera._chain.governance import GovernanceSettings, ProposalState
from tessera._chain.settlement import FeeSplit, Periods
from tessera._errors import (
    AccountError,
    ChainError,
    ChainUnavailable,
    ConfigError,
    ContractRevert,
    InputError,
    ModelError,
    NodeError,
    NotDue,
    NotFoundError,
    SignatureError,
    StoreError,
    TesseraError,
)

__all__ = [
    "AccountError",
    "ChainError",
    "ChainUnavailable",
    "ConfigError",
    "ContractRevert",
    "FeeSplit",
    "GovernanceSettings",
    "InputError",
    "ModelError",
    "NodeError",
    "NotDue",
    "NotFoundError",
    "Periods",
    "ProposalState",
    "SignatureError",
    "StoreError",
    "Tessera",
    "TesseraError",
]
