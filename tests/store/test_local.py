import pytest

from tessera._errors import StoreError
from tessera._store.cid import cid_for
from tessera._store.local import LocalBlobStore


def test_put_then_get_returns_the_same_bytes(tmp_path):
    store = LocalBlobStore(tmp_path)
    cid = store.put(b"some text")
    assert cid == cid_for(b"some text")
    assert store.has(cid)
    assert store.get(cid) == b"some text"


def test_put_is_idempotent(tmp_path):
    store = LocalBlobStore(tmp_path)
    assert store.put(b"a") == store.put(b"a")
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_missing_blob_is_a_clear_error(tmp_path):
    store = LocalBlobStore(tmp_path)
    with pytest.raises(StoreError, match="not in the local store"):
        store.get(cid_for(b"never stored"))
    assert not store.has(cid_for(b"never stored"))


def test_corrupted_blob_is_detected_on_read(tmp_path):
    store = LocalBlobStore(tmp_path)
    cid = store.put(b"original")
    next(p for p in tmp_path.rglob(cid)).write_bytes(b"tampered")
    with pytest.raises(StoreError, match="corrupted"):
        store.get(cid)


def test_no_temporary_files_are_left_behind(tmp_path):
    store = LocalBlobStore(tmp_path)
    for i in range(5):
        store.put(str(i).encode())
    assert not list(tmp_path.rglob(".tmp-*"))
