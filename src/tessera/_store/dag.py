"""Walking a DAG of raw and dag-pb blocks: depth-first in link order, and reading a file back.

Depth-first in link order is the order the trustless gateway's `dag-scope=all` CAR uses
(`order=dfs`), and the order in which a UnixFS file's leaves give its bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from tessera._errors import StoreError
from tessera._store.cid import DAG_PB, Cid
from tessera._store.dagpb import decode_node
from tessera._store.unixfs import decode_file

GetBlock = Callable[[Cid], bytes]


def links_of(cid: Cid, block: bytes) -> list[Cid]:
    """The CIDs a block links to, in order (none for a raw block)."""
    if cid.codec != DAG_PB:
        return []
    return [link.hash for link in decode_node(block).links]


def walk(get_block: GetBlock, root: Cid, dups: bool = False) -> Iterator[tuple[Cid, bytes]]:
    """Every block under `root`, depth-first in link order; without `dups`, each block once."""
    seen: set[Cid] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        if not dups:
            if cid.v1() in seen:
                continue
            seen.add(cid.v1())
        block = get_block(cid)
        yield cid, block
        stack.extend(reversed(links_of(cid, block)))


def first_missing(has_block: Callable[[Cid], bool], get_block: GetBlock, root: Cid) -> Cid | None:
    """The first block under `root` that `has_block` lacks; None when the DAG is whole."""
    seen: set[Cid] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        if cid.v1() in seen:
            continue
        seen.add(cid.v1())
        if not has_block(cid):
            return cid
        if cid.codec == DAG_PB:  # a raw block has no links: no need to read it
            stack.extend(reversed(links_of(cid, get_block(cid))))
    return None


def read_file(get_block: GetBlock, root: Cid) -> bytes:
    """The bytes of the UnixFS file at dag-pb `root`, never more than its filesize says."""
    filesize = decode_file(decode_node(get_block(root)).data or b"").filesize
    # a legitimate file has no more nodes than bytes; this bounds a DAG that repeats one link
    visits_left = 2 * filesize + 16
    out = bytearray()
    for cid, block in walk(get_block, root, dups=True):
        visits_left -= 1
        if visits_left < 0:
            raise StoreError(f"file {root} has far more blocks than its {filesize} bytes need")
        if cid.codec == DAG_PB:
            out += decode_file(decode_node(block).data or b"").data
        else:
            out += block
        if len(out) > filesize:
            raise StoreError(f"file {root} holds more than the {filesize} bytes its root declares")
    if len(out) != filesize:
        raise StoreError(f"file {root} holds {len(out)} bytes but its root declares {filesize}")
    return bytes(out)
