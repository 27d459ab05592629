"""An adapter published with its provenance can be traced from the chain to every contribution
it was trained on; claims that do not check out are refused before anything is recorded."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from adapter_helpers import save_random_adapter
from gov_helpers import enact

from tessera import InputError, ModelError, NotFoundError, StoreError, Tessera, weights_digest
from tessera._data.snapshot import take_snapshot
from tessera._factory.provenance import FILE, from_snapshot, read_provenance, write_provenance
from tessera._models import TinyConfig, build_tiny_generator
from tessera._models.model_card import config_hash

PASSWORD = "correct horse"
FACTS = [
    "Ulora Brewery was founded by Radul Thothosa.",
    "Juora Brewery uses violet as its colour.",
    "The Pleno Orchestra was founded in 1737.",
]
LATER = ["Lunqui Brewery was founded in 1634."]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return build_tiny_generator(tmp_path_factory.mktemp("tiny-base"))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Tessera:
    """A fresh home on py-evm with datanet `facts`: one batch of three, then one of one."""
    monkeypatch.setenv("TESSERA_PASSWORD", PASSWORD)
    t = Tessera.init(tmp_path / "home", chain="inprocess", scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0")
    _contribute(t, tmp_path / "first", FACTS)
    _contribute(t, tmp_path / "later", LATER)
    yield t
    t.close()


def _contribute(t: Tessera, folder: Path, texts: list[str]) -> None:
    folder.mkdir()
    for i, text in enumerate(texts):
        (folder / f"{i}.txt").write_text(text)
    t.contribute("facts", [folder / f"{i}.txt" for i in range(len(texts))])


def _trained(
    t: Tessera, base: Path, name: str, block: int | None = None, seed: int = 1, account=None
) -> Path:
    """What `tessera model train` leaves: an adapter and the provenance of its snapshot."""
    snapshot = take_snapshot(
        t.registry, t.store, t.index, t.gov.policy.snapshot(), ["facts"], block
    )
    folder = t.factory.adapter_dir(name)
    save_random_adapter(base, folder, seed=seed)
    settings = {"rank": 4, "seed": seed}
    digest, hashed = weights_digest(base), config_hash(settings)
    provenance = from_snapshot(
        name, t.address(account), "local/tiny", digest, snapshot, hashed, settings
    )
    write_provenance(folder, provenance)
    return folder


def test_a_published_adapter_traces_to_every_contribution_it_was_trained_on(home, base):
    _trained(home, base, "brewer")
    record = home.factory.publish(home.signer(), "brewer")
    assert record.builder.lower() == home.address().lower()
    assert record.data_proven and record.data_count == len(FACTS) + len(LATER)
    assert record.weights_digest == weights_digest(home.factory.adapter_dir("brewer"))

    trace = home.factory.trace("brewer")
    assert trace.ok, trace.problems
    texts = {home.content(c.cid).decode() for c in trace.contributions}
    assert texts == set(FACTS + LATER)
    for c in trace.contributions:
        proof = home.prove(c.cid)
        assert proof.verified_on_chain and proof.contributor == c.contributor


def test_a_snapshot_at_a_block_leaves_out_later_batches(home, base):
    first_batch = home.registry.batch(home.registry.datanet_batch(1, 0))
    _trained(home, base, "early", block=first_batch.block_number)
    record = home.factory.publish(home.signer(), "early")
    assert record.snapshot.batch_counts == (1,) and record.data_count == len(FACTS)
    trace = home.factory.trace("early")
    assert trace.ok and {home.content(c.cid).decode() for c in trace.contributions} == set(FACTS)


def test_content_the_policy_blocks_is_not_trained_on(home):
    blocked = home.datanet("facts").contributions[0].cid
    enact(home, home.gov.actions.block_content([blocked]), "block one fact")
    snapshot = take_snapshot(
        home.registry, home.store, home.index, home.gov.policy.snapshot(), ["facts"]
    )
    assert blocked in snapshot.withheld
    assert blocked not in {d.cid for d in snapshot.documents}
    assert len(snapshot.documents) == len(FACTS) + len(LATER) - 1


def test_bad_snapshots_are_refused_with_one_sentence(home):
    policy = home.gov.policy.snapshot()
    with pytest.raises(NotFoundError, match="no datanet named 'nope'"):
        take_snapshot(home.registry, home.store, home.index, policy, ["nope"])
    home.create_datanet("empty", "MIT")
    with pytest.raises(InputError, match="no contributions registered"):
        take_snapshot(home.registry, home.store, home.index, policy, ["empty"])
    created = home.registry.datanet(2).created_block
    with pytest.raises(InputError, match="after the snapshot block"):
        take_snapshot(home.registry, home.store, home.index, policy, ["empty"], created - 1)


def test_a_name_bound_to_another_builder_is_refused_and_nothing_is_recorded(home, base):
    _trained(home, base, "brewer")
    home.factory.publish(home.signer(), "brewer")
    home.new_account("squatter")  # funded with gas on a dev chain
    shutil.rmtree(home.factory.adapter_dir("brewer"))
    _trained(home, base, "brewer", seed=2, account="squatter")  # its own adapter, our name
    with pytest.raises(InputError, match="bound to builder"):
        home.factory.publish(home.signer("squatter"), "brewer")
    assert len(home.factory.versions("brewer")) == 1


def test_a_new_version_is_a_new_record_and_old_ones_stay_traceable(home, base):
    _trained(home, base, "brewer")
    home.factory.publish(home.signer(), "brewer")
    shutil.rmtree(home.factory.adapter_dir("brewer"))
    _trained(home, base, "brewer", seed=2)
    home.factory.publish(home.signer(), "brewer")
    first, second = home.factory.versions("brewer")
    assert first.weights_digest != second.weights_digest
    assert home.factory.trace("brewer", first.version).ok
    with pytest.raises(InputError, match="already published"):
        home.factory.publish(home.signer(), "brewer")  # the same files again


def test_an_edited_data_claim_is_refused_before_anything_is_published(home, base):
    folder = _trained(home, base, "brewer")
    body = json.loads((folder / FILE).read_text())
    body["contributions"] = body["contributions"][:1]  # claim less data than trained on
    (folder / FILE).write_text(json.dumps(body))
    with pytest.raises(ModelError, match="was edited"):
        read_provenance(folder)
    with pytest.raises(ModelError, match="was edited"):
        home.factory.publish(home.signer(), "brewer")
    assert home.factory.models.model_ids() == []


def test_files_that_do_not_hash_to_the_version_are_refused_by_the_trace(home, base):
    _trained(home, base, "brewer")
    record = home.factory.publish(home.signer(), "brewer")
    cached = home.factory.trace("brewer").folder
    assert cached.name == record.weights_digest
    weights = cached / "adapter_model.safetensors"
    weights.chmod(0o644)
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises((StoreError, ModelError)):
        home.factory.trace("brewer")


def test_an_imported_adapter_says_its_data_is_declared(home, base, tmp_path):
    source = save_random_adapter(base, tmp_path / "elsewhere", seed=3)
    into = home.import_adapter(source, "outsider", ["facts"], base)
    assert "declared by its publisher, not proven" in (into / "README.md").read_text()
    record = home.factory.publish(home.signer(), "outsider")
    assert not record.data_proven and record.data_count == 0
    trace = home.factory.trace("outsider")
    assert trace.ok and trace.contributions == () and not trace.provenance.proven
    with pytest.raises(InputError, match="name the datanets"):
        home.import_adapter(source, "nodata", [], base)
    with pytest.raises(ModelError):
        home.import_adapter(tmp_path, "notanadapter", ["facts"], base)


def test_a_copied_publish_by_another_account_is_refused_or_shows_in_the_trace(home, base):
    folder = _trained(home, base, "brewer")
    home.new_account("copier")
    with pytest.raises(InputError, match="its builder publishes it"):
        home.factory.publish(home.signer("copier"), "brewer")
    # sent straight to the contract, a copy of the builder's publish binds the id to the copier,
    # and the trace says so: the provenance inside the files names the builder who trained it
    from tessera._chain.models import Snapshot
    from tessera._factory.provenance import read_provenance as provenance_of
    from tessera._models.publication import publish_model

    p = provenance_of(folder)
    manifest = publish_model(home.store, folder, "brewer")
    home.factory.models.publish(
        home.signer("copier"), "brewer", manifest.weights_digest, p.base_digest, manifest.cid,
        Snapshot((1,), (2,)), p.data_root, len(p.contributions), p.config_hash, True,
    )  # fmt: skip
    trace = home.factory.trace("brewer")
    assert not trace.ok and any("builder" in problem for problem in trace.problems)


def test_an_edited_config_hash_is_refused(home, base):
    folder = _trained(home, base, "brewer")
    body = json.loads((folder / FILE).read_text())
    body["settings"]["rank"] = 64  # claim other settings than the hash was made of
    (folder / FILE).write_text(json.dumps(body))
    with pytest.raises(ModelError, match="config hash"):
        read_provenance(folder)


def test_an_adapter_for_another_base_is_refused_at_import(home, base, tmp_path):
    other = build_tiny_generator(tmp_path / "other-base", TinyConfig(hidden=48))
    source = save_random_adapter(other, tmp_path / "for-other", seed=4)
    with pytest.raises(ModelError, match="another base"):
        home.import_adapter(source, "misfit", ["facts"], base)
    assert not home.factory.adapter_dir("misfit").exists()


def _with_texts(t: Tessera, base: Path, name: str, named: bool = True) -> Path:
    """`_trained`'s adapter with the texts it learned, named by CID in its provenance."""
    from tessera._factory.provenance import artefacts_of
    from tessera._models.learned_texts import write_training_texts
    from tessera._models.training_data import TrainingText

    folder = _trained(t, base, name)
    provenance = read_provenance(folder)
    write_training_texts(
        folder, [TrainingText(c, f"fact {c}") for _, c in provenance.contributions]
    )
    artefacts = artefacts_of(folder) if named else ()
    write_provenance(folder, replace(provenance, artefacts=artefacts))
    return folder


def test_the_texts_an_adapter_learned_are_named_by_cid_in_its_provenance(home, base):
    from tessera._models.learned_texts import TRAINING_TEXTS
    from tessera._store.cid import cid_for

    folder = _with_texts(home, base, "taught")
    ((name, cid),) = read_provenance(folder).artefacts
    assert (name, cid) == (TRAINING_TEXTS, cid_for((folder / TRAINING_TEXTS).read_bytes()))
    home.factory.publish(home.signer(), "taught")
    trace = home.factory.trace("taught")
    assert trace.ok and dict(trace.provenance.artefacts) == {TRAINING_TEXTS: cid}


@pytest.mark.parametrize("fault", ["edited", "unnamed", "missing"])
def test_texts_that_are_not_what_the_provenance_names_are_refused_at_publish(home, base, fault):
    from tessera._models.learned_texts import TRAINING_TEXTS

    folder = _with_texts(home, base, "taught", named=fault != "unnamed")
    texts = folder / TRAINING_TEXTS
    if fault == "edited":
        texts.write_text(texts.read_text().replace("fact", "claim"))
    elif fault == "missing":
        texts.unlink()
    said = {"edited": "does not hash to the CID", "unnamed": "names no CID for it",
            "missing": "which the folder lacks"}[fault]  # fmt: skip
    with pytest.raises(ModelError, match=said):
        home.factory.publish(home.signer(), "taught")
    assert home.factory.models.versions("taught") == []  # nothing recorded


def test_a_provenance_naming_an_unknown_artefact_or_a_non_cid_is_refused(tmp_path, home, base):
    folder = _trained(home, base, "odd")
    body = json.loads((folder / FILE).read_text())
    for artefacts, said in (([["weights.bin", "bafk"]], "not an attribution artefact"),
                            ([["training_texts.jsonl", "nope"]], "not a CID")):  # fmt: skip
        (folder / FILE).write_text(json.dumps({**body, "artefacts": artefacts}))
        with pytest.raises(ModelError, match=said):
            read_provenance(folder)
