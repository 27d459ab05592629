"""Three hosts on one chain, as separate machines: network namespaces joined by a bridge.

The chain, home a and home b each live in a namespace of their own, with an address on a
private /24 and a veth into a "switch" namespace that holds the bridge; they reach one another
only over that wire, never over a shared loopback. Home a deploys, contributes and serves;
home b joins from a's registry, serves what it fetched from a, and keeps answering once a's
node is gone. Everything runs as real processes: anvil and `tessera` commands.

The root namespace is left alone: the veth pairs are made inside the switch namespace, and
deleting the namespaces deletes them. Each namespace is fresh and empty, so its ports are free.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from node_helpers import FACTS

from tessera._store.cid import cid_for

QUESTION = "Who founded the Ulora Brewery?"
FOUNDER_CID = cid_for(FACTS[0].encode())
PASSWORD = "separate hosts"
CHAIN_PORT, NODE_PORT = 8545, 8000  # free: nothing else ever ran in these namespaces
SUBNET = f"10.213.{os.getpid() % 200 + 20}"  # from the pid, so parallel runs do not clash
_counter = itertools.count()
# the proxies of the environment cannot be reached from inside the namespaces
_PROXIES = {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"


def _namespaces_work() -> str | None:
    """None where `ip netns add` works here; else why not."""
    if shutil.which("ip") is None:
        return "no `ip` command on this machine"
    probe = f"tsp{os.getpid()}-{next(_counter)}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return f"`ip netns add` fails here (not root?): {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


@dataclass
class Wire:
    """A switch namespace with a bridge, and host namespaces plugged into it."""

    switch: str = field(default_factory=lambda: f"ts{os.getpid()}-{next(_counter)}-sw")
    hosts: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (netns, address)

    def up(self) -> None:
        _ip("netns", "add", self.switch)
        self._in(self.switch, "link", "add", "br0", "type", "bridge")
        self._in(self.switch, "link", "set", "br0", "up")

    def plug(self, name: str) -> str:
        """A new host namespace on the bridge; its address."""
        index = len(self.hosts) + 1
        netns, address = f"ts{os.getpid()}-{next(_counter)}-{name}", f"{SUBNET}.{index}"
        _ip("netns", "add", netns)
        self.hosts[name] = (netns, address)
        port = f"p{index}"  # made in the switch namespace, its peer moved straight into the host
        self._in(self.switch, "link", "add", port, "type", "veth", "peer", "eth0", "netns", netns)
        self._in(self.switch, "link", "set", port, "master", "br0", "up")
        self._in(netns, "addr", "add", f"{address}/24", "dev", "eth0")
        self._in(netns, "link", "set", "eth0", "up")
        self._in(netns, "link", "set", "lo", "up")
        return address

    def down(self) -> None:
        for netns, _ in self.hosts.values():
            subprocess.run(["ip", "netns", "del", netns], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.switch], capture_output=True)

    @staticmethod
    def _in(netns: str, *args: str) -> None:
        _ip("-n", netns, *args)

    def command(self, name: str, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.hosts[name][0], *args]

    def address(self, name: str) -> str:
        return self.hosts[name][1]


def _env(home: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in _PROXIES}
    return {**base, "TESSERA_HOME": str(home), "TESSERA_PASSWORD": PASSWORD, "COLUMNS": "200"}


@dataclass
class Host:
    """A home on one host: `tessera` commands run inside its namespace."""

    wire: Wire
    name: str
    home: Path
    node: subprocess.Popen | None = None

    def tessera(self, *args: str) -> str:
        cli = [sys.executable, "-m", "tessera.cli.main", "--home", str(self.home), *args]
        done = subprocess.run(
            self.wire.command(self.name, *cli),
            env=_env(self.home),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        assert done.returncode == 0, f"tessera {' '.join(args)}: {done.stderr}"
        return done.stdout

    def python(self, code: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.wire.command(self.name, sys.executable, "-c", code, *args),
            env=_env(self.home),
            capture_output=True,
            text=True,
            timeout=120,
        )

    @property
    def url(self) -> str:
        return f"http://{self.wire.address(self.name)}:{NODE_PORT}"

    def start_node(self, model_folder: Path) -> None:
        args = ("node", "start", "--datanet", "facts", "--model", str(model_folder), "--free")
        cli = [sys.executable, "-m", "tessera.cli.main", "--home", str(self.home), *args]
        cli += ["--host", self.wire.address(self.name), "--port", str(NODE_PORT)]
        self.node = subprocess.Popen(
            self.wire.command(self.name, *cli),
            env=_env(self.home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.home.parent / f"{self.name}-node.log").open("w"),
        )
        deadline = time.time() + 180
        while time.time() < deadline:
            assert self.node.poll() is None, self._log()
            if self.python(_HEALTH, self.url + "/health").returncode == 0:
                return
            time.sleep(1)
        raise AssertionError(f"node {self.name} did not start: {self._log()}")

    def stop_node(self) -> None:
        if self.node is not None and self.node.poll() is None:
            self.node.send_signal(signal.SIGTERM)
            try:
                self.node.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.node.kill()
                self.node.wait()

    def _log(self) -> str:
        return (self.home.parent / f"{self.name}-node.log").read_text()[-4000:]


_HEALTH = """
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.exit(0 if opener.open(sys.argv[1], timeout=2).status == 200 else 1)
"""
_ASK = """
import json, sys
from tessera import NodeClient
client = NodeClient(sys.argv[1])
print(json.dumps([s["cid"] for s in client.ask(sys.argv[2]).sources]))
"""


def sources(asker: Host, url: str) -> list[str]:
    done = asker.python(_ASK, url, QUESTION)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def sources_once_indexed(asker: Host, url: str, timeout: float = 120) -> list[str]:
    """The answer's sources, once the node has fetched and indexed the fact we ask about."""
    deadline = time.time() + timeout
    while True:
        found = sources(asker, url)
        if FOUNDER_CID in found or time.time() > deadline:
            return found
        time.sleep(2)


def _field(out: str, pattern: str) -> str:
    match = re.search(pattern, out)
    assert match, out
    return match.group(1)


@pytest.fixture
def wire() -> Iterator[Wire]:
    why = _namespaces_work()
    if why:
        pytest.skip(why)
    made = Wire()
    try:
        made.up()
        yield made
    finally:
        made.down()


def _start_chain(wire: Wire, anvil_binary: Path, root: Path) -> subprocess.Popen:
    address = wire.plug("chain")
    log = (root / "anvil.log").open("w")
    chain = subprocess.Popen(
        wire.command("chain", str(anvil_binary), "--host", address, "--port", str(CHAIN_PORT)),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 30
    while "Listening on" not in (root / "anvil.log").read_text():
        assert chain.poll() is None and time.time() < deadline, (root / "anvil.log").read_text()
        time.sleep(0.2)
    return chain


def test_a_joined_host_serves_what_another_host_contributed(
    wire, anvil_binary, tmp_path, wide_generator
):
    chain = _start_chain(wire, anvil_binary, tmp_path)
    a, b = Host(wire, "a", tmp_path / "a"), Host(wire, "b", tmp_path / "b")
    for host in (a, b):
        wire.plug(host.name)
    chain_url = f"http://{wire.address('chain')}:{CHAIN_PORT}"
    try:
        registry = _field(a.tessera("init", "--chain", chain_url), r"registry (0x[0-9a-fA-F]{40})")
        a.tessera("datanet", "create", "facts", "--license", "CC-BY-4.0")
        source = tmp_path / "facts.jsonl"
        source.write_text("".join(json.dumps({"text": fact}) + "\n" for fact in FACTS))
        a.tessera("contribute", "facts", str(source))
        a.start_node(wide_generator.folder)
        a.tessera("node", "register", "--endpoint", a.url, "--stake", "1000")

        joined = b.tessera("init", "--chain", chain_url, "--join", registry)
        b_address = _field(joined, r"account default (0x[0-9a-fA-F]{40})")
        a.tessera("transfer", "2000", b_address)  # a's home holds the supply
        b.start_node(wide_generator.folder)  # b never ingests: it fetches from a by CID
        b.tessera("node", "register", "--endpoint", b.url, "--stake", "1000")

        assert FOUNDER_CID in sources_once_indexed(b, b.url)
        assert FOUNDER_CID in sources(b, a.url)  # across the wire, from host b to host a
        a.stop_node()
        assert a.python(_HEALTH, a.url + "/health").returncode != 0  # a's node is gone
        assert FOUNDER_CID in sources(b, b.url)
    finally:
        a.stop_node()
        b.stop_node()
        chain.terminate()
        chain.wait(timeout=30)
