"""Every error type renders into a message that names the facts it carries."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import pycnb.buildpack
from pycnb.buildpack.checks import ForbiddenEnvVars
from pycnb.buildpack.commands import CommandFailed, CommandNotFound
from pycnb.buildpack.dependencies.failures import (
    InstallerFailed,
    LockfileOutdated,
    LockFormatUnsupported,
    PipInstallFailed,
    PythonRejected,
    ToolInstallFailed,
)
from pycnb.buildpack.dependencies.groups import UnknownDependencyGroups
from pycnb.buildpack.dependencies.package_manager import (
    LockfileMissing,
    MultiplePackageManagers,
    NoPackageManager,
    PackageManager,
    PipfileMissing,
)
from pycnb.buildpack.dependencies.pipfile import InvalidPipfile
from pycnb.buildpack.dependencies.requirements import RequirementsFileMissing
from pycnb.buildpack.dependencies.tool_wheels import (
    ToolWheelBroken,
    ToolWheelDownloadFailed,
    ToolWheelNotFound,
    ToolWheelUnsupported,
)
from pycnb.buildpack.errors import BuildpackError
from pycnb.buildpack.launch.django import (
    CollectstaticCause,
    CollectstaticFailed,
    InvalidBooleanSetting,
)
from pycnb.buildpack.launch.procfile import InvalidProcfile, ProblemKind, ProcfileProblem
from pycnb.buildpack.launch.start_check import ProcessCannotStart
from pycnb.buildpack.messages import render
from pycnb.buildpack.project import InvalidPyproject
from pycnb.buildpack.python.archive import InvalidArchive, UnsafeArchiveMember
from pycnb.buildpack.python.download import ChecksumMismatch, DownloadFailed
from pycnb.buildpack.python.manifest import InvalidManifest, InvalidMirror, ManifestUnavailable
from pycnb.cnb.context import ContextError
from tests.unit.buildpack.test_python_version_errors import ERRORS as PYTHON_VERSION_EXAMPLES

APP = Path("/workspace")

EXAMPLES: list[tuple[Exception, list[str]]] = [
    (ForbiddenEnvVars([("PIP_USER", "because")]), ["PIP_USER: because"]),
    (NoPackageManager(["requirement.txt"], has_pyproject=False), ["requirement.txt"]),
    (NoPackageManager([], has_pyproject=True), ["pyproject.toml"]),
    (MultiplePackageManagers([PackageManager.PIP, PackageManager.UV]), ["uv.lock (uv)"]),
    (
        LockFormatUnsupported(PackageManager.PDM, "lock_version 3.1", "Lockfile is not compatible"),
        ["pdm.lock is in a format PDM cannot read (lock_version 3.1)", "Run `pdm lock` with PDM"],
    ),
    (PipfileMissing(), ["Pipfile.lock has no Pipfile", "Commit the Pipfile"]),
    (
        LockfileMissing([("Pipenv", "Pipfile.lock")], found_in="Pipfile"),
        ["Pipfile.lock is missing", "The app has a Pipfile", "`pipenv lock`"],
    ),
    (InvalidPipfile(APP / "Pipfile", "Expected '=' (at line 2)"), ["Pipfile", "line 2"]),
    (LockfileMissing([("Poetry", "poetry.lock")]), ["[tool.poetry]", "`poetry lock`"]),
    (LockfileMissing([("uv", "uv.lock")]), ["[tool.uv]", "`uv lock`"]),
    (LockfileMissing([("PDM", "pdm.lock")]), ["[tool.pdm]", "`pdm lock`"]),
    (
        LockfileOutdated(PackageManager.PIPENV, "Pipfile.lock is out-of-date."),
        ["Pipfile.lock is out of date", "Pipenv said:", "Pipfile changed", "`pipenv lock`"],
    ),
    (
        LockfileOutdated(PackageManager.PDM, "Lockfile doesn't satisfy the project"),
        ["pdm.lock is out of date", "PDM said:", "pyproject.toml changed", "`pdm lock`"],
    ),
    (InvalidPyproject(APP / "pyproject.toml", "Expected '=' (at line 3, column 5)"), ["line 3"]),
    (
        UnknownDependencyGroups(["tests"], PackageManager.UV, ["dev", "docs"], ["fast"]),
        ["BP_PYTHON_GROUPS", "tests", "dependency groups: dev, docs", "extras: fast"],
    ),
    (
        UnknownDependencyGroups(["dev"], PackageManager.PIP, [], []),
        ["requirements.txt has no dependency groups"],
    ),
    (
        LockfileOutdated(PackageManager.UV, "error: The lockfile at `uv.lock` needs updating"),
        ["uv.lock is out of date", "    error: The lockfile", "`uv lock`"],
    ),
    (
        LockfileOutdated(PackageManager.POETRY, "pyproject.toml changed significantly"),
        ["poetry.lock is out of date", "`poetry lock`"],
    ),
    (
        PythonRejected(PackageManager.POETRY, "3.13.0", "Current Python version (3.13.0) is not"),
        ["Python 3.13.0", "    Current Python", "tool.poetry.dependencies", ".python-version"],
    ),
    (
        InstallerFailed(PackageManager.UV, "uv sync --locked", 2, "error: Failed to fetch"),
        ["uv sync --locked", "status 2", "    error: Failed to fetch", "UV_INDEX_<NAME>"],
    ),
    (
        InstallerFailed(PackageManager.PYPROJECT, "pip install .", 1, None),
        ["pip's own error is printed above", "`pip install .`"],
    ),
    *PYTHON_VERSION_EXAMPLES,
    (RequirementsFileMissing(APP / "b.txt", APP / "requirements.txt", 3), ["line 3", "b.txt"]),
    (RequirementsFileMissing(APP / "requirements.txt", None, None), ["does not exist"]),
    (ManifestUnavailable("file:///m.json", "No such file"), ["/m.json", "BP_PYTHON_MANIFEST"]),
    (InvalidManifest("m.json", ["distributions[0].sha256: bad"]), ["distributions[0].sha256"]),
    (InvalidMirror("ftp://x", "unsupported scheme"), ["ftp://x", "BP_PYTHON_MIRROR"]),
    (DownloadFailed("https://h/p.tar.gz", "timed out", 4), ["https://h/p.tar.gz", "4 attempts"]),
    (ChecksumMismatch("https://h/p", "a" * 64, "b" * 64), ["a" * 64, "b" * 64]),
    (InvalidArchive(Path("/t/p.tgz"), "not gzip"), ["not gzip"]),
    (UnsafeArchiveMember(Path("/t/p.tgz"), "../x", "escapes"), ["'../x'", "escapes"]),
    (
        ToolInstallFailed("Poetry", "poetry==2.5.1", 1, "error: No solution found"),
        [
            "Installing Poetry failed",
            "`poetry==2.5.1`",
            "status 1",
            "    error: No solution found",
            "PIP_INDEX_URL",
        ],
    ),
    (
        ToolWheelNotFound("uv", "uv-1-py3-none-any.whl", (("https://***@m/simple/", "HTTP 404"),)),
        ["Cannot find uv", "uv-1-py3-none-any.whl", "https://***@m/simple/: HTTP 404"],
    ),
    (
        ToolWheelDownloadFailed("pip", "sha256 mismatch for https://m/pip.whl"),
        ["Downloading pip failed", "sha256 mismatch", "mirror"],
    ),
    (ToolWheelBroken("uv", "uv.whl", "corrupt"), ["uv.whl: corrupt"]),
    (ToolWheelUnsupported("uv", "1", ("uv-1-py3-none-win32.whl",)), ["win32", "Linux"]),
    (PipInstallFailed("requirements.txt", 1), ["pip install -r requirements.txt"]),
    (CommandFailed(("venv", "x"), 2, "boom"), ["status 2", "boom"]),
    (CommandNotFound("pip", "No such file"), ["pip"]),
    (ContextError("CNB_TARGET_OS missing"), ["CNB_TARGET_OS"]),
    (
        InvalidProcfile(
            (
                ProcfileProblem(2, "gunicorn app:app", ProblemKind.INVALID_TYPE, "gunicorn app"),
                ProcfileProblem(3, "web:", ProblemKind.EMPTY_COMMAND, "web"),
                ProcfileProblem(4, "web: b", ProblemKind.DUPLICATE_TYPE, "web", 1),
                ProcfileProblem(5, "oops", ProblemKind.MALFORMED),
                ProcfileProblem(6, "w\ufffd: x", ProblemKind.NOT_UTF8),
                ProcfileProblem(7, "w!: x", ProblemKind.INVALID_TYPE, "w!"),
            )
        ),
        [
            "6 lines",
            'line 2: "gunicorn app:app"',
            "is the type missing",
            "web has no command",
            "line 1 already declares it",
            "line 5",
            "not UTF-8",
            "`<type>: <command>`",
        ],
    ),
    (
        CollectstaticFailed(
            ("python", "manage.py", "collectstatic", "--noinput"),
            1,
            "ImproperlyConfigured: ... STATIC_ROOT setting",
            CollectstaticCause.MISSING_STATIC_ROOT,
        ),
        [
            "status 1",
            "ImproperlyConfigured",
            'BASE_DIR / "staticfiles"',
            "BP_DISABLE_COLLECTSTATIC",
        ],
    ),
    (
        CollectstaticFailed(
            ("python", "manage.py", "help", "collectstatic"),
            1,
            "KeyError: 'SECRET_KEY'",
            CollectstaticCause.MISSING_ENV_VAR,
            "SECRET_KEY",
        ),
        ["help collectstatic", "environment variable SECRET_KEY", "--env SECRET_KEY="],
    ),
    (
        InvalidBooleanSetting("BP_DISABLE_COLLECTSTATIC", "maybe"),
        ["BP_DISABLE_COLLECTSTATIC", "maybe"],
    ),
    (
        ProcessCannotStart(
            "web",
            "gunicorn",
            "gunicorn.app.wsgiapp",
            "pkg_resources",
            "ModuleNotFoundError: No module named 'pkg_resources'\n",
        ),
        ["web process cannot start", "gunicorn.app.wsgiapp", "setuptools<81", "gunicorn 23"],
    ),
    (
        ProcessCannotStart(
            "web", "legacy", "legacy.main", "cgi", "ModuleNotFoundError: No module named 'cgi'"
        ),
        ["until Python 3.12", "Python 3.13 removed it", "echo 3.12 > .python-version"],
    ),
]


@pytest.mark.parametrize(("error", "facts"), EXAMPLES, ids=lambda v: type(v).__name__)
def test_render_names_the_facts(error: Exception, facts: list[str]) -> None:
    message = render(error)
    text = f"{message.title}\n{message.details}\n{message.fix}"
    assert message.title
    for fact in facts:
        assert fact in text


def _concrete_error_types() -> set[type[Exception]]:
    # Every module of the buildpack, imported, so that every error type is defined.
    for module in pkgutil.walk_packages(pycnb.buildpack.__path__, "pycnb.buildpack."):
        importlib.import_module(module.name)
    found: set[type[Exception]] = set()
    pending: list[type[Exception]] = [BuildpackError]
    while pending:
        cls = pending.pop()
        subclasses = cls.__subclasses__()
        pending.extend(subclasses)
        if not subclasses:
            found.add(cls)
    return found | {ContextError}


def test_every_error_type_has_its_own_message_and_an_example() -> None:
    types = _concrete_error_types()
    fallback = render.dispatch(Exception)
    assert [t.__name__ for t in types if render.dispatch(t) is fallback] == []
    assert {type(e) for e, _ in EXAMPLES} == types
