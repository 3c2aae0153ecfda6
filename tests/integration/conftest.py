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

from pycnb.platform.local_python import default_cache_dir, find_local_pythons, write_local_manifest
from pycnb.platform.target import host_target
from tests.support.tool_wheels import cached_tool_wheels
from tests.support.wheels import make_wheel

FIXTURE_APPS = Path(__file__).parent.parent / "fixtures" / "apps"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def runtime_manifest() -> Path:
    pythons = [p for p in find_local_pythons() if p.version.minor_version in {"3.12", "3.13"}]
    found = {p.version.minor_version for p in pythons}
    assert found == {"3.12", "3.13"}, (
        f"integration tests need CPython 3.12 and 3.13 installed on this machine; found {found}"
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
def app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A writable copy of the fixture app named by `@pytest.mark.app("name")`."""
    marker = request.node.get_closest_marker("app")
    assert marker is not None, "use @pytest.mark.app('fixture name')"
    copy = tmp_path / "app"
    shutil.copytree(FIXTURE_APPS / marker.args[0], copy, symlinks=True)
    yield copy
