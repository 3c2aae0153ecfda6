"""The issue's own reproduction, with the real buildpack: a build switching Python is killed
inside its long runtime step and a retry with a third version starts at once. Nothing of the
killed build may keep running, and the image must be exactly what its metadata says."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.conftest import processes_with, wait_for
from tests.integration import conftest as integration
from tests.integration.conftest import Pycnb

# The integration tests' fixtures, registered here under the names pytest knows them by.
pycnb = integration.pycnb
app = integration.app
runtime_manifest = integration.runtime_manifest
wheelhouse = integration.wheelhouse

pytestmark = pytest.mark.integration


def _start_build(cli: Pycnb, app_dir: Path, python: str) -> subprocess.Popen[str]:
    pairs = [f"--env={k}={v}" for k, v in {**cli.user_env, "BP_PYTHON_VERSION": python}.items()]
    return subprocess.Popen(
        [sys.executable, "-m", "pycnb", "build", str(app_dir), "--root", str(cli.root), *pairs],
        env=cli.caller_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _python_of_image(cli: Pycnb, app_dir: Path) -> str:
    ran = cli.run(app_dir, "python", "-c", "import sys, json; print(sys.version.split()[0])")
    assert ran.returncode == 0, ran
    return ran.output.strip()


@pytest.mark.app("pip_basic")
def test_killed_python_switch_then_immediate_retry(pycnb: Pycnb, app: Path) -> None:
    first = pycnb.build(app, env={"BP_PYTHON_VERSION": "3.12"})
    assert first.returncode == 0, first
    assert _python_of_image(pycnb, app).startswith("3.12.")

    killed = _start_build(pycnb, app, "3.11")
    assert killed.stdout is not None
    deadline = time.monotonic() + 120
    for line in killed.stdout:  # inside the long step: installing the new runtime
        if "Installing Python" in line or time.monotonic() > deadline:
            break
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)

    retry = pycnb.build(app, env={"BP_PYTHON_VERSION": "3.13"})
    assert retry.returncode == 0, retry
    assert "Traceback" not in retry.output
    wait_for(lambda: not processes_with(str(pycnb.root / "layers")), "no build process left", 10)
    assert _python_of_image(pycnb, app).startswith("3.13.")
    # And later still: nothing of the killed build wrote into the image after the retry.
    time.sleep(1.0)
    assert _python_of_image(pycnb, app).startswith("3.13.")
