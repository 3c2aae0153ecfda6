from __future__ import annotations

from typing import Any

import pytest

from pycnb.platform.errors import ContentError
from pycnb.platform.plan import (
    Candidate,
    DetectPlan,
    PlanEntry,
    PlanSections,
    Require,
    Resolution,
    TrialFailure,
    buildpack_plan,
    parse_detect_plan,
    remove_met,
    resolve,
)


def sections(provides: str = "", requires: str = "") -> PlanSections:
    return PlanSections(tuple(provides.split()), tuple(Require(name) for name in requires.split()))


def candidate(bp: str, *options: PlanSections, optional: bool = False) -> Candidate:
    primary, *alternatives = options or (PlanSections(),)
    return Candidate(bp, optional, DetectPlan(primary, tuple(alternatives)))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, DetectPlan()),
        (
            {"provides": [{"name": "x"}], "requires": [{"name": "x", "metadata": {"v": "1"}}]},
            DetectPlan(PlanSections(("x",), (Require("x", {"v": "1"}),))),
        ),
        (
            {"or": [{"provides": [{"name": "y"}]}]},
            DetectPlan(PlanSections(), (PlanSections(("y",)),)),
        ),
        (
            {"unknown": 1, "requires": [{"name": "x", "extra": 2}]},
            DetectPlan(sections(requires="x")),
        ),
    ],
    ids=["empty", "both", "or", "unknown-keys-ignored"],
)
def test_parse_detect_plan(data: dict[str, Any], expected: DetectPlan) -> None:
    assert parse_detect_plan(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        {"requires": [{"name": "x", "version": "1"}]},
        {"or": [{"requires": [{"name": "x", "version": "1"}]}]},
        {"requires": {"name": "x"}},
        {"provides": [{"nom": "x"}]},
        {"requires": [{"name": ""}]},
        {"requires": [{"name": "x", "metadata": "v1"}]},
        {"or": {"provides": []}},
    ],
    ids=["version", "or-version", "not-array", "no-name", "empty-name", "metadata", "or-table"],
)
def test_parse_detect_plan_rejects(data: dict[str, Any]) -> None:
    with pytest.raises(ContentError):
        parse_detect_plan(data)


RESOLVE_CASES: list[tuple[str, list[Candidate], tuple[str, ...] | None]] = [
    ("empty-plans", [candidate("a"), candidate("b")], ("a", "b")),
    (
        "provide-then-require",
        [candidate("a", sections("x")), candidate("b", sections(requires="x"))],
        ("a", "b"),
    ),
    (
        "require-before-provide",
        [candidate("a", sections(requires="x")), candidate("b", sections("x"))],
        None,
    ),
    ("self-provided", [candidate("a", sections("x", "x"))], ("a",)),
    ("unused-provide", [candidate("a", sections("x")), candidate("b")], None),
    (
        "optional-unused-provide-dropped",
        [candidate("a", sections("x"), optional=True), candidate("b")],
        ("b",),
    ),
    (
        "optional-unmet-require-dropped",
        [candidate("a"), candidate("b", sections(requires="x"), optional=True)],
        ("a",),
    ),
    (
        "or-alternative",
        [candidate("a", sections("y"), sections("x")), candidate("b", sections(requires="x"))],
        ("a", "b"),
    ),
    (
        "optional-keeps-trying-alternatives-first",
        [
            candidate("a", sections(requires="x"), sections("x"), optional=True),
            candidate("b", sections(requires="x")),
        ],
        ("a", "b"),
    ),
    (
        "drop-cascades",
        [
            candidate("a", sections("x"), optional=True),
            candidate("b", sections("y", "x"), optional=True),
            candidate("c"),
        ],
        ("c",),
    ),
    ("nothing-left", [candidate("a", sections("x"), optional=True)], None),
    (
        "many-requirers",
        [
            candidate("a", sections("x")),
            candidate("b", sections(requires="x")),
            candidate("c", sections(requires="x")),
        ],
        ("a", "b", "c"),
    ),
]


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [(c, e) for _, c, e in RESOLVE_CASES],
    ids=[name for name, _, _ in RESOLVE_CASES],
)
def test_resolve(candidates: list[Candidate], expected: tuple[str, ...] | None) -> None:
    result = resolve(candidates)
    if expected is None:
        assert isinstance(result, TrialFailure)
    else:
        assert isinstance(result, Resolution)
        assert result.buildpack_ids == expected


def test_resolved_entries_collect_requires_after_their_providers() -> None:
    result = resolve(
        [
            candidate("a", sections("x")),
            candidate("b", PlanSections(("x",), (Require("x", {"v": "1"}),))),
            candidate("c", PlanSections((), (Require("x", {"v": "2"}),))),
        ]
    )
    assert isinstance(result, Resolution)
    assert result.entries == (
        PlanEntry(("a", "b"), (Require("x", {"v": "1"}), Require("x", {"v": "2"}))),
    )


def test_first_resolving_trial_wins_depth_first() -> None:
    # a's alternatives are tried in order; for each, b's in order.
    result = resolve(
        [
            candidate("a", sections("p"), sections("q")),
            candidate("b", sections(requires="q"), sections(requires="p")),
        ]
    )
    assert isinstance(result, Resolution)
    assert [e.providers for e in result.entries] == [("a",)]
    assert result.entries[0].requires == (Require("p"),)


ENTRIES = (
    PlanEntry(("a", "b"), (Require("x", {"v": "1"}),)),
    PlanEntry(("b",), (Require("y"),)),
)


@pytest.mark.parametrize(
    ("bp", "expected"),
    [
        ("a", (Require("x", {"v": "1"}),)),
        ("b", (Require("x", {"v": "1"}), Require("y"))),
        ("c", ()),
    ],
)
def test_buildpack_plan(bp: str, expected: tuple[Require, ...]) -> None:
    assert buildpack_plan(ENTRIES, bp) == expected


def test_remove_met() -> None:
    assert remove_met(ENTRIES, ["x"]) == (ENTRIES[1],)
    assert remove_met(ENTRIES, []) == ENTRIES
    assert remove_met(ENTRIES, ["x", "y"]) == ()


def test_require_table() -> None:
    assert Require("x").to_table() == {"name": "x"}
    assert Require("x", {"v": "1"}).to_table() == {"name": "x", "metadata": {"v": "1"}}
