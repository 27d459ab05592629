"""Run the `tessera` command as a user would, in a home of its own: in this process through
click's CliRunner, or as a real process where a test needs one (a server, kill -9)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from tessera.cli.main import main

PASSWORD = "cli password"
# the console script that `pip install` put beside this interpreter: what a user runs
TESSERA = Path(sys.executable).with_name("tessera")


@dataclass(frozen=True)
class Done:
    """How a command ended, with the fields of subprocess.CompletedProcess that tests read."""

    returncode: int
    stdout: str
    stderr: str


@dataclass
class Cli:
    home: Path
    port: int

    def settings(self, **extra: str) -> dict[str, str]:
        """The environment every command gets on top of this one's; `extra` overrides it."""
        # a fixed width, as for a pipe, so that tables never fold a CID or an address
        return {
            "TESSERA_HOME": str(self.home),
            "TESSERA_PASSWORD": PASSWORD,
            "COLUMNS": "200",
            **extra,
        }

    def run(self, *args: str, **extra: str) -> Done:
        """`tessera ARGS` in this process; a crash ends as it would in a process of its own,
        with the traceback on stderr and exit code 1."""
        umask = os.umask(0o077)  # main() sets the umask: for this command, not the test session
        try:
            with warnings.catch_warnings():
                # a chain the command started is detached on purpose and outlives it
                warnings.filterwarnings("ignore", "subprocess .* is still running", ResourceWarning)
                result = CliRunner().invoke(
                    main, list(args), env=self.settings(**extra), prog_name="tessera"
                )
        finally:
            os.umask(umask)
        stderr = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            stderr += "".join(traceback.format_exception(result.exception))
        return Done(result.exit_code, result.stdout, stderr)

    def popen(self, *args: str, **extra: str) -> subprocess.Popen:
        """`tessera ARGS` as a real process, for servers and for what a kill -9 must reach."""
        return subprocess.Popen(
            [str(TESSERA), *args],
            env={**os.environ, **self.settings(**extra)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    def run_process(self, *args: str, **extra: str) -> Done:
        """`tessera ARGS` as a real process, through the installed console script."""
        done = subprocess.run(
            [str(TESSERA), *args],
            env={**os.environ, **self.settings(**extra)},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        return Done(done.returncode, done.stdout, done.stderr)

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
