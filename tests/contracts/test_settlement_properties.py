"""Property: under any history of deposits into channels (client, node), redemptions, posts,
claims, withdrawals and moves between channels, the settlement holds exactly what it owes, no
node ever redeems more than its channel held, and every refused operation changes nothing.

A Python model predicts each operation's outcome (its exact revert reason, or success) and the
state after it; after every step the chain must match the model and the invariants must hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from chain_helpers import next_block_not_before, run_ahead_of_wall_clock
from eth_abi import decode
from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import get_abi_output_types
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from web3.exceptions import ContractLogicError

from tessera._payments.payouts import PayoutTree, root_of

MAX_UINT256 = 2**256 - 1
EPOCH, CHALLENGE, DELAY = 3600, 600, 7200
FUNDS, ESCROWED = 1_000, 300  # each client's tokens, and how many it puts in each channel
ZERO = "0x" + "00" * 20
CID = "bafybundle"
RECEIPTS_ROOT = b"\x02" * 32
STRANGER = Account.from_key(keccak(text="tessera stranger"))
CLIENTS, NODES, RECIPIENTS = 3, 2, 3
VOUCHER_TYPES = {
    "Voucher": [
        {"name": "client", "type": "address"},
        {"name": "node", "type": "address"},
        {"name": "amount", "type": "uint256"},
    ]
}

# At most one fault per operation, so that each refusal is reached often enough; valid choices
# also close each list because hypothesis favours both ends of a `sampled_from`.
POST_FAULTS = [
    "already posted",  # the epoch before the node's next one
    "out of order",  # the epoch after it
    "impatient",  # no waiting for the previous epoch to end
    "empty root",
    "empty cid",
    "split",  # a treasury other than the current one
    "stale",  # the last voucher is for no more than the node already redeemed
    "exceeded",  # the last redemption takes one more than its voucher says
    "forged",  # the last voucher is signed by a stranger
    "other node",  # the last voucher is the client's, but for the other node
    "over",  # a leaf above what the node redeemed, with an honest total
    "capped",  # the same leaf, the total capped at what the node redeemed
    "lower",  # a total below the previous epoch's
]
CLAIM_FAULTS = [
    "impatient",  # no waiting for the challenge window to end
    "amount",  # one more than the leaf
    "other",  # another recipient's amount and proof
    "epoch",  # the proof of another epoch (garbage when there is no other)
    "unknown",  # the node's next, unposted epoch
]

client = st.integers(0, CLIENTS - 1)
node = st.integers(0, NODES - 1)
# a redemption: (client, how much more than the node already redeemed the voucher signs)
redemption = st.tuples(client, st.integers(1, 200))
post = st.tuples(
    st.just("post"),
    node,
    st.sampled_from([None] * len(POST_FAULTS) + POST_FAULTS + [None]),
    st.lists(redemption, min_size=1, max_size=3),
    st.lists(st.integers(1, 10), min_size=RECIPIENTS, max_size=RECIPIENTS),  # shares of the raise
)
claim = st.tuples(
    st.just("claim"),
    node,
    st.integers(0, RECIPIENTS - 1),
    st.sampled_from([0, 0, 0, 1, 0]),  # how many epochs back from the latest
    st.sampled_from([None] * 2 * len(CLAIM_FAULTS) + CLAIM_FAULTS + [None]),
)
kinds = {
    "post": post,
    "claim": claim,
    "wait": st.tuples(st.just("wait"), st.sampled_from([2, CHALLENGE, EPOCH, DELAY])),
    "deposit": st.tuples(st.just("deposit"), client, node, st.integers(0, 1_200)),
    "request": st.tuples(st.just("request"), client, node, st.integers(0, 600)),
    "withdraw": st.tuples(st.just("withdraw"), client, node),
    # into the other node's channel, or (refused) into the same one or the zero node's
    "move": st.tuples(
        st.just("move"), client, node, st.sampled_from(["other"] * 4 + ["same", "zero", "other"])
    ),
}
# posts and claims three times as often as the rest (one_of would merge repeated branches)
operation = st.sampled_from(
    ["post"] * 3 + ["claim"] * 3 + ["wait", "deposit", "request", "withdraw", "move"]
).flatmap(kinds.__getitem__)


EMPTY_ROOT = b"\x00" * 32
# the refusals post_epoch checks before the root
BEFORE_ROOT = (
    "settlement: epoch already posted",
    "settlement: epoch out of order",
    "settlement: epoch not over",
)


def proof_refusal(node: str, recipient: str, cumulative: int, proof, root: bytes) -> str | None:
    """Why settlement refuses `proof` of `recipient`'s `cumulative` against `root`, if it does:
    what `root_of` makes of it."""
    if not proof:
        return "payouts: empty proof"
    try:
        proven = root_of(node, recipient, cumulative, proof)
    except ValueError:
        return "payouts: malformed proof"
    return None if proven == root else "settlement: invalid proof"


@dataclass
class Posted:
    posted_at: int
    total: int
    owed: dict[str, int]
    tree: PayoutTree


Channel = tuple[str, str]  # (client, node)


@dataclass
class Model:
    """What the settlement should hold; `signed`: the most each client signed for each node;
    `funded` / `drained`: what entered each channel (deposits, moves in) and left it other
    than by redemption (withdrawals, moves out)."""

    wallet: dict[str, int]
    balance: dict[Channel, int]
    withdrawal: dict[Channel, tuple[int, int, int]]
    funded: dict[Channel, int]
    drained: dict[Channel, int] = field(default_factory=dict)
    redeemed: dict[tuple[str, str], int] = field(default_factory=dict)
    signed: dict[tuple[str, str], int] = field(default_factory=dict)
    node_redeemed: dict[str, int] = field(default_factory=dict)
    node_paid: dict[str, int] = field(default_factory=dict)
    epochs: dict[str, list[Posted]] = field(default_factory=dict)
    claimed: dict[tuple[str, str], int] = field(default_factory=dict)


class World:
    """The deployed settlement, its actors, and the model of what it should hold."""

    def __init__(self, w3, settlement, token, clients, nodes, recipients, split, sign_voucher):
        self.w3, self.settlement, self.token, self.split = w3, settlement, token, split
        self.clients, self.nodes, self.recipients = clients, nodes, recipients
        self.sign_voucher = sign_voucher
        addresses = [c.address for c in clients]
        self.channels = [(c, n) for c in addresses for n in nodes]
        self.model = Model(
            wallet=dict.fromkeys(addresses, FUNDS - NODES * ESCROWED)
            | dict.fromkeys(recipients, 0),
            balance=dict.fromkeys(self.channels, ESCROWED),
            withdrawal=dict.fromkeys(self.channels, (0, 0, 0)),
            funded=dict.fromkeys(self.channels, ESCROWED),
        )

    # running operations ---------------------------------------------------------------------

    def now(self) -> int:
        """The next block's timestamp: ahead of the wall clock, blocks come a second apart."""
        return int(self.w3.eth.get_block("latest").timestamp) + 1

    def send(self, fn, sender: str) -> str | None:
        """Runs `fn` from `sender`: None if it succeeded, else its revert reason, after also
        mining the refused transaction so that "a failure changes nothing" is tested on chain."""
        try:
            fn.transact({"from": sender})
        except (ContractLogicError, TransactionFailed) as error:
            message = getattr(error, "message", None) or str(error)
            assert message.startswith("execution reverted: "), message
            tx = fn.transact({"from": sender, "gas": 2_000_000})
            assert self.w3.eth.get_transaction_receipt(tx)["status"] == 0
            return message.removeprefix("execution reverted: ")
        return None

    def apply(self, op) -> str | None:
        kind, *args = op
        if kind == "wait":
            next_block_not_before(self.w3, self.now() + args[0])
            return None
        return getattr(self, f"_{kind}")(*args)

    def _deposit(self, who: int, which: int, amount: int) -> str | None:
        address, node, m = self.clients[who].address, self.nodes[which], self.model
        expected = None
        if amount == 0:
            expected = "escrow: zero amount"
        elif amount > m.wallet[address]:  # the allowance is unlimited
            expected = "erc20: transfer amount exceeds balance"
        actual = self.send(self.settlement.functions.deposit(node, amount), address)
        assert actual == expected
        if expected is None:
            m.wallet[address] -= amount
            m.balance[(address, node)] += amount
            m.funded[(address, node)] += amount
        return actual

    def _request(self, who: int, which: int, amount: int) -> str | None:
        address, node, m, now = self.clients[who].address, self.nodes[which], self.model, self.now()
        expected = None
        if amount == 0:
            expected = "escrow: zero amount"
        elif amount > m.balance[(address, node)]:
            expected = "escrow: exceeds channel balance"
        actual = self.send(self.settlement.functions.request_withdrawal(node, amount), address)
        assert actual == expected
        if expected is None:
            m.withdrawal[(address, node)] = (amount, now + DELAY, now)
        return actual

    def _release(self, channel: Channel) -> str | None:
        """Why the channel's withdrawal cannot leave it now (None: it can)."""
        requested, available_at, _ = self.model.withdrawal[channel]
        if requested == 0:
            return "escrow: no withdrawal requested"
        if self.now() < available_at:
            return "escrow: withdrawal delay not over"
        return None

    def _released(self, channel: Channel) -> int:
        """Takes what is left of the channel's withdrawal out of it, in the model."""
        m = self.model
        amount = min(m.withdrawal[channel][0], m.balance[channel])
        m.withdrawal[channel] = (0, 0, 0)
        m.balance[channel] -= amount
        m.drained[channel] = m.drained.get(channel, 0) + amount
        return amount

    def _withdraw(self, who: int, which: int) -> str | None:
        channel = (self.clients[who].address, self.nodes[which])
        expected = self._release(channel)
        actual = self.send(self.settlement.functions.withdraw(channel[1]), channel[0])
        assert actual == expected
        if expected is None:
            self.model.wallet[channel[0]] += self._released(channel)
        return actual

    def _move(self, who: int, which: int, to: str) -> str | None:
        channel = (self.clients[who].address, self.nodes[which])
        target = {"other": self.nodes[1 - which], "same": channel[1], "zero": ZERO}[to]
        expected = None
        if to == "zero":
            expected = "escrow: zero node"
        elif to == "same":
            expected = "escrow: same channel"
        else:
            expected = self._release(channel)
        fn = self.settlement.functions.move(channel[1], target)
        actual = self.send(fn, channel[0])
        assert actual == expected
        if expected is None:
            moved = self._released(channel)
            self.model.balance[(channel[0], target)] += moved
            self.model.funded[(channel[0], target)] += moved
        return actual

    def _voucher(self, node: str, who: int, already: int, rise: int, fault: str | None):
        """A redemption of a fresh voucher for `rise` above `already`, spoilt by `fault`; and
        whether its signature is genuine."""
        client, m = self.clients[who], self.model
        signed = max(0, already - rise % 31) if fault == "stale" else already + rise
        amount = signed + 1 if fault == "exceeded" else signed
        if fault == "forged":
            _, name, version, chain_id, contract, _, _ = (
                self.settlement.functions.eip712Domain().call()
            )
            domain = {
                "name": name,
                "version": version,
                "chainId": chain_id,
                "verifyingContract": contract,
            }
            message = {"client": client.address, "node": node, "amount": signed}
            signature = bytes(STRANGER.sign_typed_data(domain, VOUCHER_TYPES, message).signature)
        else:
            for_node = self.nodes[1 - self.nodes.index(node)] if fault == "other node" else node
            signature = self.sign_voucher(client, self.settlement, for_node, signed)
            key = (client.address, for_node)
            m.signed[key] = max(m.signed.get(key, 0), signed)  # the client did sign this one
        genuine = fault not in ("forged", "other node")
        return (client.address, signed, amount, signature), genuine

    def _post(self, which: int, fault: str | None, redemptions, shares) -> str | None:
        node, m = self.nodes[which], self.model
        posted = m.epochs.setdefault(node, [])
        if posted and fault != "impatient":
            next_block_not_before(self.w3, posted[-1].posted_at + EPOCH)
        now = self.now()
        shift = {"already posted": -1, "out of order": 1}.get(fault or "", 0)
        epoch = max(0, len(posted) + shift)
        previous = posted[epoch - 1] if 0 < epoch <= len(posted) else None
        # a client's later vouchers in one post rise above its earlier ones
        vouchers = []
        signing: dict[str, int] = {}
        for i, (who, rise) in enumerate(redemptions):
            address = self.clients[who].address
            already = signing.get(address, m.redeemed.get((address, node), 0))
            spoilt = fault if i == len(redemptions) - 1 else None
            vouchers.append(self._voucher(node, who, already, rise, spoilt))
            signing[address] = vouchers[-1][0][1]

        # the contract's checks, in its order
        expected: str | None = None
        redeemed, balance, fresh = dict(m.redeemed), dict(m.balance), 0
        if epoch < len(posted):
            expected = "settlement: epoch already posted"
        elif epoch > len(posted):
            expected = "settlement: epoch out of order"
        elif previous is not None and now < previous.posted_at + EPOCH:
            expected = "settlement: epoch not over"
        elif fault == "empty root":
            expected = "settlement: empty root"
        elif fault == "empty cid":
            expected = "settlement: empty bundle cid"
        elif fault == "split":
            expected = "settlement: fee split changed"
        else:
            for (client, signed, amount, _), genuine in vouchers:
                already = redeemed.get((client, node), 0)
                if amount > signed:
                    expected = "escrow: voucher exceeded"
                elif amount <= already:
                    expected = "escrow: voucher already redeemed"
                elif not genuine:
                    expected = "escrow: bad voucher signature"
                elif balance[(client, node)] < amount - already:
                    expected = "escrow: channel balance too low"
                if expected:
                    break
                balance[(client, node)] -= amount - already
                fresh += amount - already
                redeemed[(client, node)] = amount

        # each recipient's cumulative amount grows by its share of what is left to pay out
        available = m.node_redeemed.get(node, 0) + fresh
        floor = previous.total if previous else 0
        before = posted[-1].owed if posted else dict.fromkeys(self.recipients, 0)
        room = max(0, available - sum(before.values()))
        owed = {
            r: before[r] + room * share // (10 * RECIPIENTS)
            for r, share in zip(self.recipients, shares, strict=True)
        }
        if fault in ("over", "capped"):
            owed[self.recipients[0]] += room + shares[0]  # now the leaves exceed `available`
        total = sum(owed.values())
        if fault == "capped":
            total = max(floor, min(total, available))  # a root that promises more than it has
        elif fault == "lower" and floor:
            total = floor - 1
        if expected is None and total < floor:
            expected = "settlement: total decreased"
        elif expected is None and total > available:
            expected = "settlement: payouts exceed redeemed"

        tree = PayoutTree(node, owed)
        split = (*self.split[:4], self.nodes[0], 0, ZERO) if fault == "split" else self.split
        root = EMPTY_ROOT if fault == "empty root" else tree.root
        if root == EMPTY_ROOT and expected not in BEFORE_ROOT:
            expected = "settlement: empty root"  # also when nothing is owed yet: an empty tree
        cid = "" if fault == "empty cid" else CID
        fn = self.settlement.functions.post_epoch(
            epoch, root, total, cid, len(vouchers), RECEIPTS_ROOT, split, [v for v, _ in vouchers]
        )
        actual = self.send(fn, node)
        assert actual == expected
        if expected is None:
            m.redeemed, m.balance = redeemed, balance
            m.node_redeemed[node] = available
            posted.append(Posted(now, total, owed, tree))
            record = self.settlement.functions.epochs(node, epoch).call()
            assert record[:6] == (tree.root, total, CID, len(vouchers), fresh, now)
        return actual

    def _claim(self, which: int, who: int, back: int, fault: str | None) -> str | None:
        m = self.model
        if not m.epochs.get(self.nodes[which]):
            which = 1 - which  # claim from the node that posted, if one did
        node, recipient = self.nodes[which], self.recipients[who]
        posted = m.epochs.get(node, [])
        epoch = len(posted) if fault == "unknown" else max(0, len(posted) - 1 - back)
        cumulative, proof = 0, []
        if epoch < len(posted):
            source, index = posted[epoch], who
            if fault == "epoch":
                source = posted[(epoch + 1) % len(posted)]
            if fault == "other":
                index = (who + 1) % RECIPIENTS
            cumulative = source.owed[self.recipients[index]] + (fault == "amount")
            proof = source.tree.leaf_proof(self.recipients[index])
            if fault == "epoch" and len(posted) == 1:
                proof = [b"\x02" * 32]
            if fault != "impatient":
                next_block_not_before(self.w3, posted[epoch].posted_at + CHALLENGE)
        now = self.now()

        expected: str | None = None
        already = m.claimed.get((node, recipient), 0)
        paid = m.node_paid.get(node, 0) + cumulative - already
        if epoch >= len(posted):
            expected = "settlement: unknown epoch"
        elif now < posted[epoch].posted_at + CHALLENGE:
            expected = "settlement: challenge window open"
        elif cumulative == 0:
            expected = "settlement: nothing to claim"
        elif refusal := proof_refusal(node, recipient, cumulative, proof, posted[epoch].tree.root):
            expected = refusal
        elif cumulative <= already:
            expected = "settlement: nothing to claim"
        elif paid > m.node_redeemed.get(node, 0):
            expected = "settlement: exceeds redeemed"
        fn = self.settlement.functions.claim(node, epoch, cumulative, proof)
        actual = self.send(fn, recipient)
        assert actual == expected
        if expected is None:
            m.wallet[recipient] += cumulative - already
            m.claimed[(node, recipient)] = cumulative
            m.node_paid[node] = paid
        return actual

    # checking -------------------------------------------------------------------------------

    def read(self, contract, name: str, *args):
        """`contract.functions.name(*args).call()` straight through eth-tester: observing the
        whole state after every step through web3's stack would take most of the run."""
        function = contract.get_function_by_name(name)
        data = contract.encode_abi(name, list(args))
        raw = self.w3.provider.ethereum_tester.call(
            {"from": self.nodes[0], "to": contract.address, "data": data}
        )
        (value,) = decode(get_abi_output_types(function.abi), bytes.fromhex(raw[2:]))
        return to_checksum_address(value) if isinstance(value, str) else value

    def observe(self) -> dict:
        """Everything the invariants look at, read from the chain."""
        s, clients = self.settlement, [c.address for c in self.clients]
        return {
            "held": self.read(self.token, "balanceOf", s.address),
            "wallet": {
                a: self.read(self.token, "balanceOf", a) for a in [*clients, *self.recipients]
            },
            "balance": {(c, n): self.read(s, "channel_balance", c, n) for c, n in self.channels},
            "withdrawal": {(c, n): self.read(s, "withdrawals", c, n) for c, n in self.channels},
            "redeemed": {
                (c, n): self.read(s, "redeemed", c, n) for c in clients for n in self.nodes
            },
            "node_redeemed": {n: self.read(s, "node_redeemed", n) for n in self.nodes},
            "node_paid": {n: self.read(s, "node_paid", n) for n in self.nodes},
            "epoch_count": {n: self.read(s, "epoch_count", n) for n in self.nodes},
            "claimed": {
                (n, r): self.read(s, "claimed", n, r) for n in self.nodes for r in self.recipients
            },
        }

    def expected(self) -> dict:
        """What `observe` should return, according to the model."""
        m, clients = self.model, [c.address for c in self.clients]
        return {
            "held": sum(m.balance.values())
            + sum(m.node_redeemed.get(n, 0) - m.node_paid.get(n, 0) for n in self.nodes),
            "wallet": m.wallet,
            "balance": m.balance,
            "withdrawal": m.withdrawal,
            "redeemed": {(c, n): m.redeemed.get((c, n), 0) for c in clients for n in self.nodes},
            "node_redeemed": {n: m.node_redeemed.get(n, 0) for n in self.nodes},
            "node_paid": {n: m.node_paid.get(n, 0) for n in self.nodes},
            "epoch_count": {n: len(m.epochs.get(n, [])) for n in self.nodes},
            "claimed": {
                (n, r): m.claimed.get((n, r), 0) for n in self.nodes for r in self.recipients
            },
        }

    def check_invariants(self, state: dict) -> None:
        escrowed = sum(state["balance"].values())
        owed = sum(state["node_redeemed"][n] - state["node_paid"][n] for n in self.nodes)
        assert state["held"] == escrowed + owed
        # what clients put in, net of withdrawals (read from their wallets), is in the
        # channels or was paid out to nodes
        deposited = sum(FUNDS - state["wallet"][c.address] for c in self.clients)
        assert deposited == escrowed + sum(state["node_redeemed"].values())
        for channel in self.channels:  # no node redeems more than its channel held
            m = self.model
            held = m.funded[channel] - m.drained.get(channel, 0)
            assert state["redeemed"][channel] + state["balance"][channel] == held
            assert state["redeemed"][channel] <= held
        for n in self.nodes:
            assert state["node_paid"][n] <= state["node_redeemed"][n]
        for pair, redeemed in state["redeemed"].items():
            assert redeemed <= self.model.signed.get(pair, 0)
        for (n, r), claimed in state["claimed"].items():
            posted = self.model.epochs.get(n, [])
            assert claimed <= (posted[-1].owed[r] if posted else 0)


@pytest.fixture
def split(accounts):
    return (3000, 2000, 4000, 1000, accounts[9], 0, ZERO)


@pytest.fixture
def settlement(w3, accounts, signers, token, deploy, split):
    """The settlement; each client holds FUNDS tokens, ESCROWED of them in each node's channel."""
    tester = w3.provider.ethereum_tester
    contract = deploy("settlement", token.address, split, EPOCH, CHALLENGE, DELAY)
    for signer in signers:
        tester.add_account(signer.key.hex())  # eth-tester signs this key's transactions from now
        w3.eth.send_transaction({"from": accounts[0], "to": signer.address, "value": 10**18})
        token.functions.transfer(signer.address, FUNDS).transact({"from": accounts[1]})
        token.functions.approve(contract.address, MAX_UINT256).transact({"from": signer.address})
        for node in accounts[2:4]:  # the nodes of the test
            contract.functions.deposit(node, ESCROWED).transact({"from": signer.address})
    run_ahead_of_wall_clock(w3)
    return contract


# each example runs on a snapshot of the freshly deployed chain and reverts it afterwards
@example(  # a tour of every refusal, so that each is checked against the model on every run
    operations=[
        ("deposit", 0, 0, 0),
        ("deposit", 0, 1, 1_200),
        ("deposit", 0, 0, 100),
        ("post", 0, None, [(0, 100), (1, 50)], [5, 3, 2]),
        ("claim", 0, 0, 0, "impatient"),
        ("claim", 0, 0, 0, None),
        ("claim", 0, 0, 0, None),
        ("claim", 0, 1, 0, "amount"),
        ("claim", 0, 1, 0, "other"),
        ("claim", 0, 1, 0, "epoch"),
        ("claim", 0, 1, 0, "unknown"),
        ("post", 0, "impatient", [(0, 10)], [1, 1, 1]),
        ("post", 0, "already posted", [(0, 10)], [1, 1, 1]),
        ("post", 0, "out of order", [(0, 10)], [1, 1, 1]),
        ("post", 0, "empty root", [(0, 10)], [1, 1, 1]),
        ("post", 0, "empty cid", [(0, 10)], [1, 1, 1]),
        ("post", 0, "split", [(0, 10)], [1, 1, 1]),
        ("post", 0, "stale", [(0, 10)], [1, 1, 1]),
        ("post", 0, "exceeded", [(1, 10)], [1, 1, 1]),
        ("post", 0, "forged", [(2, 10)], [1, 1, 1]),
        ("post", 0, "other node", [(2, 10)], [1, 1, 1]),
        ("post", 0, None, [(2, 200), (2, 200)], [1, 1, 1]),
        ("post", 0, "over", [(2, 10)], [1, 1, 1]),
        ("post", 0, "lower", [(2, 10)], [1, 1, 1]),
        ("post", 0, "capped", [(2, 10)], [1, 1, 1]),
        ("claim", 0, 1, 1, "epoch"),
        ("claim", 0, 0, 0, None),
        ("claim", 0, 1, 0, None),
        ("post", 1, None, [(0, 301)], [1, 1, 1]),  # node 1's channel holds 300 alone
        ("withdraw", 1, 0),
        ("move", 1, 0, "other"),
        ("request", 1, 0, 0),
        ("request", 1, 0, 600),
        ("request", 1, 0, 100),
        ("withdraw", 1, 0),
        ("move", 1, 0, "other"),
        ("move", 1, 0, "zero"),
        ("move", 1, 0, "same"),
        ("wait", DELAY),
        ("withdraw", 1, 1),
        ("withdraw", 1, 0),
    ]
)
@example(  # a capped root: its biggest leaf can never be paid in full
    operations=[
        ("post", 0, "capped", [(0, 200), (1, 200)], [10, 10, 10]),
        ("claim", 0, 1, 0, None),
        ("claim", 0, 0, 0, None),
        ("claim", 0, 2, 0, None),
    ]
)
@example(  # a withdrawal pays what is left after the redemptions made during its delay
    operations=[
        ("request", 0, 0, 300),
        ("post", 0, None, [(0, 250)], [1, 1, 1]),
        ("withdraw", 0, 0),
        ("wait", DELAY),
        ("withdraw", 0, 0),
        ("withdraw", 0, 0),
    ]
)
@example(  # what is left of a withdrawal moves to the other channel, which alone may take it
    operations=[
        ("request", 0, 0, 300),
        ("post", 0, None, [(0, 250)], [1, 1, 1]),
        ("wait", DELAY),
        ("move", 0, 0, "other"),
        ("post", 0, None, [(0, 1)], [1, 1, 1]),
        ("post", 1, None, [(0, 340)], [1, 1, 1]),
        ("post", 1, None, [(0, 11)], [1, 1, 1]),
        ("post", 1, None, [(0, 10)], [1, 1, 1]),
    ]
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(operation, min_size=3, max_size=12))
def test_settlement_holds_what_it_owes(
    w3, accounts, signers, token, split, settlement, sign_voucher, operations
):
    tester = w3.provider.ethereum_tester
    snapshot = tester.take_snapshot()
    try:
        nodes, recipients = accounts[2:4], accounts[4:7]
        world = World(w3, settlement, token, signers, nodes, recipients, split, sign_voucher)
        state = world.observe()
        assert state == world.expected()
        world.check_invariants(state)
        for op in operations:
            before = state
            refused = world.apply(op)
            event(f"{op[0]}: {refused or 'ok'}")  # see --hypothesis-show-statistics
            state = world.observe()
            assert state == world.expected(), op
            world.check_invariants(state)
            if refused is not None:
                assert state == before, (op, refused)
    finally:
        tester.revert_to_snapshot(snapshot)
