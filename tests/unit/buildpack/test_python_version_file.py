"""The pure parser of .python-version, runtime.txt and BP_PYTHON_VERSION."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from pycnb.buildpack.python.errors import (
    BadLine,
    InvalidPythonVersion,
    LineProblem,
    MultiplePythonVersions,
    PythonVersionError,
)
from pycnb.buildpack.python.version import (
    ExactVersion,
    LatestPatch,
    MinorVersion,
    PythonVersion,
    RequestForm,
    RequestOrigin,
    VersionConstraint,
)
from pycnb.buildpack.python.version_file import (
    parse_python_version_file,
    parse_python_version_setting,
)

FILE = RequestOrigin.PYTHON_VERSION_FILE
Spec = ExactVersion | LatestPatch | VersionConstraint


def minor(major: int, minor_: int) -> LatestPatch:
    return LatestPatch(MinorVersion(major, minor_))


def exact(text: str) -> ExactVersion:
    return ExactVersion(PythonVersion.parse(text))


def specifiers(*alternatives: str) -> VersionConstraint:
    return VersionConstraint(tuple(SpecifierSet(a) for a in alternatives))


# --- .python-version -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "spec", "form", "text"),
    [
        (b"3.12\n", minor(3, 12), RequestForm.VERSION, "3.12"),
        (b"3.12.7", exact("3.12.7"), RequestForm.VERSION, "3.12.7"),
        (b"  # pinned for prod\n\n\t3.12.7 \r\n", exact("3.12.7"), RequestForm.VERSION, "3.12.7"),
        (b"# a\n3.11\n# b\n", minor(3, 11), RequestForm.VERSION, "3.11"),
        (b"3.12\r\n\r\n", minor(3, 12), RequestForm.VERSION, "3.12"),
        (b"# caf\xc3\xa9 \xe2\x80\x8b\n3.13\n", minor(3, 13), RequestForm.VERSION, "3.13"),
        (b">=3.10\n", specifiers(">=3.10"), RequestForm.SPECIFIER, ">=3.10"),
        (b">= 3.11, <3.13", specifiers(">=3.11,<3.13"), RequestForm.SPECIFIER, ">= 3.11, <3.13"),
        (b"~=3.12", specifiers("~=3.12"), RequestForm.SPECIFIER, "~=3.12"),
        (b"==3.12.*", specifiers("==3.12.*"), RequestForm.SPECIFIER, "==3.12.*"),
        (b"python-3.12\n", minor(3, 12), RequestForm.RUNTIME_TXT, "python-3.12"),
        (b"python-3.12.1", exact("3.12.1"), RequestForm.RUNTIME_TXT, "python-3.12.1"),
        (b"2.7", minor(2, 7), RequestForm.VERSION, "2.7"),  # understood; policy refuses it
        (b"python-3.10.x\n", minor(3, 10), RequestForm.WILDCARD, "python-3.10.x"),
        (b"3.11.x", minor(3, 11), RequestForm.WILDCARD, "3.11.x"),
        (b"3.11.X", minor(3, 11), RequestForm.WILDCARD, "3.11.X"),
    ],
    ids=[
        "minor",
        "exact-no-newline",
        "comment-blank-tab-crlf",
        "comments-around",
        "crlf-blank",
        "non-ascii-comment",
        "specifier",
        "specifier-set-spaces",
        "compatible-release",
        "wildcard",
        "runtime-form",
        "runtime-form-exact",
        "old",
        "cloud-foundry-wildcard",
        "cloud-foundry-wildcard-bare",
        "cloud-foundry-wildcard-upper",
    ],
)
def test_parse_ok(data: bytes, spec: Spec, form: RequestForm, text: str) -> None:
    parsed = parse_python_version_file(data)
    assert (parsed.request.spec, parsed.request.form, parsed.request.text) == (spec, form, text)
    assert parsed.request.origin is FILE
    assert not parsed.had_bom


def test_parse_keeps_the_line_number() -> None:
    assert parse_python_version_file(b"# pin\n\n3.12\n").request.line_number == 3


def test_bom_is_tolerated_and_reported() -> None:
    parsed = parse_python_version_file(b"\xef\xbb\xbf3.12\n")
    assert parsed.request.spec == minor(3, 12)
    assert parsed.had_bom


@pytest.mark.parametrize(
    ("data", "problem", "line"),
    [
        (b"", LineProblem.NO_VERSION, None),
        (b"# only a comment\n\n", LineProblem.NO_VERSION, None),
        (b"3\n", LineProblem.NOT_A_VERSION, "3"),
        (b"3.12.1.4\n", LineProblem.NOT_A_VERSION, "3.12.1.4"),
        (b"3.012\n", LineProblem.NOT_A_VERSION, "3.012"),
        (b"v3.12\n", LineProblem.NOT_A_VERSION, "v3.12"),
        (b"latest\n", LineProblem.NOT_A_VERSION, "latest"),
        (b"cpython-3.12\n", LineProblem.NOT_A_VERSION, "cpython-3.12"),
        (b"3.12rc1\n", LineProblem.PRERELEASE, "3.12rc1"),
        (b"3.14.0b2\n", LineProblem.PRERELEASE, "3.14.0b2"),
        (b"3.15-dev\n", LineProblem.PRERELEASE, "3.15-dev"),
        (b"pypy3.10\n", LineProblem.NOT_CPYTHON, "pypy3.10"),
        (b"pypy3.10-7.3.17\n", LineProblem.NOT_CPYTHON, "pypy3.10-7.3.17"),
        (b"graalpy-24.1\n", LineProblem.NOT_CPYTHON, "graalpy-24.1"),
        (b"anaconda3-2024.02\n", LineProblem.NOT_CPYTHON, "anaconda3-2024.02"),
        (b"system\n", LineProblem.SYSTEM, "system"),
        (b"3.13t\n", LineProblem.FREE_THREADED, "3.13t"),
        (b"3.13.1t\n", LineProblem.FREE_THREADED, "3.13.1t"),
        (b">=3.10.*\n", LineProblem.INVALID_SPECIFIER, ">=3.10.*"),
        (b"~=3\n", LineProblem.INVALID_SPECIFIER, "~=3"),
        (b"=>3.10\n", LineProblem.INVALID_SPECIFIER, "=>3.10"),
        (b"3.12 # prod\n", LineProblem.COMMENT_AFTER_VERSION, "3.12 # prod"),
        (b"3.12\x00\n", LineProblem.INVISIBLE_CHARACTER, "3.12\x00"),
        (b"3.12\r3.13\n", LineProblem.INVISIBLE_CHARACTER, "3.12\r3.13"),
        (b"\xe2\x80\x8b3.12\n", LineProblem.INVISIBLE_CHARACTER, "\u200b3.12"),
        (b"3.12\xc2\xa0\n", LineProblem.INVISIBLE_CHARACTER, "3.12\xa0"),
        (b"\xef\xbc\x93.12\n", LineProblem.INVISIBLE_CHARACTER, "\uff13.12"),  # fullwidth 3
        (b"3.1\xd9\xa3\n", LineProblem.INVISIBLE_CHARACTER, "3.1\u0663"),  # Arabic-Indic 3
        (b"3.12\x0c\n", LineProblem.INVISIBLE_CHARACTER, "3.12\x0c"),
        (b"3.12\xef\xbb\xbf\n", LineProblem.INVISIBLE_CHARACTER, "3.12\ufeff"),  # BOM, not first
        (b"3.12\xff\n", LineProblem.INVALID_UTF8, "3.12\udcff"),
        (b"# \xff\n3.12\n", LineProblem.INVALID_UTF8, "# \udcff"),
        (b"3." + b"9" * 5000, LineProblem.NOT_A_VERSION, "3." + "9" * 5000),
        (b">=3." + b"9" * 5000, LineProblem.NOT_A_VERSION, ">=3." + "9" * 5000),
    ],
    ids=lambda v: v.name.lower() if isinstance(v, LineProblem) else None,
)
def test_parse_rejects(data: bytes, problem: LineProblem, line: str | None) -> None:
    with pytest.raises(InvalidPythonVersion) as error:
        parse_python_version_file(data)
    assert error.value.origin is FILE
    [bad] = error.value.problems
    assert (bad.problem, bad.text) == (problem, line)


def test_every_bad_line_is_reported() -> None:
    with pytest.raises(InvalidPythonVersion) as error:
        parse_python_version_file(b"# header\npypy3.10\n3.12\nsystem\n")
    assert error.value.problems == [
        BadLine(2, "pypy3.10", LineProblem.NOT_CPYTHON),
        BadLine(4, "system", LineProblem.SYSTEM),
    ]


@pytest.mark.parametrize(
    ("data", "versions"),
    [
        (b"# ok\n3.12\n3.13\n", [(2, "3.12"), (3, "3.13")]),
        (b"3.12.1\n3.11\n3.10.4\n", [(1, "3.12.1"), (2, "3.11"), (3, "3.10.4")]),
        (b"3.12 3.11\n", [(1, "3.12"), (1, "3.11")]),
        (b"3.12\n>=3.11\n", [(1, "3.12"), (2, ">=3.11")]),
    ],
    ids=["two-lines", "three-lines", "one-line", "mixed-forms"],
)
def test_several_versions_are_all_listed(data: bytes, versions: list[tuple[int, str]]) -> None:
    with pytest.raises(MultiplePythonVersions) as error:
        parse_python_version_file(data)
    assert error.value.versions == versions


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_parser_raises_only_our_errors_on_arbitrary_bytes(data: bytes) -> None:
    try:
        parsed = parse_python_version_file(data)
    except PythonVersionError:
        return
    assert parsed.request.text.isascii()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["3.12", "3.12.7", ">=3.11", "python-3.12", "# c", "", "  ", "\r"]),
            st.text(max_size=20),
        ),
        max_size=6,
    )
)
def test_parser_raises_only_our_errors_on_version_like_lines(lines: list[str]) -> None:
    data = "\n".join(lines).encode("utf-8", errors="surrogatepass")
    with contextlib.suppress(PythonVersionError):
        parse_python_version_file(data)


# --- BP_PYTHON_VERSION ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        ("3.13", minor(3, 13)),
        ("3.12.1", exact("3.12.1")),
        (">=3.12,<3.14", specifiers(">=3.12,<3.14")),
        ("python-3.12", minor(3, 12)),
    ],
)
def test_setting_ok(value: str, spec: Spec) -> None:
    request = parse_python_version_setting(value)
    assert (request.spec, request.origin, request.line_number) == (
        spec,
        RequestOrigin.BP_PYTHON_VERSION,
        None,
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("3.12 3.13", LineProblem.NOT_A_VERSION),
        ("pypy3.10", LineProblem.NOT_CPYTHON),
        ("3.12\n3.13", LineProblem.INVISIBLE_CHARACTER),
        ("3.12\udcff", LineProblem.INVALID_UTF8),
        ("three", LineProblem.NOT_A_VERSION),
    ],
)
def test_setting_rejects(value: str, problem: LineProblem) -> None:
    with pytest.raises(InvalidPythonVersion) as error:
        parse_python_version_setting(value)
    assert error.value.problems == [BadLine(None, value, problem)]
    assert error.value.origin is RequestOrigin.BP_PYTHON_VERSION
