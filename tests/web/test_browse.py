"""Pages anyone can browse: each renders from the chain, links onward, escapes what the chain
says, paginates, and answers bad input with a clear refusal."""

from __future__ import annotations

import re

from tessera.web.paging import paginate


def test_the_overview_counts_what_is_on_chain(web, web_home):
    page = web.get("/")
    assert page.status_code == 200
    block = web_home.chain.w3.eth.block_number
    assert f'href="/blocks/{block}"' in page.text
    assert '<a href="/datanets">1</a>' in page.text


def test_a_datanet_lists_its_contributions_with_links(web, web_home):
    page = web.get("/datanets/facts")
    assert page.status_code == 200
    detail = web_home.datanet("facts")
    assert len(detail.contributions) == 3
    for c in detail.contributions:
        assert f'href="/contributions/{c.cid}"' in page.text
    carol = web_home.address("carol")
    assert f'href="/accounts/{carol}"' in page.text


def test_on_chain_text_is_escaped_never_rendered(web):
    page = web.get("/datanets/facts")
    assert "Planted &lt;b&gt;facts&lt;/b&gt; &amp; more" in page.text
    assert "<b>facts</b>" not in page.text


def test_a_contribution_shows_its_proof_checked_against_the_chain(web, web_home):
    cid = web_home.datanet("facts").contributions[0].cid
    page = web.get(f"/contributions/{cid}")
    assert page.status_code == 200
    assert "Verified now" in page.text
    proof = web_home.prove(cid)
    assert "0x" + proof.batch.root.hex() in page.text
    assert "Ulora Brewery" in page.text or "Pleno" in page.text or "Juora" in page.text


def test_unknown_things_are_404_with_what_to_do(web):
    page = web.get("/datanets/nope")
    assert page.status_code == 404 and 'role="alert"' in page.text
    assert web.get("/models/none-such").status_code == 404
    assert web.get("/blocks/99999999").status_code == 404


def test_bad_page_numbers_and_hashes_are_refused(web):
    refused = web.get("/datanets?page=abc")
    assert refused.status_code == 400 and "not a page number" in refused.text
    assert web.get("/tx/0x1234").status_code == 400


def test_every_page_forbids_inline_script_and_framing(web):
    page = web.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), "an inline script"


def test_pages_of_a_long_list():
    items = list(range(53))
    last = paginate(items, 3, 25)
    assert list(last.items) == [50, 51, 52] and last.next is None and last.previous == 2
    assert paginate(items, 99, 25).number == 3  # past the end: the last page
    assert paginate([], 1, 25).pages == 1


def test_mounted_under_a_path_every_link_stays_under_it(web_home):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from tessera.web import WebConfig, create_web_app

    parent = FastAPI()
    parent.mount("/app", create_web_app(WebConfig(), opener=lambda: web_home))
    with TestClient(parent) as client:
        page = client.get("/app/datanets")
    assert page.status_code == 200
    links = [link for link in re.findall(r'href="([^"]+)"', page.text) if link[0] != "#"]
    assert links and all(link.startswith("/app/") for link in links), links
