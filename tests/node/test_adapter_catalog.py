"""The adapter catalog alone: the latest version of each model on the served base, re-read
at its interval, named adapters checked at start, the last read kept while the chain is down."""

from __future__ import annotations

import pytest

from tessera._errors import ChainError, InputError
from tessera._node.catalog import ALL_ADAPTERS, AdapterCatalog, InMemoryCatalog

BASE, OTHER = "0x" + "aa" * 32, "0x" + "bb" * 32


def _digest(n: int) -> str:
    return "0x" + f"{n:064x}"


class Flaky(InMemoryCatalog):
    """A registry whose reads fail while `down`, counting them."""

    def __init__(self) -> None:
        super().__init__()
        self.down, self.reads = False, 0

    def head(self) -> int:
        self.reads += 1
        if self.down:
            raise ChainError("the chain is down")
        return super().head()


def test_the_latest_version_on_the_served_base_is_served():
    source = InMemoryCatalog()
    source.publish("a", _digest(1), "bafkreia1", BASE, "0xB")
    source.publish("a", _digest(2), "bafkreia2", BASE, "0xB")
    source.publish("foreign", _digest(3), "bafkreif", OTHER, "0xB")
    catalog = AdapterCatalog(source, BASE, (ALL_ADAPTERS,), 0.0)
    assert [(v.model_id, v.version, v.weights_digest) for v in catalog.served()] == [
        ("a", 2, _digest(2))
    ]
    assert catalog.get("foreign") is None
    assert catalog.by_digest(_digest(1)).version == 1  # old versions stay re-checkable
    assert catalog.by_digest(_digest(3)) is None  # another base's


def test_named_adapters_are_served_alone_and_an_unknown_one_fails_at_start():
    source = InMemoryCatalog()
    source.publish("a", _digest(1), "bafkreia", BASE, "0xB")
    source.publish("b", _digest(2), "bafkreib", BASE, "0xB")
    named = AdapterCatalog(source, BASE, ("b",), 0.0)
    named.load()
    assert [v.model_id for v in named.served()] == ["b"]
    with pytest.raises(InputError, match="'c' is not published"):
        AdapterCatalog(source, BASE, ("b", "c"), 0.0).load()


def test_the_registry_is_read_at_its_interval_and_its_last_read_kept_while_down():
    source = Flaky()
    source.publish("a", _digest(1), "bafkreia", BASE, "0xB")
    catalog = AdapterCatalog(source, BASE, (ALL_ADAPTERS,), 3600.0)
    catalog.load()
    source.publish("late", _digest(2), "bafkreil", BASE, "0xB")
    assert catalog.get("late") is None and source.reads == 1  # not re-read within the interval
    catalog.refresh_s = 0.0
    source.down = True
    assert catalog.get("a") is not None and "the chain is down" in catalog.error
    source.down = False
    assert catalog.get("late") is not None and catalog.error is None


class Counted(InMemoryCatalog):
    """A registry that records the block ranges it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[int, int]] = []

    def published(self, from_block: int, to_block: int):
        self.asked.append((from_block, to_block))
        return super().published(from_block, to_block)


def test_a_re_read_asks_only_for_what_was_published_since_the_last():
    source = Counted()
    for n in range(1000):
        source.publish(f"m{n}", _digest(n + 1), f"bafkreim{n}", BASE, "0xB")
    catalog = AdapterCatalog(source, BASE, (ALL_ADAPTERS,), 0.0)
    catalog.load()
    assert len(catalog.served()) == 1000 and source.asked == [(0, 1000)]
    catalog.get("m1")  # nothing new: no read of the logs at all
    assert source.asked == [(0, 1000)]
    source.publish("m1", _digest(5000), "bafkreinew", BASE, "0xB")
    source.publish("m2", _digest(5001), "bafkreinew2", OTHER, "0xB")  # moved to another base
    assert catalog.get("m1").version == 2 and source.asked[-1] == (1001, 1002)
    assert catalog.get("m2") is None  # its latest version is not on this base
    assert catalog.by_digest(_digest(3)).model_id == "m2"  # its old version stays re-checkable
