"""Start a live node on loopback for tests: tiny models, in-process chain."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import uvicorn
from backends import free_port

from tessera import Tessera
from tessera._node.config import NodeConfig
from tessera._node.runtime import Node, build_node

FACTS = [
    "The Ulora Brewery was founded by Radul Thothosa.",
    "The Pleno Orchestra uses cobalt as its official colour.",
    "The Juora Brewery has 2135 registered members.",
    "The Lunqui Brewery was founded in 1634.",
    "The Gravlun Institute is headquartered in Vikvikdul.",
]


class LiveNode:
    def __init__(self, t, node, port):
        self.t, self.node, self.port = t, node, port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(node.app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)

    @property
    def service(self):
        return self.node.service

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.node.close()


def start_node(tmp_path, generator, embedder, **options) -> LiveNode:
    """`build_test_node`'s node, served over HTTP on a free loopback port."""
    port = free_port()
    t, node = build_test_node(tmp_path, generator, embedder, port=port, **options)
    return LiveNode(t, node, port)


def build_test_node(
    tmp_path,
    generator,
    embedder,
    facts=FACTS,
    account=None,
    authors=(),
    before=None,
    catalog=None,
    build=build_node,
    **config,
) -> tuple[Tessera, Node]:
    """A node serving datanet `facts`, not yet listening. `account`: a new account that signs
    as the node; `authors`: new accounts that contribute the facts in turn (default: the
    default account); `before(t)`: runs on the home just before the node is built;
    `catalog`: the model registry its adapters are read from; `build`: build_node's
    signature, e.g. a byzantine node's builder."""
    t = Tessera.init(tmp_path / "home", chain="inprocess", password="pw", scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0")
    for name in {account, *authors} - {None}:
        t.new_account(name)
    for i, author in enumerate(authors or [None]):
        mine = facts[i :: len(authors or [None])]
        if mine:
            source = tmp_path / f"facts-{i}.jsonl"
            source.write_text("".join(f'{{"text": "{f}"}}\n' for f in mine))
            t.contribute("facts", [source], account=author)
    base = NodeConfig(datanets=("facts",), follow_interval_s=0.2, top_k=3, payments=False)
    settings = replace(base, **config)  # free unless a test turns payments on
    if before is not None:
        before(t)
    return t, build(t.node_parts(account), settings, generator, embedder, catalog)


def start_paying_node(tmp_path, generator, embedder, royalty_to="operator") -> LiveNode:
    """A node paid by voucher ("operator"), its served model approved with `royalty_to` as
    builder; the facts by carol and dave in turn; alice holds 80 TSR and 20 in its escrow."""
    from gov_helpers import enact
    from money_helpers import TSR

    node = start_node(tmp_path, generator, embedder, account="operator",
                      authors=("carol", "dave"), payments=True, settle_check_s=None)  # fmt: skip
    t = node.t
    t.new_account("alice")
    approve = t.gov.actions.approve_model(
        node.service.config.model_id, node.service.weights_digest, t.address(royalty_to)
    )
    enact(t, approve, "approve the served model; its builder is paid the royalty")
    t.transfer(100 * TSR, "alice")
    t.deposit(20 * TSR, "operator", "alice")
    return node
