"""The README's first command, against the public package index (marked `network`).

Every other integration test installs from a local index over plain HTTP. This one sees what a
user sees: HTTPS to PyPI, through whatever proxy or private certificate authority the machine
trusts, for the bootstrap pip that installs the pinned pip and for the pinned pip itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.tool_versions import PIP_VERSION
from tests.integration.conftest import Pycnb

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "flask-hello"


@pytest.mark.network
def test_the_example_app_builds_from_the_public_index_and_runs(
    tmp_path: Path, runtime_manifest: Path
) -> None:
    app = tmp_path / "app"
    shutil.copytree(EXAMPLE, app)
    pycnb = Pycnb(
        root=tmp_path / "root",
        user_env={"BP_PYTHON_MANIFEST": runtime_manifest.as_uri()},
        caller_env=dict(os.environ),
    )
    built = pycnb.build(app)
    assert built.returncode == 0, built
    assert f"Installing pip {PIP_VERSION}..." in built.output
    pinned = (app / "requirements.txt").read_text()
    assert "flask==3.1.3" in pinned
    script = "from importlib.metadata import version; print(version('flask'))"
    ran = pycnb.run(app, "python", "-c", script)
    assert ran.returncode == 0, ran
    assert ran.output == "3.1.3\n"
