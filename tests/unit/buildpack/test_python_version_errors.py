"""Python version errors and notices render into messages that name their facts; the choice line."""

from __future__ import annotations

from datetime import date
from typing import get_args

import pytest
from packaging.specifiers import SpecifierSet

from pycnb.buildpack.errors import BuildpackError
from pycnb.buildpack.messages import render
from pycnb.buildpack.messages.python import render_warning
from pycnb.buildpack.python import errors as version_errors
from pycnb.buildpack.python.choice import describe_choice
from pycnb.buildpack.python.errors import (
    BadLine,
    ConflictingPythonVersions,
    ConstraintProblem,
    InvalidProjectFile,
    InvalidPythonVersion,
    InvalidVersionConstraint,
    LineProblem,
    MultiplePythonVersions,
    NoMatchingPythonVersion,
    PythonVersionEndOfLife,
    PythonVersionError,
    PythonVersionNotAvailable,
    PythonVersionNotReleased,
)
from pycnb.buildpack.python.notices import (
    ByteOrderMark,
    DefaultDropReason,
    EndOfLifePython,
    OlderPatchPinned,
    OlderSeriesForWheels,
    PreviousDefaultDropped,
    PythonVersionNotice,
    RequestedSeriesLacksWheels,
    RuntimeTxtDeprecated,
    SourceIgnored,
    UnportableVersionForm,
    VersionFileRecommended,
)
from pycnb.buildpack.python.resolve import (
    ChosenByDefault,
    ChosenByProject,
    ChosenByRequest,
    Resolution,
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

FILE = RequestOrigin.PYTHON_VERSION_FILE
RUNTIME = RequestOrigin.RUNTIME_TXT
V = PythonVersion.parse
M = MinorVersion


def minor(text: str, origin: RequestOrigin = FILE) -> VersionRequest:
    major, minor_ = (int(p) for p in text.removeprefix("python-").split("."))
    form = RequestForm.RUNTIME_TXT if text.startswith("python-") else RequestForm.VERSION
    return VersionRequest(origin, text, LatestPatch(M(major, minor_)), form, 1)


def exact(text: str, origin: RequestOrigin = FILE) -> VersionRequest:
    form = RequestForm.RUNTIME_TXT if text.startswith("python-") else RequestForm.VERSION
    return VersionRequest(origin, text, ExactVersion(V(text.removeprefix("python-"))), form, 1)


def spec(text: str, origin: RequestOrigin = RequestOrigin.REQUIRES_PYTHON) -> VersionRequest:
    form = RequestForm.POETRY if origin is RequestOrigin.POETRY_PYTHON else RequestForm.SPECIFIER
    return VersionRequest(origin, text, VersionConstraint((SpecifierSet(">=3.11"),)), form)


ERRORS: list[tuple[BuildpackError, list[str]]] = [
    (
        InvalidPythonVersion(FILE, [BadLine(2, "pypy3.10", LineProblem.NOT_CPYTHON)]),
        [
            "Invalid Python version in .python-version",
            ".python-version, line 2: pycnb installs CPython only",
            'Found: "pypy3.10"',
            "X.Y (such as 3.14",
            "containing:\n\n    3.14",
        ],
    ),
    (
        InvalidPythonVersion(
            FILE,
            [
                BadLine(1, "\ufeff3.12\u200b\t\x00\udcff\\", LineProblem.INVISIBLE_CHARACTER),
                BadLine(3, "3.13t", LineProblem.FREE_THREADED),
            ],
        ),
        [
            'Found: "\\ufeff3.12\\u200b\\t\\x00\\xff\\\\"',
            "U+FEFF ZERO WIDTH NO-BREAK SPACE",
            "U+200B ZERO WIDTH SPACE",
            "U+0000 a control character",
            "the byte 0xFF",
            "line 3: free-threaded",
        ],
    ),
    (
        InvalidPythonVersion(FILE, [BadLine(None, None, LineProblem.NO_VERSION)]),
        [".python-version: it contains no version"],
    ),
    (
        InvalidPythonVersion(RUNTIME, [BadLine(1, "python-3.12-slim", LineProblem.NOT_A_VERSION)]),
        ["runtime.txt, line 1", "replace runtime.txt", ".python-version file containing"],
    ),
    (
        InvalidPythonVersion(
            RequestOrigin.BP_PYTHON_VERSION, [BadLine(None, "latest", LineProblem.NOT_A_VERSION)]
        ),
        ["BP_PYTHON_VERSION: this is not a Python version", "Set BP_PYTHON_VERSION to"],
    ),
    (
        MultiplePythonVersions(FILE, [(2, "3.12"), (3, "3.13")]),
        [
            ".python-version, line 3: it names more than one version.",
            '  line 2: "3.12"\n  line 3: "3.13"',
            "containing:\n\n    3.12",
        ],
    ),
    (
        InvalidProjectFile("pyproject.toml", "Expected ']' (at line 1, column 9)"),
        ["pyproject.toml could not be read", "line 1, column 9"],
    ),
    (InvalidProjectFile("uv.lock", "bad"), ["uv lock"]),
    (
        InvalidVersionConstraint(RequestOrigin.REQUIRES_PYTHON, "3.11", ConstraintProblem.INVALID),
        ["requires-python in pyproject.toml: 3.11 is not a PEP 440", 'requires-python = ">=3.14"'],
    ),
    (
        InvalidVersionConstraint(
            RequestOrigin.POETRY_PYTHON, "{'version': '^3'}", ConstraintProblem.NOT_A_STRING
        ),
        ["tool.poetry.dependencies.python", "is not a string", 'python = "^3.14"'],
    ),
    (
        PythonVersionNotAvailable(
            exact("3.12.99"),
            [V("3.12.1"), V("3.12.7")],
            [V("3.10.13"), V("3.12.1"), V("3.12.7"), V("3.13.0")],
        ),
        [
            "Python 3.12.99 is not available",
            "(.python-version)",
            "Nearest available versions: 3.12.1, 3.12.7",
            "Available versions: 3.10.13, 3.12 (3.12.1 to 3.12.7), 3.13.0",
            "for example 3.12",
        ],
    ),
    (
        PythonVersionNotAvailable(None, [], [V("3.15.0")]),
        ["no usable Python version", "3.15.0"],
    ),
    (
        NoMatchingPythonVersion([spec(">=3.13"), spec("<3.13")], [V("3.12.1"), V("3.13.0")]),
        [">=3.13 (requires-python in pyproject.toml)", "<3.13", "3.12.1, 3.13.0", ">=3.13,"],
    ),
    (
        # Suggests what the manifest in use offers, in the Pipfile's own terms.
        NoMatchingPythonVersion(
            [
                VersionRequest(
                    RequestOrigin.PIPFILE_PYTHON,
                    "3.6",
                    VersionConstraint((SpecifierSet("==3.6.*"),)),
                    RequestForm.VERSION,
                )
            ],
            [V("3.12.1"), V("3.13.0")],
        ),
        ['python_version = "3.13" in the Pipfile', ".python-version file containing 3.13"],
    ),
    (
        ConflictingPythonVersions(
            minor("3.12"), [spec(">=3.13"), spec("<3.12", RequestOrigin.UV_LOCK)], [V("3.12.1")]
        ),
        [
            "The Python version in .python-version contradicts pyproject.toml and uv.lock",
            ".python-version asks for Python 3.12 (3.12.1 in the runtime manifest)",
            "requires-python in pyproject.toml: >=3.13",
            "requires-python in uv.lock: <3.12",
            "Nothing was installed.",
        ],
    ),
    (
        ConflictingPythonVersions(
            exact("3.10.4", RequestOrigin.BP_PYTHON_VERSION),
            [spec("^3.11", RequestOrigin.POETRY_PYTHON)],
            [V("3.10.4")],
        ),
        [
            "The Python version in BP_PYTHON_VERSION contradicts pyproject.toml",
            "BP_PYTHON_VERSION asks for Python 3.10.4, which",
            "tool.poetry.dependencies.python in pyproject.toml: ^3.11",
        ],
    ),
    (
        PythonVersionEndOfLife(minor("3.9"), M(3, 9), date(2025, 10, 31), M(3, 11), M(3, 14)),
        [
            "Python 3.9 has reached its end of life",
            "end of life in October 2025",
            "set .python-version to 3.14",
            "or to 3.11",
        ],
    ),
    (
        PythonVersionEndOfLife(minor("2.7"), M(2, 7), None, M(3, 11), M(3, 14)),
        ["end of life long ago"],
    ),
    (
        PythonVersionNotReleased(minor("3.15"), M(3, 15), M(3, 14)),
        ["Python 3.15 is not released or not supported yet", "newer than 3.14", "Python 3.14 in"],
    ),
]


@pytest.mark.parametrize(("error", "facts"), ERRORS, ids=lambda v: type(v).__name__)
def test_render_names_the_facts(error: BuildpackError, facts: list[str]) -> None:
    message = render(error)
    text = f"{message.title}\n{message.details}\n{message.fix}"
    assert message.title
    assert message.fix
    for fact in facts:
        assert fact in text


def test_every_python_version_error_has_an_example_and_is_a_buildpack_error() -> None:
    ours = {
        cls
        for cls in vars(version_errors).values()
        if isinstance(cls, type)
        and issubclass(cls, PythonVersionError)
        and cls is not PythonVersionError
    }
    assert {type(e) for e, _ in ERRORS} == ours
    assert all(issubclass(cls, BuildpackError) for cls in ours)


NOTICES: list[tuple[PythonVersionNotice, list[str]]] = [
    (ByteOrderMark(FILE), [".python-version starts with a byte order mark", "without a BOM"]),
    (
        UnportableVersionForm(spec(">=3.11", FILE), M(3, 14)),
        ['may not read: ">=3.11"', "version range", "Write 3.14 in .python-version"],
    ),
    (
        UnportableVersionForm(minor("python-3.12"), M(3, 12)),
        ['"python-3.12"', "read it as Python 3.12", "Write 3.12 in .python-version"],
    ),
    (
        UnportableVersionForm(
            VersionRequest(FILE, "3.11.x", LatestPatch(M(3, 11)), RequestForm.WILDCARD, 1),
            M(3, 11),
        ),
        ['"3.11.x"', "read it as the newest Python 3.11", "Write 3.11 in .python-version"],
    ),
    (
        RuntimeTxtDeprecated(exact("python-3.12.1", RUNTIME), M(3, 12)),
        [
            "runtime.txt is deprecated",
            '"python-3.12.1"',
            "echo 3.12 > .python-version && rm runtime.txt",
        ],
    ),
    (SourceIgnored(RUNTIME, FILE), ["runtime.txt is ignored", "from .python-version", "Delete"]),
    (
        SourceIgnored(FILE, RequestOrigin.BP_PYTHON_VERSION),
        [".python-version is ignored: the Python version comes from BP_PYTHON_VERSION"],
    ),
    (
        EndOfLifePython(M(3, 10), date(2026, 10, 1), M(3, 14)),
        ["Python 3.10 reached its end of life in October 2026", "such as 3.14"],
    ),
    (
        OlderPatchPinned(exact("3.12.1"), V("3.12.1"), V("3.12.13")),
        ["3.12.1 is pinned, but 3.12.13 is the newest 3.12", "request 3.12 in .python-version"],
    ),
    (
        VersionFileRecommended(M(3, 13), M(3, 13)),
        ["Add a .python-version file containing 3.13 to keep this version when newer"],
    ),
    (
        VersionFileRecommended(M(3, 12), M(3, 13)),
        ["containing 3.12 to keep this version, or 3.13 to move to the newest"],
    ),
    (
        PreviousDefaultDropped(M(3, 9), DefaultDropReason.NOT_SUPPORTED),
        ["used Python 3.9 by default, which is no longer supported"],
    ),
    (
        PreviousDefaultDropped(M(3, 14), DefaultDropReason.NOT_AVAILABLE),
        ["no longer available"],
    ),
    (
        OlderSeriesForWheels(M(3, 12), M(3, 14), ("greenlet 3.0.3", "httptools 0.6.0")),
        ["Chose Python 3.12, not 3.14", "greenlet 3.0.3 and httptools 0.6.0 have no wheel"],
    ),
    (
        RequestedSeriesLacksWheels(M(3, 13), ("greenlet 3.0.3",), (M(3, 12), M(3, 11))),
        ["greenlet 3.0.3 has no wheel for Python 3.13", "Python 3.12, 3.11 have wheels"],
    ),
    (
        RequestedSeriesLacksWheels(M(3, 13), ("a 1", "b 2"), ()),
        ["a 1 and b 2 have no wheel", "no supported Python has wheels for all of them"],
    ),
]


@pytest.mark.parametrize(("notice", "facts"), NOTICES, ids=lambda v: type(v).__name__)
def test_render_warning_names_the_facts(notice: PythonVersionNotice, facts: list[str]) -> None:
    message = render_warning(notice)
    text = f"{message.title}\n{message.details}\n{message.fix}"
    for fact in facts:
        assert fact in text


def test_every_notice_has_an_example() -> None:
    assert {type(n) for n, _ in NOTICES} == set(get_args(PythonVersionNotice))


@pytest.mark.parametrize(
    ("resolution", "line"),
    [
        (
            Resolution(V("3.12.13"), ChosenByRequest(minor("3.12"))),
            "Using Python 3.12.13 (3.12 from .python-version)",
        ),
        (
            Resolution(V("3.12.1"), ChosenByRequest(exact("python-3.12.1", RUNTIME))),
            "Using Python 3.12.1 (python-3.12.1 from runtime.txt)",
        ),
        (
            Resolution(
                V("3.13.0"), ChosenByRequest(minor("3.13", RequestOrigin.BP_PYTHON_VERSION))
            ),
            "Using Python 3.13.0 (3.13 from BP_PYTHON_VERSION)",
        ),
        (
            Resolution(V("3.13.0"), ChosenByProject((spec(">=3.11"),))),
            "Using Python 3.13.0 (>=3.11 from requires-python in pyproject.toml)",
        ),
        (
            Resolution(
                V("3.13.0"),
                ChosenByProject(
                    (
                        spec("^3.11", RequestOrigin.POETRY_PYTHON),
                        spec(">=3.11", RequestOrigin.UV_LOCK),
                    )
                ),
            ),
            (
                "Using Python 3.13.0 (^3.11 from tool.poetry.dependencies.python in "
                "pyproject.toml and >=3.11 from requires-python in uv.lock)"
            ),
        ),
        (
            Resolution(V("3.13.0"), ChosenByDefault(M(3, 13), kept_from_previous_build=False)),
            "Using Python 3.13.0 (the newest available; no .python-version file)",
        ),
        (
            Resolution(V("3.12.1"), ChosenByDefault(M(3, 12), kept_from_previous_build=True)),
            (
                "Using Python 3.12.1 (3.12, the default of the previous build; "
                "no .python-version file)"
            ),
        ),
    ],
)
def test_describe_choice(resolution: Resolution, line: str) -> None:
    assert describe_choice(resolution) == line
