"""Fixtures for integration tests: the real buildpack, run by the real CLI, offline.

- Python runtimes are made from the CPython installs on this machine (relocated, cached in the
  user cache dir) and offered through a manifest, as `pycnb build --python-source local` does.
- Packages come from a wheelhouse the tests write (tiny real wheels) plus the pinned installer
  wheels fetched once by `scripts/fetch_test_wheels.py`.
- The CLI runs in a poisoned environment (VIRTUAL_ENV, PYTHONPATH, PIP_INDEX_URL pointing
  nowhere) to prove the platform only passes the spec's allowlist to the buildpack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.tool_versions import LOCKED_TOOLS
from pycnb.platform.target import host_target
from pycnb.runtimes.discover import find_local_pythons
from pycnb.runtimes.local_python import default_cache_dir, write_local_manifest
from tests.support.index import build_simple_index, serve_index
from tests.support.tool_wheels import (
    cached_test_app_wheels,
    cached_tool_wheels,
    make_locked_tool_venv,
    make_tools_venv,
)
from tests.support.wheels import make_wheel

FIXTURE_APPS = Path(__file__).parent.parent / "fixtures" / "apps"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def runtime_manifest() -> Path:
    needed = {"3.10", "3.11", "3.12", "3.13"}  # 3.10: the end-of-life warning
    pythons = [p for p in find_local_pythons() if p.version.minor_version in needed]
    found = {p.version.minor_version for p in pythons}
    assert found == needed, (
        f"integration tests need CPython {sorted(needed)} installed on this machine; found {found}"
    )
    return write_local_manifest(pythons, default_cache_dir(), arch=host_target().arch)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    house = tmp_path_factory.mktemp("wheelhouse")
    for wheel in cached_tool_wheels().glob("*.whl"):
        (house / wheel.name).symlink_to(wheel)
    make_wheel(house, "pycnb-alpha", "1.0")
    make_wheel(house, "pycnb-alpha", "2.0")
    make_wheel(house, "pycnb-beta", "1.0", dependencies=["pycnb-alpha>=1"])
    return house


@pytest.fixture(scope="session")
def web_wheelhouse(wheelhouse: Path) -> Path:
    """The wheelhouse, checked to hold the real web frameworks and servers (Flask, Django,
    gunicorn...) that the `web_*` fixture apps install: a missing one fails, naming the fetch
    script, rather than failing the build offline."""
    cached_test_app_wheels()
    return wheelhouse


@dataclass(frozen=True)
class Result:
    returncode: int
    output: str  # stdout and stderr, interleaved as a user sees them

    def __str__(self) -> str:
        return f"exit status {self.returncode}\n{self.output}"


@dataclass
class Pycnb:
    """The `pycnb` CLI with one platform root, offline settings and a poisoned caller env."""

    root: Path
    user_env: dict[str, str]
    caller_env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str | Path) -> Result:
        completed = subprocess.run(
            [sys.executable, "-m", "pycnb", *map(str, args)],
            env=self.caller_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            timeout=600,
        )
        return Result(completed.returncode, completed.stdout)

    def build(self, app: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
        pairs = [f"--env={k}={v}" for k, v in {**self.user_env, **(env or {})}.items()]
        return self("build", app, "--root", self.root, *pairs, *extra)

    def run(self, app: Path, *command: str, extra: Sequence[str] = ()) -> Result:
        return self("run", app, "--root", self.root, *extra, "--", *command)

    @property
    def layers(self) -> Path:
        return self.root / "layers" / "pycnb_python"


@pytest.fixture
def pycnb(tmp_path: Path, runtime_manifest: Path, wheelhouse: Path) -> Pycnb:
    caller_env = dict(os.environ)
    caller_env.update(
        {
            "VIRTUAL_ENV": "/invalid/venv",
            "PYTHONPATH": "/invalid/pythonpath",
            "PIP_INDEX_URL": "http://127.0.0.1:9/unreachable",
        }
    )
    return Pycnb(
        root=tmp_path / "root",
        user_env={
            "BP_PYTHON_MANIFEST": runtime_manifest.as_uri(),
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheelhouse),
        },
        caller_env=caller_env,
    )


@pytest.fixture
def app(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A writable copy of the fixture app named by `@pytest.mark.app("name")`."""
    marker = request.node.get_closest_marker("app")
    assert marker is not None, "use @pytest.mark.app('fixture name')"
    copy = tmp_path / "app"
    shutil.copytree(FIXTURE_APPS / marker.args[0], copy, symlinks=True)
    return copy


# --- Lockfile projects (uv, Poetry, Pipenv, PDM) and the local index they lock against ---------

INDEX_URL_PLACEHOLDER = "@INDEX_URL@"


@dataclass(frozen=True)
class PackageIndex:
    url: str  # the PEP 503 simple index, served on 127.0.0.1 for the whole session
    files: Path  # every file the index serves, usable as a pip --find-links directory


@pytest.fixture(scope="session")
def package_index(
    tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path
) -> Iterator[PackageIndex]:
    """The wheelhouse plus a dev-only and an optional package, as a live simple index.

    It stays up for the whole session: lockfiles name its URL, and a rebuild downloads from it.
    """
    extra = tmp_path_factory.mktemp("group-wheels")
    make_wheel(extra, "pycnb-devtool", "1.0")  # only ever in a `dev` group
    make_wheel(extra, "pycnb-gamma", "1.0")  # only ever in the `fast` extra
    index_dir = build_simple_index([wheelhouse, extra], tmp_path_factory.mktemp("index"))
    with serve_index(index_dir) as url:
        yield PackageIndex(url, index_dir / "files")


@dataclass(frozen=True)
class Locker:
    """Writes real lockfiles with the pinned uv, Poetry, Pipenv and PDM, as a developer would
    before pushing."""

    tools: Path  # bin/ of a venv holding uv and Poetry
    index: PackageIndex
    home: Path  # HOME, caches and config for the tools: nothing from the machine's user
    pipenv_tools: Path  # bin/ of a venv holding Pipenv, as its lock says
    pdm_tools: Path  # bin/ of a venv holding PDM, as its lock says

    def uv(self, app: Path) -> None:
        self._run(app, [str(self.tools / "uv"), "lock", "--python", str(self.tools / "python")])

    def poetry(self, app: Path) -> None:
        self._run(app, [str(self.tools / "poetry"), "lock", "--no-interaction"])

    def pipenv(self, app: Path) -> None:
        # Pipenv locks for the Python of the venv it runs in: the tools venv's, like a developer's.
        self._run(app, [str(self.pipenv_tools / "pipenv"), "lock"])

    def uv_export(self, app: Path) -> None:
        """requirements.txt from uv.lock, as a repo that also serves pip-only tools commits it."""
        argv = [str(self.tools / "uv"), "export", "--no-dev", "--output-file", "requirements.txt"]
        argv += ["--python", str(self.tools / "python")]
        self._run(app, argv)

    def pdm(self, app: Path) -> None:
        self._run(app, [str(self.pdm_tools / "pdm"), "lock", "--group", ":all"])

    def point_at_index(self, app: Path) -> None:
        for name in ("pyproject.toml", "Pipfile"):
            path = app / name
            if path.exists():
                path.write_text(path.read_text().replace(INDEX_URL_PLACEHOLDER, self.index.url))

    def _run(self, app: Path, argv: list[str]) -> None:
        self.point_at_index(app)
        env = {
            "PATH": f"{self.tools}:/usr/bin:/bin",
            "HOME": str(self.home),
            "UV_CACHE_DIR": str(self.home / "uv-cache"),
            "UV_PYTHON_DOWNLOADS": "never",
            "POETRY_CACHE_DIR": str(self.home / "poetry-cache"),
            "POETRY_CONFIG_DIR": str(self.home / "poetry-config"),
            "POETRY_VIRTUALENVS_CREATE": "false",
            "POETRY_KEYRING_ENABLED": "false",
            # Pipenv and PDM: a venv of their own, never one of the app's, and no user config.
            "VIRTUAL_ENV": str(self.tools.parent),
            "PIPENV_CACHE_DIR": str(self.home / "pipenv-cache"),
            "PIPENV_VERBOSITY": "-1",
            "PIPENV_NOSPIN": "1",
            "PDM_CACHE_DIR": str(self.home / "pdm-cache"),
            "PDM_CONFIG_FILE": str(self.home / "pdm-config.toml"),
            "PDM_CHECK_UPDATE": "false",
            "PDM_PYTHON": str(self.tools / "python"),
            "PDM_NON_INTERACTIVE": "1",
        }
        completed = subprocess.run(
            argv, cwd=app, env=env, capture_output=True, text=True, check=False, timeout=300
        )
        assert completed.returncode == 0, f"{argv}: {completed.stdout}{completed.stderr}"


@pytest.fixture(scope="session")
def locker(tmp_path_factory: pytest.TempPathFactory, package_index: PackageIndex) -> Locker:
    wheels = cached_tool_wheels()
    tools = make_tools_venv(tmp_path_factory.mktemp("lock-tools") / "venv", wheels)
    pipenv, pdm = (
        make_locked_tool_venv(tmp_path_factory.mktemp(f"lock-{name}") / "venv", wheels, tool)
        for name in ("pipenv", "pdm")
        for tool in LOCKED_TOOLS
        if tool.requirement.startswith(f"{name}==")
    )
    return Locker(tools, package_index, tmp_path_factory.mktemp("lock-home"), pipenv, pdm)


def imports(pycnb: Pycnb, app: Path, module: str) -> bool:
    """Whether the built app's Python can import `module` (run from the app dir, as the app is)."""
    return pycnb.run(app, "python", "-c", f"import {module}").returncode == 0


def assert_clean_error(result: Result, *fragments: str) -> None:
    """A failed build that explains itself: no traceback, and every fragment in the log."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.output, result
    for fragment in fragments:
        assert fragment in result.output, result


def _pyc_states(directory: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in directory.rglob("*.pyc")}


def assert_launch_image_is_installer_free(pycnb: Pycnb, app: Path, module: str) -> None:
    """Only the Python and venv layers are exported, no installer is in them or on PATH, and
    the venv's .pyc files are hash-based, so importing after export rewrites none of them.
    `module` is a package of the app to import."""
    exported = {p.name for p in pycnb.layers.iterdir() if p.is_dir()}
    assert {"python", "venv"} <= exported
    tools = ("pip", "uv", "poetry", "pipenv", "pdm")
    installers = {*tools, *(f"{tool}-cache" for tool in tools)}
    assert not exported & installers, exported
    for pattern in ("bin/pip*", "bin/uv*", "bin/poetry*", "bin/pdm*", "site-packages/pip",
                    "site-packages/uv", "site-packages/poetry", "site-packages/pipenv",
                    "site-packages/pdm"):  # fmt: skip
        assert not list(pycnb.layers.rglob(pattern)), pattern
    for tool in tools:
        # The run image here is this machine, which may have a pip of its own in /usr/bin.
        found = pycnb.run(app, "sh", "-c", f"command -v {tool} || true")
        assert str(pycnb.root) not in found.output, (tool, found)
    venv_pycs = list((pycnb.layers / "venv").rglob("*.pyc"))
    assert venv_pycs, "the installer compiled the venv"
    # PEP 552: a non-zero flags word (bytes 4-8) means hash-based.
    timestamp_based = [p for p in venv_pycs if int.from_bytes(p.read_bytes()[4:8], "little") == 0]
    assert not timestamp_based, timestamp_based
    before = _pyc_states(pycnb.layers)
    ran = pycnb.run(app, "python", "-c", f"import json, decimal, {module}")
    assert ran.returncode == 0, ran
    assert _pyc_states(pycnb.layers) == before
