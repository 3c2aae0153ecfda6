"""Where an app states its Python version, read in order into `VersionSources`.

`read_version_sources` applies the order of the sources; the version files are parsed by
`version_file.py`, the project's constraints (`requires-python`, Poetry's `python`, uv.lock,
Pipfile's `[requires]`) here. pyproject.toml and the Pipfile come in parsed, since the build
reads them once for every step; the version files and uv.lock are read here. Reading stops at
the first explicit source, so a broken runtime.txt next to a valid .python-version never fails a
build; the project's constraints are always read, since an explicit version must agree with
them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from pycnb.buildpack.dependencies.pipfile import Pipfile
from pycnb.buildpack.project import Pyproject
from pycnb.buildpack.python.errors import (
    ConstraintProblem,
    InvalidProjectFile,
    InvalidVersionConstraint,
)
from pycnb.buildpack.python.notices import ByteOrderMark, PythonVersionNotice, SourceIgnored
from pycnb.buildpack.python.poetry_constraint import PoetryConstraintError, poetry_to_pep440
from pycnb.buildpack.python.resolve import VersionSources
from pycnb.buildpack.python.version import (
    RequestForm,
    RequestOrigin,
    VersionConstraint,
    VersionRequest,
)
from pycnb.buildpack.python.version_file import (
    parse_python_version_file,
    parse_python_version_setting,
)

__all__ = [
    "parse_pipfile_python",
    "parse_poetry_constraint",
    "parse_project_constraints",
    "parse_requires_python",
    "read_version_sources",
]


# --- pyproject.toml and uv.lock ------------------------------------------------------------


def parse_requires_python(value: object, origin: RequestOrigin) -> VersionRequest | None:
    """A PEP 440 `requires-python` (pyproject.toml, uv.lock). None when it is empty."""
    text = _constraint_text(value, origin)
    if not text:
        return None
    try:
        specifiers = SpecifierSet(text)
    except ValueError:
        raise InvalidVersionConstraint(origin, text, ConstraintProblem.INVALID) from None
    return VersionRequest(origin, text, VersionConstraint((specifiers,)), RequestForm.SPECIFIER)


def parse_poetry_constraint(value: object) -> VersionRequest | None:
    """`[tool.poetry.dependencies] python`. None when it is empty."""
    origin = RequestOrigin.POETRY_PYTHON
    text = _constraint_text(value, origin)
    if not text:
        return None
    try:
        alternatives = tuple(SpecifierSet(s) for s in poetry_to_pep440(text))
    except (PoetryConstraintError, ValueError):
        raise InvalidVersionConstraint(origin, text, ConstraintProblem.INVALID) from None
    return VersionRequest(origin, text, VersionConstraint(alternatives), RequestForm.POETRY)


def _constraint_text(value: object, origin: RequestOrigin) -> str:
    if not isinstance(value, str):
        raise InvalidVersionConstraint(origin, repr(value), ConstraintProblem.NOT_A_STRING)
    return value.strip()


_PIPFILE_KEYS = (
    ("python_version", RequestOrigin.PIPFILE_PYTHON),
    ("python_full_version", RequestOrigin.PIPFILE_FULL_PYTHON),
)
_PIPFILE_VERSION = re.compile(r"[0-9]+(\.[0-9]+){0,2}", re.ASCII)


def parse_pipfile_python(value: object, origin: RequestOrigin) -> VersionRequest | None:
    """Pipfile's `[requires] python_version` ("3.11": any 3.11) or `python_full_version`
    ("3.11.4": exactly that), as Pipenv reads them. None when empty or "*"."""
    text = _constraint_text(value, origin)
    if not text or text == "*":
        return None
    if not _PIPFILE_VERSION.fullmatch(text):
        raise InvalidVersionConstraint(origin, text, ConstraintProblem.INVALID)
    full = origin is RequestOrigin.PIPFILE_FULL_PYTHON
    specifiers = SpecifierSet(f"=={text}" if full else f"=={text}.*")
    return VersionRequest(origin, text, VersionConstraint((specifiers,)), RequestForm.VERSION)


def parse_project_constraints(
    pyproject: Mapping[str, Any] | None,
    uv_lock: Mapping[str, Any] | None,
    pipfile: Mapping[str, Any] | None = None,
) -> tuple[VersionRequest, ...]:
    """Every constraint the project states; a version must satisfy them all."""
    found: list[VersionRequest | None] = []
    if pyproject is not None:
        project = pyproject.get("project")
        if isinstance(project, dict) and "requires-python" in project:
            found.append(
                parse_requires_python(project["requires-python"], RequestOrigin.REQUIRES_PYTHON)
            )
        dependencies = _table(pyproject, "tool", "poetry", "dependencies")
        if dependencies is not None and "python" in dependencies:
            found.append(parse_poetry_constraint(dependencies["python"]))
    if uv_lock is not None and "requires-python" in uv_lock:
        found.append(parse_requires_python(uv_lock["requires-python"], RequestOrigin.UV_LOCK))
    requires = _table(pipfile, "requires") if pipfile is not None else None
    for key, origin in _PIPFILE_KEYS:
        if requires is not None and key in requires:
            found.append(parse_pipfile_python(requires[key], origin))
    return tuple(request for request in found if request is not None)


def _table(document: Mapping[str, Any], *keys: str) -> Mapping[str, Any] | None:
    current: object = document
    for key in keys:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current if isinstance(current, dict) else None


# --- Reading -------------------------------------------------------------------------------

_EXPLICIT_FILES = (RequestOrigin.PYTHON_VERSION_FILE, RequestOrigin.RUNTIME_TXT)


def read_version_sources(
    app_dir: Path, setting: str | None, pyproject: Pyproject | None, pipfile: Pipfile | None = None
) -> VersionSources:
    """Read every source in order. `setting`: BP_PYTHON_VERSION (trimmed), or None if unset.
    `pyproject`: the app's pyproject.toml as the build read it, or None if it has none."""
    notices: list[PythonVersionNotice] = []
    explicit: VersionRequest | None = None
    if setting is not None:
        explicit = parse_python_version_setting(setting)
    for origin in _EXPLICIT_FILES:
        path = _version_file(app_dir, origin)
        if path is None:
            continue
        if explicit is not None:
            notices.append(SourceIgnored(origin, explicit.origin))
            continue
        parsed = parse_python_version_file(_read_bytes(path, origin), origin)
        if parsed.had_bom:
            notices.append(ByteOrderMark(origin))
        explicit = parsed.request
    project = parse_project_constraints(
        None if pyproject is None else pyproject.data,
        _read_toml(app_dir / "uv.lock"),
        None if pipfile is None else pipfile.data,
    )
    return VersionSources(explicit, project, tuple(notices))


def _version_file(app_dir: Path, origin: RequestOrigin) -> Path | None:
    """The version file the app has, read through a symbolic link as the app sees it; None
    when there is none. Anything else by that name is an error, never silently skipped: the
    user meant it to choose the version."""
    path = app_dir / origin.value
    if path.is_file():
        return path
    if path.is_symlink():
        target = path.readlink()
        raise InvalidProjectFile(
            origin.file,
            f"it is a symbolic link to {target}, which does not exist in the build. Only the "
            "app's directory is built, so a link to a file outside it (such as a monorepo's "
            "shared ../.python-version) points at nothing: copy the file into the app instead",
        )
    if path.exists():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise InvalidProjectFile(origin.file, f"it is {kind}; it must be a text file")
    return None


def _read_bytes(path: Path, origin: RequestOrigin) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidProjectFile(origin.file, error.strerror or str(error)) from None


def _read_toml(path: Path) -> dict[str, Any] | None:
    # Only the Python version step reads uv.lock (uv reads it when it installs), so it is read
    # here.
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InvalidProjectFile(path.name, error.strerror or str(error)) from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InvalidProjectFile(path.name, f"not valid UTF-8 ({error.reason})") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidProjectFile(path.name, str(error)) from None
