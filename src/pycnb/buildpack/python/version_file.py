"""The pure parser of `.python-version`, `runtime.txt` and BP_PYTHON_VERSION.

Bytes or text in, a `VersionRequest` out, or one of our `PythonVersionError`s; no I/O.

`.python-version` follows what pyenv and uv read: one version per line, `#` comment lines, blank
lines, indentation and CRLF allowed. Beyond that we accept what real apps write and we can still
understand (a PEP 440 specifier set, runtime.txt's `python-X.Y`, Cloud Foundry's `X.Y.x`) and say
so; everything else is
an error that quotes the line. Anything that is not printable ASCII in a version line is an
error: a zero-width space or a non-breaking space makes a file that looks right and is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet

from pycnb.buildpack.python.errors import (
    BadLine,
    InvalidPythonVersion,
    LineProblem,
    MultiplePythonVersions,
)
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

__all__ = ["ParsedVersionFile", "parse_python_version_file", "parse_python_version_setting"]

_BOM = b"\xef\xbb\xbf"
_NUMBER = r"(0|[1-9][0-9]{0,5})"  # no leading zeros; short enough that int() is always cheap
_VERSION = re.compile(rf"{_NUMBER}\.{_NUMBER}(?:\.{_NUMBER})?", re.ASCII)
_RUNTIME_FORM = re.compile(rf"python-{_VERSION.pattern}", re.ASCII)  # the same three groups
# Cloud Foundry's runtime.txt form, `python-3.10.x` or `3.10.x`: the newest patch of 3.10.
_WILDCARD = re.compile(rf"(?:python-)?{_NUMBER}\.{_NUMBER}\.[xX*]", re.ASCII)
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
    if match := _WILDCARD.fullmatch(text):
        series = LatestPatch(MinorVersion(int(match.group(1)), int(match.group(2))))
        return VersionRequest(origin, text, series, RequestForm.WILDCARD, number)
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
