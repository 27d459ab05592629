"""Contribute through the facade, on both chain backends."""

from __future__ import annotations

import pytest

from tessera import InputError, NotFoundError, StoreError, Tessera
from tessera._errors import AccountError, SignatureError


def test_contribute_registers_batches_that_each_prove_on_chain(tessera, corpus):
    tessera.create_datanet("wiki", "CC-BY-4.0", "fictional facts")
    report = tessera.contribute("wiki", [corpus], batch_size=2)
    assert (report.chunks, report.registered, len(report.batches)) == (5, 5, 3)
    record = tessera.registry.datanet(tessera.registry.datanet_id("wiki"))
    assert (record.batch_count, record.contribution_count) == (3, 5)
    for item in tessera.index.contributions(record.id):
        proof = tessera.prove(item.cid)
        assert proof.verified_on_chain
        assert proof.contributor == tessera.signer().address
        assert proof.datanet == "wiki"


def test_contributed_content_comes_back_byte_for_byte(tessera, corpus):
    tessera.create_datanet("wiki", "CC-BY-4.0")
    tessera.contribute("wiki", [corpus / "c.txt"])
    (item,) = tessera.index.contributions(1)
    assert tessera.content(item.cid) == b"The Pleno Orchestra was founded in 1737."


def test_a_second_run_skips_and_reports_what_is_already_there(tessera, corpus):
    tessera.create_datanet("wiki", "CC-BY-4.0")
    first = tessera.contribute("wiki", [corpus])
    (corpus / "e.txt").write_text("A brand new fact about the Ulora Brewery.")
    second = tessera.contribute("wiki", [corpus])
    assert (second.registered, len(second.already_in_datanet)) == (1, first.registered)
    assert tessera.registry.datanet(1).contribution_count == first.registered + 1


def test_repeated_chunks_in_one_input_are_registered_once(tessera, tmp_path):
    tessera.create_datanet("wiki", "CC-BY-4.0")
    (tmp_path / "x.jsonl").write_text('{"text": "same"}\n{"text": "same"}\n{"text": "other"}\n')
    report = tessera.contribute("wiki", [tmp_path / "x.jsonl"])
    assert (report.registered, report.repeated_in_input) == (2, 1)


def test_datanet_show_counts_contributions_per_contributor(tessera, corpus):
    tessera.create_datanet("wiki", "CC-BY-4.0", "facts")
    bob = tessera.new_account("bob")
    tessera.contribute("wiki", [corpus / "a.txt", corpus / "c.txt"])
    tessera.contribute("wiki", [corpus / "d.jsonl"], account="bob")
    detail = tessera.datanet("wiki")
    assert detail.contributors == {tessera.signer().address: 2, bob.address: 2}
    assert [b.submitter for b in detail.batches] == [tessera.signer().address, bob.address]
    assert detail.metadata["description"] == "facts"
    assert [d.name for d in tessera.datanets()] == ["wiki"]


def test_unknown_datanet_is_a_clear_error_and_registers_nothing(tessera, corpus):
    with pytest.raises(NotFoundError, match="no datanet named 'nope'.*tessera datanet create"):
        tessera.contribute("nope", [corpus])
    assert tessera.registry.batch_count() == 0


def test_one_bad_file_stops_the_whole_ingest_before_any_batch(tessera, corpus):
    tessera.create_datanet("wiki", "CC-BY-4.0")
    (corpus / "zz.txt").write_bytes(b"\xff\xfe broken")
    with pytest.raises(InputError, match="not valid UTF-8"):
        tessera.contribute("wiki", [corpus])
    assert tessera.registry.batch_count() == 0


@pytest.mark.parametrize(
    ("name", "license", "message"),
    [
        ("Bad Name", "MIT", "not allowed"),
        ("ok", "not a license!", "not an SPDX license id"),
    ],
)
def test_bad_datanet_names_and_licenses_are_refused(tessera, name, license, message):
    with pytest.raises(InputError, match=message):
        tessera.create_datanet(name, license)
    assert tessera.datanets() == []


def test_a_taken_datanet_name_is_refused_before_spending_gas(tessera):
    tessera.create_datanet("wiki", "MIT")
    with pytest.raises(InputError, match="already exists"):
        tessera.create_datanet("wiki", "MIT")


def test_prove_refuses_unknown_and_malformed_cids(tessera):
    with pytest.raises(NotFoundError, match="no contribution with CID"):
        tessera.prove("bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq")
    with pytest.raises(InputError, match="not a CID"):
        tessera.prove("Qm-not-a-cid")


def test_content_refuses_a_corrupted_blob(tessera, corpus):
    tessera.create_datanet("wiki", "CC-BY-4.0")
    tessera.contribute("wiki", [corpus / "a.txt"])
    (item,) = tessera.index.contributions(1)
    blob = next(tessera.store.local_blocks().root.rglob(item.cid))
    blob.write_text("tampered")
    # a block that no longer matches its CID is discarded and fetched again: with no peer
    # to fetch it from, that is the error, and the tampered bytes are never served
    with pytest.raises(StoreError, match="no peers are known to fetch it from"):
        tessera.content(item.cid)
    assert not blob.exists()


def test_wrong_password_is_refused_before_any_transaction(tessera, corpus):
    tessera.create_datanet("wiki", "CC-BY-4.0")
    same_home = Tessera(tessera.home, tessera.config, tessera.chain, password="wrong")
    with pytest.raises(AccountError, match="wrong password"):
        same_home.contribute("wiki", [corpus])
    assert tessera.registry.batch_count() == 0


def test_a_forged_signature_is_not_counted_and_prove_says_why(tessera, corpus):
    from tessera._data.ingest import _register
    from tessera._data.manifest import BatchManifest, Leaf
    from tessera._store.cid import cid_for

    tessera.create_datanet("wiki", "CC-BY-4.0")
    victim = tessera.new_account("victim")
    cid = tessera.store.put(b"words the victim never signed")
    forged = Leaf(cid, victim.address, b"\x11" * 32 + b"\x22" * 32 + b"\x1b")
    manifest = BatchManifest(
        tessera.chain.chain_id, tessera.registry.address, 1, "CC-BY-4.0", (forged,)
    )
    _register(_ctx(tessera), manifest, tessera.signer())
    assert tessera.datanet("wiki").contributors == {}
    with pytest.raises(SignatureError, match="not its claimed contributor"):
        tessera.prove(cid_for(b"words the victim never signed"))


def _ctx(tessera):
    from tessera._data.ingest import IngestContext

    return IngestContext(tessera.registry, tessera.store, tessera.index, tessera.domain)
