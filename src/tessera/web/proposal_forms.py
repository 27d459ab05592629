"""The changes the new-proposal page offers, one form each, as `tessera gov propose` offers
them: a form's fields are parsed here, a malformed one refused before anything reaches the
chain; what they build is then checked by the facade against what is in force, as the CLI's
is. An empty optional field keeps what is in force."""

from __future__ import annotations

from collections.abc import Callable

import tessera
from tessera.web.forms import ADDRESS, amount, required

Build = Callable[[tessera.Tessera], list[tessera.Action]]

MAX_DIGITS = 18  # a whole number from a form: far past any bound a contract accepts
NOBODY = "0x" + "00" * 20  # a slasher of none: nobody may slash
BPS = "give basis points such as 10000 (10,000 bps is 1.0, or 100%)"
SECONDS = "give whole seconds such as 3600, or leave it empty to keep the one in force"
FEE_SHARES = ("node_bps", "owner_bps", "contributors_bps", "treasury_bps", "validators_bps")
PERIODS = ("epoch_length", "challenge_period", "withdrawal_delay")
SETTINGS_SECONDS = ("voting_delay", "voting_period", "timelock_delay", "grace_period")


def builder(form: dict[str, str]) -> Build:
    kind = form.get("kind", "")
    parse = KINDS.get(kind)
    if parse is None:
        raise tessera.InputError(
            f"there is no kind of proposal {kind[:40]!r}: choose one on the new-proposal page"
        )
    return parse(form)


# settlement


def _fee_split(form: dict[str, str]) -> Build:
    node, owner, contributors, treasury_bps, validators_bps = (
        _whole(form, name, BPS) for name in FEE_SHARES
    )
    treasury, validators = _who(form, "treasury"), _who(form, "validators")
    return lambda t: t.gov.actions.fee_split_change(
        node, owner, contributors, treasury_bps, validators_bps,
        _account(t, "treasury", treasury), _account(t, "validators", validators),
    )  # fmt: skip


def _periods(form: dict[str, str]) -> Build:
    epoch, challenge, withdrawal = (_optional_whole(form, name, SECONDS) for name in PERIODS)
    return lambda t: t.gov.actions.periods_change(epoch, challenge, withdrawal)


# staking


def _staking(form: dict[str, str]) -> Build:
    min_stake = _optional_tsr(form, "min_stake")
    delay = _optional_whole(form, "unbonding_delay", SECONDS)
    slasher = _who(form, "slasher")

    def build(t: tessera.Tessera) -> list[tessera.Action]:
        nobody = slasher is not None and slasher.lower() == "none"
        named = NOBODY if nobody else _account(t, "slasher", slasher)
        return t.gov.actions.staking_change(min_stake, delay, named)

    return build


# policy


def _training_weight(form: dict[str, str]) -> Build:
    weight = _whole(form, "weight_bps", BPS)
    return lambda t: t.gov.actions.training_weight(weight)


def _approve_model(form: dict[str, str]) -> Build:
    model_id, digest = _model(form)
    owner = _who(form, "owner")
    return lambda t: t.gov.actions.approve_model(model_id, digest, _account(t, "owner", owner))


def _revoke_model(form: dict[str, str]) -> Build:
    model_id, digest = _model(form)
    return lambda t: t.gov.actions.revoke_model(model_id, digest)


def _block_content(form: dict[str, str]) -> Build:
    cids = _cids(form)
    return lambda t: t.gov.actions.block_content(cids)


def _unblock_content(form: dict[str, str]) -> Build:
    cids = _cids(form)
    return lambda t: t.gov.actions.unblock_content(cids)


def _block_datanet(form: dict[str, str]) -> Build:
    name = required(form, "datanet", 128)
    return lambda t: t.gov.actions.block_datanet(name)


def _unblock_datanet(form: dict[str, str]) -> Build:
    name = required(form, "datanet", 128)
    return lambda t: t.gov.actions.unblock_datanet(name)


# governance's own settings


def _settings(form: dict[str, str]) -> Build:
    delay, period, timelock, grace = (
        _optional_whole(form, name, SECONDS) for name in SETTINGS_SECONDS
    )
    threshold = _optional_tsr(form, "proposal_threshold", allow_zero=True)
    quorum = _optional_whole(form, "quorum_bps", "give basis points of the supply such as 400")
    return lambda t: t.gov.actions.settings_change(
        delay, period, timelock, grace, threshold, quorum
    )


KINDS: dict[str, Callable[[dict[str, str]], Build]] = {
    "fee-split": _fee_split,
    "periods": _periods,
    "staking": _staking,
    "training-weight": _training_weight,
    "approve-model": _approve_model,
    "revoke-model": _revoke_model,
    "block-content": _block_content,
    "unblock-content": _unblock_content,
    "block-datanet": _block_datanet,
    "unblock-datanet": _unblock_datanet,
    "settings": _settings,
}


# fields


def _whole(form: dict[str, str], name: str, hint: str) -> int:
    text = form.get(name, "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_DIGITS:
        raise tessera.InputError(f"the {name!r} field {text[:40]!r} is not a whole number: {hint}")
    return int(text)


def _optional_whole(form: dict[str, str], name: str, hint: str) -> int | None:
    return _whole(form, name, hint) if form.get(name, "").strip() else None


def _optional_tsr(form: dict[str, str], name: str, allow_zero: bool = False) -> int | None:
    return amount(form, name, allow_zero) if form.get(name, "").strip() else None


def _text(form: dict[str, str], name: str) -> str | None:
    """An optional field's text, None when empty."""
    return form.get(name, "").strip()[:128] or None


def _who(form: dict[str, str], name: str) -> str | None:
    """An optional field naming an account: an address (refused here unless it is 0x and 40
    hex digits) or the name of one of this home's accounts, as the CLI takes them."""
    text = _text(form, name)
    if text is not None and text[:2].lower() == "0x" and not ADDRESS.fullmatch(text):
        raise tessera.InputError(
            f"the {name!r} field {text[:50]!r} is not an address: give 0x and 40 hex digits, "
            "or the name of an account of this home"
        )
    return text


def _account(t: tessera.Tessera, field: str, text: str | None) -> str | None:
    """`_who`'s text as an address (None: the field was empty)."""
    if text is None or ADDRESS.fullmatch(text):
        return text
    if any(info.name == text for info in t.accounts()):
        return t.address(text)
    raise tessera.InputError(
        f"the {field!r} field {text[:40]!r} is neither an address nor an account of this "
        "home: give an address, 0x and 40 hex digits"
    )


def _model(form: dict[str, str]) -> tuple[str, str]:
    """A model version: its id and its weights' digest (checked by the facade)."""
    return required(form, "model_id", 128), required(form, "weights_digest", 80)


def _cids(form: dict[str, str]) -> list[str]:
    cids = [line.strip() for line in form.get("cids", "").splitlines() if line.strip()]
    if not cids:
        raise tessera.InputError("the 'cids' field is empty: give one contribution CID a line")
    return cids  # over ten, the proposal is refused: it makes at most ten calls
