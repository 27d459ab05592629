"""Our UnixFS CIDs and CARs against an independent implementation: Helia's `ipfs-unixfs-importer`
and `@ipld/car` under Node.js (tests/store/js, versions pinned in its package-lock.json), with
the options of `ipfs add --cid-version 1 --raw-leaves` on kubo's defaults."""

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tessera._store.car import CarReader, write_car
from tessera._store.cid import decode_cid
from tessera._store.layout import CHUNK_SIZE, MAX_LINKS, file_blocks
from tessera._store.local import LocalBlobStore

JS = Path(__file__).parent / "js"
KIB_256 = CHUNK_SIZE
SIZES = [0, 1, KIB_256 - 1, KIB_256, KIB_256 + 1, 5 * 1024 * 1024 + 17, MAX_LINKS * KIB_256 + 1]


@pytest.fixture(scope="module")
def node_js() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js is not installed: install Node.js 20 or later, as scripts/setup needs")
    if not (JS / "node_modules" / "ipfs-unixfs-importer").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, check=True
        )
    return [node, str(JS / "unixfs.mjs")]


def _js(node_js: list[str], *args: str) -> str:
    done = subprocess.run([*node_js, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _bytes(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def test_our_cids_are_the_importers_for_every_edge_size(node_js, tmp_path):
    paths = []
    for size in SIZES:
        paths.append(tmp_path / f"{size}.bin")
        paths[-1].write_bytes(_bytes(size))
    theirs = _js(node_js, "cid", *map(str, paths)).split()
    ours = [str(file_blocks(p.read_bytes())[-1][0]) for p in paths]
    assert ours == theirs
    # one chunk or less is a raw block; more is a dag-pb root, two levels past 174 leaves
    assert [c[:7] for c in ours] == ["bafkrei"] * 4 + ["bafybei"] * 3
    store = LocalBlobStore(tmp_path / "store")
    assert [store.put(p.read_bytes()) for p in paths] == theirs


def test_a_car_we_write_is_read_by_ipld_car_with_every_block_verified(node_js, tmp_path):
    store = LocalBlobStore(tmp_path / "store")
    root = store.put(_bytes(5 * 1024 * 1024 + 17))
    car = tmp_path / "ours.car"
    car.write_bytes(b"".join(write_car([decode_cid(root)], store.dag_blocks(root))))
    read = json.loads(_js(node_js, "verify", str(car)))
    assert read["roots"] == [root]
    assert read["cids"] == [str(c) for c, _ in store.dag_blocks(root)]
    assert len(read["cids"]) == 21 + 1


def test_a_car_the_importer_writes_is_read_by_ours(node_js, tmp_path):
    data = _bytes(3 * KIB_256 + 5)
    source, car = tmp_path / "file.bin", tmp_path / "theirs.car"
    source.write_bytes(data)
    root = _js(node_js, "car", str(source), str(car)).strip()
    reader = CarReader([car.read_bytes()], expected_root=decode_cid(root))
    store = LocalBlobStore(tmp_path / "store")
    for cid, block in reader.blocks():
        store.put_block(str(cid), block)
    assert store.get(root) == data
