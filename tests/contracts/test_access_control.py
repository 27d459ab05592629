"""Who may call each state-changing function of every contract: one table, and a test per rule.

The table must name exactly the state-changing functions of each contract's ABI (those that
snekmate modules export included), so a new external function fails here until its access
rule is written down and tested. Each gated function admits its caller and refuses a stranger
and any random address with the exact reason; each open one is called by a fresh account, and
where it moves money, only that account's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from chain_helpers import back_to, calldata, deploy_contract, run_ahead_of_wall_clock
from dispute_world import HONEST, REPLAY
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_disputes_replayed import replayed
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract

from tessera._chain.compiler import CONTRACTS_DIR, load_artifact
from tessera._chain.disputes import DisputeParams
from tessera._payments.payouts import PayoutTree

# rules --------------------------------------------------------------------------------------

ANYONE = "anyone"
OWN = "anyone, over its own tokens, votes or escrow only"
SPENDER = "anyone, within the allowance the holder gave it"
SIGNER = "anyone, acting only for the signer of an EIP-712 message"
NODE = "anyone, redeeming only the vouchers signed for itself"
RECIPIENT = "anyone, claiming only its own payout"
OWNER = "the owner"
SLASHER = "the slasher"
DISPUTES = "the disputes contract"
PAYOUT_PROVER = "the payout prover"
BONDED = "anyone, putting up its own bond"
MEMBER = "a member of the challenge's committee"
MINTER = "a minter"
DATANET_OWNER = "the datanet's owner"
THRESHOLD_HOLDER = "a delegate with the proposal threshold"
VOTER = "a delegate with votes at the snapshot"
PROPOSER = "the proposal's proposer; anyone once it expired"
TIMELOCK = "the timelock"
ROLE_ADMIN = "the admin of the role"
ROLE_BEARER = "the bearer of the role, for itself"
PROPOSER_ROLE_RULE = "the PROPOSER_ROLE"
CANCELLER_ROLE_RULE = "the CANCELLER_ROLE"
EXECUTOR_ROLE_RULE = "the EXECUTOR_ROLE"

DIGEST = b"\x07" * 32  # a model version's weights digest

ACCESS: dict[str, dict[str, str]] = {
    "token": {
        "approve": OWN,
        "permit": SIGNER,
        "set_minter": OWNER,
        "transfer_ownership": OWNER,
        "renounce_ownership": OWNER,
        "delegate": OWN,
        "delegate_by_sig": SIGNER,
        "transfer": OWN,
        "transferFrom": SPENDER,
        "mint": MINTER,
        "burn": OWN,
        "burn_from": SPENDER,
    },
    "registry": {
        "create_datanet": ANYONE,
        "set_metadata": DATANET_OWNER,
        "transfer_datanet": DATANET_OWNER,
        "register_batch": ANYONE,
        "link_deployment": OWNER,  # its deployer, once
    },
    "settlement": {
        "transfer_ownership": OWNER,
        "deposit": OWN,
        "request_withdrawal": OWN,
        "withdraw": OWN,
        "move": OWN,
        "post_epoch": NODE,
        "claim": RECIPIENT,
        "set_fee_split": OWNER,
        "set_periods": OWNER,
        "link_disputes": OWNER,  # once
        "freeze": DISPUTES,
        "unfreeze": DISPUTES,
        "void_from": DISPUTES,
        "refund": ANYONE,  # pays only the voided epoch's own clients
    },
    "disputes": {
        "transfer_ownership": OWNER,
        "set_params": OWNER,
        "stake_validator": OWN,
        "unstake_validator": OWN,
        "withdraw_validator": OWN,
        "withdraw_rewards": OWN,
        "collect": ANYONE,  # pays only the validators' pool
        "challenge_receipt": BONDED,
        "challenge_withheld": BONDED,
        "challenge_replayed": BONDED,
        "slash_payouts": PAYOUT_PROVER,
        "link_prover": OWNER,  # once
        "produce": ANYONE,  # only the receipt the node committed to
        "commit_vote": MEMBER,
        "reveal_vote": MEMBER,
        "resolve": ANYONE,  # only once its period is over
    },
    "payout_prover": {  # reverts unless the evidence proves a fault
        "prove_step": BONDED,
        "prove_last": BONDED,
    },
    "staking": {
        "transfer_ownership": OWNER,
        "register": OWN,
        "update": OWN,
        "add_stake": OWN,
        "unbond": OWN,
        "leave": OWN,
        "withdraw": OWN,
        "slash": SLASHER,
        "set_min_stake": OWNER,
        "set_unbonding_delay": OWNER,
        "set_slasher": OWNER,
    },
    "governor": {
        "propose": THRESHOLD_HOLDER,
        "cast_vote": VOTER,
        "cast_vote_with_reason": VOTER,
        "queue": ANYONE,
        "execute": ANYONE,
        "cancel": PROPOSER,
        "set_voting_delay": TIMELOCK,
        "set_voting_period": TIMELOCK,
        "set_proposal_threshold": TIMELOCK,
        "set_quorum_bps": TIMELOCK,
        "set_grace_period": TIMELOCK,
    },
    "timelock": {
        "grantRole": ROLE_ADMIN,
        "revokeRole": ROLE_ADMIN,
        "renounceRole": ROLE_BEARER,
        "set_role_admin": ROLE_ADMIN,
        "schedule": PROPOSER_ROLE_RULE,
        "schedule_batch": PROPOSER_ROLE_RULE,
        "cancel": CANCELLER_ROLE_RULE,
        "execute": EXECUTOR_ROLE_RULE,
        "execute_batch": EXECUTOR_ROLE_RULE,
        "update_delay": TIMELOCK,
        "onERC721Received": ANYONE,
        "onERC1155Received": ANYONE,
        "onERC1155BatchReceived": ANYONE,
        "__default__": ANYONE,  # receives ether
    },
    "models": {
        "publish": ANYONE,  # under its own model id, with weights nobody published
    },
    "policy": {
        "transfer_ownership": OWNER,
        "approve_model": OWNER,
        "revoke_model": OWNER,
        "block_content": OWNER,
        "unblock_content": OWNER,
        "block_datanet": OWNER,
        "unblock_datanet": OWNER,
        "set_training_weight": OWNER,
    },
}
# modules compile only into their host, whose ABI (their exports included) the table checks
MODULES = {
    "votes": "token",
    "escrow": "settlement",
    "node_registry": "staking",
    "validator_set": "disputes",
    "committee": "disputes",
    "receipt_evidence": "disputes",
    "payout_state": "settlement",
}

NOT_OWNER = "ownable: caller is not the owner"
NOT_CURATOR = "registry: caller is not the datanet owner"
NO_VOTES = "governor: no voting power at the snapshot"
NOT_TIMELOCK = "governor: caller is not the timelock"
MISSING_ROLE = "access_control: account is missing role"

ZERO = "0x" + "00" * 20
ZERO32 = b"\x00" * 32
PROPOSER_ROLE = keccak(text="PROPOSER_ROLE")
CANCELLER_ROLE = keccak(text="CANCELLER_ROLE")
EXECUTOR_ROLE = keccak(text="EXECUTOR_ROLE")
SUPPLY = 1_000_000 * 10**18
THRESHOLD, QUORUM_BPS = 1_000 * 10**18, 400
VOTING_DELAY, VOTING_PERIOD, GRACE = 10, 86_400, 3_600
MIN_DELAY = 60  # the timelock's
EPOCH, CHALLENGE, DELAY = 3_600, 600, 7_200
MIN_STAKE, UNBONDING = 1_000, 5_000
FOR = 1
CID = "bafyblocked"
ROOT = b"\x01" * 32
PERIOD = 60  # the disputes' response, commit and reveal periods
PARAMS = DisputeParams(
    MIN_STAKE, UNBONDING, 10, PERIOD, PERIOD, PERIOD, 1, 6_667, 5_000, 5_000, 5_000
)

TESTED: set[tuple[str, str]] = set()


def covers(contract: str, *functions: str) -> Callable[[Any], Any]:
    """Marks the test that checks these functions' rules; see `test_every_rule_is_tested`."""

    def mark(test: Any) -> Any:
        TESTED.update((contract, function) for function in functions)
        return test

    return mark


# the world every test starts from ----------------------------------------------------------


@dataclass
class World:
    """Every contract deployed and in use, one account per part, nobody else with any power."""

    w3: Web3
    token: Contract
    registry: Contract
    settlement: Contract
    staking: Contract
    policy: Contract
    disputes: Contract
    payout_prover: Contract
    models: Contract
    timelock: Contract
    governor: Contract
    owner: str  # deployed all: owns token, settlement and policy, administers the timelock
    holder: str  # the whole supply, delegated to itself; proposed proposal 1, now active
    curator: str  # owns datanet 1
    proposer: str  # the timelock's proposer and canceller, besides the governor
    executor: str  # the timelock's executor, besides the governor
    stranger: str  # no tokens, no role, nothing of its own
    operator: str  # a registered node, MIN_STAKE bonded
    slasher: str  # the staking contract's slasher
    spare: str  # stands in wherever a call needs some other account
    split: tuple

    def address_of(self, who: str) -> str:
        found = getattr(self, who)
        return found.address if isinstance(found, Contract) else found

    def operation(self, salt: str) -> tuple:
        """A timelock operation, less its delay: the timelock approves `spare` for a token."""
        approve = calldata(self.token, "approve", self.spare, 1)
        return self.token.address, 0, approve, ZERO32, keccak(text=salt)

    def batch(self, salt: str) -> tuple:
        target, amount, payload, predecessor, salt_hash = self.operation(salt)
        return [target], [amount], [payload], predecessor, salt_hash

    def wait(self, seconds: int) -> None:
        """Makes the next block `seconds` (at least 2) after the latest one."""
        latest = self.w3.eth.get_block("latest")["timestamp"]
        self.w3.provider.ethereum_tester.time_travel(latest + seconds)  # type: ignore[attr-defined]

    def fund(self, address: str) -> None:
        self.w3.eth.send_transaction({"from": self.owner, "to": address, "value": 10**18})

    def newcomer(self, tokens: int = 0) -> LocalAccount:
        """A fresh account with gas and `tokens`, whose transactions the chain signs."""
        account = Account.create()
        self.w3.provider.ethereum_tester.add_account(account.key.hex())  # type: ignore[attr-defined]
        self.fund(account.address)
        if tokens:
            self.token.functions.transfer(account.address, tokens).transact({"from": self.holder})
        return account

    def as_timelock(self, contract: Contract, function: str, *args: Any) -> None:
        """Has the timelock make a call: scheduled by the proposer, run by the executor."""
        operation = (contract.address, 0, calldata(contract, function, *args), ZERO32, ZERO32)
        self.timelock.functions.schedule(*operation, MIN_DELAY).transact({"from": self.proposer})
        self.wait(MIN_DELAY)
        self.timelock.functions.execute(*operation).transact({"from": self.executor})


def build_world(w3: Web3) -> World:
    accounts = list(w3.eth.accounts)
    owner, holder, curator, proposer, executor, stranger, spare, operator, slasher = accounts[:9]

    def deploy(name: str, *args: Any) -> Contract:
        return deploy_contract(w3, name, *args, sender=owner)

    run_ahead_of_wall_clock(w3)
    token = deploy("token", "Tessera", "TSR", SUPPLY, holder)
    token.functions.delegate(holder).transact({"from": holder})
    registry = deploy("registry")
    registry.functions.create_datanet("commons", "CC-BY-4.0", "bafymeta").transact(
        {"from": curator}
    )
    policy = deploy("policy")
    models = deploy("models", registry.address)
    policy.functions.block_content(CID).transact({"from": owner})
    policy.functions.approve_model("approved", DIGEST, owner).transact({"from": owner})
    policy.functions.block_datanet(1).transact({"from": owner})
    settlement = deploy(
        "settlement",
        token.address,
        (3000, 2000, 4000, 1000, accounts[9], 0, ZERO),
        EPOCH,
        CHALLENGE,
        DELAY,
    )
    staking = deploy("staking", token.address, settlement.address, MIN_STAKE, UNBONDING)
    disputes = deploy(
        "disputes",
        token.address,
        settlement.address,
        staking.address,
        policy.address,
        registry.address,
        PARAMS.as_abi(),
    )
    settlement.functions.link_disputes(disputes.address).transact({"from": owner})
    split = (3000, 2000, 4000, 500, accounts[9], 500, disputes.address)
    settlement.functions.set_fee_split(split).transact({"from": owner})
    staking.functions.set_slasher(slasher).transact({"from": owner})
    payout_prover = deploy(
        "payout_prover", settlement.address, policy.address, disputes.address, registry.address
    )
    disputes.functions.link_prover(payout_prover.address).transact({"from": owner})
    token.functions.mint(operator, MIN_STAKE).transact({"from": owner})  # the holder keeps SUPPLY
    token.functions.approve(staking.address, MIN_STAKE).transact({"from": operator})
    staking.functions.register(MIN_STAKE, "http://operator", "bafyop").transact({"from": operator})
    timelock = deploy("timelock", MIN_DELAY, [proposer], [executor], owner)
    governor = deploy(
        "governor",
        token.address,
        timelock.address,
        VOTING_DELAY,
        VOTING_PERIOD,
        THRESHOLD,
        QUORUM_BPS,
        GRACE,
    )
    for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        timelock.functions.grantRole(role, governor.address).transact({"from": owner})
    world = World(
        w3=w3,
        token=token,
        registry=registry,
        settlement=settlement,
        staking=staking,
        policy=policy,
        disputes=disputes,
        payout_prover=payout_prover,
        models=models,
        timelock=timelock,
        governor=governor,
        owner=owner,
        holder=holder,
        curator=curator,
        proposer=proposer,
        executor=executor,
        stranger=stranger,
        spare=spare,
        operator=operator,
        slasher=slasher,
        split=split,
    )
    lock = timelock.functions
    lock.schedule(*world.operation("ready"), MIN_DELAY).transact({"from": proposer})
    lock.schedule_batch(*world.batch("ready"), MIN_DELAY).transact({"from": proposer})
    approve = calldata(token, "approve", spare, 1)
    governor.functions.propose([token.address], [approve], "proposal 1").transact({"from": holder})
    world.wait(MIN_DELAY)  # both operations are ready, proposal 1 is active
    return world


@pytest.fixture(scope="module")
def built() -> tuple[World, Any]:
    """The world, built once per module, and the snapshot that every test starts from."""
    w3 = Web3(EthereumTesterProvider())
    return build_world(w3), w3.provider.ethereum_tester.take_snapshot()


@pytest.fixture
def w3(built) -> Web3:
    """Overrides conftest's: every test starts from the built world's snapshot."""
    world, snapshot = built
    return back_to(world.w3, snapshot)


@pytest.fixture
def world(w3, built) -> World:
    return built[0]


# the table matches the contracts -----------------------------------------------------------


def state_changing(name: str) -> set[str]:
    """The functions in `name`'s ABI that may change state; a fallback as `__default__`."""
    found = set()
    for entry in load_artifact(name).abi:
        if entry["type"] in ("fallback", "receive"):
            found.add("__default__")
        elif entry["type"] == "function" and entry["stateMutability"] in ("nonpayable", "payable"):
            found.add(entry["name"])
    return found


def test_every_contract_is_in_the_table():
    sources = {path.stem for path in CONTRACTS_DIR.glob("*.vy")}
    assert sources == set(ACCESS) | set(MODULES)


@pytest.mark.parametrize("name", sorted(ACCESS))
def test_the_table_names_every_state_changing_function(name):
    assert set(ACCESS[name]) == state_changing(name)


def test_every_rule_is_tested():
    ruled = {(c, f) for c, rules in ACCESS.items() for f in rules}
    assert ruled == TESTED


# gated functions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """Who may call one function (a `World` attribute), and the reason everyone else gets."""

    contract: str
    function: str
    caller: str
    reason: str
    args: Callable[[World], tuple] = lambda world: ()

    def __str__(self) -> str:
        return f"{self.contract}.{self.function}"

    def call(self, world: World):
        contract = getattr(world, self.contract)
        return getattr(contract.functions, self.function)(*self.args(world))


GATES = [
    Gate("token", "set_minter", "owner", NOT_OWNER, lambda w: (w.spare, True)),
    Gate("token", "transfer_ownership", "owner", NOT_OWNER, lambda w: (w.spare,)),
    Gate("token", "renounce_ownership", "owner", NOT_OWNER),
    Gate("token", "mint", "owner", "token: caller is not a minter", lambda w: (w.spare, 1)),
    Gate("registry", "set_metadata", "curator", NOT_CURATOR, lambda w: (1, "bafynew")),
    Gate("registry", "transfer_datanet", "curator", NOT_CURATOR, lambda w: (1, w.spare)),
    Gate(
        "registry",
        "link_deployment",
        "owner",
        "registry: caller is not the deployer",
        lambda w: ((w.spare,) * 8 + (1,),),
    ),
    Gate("settlement", "transfer_ownership", "owner", NOT_OWNER, lambda w: (w.spare,)),
    Gate("settlement", "set_fee_split", "owner", NOT_OWNER, lambda w: (w.split,)),
    Gate("settlement", "set_periods", "owner", NOT_OWNER, lambda w: (EPOCH, CHALLENGE, DELAY)),
    Gate("disputes", "transfer_ownership", "owner", NOT_OWNER, lambda w: (w.spare,)),
    Gate("disputes", "set_params", "owner", NOT_OWNER, lambda w: (PARAMS.as_abi(),)),
    Gate("staking", "transfer_ownership", "owner", NOT_OWNER, lambda w: (w.spare,)),
    Gate("staking", "set_min_stake", "owner", NOT_OWNER, lambda w: (MIN_STAKE + 1,)),
    Gate("staking", "set_unbonding_delay", "owner", NOT_OWNER, lambda w: (UNBONDING + 1,)),
    Gate("staking", "set_slasher", "owner", NOT_OWNER, lambda w: (w.spare,)),
    Gate(
        "staking",
        "slash",
        "slasher",
        "staking: caller is not the slasher",
        lambda w: (w.operator, 1, w.spare),
    ),
    Gate("policy", "transfer_ownership", "owner", NOT_OWNER, lambda w: (w.spare,)),
    Gate("policy", "approve_model", "owner", NOT_OWNER, lambda w: ("m", DIGEST, w.spare)),
    Gate("policy", "revoke_model", "owner", NOT_OWNER, lambda w: ("approved", DIGEST)),
    Gate("policy", "block_content", "owner", NOT_OWNER, lambda w: ("bafyother",)),
    Gate("policy", "unblock_content", "owner", NOT_OWNER, lambda w: (CID,)),
    Gate("policy", "block_datanet", "owner", NOT_OWNER, lambda w: (2,)),
    Gate("policy", "unblock_datanet", "owner", NOT_OWNER, lambda w: (1,)),
    Gate("policy", "set_training_weight", "owner", NOT_OWNER, lambda w: (20_000,)),
    Gate(
        "governor",
        "propose",
        "holder",
        "governor: proposer votes below threshold",
        lambda w: ([w.token.address], [calldata(w.token, "approve", w.spare, 2)], "proposal 2"),
    ),
    Gate("governor", "cast_vote", "holder", NO_VOTES, lambda w: (1, FOR)),
    Gate("governor", "cast_vote_with_reason", "holder", NO_VOTES, lambda w: (1, FOR, "yes")),
    Gate("governor", "cancel", "holder", "governor: only the proposer can cancel", lambda w: (1,)),
    Gate("governor", "set_voting_delay", "timelock", NOT_TIMELOCK, lambda w: (20,)),
    Gate("governor", "set_voting_period", "timelock", NOT_TIMELOCK, lambda w: (100,)),
    Gate("governor", "set_proposal_threshold", "timelock", NOT_TIMELOCK, lambda w: (0,)),
    Gate("governor", "set_quorum_bps", "timelock", NOT_TIMELOCK, lambda w: (100,)),
    Gate("governor", "set_grace_period", "timelock", NOT_TIMELOCK, lambda w: (100,)),
    Gate("timelock", "grantRole", "owner", MISSING_ROLE, lambda w: (EXECUTOR_ROLE, w.spare)),
    Gate("timelock", "revokeRole", "owner", MISSING_ROLE, lambda w: (EXECUTOR_ROLE, w.executor)),
    Gate("timelock", "set_role_admin", "owner", MISSING_ROLE, lambda w: (EXECUTOR_ROLE, ZERO32)),
    Gate(
        "timelock",
        "renounceRole",
        "proposer",
        "access_control: can only renounce roles for itself",
        lambda w: (PROPOSER_ROLE, w.proposer),
    ),
    Gate(
        "timelock",
        "schedule",
        "proposer",
        MISSING_ROLE,
        lambda w: (*w.operation("new"), MIN_DELAY),
    ),
    Gate(
        "timelock",
        "schedule_batch",
        "proposer",
        MISSING_ROLE,
        lambda w: (*w.batch("new"), MIN_DELAY),
    ),
    Gate(
        "timelock",
        "cancel",
        "proposer",
        MISSING_ROLE,
        lambda w: (w.timelock.functions.hash_operation(*w.operation("ready")).call(),),
    ),
    Gate("timelock", "execute", "executor", MISSING_ROLE, lambda w: w.operation("ready")),
    Gate("timelock", "execute_batch", "executor", MISSING_ROLE, lambda w: w.batch("ready")),
    Gate(
        "timelock",
        "update_delay",
        "timelock",
        "timelock_controller: caller must be timelock",
        lambda w: (2 * MIN_DELAY,),
    ),
]
TESTED.update((gate.contract, gate.function) for gate in GATES)  # by the three tests below


@pytest.mark.parametrize("gate", GATES, ids=str)
def test_a_gate_admits_its_caller(world, gate):
    if gate.caller == "timelock":
        world.as_timelock(getattr(world, gate.contract), gate.function, *gate.args(world))
    else:
        gate.call(world).transact({"from": world.address_of(gate.caller)})


@pytest.mark.parametrize("gate", GATES, ids=str)
def test_a_gate_refuses_a_stranger(world, gate, reverts):
    with reverts(gate.reason):
        gate.call(world).transact({"from": world.stranger})


addresses = st.binary(min_size=20, max_size=20).map(to_checksum_address)


# each example only funds a fresh address and makes calls: the world's state holds
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sender=addresses)
def test_no_other_address_passes_any_gate(world, reverts, sender):
    allowed = {world.address_of(gate.caller) for gate in GATES}
    if sender in allowed:
        return
    world.fund(sender)  # a call needs the gas money, though it spends none
    for gate in GATES:
        with reverts(gate.reason):
            gate.call(world).call({"from": sender})


# token --------------------------------------------------------------------------------------


@covers("token", "transfer", "burn")
def test_a_holder_moves_and_burns_only_its_own_tokens(world, reverts):
    token = world.token.functions
    newcomer = world.newcomer(tokens=10).address
    token.transfer(world.spare, 4).transact({"from": newcomer})
    token.burn(6).transact({"from": newcomer})
    assert token.balanceOf(newcomer).call() == 0
    with reverts("erc20: transfer amount exceeds balance"):
        token.transfer(world.stranger, 1).transact({"from": newcomer})
    with reverts("erc20: burn amount exceeds balance"):
        token.burn(1).transact({"from": newcomer})
    assert token.balanceOf(world.spare).call() == 4
    assert token.totalSupply().call() == SUPPLY + MIN_STAKE - 6  # the operator's stake minted


@covers("token", "transferFrom", "burn_from")
def test_a_spender_moves_only_what_it_was_allowed(world, reverts):
    token = world.token.functions
    spender = world.newcomer().address
    token.approve(spender, 5).transact({"from": world.holder})
    token.transferFrom(world.holder, world.spare, 3).transact({"from": spender})
    token.burn_from(world.holder, 2).transact({"from": spender})
    for call in (
        token.transferFrom(world.holder, spender, 1),
        token.burn_from(world.holder, 1),
    ):
        for sender in (spender, world.stranger):  # the allowance is spent; nobody else had one
            with reverts("erc20: insufficient allowance"):
                call.transact({"from": sender})
    assert token.balanceOf(world.holder).call() == SUPPLY - 5


@covers("token", "approve", "delegate")
def test_anyone_approves_and_delegates_only_its_own(world):
    token = world.token.functions
    newcomer = world.newcomer().address
    token.approve(world.spare, 7).transact({"from": newcomer})
    token.delegate(world.spare).transact({"from": newcomer})
    assert token.allowance(newcomer, world.spare).call() == 7
    assert token.allowance(world.holder, world.spare).call() == 0
    assert token.delegates(newcomer).call() == world.spare
    assert token.delegates(world.holder).call() == world.holder


@covers("token", "permit", "delegate_by_sig")
def test_a_signature_acts_only_for_its_signer(
    world, signers, sign_permit, sign_delegation, reverts
):
    token = world.token.functions
    signer, forger = signers[0], signers[1]
    deadline = world.w3.eth.get_block("latest")["timestamp"] + 3_600
    forged = sign_permit(forger, world.token, world.spare, 9, 0, deadline)
    with reverts("erc20: invalid signature"):
        token.permit(signer.address, world.spare, 9, deadline, *forged).transact(
            {"from": world.stranger}
        )
    signed = sign_permit(signer, world.token, world.spare, 9, 0, deadline)
    token.permit(signer.address, world.spare, 9, deadline, *signed).transact(
        {"from": world.stranger}
    )
    assert token.allowance(signer.address, world.spare).call() == 9
    assert token.allowance(world.stranger, world.spare).call() == 0

    delegation = sign_delegation(signer, world.token, world.spare, 1, deadline)  # nonce 1 now
    by_sig = token.delegate_by_sig(world.spare, 1, deadline, *delegation)
    by_sig.transact({"from": world.stranger})
    assert token.delegates(signer.address).call() == world.spare
    assert token.delegates(world.stranger).call() == ZERO
    with reverts("votes: invalid nonce"):
        by_sig.transact({"from": world.stranger})


# registry -----------------------------------------------------------------------------------


@covers("registry", "create_datanet", "register_batch")
def test_anyone_creates_a_datanet_and_registers_batches(world):
    registry = world.registry.functions
    newcomer = world.newcomer().address
    registry.create_datanet("mine", "CC0-1.0", "bafymine").transact({"from": newcomer})
    assert registry.datanets(2).call()[0] == newcomer
    # to any datanet: the curator's too
    registry.register_batch(1, ROOT, 3, ROOT, 1, "bafybatch").transact({"from": newcomer})
    assert registry.batches(1).call()[6] == newcomer  # the submitter
    assert registry.datanets(1).call()[0] == world.curator


# models -------------------------------------------------------------------------------------


def model_version(model_id: str, weights: bytes) -> tuple:
    """`models.publish`'s arguments: trained on datanet 1's first batch, data proven."""
    return (model_id, weights, b"\x0b" * 32, "bafymanifest", [1], [1], ROOT, 3, ROOT, True)


@covers("models", "publish")
def test_anyone_publishes_a_model_of_its_own_only(world, reverts):
    models = world.models.functions
    world.registry.functions.register_batch(1, ROOT, 3, ROOT, 1, "bafybatch").transact(
        {"from": world.curator}
    )
    builder = world.newcomer().address
    models.publish(*model_version("mine", DIGEST)).transact({"from": builder})
    models.publish(*model_version("mine", b"\x08" * 32)).transact({"from": builder})
    with reverts("models: model id bound to another builder"):
        models.publish(*model_version("mine", b"\x09" * 32)).transact({"from": world.stranger})
    with reverts("models: digest already published"):
        models.publish(*model_version("theirs", DIGEST)).transact({"from": world.stranger})
    models.publish(*model_version("theirs", b"\x09" * 32)).transact({"from": world.stranger})
    assert (models.builder("mine").call(), models.builder("theirs").call()) == (
        builder,
        world.stranger,
    )
    assert (models.version_count("mine").call(), models.version_count("theirs").call()) == (2, 1)


# settlement and its escrow ------------------------------------------------------------------


def client_with_deposit(world: World, amount: int, node: str) -> LocalAccount:
    """A newcomer with `amount` in its channel to `node`."""
    client = world.newcomer(tokens=amount)
    world.token.functions.approve(world.settlement.address, amount).transact(
        {"from": client.address}
    )
    world.settlement.functions.deposit(node, amount).transact({"from": client.address})
    return client


@covers("settlement", "deposit", "request_withdrawal", "withdraw", "move")
def test_a_client_moves_only_its_own_escrow(world, reverts):
    settlement = world.settlement.functions
    node, other = world.newcomer().address, world.newcomer().address
    client = client_with_deposit(world, 60, node).address
    with reverts("escrow: exceeds channel balance"):
        settlement.request_withdrawal(node, 1).transact({"from": world.stranger})
    settlement.request_withdrawal(node, 40).transact({"from": client})
    world.wait(DELAY)
    with reverts("escrow: no withdrawal requested"):  # the request is the client's alone
        settlement.withdraw(node).transact({"from": world.stranger})
    with reverts("escrow: no withdrawal requested"):
        settlement.move(node, other).transact({"from": world.stranger})
    settlement.move(node, other).transact({"from": client})
    settlement.request_withdrawal(node, 20).transact({"from": client})
    world.wait(DELAY)
    settlement.withdraw(node).transact({"from": client})
    assert settlement.channel_balance(client, other).call() == 40
    assert world.token.functions.balanceOf(client).call() == 20
    assert world.token.functions.balanceOf(world.stranger).call() == 0


def post(
    world: World,
    node: str,
    total: int,
    redemptions: list,
    root: bytes = ROOT,
    receipts: bytes = ROOT,
):
    call = world.settlement.functions.post_epoch(
        0, root, total, "bafybundle", 1, receipts, world.split, redemptions
    )
    return call.transact({"from": node})


@covers("settlement", "post_epoch")
def test_a_node_redeems_only_the_vouchers_signed_for_it(world, sign_voucher, reverts):
    node = world.newcomer().address
    client = client_with_deposit(world, 50, node)
    voucher = (client.address, 50, 50, sign_voucher(client, world.settlement, node, 50))
    with reverts("escrow: bad voucher signature"):
        post(world, world.stranger, 50, [voucher])
    post(world, node, 50, [voucher])
    assert world.settlement.functions.node_redeemed(node).call() == 50
    assert world.settlement.functions.channel_balance(client.address, node).call() == 0


@covers("settlement", "claim")
def test_a_recipient_claims_only_its_own_payout(world, sign_voucher, reverts):
    settlement = world.settlement.functions
    node, recipient = world.newcomer().address, world.newcomer().address
    client = client_with_deposit(world, 50, node)
    voucher = (client.address, 50, 50, sign_voucher(client, world.settlement, node, 50))
    payouts = PayoutTree(node, {recipient: 50})
    post(world, node, 50, [voucher], root=payouts.root)
    world.wait(CHALLENGE)
    proof = payouts.leaf_proof(recipient)
    with reverts("settlement: invalid proof"):
        settlement.claim(node, 0, 50, proof).transact({"from": world.stranger})
    settlement.claim(node, 0, 50, proof).transact({"from": recipient})
    assert world.token.functions.balanceOf(recipient).call() == 50


@covers("settlement", "link_disputes")
def test_only_the_owner_links_disputes_and_only_once(world, reverts):
    with reverts(NOT_OWNER):
        world.settlement.functions.link_disputes(world.spare).transact({"from": world.stranger})
    with reverts("settlement: disputes already linked"):  # past the gate: linked at deployment
        world.settlement.functions.link_disputes(world.spare).transact({"from": world.owner})
    assert world.settlement.functions.disputes().call() == world.disputes.address


# disputes -----------------------------------------------------------------------------------


EVIDENCE_SIGNATURE = b"\x01" * 65  # no key's: the receipt's signature is forged


NO_SOURCES = ([], [], [], [])  # an attribution without sources: cids, contributors, ...
NO_SOURCES_HASH = keccak(
    abi_encode(["bytes32[]", "address[]", "uint256[]", "uint256[]"], list(NO_SOURCES))
)


def pool_payouts(world: World, node: str) -> PayoutTree:
    """The payouts every one-receipt epoch posts: 50, all owed to the validators' pool."""
    return PayoutTree(node, {world.disputes.address: 50})


def one_receipt_epoch(
    world: World, sign_voucher, *, posted_state: bool = False
) -> tuple[str, tuple, bytes]:
    """A fresh node that posted an epoch of one free receipt without sources (50 redeemed,
    all owed to the validators' pool), whose leaf commits to an empty payout state after it
    (to the posted one with `posted_state`); returns the node, the receipt's evidence and its
    body."""
    node = world.newcomer().address
    payouts = pool_payouts(world, node)
    state = (payouts.root, payouts.total) if posted_state else (ZERO32, 0)
    client = client_with_deposit(world, 50, node)
    body = b'{"receipt":0}'
    fields = [
        0,
        *[keccak(text=f"field {i}") for i in range(2)],
        "m",
        ZERO32,
        ZERO32,
        NO_SOURCES_HASH,
        ZERO32,
        ZERO32,
        0,
        client.address,
        1,
        EVIDENCE_SIGNATURE,
        keccak(body),
        *state,
        [],
    ]
    digest = world.disputes.functions.receipt_digest(tuple(fields)).call()
    leaf = keccak(
        keccak(
            abi_encode(
                ["uint256", "bytes32", "bytes32", "bytes32", "bytes32", "uint256"],
                [0, digest, keccak(EVIDENCE_SIGNATURE), keccak(body), *state],
            )
        )
    )
    voucher = (client.address, 50, 50, sign_voucher(client, world.settlement, node, 50))
    post(world, node, 50, [voucher], root=payouts.root, receipts=leaf)
    return node, tuple(fields), body


def bonded(world: World, tokens: int = 1_000) -> str:
    """A newcomer with tokens approved to the disputes contract."""
    account = world.newcomer(tokens=tokens).address
    world.token.functions.approve(world.disputes.address, tokens).transact({"from": account})
    return account


@covers("disputes", "stake_validator", "unstake_validator", "withdraw_validator")
def test_a_validator_moves_only_its_own_stake(world, reverts):
    disputes = world.disputes.functions
    validator = bonded(world, MIN_STAKE)
    disputes.stake_validator(MIN_STAKE).transact({"from": validator})
    for call, reason in (
        (disputes.unstake_validator(), "disputes: not a validator"),
        (disputes.withdraw_validator(), "disputes: not unbonding"),
    ):
        with reverts(reason):  # the stranger has no stake of its own
            call.transact({"from": world.stranger})
    disputes.unstake_validator().transact({"from": validator})
    world.wait(UNBONDING)
    with reverts("disputes: not unbonding"):
        disputes.withdraw_validator().transact({"from": world.stranger})
    disputes.withdraw_validator().transact({"from": validator})
    assert world.token.functions.balanceOf(validator).call() == MIN_STAKE


@covers("disputes", "collect", "withdraw_rewards")
def test_anyone_collects_the_pool_and_each_validator_withdraws_its_own(
    world, sign_voucher, reverts
):
    disputes = world.disputes.functions
    validator = bonded(world, MIN_STAKE)
    disputes.stake_validator(MIN_STAKE).transact({"from": validator})
    node, _, _ = one_receipt_epoch(world, sign_voucher)
    world.wait(CHALLENGE)
    proof = pool_payouts(world, node).leaf_proof(world.disputes.address)
    disputes.collect(node, 0, 50, proof).transact({"from": world.newcomer().address})
    assert world.token.functions.balanceOf(world.stranger).call() == 0
    with reverts("disputes: no rewards"):
        disputes.withdraw_rewards().transact({"from": world.stranger})
    disputes.withdraw_rewards().transact({"from": validator})
    assert world.token.functions.balanceOf(validator).call() == 50


@covers("disputes", "challenge_receipt", "challenge_withheld")
@covers("settlement", "freeze", "void_from")
def test_a_challenge_takes_the_challengers_own_bond(world, sign_voucher, reverts):
    disputes, settlement = world.disputes.functions, world.settlement.functions
    validator = bonded(world, MIN_STAKE)
    disputes.stake_validator(MIN_STAKE).transact({"from": validator})
    node, evidence, _ = one_receipt_epoch(world, sign_voucher)
    calls = [
        disputes.challenge_withheld(node, 0, 0),
        disputes.challenge_receipt(node, 0, 5, evidence, 0, b""),  # ANSWER: a committee's
        disputes.challenge_receipt(node, 0, 1, evidence, 0, b""),  # SIGNATURE
    ]
    for call in calls:
        with reverts("disputes: bond too small"):  # the stranger's tokens: none
            call.transact({"from": world.stranger})
    challenger = bonded(world)
    for call in calls[:2]:
        call.transact({"from": challenger})
    assert settlement.frozen(node).call() == 2  # the disputes contract passed the gate
    calls[2].transact({"from": challenger})  # a forged signature: voided at once (no stake)
    assert settlement.is_voided(node, 0).call()
    assert world.token.functions.balanceOf(challenger).call() == 1_000 - 2 * PARAMS.min_bond
    for call in (settlement.freeze(node), settlement.void_from(node, 0)):
        for sender in (world.owner, world.stranger, challenger):
            with reverts("settlement: caller is not disputes"):
                call.transact({"from": sender})


@covers("disputes", "challenge_replayed")
def test_anyone_with_a_bond_proves_a_replay_and_gets_it_back(dw, reverts):
    """The disputes world's node billed one authorization twice: a caller without tokens is
    refused; a bonded one proves it, and its bond never leaves it (decided at once)."""
    with reverts("disputes: bond too small"):
        replayed(dw, REPLAY, HONEST, sender=dw.stranger)
    before = dw.balance(dw.challenger.address)
    replayed(dw, REPLAY, HONEST, sender=dw.challenger)
    assert dw.balance(dw.challenger.address) > before  # its share of the slash, bond intact


@covers("payout_prover", "prove_step", "prove_last")
@covers("disputes", "slash_payouts")
def test_anyone_with_a_bond_proves_payouts_and_only_the_prover_slashes(
    world, sign_voucher, reverts
):
    """A wrong payout step or last state is proven by any caller with its own bond, through
    the payout prover only; honest evidence is refused to everyone, bonded or not."""
    prover, disputes = world.payout_prover.functions, world.disputes.functions
    # the receipt commits to an empty state, the posted root owes 50: the last state is wrong
    last_node, last_receipt, _ = one_receipt_epoch(world, sign_voucher)
    # the receipt commits to the posted root, though a free receipt credits nothing
    step_node, step_receipt, _ = one_receipt_epoch(world, sign_voucher, posted_state=True)
    faulty = [
        prover.prove_last(last_node, 0, last_receipt),
        prover.prove_step(step_node, 0, step_receipt, step_receipt, NO_SOURCES, []),
    ]
    honest = [
        (
            prover.prove_last(step_node, 0, step_receipt),
            "disputes: the posted root is the last receipt's",
        ),
        (
            prover.prove_step(last_node, 0, last_receipt, last_receipt, NO_SOURCES, []),
            "disputes: payouts follow the receipt",
        ),
    ]
    for call in faulty:
        with reverts("disputes: bond too small"):  # the stranger's tokens: none
            call.transact({"from": world.stranger})
    challenger = bonded(world)
    for call, reason in honest:
        for sender in (world.stranger, challenger):
            with reverts(reason):
                call.transact({"from": sender})
    for sender in (world.owner, world.stranger, challenger):
        with reverts("disputes: caller is not the payout prover"):
            disputes.slash_payouts(step_node, 0, 0, challenger).transact({"from": sender})
    for call in faulty:
        call.transact({"from": challenger})
    records = [disputes.challenge(cid).call() for cid in (1, 2)]
    assert [(r[0], r[2], r[3], r[4], r[8]) for r in records] == [
        (last_node, 1, 10, challenger, 2),  # PAYOUTS at the receipt count, SLASHED
        (step_node, 0, 10, challenger, 2),  # PAYOUTS at the wrong step, SLASHED
    ]
    assert all(world.settlement.functions.is_voided(n, 0).call() for n in (last_node, step_node))
    assert world.token.functions.balanceOf(challenger).call() == 1_000  # the bond never moved


@covers("disputes", "link_prover")
def test_only_the_owner_links_the_prover_and_only_once(world, reverts):
    with reverts(NOT_OWNER):
        world.disputes.functions.link_prover(world.spare).transact({"from": world.stranger})
    with reverts("disputes: prover already linked"):  # past the gate: linked at deployment
        world.disputes.functions.link_prover(world.spare).transact({"from": world.owner})
    assert world.disputes.functions.payout_prover().call() == world.payout_prover.address
    fresh = deploy_contract(
        world.w3,
        "disputes",
        world.token.address,
        world.settlement.address,
        world.staking.address,
        world.policy.address,
        world.registry.address,
        PARAMS.as_abi(),
        sender=world.owner,
    )
    with reverts(NOT_OWNER):
        fresh.functions.link_prover(world.spare).transact({"from": world.stranger})
    with reverts("disputes: zero prover"):
        fresh.functions.link_prover(ZERO).transact({"from": world.owner})
    fresh.functions.link_prover(world.spare).transact({"from": world.owner})
    assert fresh.functions.payout_prover().call() == world.spare


@covers("disputes", "produce", "resolve")
@covers("settlement", "unfreeze", "refund")
def test_anyone_produces_a_receipt_resolves_and_refunds(world, sign_voucher, reverts):
    disputes, settlement = world.disputes.functions, world.settlement.functions
    node, evidence, body = one_receipt_epoch(world, sign_voucher)
    challenger = bonded(world)
    disputes.challenge_withheld(node, 0, 0).transact({"from": challenger})
    with reverts("settlement: caller is not disputes"):
        settlement.unfreeze(node).transact({"from": world.owner})
    disputes.produce(1, evidence, body).transact({"from": world.newcomer().address})
    assert settlement.frozen(node).call() == 0  # unfrozen by the disputes contract
    assert world.token.functions.balanceOf(node).call() == PARAMS.min_bond  # the bond is its
    disputes.challenge_receipt(node, 0, 1, evidence, 0, b"").transact({"from": challenger})
    (redeemed,) = [
        e
        for e in world.settlement.events.VoucherRedeemed().get_logs(from_block=0)
        if e.args.node == node
    ]
    settlement.refund(node, 0, [(redeemed.args.client, 50)]).transact(
        {"from": world.newcomer().address}
    )
    assert world.token.functions.balanceOf(redeemed.args.client).call() == 50
    with reverts("disputes: already resolved"):
        disputes.resolve(2).transact({"from": world.stranger})


@covers("disputes", "commit_vote", "reveal_vote")
def test_only_a_committee_member_votes(world, sign_voucher, reverts):
    disputes = world.disputes.functions
    member = bonded(world, MIN_STAKE)
    disputes.stake_validator(MIN_STAKE).transact({"from": member})
    node, evidence, _ = one_receipt_epoch(world, sign_voucher)
    disputes.challenge_receipt(node, 0, 5, evidence, 0, b"").transact(  # ANSWER: a committee's
        {"from": bonded(world)}
    )
    assert disputes.committee(1).call() == [member]
    salt = keccak(text="salt")
    for voter in (world.stranger, member):
        commitment = keccak(
            abi_encode(["uint256", "bool", "bytes32", "address"], [1, True, salt, voter])
        )
        if voter == member:
            disputes.commit_vote(1, commitment).transact({"from": voter})
        else:
            with reverts("disputes: not a committee member"):
                disputes.commit_vote(1, commitment).transact({"from": voter})
    world.wait(PERIOD)
    with reverts("disputes: not a committee member"):
        disputes.reveal_vote(1, True, salt).transact({"from": world.stranger})
    disputes.reveal_vote(1, True, salt).transact({"from": member})
    world.wait(PERIOD)
    disputes.resolve(1).transact({"from": world.newcomer().address})
    assert disputes.challenge(1).call()[8] == 2  # SLASHED: the member's vote counted


# staking ------------------------------------------------------------------------------------


@covers("staking", "register", "update", "add_stake", "unbond", "leave", "withdraw")
def test_a_node_moves_only_its_own_stake_and_listing(world, reverts):
    staking, token = world.staking.functions, world.token.functions
    node = world.newcomer(tokens=3 * MIN_STAKE).address
    token.approve(world.staking.address, 3 * MIN_STAKE).transact({"from": node})
    staking.register(2 * MIN_STAKE, "http://mine", "bafymine").transact({"from": node})
    staking.update("http://moved", "bafymoved").transact({"from": node})
    staking.add_stake(MIN_STAKE).transact({"from": node})
    staking.unbond(MIN_STAKE).transact({"from": node})
    for call, reason in (
        (staking.update("http://theirs", "bafytheirs"), "staking: not registered"),
        (staking.add_stake(1), "staking: not registered"),
        (staking.unbond(1), "staking: not registered"),
        (staking.leave(), "staking: not registered"),
        (staking.withdraw(), "staking: nothing to withdraw"),
    ):
        with reverts(reason):  # the stranger has no listing or stake of its own to move
            call.transact({"from": world.stranger})
    staking.leave().transact({"from": node})
    world.wait(UNBONDING)
    staking.withdraw().transact({"from": node})
    assert token.balanceOf(node).call() == 3 * MIN_STAKE
    _, _, stake, _, active = staking.nodes(world.operator).call()
    assert (stake, active) == (MIN_STAKE, True)
    assert token.balanceOf(world.stranger).call() == 0


# governor -----------------------------------------------------------------------------------


def pass_and_queue(world: World, queuer: str) -> None:
    """Proposal 1 passes on the holder's vote and `queuer` queues it."""
    governor = world.governor.functions
    governor.cast_vote(1, FOR).transact({"from": world.holder})
    world.wait(VOTING_PERIOD)
    governor.queue(1).transact({"from": queuer})


@covers("governor", "queue", "execute")
def test_anyone_queues_and_runs_a_passed_proposal(world):
    pass_and_queue(world, world.newcomer().address)
    world.wait(MIN_DELAY)
    world.governor.functions.execute(1).transact({"from": world.newcomer().address})
    assert world.governor.functions.state(1).call() == 7  # EXECUTED
    assert world.token.functions.allowance(world.timelock.address, world.spare).call() == 1


@covers("governor", "cancel")
def test_anyone_cancels_an_expired_proposal_only(world, reverts):
    pass_and_queue(world, world.stranger)
    with reverts("governor: only the proposer can cancel"):
        world.governor.functions.cancel(1).transact({"from": world.stranger})
    world.wait(MIN_DELAY + GRACE + 1)
    world.governor.functions.cancel(1).transact({"from": world.stranger})
    assert world.governor.functions.state(1).call() == 2  # CANCELED


# timelock -----------------------------------------------------------------------------------


@covers(
    "timelock", "onERC721Received", "onERC1155Received", "onERC1155BatchReceived", "__default__"
)
def test_anyone_sends_the_timelock_tokens_and_ether(world):
    lock = world.timelock.functions
    sender = {"from": world.newcomer().address}
    receipts = {
        "onERC721Received(address,address,uint256,bytes)": lock.onERC721Received(
            world.spare, world.spare, 1, b""
        ),
        "onERC1155Received(address,address,uint256,uint256,bytes)": lock.onERC1155Received(
            world.spare, world.spare, 1, 1, b""
        ),
        "onERC1155BatchReceived(address,address,uint256[],uint256[],bytes)": (
            lock.onERC1155BatchReceived(world.spare, world.spare, [1], [1], b"")
        ),
    }
    for signature, call in receipts.items():
        # the batch hook's two 65,535-long arrays take ~34M gas of memory, over a 30M block
        accepted = call.call({**sender, "gas": 60_000_000})
        assert accepted == keccak(text=signature)[:4]
    world.w3.eth.send_transaction({**sender, "to": world.timelock.address, "value": 5})
    assert world.w3.eth.get_balance(world.timelock.address) == 5
