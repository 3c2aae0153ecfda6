"""Resolution: requests against the manifest's versions and the support policy."""

from __future__ import annotations

from datetime import date

import pytest
from packaging.specifiers import SpecifierSet

from pycnb.buildpack.python.errors import (
    ConflictingPythonVersions,
    NoMatchingPythonVersion,
    PythonVersionEndOfLife,
    PythonVersionNotAvailable,
    PythonVersionNotReleased,
)
from pycnb.buildpack.python.notices import (
    ByteOrderMark,
    DefaultDropReason,
    EndOfLifePython,
    OlderPatchPinned,
    PreviousDefaultDropped,
    PythonVersionNotice,
    RuntimeTxtDeprecated,
    Severity,
    SourceIgnored,
    UnportableVersionForm,
    VersionFileRecommended,
    severity,
)
from pycnb.buildpack.python.policy import POLICY, REVIEWED, MinorRelease, PythonPolicy, Support
from pycnb.buildpack.python.resolve import (
    ChosenByDefault,
    ChosenByProject,
    ChosenByRequest,
    VersionSources,
    nearest_versions,
    resolve_python_version,
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
V = PythonVersion.parse
# Like the bundled manifest: several patches per series, plus one release the policy does not
# know yet (a manifest may carry it; the default must not pick it).
AVAILABLE = [
    V(v)
    for v in [
        "3.10.18",
        "3.10.19",
        "3.11.9",
        "3.11.14",
        "3.12.1",
        "3.12.7",
        "3.12.13",
        "3.13.0",
        "3.13.9",
        "3.14.6",
        "3.14.7",
        "3.15.0",
    ]
]
LOCAL = [V(v) for v in ["3.10.13", "3.11.7", "3.12.1", "3.13.0"]]  # the test machine's manifest


def req(text: str, origin: RequestOrigin = FILE) -> VersionRequest:
    """A request as the sources module would build it from `text`."""
    if text.startswith("python-"):
        form, bare = RequestForm.RUNTIME_TXT, text.removeprefix("python-")
    else:
        form, bare = RequestForm.VERSION, text
    if bare[0].isdigit():
        parts = [int(p) for p in bare.split(".")]
        spec: ExactVersion | LatestPatch | VersionConstraint = (
            LatestPatch(MinorVersion(*parts)) if len(parts) == 2 else ExactVersion(V(bare))
        )
    else:
        alternatives = tuple(SpecifierSet(a) for a in bare.split("||"))
        spec, form = VersionConstraint(alternatives), RequestForm.SPECIFIER
    if origin is RequestOrigin.POETRY_PYTHON:
        form = RequestForm.POETRY
    return VersionRequest(origin, text, spec, form)


def requires(text: str) -> VersionRequest:
    return req(text, RequestOrigin.REQUIRES_PYTHON)


def explicit(text: str, origin: RequestOrigin = FILE, *project: VersionRequest) -> VersionSources:
    return VersionSources(req(text, origin), tuple(project))


# --- Choosing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (explicit("3.12"), "3.12.13"),
        (explicit("3.12.7"), "3.12.7"),
        (explicit("3.12.13"), "3.12.13"),
        (explicit("3.10"), "3.10.19"),
        (explicit(">=3.10"), "3.14.7"),
        (explicit(">= 3.11, <3.13"), "3.12.13"),
        (explicit("~=3.12"), "3.14.7"),
        (explicit("~=3.12.0"), "3.12.13"),
        (explicit("==3.12.*"), "3.12.13"),
        (explicit("==3.12.7"), "3.12.7"),
        (explicit("<3.11"), "3.10.19"),
        (explicit("python-3.12"), "3.12.13"),
        (explicit("python-3.11.9", RequestOrigin.RUNTIME_TXT), "3.11.9"),
        (explicit("3.13", RequestOrigin.BP_PYTHON_VERSION), "3.13.9"),
        (VersionSources(None, (requires(">=3.11"),)), "3.14.7"),
        (VersionSources(None, (requires(">=3.11,<3.13"),)), "3.12.13"),
        (VersionSources(None, (req(">=3.11,<4.0", RequestOrigin.POETRY_PYTHON),)), "3.14.7"),
        (VersionSources(None, (requires(">=3.11"), requires("<3.13"))), "3.12.13"),
        (
            VersionSources(None, (req(">=3.10,<3.11||>=3.12,<3.13", RequestOrigin.POETRY_PYTHON),)),
            "3.12.13",
        ),
        (explicit("3.12", FILE, requires(">=3.11")), "3.12.13"),
        (explicit("3.12", FILE, requires("<=3.12.7")), "3.12.7"),
        (explicit(">=3.11", FILE, requires("<3.13")), "3.12.13"),
        (VersionSources(), "3.14.7"),
    ],
    ids=lambda _: None,
)
def test_resolve(sources: VersionSources, expected: str) -> None:
    assert str(resolve_python_version(sources, AVAILABLE).version) == expected


@pytest.mark.parametrize(
    ("sources", "available", "expected"),
    [
        (VersionSources(), LOCAL, "3.13.0"),
        (explicit(">=3.11"), LOCAL, "3.13.0"),
        (VersionSources(None, (req(">=3.11,<4", RequestOrigin.POETRY_PYTHON),)), LOCAL, "3.13.0"),
        (VersionSources(), [V("3.10.13")], "3.10.13"),  # only an end-of-life version on offer
    ],
)
def test_resolve_small_manifests(
    sources: VersionSources, available: list[PythonVersion], expected: str
) -> None:
    assert str(resolve_python_version(sources, available).version) == expected


def test_chosen_by_says_which_source_decided() -> None:
    by_file = resolve_python_version(explicit("3.12", FILE, requires(">=3.11")), AVAILABLE)
    assert by_file.chosen_by == ChosenByRequest(req("3.12"))
    by_project = resolve_python_version(VersionSources(None, (requires(">=3.11"),)), AVAILABLE)
    assert by_project.chosen_by == ChosenByProject((requires(">=3.11"),))
    by_default = resolve_python_version(VersionSources(), AVAILABLE)
    assert by_default.chosen_by == ChosenByDefault(
        MinorVersion(3, 14), kept_from_previous_build=False
    )


# --- The sticky default --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "expected", "kept", "dropped"),
    [
        (None, "3.14.7", False, None),
        (MinorVersion(3, 12), "3.12.13", True, None),
        (MinorVersion(3, 14), "3.14.7", True, None),
        (MinorVersion(3, 10), "3.10.19", True, None),
        (MinorVersion(3, 9), "3.14.7", False, DefaultDropReason.NOT_SUPPORTED),
        (MinorVersion(3, 15), "3.14.7", False, DefaultDropReason.NOT_SUPPORTED),
        (MinorVersion(3, 16), "3.14.7", False, DefaultDropReason.NOT_SUPPORTED),
    ],
)
def test_sticky_default(
    previous: MinorVersion | None, expected: str, kept: bool, dropped: DefaultDropReason | None
) -> None:
    result = resolve_python_version(VersionSources(), AVAILABLE, previous_default=previous)
    assert str(result.version) == expected
    assert result.chosen_by == ChosenByDefault(V(expected).series, kept_from_previous_build=kept)
    assert result.default_series == V(expected).series
    drops = [n for n in result.notices if isinstance(n, PreviousDefaultDropped)]
    assert drops == ([] if dropped is None else [PreviousDefaultDropped(previous, dropped)])  # type: ignore[arg-type]


def test_sticky_default_not_in_manifest_moves_on() -> None:
    result = resolve_python_version(VersionSources(), LOCAL, previous_default=MinorVersion(3, 14))
    assert str(result.version) == "3.13.0"
    assert (
        PreviousDefaultDropped(MinorVersion(3, 14), DefaultDropReason.NOT_AVAILABLE)
        in result.notices
    )


@pytest.mark.parametrize(
    "sources",
    [explicit("3.12"), VersionSources(None, (requires(">=3.11"),))],
    ids=["explicit", "project"],
)
def test_only_a_default_is_sticky(sources: VersionSources) -> None:
    result = resolve_python_version(sources, AVAILABLE, previous_default=MinorVersion(3, 11))
    assert result.default_series is None
    assert result.version.series != MinorVersion(3, 11)


# --- Errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "nearest"),
    [
        ("3.12.99", ["3.12.1", "3.12.7", "3.12.13"]),
        ("3.12.6", ["3.12.1", "3.12.7", "3.12.13"]),
        ("3.11.0", ["3.11.9", "3.11.14"]),
        ("3.14.0", ["3.14.6", "3.14.7"]),
    ],
)
def test_unknown_patch_lists_the_nearest(text: str, nearest: list[str]) -> None:
    with pytest.raises(PythonVersionNotAvailable) as error:
        resolve_python_version(explicit(text), AVAILABLE)
    assert [str(v) for v in error.value.nearest] == nearest
    assert error.value.available == AVAILABLE
    assert error.value.request == req(text)


@pytest.mark.parametrize(
    ("text", "nearest"),
    [("3.14", ["3.11.7", "3.12.1", "3.13.0"]), ("3.14.7", ["3.11.7", "3.12.1", "3.13.0"])],
)
def test_supported_but_missing_series_is_not_available(text: str, nearest: list[str]) -> None:
    # The local manifest has no 3.14: "not available, here is what is", not "not released".
    with pytest.raises(PythonVersionNotAvailable) as error:
        resolve_python_version(explicit(text), LOCAL)
    assert [str(v) for v in error.value.nearest] == nearest


@pytest.mark.parametrize(
    ("text", "series", "end_of_life"),
    [
        ("3.9", MinorVersion(3, 9), date(2025, 10, 31)),
        ("3.9.18", MinorVersion(3, 9), date(2025, 10, 31)),
        ("3.7", MinorVersion(3, 7), date(2023, 6, 27)),
        ("3.6", MinorVersion(3, 6), None),
        ("2.7", MinorVersion(2, 7), None),
        ("python-3.8.10", MinorVersion(3, 8), date(2024, 10, 7)),
    ],
)
def test_end_of_life_is_refused(text: str, series: MinorVersion, end_of_life: date | None) -> None:
    with pytest.raises(PythonVersionEndOfLife) as error:
        resolve_python_version(explicit(text), [*AVAILABLE, V("3.9.18")])
    assert (error.value.series, error.value.end_of_life) == (series, end_of_life)
    assert (error.value.oldest_supported, error.value.newest_stable) == (
        MinorVersion(3, 11),
        MinorVersion(3, 14),
    )


def test_end_of_life_range_is_refused_when_the_manifest_only_matches_old_versions() -> None:
    with pytest.raises(PythonVersionEndOfLife):
        resolve_python_version(explicit("<3.10"), [*AVAILABLE, V("3.9.18")])


@pytest.mark.parametrize("text", ["3.15", "3.15.0", "3.16", "4.0", "4.0.1"])
def test_newer_than_newest_stable_is_not_released(text: str) -> None:
    # Even though AVAILABLE has 3.15.0: the policy decides what is released and supported.
    with pytest.raises(PythonVersionNotReleased) as error:
        resolve_python_version(explicit(text), AVAILABLE)
    assert error.value.newest_stable == MinorVersion(3, 14)


def test_range_matching_only_unreleased_versions_is_not_released() -> None:
    with pytest.raises(PythonVersionNotReleased):
        resolve_python_version(explicit(">=3.15"), AVAILABLE)


@pytest.mark.parametrize(
    ("sources", "conflicts"),
    [
        (explicit("3.10", FILE, requires(">=3.11")), [">=3.11"]),
        (explicit("3.12.1", FILE, requires(">=3.13")), [">=3.13"]),
        (
            explicit(
                "3.12",
                RequestOrigin.BP_PYTHON_VERSION,
                requires(">=3.11"),
                req("<3.12", RequestOrigin.POETRY_PYTHON),
            ),
            ["<3.12"],
        ),
        (explicit("3.12", FILE, requires(">=3.12.14")), [">=3.12.14"]),
        (explicit(">=3.13", FILE, requires("<3.13")), ["<3.13"]),
        (explicit("3.12", FILE, requires("<3.12.5"), requires(">3.12.5")), ["<3.12.5", ">3.12.5"]),
        (
            explicit(
                "python-3.11", RequestOrigin.RUNTIME_TXT, req(">=3.12", RequestOrigin.UV_LOCK)
            ),
            [">=3.12"],
        ),
    ],
    ids=["minor", "exact", "poetry", "patch-bound", "range", "each-allows-some", "uv-lock"],
)
def test_contradiction_with_the_project(sources: VersionSources, conflicts: list[str]) -> None:
    with pytest.raises(ConflictingPythonVersions) as error:
        resolve_python_version(sources, AVAILABLE)
    assert error.value.request == sources.explicit
    assert [c.text for c in error.value.conflicts] == conflicts


def test_exact_contradiction_fails_before_availability() -> None:
    # 3.12.99 is not in the manifest either; the contradiction is the more useful message.
    with pytest.raises(ConflictingPythonVersions):
        resolve_python_version(explicit("3.12.99", FILE, requires(">=3.13")), AVAILABLE)


@pytest.mark.parametrize(
    "project",
    [
        (requires(">=3.13"), requires("<3.13")),
        (requires(">=3.20"),),
        (req("<3.10", RequestOrigin.POETRY_PYTHON),),
    ],
    ids=["disjoint", "too-new", "only-unavailable-old"],
)
def test_project_constraints_that_nothing_meets(project: tuple[VersionRequest, ...]) -> None:
    with pytest.raises(NoMatchingPythonVersion) as error:
        resolve_python_version(VersionSources(None, project), AVAILABLE)
    assert tuple(error.value.requests) == project
    assert V("3.15.0") not in error.value.available, "only what the policy allows is offered"


def test_explicit_range_that_nothing_meets() -> None:
    with pytest.raises(NoMatchingPythonVersion):
        resolve_python_version(explicit("==3.12.99"), AVAILABLE)


def test_empty_manifest_default() -> None:
    with pytest.raises(PythonVersionNotAvailable) as error:
        resolve_python_version(VersionSources(), [V("3.15.0")])
    assert error.value.request is None


# --- Notices -------------------------------------------------------------------------------


def notices_of(
    sources: VersionSources, available: list[PythonVersion] = AVAILABLE
) -> list[PythonVersionNotice]:
    return list(resolve_python_version(sources, available).notices)


def test_notices() -> None:
    assert notices_of(explicit("3.12")) == []
    assert notices_of(explicit("3.12.7")) == [
        OlderPatchPinned(req("3.12.7"), V("3.12.7"), V("3.12.13"))
    ]
    assert notices_of(explicit("3.12.7", RequestOrigin.BP_PYTHON_VERSION)) == [
        OlderPatchPinned(req("3.12.7", RequestOrigin.BP_PYTHON_VERSION), V("3.12.7"), V("3.12.13"))
    ]
    assert notices_of(explicit(">=3.11")) == [
        UnportableVersionForm(req(">=3.11"), MinorVersion(3, 14))
    ]
    assert notices_of(explicit("python-3.12")) == [
        UnportableVersionForm(req("python-3.12"), MinorVersion(3, 12))
    ]
    runtime = req("python-3.12.13", RequestOrigin.RUNTIME_TXT)
    assert notices_of(VersionSources(runtime)) == [
        RuntimeTxtDeprecated(runtime, MinorVersion(3, 12))
    ]
    assert notices_of(explicit(">=3.11", RequestOrigin.BP_PYTHON_VERSION)) == []
    assert notices_of(VersionSources(None, (requires(">=3.11,<3.13"),))) == [
        VersionFileRecommended(MinorVersion(3, 12), MinorVersion(3, 14))
    ]
    assert notices_of(VersionSources()) == [
        VersionFileRecommended(MinorVersion(3, 14), MinorVersion(3, 14))
    ]
    assert notices_of(explicit("3.10")) == [
        EndOfLifePython(MinorVersion(3, 10), date(2026, 10, 1), MinorVersion(3, 14))
    ]


def test_reading_notices_come_first() -> None:
    sources = VersionSources(req("3.12.7"), (), (ByteOrderMark(FILE),))
    assert notices_of(sources)[0] == ByteOrderMark(FILE)


@pytest.mark.parametrize(
    ("notice", "expected"),
    [
        (ByteOrderMark(FILE), Severity.WARNING),
        (UnportableVersionForm(req(">=3.11"), MinorVersion(3, 14)), Severity.WARNING),
        (RuntimeTxtDeprecated(req("python-3.12"), MinorVersion(3, 12)), Severity.WARNING),
        (SourceIgnored(RequestOrigin.RUNTIME_TXT, FILE), Severity.WARNING),
        (SourceIgnored(FILE, RequestOrigin.BP_PYTHON_VERSION), Severity.NOTE),
        (
            EndOfLifePython(MinorVersion(3, 10), date(2026, 10, 1), MinorVersion(3, 14)),
            Severity.WARNING,
        ),
        (OlderPatchPinned(req("3.12.1"), V("3.12.1"), V("3.12.7")), Severity.NOTE),
        (VersionFileRecommended(MinorVersion(3, 14), MinorVersion(3, 14)), Severity.NOTE),
        (
            PreviousDefaultDropped(MinorVersion(3, 9), DefaultDropReason.NOT_SUPPORTED),
            Severity.NOTE,
        ),
    ],
)
def test_severity(notice: PythonVersionNotice, expected: Severity) -> None:
    assert severity(notice) is expected


# --- Nearest versions, policy --------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (V("3.12.99"), ["3.12.1", "3.12.7", "3.12.13"]),
        (V("3.12.0"), ["3.12.1", "3.12.7", "3.12.13"]),
        (MinorVersion(3, 9), ["3.10.19", "3.11.14", "3.12.13"]),
        (MinorVersion(3, 16), ["3.13.9", "3.14.7", "3.15.0"]),
        (V("3.9.1"), ["3.10.19", "3.11.14", "3.12.13"]),
        (MinorVersion(4, 0), ["3.13.9", "3.14.7", "3.15.0"]),
    ],
)
def test_nearest_versions(target: PythonVersion | MinorVersion, expected: list[str]) -> None:
    assert [str(v) for v in nearest_versions(target, AVAILABLE)] == expected


def test_nearest_versions_of_nothing() -> None:
    assert nearest_versions(V("3.12.1"), []) == []


def test_policy_table_is_consistent() -> None:
    rows = POLICY.releases
    assert list(rows) == sorted(rows), "ascending"
    assert len({(r.major, r.minor) for r in rows}) == len(rows)
    for row in rows:
        if row.support is Support.SUPPORTED:
            assert row.end_of_life > REVIEWED, f"{row.major}.{row.minor} is past end-of-life"
        else:
            assert row.end_of_life <= REVIEWED, f"{row.major}.{row.minor} is not past end-of-life"
    assert (POLICY.newest_stable.major, POLICY.newest_stable.minor) == (3, 14)
    assert (POLICY.oldest_supported.major, POLICY.oldest_supported.minor) == (3, 11)


@pytest.mark.parametrize(
    ("series", "support"),
    [
        ((2, 7), Support.REFUSED),
        ((3, 6), Support.REFUSED),
        ((3, 9), Support.REFUSED),
        ((3, 10), Support.END_OF_LIFE),
        ((3, 11), Support.SUPPORTED),
        ((3, 14), Support.SUPPORTED),
        ((3, 15), Support.UNRELEASED),
        ((4, 0), Support.UNRELEASED),
    ],
)
def test_policy_support(series: tuple[int, int], support: Support) -> None:
    assert POLICY.support(*series) is support


def test_a_policy_is_passed_in() -> None:
    future = PythonPolicy(
        tuple(
            sorted(
                [
                    *(r for r in POLICY.releases if (r.major, r.minor) != (3, 10)),
                    MinorRelease(3, 10, date(2026, 10, 1), Support.REFUSED),
                    MinorRelease(3, 15, date(2031, 10, 1), Support.SUPPORTED),
                ]
            )
        )
    )
    assert (
        str(resolve_python_version(VersionSources(), AVAILABLE, policy=future).version) == "3.15.0"
    )
    with pytest.raises(PythonVersionEndOfLife):
        resolve_python_version(explicit("3.10"), AVAILABLE, policy=future)
