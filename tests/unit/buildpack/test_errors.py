"""Every error type renders into a message that names the facts it carries."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from pycnb.buildpack.archive import InvalidArchive, UnsafeArchiveMember
from pycnb.buildpack.checks import ForbiddenEnvVars
from pycnb.buildpack.download import ChecksumMismatch, DownloadFailed
from pycnb.buildpack.errors import BUILDPACK_ERRORS, BuildpackError, render
from pycnb.buildpack.layers.pip import BundledPipMissing
from pycnb.buildpack.layers.venv import PipInstallFailed
from pycnb.buildpack.manifest import InvalidManifest, InvalidMirror, ManifestUnavailable
from pycnb.buildpack.package_manager import (
    MultiplePackageManagers,
    NoPackageManager,
    PackageManager,
    PackageManagerNotYetSupported,
    UnsupportedPackageManager,
)
from pycnb.buildpack.process import CommandFailed, CommandNotFound
from pycnb.buildpack.python_version import (
    InvalidPythonVersionFile,
    PythonVersion,
    PythonVersionNotAvailable,
    RequestedVersion,
    RequestOrigin,
)
from pycnb.buildpack.requirements import RequirementsFileMissing
from pycnb.cnb.context import ContextError

APP = Path("/workspace")

EXAMPLES: list[tuple[BuildpackError, list[str]]] = [
    (ForbiddenEnvVars([("PIP_USER", "because")]), ["PIP_USER: because"]),
    (NoPackageManager(["requirement.txt"], has_pyproject=False), ["requirement.txt"]),
    (NoPackageManager([], has_pyproject=True), ["pyproject.toml"]),
    (MultiplePackageManagers([PackageManager.PIP, PackageManager.UV]), ["uv.lock (uv)"]),
    (UnsupportedPackageManager("Pipfile", "Pipenv"), ["Pipenv", "Pipfile"]),
    (PackageManagerNotYetSupported(PackageManager.POETRY), ["poetry.lock"]),
    (
        InvalidPythonVersionFile(APP / ".python-version", 2, "pypy3.10", "not a version"),
        ["line 2", "'pypy3.10'", "3.13"],
    ),
    (
        PythonVersionNotAvailable(
            RequestedVersion(3, 12, 99, RequestOrigin.PYTHON_VERSION_FILE),
            [PythonVersion(3, 12, 0), PythonVersion(3, 12, 7), PythonVersion(3, 13, 1)],
        ),
        ["3.12.99", ".python-version", "3.12 (3.12.0 to 3.12.7), 3.13.1"],
    ),
    (RequirementsFileMissing(APP / "b.txt", APP / "requirements.txt", 3), ["line 3", "b.txt"]),
    (RequirementsFileMissing(APP / "requirements.txt", None, None), ["does not exist"]),
    (ManifestUnavailable("file:///m.json", "No such file"), ["/m.json", "BP_PYTHON_MANIFEST"]),
    (InvalidManifest("m.json", ["distributions[0].sha256: bad"]), ["distributions[0].sha256"]),
    (InvalidMirror("ftp://x", "unsupported scheme"), ["ftp://x", "BP_PYTHON_MIRROR"]),
    (DownloadFailed("https://h/p.tar.gz", "timed out", 4), ["https://h/p.tar.gz", "4 attempts"]),
    (ChecksumMismatch("https://h/p", "a" * 64, "b" * 64), ["a" * 64, "b" * 64]),
    (InvalidArchive(Path("/t/p.tgz"), "not gzip"), ["not gzip"]),
    (UnsafeArchiveMember(Path("/t/p.tgz"), "../x", "escapes"), ["'../x'", "escapes"]),
    (BundledPipMissing(Path("/l/ensurepip/_bundled")), ["ensurepip/_bundled"]),
    (PipInstallFailed("requirements.txt", 1), ["pip install -r requirements.txt"]),
    (CommandFailed(("venv", "x"), 2, "boom"), ["status 2", "boom"]),
    (CommandNotFound("pip", "No such file"), ["pip"]),
    (ContextError("CNB_TARGET_OS missing"), ["CNB_TARGET_OS"]),
]


@pytest.mark.parametrize(("error", "facts"), EXAMPLES, ids=lambda v: type(v).__name__)
def test_render_names_the_facts(error: BuildpackError, facts: list[str]) -> None:
    message = render(error)
    text = f"{message.title}\n{message.details}\n{message.fix}"
    assert message.title
    for fact in facts:
        assert fact in text


def test_every_error_type_has_an_example() -> None:
    assert {type(e) for e, _ in EXAMPLES} == set(get_args(BuildpackError))
    assert set(BUILDPACK_ERRORS) == set(get_args(BuildpackError))
