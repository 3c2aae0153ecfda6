"""The example app from the public package index, once per package manager (marked `network`).

Every other integration test installs from a local index over plain HTTP. These see what a user
sees: HTTPS to PyPI, through whatever proxy or private certificate authority the machine trusts,
for the buildpack itself, which fetches the wheels of uv and pip, and for each tool (pip, uv,
Poetry, Pipenv, PDM). The platform hands the buildpack none of the caller's certificate settings
(SSL_CERT_FILE...), as a CNB platform would not, so a tool that trusts only its own bundled roots
fails here behind a TLS-inspecting proxy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.trust import system_ca_bundle
from tests.integration.conftest import Locker, Pycnb
from tests.integration.test_processes import fetch, serving

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "flask-hello"
PUBLIC_SIMPLE_INDEX = "https://pypi.org/simple/"

pytestmark = pytest.mark.network

UV_PROJECT = """\
[project]
name = "flask-hello"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["flask==3.1.3", "gunicorn==27.0.1"]
"""

# Poetry's default PyPI source reads PyPI's JSON API; a simple index works wherever PyPI does.
POETRY_PROJECT = f"""\
[project]
name = "flask-hello"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["flask==3.1.3", "gunicorn==27.0.1"]

[tool.poetry]
package-mode = false

[[tool.poetry.source]]
name = "pypi-simple"
url = "{PUBLIC_SIMPLE_INDEX}"
priority = "primary"
"""


PDM_PROJECT = f"""\
{UV_PROJECT}
[tool.pdm]
distribution = false
"""

PIPFILE = f"""\
[[source]]
url = "{PUBLIC_SIMPLE_INDEX}"
verify_ssl = true
name = "pypi"

[packages]
flask = "==3.1.3"
gunicorn = "==27.0.1"
"""

PROJECT_FILES = {
    "uv": ("pyproject.toml", UV_PROJECT),
    "poetry": ("pyproject.toml", POETRY_PROJECT),
    "pipenv": ("Pipfile", PIPFILE),
    "pdm": ("pyproject.toml", PDM_PROJECT),
}


@pytest.fixture
def public_pycnb(tmp_path: Path, runtime_manifest: Path) -> Pycnb:
    return Pycnb(
        root=tmp_path / "root",
        user_env={"BP_PYTHON_MANIFEST": runtime_manifest.as_uri()},
        caller_env=dict(os.environ),
    )


def lock(locker: Locker, app: Path, tool: str) -> None:
    """Write the lockfile against the public index, as the developer did before pushing."""
    bundle = system_ca_bundle()
    assert bundle is not None, "this machine has no CA bundle to trust"
    env = {
        "PATH": f"{locker.tools}:/usr/bin:/bin",
        "HOME": str(locker.home),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_SYSTEM_CERTS": "1",
        "REQUESTS_CA_BUNDLE": bundle,
        "POETRY_VIRTUALENVS_CREATE": "false",
        "POETRY_KEYRING_ENABLED": "false",
        # Pipenv and PDM read the system's store themselves (truststore), as in the build.
        "VIRTUAL_ENV": str(locker.tools.parent),
        "PIPENV_VERBOSITY": "-1",
        "PIPENV_NOSPIN": "1",
        "PDM_PYTHON": str(locker.tools / "python"),
        "PDM_CHECK_UPDATE": "false",
        "PDM_CONFIG_FILE": str(locker.home / "pdm-config.toml"),
        **{k: v for k, v in os.environ.items() if k.lower().endswith("_proxy")},
    }
    argv = {
        "uv": [str(locker.tools / "uv"), "lock", "--python", str(locker.tools / "python")],
        "poetry": [str(locker.tools / "poetry"), "lock", "--no-interaction"],
        "pipenv": [str(locker.pipenv_tools / "pipenv"), "lock"],
        "pdm": [str(locker.pdm_tools / "pdm"), "lock"],
    }[tool]
    done = subprocess.run(
        argv, cwd=app, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("manager", "tool_line"),
    [
        ("pip", "Installing pip"),
        ("uv", "Installing dependencies from uv.lock with uv"),
        ("poetry", "Installing dependencies from poetry.lock with Poetry"),
        ("pipenv", "Installing dependencies from Pipfile.lock with Pipenv"),
        ("pdm", "Installing dependencies from pdm.lock with PDM"),
    ],
)
def test_the_example_app_builds_from_the_public_index_and_serves(
    public_pycnb: Pycnb, locker: Locker, tmp_path: Path, manager: str, tool_line: str
) -> None:
    app = tmp_path / "app"
    shutil.copytree(EXAMPLE, app)
    if manager != "pip":
        (app / "requirements.txt").unlink()
        name, content = PROJECT_FILES[manager]
        (app / name).write_text(content)
        lock(locker, app, manager)

    built = public_pycnb.build(app)
    assert built.returncode == 0, built
    assert tool_line in built.output, built
    assert "Traceback" not in built.output

    script = "from importlib.metadata import version; print(version('flask'))"
    ran = public_pycnb.run(app, "python", "-c", script)
    assert ran.returncode == 0, ran
    assert ran.output == "3.1.3\n"
    with serving(public_pycnb, app, tmp_path / "server.log") as base:
        assert fetch(f"{base}/") == (200, "Hello from a pycnb-built app!\n")
