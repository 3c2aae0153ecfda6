"""The fault-injection harness: `pycnb` run as a user runs it (a child process, the CLI), on a
tiny app built by `tests/faults/buildpack` (fast, and it misbehaves on request), so each fault
can be injected at a chosen point and every outcome checked the same way:

- the exit code;
- no Python traceback on stdout or stderr;
- a message that names the problem;
- the previous image still runs (`pycnb run` prints the value it was built with);
- the next build succeeds.

Every wait is bounded in time, and every server used binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BUILDPACK = Path(__file__).resolve().parent / "buildpack"
_TIMEOUT = 120.0


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def assert_clean_failure(result: Result, *phrases: str) -> None:
    """Failed, said why in words, and showed no traceback."""
    assert result.code != 0, result.text
    assert "Traceback" not in result.text, result.text
    for phrase in phrases:
        assert phrase in result.text, f"{phrase!r} not in:\n{result.text}"


@dataclass
class Faults:
    tmp: Path
    app: Path
    root: Path
    env: dict[str, str]

    def configure(self, value: str, **fault: Any) -> None:
        (self.app / "VALUE").write_text(value + "\n")
        (self.app / "fault.json").write_text(json.dumps(fault))

    def argv(self, command: str, *extra: str, root: Path | None = None) -> list[str]:
        where = str(root or self.root)
        args = [sys.executable, "-m", "pycnb", command, str(self.app), "--root", where]
        if command == "build":
            # The test buildpack needs no Python runtime: skip looking for local ones.
            args += ["--buildpack", str(BUILDPACK), "--env", "BP_PYTHON_MANIFEST=unused"]
        return [*args, *extra]

    def pycnb(self, command: str, *extra: str, root: Path | None = None) -> Result:
        completed = subprocess.run(
            self.argv(command, *extra, root=root),
            capture_output=True,
            text=True,
            env=self.env,
            timeout=_TIMEOUT,
            check=False,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def start(self, command: str, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(command, *extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    def build(self, value: str, **fault: Any) -> Result:
        self.configure(value, **fault)
        return self.pycnb("build")

    def shown(self, root: Path | None = None) -> str:
        """What the image prints: the value it was built with."""
        result = self.pycnb("run", root=root)
        assert result.code == 0, result.text
        return result.out.strip()

    def assert_healthy(self, expected: str) -> None:
        """The previous image still runs, and the next build succeeds and runs."""
        assert self.shown() == expected
        result = self.build("next")
        assert result.code == 0, result.text
        assert self.shown() == "next"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != b"Z":
            found.append(int(entry.name))
    return found


def kill(process: subprocess.Popen[str], signum: int = signal.SIGKILL) -> Result:
    process.send_signal(signum)
    out, err = process.communicate(timeout=_TIMEOUT)
    return Result(process.returncode, out, err)


@pytest.fixture
def faults(tmp_path: Path) -> Iterator[Faults]:
    app = tmp_path / "app"
    app.mkdir()
    host_bin = tmp_path / "host-bin"
    host_bin.mkdir()
    # The buildpack's `python3`: this interpreter, not a pyenv shim.
    (host_bin / "python3").symlink_to(sys.executable)
    env = {
        "PATH": f"{host_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
    }
    yield Faults(tmp_path, app, tmp_path / "root", env)
    # Whatever a test left running (it failed half-way) must not outlive it.
    for pid in processes_with(str(tmp_path)):
        if pid != os.getpid():
            os.kill(pid, signal.SIGKILL)


def lines(text: str) -> Sequence[str]:
    return [line for line in text.splitlines() if line.strip()]
