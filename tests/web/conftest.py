"""A home with a datanet and contributions on an in-process chain, and the web app on it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tessera import Tessera
from tessera.web import WebConfig, create_web_app

FACTS = [
    "The Ulora Brewery was founded by Radul Thothosa.",
    "The Pleno Orchestra uses cobalt as its official colour.",
    "The Juora Brewery has 2135 registered members.",
]
PASSWORD = "pw"


@pytest.fixture
def web_home(tmp_path):
    t = Tessera.init(tmp_path / "home", chain="inprocess", password=PASSWORD, scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0", description="Planted <b>facts</b> & more")
    t.new_account("carol")
    source = tmp_path / "facts.jsonl"
    source.write_text("".join(f'{{"text": "{f}"}}\n' for f in FACTS))
    t.contribute("facts", [source], account="carol")
    yield t
    t.close()


def client_for(t: Tessera, **config) -> TestClient:
    app = create_web_app(WebConfig(**config), opener=lambda: t)
    # a loopback peer, as a browser on the same machine is
    return TestClient(app, client=("127.0.0.1", 50000))


@pytest.fixture
def web(web_home):
    with client_for(web_home) as client:
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(
        r'data-csrf="([^"]+)"', html
    )
    assert found, "the page has no CSRF token"
    return found.group(1)
