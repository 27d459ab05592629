"""Run the `tessera` command as a user would: a subprocess with its own home."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "cli password"


@dataclass
class Cli:
    home: Path
    port: int

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "TESSERA_HOME": str(self.home), "TESSERA_PASSWORD": PASSWORD}
        env.update(extra)
        return env

    def popen(self, *args: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "tessera.cli.main", *args],
            env=self.env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tessera.cli.main", *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )

    def ok(self, *args: str, **extra: str) -> str:
        done = self.run(*args, **extra)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def fails(self, *args: str, **extra: str) -> str:
        """Run a command that must fail with one `error:` sentence; return that sentence."""
        done = self.run(*args, **extra)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
        return lines[0]

    # governance, in real time on the managed anvil

    @staticmethod
    def proposal_id(out: str) -> str:
        match = re.search(r"proposal (\d+) created", out)
        assert match, out
        return match.group(1)

    def state(self, proposal: str) -> str:
        match = re.search(rf"proposal {proposal}: (\w+)", self.ok("gov", "status", proposal))
        assert match
        return match.group(1)

    def wait_for(self, proposal: str, state: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.state(proposal) != state:
            assert time.monotonic() < deadline, f"proposal {proposal} never became {state}"
            time.sleep(0.5)

    def enact(self, *propose: str) -> str:
        """`gov propose ...` through vote, queue and execute; the proposal's id."""
        proposal = self.proposal_id(self.ok("gov", "propose", *propose))
        self.wait_for(proposal, "ACTIVE")
        self.ok("gov", "vote", proposal, "for")
        self.wait_for(proposal, "SUCCEEDED")
        self.ok("gov", "queue", proposal)
        self.ok("gov", "execute", proposal, "--wait")
        return proposal
