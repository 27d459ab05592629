"""An ingest interrupted at any point finishes on the next run, without duplicates or gaps."""

from __future__ import annotations

import pytest

from tessera._chain.registry import RegistryClient


class Crash(Exception):
    pass


def _chunks(tmp_path, n):
    path = tmp_path / "many.jsonl"
    path.write_text("".join(f'{{"text": "fact number {i}"}}\n' for i in range(n)))
    return path


def _assert_complete(tessera, n):
    items = tessera.index.contributions(1)
    assert len(items) == n
    assert len({i.cid for i in items}) == n
    assert tessera.registry.datanet(1).contribution_count == n
    assert all(tessera.prove(i.cid).verified_on_chain for i in items[:: max(1, n // 5)])


@pytest.mark.parametrize("when", ["before_send", "after_mined"])
def test_a_crash_mid_ingest_resumes_without_duplicates_or_gaps(
    tessera, tmp_path, monkeypatch, when
):
    tessera.create_datanet("wiki", "CC-BY-4.0")
    source = _chunks(tmp_path, 10)
    real = RegistryClient.register_batch
    calls = {"n": 0}

    def crashing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3 and when == "before_send":
            raise Crash
        result = real(self, *args, **kwargs)
        if calls["n"] == 3:
            raise Crash  # the transaction landed, but we die before learning that
        return result

    monkeypatch.setattr(RegistryClient, "register_batch", crashing)
    with pytest.raises(Crash):
        tessera.contribute("wiki", [source], batch_size=3)
    monkeypatch.setattr(RegistryClient, "register_batch", real)
    report = tessera.contribute("wiki", [source], batch_size=3)
    landed = 9 if when == "after_mined" else 6
    assert (len(report.already_in_datanet), report.registered) == (landed, 10 - landed)
    _assert_complete(tessera, 10)
