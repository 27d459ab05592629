"""Bytes -> UnixFS file DAG, as `ipfs add --cid-version 1 --raw-leaves` builds it with kubo's
defaults: fixed-size 256 KiB chunks as raw leaves, a balanced tree of at most 174 links a node.

One chunk (the empty file included) stays a single raw block, so its CID is `cid_for(data)`.
Otherwise each level groups the one below in runs of 174 under a file node, until one is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from tessera._errors import InputError
from tessera._store.cid import DAG_PB, RAW, Cid
from tessera._store.dagpb import MAX_BLOCK, PBLink, PBNode, encode_node
from tessera._store.unixfs import encode_file

CHUNK_SIZE = 262_144  # kubo's `size-262144` chunker
MAX_LINKS = 174  # kubo's balanced layout: links per node

Block = tuple[Cid, bytes]


@dataclass(frozen=True)
class _Child:
    cid: Cid
    filesize: int  # the file bytes under it
    tsize: int  # every block's bytes under it, itself included (the link's Tsize)


def file_blocks(
    data: bytes, chunk_size: int = CHUNK_SIZE, max_links: int = MAX_LINKS
) -> list[Block]:
    """Every block of `data`'s UnixFS DAG, the root last."""
    if not 0 < chunk_size <= MAX_BLOCK or max_links < 2:
        raise InputError("chunk_size must be 1 byte to 1 MiB and max_links at least 2")
    if len(data) <= chunk_size:
        return [(Cid.of(RAW, data), data)]
    blocks: list[Block] = []
    level: list[_Child] = []
    for start in range(0, len(data), chunk_size):
        chunk = data[start : start + chunk_size]
        cid = Cid.of(RAW, chunk)
        blocks.append((cid, chunk))
        level.append(_Child(cid, len(chunk), len(chunk)))
    while True:
        level = [_parent(level[i : i + max_links], blocks) for i in range(0, len(level), max_links)]
        if len(level) == 1:
            return blocks


def _parent(children: list[_Child], blocks: list[Block]) -> _Child:
    filesize = sum(c.filesize for c in children)
    node = PBNode(
        links=tuple(PBLink(c.cid, "", c.tsize) for c in children),
        data=encode_file(filesize, [c.filesize for c in children]),
    )
    encoded = encode_node(node)
    cid = Cid.of(DAG_PB, encoded)
    blocks.append((cid, encoded))
    return _Child(cid, filesize, len(encoded) + sum(c.tsize for c in children))


def collection_blocks(cids: list[Cid], max_links: int = MAX_LINKS) -> list[Block]:
    """The dag-pb nodes that gather `cids` (in order) under one root, the root last.

    Links carry only a Hash (no name, no size), so anyone holding the list alone computes the
    same root; runs of `max_links` keep every node far below the 1 MiB block limit.
    """
    blocks: list[Block] = []
    level = list(cids)
    while True:
        parents = []
        for i in range(0, max(len(level), 1), max_links):
            encoded = encode_node(PBNode(links=tuple(PBLink(c) for c in level[i : i + max_links])))
            cid = Cid.of(DAG_PB, encoded)
            blocks.append((cid, encoded))
            parents.append(cid)
        level = parents
        if len(level) == 1:
            return blocks
