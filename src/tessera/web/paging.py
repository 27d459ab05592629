"""Long lists come a page at a time: `?page=N`, numbered from 1, newest first where lists
grow over time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from tessera import InputError

T = TypeVar("T")
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    pages: int
    total: int
    first: int  # the 1-based position of items[0] in the whole list

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def page_number(text: str | None) -> int:
    if text is None or text == "":
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise InputError(f"page {text[:20]!r} is not a page number: use ?page=1, 2, ...")
    return int(text)


def paginate(items: Sequence[T], number: int, size: int) -> Page[T]:
    number, start = window(len(items), number, size)
    return page_of(items[start : start + size], len(items), number, size)


def window(total: int, number: int, size: int) -> tuple[int, int]:
    """The page number actually shown (past the last: the last) and the offset of its first
    item, for lists read a page at a time from an index."""
    pages = max(1, -(-total // size))
    number = min(number, pages)
    return number, (number - 1) * size


def page_of(items: Sequence[T], total: int, number: int, size: int) -> Page[T]:
    """A page whose `items` were read for `window(total, number, size)`."""
    return Page(items, number, max(1, -(-total // size)), total, (number - 1) * size + 1)
