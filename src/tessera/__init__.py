"""Tessera: an open AI network in which every answer pays the people whose work it used."""

from tessera.api import Tessera
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
    "InputError",
    "NotFoundError",
    "SignatureError",
    "StoreError",
    "Tessera",
    "TesseraError",
]
