"""Killed and concurrent builds: nothing a build started outlives it, and no build commits while
a process of another can still write."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.faults.conftest import Faults, assert_clean_failure, kill, processes_with, wait_for


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_killed_build_takes_its_buildpack_and_grandchildren_along(
    faults: Faults, signum: int
) -> None:
    assert faults.build("one").code == 0
    ready = faults.tmp / "ready"
    # The grandchild would write into the image's layer 1.5 s later, long after the CLI died.
    faults.configure("two", spawn_writer=1.5, ready=str(ready), sleep=60)
    build = faults.start("build")
    wait_for(ready.exists, "the buildpack to start its grandchild")
    result = kill(build, signum)
    assert result.code in {-signum, 130}, result.text
    assert "Traceback" not in result.text
    # Within moments nothing of the build is left: not bin/build, not its sleeping grandchild.
    wait_for(lambda: not processes_with(str(faults.root)), "the build's processes to die", 5)
    time.sleep(2.0)  # past the moment the grandchild would have written
    late = list(faults.root.rglob("late.txt"))
    assert late == []
    faults.assert_healthy("one")


def test_killed_build_is_rolled_back_by_a_retry_started_at_once(faults: Faults) -> None:
    assert faults.build("one").code == 0
    ready = faults.tmp / "ready"
    faults.configure("two", ready=str(ready), sleep=60)
    build = faults.start("build")
    wait_for(ready.exists, "the build to reach its long step")
    kill(build)
    # No wait at all: the retry must not see a half-built root, nor fail on a busy lock.
    retry = faults.build("three")
    assert retry.code == 0, retry.text
    assert "Recovering from an interrupted build" in retry.text
    assert faults.shown() == "three"


@pytest.mark.parametrize("phase", ["DETECTING", "RESTORING", "BUILDING", "EXPORTING"])
def test_kill_9_at_each_phase_boundary_leaves_the_previous_image(
    faults: Faults, phase: str
) -> None:
    assert faults.build("one").code == 0
    faults.configure("two")
    build = faults.start("build")
    assert build.stdout is not None
    deadline = time.monotonic() + 60
    for line in build.stdout:
        if f"===> {phase}" in line or time.monotonic() > deadline:
            break
    kill(build)
    assert faults.shown() in {"one", "two"}  # before or after the commit point, never a mix
    faults.assert_healthy(faults.shown())


def test_concurrent_build_is_refused_while_one_runs(faults: Faults) -> None:
    assert faults.build("one").code == 0
    ready = faults.tmp / "ready"
    faults.configure("two", ready=str(ready), sleep=60)
    first = faults.start("build")
    wait_for(ready.exists, "the first build to reach its long step")
    second = faults.pycnb("build")
    assert_clean_failure(second, "another pycnb process is using", str(faults.root))
    kill(first)
    faults.assert_healthy("one")


def test_buildpack_straggler_is_stopped_before_export(faults: Faults) -> None:
    # The buildpack exits at once but leaves a process behind that writes later.
    result = faults.build("one", spawn_writer=0.5)
    assert result.code == 0, result.text
    time.sleep(1.0)
    assert list(Path(faults.root).rglob("late.txt")) == []
    assert faults.shown() == "one"


def test_killed_build_and_guardian_leftovers_are_reaped_by_the_next_build(faults: Faults) -> None:
    # `kill -9` of every pycnb process, the guardian included: the buildpack's own process dies
    # with the CLI, but its grandchild survives; the next build must stop it before anything.
    assert faults.build("one").code == 0
    ready = faults.tmp / "ready"
    faults.configure("two", spawn_writer=3.0, ready=str(ready), sleep=60)
    build = faults.start("build")
    wait_for(ready.exists, "the buildpack to start its grandchild")
    guardians = [pid for pid in processes_with("_guardian.py") if pid in _of_root(faults)]
    assert len(guardians) == 1
    os.kill(guardians[0], signal.SIGKILL)
    build.kill()
    build.wait(timeout=30)  # not communicate(): the grandchild holds the output pipe open
    time.sleep(0.2)
    assert "sleep 3.0" in _commands(faults)  # the orphan, still due to write
    retry = faults.build("three")
    assert retry.code == 0, retry.text
    assert "an interrupted build left running" in retry.text
    assert "sleep 3.0" not in _commands(faults)
    time.sleep(3.5)  # past the moment the grandchild would have written
    assert list(faults.root.rglob("late.txt")) == []
    assert faults.shown() == "three"
    build.communicate(timeout=30)


def _of_root(faults: Faults) -> list[int]:
    return processes_with(str(faults.root))


def _commands(faults: Faults) -> str:
    """The command lines of the live processes that mention the root."""
    texts = []
    for pid in _of_root(faults):
        try:
            texts.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return "\n".join(texts)
