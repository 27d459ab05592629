"""The changes token holders can propose, as timelock calls, and how to read one back.

Each builder returns the `Action`s of one change; a proposal may combine up to ten.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from typing import Any

from eth_abi.exceptions import DecodingError
from web3 import Web3

from tessera._chain.client import Chain
from tessera._chain.deploy import Deployment
from tessera._chain.governance import (
    MAX_ACTIONS,
    Action,
    GovernanceSettings,
    GovernorClient,
    PolicyClient,
    PolicySnapshot,
    encode_call,
)
from tessera._chain.registry import RegistryClient
from tessera._chain.settlement import BPS, FeeSplit, Periods, SettlementClient
from tessera._chain.staking import StakingClient
from tessera._chain.token import TokenClient
from tessera._errors import InputError, NotFoundError

MAX_SETTLEMENT_PERIOD = 10 * 365 * 86_400  # settlement.vy's bound
MAX_UNBONDING_DELAY = 10 * 365 * 86_400  # staking.vy's bound
MAX_TRAINING_WEIGHT_BPS = 100_000  # policy.vy's bound: 10x

# the contracts a proposal may call; each is a `Deployment` field of the same name
GOVERNED = ("settlement", "staking", "policy", "governor", "timelock", "token")


@dataclass(frozen=True)
class DecodedCall:
    """An action read back: the governed contract it calls, the function, its arguments."""

    contract: str  # a `GOVERNED` name
    function: str
    args: dict[str, Any]  # as the ABI decodes them: a struct is a dict, bytes32 is bytes


class ActionBuilder:
    """Builds actions against one deployment's contracts, checking inputs before the chain."""

    def __init__(self, chain: Chain, deployment: Deployment) -> None:
        self.chain = chain
        self.deployment = deployment

    def _call(self, contract: str, function: str, *args: object) -> Action:
        return encode_call(
            self.chain, contract, getattr(self.deployment, contract), function, *args
        )

    def fee_split(self, split: FeeSplit) -> list[Action]:
        parts = (
            split.node_bps,
            split.owner_bps,
            split.contributors_bps,
            split.treasury_bps,
            split.validators_bps,
        )
        if min(parts) < 0 or sum(parts) != BPS:
            raise InputError(
                f"the fee split {'/'.join(map(str, parts))} must be five non-negative basis "
                f"points that add up to {BPS:,} (node/owner/contributors/treasury/validators)"
            )
        if not _nonzero_address(split.treasury):
            raise InputError(f"the treasury {split.treasury!r} is not a non-zero address")
        if not Web3.is_address(split.validators):
            raise InputError(f"the validators' pool {split.validators!r} is not an address")
        if split.validators_bps > 0 and not _nonzero_address(split.validators):
            raise InputError(
                "a share for validators needs their pool's address (the disputes contract "
                "that pays them), not the zero address"
            )
        return [self._call("settlement", "set_fee_split", split.as_abi())]

    def fee_split_change(
        self,
        node_bps: int,
        owner_bps: int,
        contributors_bps: int,
        treasury_bps: int,
        validators_bps: int = 0,
        treasury: str | None = None,
        validators: str | None = None,
    ) -> list[Action]:
        """`fee_split` with the treasury and the validators' pool as in force where not given."""
        now = self._settlement().fee_split()
        return self.fee_split(
            FeeSplit(
                node_bps,
                owner_bps,
                contributors_bps,
                treasury_bps,
                now.treasury if treasury is None else treasury,
                validators_bps,
                now.validators if validators is None else validators,
            )
        )

    def periods(self, periods: Periods) -> list[Action]:
        if min(astuple(periods)) <= 0 or max(astuple(periods)) > MAX_SETTLEMENT_PERIOD:
            raise InputError(
                "epoch length, challenge period and withdrawal delay must be between 1 s and "
                f"{MAX_SETTLEMENT_PERIOD:,} s (ten years)"
            )
        if periods.withdrawal_delay <= periods.epoch_length:
            raise InputError(
                f"the withdrawal delay ({periods.withdrawal_delay} s) must exceed the epoch "
                f"length ({periods.epoch_length} s), so nodes can redeem before clients leave"
            )
        return [self._call("settlement", "set_periods", *astuple(periods))]

    def periods_change(
        self,
        epoch_length: int | None = None,
        challenge_period: int | None = None,
        withdrawal_delay: int | None = None,
    ) -> list[Action]:
        """`periods` with those not given (None) as in force."""
        now = self._settlement().periods()
        periods = Periods(
            now.epoch_length if epoch_length is None else epoch_length,
            now.challenge_period if challenge_period is None else challenge_period,
            now.withdrawal_delay if withdrawal_delay is None else withdrawal_delay,
        )
        if periods == now:
            raise InputError("these periods are the ones in force: give one that changes")
        return self.periods(periods)

    def _settlement(self) -> SettlementClient:
        return SettlementClient(self.chain, self.deployment.settlement)

    # staking parameters: a value the contract refuses, or the one in force, is refused here

    def min_stake(self, amount: int) -> list[Action]:
        """The least bonded stake (smallest unit) of a node that clients may choose."""
        supply = TokenClient(self.chain, self.deployment.token).total_supply()
        if not 0 < amount <= supply:
            raise InputError(
                f"the minimum stake must be above 0 and at most the token's supply ({supply} "
                "smallest units): give an amount in TSR such as 1000"
            )
        if amount == self._staking().min_stake():
            raise InputError("this minimum stake is the one in force: give one that changes")
        return [self._call("staking", "set_min_stake", amount)]

    def unbonding_delay(self, seconds: int) -> list[Action]:
        """How long unbonding stake waits at the least (never less than an epoch plus the
        challenge window, whatever this says)."""
        if not 0 < seconds <= MAX_UNBONDING_DELAY:
            raise InputError(
                f"the unbonding delay must be between 1 s and {MAX_UNBONDING_DELAY:,} s (ten years)"
            )
        if seconds == self._staking().unbonding_delay():
            raise InputError("this unbonding delay is the one in force: give one that changes")
        return [self._call("staking", "set_unbonding_delay", seconds)]

    def slasher(self, address: str) -> list[Action]:
        """Name the one address that may slash stake (the zero address: nobody may)."""
        if not Web3.is_address(address):
            raise InputError(
                f"{address!r} is not an address: name the slasher (the zero address for nobody)"
            )
        slasher = Web3.to_checksum_address(address)
        if slasher == self._staking().slasher():
            raise InputError(f"{slasher} is already the slasher: nothing to propose")
        return [self._call("staking", "set_slasher", slasher)]

    def staking_change(
        self,
        min_stake: int | None = None,
        unbonding_delay: int | None = None,
        slasher: str | None = None,
    ) -> list[Action]:
        """A call for each staking parameter given (not None), each checked as above."""
        actions = []
        if min_stake is not None:
            actions += self.min_stake(min_stake)
        if unbonding_delay is not None:
            actions += self.unbonding_delay(unbonding_delay)
        if slasher is not None:
            actions += self.slasher(slasher)
        if not actions:
            raise InputError(
                "give a minimum stake, an unbonding delay or a slasher to change: none was given"
            )
        return actions

    def _staking(self) -> StakingClient:
        return StakingClient(self.chain, self.deployment.staking)

    # policy changes are checked against the policy in force: a call the contract would
    # refuse at execution would leave the whole proposal unrunnable after its vote

    def approve_model(
        self, model_id: str, weights_digest: str, owner: str | None = None
    ) -> list[Action]:
        """Approve a model version and name its royalty owner (None: the treasury)."""
        digest = _digest(weights_digest)
        if self._policy().model_approved(_model_id(model_id), "0x" + digest.hex()):
            raise InputError(f"{model_id} with weights {weights_digest} is already approved")
        if owner is not None and not Web3.is_address(owner):
            raise InputError(f"{owner!r} is not an address: name the model's builder")
        paid = Web3.to_checksum_address(owner) if owner else "0x" + "00" * 20
        return [self._call("policy", "approve_model", model_id, digest, paid)]

    def revoke_model(self, model_id: str, weights_digest: str) -> list[Action]:
        digest = _digest(weights_digest)
        if not self._policy().model_approved(_model_id(model_id), "0x" + digest.hex()):
            raise InputError(f"{model_id} with weights {weights_digest} is not approved")
        return [self._call("policy", "revoke_model", model_id, digest)]

    def block_content(self, cids: list[str]) -> list[Action]:
        wanted = _distinct(cids)
        already = sorted(set(wanted) & self._policy().blocked_cids)
        if already:
            raise InputError(f"already blocked: {', '.join(already)}")
        return [self._call("policy", "block_content", c) for c in wanted]

    def unblock_content(self, cids: list[str]) -> list[Action]:
        wanted = _distinct(cids)
        free = sorted(set(wanted) - self._policy().blocked_cids)
        if free:
            raise InputError(f"not blocked: {', '.join(free)}")
        return [self._call("policy", "unblock_content", c) for c in wanted]

    def block_datanet(self, name: str) -> list[Action]:
        datanet_id = self._datanet_id(name)
        if datanet_id in self._policy().blocked_datanets:
            raise InputError(f"datanet {name} is already blocked")
        return [self._call("policy", "block_datanet", datanet_id)]

    def unblock_datanet(self, name: str) -> list[Action]:
        datanet_id = self._datanet_id(name)
        if datanet_id not in self._policy().blocked_datanets:
            raise InputError(f"datanet {name} is not blocked")
        return [self._call("policy", "unblock_datanet", datanet_id)]

    def training_weight(self, weight_bps: int) -> list[Action]:
        """How a nat of gain from an adapter's training counts against one from the prompt's
        context when an answer's contributors' pool is divided (bps of 1.0; 0: training is
        paid nothing)."""
        if isinstance(weight_bps, bool) or not isinstance(weight_bps, int):
            raise InputError(
                f"the training weight {weight_bps!r} is not a whole number of basis points: "
                "give one such as 10000 (1.0)"
            )
        if not 0 <= weight_bps <= MAX_TRAINING_WEIGHT_BPS:
            raise InputError(
                f"the training weight must be between 0 and {MAX_TRAINING_WEIGHT_BPS:,} bps "
                f"(0 to 10x), not {weight_bps:,}"
            )
        if weight_bps == PolicyClient(self.chain, self.deployment.policy).training_weight_bps():
            raise InputError(
                f"a training weight of {weight_bps} bps is the one in force: give one that changes"
            )
        return [self._call("policy", "set_training_weight", weight_bps)]

    def _policy(self) -> PolicySnapshot:
        return PolicyClient(self.chain, self.deployment.policy).snapshot()

    def _datanet_id(self, name: str) -> int:
        datanet_id = RegistryClient(self.chain, self.deployment.registry).datanet_id(name)
        if datanet_id == 0:
            raise NotFoundError(f"there is no datanet named {name!r}: `tessera datanet list`")
        return datanet_id

    def settings(self, current: GovernanceSettings, new: GovernanceSettings) -> list[Action]:
        """One call per setting that differs from `current`."""
        new.check(TokenClient(self.chain, self.deployment.token).total_supply())
        actions = []
        for name in (
            "voting_delay",
            "voting_period",
            "proposal_threshold",
            "quorum_bps",
            "grace_period",
        ):
            if getattr(new, name) != getattr(current, name):
                actions.append(self._call("governor", f"set_{name}", getattr(new, name)))
        if new.timelock_delay != current.timelock_delay:
            actions.append(self._call("timelock", "update_delay", new.timelock_delay))
        if not actions:
            raise InputError("these settings are the ones in force: nothing to propose")
        return actions

    def settings_change(
        self,
        voting_delay: int | None = None,
        voting_period: int | None = None,
        timelock_delay: int | None = None,
        grace_period: int | None = None,
        proposal_threshold: int | None = None,
        quorum_bps: int | None = None,
    ) -> list[Action]:
        """`settings` from those in force to them with each one given (not None) changed."""
        current = GovernorClient(self.chain, self.deployment.governor).settings()
        given = {
            "voting_delay": voting_delay,
            "voting_period": voting_period,
            "timelock_delay": timelock_delay,
            "grace_period": grace_period,
            "proposal_threshold": proposal_threshold,
            "quorum_bps": quorum_bps,
        }
        new = replace(current, **{k: v for k, v in given.items() if v is not None})
        return self.settings(current, new)


def check_count(actions: list[Action]) -> None:
    if not actions:
        raise InputError("a proposal needs at least one change")
    if len(actions) > MAX_ACTIONS:
        raise InputError(
            f"a proposal makes at most {MAX_ACTIONS} calls, this one {len(actions)}: split it"
        )


def decode(chain: Chain, deployment: Deployment, action: Action) -> DecodedCall | None:
    """The call an action makes, decoded by its target (None: not a governed contract's
    function, as a payload made by hand may be)."""
    for contract in GOVERNED:
        if getattr(deployment, contract).lower() == action.target.lower():
            handle = chain.contract(contract, action.target)
            try:
                fn, args = handle.decode_function_input(action.payload)
            except (ValueError, DecodingError):
                return None
            return DecodedCall(contract, fn.fn_name, dict(args))
    return None


def describe(chain: Chain, deployment: Deployment, action: Action) -> str:
    """`settlement.set_fee_split(...)`-style text for an action, decoded by its target."""
    call = decode(chain, deployment, action)
    if call is None:
        return f"call {action.target} with 0x{action.payload.hex()}"
    shown = ", ".join(f"{k}={_show(v)}" for k, v in call.args.items())
    return f"{call.contract}.{call.function}({shown})"


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={_show(v)}" for k, v in value.items()) + ")"
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return str(value)


def _nonzero_address(text: str) -> bool:
    return Web3.is_address(text) and int(text, 16) != 0


def _digest(text: str) -> bytes:
    raw = text.lower().removeprefix("0x")
    if len(raw) != 64 or any(c not in "0123456789abcdef" for c in raw):
        raise InputError(
            f"{text!r} is not a weights digest: give the 64-hex-digit sha256 a node shows "
            "in /v1/models (`weights_digest`)"
        )
    if int(raw, 16) == 0:
        raise InputError("a weights digest of zero approves nothing: give the model's digest")
    return bytes.fromhex(raw)


def _cid(text: str) -> str:
    cid = text.strip()
    if not cid or len(cid.encode()) > 128:
        raise InputError(f"{text!r} is not a contribution CID (1 to 128 characters)")
    return cid


def _distinct(cids: list[str]) -> list[str]:
    """The CIDs in order, each once: a repeat would fail at execution."""
    return list(dict.fromkeys(_cid(c) for c in cids))


def _model_id(text: str) -> str:
    if not text or len(text.encode()) > 128:
        raise InputError(f"{text!r} is not a model id (1 to 128 bytes)")
    return text
