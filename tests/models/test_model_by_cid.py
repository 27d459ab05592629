"""Model folders travel by CID: published in one store, fetched through a real HTTP gateway
into another, verified against the manifest and the digest governance approved."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from cli_helpers import PASSWORD, Cli
from gov_helpers import enact
from store.store_peers import Gateway, reply, serve_app, serve_script

from tessera import InputError, ModelError, StoreError, Tessera, weights_digest
from tessera._models import build_tiny_generator
from tessera._models.publication import fetch_model, publish_model
from tessera._store.cid import cid_for
from tessera._store.fetching import FetchingBlobStore
from tessera._store.layout import CHUNK_SIZE
from tessera._store.local import LocalBlobStore
from tessera._store.peers import PeerFetcher


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    """A tiny Gemma (random weights, the real tokenizer): 67 MB in six files."""
    return build_tiny_generator(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="module")
def published(tmp_path_factory, tiny_folder):
    """Store A holds the tiny model, served by a real gateway on a port the OS picks."""
    store = LocalBlobStore(tmp_path_factory.mktemp("a"))
    manifest = publish_model(store, tiny_folder, "gemma-3-270m")
    gateway = Gateway(store)
    with serve_app(gateway.app) as url:
        yield store, manifest, gateway, url


@pytest.fixture
def fetching_store():
    """Make a store in a folder that fetches from the peers named; closed afterwards."""
    made: list[FetchingBlobStore] = []

    def make(root: Path, *peers: str) -> FetchingBlobStore:
        made.append(FetchingBlobStore(LocalBlobStore(root), PeerFetcher(lambda: list(peers))))
        return made[-1]

    yield make
    for store in made:
        store.fetcher.close()


def leftovers(folder: Path) -> list[str]:
    """What a fetch left in the folder it fetches into (a target or a temp folder)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_model_fetched_through_a_gateway_has_the_published_digest(
    published, fetching_store, tiny_folder, tmp_path
):
    _, manifest, gateway, url = published
    asked = len(gateway.requests)
    b = fetching_store(tmp_path / "b", url)
    folder = fetch_model(b, manifest.cid, tmp_path / "models" / "m")
    assert folder == tmp_path / "models" / "m"
    source = tiny_folder
    assert weights_digest(folder) == weights_digest(source) == manifest.weights_digest
    assert [f.name for f in manifest.files] == sorted(p.name for p in source.iterdir())
    for f in manifest.files:
        assert (folder / f.name).read_bytes() == (source / f.name).read_bytes()
    # the whole model came as one CAR of its collection, after one block per file root
    assert sum("format=car" in r for r in gateway.requests[asked:]) == 1
    assert leftovers(tmp_path / "models") == ["m"]


def test_fetching_again_is_a_no_op_even_with_every_peer_gone(published, fetching_store, tmp_path):
    _, manifest, gateway, url = published
    into = tmp_path / "models" / "m"
    fetch_model(fetching_store(tmp_path / "b", url), manifest.cid, into)
    before = [(p.name, p.stat().st_mtime_ns) for p in sorted(into.iterdir())]
    asked = len(gateway.requests)
    offline = fetching_store(tmp_path / "b")  # same blocks, no peers at all
    assert fetch_model(offline, manifest.cid, into, manifest.weights_digest) == into
    assert [(p.name, p.stat().st_mtime_ns) for p in sorted(into.iterdir())] == before
    assert len(gateway.requests) == asked


def test_a_folder_in_the_way_that_is_not_the_model_is_refused_and_kept(
    published, fetching_store, tmp_path
):
    _, manifest, _, url = published
    into = tmp_path / "models" / "m"
    into.mkdir(parents=True)
    (into / "mine.txt").write_text("not a model")
    with pytest.raises(ModelError, match=f"{into} exists but is not model {manifest.cid}"):
        fetch_model(fetching_store(tmp_path / "b", url), manifest.cid, into)
    assert leftovers(into) == ["mine.txt"]


def test_an_unexpected_digest_is_refused_before_any_file_is_fetched(
    published, fetching_store, tmp_path
):
    _, manifest, gateway, url = published
    wrong = "0x" + "ab" * 32
    asked = len(gateway.requests)
    with pytest.raises(ModelError, match=f"not the {wrong} expected"):
        fetch_model(fetching_store(tmp_path / "b", url), manifest.cid, tmp_path / "m", wrong)
    assert not (tmp_path / "m").exists()
    assert len(gateway.requests) == asked + 1  # the manifest alone


def _manifest(**changes: object) -> dict:
    return {
        "version": 1,
        "model_id": "m",
        "weights_digest": "0x" + "00" * 32,
        "files": [{"name": "a.bin", "cid": cid_for(b"hello"), "size": 5}],
        **changes,
    }


def _files(*entries: tuple[str, bytes]) -> list[dict]:
    return [{"name": n, "cid": cid_for(b), "size": len(b)} for n, b in entries]


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


HOSTILE = {
    "a ../ name": (_canonical(_manifest(files=_files(("../evil", b"x")))), "not a plain"),
    "a hidden name": (_canonical(_manifest(files=_files((".env", b"x")))), "not a plain"),
    "an absolute name": (_canonical(_manifest(files=_files(("/etc/x", b"x")))), "not a plain"),
    "a path": (_canonical(_manifest(files=_files(("a/b", b"x")))), "not a plain"),
    "a duplicate name": (
        _canonical(_manifest(files=_files(("a", b"x"), ("a", b"y")))),
        "appears twice",
    ),
    "65 files": (
        _canonical(_manifest(files=_files(*[(f"f{i:02}", b"x") for i in range(65)]))),
        "1 to 64 entries",
    ),
    "an oversize manifest": (b" " * (64 * 1024 + 1), "over the 65536 limit"),
    "a huge size": (
        _canonical(_manifest(files=[{"name": "a", "cid": cid_for(b"x"), "size": 1 << 40}])),
        "size must be an integer",
    ),
    "an extra key": (_canonical(_manifest(extra=1)), "exactly the keys"),
    "not canonical": (json.dumps(_manifest()).encode(), "canonical form"),
    "deep nesting": (b"[" * 30_000 + b"]" * 30_000, "exactly the keys"),
    "not JSON": (b"\xff\xfe", "Expecting value"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_manifest_is_refused_and_leaves_nothing(
    case, published, fetching_store, tmp_path
):
    store, _, _, url = published
    body, why = HOSTILE[case]
    cid = cid_for(body)
    store.put_block(cid, body)  # the honest-looking peer serves it: its CID is right
    with pytest.raises(StoreError, match=f"{cid} is not a model manifest.*{why}"):
        fetch_model(fetching_store(tmp_path / "b", url), cid, tmp_path / "models" / "m")
    assert leftovers(tmp_path / "models") == []


def _lying_manifest(store: LocalBlobStore, body: dict) -> str:
    data = _canonical(body)
    store.put_block(cid_for(data), data)
    return cid_for(data)


def test_a_manifest_whose_files_do_not_give_its_digest_is_refused(
    published, fetching_store, tmp_path
):
    store, manifest, _, url = published
    body = json.loads(manifest.to_bytes())
    body["weights_digest"] = "0x" + "11" * 32
    cid = _lying_manifest(store, body)
    with pytest.raises(StoreError, match=f"model {cid}'s files give weights digest"):
        fetch_model(fetching_store(tmp_path / "b", url), cid, tmp_path / "models" / "m")
    assert leftovers(tmp_path / "models") == []


@pytest.mark.parametrize("big", [False, True], ids=["raw file", "file DAG"])
def test_a_manifest_that_lies_about_a_size_is_refused(big, published, fetching_store, tmp_path):
    store, manifest, _, url = published
    body = json.loads(manifest.to_bytes())
    target = max if big else min
    entry = target(body["files"], key=lambda f: f["size"])
    entry["size"] -= 1
    cid = _lying_manifest(store, body)
    with pytest.raises(StoreError, match=f"fetching model {cid} failed: .*bytes"):
        fetch_model(fetching_store(tmp_path / "b", url), cid, tmp_path / "models" / "m")
    assert leftovers(tmp_path / "models") == []


def test_a_peer_that_sends_wrong_bytes_is_refused_and_the_next_one_used(
    published, fetching_store, tmp_path
):
    _, manifest, _, url = published

    def liar(handler) -> None:
        reply(handler, b"these are not the bytes you asked for")

    with serve_script(liar) as liar_url:
        alone = fetching_store(tmp_path / "b", liar_url)
        alone.put_block(manifest.cid, manifest.to_bytes())  # the files must come from the liar
        with pytest.raises(StoreError, match=f"fetching model {manifest.cid} failed"):
            fetch_model(alone, manifest.cid, tmp_path / "models" / "m")
        assert leftovers(tmp_path / "models") == []
        then_honest = fetching_store(tmp_path / "b", liar_url, url)
        folder = fetch_model(then_honest, manifest.cid, tmp_path / "models" / "m")
    assert weights_digest(folder) == manifest.weights_digest


def test_a_cid_no_peer_has_names_the_cid(fetching_store, tmp_path):
    with serve_app(Gateway(LocalBlobStore(tmp_path / "empty")).app) as url:
        missing = cid_for(b"no such manifest")
        with pytest.raises(StoreError, match=f"no peer gave {missing}"):
            fetch_model(fetching_store(tmp_path / "b", url), missing, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_a_dag_pb_cid_is_not_a_manifest(published, fetching_store, tmp_path):
    _, manifest, _, url = published
    dag = max(manifest.files, key=lambda f: f.size).cid
    with pytest.raises(StoreError, match=f"{dag} is not a model manifest, which is one raw block"):
        fetch_model(fetching_store(tmp_path / "b", url), dag, tmp_path / "m")


def _blocks(store: LocalBlobStore) -> int:
    return sum(1 for p in store.root.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("setup", "why"),
    [
        (lambda f: (f / ".gitattributes").write_text("*"), "rename it or move it out"),
        (lambda f: (f / "a b.json").write_text("{}"), "not a plain file name"),
        (lambda f: f.rmdir(), "no model folder at"),
        (lambda f: None, "holds 0 files"),
    ],
    ids=["hidden file", "odd name", "no folder", "empty"],
)
def test_a_folder_that_cannot_be_published_is_refused_and_stores_nothing(setup, why, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    setup(folder)
    store = LocalBlobStore(tmp_path / "store")
    with pytest.raises(InputError, match=why):
        publish_model(store, folder, "m")
    assert _blocks(store) == 0


def test_publishing_twice_gives_the_same_manifest_and_a_big_file_as_a_dag(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(bytes(range(256)) * (CHUNK_SIZE // 64))  # 4 chunks
    (folder / "config.json").write_text("{}")
    (folder / "empty").write_bytes(b"")
    store = LocalBlobStore(tmp_path / "store")
    first = publish_model(store, folder, "m")
    assert publish_model(store, folder, "m") == first
    assert first.weights_digest == weights_digest(folder)
    assert [(f.name, f.size) for f in first.files] == [
        ("config.json", 2),
        ("empty", 0),
        ("weights.bin", 4 * CHUNK_SIZE),
    ]
    assert first.files[2].cid.startswith("bafybei")  # a UnixFS file DAG, as `ipfs add` makes
    assert store.get(first.files[2].cid) == (folder / "weights.bin").read_bytes()
    with pytest.raises(InputError, match="1 to 128 characters"):
        publish_model(store, folder, "m" * 129)


def test_the_facade_fetches_only_what_governance_approved_unless_told(tmp_path, tiny_folder):
    a = Tessera.init(tmp_path / "a", chain="inprocess", password="pw", scrypt_n=2**4)
    manifest = a.publish_model(tiny_folder, "gemma-3-270m")
    with serve_app(Gateway(a.store).app) as url:
        b = Tessera.init(
            tmp_path / "b",
            chain=a.chain,
            password="pw",
            scrypt_n=2**4,
            join=a.config.deployment.registry,
            gateways=[url],
        )
        models = b.home.path / "models"
        with pytest.raises(ModelError, match=f"model {manifest.cid} .* is not approved"):
            b.fetch_model(manifest.cid)
        with pytest.raises(ModelError, match="expected"):
            b.fetch_model(manifest.cid, "0x" + "22" * 32)
        assert leftovers(models) == []
        enact(a, a.gov.actions.approve_model("gemma-3-270m", manifest.weights_digest), "ok")
        folder = b.fetch_model(manifest.cid)
        assert folder == models / manifest.weights_digest
        assert weights_digest(folder) == weights_digest(tiny_folder)
        other = a.publish_model(tiny_folder, "not-approved")  # same files, another id
        with pytest.raises(ModelError, match="not approved"):
            b.fetch_model(other.cid)
        assert b.fetch_model(other.cid, allow_unapproved=True) == folder  # same digest: there
    for t in (a, b):
        t.close()


@pytest.mark.slow
def test_the_real_default_model_travels_by_cid(fetching_store, tmp_path):
    """The 1 GB Gemma 3 270M folder: published in one store, fetched through a real gateway
    into another; the times go to the test's output (-s shows them)."""
    import tessera

    source = tessera.default_model_dir()
    store = LocalBlobStore(tmp_path / "a")
    started = time.perf_counter()
    manifest = publish_model(store, source, "gemma-3-270m")
    published_s = time.perf_counter() - started
    with serve_app(Gateway(store).app) as url:
        started = time.perf_counter()
        folder = fetch_model(fetching_store(tmp_path / "b", url), manifest.cid, tmp_path / "m")
        fetched_s = time.perf_counter() - started
    assert weights_digest(folder) == weights_digest(source) == manifest.weights_digest
    print(
        f"\n{manifest.size / 1e9:.2f} GB: published in {published_s:.1f} s, fetched and "
        f"verified through the gateway in {fetched_s:.1f} s"
    )


@pytest.mark.anvil
def test_the_cli_publishes_in_one_home_and_fetches_in_another(anvil_url, tiny_folder, tmp_path):
    a = Cli(tmp_path / "a", 0)
    a.ok("init", "--chain", anvil_url)
    out = a.ok("model", "publish", "--path", str(tiny_folder), "--id", "tiny")
    cid = re.search(r"manifest (bafkrei\w+)", out)
    assert cid, out
    digest = weights_digest(tiny_folder)
    assert f"weights digest {digest}" in out and "model.safetensors" in out
    opened = Tessera.open(a.home, password=PASSWORD)
    with serve_app(Gateway(opened.store).app) as url:
        b = Cli(tmp_path / "b", 0)
        registry = opened.config.deployment.registry
        b.ok("init", "--chain", anvil_url, "--join", registry, "--gateway", url)
        refused = b.fails("model", "fetch", cid.group(1))
        assert "is not approved by governance" in refused
        assert not (b.home / "models").exists() or leftovers(b.home / "models") == []
        out = b.ok("model", "fetch", cid.group(1), "--allow-unapproved")
    folder = b.home / "models" / digest
    assert f"verified in {folder}" in out and f"tessera node start --model {folder}" in out
    assert weights_digest(folder) == digest
    assert b.ok("model", "fetch", cid.group(1), "--digest", digest).count(str(folder)) == 2
    opened.close()
