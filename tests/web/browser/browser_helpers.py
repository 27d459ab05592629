"""The web app served on a free loopback port, and what a browser journey does on each page it
reaches: check it with axe, keep its picture."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from axe_playwright_python.sync_playwright import Axe
from backends import free_port
from playwright.sync_api import Page, expect

from tessera import Tessera
from tessera.web import WebConfig, create_web_app

SCREENSHOTS = Path(__file__).parents[3] / "docs" / "screenshots"
BAD_IMPACTS = ("serious", "critical")
PASSWORD = "pw"
HOSTILE = "<img src=x onerror=alert(1)>"  # a description anyone can put on chain


class LiveSite:
    """The web app on `t`, served by uvicorn on its own thread."""

    def __init__(self, t: Tessera, config: WebConfig) -> None:
        self.t = t
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        app = create_web_app(config, opener=lambda: t)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the web app did not start on {self.url}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def serving(t: Tessera, config: WebConfig) -> Iterator[LiveSite]:
    """The app on `t` for the length of a `with`, then stopped (the home stays open)."""
    site = LiveSite(t, config)
    try:
        yield site
    finally:
        site.stop()


def check_accessible(page: Page) -> None:
    """Fail on any axe-core violation of serious or critical impact on the page as it is now."""
    violations = Axe().run(page).response["violations"]
    bad = [v for v in violations if v["impact"] in BAD_IMPACTS]
    for v in bad:
        print(f"{page.url}: {v['impact']} {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            print(f"    {node['target']}: {node.get('failureSummary', '')}")
    assert not bad, f"{page.url}: " + "; ".join(f"{v['id']} ({v['impact']})" for v in bad)


def seen(page: Page, name: str) -> None:
    """A journey reached a page: check it with axe and, when asked, keep its screenshot."""
    page.wait_for_load_state("load")
    check_accessible(page)
    if os.environ.get("TESSERA_SCREENSHOTS", "") not in ("", "0"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def short(address: str) -> str:
    """An address as the pages link it (the `short(6)` filter)."""
    return f"{address[:6]}…{address[-6:]}"


def main_nav(page: Page, name: str) -> None:
    """Follow a link of the header's main navigation by its text."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def sign_in(page: Page, url: str, account: str) -> None:
    """Unlock a local account from the sign-in page, as a person does; lands on its account."""
    page.goto(url + "/")
    page.get_by_role("banner").get_by_role("link", name="Sign in").click()
    page.get_by_label("Account", exact=True).select_option(account)
    page.get_by_label("Keystore password").fill(PASSWORD)
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account")
