"""One exception root for the library; every message says what was wrong and what to do."""


class TesseraError(Exception):
    """Base of every error Tessera raises on purpose. The CLI prints it as one sentence."""


class ConfigError(TesseraError):
    """The Tessera home is missing, incomplete or inconsistent."""


class AccountError(TesseraError):
    """An account is unknown, or its keystore cannot be unlocked."""


class ChainError(TesseraError):
    """The chain cannot be reached, lacks the contracts, or refused a transaction."""


class ChainUnavailable(ChainError):
    """The chain did not answer a read (down, unreachable or timed out)."""


class ContractRevert(ChainError):
    """A contract call reverted; `reason` is the contract's own revert string."""

    def __init__(self, reason: str, hint: str = "") -> None:
        self.reason = reason
        super().__init__(f"the contract refused: {reason}" + (f" ({hint})" if hint else ""))


class StoreError(TesseraError):
    """A blob is missing from the store or its content does not match its CID."""


class InputError(TesseraError):
    """A file or value given by the user cannot be used."""


class NotFoundError(TesseraError):
    """A datanet, contribution or account that was named does not exist."""


class SignatureError(TesseraError):
    """A signature does not recover to the address that claims it."""


class ModelError(TesseraError):
    """A model cannot be found, converted or loaded, or cannot do what it was asked."""
