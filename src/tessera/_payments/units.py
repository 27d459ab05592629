"""Token amounts: integers in the smallest unit inside, decimal TSR strings for people."""

from __future__ import annotations

from decimal import Decimal, DecimalException, InvalidOperation

from tessera._chain.deploy import TOKEN_DECIMALS
from tessera._errors import InputError

UNIT = 10**TOKEN_DECIMALS


def parse_tsr(text: str, allow_zero: bool = False) -> int:
    """'1.5' -> 1.5 TSR in smallest units, exactly; refuses what cannot be represented."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(
            f"{text!r} is not an amount: write TSR as a number, e.g. 10 or 0.25"
        ) from None
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        raise InputError(f"{text!r} is not a positive amount of TSR")
    try:
        units = value * UNIT
        whole = units.to_integral_value()
    except DecimalException:  # an exponent past what Decimal holds: "1e999999999"
        raise InputError(f"{text[:40]!r} is too large to be an amount of TSR") from None
    if units != whole:
        raise InputError(f"{text!r} has more than {TOKEN_DECIMALS} decimals, below 1 unit")
    return int(units)


def format_tsr(units: int) -> str:
    """Exact decimal TSR, without trailing zeros: 1500000000000000000 -> '1.5'."""
    whole, frac = divmod(abs(units), UNIT)
    text = str(whole) + (f".{frac:0{TOKEN_DECIMALS}d}".rstrip("0") if frac else "")
    return ("-" if units < 0 else "") + text
