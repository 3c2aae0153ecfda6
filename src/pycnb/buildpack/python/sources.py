"""Where an app states its Python version, read and parsed strictly.

`parse_*` functions are pure (bytes or text in, a `VersionRequest` out, or one of our
`PythonVersionError`s); `read_version_sources` does the I/O and applies the order of the
sources. Reading stops at the first explicit source, so a broken runtime.txt next to a valid
.python-version never fails a build; the project's constraints (pyproject.toml, uv.lock) are
always read, since an explicit version must agree with them.

`.python-version` follows what pyenv and uv read: one version per line, `#` comment lines, blank
lines, indentation and CRLF allowed. Beyond that we accept what real apps write and we can still
understand (a PEP 440 specifier set, runtime.txt's `python-X.Y`) and say so; everything else is
an error that quotes the line. Anything that is not printable ASCII in a version line is an
error: a zero-width space or a non-breaking space makes a file that looks right and is not.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from pycnb.buildpack.python.errors import (
    BadLine,
    ConstraintProblem,
    InvalidProjectFile,
    InvalidPythonVersion,
    InvalidVersionConstraint,
    LineProblem,
    MultiplePythonVersions,
)
from pycnb.buildpack.python.notices import ByteOrderMark, PythonVersionNotice, SourceIgnored
from pycnb.buildpack.python.resolve import VersionSources
from pycnb.buildpack.python.version import (
    ExactVersion,
    LatestPatch,
    MinorVersion,
    PythonVersion,
    RequestForm,
    RequestOrigin,
    VersionConstraint,
    VersionRequest,
)
from pycnb.cnb.store import read_store_entry, write_store_entry

__all__ = [
    "PYTHON_STORE_KEY",
    "ParsedVersionFile",
    "PoetryConstraintError",
    "StoredPythonDefault",
    "parse_poetry_constraint",
    "parse_project_constraints",
    "parse_python_version_file",
    "parse_python_version_setting",
    "parse_requires_python",
    "poetry_to_pep440",
    "read_previous_default",
    "read_version_sources",
    "remember_default",
]

_BOM = b"\xef\xbb\xbf"
_NUMBER = r"(0|[1-9][0-9]{0,5})"  # no leading zeros; short enough that int() is always cheap
_VERSION = re.compile(rf"{_NUMBER}\.{_NUMBER}(?:\.{_NUMBER})?", re.ASCII)
_RUNTIME_FORM = re.compile(rf"python-{_VERSION.pattern}", re.ASCII)  # the same three groups
_FREE_THREADED = re.compile(rf"{_VERSION.pattern}t", re.ASCII)
_PRERELEASE = re.compile(r"[0-9]+\.[0-9]+(\.[0-9]+)?(a|b|rc|-dev|\.dev)[0-9]*", re.ASCII)
_OTHER_IMPLEMENTATIONS = re.compile(
    r"(pypy|graalpy|jython|ironpython|pyston|micropython|stackless|anaconda|miniconda|"
    r"miniforge|mambaforge|activepython)",
    re.IGNORECASE,
)
_SPECIFIER_START = frozenset("<>=!~")
# Longer than any sensible version line; keeps pathological input cheap.
_MAX_LINE = 200


# --- .python-version, runtime.txt, BP_PYTHON_VERSION ----------------------------------------


@dataclass(frozen=True)
class ParsedVersionFile:
    request: VersionRequest
    had_bom: bool  # a UTF-8 byte order mark was skipped


@dataclass(frozen=True)
class _Versions:
    versions: list[tuple[str, VersionRequest]]  # text, request: several for `3.12 3.11`


def parse_python_version_file(
    data: bytes, origin: RequestOrigin = RequestOrigin.PYTHON_VERSION_FILE
) -> ParsedVersionFile:
    """Parse a `.python-version` (or `runtime.txt`). Raises InvalidPythonVersion listing every
    bad line, or MultiplePythonVersions; never anything else."""
    had_bom = data.startswith(_BOM)
    # surrogateescape: undecodable bytes survive as lone surrogates, so the line that holds them
    # can be reported (and shown as \\xNN) instead of failing on the file as a whole.
    text = data.removeprefix(_BOM).decode("utf-8", errors="surrogateescape")
    problems: list[BadLine] = []
    found: list[tuple[int, str, VersionRequest]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r").strip(" \t")
        if _has_surrogates(line):
            problems.append(BadLine(number, line, LineProblem.INVALID_UTF8))
            continue
        if not line or line.startswith("#"):
            continue
        match _classify(line, origin, number):
            case LineProblem() as problem:
                problems.append(BadLine(number, line, problem))
            case _Versions(versions=versions):
                found.extend((number, text, request) for text, request in versions)
    if problems:
        raise InvalidPythonVersion(origin, problems)
    if not found:
        raise InvalidPythonVersion(origin, [BadLine(None, None, LineProblem.NO_VERSION)])
    if len(found) > 1:
        raise MultiplePythonVersions(origin, [(number, text) for number, text, _ in found])
    return ParsedVersionFile(found[0][2], had_bom)


def parse_python_version_setting(value: str) -> VersionRequest:
    """Parse BP_PYTHON_VERSION (already trimmed): the same forms as one .python-version line."""
    origin = RequestOrigin.BP_PYTHON_VERSION
    problem: LineProblem
    if _has_surrogates(value):
        problem = LineProblem.INVALID_UTF8
    else:
        match _classify(value, origin, None):
            case _Versions(versions=[(_, request)]):
                return request
            case _Versions():
                problem = LineProblem.NOT_A_VERSION  # several versions make no sense here
            case LineProblem() as found:
                problem = found
    raise InvalidPythonVersion(origin, [BadLine(None, value, problem)])


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def _classify(line: str, origin: RequestOrigin, number: int | None) -> _Versions | LineProblem:
    if any(not (" " <= char <= "~" or char == "\t") for char in line):
        return LineProblem.INVISIBLE_CHARACTER
    if len(line) > _MAX_LINE:
        return LineProblem.NOT_A_VERSION
    request = _parse_request(line, origin, number)
    if isinstance(request, VersionRequest):
        return _Versions([(line, request)])
    if request is not None:
        return request
    if "#" in line:
        before = line.split("#", 1)[0].strip(" \t")
        if before and isinstance(_parse_request(before, origin, number), VersionRequest):
            return LineProblem.COMMENT_AFTER_VERSION
    return _several_versions(line, origin, number) or _diagnose(line)


def _several_versions(line: str, origin: RequestOrigin, number: int | None) -> _Versions | None:
    # pyenv's form for several versions on one line: `3.12 3.11`
    words = line.split()
    requests = [(word, _parse_request(word, origin, number)) for word in words]
    versions = [(word, r) for word, r in requests if isinstance(r, VersionRequest)]
    return _Versions(versions) if len(words) > 1 and len(versions) == len(words) else None


def _parse_request(
    text: str, origin: RequestOrigin, number: int | None
) -> VersionRequest | LineProblem | None:
    """A request, a problem when `text` is recognisably a broken specifier, or None."""
    if match := _VERSION.fullmatch(text):
        return VersionRequest(origin, text, _version_spec(match), RequestForm.VERSION, number)
    if match := _RUNTIME_FORM.fullmatch(text):
        return VersionRequest(origin, text, _version_spec(match), RequestForm.RUNTIME_TXT, number)
    if text[0] in _SPECIFIER_START:
        try:
            specifiers = SpecifierSet(text)
        except ValueError:  # InvalidSpecifier, or a number too long for int()
            return LineProblem.INVALID_SPECIFIER
        constraint = VersionConstraint((specifiers,))
        return VersionRequest(origin, text, constraint, RequestForm.SPECIFIER, number)
    return None


def _version_spec(match: re.Match[str]) -> ExactVersion | LatestPatch:
    major, minor, patch = match.groups()
    if patch is None:
        return LatestPatch(MinorVersion(int(major), int(minor)))
    return ExactVersion(PythonVersion(int(major), int(minor), int(patch)))


def _diagnose(line: str) -> LineProblem:
    if _FREE_THREADED.fullmatch(line):
        return LineProblem.FREE_THREADED
    if _OTHER_IMPLEMENTATIONS.match(line):
        return LineProblem.NOT_CPYTHON
    if line == "system":
        return LineProblem.SYSTEM
    if _PRERELEASE.fullmatch(line):
        return LineProblem.PRERELEASE
    return LineProblem.NOT_A_VERSION


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


def parse_project_constraints(
    pyproject: Mapping[str, Any] | None, uv_lock: Mapping[str, Any] | None
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
    return tuple(request for request in found if request is not None)


def _table(document: Mapping[str, Any], *keys: str) -> Mapping[str, Any] | None:
    current: object = document
    for key in keys:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current if isinstance(current, dict) else None


# --- Poetry constraints --------------------------------------------------------------------


class PoetryConstraintError(ValueError):
    pass


_POETRY_NUMBERS = re.compile(r"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?", re.ASCII)
_POETRY_WILDCARD = re.compile(r"(==|!=|=)?v?([0-9]+(?:\.[0-9]+){0,2})(?:\.[xX*])+", re.ASCII)
_POETRY_ANY = re.compile(r"v?[xX*](?:\.[xX*])*", re.ASCII)
_POETRY_BASIC = re.compile(r"(<=|>=|==|!=|<|>|=)?v?([0-9]+(?:\.[0-9]+)*)", re.ASCII)
# An operator followed by spaces belongs to the version after it: `>= 3.8` is one constraint.
_POETRY_OPERATOR_SPACE = re.compile(r"(\^|~=|~|<=|>=|==|!=|<|>|=)\s+")


def poetry_to_pep440(text: str) -> tuple[str, ...]:
    """Translate Poetry's constraint syntax (as poetry-core's `parse_constraint` reads it) into
    PEP 440 specifier sets, one per `||` alternative. `""` in the result means "any version".

    Follows poetry-core: `^` allows changes that keep the left-most non-zero part, `~X.Y[.Z]`
    allows patch changes (`~X` minor ones), `*`/`X.*` are wildcards, commas or spaces join
    constraints that must all hold. One deliberate difference: a bare `X.Y` (or `==X.Y`) means
    the whole series here, as in the `python_version == "X.Y"` marker Poetry derives from it;
    read as PEP 440's exact 3.11.0, it would rule out every patch release.
    """
    alternatives = []
    for alternative in re.split(r"\s*\|\|?\s*", text.strip()):
        joined = _POETRY_OPERATOR_SPACE.sub(r"\1", alternative.strip().rstrip(",").strip())
        parts = [part for part in re.split(r"[\s,]+", joined) if part]
        if not parts:
            raise PoetryConstraintError(text)
        specifiers = [s for part in parts for s in _poetry_single(part)]
        alternatives.append(",".join(specifiers))
    return tuple(alternatives)


def _poetry_single(part: str) -> list[str]:  # noqa: PLR0911 - one return per syntax
    if _POETRY_ANY.fullmatch(part):
        return []
    if part.startswith("^"):
        release = _poetry_release(part[1:])
        return [f">={_dotted(release)}", f"<{_dotted(_next_breaking(release))}"]
    if part.startswith("~") and not part.startswith("~="):
        release = _poetry_release(part[1:])
        upper = [release[0] + 1] if len(release) == 1 else [release[0], release[1] + 1]
        return [f">={_dotted(release)}", f"<{_dotted(upper)}"]
    if part.startswith("~="):
        return [part]  # PEP 440 already
    if match := _POETRY_WILDCARD.fullmatch(part):
        operator = "!=" if match.group(1) == "!=" else "=="
        return [f"{operator}{match.group(2)}.*"]
    if match := _POETRY_BASIC.fullmatch(part):
        operator, version = match.group(1) or "==", match.group(2)
        if operator in {"=", "=="}:
            # Bare X.Y: the series (see the docstring); X.Y.Z: exactly that release.
            return [f"=={version}.*" if version.count(".") < 2 else f"=={version}"]  # noqa: PLR2004
        return [f"{operator}{version}"]
    raise PoetryConstraintError(part)


def _poetry_release(text: str) -> list[int]:
    match = _POETRY_NUMBERS.fullmatch(text)
    if match is None:
        raise PoetryConstraintError(text)
    return [int(group) for group in match.groups() if group is not None]


def _next_breaking(release: list[int]) -> list[int]:
    # ^1.2.3 -> 2.0.0, ^0.2.3 -> 0.3.0, ^0.0.3 -> 0.0.4, ^0.0 -> 0.1, ^0 -> 1
    padded = [*release, 0, 0][:3]
    if padded[0] > 0 or len(release) == 1:
        return [padded[0] + 1]
    if padded[1] > 0 or len(release) == 2:  # noqa: PLR2004 - X.Y
        return [0, padded[1] + 1]
    return [0, 0, padded[2] + 1]


def _dotted(release: list[int]) -> str:
    return ".".join(str(part) for part in release)


# --- Reading -------------------------------------------------------------------------------

_EXPLICIT_FILES = (RequestOrigin.PYTHON_VERSION_FILE, RequestOrigin.RUNTIME_TXT)


def read_version_sources(app_dir: Path, setting: str | None) -> VersionSources:
    """Read every source in order. `setting`: BP_PYTHON_VERSION (trimmed), or None if unset."""
    notices: list[PythonVersionNotice] = []
    explicit: VersionRequest | None = None
    if setting is not None:
        explicit = parse_python_version_setting(setting)
    for origin in _EXPLICIT_FILES:
        path = app_dir / origin.value
        if not path.is_file():
            continue
        if explicit is not None:
            notices.append(SourceIgnored(origin, explicit.origin))
            continue
        parsed = parse_python_version_file(_read_bytes(path, origin), origin)
        if parsed.had_bom:
            notices.append(ByteOrderMark(origin))
        explicit = parsed.request
    project = parse_project_constraints(
        _read_toml(app_dir / "pyproject.toml"), _read_toml(app_dir / "uv.lock")
    )
    return VersionSources(explicit, project, tuple(notices))


def _read_bytes(path: Path, origin: RequestOrigin) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidProjectFile(origin.file, error.strerror or str(error)) from None


def _read_toml(path: Path) -> dict[str, Any] | None:
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


# --- The sticky default (store.toml) -------------------------------------------------------

PYTHON_STORE_KEY = "python"


@dataclass(frozen=True)
class StoredPythonDefault:
    # The X.Y the previous build chose by default. Absent when an app file or setting chose it:
    # only a default is sticky.
    default_version: str


def read_previous_default(layers_dir: Path) -> MinorVersion | None:
    entry = read_store_entry(layers_dir, PYTHON_STORE_KEY, StoredPythonDefault)
    if entry is None:
        return None
    match = _VERSION.fullmatch(entry.default_version)
    if match is None or match.group(3) is not None:
        return None  # not X.Y: not ours to interpret, so no stickiness
    return MinorVersion(int(match.group(1)), int(match.group(2)))


def remember_default(layers_dir: Path, series: MinorVersion | None) -> None:
    entry = None if series is None else StoredPythonDefault(str(series))
    write_store_entry(layers_dir, PYTHON_STORE_KEY, entry)
