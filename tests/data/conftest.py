from __future__ import annotations

import pytest

from tessera import Tessera

PASSWORD = "correct horse"


@pytest.fixture(params=["inprocess", "anvil"])
def tessera(request, tmp_path, monkeypatch) -> Tessera:
    """A fresh home with deployed contracts, on each chain backend in turn."""
    monkeypatch.setenv("TESSERA_PASSWORD", PASSWORD)
    url = "inprocess" if request.param == "inprocess" else request.getfixturevalue("anvil_url")
    t = Tessera.init(tmp_path / "home", chain=url, scrypt_n=2**4)
    yield t
    t.close()


@pytest.fixture
def corpus(tmp_path):
    """Five chunks: three .txt/.md files (b.md packs its two paragraphs) and two .jsonl records."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Ulora Brewery was founded by Radul Thothosa.")
    (folder / "b.md").write_text("# Juora\n\nJuora Brewery uses violet as its colour.")
    (folder / "c.txt").write_text("The Pleno Orchestra was founded in 1737.")
    (folder / "d.jsonl").write_text(
        '{"text": "Lunqui Brewery was founded in 1634."}\n'
        '{"text": "Lunqui Brewery\'s colour is teal."}\n'
    )
    return folder
