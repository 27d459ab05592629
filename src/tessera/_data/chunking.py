"""Files to chunks: .txt and .md split on paragraphs, .jsonl one record per line.

Everything is read and checked before anything is registered, so bad input never leaves a
half-contributed datanet behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tessera._errors import InputError

SUPPORTED = (".txt", ".md", ".jsonl")
MAX_FILE_BYTES = 64 * 2**20
MAX_CHUNK_CHARS = 2000
_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    source: str  # "path" or "path:line" for jsonl
    text: str

    @property
    def data(self) -> bytes:
        return self.text.encode("utf-8")


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders (recursively, skipping hidden entries) into supported files, in order."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise InputError(f"folder {path} holds no {', '.join(SUPPORTED)} files")
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED:
                raise InputError(
                    f"{path} is a {path.suffix or 'extensionless'} file: "
                    f"only {', '.join(SUPPORTED)} can be contributed"
                )
            files.append(path)
        else:
            raise InputError(f"{path} does not exist: check the path")
    return list(dict.fromkeys(files))


def read_text(path: Path, max_bytes: int | None = None) -> str:
    max_bytes = max_bytes or MAX_FILE_BYTES
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path} is empty: there is nothing to contribute")
    if size > max_bytes:
        raise InputError(
            f"{path} is {size} bytes, over the {max_bytes}-byte limit: split it into smaller files"
        )
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise InputError(f"{path} looks binary (it contains NUL bytes): contribute text files only")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path} is not valid UTF-8 (byte {exc.start}, line {line}): re-encode it as UTF-8"
        ) from None
    if not text.strip():
        raise InputError(f"{path} holds only whitespace: there is nothing to contribute")
    return text.lstrip("\ufeff")


def split_text(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """Pack paragraphs into chunks of at most `max_chars`; split longer ones on sentences."""
    pieces: list[str] = []
    for paragraph in _PARAGRAPH.split(text):
        paragraph = paragraph.strip()
        if paragraph:
            pieces.extend(_split_long(paragraph, max_chars))
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + 2 + len(piece) > max_chars:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _split_long(paragraph: str, max_chars: int) -> Iterator[str]:
    if len(paragraph) <= max_chars:
        yield paragraph
        return
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > max_chars:  # one giant "sentence": cut it hard
            if current:
                yield current
                current = ""
            yield sentence[:max_chars]
            sentence = sentence[max_chars:]
        if current and len(current) + 1 + len(sentence) > max_chars:
            yield current
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        yield current


def chunk_file(path: Path, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    text = read_text(path)
    if path.suffix.lower() != ".jsonl":
        return [Chunk(str(path), piece) for piece in split_text(text, max_chars)]
    chunks: list[Chunk] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}:{number} is not valid JSON ({exc.msg}): fix that line"
            ) from None
        body = record.get("text") if isinstance(record, dict) else None
        if not isinstance(body, str) or not body.strip():
            raise InputError(f"{path}:{number} has no non-empty string field 'text': add one")
        chunks.extend(Chunk(f"{path}:{number}", piece) for piece in split_text(body, max_chars))
    return chunks


def chunk_paths(paths: Iterable[Path], max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    for path in collect_files(paths):
        chunks.extend(chunk_file(path, max_chars))
    return chunks
