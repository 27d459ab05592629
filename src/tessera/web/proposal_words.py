"""What a proposal changes, in words, for its page: each sentence read from a call the
proposal makes on chain (never from its description) and shown above the call itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import tessera

DatanetNames = dict[int, str]
DATANET_CALLS = ("policy.block_datanet", "policy.unblock_datanet")


def in_words(call: tessera.DecodedCall | None, datanets: DatanetNames) -> str | None:
    """A sentence for a governed call (None: a call this page has no words for, such as one
    made by hand; its page shows the call alone)."""
    if call is None:
        return None
    word = WORDS.get(f"{call.contract}.{call.function}")
    return None if word is None else word(call.args, datanets)


def datanet_ids(calls: Iterable[tessera.DecodedCall | None]) -> set[int]:
    """The datanets that calls block or unblock, to name them."""
    return {
        int(_only(c.args))
        for c in calls
        if c is not None and f"{c.contract}.{c.function}" in DATANET_CALLS
    }


def _only(args: dict[str, Any]) -> Any:
    (value,) = args.values()
    return value


def _tsr(units: int) -> str:
    return f"{tessera.format_tsr(int(units))} TSR"


def _share(bps: int) -> str:
    return f"{bps} bps ({bps / 100:g}%)"


def _fee_split(args: dict[str, Any], _: DatanetNames) -> str:
    s = args["split"]
    return (
        f"Split each answer's price: node {_share(s['node_bps'])}, model owner "
        f"{_share(s['owner_bps'])}, contributors {_share(s['contributors_bps'])}, treasury "
        f"{_share(s['treasury_bps'])} paid to {s['treasury']}, validators "
        f"{_share(s['validators_bps'])} paid to {s['validators']}."
    )


def _periods(args: dict[str, Any], _: DatanetNames) -> str:
    return (
        f"Set the settlement periods: a node's epochs at least {args['epoch_length']} s apart, "
        f"a challenge period of {args['challenge_period']} s before an epoch's claims open, "
        f"and a withdrawal delay of {args['withdrawal_delay']} s."
    )


def _slasher(args: dict[str, Any], _: DatanetNames) -> str:
    slasher = str(_only(args))
    if int(slasher, 16) == 0:
        return "Let nobody slash stake."
    return f"Let {slasher}, and only it, slash stake."


def _approve_model(args: dict[str, Any], _: DatanetNames) -> str:
    owner = args["owner"]
    paid = "the treasury" if int(owner, 16) == 0 else owner
    return (
        f"Approve model {args['model_id']} with weights digest 0x{args['weights_digest'].hex()}; "
        f"its royalty is paid to {paid}."
    )


def _revoke_model(args: dict[str, Any], _: DatanetNames) -> str:
    digest = args["weights_digest"].hex()
    return f"Withdraw the approval of model {args['model_id']} with weights digest 0x{digest}."


def _datanet(verb: str) -> Callable[[dict[str, Any], DatanetNames], str]:
    def word(args: dict[str, Any], names: DatanetNames) -> str:
        number = int(_only(args))
        name = names.get(number)
        return verb.format(f"datanet {name} (#{number})" if name else f"datanet #{number}")

    return word


def _training_weight(args: dict[str, Any], _: DatanetNames) -> str:
    bps = int(_only(args))
    return (
        f"Count a nat of gain from an adapter's training as {bps / 10_000:g}× one from the "
        f"prompt's context ({bps} bps) when an answer's contributors' pool is divided."
    )


def _one(sentence: str, show: Callable[[Any], object] = str) -> Callable[..., str]:
    """A call of one argument: `sentence` with its value, shown by `show`, in its `{}`."""
    return lambda args, _: sentence.format(show(_only(args)))


WORDS: dict[str, Callable[[dict[str, Any], DatanetNames], str]] = {
    "settlement.set_fee_split": _fee_split,
    "settlement.set_periods": _periods,
    "staking.set_min_stake": _one(
        "Set the least stake a node keeps bonded to be chosen to {}.", _tsr
    ),
    "staking.set_unbonding_delay": _one("Make unbonding stake wait at least {} s."),
    "staking.set_slasher": _slasher,
    "policy.set_training_weight": _training_weight,
    "policy.approve_model": _approve_model,
    "policy.revoke_model": _revoke_model,
    "policy.block_content": _one("Block contribution {}: nodes stop retrieving and paying it."),
    "policy.unblock_content": _one("Lift the block on contribution {}."),
    "policy.block_datanet": _datanet("Block every contribution of {}."),
    "policy.unblock_datanet": _datanet("Lift the block on {}."),
    "governor.set_voting_delay": _one("Open voting {} s after a proposal is made."),
    "governor.set_voting_period": _one("Keep voting open for {} s after the snapshot."),
    "governor.set_proposal_threshold": _one(
        "Require {} of votes delegated to a proposer to propose.", _tsr
    ),
    "governor.set_quorum_bps": _one(
        "Set the quorum of proposals made from then on to {} of the supply at the snapshot, "
        "in for and abstain votes.",
        lambda bps: _share(int(bps)),
    ),
    "governor.set_grace_period": _one(
        "Keep a queued proposal runnable for {} s once its eta has come."
    ),
    "timelock.update_delay": _one("Make a queued proposal wait {} s in the timelock to run."),
}
