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


class AdapterBusy(ModelError):
    """Every adapter slot holds an adapter that a request in flight uses: retry shortly."""


class NodeError(TesseraError):
    """A request a node refused, or a node that could not be reached. The node raises it to
    answer (`status` and `code` become the OpenAI-style error), a client raises it on such an
    answer: `status` is the HTTP status (0: unreachable), `code` the OpenAI error code, `param`
    the field at fault and `details` the amounts a 402 carries."""

    def __init__(
        self,
        message: str,
        status: int = 0,
        code: str | None = None,
        param: str | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.param = status, code, param
        self.details = details or {}


class NotDue(TesseraError):
    """A node's previous epoch is too recent for the next one to be posted."""
