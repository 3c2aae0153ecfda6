from pathlib import Path

import pytest

from pycnb.buildpack.python_version import (
    InvalidPythonVersionFile,
    PythonVersion,
    PythonVersionFileSyntax,
    PythonVersionNotAvailable,
    RequestedVersion,
    RequestOrigin,
    parse_python_version_file,
    read_requested_version,
    resolve_python_version,
)

FILE = RequestOrigin.PYTHON_VERSION_FILE
AVAILABLE = [PythonVersion.parse(v) for v in ["3.11.9", "3.12.1", "3.12.7", "3.13.0", "3.13.2"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.12\n", (3, 12, None)),
        ("3.12.7", (3, 12, 7)),
        ("  # pinned for prod\n\n  3.12.7 \r\n", (3, 12, 7)),
        ("# a\n3.11\n# b\n", (3, 11, None)),
    ],
    ids=["minor", "exact", "comment-blank-crlf", "comments-around"],
)
def test_parse_ok(text: str, expected: tuple[int, int, int | None]) -> None:
    assert parse_python_version_file(text) == expected


@pytest.mark.parametrize(
    ("text", "line_number", "reason"),
    [
        ("", None, "no version"),
        ("# only a comment\n", None, "no version"),
        ("3.12\n3.13\n", 2, "more than one"),
        ("3\n", 1, "X.Y or X.Y.Z"),
        ("3.12rc1\n", 1, "X.Y or X.Y.Z"),
        ("python-3.12\n", 1, "X.Y or X.Y.Z"),
        ("system\n", 1, "X.Y or X.Y.Z"),
    ],
)
def test_parse_rejects(text: str, line_number: int | None, reason: str) -> None:
    with pytest.raises(PythonVersionFileSyntax) as error:
        parse_python_version_file(text)
    assert error.value.line_number == line_number
    assert reason in error.value.reason


def test_read_reports_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.12\npypy3.10\n")
    with pytest.raises(InvalidPythonVersionFile) as error:
        read_requested_version(tmp_path)
    assert (error.value.path, error.value.line_number, error.value.line) == (
        tmp_path / ".python-version",
        2,
        "pypy3.10",
    )


def test_read_without_file_is_no_request(tmp_path: Path) -> None:
    assert read_requested_version(tmp_path) is None


def test_read_rejects_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_bytes(b"3.12\xff\n")
    with pytest.raises(InvalidPythonVersionFile, match="UTF-8"):
        read_requested_version(tmp_path)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (RequestedVersion(3, 12, None, FILE), "3.12.7"),
        (RequestedVersion(3, 12, 1, FILE), "3.12.1"),
        (None, "3.13.2"),
    ],
)
def test_resolve(requested: RequestedVersion | None, expected: str) -> None:
    _, version = resolve_python_version(requested, AVAILABLE)
    assert str(version) == expected


def test_default_request_is_the_newest_minor() -> None:
    requested, _ = resolve_python_version(None, AVAILABLE)
    assert (requested.major, requested.minor, requested.origin) == (3, 13, RequestOrigin.DEFAULT)


@pytest.mark.parametrize(
    "requested", [RequestedVersion(3, 12, 99, FILE), RequestedVersion(3, 9, None, FILE)]
)
def test_resolve_unavailable_lists_what_is(requested: RequestedVersion) -> None:
    with pytest.raises(PythonVersionNotAvailable) as error:
        resolve_python_version(requested, AVAILABLE)
    assert error.value.available == sorted(AVAILABLE)


def test_version_ordering_is_numeric() -> None:
    assert PythonVersion.parse("3.10.0") > PythonVersion.parse("3.9.18")
