"""The client's journey in the web app: ask a paid node, then read the answer with its
sources, weights and the receipt checked against the chain; and what is refused."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, client_for, csrf_of
from node_helpers import start_paying_node

from tessera import format_tsr
from tessera.web.highlight import shared_runs


@pytest.fixture
def paying(tmp_path, wide_generator, tiny_embedder):
    node = start_paying_node(tmp_path, wide_generator, tiny_embedder)
    yield node
    node.stop()


def _unlock(client, account="alice", password=PASSWORD):
    token = csrf_of(client.get("/session").text)
    return client.post(
        "/session/unlock",
        data={"csrf": token, "account": account, "password": password},
        follow_redirects=False,
    )


def test_a_client_asks_and_reads_whose_work_answered(paying):
    t = paying.t
    with client_for(t, node=paying.url) as web:
        assert _unlock(web).status_code == 303
        token = csrf_of(web.get("/ask").text)
        asked = web.post(
            "/ask",
            data={"csrf": token, "question": "Who founded Ulora Brewery?"},
            follow_redirects=False,
        )
        assert asked.status_code == 303, asked.text[-2000:]
        page = web.get(asked.headers["location"])
    assert page.status_code == 200
    receipt_id = asked.headers["location"].rsplit("/", 1)[1]
    receipt = t.receipt(receipt_id)
    assert "Receipt checked now" in page.text
    assert receipt.response_text.strip()[:20] in page.text.replace("&#39;", "'")
    assert receipt.attribution, "the tiny node credited no source"
    for source in receipt.attribution:
        assert f'href="/contributions/{source.cid}"' in page.text
    assert 'class="source-text"' in page.text  # each source's own text, shown
    # paid by voucher: the node redeems it when it settles the epoch
    assert receipt.price > 0
    assert t.payer("alice").spent(t.address("operator")) == receipt.price


def test_asking_without_an_unlocked_account_pays_nothing(paying):
    t = paying.t
    before = t.wallet("alice").escrow
    with client_for(t, node=paying.url) as web:
        token = csrf_of(web.get("/session").text)
        refused = web.post("/ask", data={"csrf": token, "question": "Who founded it?"})
    assert refused.status_code == 403 and "no account is unlocked" in refused.text
    assert t.wallet("alice").escrow == before


def test_a_wrong_password_unlocks_nothing(paying):
    with client_for(paying.t, node=paying.url) as web:
        refused = _unlock(web, password="not it")
        assert refused.status_code == 403 and "wrong password" in refused.text
        assert "Sign in" in web.get("/").text


def test_a_form_from_elsewhere_is_refused(paying):
    with client_for(paying.t, node=paying.url) as web:
        _unlock(web)
        refused = web.post("/ask", data={"csrf": "forged", "question": "Who?"})
    assert refused.status_code == 403 and "security token" in refused.text


def test_unlocking_is_refused_when_not_serving_loopback(paying):
    with client_for(paying.t, allow_unlock=False) as web:
        assert "never unlocks local accounts" in web.get("/session").text
        refused = _unlock(web)
    assert refused.status_code == 403 and "browser wallet" in refused.text


def test_a_receipt_id_that_is_not_a_name_is_refused(paying):
    with client_for(paying.t) as web:
        assert web.get("/receipts/..%2F..%2Fconfig").status_code in (400, 404)
        assert web.get("/receipts/nope").status_code == 404


def test_the_words_an_answer_shares_with_a_source_are_marked():
    runs = shared_runs("The Ulora Brewery was founded by Radul.", "Radul founded the Ulora one")
    marked = [text for text, shared in runs if shared]
    assert marked == ["Ulora", "founded", "Radul"]
    assert "".join(text for text, _ in runs) == "The Ulora Brewery was founded by Radul."
    assert shared_runs("abc", "") == [("abc", False)]


def test_a_clients_account_page_shows_what_it_spent_and_on_which_answers(paying):
    t = paying.t
    with client_for(t, node=paying.url) as web:
        assert _unlock(web).status_code == 303
        token = csrf_of(web.get("/ask").text)
        asked = web.post("/ask", data={"csrf": token, "question": "Who founded Ulora Brewery?"},
                         follow_redirects=False)  # fmt: skip
        receipt = t.receipt(asked.headers["location"].rsplit("/", 1)[1])
        assert t.settle_epoch("operator").epoch == 0  # the node redeems alice's voucher
        page = web.get(f"/accounts/{t.address('alice')}")
    assert page.status_code == 200
    spent = page.text.split('id="spent-h"', 1)[1].split("</section>", 1)[0]
    assert f"Nodes redeemed {format_tsr(receipt.price)} TSR" in spent
    history = spent.split('id="history"', 1)[1].split("</table>", 1)[0]
    assert history.index("paid for answers") < history.index("deposit")  # newest first
    deposited = t.channel_history("alice")[-1]
    assert deposited.kind == "deposit" and f"{format_tsr(deposited.amount)} TSR" in history
    assert f'href="/receipts/{receipt.id}"' in spent.split('id="answers"', 1)[1]
