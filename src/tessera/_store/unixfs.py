"""UnixFS `Data`, the message inside a dag-pb node's Data that makes it a piece of a file.

Only what files need is read: Type (File, or Raw for old kubo leaves), Data, filesize and
blocksizes; hashType, fanout, mode and mtime are known and skipped; anything else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from tessera._errors import StoreError
from tessera._store.protobuf import BYTES, VARINT, field_varint, fields, read_varint

RAW_TYPE = 0
FILE_TYPE = 2
_SKIPPED = {5, 6, 7, 8}  # hashType, fanout (directories), mode, mtime: they do not change bytes


@dataclass(frozen=True)
class FileData:
    type: int
    data: bytes
    filesize: int
    blocksizes: tuple[int, ...]


def encode_file(filesize: int, blocksizes: list[int]) -> bytes:
    """The Data of a file node whose bytes all live in its children (raw leaves)."""
    out = field_varint(1, FILE_TYPE) + field_varint(3, filesize)
    for size in blocksizes:
        out += field_varint(4, size)
    return out


def decode_file(data: bytes) -> FileData:
    """Parse a UnixFS Data message; StoreError unless it is a File (or Raw) piece."""
    kind: int | None = None
    inline = b""
    filesize: int | None = None
    blocksizes: list[int] = []
    for number, wire, value in fields(data, "UnixFS data"):
        if number == 1 and wire == VARINT and isinstance(value, int):
            kind = value
        elif number == 2 and wire == BYTES and isinstance(value, memoryview):
            inline = bytes(value)
        elif number == 3 and wire == VARINT and isinstance(value, int):
            filesize = value
        elif number == 4 and wire == VARINT and isinstance(value, int):
            blocksizes.append(value)
        elif number == 4 and wire == BYTES and isinstance(value, memoryview):
            blocksizes.extend(_packed(value))  # some writers pack repeated varints
        elif number not in _SKIPPED:
            raise StoreError(f"UnixFS data has an unknown field {number} (wire type {wire})")
    if kind not in (RAW_TYPE, FILE_TYPE):
        raise StoreError(f"UnixFS node of type {kind} is not a file: only files are stored here")
    size = len(inline) + sum(blocksizes) if filesize is None else filesize
    return FileData(kind, inline, size, tuple(blocksizes))


def _packed(value: memoryview) -> list[int]:
    out, pos = [], 0
    while pos < len(value):
        number, pos = read_varint(value, pos, "UnixFS blocksizes")
        out.append(number)
    return out
