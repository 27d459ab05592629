"""`Tessera`: the facade that the CLI, the node and users' own code all call."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from tessera._chain.anvil import AnvilProcess
from tessera._chain.client import IN_PROCESS, Chain
from tessera._chain.deploy import (
    DEFAULT_DISPUTE_PARAMS,
    DEFAULT_PERIODS,
    check_deployment,
    deploy_contracts,
)
from tessera._chain.disputes import Challenge, DisputeParams, DisputesClient
from tessera._chain.governance import (
    DEFAULT_GOVERNANCE,
    Action,
    GovernanceSettings,
    PolicyClient,
    ProposalState,
)
from tessera._chain.join import joined_deployment
from tessera._chain.join import link as link_deployment
from tessera._chain.registry import DatanetRecord, RegistryClient
from tessera._chain.settlement import Channel, FeeSplit, Periods, SettlementClient, Withdrawal
from tessera._chain.staking import NodeRecord, StakingClient
from tessera._chain.wallet_txs import mined_transaction, transaction_status, wallet_address
from tessera._client import AskResult, sign_request
from tessera._crypto.authorization import ClientAuthorization
from tessera._crypto.eip712 import Domain
from tessera._crypto.keys import DEFAULT_SCRYPT_N, AccountInfo, Keystore
from tessera._crypto.receipt import Receipt
from tessera._crypto.voucher import Voucher
from tessera._data import datanets as datanet_ops
from tessera._data.index import ContributionIndex, IndexedContribution
from tessera._data.ingest import DEFAULT_BATCH_SIZE, IngestContext, IngestReport, Progress
from tessera._data.ingest import contribute as ingest
from tessera._errors import (
    AccountError,
    ChainError,
    ConfigError,
    InputError,
    ModelError,
    NotFoundError,
    SignatureError,
    TesseraError,
)
from tessera._govern.delegation import DelegationRelay, SignatureInput
from tessera._govern.governance import Governance, NetworkParameters, ProposalStatus
from tessera._govern.wallet_txs import GovernanceTransactions
from tessera._home import DEFAULT_ANVIL_PORT, HomeConfig, TesseraHome, check_gateway
from tessera._network import registration, wallet_asking
from tessera._network.asking import ask_network
from tessera._network.content_peers import RegisteredPeers
from tessera._network.directory import NodeDirectory
from tessera._network.records import NetworkNode
from tessera._network.wallet_asking import UnsignedAsk
from tessera._parts import NodeParts, ValidatorParts
from tessera._payments.audit import AuditReport, audit_epoch, with_challenges
from tessera._payments.claims import ClaimResult, claim_all
from tessera._payments.earnings import Earnings, earnings
from tessera._payments.payer import Payer
from tessera._payments.spending import ChannelEvent, channel_history
from tessera._payments.units import format_tsr
from tessera._payments.usage import ContributionUsage, UsageIndex, in_snapshot
from tessera._payments.wallet_txs import PaymentTransactions
from tessera._store.fetching import FetchingBlobStore
from tessera._store.local import LocalBlobStore
from tessera._store.peers import PeerFetcher

if TYPE_CHECKING:
    from tessera._factory.factory import ModelFactory, TrainedModel
    from tessera._models.model_manifest import ModelManifest
    from tessera._models.training import TrainProgress, TrainSettings
    from tessera._payments.epochs import EpochSettler, SettlementStatus, SettleResult

__all__ = [
    "DEFAULT_GOVERNANCE",
    "DEFAULT_PERIODS",
    "Action",
    "AnvilProcess",
    "FeeSplit",
    "GovernanceSettings",
    "NetworkParameters",
    "Periods",
    "ProposalState",
    "ProposalStatus",
    "Tessera",
    "Wallet",
]

DEV_FUNDING_WEI = 100 * 10**18  # gas money for new accounts on local dev chains
# a receipt's id is not signed: only a plain name may become a file name in the home
_RECEIPT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def _password(password: str | None) -> str:
    password = password if password is not None else os.environ.get("TESSERA_PASSWORD")
    if not password:
        raise AccountError("no keystore password: set TESSERA_PASSWORD or pass password=...")
    return password


def _open_chain(
    home: TesseraHome, chain: str | Chain | None, anvil_port: int
) -> tuple[str, str, Chain]:
    """(kind, url, connection) for a new home: a managed anvil unless `chain` names one. A
    `Chain` object is used as it is: homes in one process can share one in-process chain."""
    if isinstance(chain, Chain):
        return ("inprocess" if chain.url == IN_PROCESS else "rpc"), chain.url, chain
    if chain is None:
        anvil = AnvilProcess(home.anvil_dir, anvil_port)
        if not anvil.is_running():
            anvil.start()
        return "anvil", anvil.url, Chain.connect(anvil.url)
    kind = "inprocess" if chain == IN_PROCESS else "rpc"
    return kind, chain, Chain.connect(chain)


def _connect(config: HomeConfig, home: TesseraHome) -> Chain:
    if config.chain_kind == "inprocess":
        raise ConfigError(
            f"{home.path} was set up with an in-process chain, which lived only inside the "
            "process that created it: run `tessera init --force` for a persistent local chain"
        )
    if config.chain_kind == "anvil":
        anvil = AnvilProcess(home.anvil_dir, config.anvil_port)
        if not anvil.is_running():
            anvil.start()
    return Chain.connect(config.chain_url)


@dataclass(frozen=True)
class Wallet:
    address: str
    tokens: int  # held, in the smallest unit
    channels: tuple[Channel, ...]  # escrow committed per node, in order of first deposit

    @property
    def escrow(self) -> int:
        """Everything in escrow, over every channel."""
        return sum(c.balance for c in self.channels)

    def channel(self, node: str) -> Channel | None:
        """The channel to `node` (an address), if the account ever funded one."""
        node = Web3.to_checksum_address(node)
        return next((c for c in self.channels if c.node == node), None)


class Tessera:
    """One Tessera home on one chain. Open it with `Tessera.open()` or make it with `init`."""

    def __init__(
        self, home: TesseraHome, config: HomeConfig, chain: Chain, password: str | None = None
    ) -> None:
        check_deployment(chain, config.deployment)
        d = config.deployment  # the contracts whose logs are read, fetched in one request
        chain.log_index.watch(
            [d.registry, d.settlement, d.staking, d.governor, d.disputes, d.models], d.block
        )
        self.home = home
        self.config = config
        self.chain = chain
        self._password = password
        self.registry = RegistryClient(chain, config.deployment.registry)
        self.settlement = SettlementClient(chain, config.deployment.settlement)
        self.staking = StakingClient(chain, config.deployment.staking)
        self.keystore = Keystore(home.keystore_dir, config.scrypt_n)
        self.peers = RegisteredPeers(
            self.staking, lambda: [a.address for a in self.keystore.list()], config.gateways
        )
        # blobs this home lacks come from the network, each checked against its CID
        self.store = FetchingBlobStore(LocalBlobStore(home.store_dir), PeerFetcher(self.peers))
        self.index = ContributionIndex(home.index_path(config.deployment))
        self.domain = Domain(config.deployment.chain_id, config.deployment.registry)
        self.gov = Governance(chain, config.deployment, self.settlement, self.signer, self.address)

    # lifecycle ------------------------------------------------------------------------------

    @classmethod
    def open(cls, home: Path | None = None, password: str | None = None) -> Tessera:
        th = TesseraHome(home)
        config = th.load()
        return cls(th, config, _connect(config, th), password)

    @classmethod
    def init(
        cls,
        home: Path | None = None,
        chain: str | Chain | None = None,
        password: str | None = None,
        force: bool = False,
        anvil_port: int = DEFAULT_ANVIL_PORT,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        periods: Periods = DEFAULT_PERIODS,
        governance: GovernanceSettings = DEFAULT_GOVERNANCE,
        join: str | None = None,
        gateways: Sequence[str] = (),
        disputes: DisputeParams = DEFAULT_DISPUTE_PARAMS,
    ) -> Tessera:
        """Create accounts, connect a chain (managed anvil unless `chain` is given), deploy.
        `periods` sets the settlement's epoch, challenge and withdrawal periods (seconds),
        `governance` the voting delay and period, timelock delay, threshold and quorum;
        `disputes` the validators' bonds, committee phases and slashing shares.
        `join` (a registry address or a deployment file) joins an existing deployment on
        `chain` instead of deploying; `gateways` are IPFS gateways to fetch content from."""
        th = TesseraHome(home)
        if join is not None and (chain is None or chain == IN_PROCESS):
            raise ConfigError(
                "--join needs --chain URL: the JSON-RPC URL of the chain the deployment lives on"
            )
        gateways = tuple(check_gateway(url) for url in gateways)
        if th.exists() and not force:
            raise ConfigError(
                f"{th.path} is already a Tessera home: use it, or pass --force to redeploy"
            )
        secret = _password(password)
        keystore = Keystore(th.keystore_dir, scrypt_n)
        names = {a.name for a in keystore.list()}
        info = (
            keystore.find("default") if "default" in names else keystore.create("default", secret)
        )
        deployer = keystore.unlock(info.name, secret)
        kind, url, connection = _open_chain(th, chain, anvil_port)
        for kept in keystore.list():  # accounts kept by --force need gas on a fresh chain too
            _ensure_gas(connection, kept.address)
        if join is None:
            deployment = deploy_contracts(connection, deployer, periods, governance, disputes)
            link_deployment(connection, deployer, deployment)
        else:
            deployment = joined_deployment(connection, join)
        config = HomeConfig(
            kind, url, deployment, info.name, anvil_port, scrypt_n, join is not None, gateways
        )
        # a fresh deployment can reuse an old one's addresses (same deployer, fresh chain):
        # caches named after them describe another chain's state
        node_dbs = th.path / "node" / th.node_db_prefix(deployment)
        for stale in (th.index_path(deployment), node_dbs):
            for path in stale.parent.glob(stale.name + "*"):
                path.unlink()
        th.save(config)
        return cls(th, config, connection, secret)

    def close(self) -> None:
        self.index.close()
        self.store.fetcher.close()

    @staticmethod
    def local_chain(home: Path | None = None) -> AnvilProcess:
        """The local chain (anvil) that `init` set up for a home, to start, stop or look at
        without opening the home (opening it starts the chain). Its state is saved under the
        home, so `stop()` then `start()` keeps every block."""
        th = TesseraHome(home)
        config = th.load()
        if config.chain_kind != "anvil":
            raise ConfigError(
                f"this home uses the chain at {config.chain_url}, not a local anvil: start and "
                "stop that chain where it runs"
            )
        return AnvilProcess(th.anvil_dir, config.anvil_port)

    # accounts -------------------------------------------------------------------------------

    def accounts(self) -> list[AccountInfo]:
        return self.keystore.list()

    def new_account(self, name: str) -> AccountInfo:
        info = self.keystore.create(name, _password(self._password))
        _ensure_gas(self.chain, info.address)
        return info

    def signer(self, account: str | None = None) -> LocalAccount:
        return self.keystore.unlock(
            account or self.config.default_account, _password(self._password)
        )

    def unlocked(self, account: str, password: str) -> Tessera:
        """This home acting as `account`, unlocked with `password` (checked now: a wrong one
        raises AccountError). The view signs as that account by default and shares this
        home's chain, store and index; drop it to lock the account again."""
        info = self.keystore.find(account)
        self.keystore.unlock(info.name, password)
        view = copy.copy(self)
        view._password = password
        view.config = replace(self.config, default_account=info.name)
        view.gov = Governance(
            self.chain, self.config.deployment, self.settlement, view.signer, view.address
        )
        return view

    def address(self, account: str | None = None) -> str:
        """The address of a local account's name, or `account` itself if it is an address."""
        if account and Web3.is_address(account):
            return Web3.to_checksum_address(account)
        return self.keystore.find(account or self.config.default_account).address

    # datanets and contributions ---------------------------------------------------------------

    def create_datanet(
        self, name: str, license: str, description: str = "", account: str | None = None
    ) -> DatanetRecord:
        return datanet_ops.create_datanet(
            self.registry, self.store, self.signer(account), name, license, description
        )

    def datanets(self) -> list[DatanetRecord]:
        return datanet_ops.list_datanets(self.registry)

    def datanet(self, name: str) -> datanet_ops.DatanetDetail:
        return datanet_ops.show_datanet(self.registry, self.store, self.index, name)

    def contribution_usage(self, cid: str) -> ContributionUsage:
        """Where a contribution was used: the settled answers that credited it (as context
        or as training data, with its weight and what it earned) and the model versions
        whose training snapshot holds it."""
        self.index.sync(self.registry, self.store)
        found = [c for c in self.index.find(cid) if c.signature_ok]
        uses, unread = self._usage.uses(cid)
        head = self.chain.block_number()
        versions = self.factory.models.published(self.config.deployment.block, head)
        models = [  # the same content may be in several datanets: any snapshot holding it
            v for v in versions
            if any(in_snapshot(v, c.datanet, self.index.batch_ids(c.datanet).index(c.batch))
                   for c in found)
        ]  # fmt: skip
        return ContributionUsage(cid, uses, models, unread)

    @cached_property
    def _usage(self) -> UsageIndex:
        return UsageIndex(self.settlement, self.store)

    def catch_up(self) -> None:
        """Read what the chain holds that this home has not indexed yet (the contracts' logs,
        new contribution batches), so that the next read does not wait for it."""
        self.chain.log_index.catch_up()
        self.index.sync(self.registry, self.store)

    def contributions_by(
        self, account: str, offset: int = 0, limit: int = 50
    ) -> tuple[int, list[IndexedContribution]]:
        """How many validly signed contributions `account` (a name or an address) made in
        every datanet, and `limit` of them from `offset`, newest first."""
        who = self.address(account)
        self.index.sync(self.registry, self.store)
        return self.index.count_by(who), self.index.by_contributor(who, offset, limit)

    def contribute(
        self,
        datanet: str,
        paths: Sequence[Path],
        account: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Progress | None = None,
    ) -> IngestReport:
        ctx = IngestContext(self.registry, self.store, self.index, self.domain)
        return ingest(
            ctx, datanet, [Path(p) for p in paths], self.signer(account), batch_size, progress
        )

    def prove(self, cid: str) -> datanet_ops.ContributionProof:
        return datanet_ops.prove_contribution(self.registry, self.store, self.index, cid)

    def content(self, cid: str) -> bytes:
        """The bytes of a contribution, checked against its CID."""
        return self.store.get(cid)

    # models ----------------------------------------------------------------------------------

    def model_owner(self, model_id: str, weights_digest: str) -> str | None:
        """Whom the royalty of this exact model version is paid to: the owner governance named
        when it approved it (`gov.actions.approve_model`); None: the treasury."""
        raw = weights_digest.lower().removeprefix("0x")
        if len(raw) != 64 or any(c not in "0123456789abcdef" for c in raw):
            raise InputError(
                f"{weights_digest!r} is not a weights digest: give the 64-hex-digit sha256 a "
                "node shows in /v1/models (`weights_digest`)"
            )
        return self.gov.policy.model_owner(model_id, "0x" + raw)

    def publish_model(
        self, path: Path | None = None, model_id: str = "gemma-3-270m"
    ) -> ModelManifest:
        """Put a model folder's files (default: the default model's) and their manifest into
        this home's store, which its node serves at /ipfs; `manifest.cid` names the version."""
        # here, not at the top: the models package loads torch, and `import tessera` must not
        from tessera._models.gguf_cache import default_gemma_dir
        from tessera._models.publication import publish_model

        folder = Path(path) if path is not None else default_gemma_dir()
        return publish_model(self.store, folder, model_id)

    @cached_property
    def factory(self) -> ModelFactory:
        """Train, import, publish, show and trace this home's adapters (`_factory`)."""
        from tessera._chain.models import ModelRegistryClient
        from tessera._factory.factory import ModelFactory

        models = ModelRegistryClient(self.chain, self.config.deployment.models)
        return ModelFactory(
            self.registry, models, self.gov.policy, self.store, self.index, self.home.path
        )

    def train_model(
        self,
        name: str,
        datanets: list[str],
        settings: TrainSettings | None = None,
        base: Path | None = None,
        block: int | None = None,
        account: str | None = None,
        progress: Callable[[TrainProgress], None] | None = None,
    ) -> TrainedModel:
        """Fine-tune LoRA adapter `name` (HOME/adapters/NAME) on a snapshot of `datanets` at
        `block` (default: now), over `base` (default: Gemma 3 270M); resumes a killed run."""
        from tessera._models.training import TrainSettings

        return self.factory.train(
            self.address(account), name, datanets, _base_model(base),
            settings or TrainSettings(), block, progress,
        )  # fmt: skip

    def import_adapter(
        self,
        source: Path,
        name: str,
        datanets: list[str],
        base: Path | None = None,
        account: str | None = None,
    ) -> Path:
        """Copy a PEFT adapter trained elsewhere into this home under `name`, its training
        data declared (`datanets`), not proven; publish it with `factory.publish`."""
        base_folder, base_model = _base_model(base)
        return self.factory.import_peft(
            self.address(account), Path(source), name, datanets, base_folder, base_model
        )

    def fetch_model(
        self, manifest_cid: str, expected_digest: str | None = None, allow_unapproved: bool = False
    ) -> Path:
        """The folder home/models/DIGEST of the model `manifest_cid` names, fetched from the
        network and verified unless it is there. Its digest must be `expected_digest` or, when
        none is given, one governance approved for its id (unless `allow_unapproved`)."""
        from tessera._models.publication import fetch_model, read_manifest

        manifest = read_manifest(self.store, manifest_cid)
        vetted = expected_digest is not None or allow_unapproved
        if not vetted and not self.gov.policy.snapshot().model_approved(
            manifest.model_id, manifest.weights_digest
        ):
            raise ModelError(
                f"model {manifest_cid} ({manifest.model_id} at {manifest.weights_digest}) "
                "is not approved by governance: pass the digest you expect, or allow "
                "unapproved models to fetch it anyway"
            )
        into = self.home.path / "models" / manifest.weights_digest
        return fetch_model(self.store, manifest_cid, into, expected_digest)

    # money -----------------------------------------------------------------------------------

    def channel_history(self, account: str | None = None) -> list[ChannelEvent]:
        """Every move of the account's escrow, newest first: deposits, moves between nodes,
        withdrawals, and what each node redeemed from its vouchers (what answers cost)."""
        return channel_history(self.settlement, self.address(account))

    def kept_receipts(self, account: str | None = None) -> list[Receipt]:
        """The receipts this home kept for answers `account` paid for, newest first (read
        from the receipts folder `ask` writes; a file that does not load is left out)."""
        who = self.address(account).lower()
        found = []
        for path in sorted((self.home.path / "receipts").glob("*.json")):
            try:
                receipt = self.load_receipt(path)
            except TesseraError:
                continue
            if receipt.client.lower() == who:
                found.append(receipt)
        return sorted(found, key=lambda r: r.timestamp, reverse=True)

    def wallet(self, account: str | None = None) -> Wallet:
        """An account's tokens and each of its escrow channels (node, balance, withdrawal)."""
        address = self.address(account)
        return Wallet(
            address,
            self.settlement.token.balance_of(address),
            tuple(self.settlement.channels(address)),
        )

    def transfer(self, amount: int, to: str, account: str | None = None) -> None:
        self.settlement.token.transfer(self.signer(account), self.address(to), amount)

    def deposit(self, amount: int, node: str, account: str | None = None) -> Wallet:
        """Commit tokens to this account's channel to `node` (an address or a local account's
        name), from which that node alone redeems the vouchers this account signs it."""
        node = self._node_address(node)
        signer = self.signer(account)
        held = self.settlement.token.balance_of(signer.address)
        if held < amount:
            raise InputError(
                f"{signer.address} holds {format_tsr(held)} TSR, less than the "
                f"{format_tsr(amount)} to deposit: have tokens sent to it first "
                "(`tessera transfer AMOUNT ACCOUNT` from an account that holds some)"
            )
        self.settlement.deposit(signer, node, amount)
        return self.wallet(account)

    def request_withdrawal(self, amount: int, node: str, account: str | None = None) -> Withdrawal:
        """Start the withdrawal delay of the channel to `node`; it can still redeem the
        vouchers this account signed it meanwhile."""
        node = self._node_address(node)
        signer = self.signer(account)
        held = self.settlement.balance(signer.address, node)
        if not 0 < amount <= held:
            raise InputError(
                f"the channel of {signer.address} to {node} holds {format_tsr(held)} TSR: "
                f"withdraw more than 0 and at most that (`tessera wallet` shows each channel)"
            )
        return self.settlement.request_withdrawal(signer, node, amount)

    def withdraw(self, node: str, account: str | None = None) -> int:
        """Pay out the channel's withdrawal once its delay is over: what is left of it after
        the node's redemptions meanwhile."""
        return self.settlement.withdraw(self.signer(account), self._node_address(node))

    def _node_address(self, node: str) -> str:
        """A node's address from an address or a local account's name; one sentence if not."""
        if Web3.is_address(node) and int(node, 16) != 0:
            return Web3.to_checksum_address(node)
        if node and node in {a.name for a in self.accounts()}:
            return self.address(node)
        raise InputError(
            f"{node!r} is not a node: give the 0x-address of the node whose channel it is "
            "(`tessera nodes` lists them) or a local account's name"
        )

    def payer(self, account: str | None = None) -> Payer:
        """Signs this account's vouchers for `NodeClient(url, payer=...)`."""
        return self._payer(self.signer(account))

    def _payer(self, client: LocalAccount | str) -> Payer:
        """A local key's payer, or the books of a client that signs in its own wallet."""
        return Payer(
            client,
            self.chain.chain_id,
            self.settlement.address,
            self.home.path / "channels.json",
            self.config.deployment.registry,
        )

    def sign_voucher(self, node: str, amount: int, account: str | None = None) -> Voucher:
        """A voucher letting `node` redeem up to `amount` (cumulative) from this account's
        escrow: a budget to send as the X-Tessera-Voucher header from any HTTP client."""
        signer = self.signer(account)
        unsigned = Voucher(
            signer.address, self.address(node), amount, self.chain.chain_id, self.settlement.address
        )
        return unsigned.signed_by(signer)

    def sign_request(
        self, node: str, body: dict[str, Any], account: str | None = None
    ) -> ClientAuthorization:
        """This account's authorization of one request `body` to `node`, with a fresh nonce:
        a paid node refuses a request without it (`.to_header()` is the X-Tessera-Authorization
        header's value, beside the voucher)."""
        return sign_request(self.payer(account), self.address(node), body)

    def settle_epoch(self, account: str | None = None) -> SettleResult | None:
        """Settle this home's node's next epoch (the node does it on its own when running).
        Receipts that cannot be redeemed now are kept: `node_status` names them."""
        with self._settler(account) as settler:
            return settler.settle()

    def node_status(self, account: str | None = None) -> SettlementStatus:
        """What the node of `account` is owed and has settled, and what it cannot collect."""
        with self._settler(account) as settler:
            return settler.status()

    def node_parts(self, account: str | None = None) -> NodeParts:
        """The parts a node of `account` is built from (`tessera.build_node(parts, config)`)."""
        return NodeParts(
            self.home,
            self.config.deployment,
            self.chain,
            self.registry,
            self.settlement,
            PolicyClient(self.chain, self.config.deployment.policy),
            self.staking,
            self.store,
            self.signer(account),
        )

    @contextmanager
    def _settler(self, account: str | None) -> Iterator[EpochSettler]:
        from tessera._payments.epochs import EpochSettler
        from tessera._payments.ledger import open_node_db

        signer = self.signer(account)
        db = open_node_db(self.home, self.config.deployment, signer.address)
        try:
            yield EpochSettler(
                self.settlement,
                self.gov.policy,
                self.store,
                db,
                signer,
                self.home.settle_lock_path(signer.address),
            )
        finally:
            db.close()

    def claim(self, account: str | None = None) -> list[ClaimResult]:
        """Claim what every node owes this account through its latest claimable epoch."""
        return claim_all(self.settlement, self.store, self.signer(account))

    def earnings(self, account: str | None = None) -> Earnings:
        return earnings(self.settlement, self.store, self.address(account))

    def audit_epoch(self, epoch: int, node: str | None = None) -> AuditReport:
        """Re-verify a posted epoch from its bundle and the chain (default node: the only one
        that posted, or this home's default account)."""
        if node is None:
            nodes = self.settlement.nodes_with_epochs()
            node = nodes[0] if len(nodes) == 1 else self.address()
        node = self.address(node)
        report = audit_epoch(self.settlement, self.gov.policy, self.store, node, epoch)
        return with_challenges(report, self.challenges(node))

    # a browser wallet's transactions: built here for an address, signed and sent by the wallet

    def vote_transactions(
        self, sender: str, proposal_id: int, support: str, reason: str = ""
    ) -> list[dict[str, str]]:
        """The unsigned vote of `sender` (a wallet's address) for `eth_sendTransaction`."""
        return self._wallet_governance.vote(sender, proposal_id, support, reason)

    def queue_transactions(self, sender: str, proposal_id: int) -> list[dict[str, str]]:
        return self._wallet_governance.queue(sender, proposal_id)

    def execute_transactions(self, sender: str, proposal_id: int) -> list[dict[str, str]]:
        return self._wallet_governance.execute(sender, proposal_id)

    def delegate_transactions(self, sender: str) -> list[dict[str, str]]:
        """Delegating `sender`'s votes to itself."""
        return self._wallet_governance.delegate(sender)

    def delegation_typed_data(self, delegator: str, delegatee: str | None = None) -> dict[str, Any]:
        """The EIP-712 typed data by which `delegator` (a wallet's address) delegates its votes
        to `delegatee` (an address; default: itself), for `eth_signTypedData_v4`: its next
        nonce, valid for 15 minutes. Anyone may relay the signature (`relay_delegation`)."""
        return self._delegations.typed_data(delegator, delegatee or delegator)

    def relay_delegation(
        self,
        delegator: str,
        delegatee: str,
        nonce: int,
        expiry: int,
        signature: SignatureInput,
        relayer: str | None = None,
    ) -> str:
        """Send `delegator`'s signed delegation (the values of `delegation_typed_data` and its
        signature: 0x-hex, bytes or (v, r, s)) from `relayer` (default: this home's default
        account), which pays the gas; the transaction hash. Refused before anything is sent
        unless `delegator` signed it, by the token's rules, unexpired and at its next nonce."""
        call = self._delegations.checked(
            delegator, delegatee, nonce, expiry, signature, self.address(relayer)
        )
        return self._delegations.send(call, self.signer(relayer))

    def deposit_transactions(self, sender: str, node: str, amount: int) -> list[dict[str, str]]:
        """Approval (where needed) and deposit, to send in order."""
        return self._wallet_payments.deposit(sender, node, amount)

    def claim_transactions(self, sender: str) -> list[dict[str, str]]:
        """One claim per node that owes `sender` something now."""
        return self._wallet_payments.claim(sender)

    def voucher_typed_data(self, client: str, node: str, amount: int) -> dict[str, Any]:
        """The EIP-712 typed data of a voucher from `client` to `node` for a wallet's
        `eth_signTypedData_v4`; its signature is the voucher's (`Voucher.verify`)."""
        client, node = wallet_address(client, "the client"), wallet_address(node, "the node")
        if amount <= 0:
            raise InputError("a voucher lets a node redeem a positive amount of TSR")
        voucher = Voucher(client, node, amount, self.chain.chain_id, self.settlement.address)
        return voucher.wallet_typed_data()

    def transaction(self, tx_hash: str) -> tuple[Any, Any]:
        """A mined transaction and its receipt, as web3 gives them; InputError for what is not
        a hash, NotFoundError if this chain has not mined it."""
        return mined_transaction(self.chain, tx_hash)

    def transaction_status(self, tx_hash: str) -> str:
        """`pending`, `succeeded` or `reverted`."""
        return transaction_status(self.chain, tx_hash)

    @cached_property
    def _wallet_governance(self) -> GovernanceTransactions:
        return GovernanceTransactions(self.chain, self.gov.governor, self.settlement.token)

    @cached_property
    def _delegations(self) -> DelegationRelay:
        return DelegationRelay(self.chain, self.settlement.token)

    @cached_property
    def _wallet_payments(self) -> PaymentTransactions:
        return PaymentTransactions(self.settlement, self.store)

    # validators -----------------------------------------------------------------------------

    @cached_property
    def disputes(self) -> DisputesClient:
        return DisputesClient(self.chain, self.config.deployment.disputes)

    def stake_validator(self, amount: int, account: str | None = None) -> int:
        """Bond `amount` more as a validator; returns the validator's stake after it."""
        if amount <= 0:
            raise InputError("stake a positive amount of TSR as a validator, e.g. --stake 1000")
        signer = self.signer(account)
        self.disputes.stake_validator(signer, amount)
        return self.disputes.validator_stake(signer.address)

    def validator_parts(self, account: str | None = None) -> ValidatorParts:
        """The parts a validator of `account` is built from (`tessera.build_validator`)."""
        return ValidatorParts(self.node_parts(account), self.disputes)

    def challenges(self, node: str | None = None) -> list[Challenge]:
        """Every challenge on chain (or those against `node`), oldest first."""
        found = self.disputes.challenges(self.config.deployment.block)
        if node is None:
            return found
        wanted = Web3.to_checksum_address(node)
        return [c for c in found if Web3.to_checksum_address(c.node) == wanted]

    def refund_voided(self, node: str) -> dict[str, int]:
        """Refund every voided, unrefunded epoch of `node` to the clients it redeemed from
        (anyone may send it); returns the amount per client."""
        paid: dict[str, int] = {}
        for epoch in range(self.settlement.epoch_count(node)):
            if self.settlement.is_voided(node, epoch) and not self.settlement.is_refunded(
                node, epoch
            ):
                refunds = self.settlement.refunds(node, epoch)
                self.settlement.refund(self.signer(), node, epoch, refunds)
                for r in refunds:
                    paid[r.client] = paid.get(r.client, 0) + r.amount
        return paid

    # the network -----------------------------------------------------------------------------

    def nodes(self) -> list[NetworkNode]:
        """Every registered node: stake, models (approved or not), prices, live health."""
        return NodeDirectory(self.staking, self.gov.policy, self.chain.chain_id).nodes()

    def network_node(self, address: str) -> NetworkNode | None:
        """One registered node as `nodes` lists it, only it probed; None if it never
        registered."""
        directory = NodeDirectory(self.staking, self.gov.policy, self.chain.chain_id)
        return directory.node(self.address(address))

    def register_node(self, endpoint: str, stake: int, account: str | None = None) -> NodeRecord:
        """Bond `stake` and list the node at `endpoint` with the metadata it serves now. It
        must answer as `account` and serve the metadata from this home's store; the stake
        must meet the minimum and be held. Each is checked before any gas is spent."""
        return registration.register(
            self.staking, self.store, self.signer(account), endpoint, stake, self.chain.chain_id
        )

    def update_node(self, endpoint: str | None = None, account: str | None = None) -> NodeRecord:
        """List what the node serves now (models, prices), at `endpoint` if it moved."""
        return registration.update(
            self.staking, self.store, self.signer(account), endpoint, self.chain.chain_id
        )

    def leave_network(self, account: str | None = None) -> NodeRecord:
        """Unlist the node; its stake unbonds and can be withdrawn after the delay."""
        signer = self.signer(account)
        registration.registered(self.staking, signer.address)
        self.staking.leave(signer)
        return self.staking.node(signer.address)

    def withdraw_stake(self, account: str | None = None) -> int:
        """Withdraw stake whose unbonding delay is over; returns the amount paid."""
        signer = self.signer(account)
        return registration.withdraw(self.staking, signer)

    # asking and receipts ---------------------------------------------------------------------

    def ask(
        self,
        question: str,
        node: str | None = None,
        model: str | None = None,
        account: str | None = None,
    ) -> AskResult:
        """Ask the network, paying with vouchers `account` signs: the nodes the selection rule
        picks, in turn, until one answers (`node`, a URL or a registered address, pins one).
        `result.node` is the node that answered, `result.passed_over` the others and why. The
        receipt is checked (signature and hashes) and saved under the home's receipts folder:
        `result.saved` says where. One that does not check out raises SignatureError and is
        not kept."""
        result = ask_network(self.nodes, self.payer(account), question, node, model)
        if result.receipt is None:
            return result
        return replace(result, saved=self.save_receipt(result.receipt))

    def prepare_ask(
        self, client: str, question: str, node: str | None = None, model: str | None = None
    ) -> UnsignedAsk:
        """A question for `client` to sign in its own wallet: the first node the selection
        rule picks (`node` pins one), asked what it may cost. `.typed_data()` is what `ask`
        would sign with a local key (the request's authorization, the voucher for the
        channel's cumulative amount), for `eth_signTypedData_v4`; send the signatures with
        `ask_signed`."""
        client = wallet_address(client, "the client")
        return wallet_asking.prepare(self.nodes, self._payer(client), question, node, model)

    def ask_signed(self, unsigned: UnsignedAsk, signatures: Sequence[object]) -> AskResult:
        """Ask as `ask` does with the two signatures of `unsigned.typed_data()`, in order.
        Both are checked by the node's rules first: SignatureError unless the client made
        them, and nothing is sent. The receipt is checked and saved as `ask` saves it."""
        result = wallet_asking.send(unsigned, signatures, self._payer(unsigned.client))
        if result.receipt is None:
            return result
        return replace(result, saved=self.save_receipt(result.receipt))

    def save_receipt(self, receipt: Receipt) -> Path:
        """Check a receipt's signature and hashes, then keep it as receipts/ID.json in the
        home; one that does not check out raises SignatureError and is not written."""
        receipt.verify()
        if not _RECEIPT_ID.fullmatch(receipt.id):
            raise InputError(
                f"the receipt's id {receipt.id[:80]!r} is not a plain name (letters, digits, "
                "- and _): it is not saved; ask the node's operator why it sends such ids"
            )
        folder = self.home.path / "receipts"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{receipt.id}.json"
        path.write_text(json.dumps(receipt.to_json(), indent=2) + "\n")
        return path

    def receipt(self, receipt_id: str) -> Receipt:
        """A receipt this home kept (`ask` keeps every one that checked out), by its id."""
        if not _RECEIPT_ID.fullmatch(receipt_id):
            raise InputError(f"{receipt_id[:80]!r} is not a receipt id (letters, digits, - and _)")
        path = self.home.path / "receipts" / f"{receipt_id}.json"
        if not path.exists():
            raise NotFoundError(f"this home keeps no receipt {receipt_id}: ask a question first")
        return self.load_receipt(path)

    @staticmethod
    def load_receipt(path: Path) -> Receipt:
        """Read a receipt file (as `ask` saves them); check it with `receipt.verify()` (offline)
        or `verify_receipt` (against this chain too)."""
        try:
            body = json.loads(Path(path).read_text())
        except OSError as exc:
            raise InputError(
                f"cannot read {path} ({exc.strerror or exc}): pass a receipt file saved by "
                "`tessera ask`"
            ) from None
        except ValueError:
            raise InputError(
                f"{path} is not JSON: pass a receipt file saved by `tessera ask`"
            ) from None
        return Receipt.from_json(body)

    def verify_receipt(self, receipt: Receipt) -> None:
        """Check a node's receipt: its signature and hashes, then against this chain, that
        every datanet snapshot it names is real and every attributed contribution is a signed
        contribution of that contributor to that datanet. Raises SignatureError on a mismatch."""
        receipt.verify()
        if receipt.chain_id != self.chain.chain_id:
            raise SignatureError(
                f"the receipt is for chain {receipt.chain_id}, this home is on "
                f"chain {self.chain.chain_id}: verify it from a home on that chain"
            )
        for snap in receipt.datanets:
            root = datanet_ops.chain_snapshot_root(self.registry, snap.datanet, snap.batches)
            if root != snap.root:
                raise SignatureError(
                    f"the receipt's snapshot of datanet #{snap.datanet} "
                    f"({snap.batches} batches) does not match the chain"
                )
        self.index.sync(self.registry, self.store)
        served = {snap.datanet for snap in receipt.datanets}
        # context sources come from the snapshots it names; training sources from the
        # adapter's own training snapshot, which `trace_receipt` checks against the chain
        for source, retrieved in [
            *((s, True) for s in receipt.attribution),
            *((s, False) for s in receipt.training),
        ]:
            found = [
                c
                for c in self.index.find(source.cid)
                if c.datanet == source.datanet and c.signature_ok
            ]
            if (
                (retrieved and source.datanet not in served)
                or not found
                or found[0].contributor.lower() != source.contributor.lower()
            ):
                raise SignatureError(
                    f"the receipt credits {source.contributor} for {source.cid} "
                    f"in datanet #{source.datanet}, which the chain does not show"
                )


def _base_model(base: Path | None) -> tuple[Path, str]:
    """(folder, id) of the base model adapters are trained on: the default Gemma 3 270M."""
    from tessera._models.gguf_cache import default_gemma_dir

    if base is None:
        return default_gemma_dir(), "gemma-3-270m"
    return Path(base), f"local/{Path(base).name}"


def _ensure_gas(chain: Chain, address: str) -> None:
    """Local dev chains fund new accounts; elsewhere the user must have funded them."""
    address = Web3.to_checksum_address(address)
    if chain.w3.eth.get_balance(address) >= DEV_FUNDING_WEI // 10:
        return
    try:
        chain.fund(address, DEV_FUNDING_WEI)
    except ChainError:
        if chain.w3.eth.get_balance(address) == 0:
            raise ChainError(
                f"account {address} has no ETH for gas on chain {chain.chain_id} and the chain "
                "has no dev account to fund it: send it some ETH, then run the command again"
            ) from None
