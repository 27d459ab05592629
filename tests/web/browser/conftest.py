"""The web app served over HTTP on a free loopback port, and a real headless chromium to drive it.

    .venv/bin/python -m pytest -q tests/web/browser              # needs Debian's chromium
    TESSERA_SCREENSHOTS=1 .venv/bin/python -m pytest tests/web/browser   # refresh docs/screenshots
    TESSERA_SKIP_BROWSER=1 ...                                    # skip these tests locally

Every test in this folder is marked `browser`. A journey calls `browser_helpers.seen(page, NAME)`
on each page it reaches: axe checks it, and with TESSERA_SCREENSHOTS=1 it is saved as
docs/screenshots/NAME.png (listed in docs/web.md).

The wallet journeys hook in by defining a `wallet` fixture (a `TestWallet`) in their module:
the injected script then runs in every page before the app's own (an EIP-1193
`window.ethereum`), its requests answered by that wallet's Python key.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from money_helpers import TSR
from node_helpers import LiveNode, start_paying_node
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tessera import Tessera
from tessera.web import WebConfig

from .browser_helpers import HOSTILE, PASSWORD, LiveSite, serving
from .wallet_helpers import WALLET

HERE = Path(__file__).parent
expect.set_options(timeout=20_000)  # assertions wait as long as a loaded machine needs

FACTS = [
    "The Ulora Brewery was founded by Radul Thothosa.",
    "The Pleno Orchestra uses cobalt as its official colour.",
    "The Juora Brewery has 2135 registered members.",
]
RECIPES = [f"Recipe {i}: knead the dough {i + 2} times, then rest it." for i in range(7)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _lines(tmp: Path, name: str, texts: list[str]) -> Path:
    source = tmp / f"{name}.jsonl"
    source.write_text("".join(f'{{"text": "{t}"}}\n' for t in texts))
    return source


@pytest.fixture(scope="session")
def site_home(tmp_path_factory) -> Iterator[Tessera]:
    """Datanets `facts` (3 contributions by carol), `recipes` (7, one batch each, by carol and
    dave in turn) and `hostile` (markup in its description, no contributions)."""
    tmp = tmp_path_factory.mktemp("site")
    t = Tessera.init(tmp / "home", chain="inprocess", password=PASSWORD, scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0", description="Planted <b>facts</b> & more")
    t.create_datanet("recipes", "CC0-1.0", description="Bread, one step at a time.")
    t.create_datanet("hostile", "CC0-1.0", description=HOSTILE)
    t.new_account("carol")
    t.new_account("dave")
    t.contribute("facts", [_lines(tmp, "facts", FACTS)], account="carol")
    for i, recipe in enumerate(RECIPES):
        t.contribute(
            "recipes", [_lines(tmp, f"recipe-{i}", [recipe])], account=("carol", "dave")[i % 2]
        )
    yield t
    t.close()


@pytest.fixture(scope="session")
def site(site_home) -> Iterator[LiveSite]:
    with serving(site_home, WebConfig()) as live:
        yield live


@pytest.fixture(scope="session")
def gov_home(tmp_path_factory) -> Iterator[Tessera]:
    """A home for governance journeys: its default account holds the supply, delegated to
    itself; `carol` (the browser wallet's key) holds a tenth, delegated to herself, enough
    for the quorum alone; `erin` holds nothing. Each journey makes its own proposals."""
    t = Tessera.init(
        tmp_path_factory.mktemp("gov") / "home", chain="inprocess", password=PASSWORD, scrypt_n=2**4
    )
    t.new_account("carol")
    t.new_account("erin")
    t.transfer(100_000_000 * TSR, "carol")
    t.gov.delegate(account="carol")
    yield t
    t.close()


@pytest.fixture(scope="session")
def gov_site(gov_home) -> Iterator[LiveSite]:
    with serving(gov_home, WebConfig()) as live:
        yield live


@pytest.fixture(scope="module")
def paying(tmp_path_factory, wide_generator, tiny_embedder) -> Iterator[LiveNode]:
    """A node paid by voucher, its served model approved; alice has 20 TSR in its escrow.
    The facts are contributed by carol and dave in turn. One per module that asks for it:
    its journeys make their own answers and read only what those add."""
    node = start_paying_node(tmp_path_factory.mktemp("paying"), wide_generator, tiny_embedder)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def paying_site(paying) -> Iterator[LiveSite]:
    with serving(paying.t, WebConfig(node=paying.url)) as live:
        yield live


@pytest.fixture
def small_pages(site_home) -> Iterator[LiveSite]:
    """The same home with two rows a page, so every list of three or more paginates."""
    with serving(site_home, WebConfig(page_size=2)) as live:
        yield live


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if os.environ.get("TESSERA_SKIP_BROWSER", "") not in ("", "0"):
        pytest.skip("TESSERA_SKIP_BROWSER is set")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail(
            "the browser tests drive Debian's chromium, which is not on PATH: "
            "`apt-get install chromium` (scripts/setup does it as root), "
            "or set TESSERA_SKIP_BROWSER=1 to skip them"
        )
    launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    yield launched
    launched.close()


@pytest.fixture
def injected_wallet(request: pytest.FixtureRequest) -> str | None:
    """A script run in every page before the app's own: the EIP-1193 wallet (`WALLET`) for a
    module that defines a `wallet` fixture (a `TestWallet`), none otherwise."""
    return WALLET if hasattr(request.module, "wallet") else None


@pytest.fixture
def wallet_bindings(request: pytest.FixtureRequest) -> dict[str, Callable[..., object]]:
    """Python callbacks exposed to `injected_wallet` as `window.NAME(...)` (a promise): the
    module's `TestWallet` answers the injected wallet's requests."""
    if not hasattr(request.module, "wallet"):
        return {}
    return {"testWalletRequest": request.getfixturevalue("wallet").request}


@pytest.fixture
def context(browser, injected_wallet, wallet_bindings) -> Iterator[BrowserContext]:
    fresh = browser.new_context(viewport={"width": 1280, "height": 800})
    # generous: these machines are shared, and a loaded one renders a page in seconds
    fresh.set_default_timeout(30_000)
    for name, callback in wallet_bindings.items():
        fresh.expose_function(name, callback)
    if injected_wallet is not None:
        fresh.add_init_script(injected_wallet)
    yield fresh
    fresh.close()


@pytest.fixture
def page(context) -> Iterator[Page]:
    """A fresh tab; a script error on any page it shows fails the test."""
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    assert not errors, f"script errors in the page: {errors}"
