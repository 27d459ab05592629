"""Run anvil as a detached local chain whose state survives restarts and crashes.

Files under `state_dir`: state.json (chain state, rewritten by anvil every second and on
SIGTERM), anvil.pid, anvil.log, cache/ (anvil's on-disk history cache, useless after a restart).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tessera._errors import ChainError

_REPO_ROOT = Path(__file__).resolve().parents[3]
_HOST = "127.0.0.1"
_STATE_INTERVAL_S = 1  # the most a kill -9 of anvil can lose
# Never send local RPC through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def find_anvil() -> Path:
    """Return the anvil binary: $TESSERA_ANVIL, then <repo>/.tools, then anvil on PATH."""
    configured = os.environ.get("TESSERA_ANVIL")
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ChainError(
                f"TESSERA_ANVIL is {configured}, which is not an executable file: "
                "fix the path or unset it"
            )
        return _native_binary(path)
    shim = _REPO_ROOT / ".tools" / "node_modules" / ".bin" / "anvil"
    if shim.exists():
        return _native_binary(shim)
    on_path = shutil.which("anvil")
    if on_path:
        return _native_binary(Path(on_path))
    raise ChainError("anvil is not installed: run scripts/setup-anvil (or set TESSERA_ANVIL)")


def _native_binary(path: Path) -> Path:
    # npm's bin is a node shim that spawns the platform binary; running that binary directly
    # makes the pidfile name anvil itself, so stop() and kill -9 reach the process holding state.
    script = path.resolve()
    if script.name == "bin.mjs":
        for native in sorted(script.parent.parent.glob("anvil-*/bin/anvil")):
            if os.access(native, os.X_OK):
                return native
    return path


class AnvilProcess:
    """One anvil node on 127.0.0.1:`port`, detached from the caller, its files in `state_dir`."""

    def __init__(self, state_dir: Path, port: int, chain_id: int = 31337) -> None:
        self.state_dir = Path(state_dir)
        self.port = port
        self.chain_id = chain_id
        self.state_file = self.state_dir / "state.json"
        self.pid_file = self.state_dir / "anvil.pid"
        self.log_file = self.state_dir / "anvil.log"
        self.cache_dir = self.state_dir / "cache"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start anvil (no-op if already running) and return once it answers RPC."""
        if self.is_running():
            return
        if not _wait_for_free_port(self.port, 5.0):
            raise ChainError(
                f"port {self.port} on {_HOST} is already in use by another program: "
                "stop that program or give the local chain another port"
            )
        command = [
            str(find_anvil()),
            *("--host", _HOST, "--port", str(self.port), "--chain-id", str(self.chain_id)),
            *("--state", str(self.state_file), "--state-interval", str(_STATE_INTERVAL_S)),
            *("--cache-path", str(self.cache_dir)),
            "--quiet",  # else every RPC call is logged and the log grows without bound
        ]
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._guard_state()
        # anvil never deletes its history cache and a new run cannot read an old one.
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        with self.log_file.open("ab") as log:
            log_offset = log.tell()
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlive the CLI command and its Ctrl-C
            )
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(f"{self._proc.pid}\n")
        tmp.replace(self.pid_file)
        self._wait_until_ready(timeout, log_offset)

    def _guard_state(self) -> None:
        """Keep a copy of the last state that parsed; restore it if anvil left a torn file.

        anvil rewrites state.json in place, so a kill -9 mid-write leaves it truncated and
        anvil then refuses to start. Falling back to the previous good copy loses at most
        what happened since the last start, instead of the whole chain.
        """
        backup = self.state_dir / "state.good.json"
        if not self.state_file.exists():
            return
        if _parses(self.state_file):
            tmp = backup.with_suffix(".tmp")
            shutil.copyfile(self.state_file, tmp)
            tmp.replace(backup)
        elif backup.exists():
            torn = self.state_dir / f"state.torn-{int(time.time())}.json"
            self.state_file.replace(torn)
            shutil.copyfile(backup, self.state_file)
            with self.log_file.open("a") as log:
                log.write(
                    f"tessera: {self.state_file} was torn (kept as {torn.name}); "
                    f"restored the copy saved at the previous start\n"
                )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop anvil with SIGTERM so it saves its state; SIGKILL it if it hangs."""
        pid = self._read_pid()
        if pid is not None and self._alive(pid):
            _signal_group(pid, signal.SIGTERM)
            if not self._wait_until_stopped(pid, timeout):
                # state.json is then at most one state interval old.
                _signal_group(pid, signal.SIGKILL)
                self._wait_until_stopped(pid, 5.0)
        self.pid_file.unlink(missing_ok=True)

    def is_running(self) -> bool:
        pid = self._read_pid()
        return pid is not None and self._alive(pid) and _chain_id(self.url) == self.chain_id

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def _alive(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid and self._proc.poll() is not None:
            return False  # our own child has exited (poll() reaped it)
        return _is_anvil(pid)

    def _wait_until_ready(self, timeout: float, log_offset: int) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise ChainError(self._failure("exited while starting", log_offset))
            chain_id = _chain_id(self.url)
            if chain_id == self.chain_id:
                return
            if chain_id is not None:
                self.stop()
                raise ChainError(
                    f"{self.url} answered with chain id {chain_id}, not {self.chain_id}: "
                    "another chain took the port; give the local chain another port"
                )
            time.sleep(0.02)
        self.stop()
        raise ChainError(self._failure(f"did not answer within {timeout:g} s", log_offset))

    def _wait_until_stopped(self, pid: int, timeout: float) -> bool:
        # The port is closed only after anvil has written its state and exited.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._alive(pid) and _port_free(self.port):
                return True
            time.sleep(0.05)
        return False

    def _failure(self, what: str, log_offset: int) -> str:
        with self.log_file.open("rb") as log:
            log.seek(log_offset)
            tail = log.read().decode(errors="replace").strip()[-2000:]
        if "failed to parse json file" in tail:
            hint = (
                f"the saved chain state {self.state_file} is damaged (anvil was probably killed "
                "while writing it): restore a backup, or move it aside to start an empty chain"
            )
        else:
            hint = f"see {self.log_file}"
        return f"anvil {what} on {self.url}: {hint}\n{tail}"


def _is_anvil(pid: int) -> bool:
    """True if `pid` is a live anvil; a stale pidfile's pid may since have been reused."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        # Linux: a zombie has an empty cmdline, a reused pid another one.
        return b"anvil" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no procfs (macOS): trust kill(pid, 0)


def _wait_for_free_port(port: int, timeout: float) -> bool:
    # a chain killed a moment ago may still hold its port while the kernel tears it down
    deadline = time.monotonic() + timeout
    while not _port_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _parses(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
        return True
    except ValueError:
        return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # start_new_session made anvil a group leader: the group also holds the npm shim's child.
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _port_free(port: int) -> bool:
    # SO_REUSEADDR like anvil's own bind, so TIME_WAIT leftovers do not count as taken.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((_HOST, port))
        except OSError:
            return False
    return True


def _chain_id(url: str) -> int | None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        url, body.encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with _OPENER.open(request, timeout=2) as response:
            return int(json.load(response)["result"], 16)
    except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError):
        return None
