"""Choosing a Python the app's pinned distributions have wheels for, when the app leaves it open."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from pycnb.buildpack.python.notices import OlderSeriesForWheels, RequestedSeriesLacksWheels
from pycnb.buildpack.python.resolve import ChosenByDefault, VersionSources, resolve_python_version
from pycnb.buildpack.python.version import (
    LatestPatch,
    MinorVersion,
    PythonVersion,
    RequestForm,
    RequestOrigin,
    VersionConstraint,
    VersionRequest,
)
from pycnb.buildpack.python.wheel_fit import PinnedDistribution, WheelFit, series_with_wheels

M = MinorVersion
AVAILABLE = [PythonVersion.parse(v) for v in ("3.11.9", "3.12.7", "3.13.9", "3.14.7")]
# greenlet 3.0.3's wheels: CPython 3.7 to 3.12, manylinux and musllinux, no abi3.
GREENLET = (
    *(
        f"greenlet-3.0.3-cp3{m}-cp3{m}-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
        for m in range(7, 13)
    ),
    "greenlet-3.0.3-cp312-cp312-musllinux_1_1_x86_64.whl",
    "greenlet-3.0.3.tar.gz",
)


def test_series_with_wheels_reads_the_tags_for_the_target() -> None:
    assert series_with_wheels(GREENLET, "amd64") == {M(3, m) for m in range(8, 13)}
    assert series_with_wheels(GREENLET, "arm64") == frozenset(), "x86_64 wheels only"
    assert series_with_wheels(["flask-3.1.3-py3-none-any.whl"], "arm64") == {
        M(3, m) for m in range(8, 17)
    }
    abi3 = ["cryptography-44.0.0-cp39-abi3-manylinux_2_28_aarch64.whl"]
    assert series_with_wheels(abi3, "arm64") == {M(3, m) for m in range(9, 17)}
    assert series_with_wheels(["not a wheel"], "amd64") == frozenset()


class Source:
    """A WheelSource that records whether the index was asked."""

    def __init__(self, *dists: PinnedDistribution) -> None:
        self.fit = WheelFit(dists)
        self.asked: list[bool] = []

    def __call__(self, *, ask_index: bool) -> WheelFit | None:
        self.asked.append(ask_index)
        return self.fit


def greenlet() -> PinnedDistribution:
    return PinnedDistribution("greenlet", "3.0.3", series_with_wheels(GREENLET, "amd64"))


def pure() -> PinnedDistribution:
    return PinnedDistribution("flask", "3.1.3", frozenset(M(3, m) for m in range(8, 17)))


def requires(text: str) -> VersionRequest:
    origin = RequestOrigin.REQUIRES_PYTHON
    constraint = VersionConstraint((SpecifierSet(text),))
    return VersionRequest(origin, text, constraint, RequestForm.SPECIFIER)


@pytest.mark.parametrize(
    "sources",
    [VersionSources(), VersionSources(None, (requires(">=3.11"),))],
    ids=["default", "range"],
)
def test_an_open_choice_takes_the_newest_series_with_every_wheel(sources: VersionSources) -> None:
    source = Source(greenlet(), pure())
    resolution = resolve_python_version(sources, AVAILABLE, wheels=source)
    assert str(resolution.version) == "3.12.7"
    assert OlderSeriesForWheels(M(3, 12), M(3, 14), ("greenlet 3.0.3",)) in resolution.notices
    assert source.asked == [True]


def test_nothing_to_fit_changes_nothing() -> None:
    resolution = resolve_python_version(VersionSources(), AVAILABLE, wheels=Source(pure()))
    assert str(resolution.version) == "3.14.7"
    assert not [n for n in resolution.notices if isinstance(n, OlderSeriesForWheels)]


def test_when_no_series_fits_every_pin_the_newest_stays() -> None:
    odd = PinnedDistribution("odd", "1", frozenset({M(3, 14)}))  # conflicts with greenlet
    resolution = resolve_python_version(VersionSources(), AVAILABLE, wheels=Source(greenlet(), odd))
    assert str(resolution.version) == "3.14.7"


def test_a_sticky_default_keeps_its_series_without_asking_the_index() -> None:
    source = Source(greenlet())
    resolution = resolve_python_version(
        VersionSources(), AVAILABLE, previous_default=M(3, 14), wheels=source
    )
    assert resolution.chosen_by == ChosenByDefault(M(3, 14), kept_from_previous_build=True)
    assert source.asked == []


def test_a_default_chosen_for_its_wheels_is_the_one_remembered() -> None:
    resolution = resolve_python_version(VersionSources(), AVAILABLE, wheels=Source(greenlet()))
    assert resolution.default_series == M(3, 12)


def test_an_explicit_version_is_never_overridden_only_warned_about() -> None:
    request = VersionRequest(
        RequestOrigin.PYTHON_VERSION_FILE, "3.13", LatestPatch(M(3, 13)), RequestForm.VERSION
    )
    source = Source(greenlet())
    resolution = resolve_python_version(VersionSources(request), AVAILABLE, wheels=source)
    assert str(resolution.version) == "3.13.9"
    assert RequestedSeriesLacksWheels(M(3, 13), ("greenlet 3.0.3",), (M(3, 12), M(3, 11))) in (
        resolution.notices
    )
    assert source.asked == [False], "an explicit choice never costs index requests"


def test_a_python_past_its_end_of_life_is_never_chosen_for_wheels() -> None:
    # markupsafe 2.1.1: wheels up to 3.10 only. 3.10 is past its end of life: the newest
    # supported Python stays, and the pin builds from source.
    old = PinnedDistribution("markupsafe", "2.1.1", frozenset({M(3, 9), M(3, 10)}))
    offered = [PythonVersion.parse(v) for v in ("3.10.13", "3.11.7", "3.12.1", "3.13.0")]
    resolution = resolve_python_version(VersionSources(), offered, wheels=Source(old))
    assert str(resolution.version) == "3.13.0"
    assert not [n for n in resolution.notices if isinstance(n, OlderSeriesForWheels)]
    assert resolution.default_series == M(3, 13)
