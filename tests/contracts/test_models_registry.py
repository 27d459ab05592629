"""models.vy and its client on every backend: ids and digests bound to their first builder,
snapshots checked against the datanet registry, versions appended and traceable, and every
refusal, the contract's with its exact reason and the client's before any gas is spent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tessera._chain.client import IN_PROCESS, Chain
from tessera._chain.deploy import Deployment, check_deployment, deploy_contracts
from tessera._chain.join import joined_deployment, link
from tessera._chain.models import MAX_DATANETS, ModelRecord, ModelRegistryClient, Snapshot
from tessera._errors import ChainError, ContractRevert, InputError, NotFoundError

MODEL = "alice/wiki-adapter"
MANIFEST = "bafkreimanifest"


def digest(label: str) -> str:
    return "0x" + keccak(text=label).hex()


ZERO32 = "0x" + "00" * 32
BASE, ROOT, CONFIG = digest("base"), digest("contributions"), digest("config")


@pytest.fixture
def funded(chain: Chain) -> Callable[[], LocalAccount]:
    """Overrides the backends' (100 ETH each): one ETH pays every test's gas here, and the
    session's anvil funds each test file from the same dev account."""

    def make() -> LocalAccount:
        account = Account.create()
        chain.fund(account.address, 10**18)
        return account

    return make


@pytest.fixture
def datanets(registry, owner) -> tuple[int, int]:
    """Datanet 1 with two batches, datanet 2 with one."""
    first = registry.create_datanet(owner, "wiki", "CC-BY-4.0", "bafkreimeta")
    second = registry.create_datanet(owner, "code", "MIT", "bafkreimeta")
    for datanet, batch in ((first, 0), (first, 1), (second, 0)):
        add_batch(registry, owner, datanet, batch)
    return first, second


def add_batch(registry, sender, datanet: int, label: int) -> None:
    root = keccak(text=f"batch {datanet} {label}")
    registry.register_batch(sender, datanet, root, 3, b"\x01" * 32, 1, "bafkreibatch")


@pytest.fixture
def models(chain, owner, registry, datanets) -> ModelRegistryClient:
    return ModelRegistryClient(chain, chain.deploy("models", owner, registry.address))


@pytest.fixture
def builder(funded):
    return funded()


@pytest.fixture
def other(funded):
    return funded()


SNAPSHOT = Snapshot((1, 2), (2, 1))


def fields(**changes: Any) -> dict[str, Any]:
    """A valid publish's arguments (past the sender), with `changes`."""
    values = {
        "model_id": MODEL,
        "weights_digest": digest("weights 1"),
        "base_digest": BASE,
        "manifest_cid": MANIFEST,
        "snapshot": SNAPSHOT,
        "data_root": ROOT,
        "data_count": 42,
        "config_hash": CONFIG,
        "data_proven": True,
    }
    return {**values, **changes}


def raw_publish(models: ModelRegistryClient, sender, **changes: Any) -> None:
    """Publish straight to the contract, past the client's checks."""
    f = fields(**changes)
    fn = models.contract.functions.publish(
        f["model_id"],
        bytes.fromhex(f["weights_digest"][2:]),
        bytes.fromhex(f["base_digest"][2:]),
        f["manifest_cid"],
        list(f["snapshot"].datanets),
        list(f["snapshot"].batch_counts),
        bytes.fromhex(f["data_root"][2:]),
        f["data_count"],
        bytes.fromhex(f["config_hash"][2:]),
        f["data_proven"],
    )
    models.chain.transact(fn, sender)


def state(models: ModelRegistryClient) -> tuple:
    """Everything a publish can change, for checking that a refused one changed nothing."""
    ids = models.model_ids()
    return (
        ids,
        [models.versions(i) for i in ids],
        models.builder(MODEL),
        models.by_digest(digest("weights 1")),
        models.by_digest(digest("weights 2")),
    )


def nonce(chain: Chain, account) -> int:
    return chain.w3.eth.get_transaction_count(account.address)


# publishing -------------------------------------------------------------------------------


def test_a_publish_records_its_provenance_and_binds_the_id(chain, models, builder):
    record = models.publish(builder, **fields())
    assert record == ModelRecord(
        version=1,
        builder=builder.address,
        block=chain.block_number(),
        **fields(),
    )
    assert models.builder(MODEL) == builder.address
    assert models.versions(MODEL) == [record]
    assert models.latest(MODEL) == record
    assert models.model_ids() == [MODEL]
    assert models.by_digest(digest("weights 1")) == record
    digest_raw = keccak(text="weights 1")
    f = models.contract.functions
    assert chain.call(f.digest_builder(digest_raw)) == builder.address
    assert chain.call(f.digest_model(digest_raw)) == MODEL
    assert chain.call(f.digest_version(digest_raw)) == 1


def test_declared_data_needs_no_root(models, builder):
    record = models.publish(builder, **fields(data_root=ZERO32, data_count=0, data_proven=False))
    assert (record.data_root, record.data_count, record.data_proven) == (ZERO32, 0, False)


def test_the_event_names_the_version(chain, models, builder):
    models.publish(builder, **fields())
    (event,) = models.contract.events.ModelPublished().get_logs(from_block=0)
    assert event.args.model_key == keccak(text=MODEL)
    assert (event.args.builder, event.args.model_id, event.args.version) == (
        builder.address,
        MODEL,
        1,
    )
    assert event.args.weights_digest == keccak(text="weights 1")
    assert (event.args.datanets, event.args.batch_counts) == ([1, 2], [2, 1])


# binding: nobody squats an id or a digest -------------------------------------------------


def test_only_the_builder_publishes_under_its_model_id(models, builder, other, refused):
    models.publish(builder, **fields())
    before = state(models)
    with refused("models: model id bound to another builder"):
        raw_publish(models, other, weights_digest=digest("weights 2"))
    assert state(models) == before
    sent = nonce(models.chain, other)
    with pytest.raises(ChainError) as caught:
        models.publish(other, **fields(weights_digest=digest("weights 2")))
    assert f"bound to its builder {builder.address}" in str(caught.value)
    assert nonce(models.chain, other) == sent  # refused before any transaction
    assert state(models) == before


def test_a_digest_is_published_once_by_anyone_under_any_id(models, builder, other, refused):
    models.publish(builder, **fields())
    before = state(models)
    for sender, model_id in ((other, "mallory/copy"), (builder, MODEL), (builder, "alice/2")):
        with refused("models: digest already published"):
            raw_publish(models, sender, model_id=model_id)
        with pytest.raises(ChainError) as caught:
            models.publish(sender, **fields(model_id=model_id))
        assert f"already published as version 1 of {MODEL!r}" in str(caught.value)
    assert state(models) == before
    assert models.builder("mallory/copy") is None


def test_a_revert_the_client_did_not_foresee_reads_as_a_sentence(
    models, builder, other, monkeypatch
):
    """Between the client's check and the transaction, someone took the id: the revert
    keeps the contract's reason and says what to do."""
    models.publish(builder, **fields())
    monkeypatch.setattr(ModelRegistryClient, "_check_free", lambda *args: None)
    with pytest.raises(ContractRevert) as caught:
        models.publish(other, **fields(weights_digest=digest("weights 2")))
    assert caught.value.reason == "models: model id bound to another builder"
    assert "publish under a name of your own" in str(caught.value)
    assert models.versions(MODEL) == [models.by_digest(digest("weights 1"))]


# the snapshot, checked against the registry ------------------------------------------------

BAD_SNAPSHOTS = [
    (Snapshot((), ()), "models: empty snapshot", InputError),
    (Snapshot((1,), ()), "models: one batch count per datanet", InputError),
    (Snapshot((1, 2), (1,)), "models: one batch count per datanet", InputError),
    (Snapshot((0,), (1,)), "models: unknown datanet", InputError),
    (Snapshot((3,), (1,)), "models: unknown datanet", NotFoundError),
    (Snapshot((1, 3), (1, 1)), "models: unknown datanet", NotFoundError),
    (Snapshot((2, 1), (1, 1)), "models: datanets not increasing", InputError),
    (Snapshot((1, 1), (1, 1)), "models: datanets not increasing", InputError),
    (Snapshot((1, 2), (1, 0)), "models: no batches of a datanet", InputError),
    (Snapshot((1,), (3,)), "models: more batches than the datanet has", InputError),
    (Snapshot((1, 2), (2, 2)), "models: more batches than the datanet has", InputError),
]


@pytest.mark.parametrize(("snapshot", "reason", "error"), BAD_SNAPSHOTS)
def test_a_bad_snapshot_is_refused(models, builder, refused, snapshot, reason, error):
    with refused(reason):
        raw_publish(models, builder, snapshot=snapshot)
    sent = nonce(models.chain, builder)
    with pytest.raises(error):
        models.publish(builder, **fields(snapshot=snapshot))
    assert nonce(models.chain, builder) == sent
    assert state(models) == ([], [], None, None, None)


def test_a_snapshot_may_name_some_datanets_and_some_batches(models, builder):
    record = models.publish(builder, **fields(snapshot=Snapshot((2,), (1,))))
    assert record.snapshot == Snapshot((2,), (1,))


def test_a_datanet_without_batches_cannot_be_trained_on(models, registry, owner, builder, refused):
    empty = registry.create_datanet(owner, "empty", "MIT", "bafkreimeta")
    snapshot = Snapshot((1, empty), (1, 1))
    with refused("models: more batches than the datanet has"):
        raw_publish(models, builder, snapshot=snapshot)
    with pytest.raises(InputError) as caught:
        models.publish(builder, **fields(snapshot=snapshot))
    assert f"datanet {empty}, which has 0" in str(caught.value)


def test_the_client_bounds_a_snapshot_as_the_contract_does(models, builder):
    many = Snapshot(tuple(range(1, MAX_DATANETS + 2)), (1,) * (MAX_DATANETS + 1))
    with pytest.raises(InputError) as caught:
        models.publish(builder, **fields(snapshot=many))
    assert f"1 to {MAX_DATANETS} datanets" in str(caught.value)
    with pytest.raises(InputError):
        models.publish(builder, **fields(snapshot=([1], [1])))


# versions are appended, never changed ------------------------------------------------------


def test_new_versions_append_and_old_ones_stay_traceable(models, registry, owner, builder):
    first = models.publish(builder, **fields())
    add_batch(registry, owner, 2, 1)  # datanet 2 grows; the new version trains on both batches
    second = models.publish(
        builder, **fields(weights_digest=digest("weights 2"), snapshot=Snapshot((1, 2), (2, 2)))
    )
    assert (first.version, second.version) == (1, 2)
    assert second.block > first.block
    assert models.versions(MODEL) == [first, second]
    assert models.latest(MODEL) == second
    assert models.by_digest(digest("weights 1")) == first  # the old version, as published
    assert models.by_digest(digest("weights 2")) == second
    assert models.version_count(MODEL) == 2
    assert models.model_ids() == [MODEL]  # one model, two versions


def test_the_logs_give_each_version_as_its_record_and_only_in_the_blocks_asked(
    models, builder, other
):
    start = models.head()
    first = models.publish(builder, **fields())
    bob = models.publish(other, **fields(model_id="bob/code", weights_digest=digest("bob 1")))
    second = models.publish(builder, **fields(weights_digest=digest("weights 2")))
    assert models.published(start + 1, models.head()) == [first, bob, second]
    assert models.published(second.block, second.block) == [second]
    assert models.published(second.block + 1, models.head()) == []


def test_model_ids_are_listed_in_order_of_first_publication(models, builder, other):
    models.publish(other, **fields(model_id="bob/code", weights_digest=digest("bob 1")))
    models.publish(builder, **fields())
    models.publish(other, **fields(model_id="bob/code", weights_digest=digest("bob 2")))
    assert models.model_ids() == ["bob/code", MODEL]
    assert (models.builder("bob/code"), models.builder(MODEL)) == (other.address, builder.address)


# views -------------------------------------------------------------------------------------


def test_an_unpublished_model_reads_as_absent(chain, models, builder, refused):
    models.publish(builder, **fields())
    assert models.builder("nobody") is None
    assert models.latest("nobody") is None
    assert models.versions("nobody") == []
    assert models.by_digest(digest("weights 2")) is None
    for number in (0, 2):
        with pytest.raises(NotFoundError):
            models.version(MODEL, number)
    with refused("models: unknown version"):
        chain.call(models.contract.functions.version(MODEL, 2))
    with refused("models: index out of range"):
        chain.call(models.contract.functions.model_id_at(1))
    assert chain.call(models.contract.functions.digest_builder(b"\x05" * 32)) == "0x" + "0" * 40
    assert models.registry.address == chain.call(models.contract.functions.registry())


# every field is checked by the contract and by the client first ----------------------------

BAD_FIELDS = [
    ({"model_id": ""}, "models: empty model id"),
    ({"weights_digest": ZERO32}, "models: zero weights digest"),
    ({"base_digest": ZERO32}, "models: zero base digest"),
    ({"manifest_cid": ""}, "models: empty manifest cid"),
    ({"config_hash": ZERO32}, "models: zero config hash"),
    ({"data_root": ZERO32}, "models: proven data without a root"),
    ({"data_count": 0}, "models: proven data without a count"),
]


@pytest.mark.parametrize(("changes", "reason"), BAD_FIELDS)
def test_an_empty_or_zero_field_is_refused(models, builder, refused, changes, reason):
    with refused(reason):
        raw_publish(models, builder, **changes)
    sent = nonce(models.chain, builder)
    with pytest.raises(InputError):
        models.publish(builder, **fields(**changes))
    assert nonce(models.chain, builder) == sent
    assert state(models) == ([], [], None, None, None)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"model_id": "x" * 129}, "1 to 128 bytes"),
        ({"model_id": "é" * 65}, "1 to 128 bytes"),  # 130 bytes in 65 characters
        ({"manifest_cid": "b" * 129}, "1 to 128 bytes"),
        ({"weights_digest": "0x1234"}, "64 hex digits"),
        ({"weights_digest": "12" * 32}, "64 hex digits"),
        ({"base_digest": "0x" + "zz" * 32}, "64 hex digits"),
        ({"config_hash": b"\x01" * 32}, "64 hex digits"),
        ({"data_count": -1}, "whole number"),
        ({"data_count": True}, "whole number"),
        ({"data_proven": 1}, "True or False"),
    ],
)
def test_the_client_refuses_malformed_values_in_a_sentence(models, builder, changes, needle):
    sent = nonce(models.chain, builder)
    with pytest.raises(InputError) as caught:
        models.publish(builder, **fields(**changes))
    assert needle in str(caught.value)
    assert nonce(models.chain, builder) == sent


def test_the_longest_id_and_cid_fit(models, builder):
    record = models.publish(builder, **fields(model_id="é" * 64, manifest_cid="b" * 128))
    assert (record.model_id, record.manifest_cid) == ("é" * 64, "b" * 128)


# the deployment ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed():
    chain, deployer = Chain.connect(IN_PROCESS), Account.create()
    chain.fund(deployer.address, 10**21)
    return chain, deployer, deploy_contracts(chain, deployer)


def test_the_deployment_holds_a_models_contract_over_its_registry(deployed):
    chain, deployer, d = deployed
    models = ModelRegistryClient(chain, d.models)
    assert models.registry.address == d.registry
    assert models.model_ids() == []
    check_deployment(chain, d)
    link(chain, deployer, d)
    assert joined_deployment(chain, d.registry) == d


def test_a_home_deployed_before_the_model_factory_is_told_to_redeploy(deployed):
    record = deployed[2].to_json()
    assert Deployment.from_json(record) == deployed[2]
    del record["models"]
    with pytest.raises(ChainError) as refused:
        Deployment.from_json(record)
    assert str(refused.value) == (
        "this home's contracts predate the model factory (no models contract): "
        "run `tessera init --force` to deploy them again"
    )


def test_a_deployment_without_its_models_code_is_refused(deployed):
    chain, _, d = deployed
    missing = Deployment(**{**d.to_json(), "models": "0x" + "ab" * 20})
    with pytest.raises(ChainError) as refused:
        check_deployment(chain, missing)
    assert "no Tessera models contract" in str(refused.value)
