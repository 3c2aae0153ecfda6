"""Which Python series the app's pinned distributions have wheels for.

Old apps pin compiled packages (greenlet 3.0, httptools 0.6, psycopg2-binary 2.9.3...) that have
no wheel for the newest Python, so on it pip or uv try to compile them and usually fail. When the
app leaves the version open, the choice should land on a Python for which every pinned
distribution has a wheel. Pure: wheel file names in, a verdict per Python series out.

A distribution counts only when it has wheels for some of the candidate series: one with no
wheels at all (an sdist only), or with wheels for none of them, is built from source whichever
Python is chosen, so it cannot tell the series apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from pycnb.buildpack.python.version import MinorVersion

__all__ = ["SERIES", "PinnedDistribution", "WheelFit", "WheelSource", "series_with_wheels"]

# Every series a wheel is checked against: wider than what the policy builds, so that a cached
# answer stays right when the policy moves.
SERIES = tuple(MinorVersion(3, minor) for minor in range(8, 17))

# CNB arch names -> the machine names in wheel platform tags.
_MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
# python-build-standalone needs glibc 2.17, and no builder has a glibc newer than this.
_NEWEST_GLIBC_MINOR = 45


@dataclass(frozen=True)
class PinnedDistribution:
    name: str
    version: str
    series: frozenset[MinorVersion]  # the Python series it has a wheel for, on the target

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class WheelFit:
    distributions: tuple[PinnedDistribution, ...]

    def missing_wheels(
        self, series: MinorVersion, candidates: Sequence[MinorVersion]
    ) -> list[PinnedDistribution]:
        """The distributions with no wheel for `series` that have one for another candidate."""
        return [
            dist
            for dist in self.distributions
            if series not in dist.series and not dist.series.isdisjoint(candidates)
        ]


class WheelSource(Protocol):
    """Where the pins and their wheels come from. Asking the package index costs requests, so
    it is done only when `ask_index` says the answer can change the choice."""

    def __call__(self, *, ask_index: bool) -> WheelFit | None: ...


def series_with_wheels(wheels: Iterable[str], arch: str) -> frozenset[MinorVersion]:
    """The series of `SERIES` that one of the wheel files `wheels` installs on, for `arch`."""
    tags = frozenset().union(*(_wheel_tags(name) for name in wheels))
    return frozenset(
        s for s in SERIES if not _supported_tags(s.major, s.minor, arch).isdisjoint(tags)
    )


@cache
def _wheel_tags(file_name: str) -> frozenset[Tag]:
    try:
        return frozenset(parse_wheel_filename(file_name)[3])
    except InvalidWheelFilename:
        return frozenset()


@cache
def _supported_tags(major: int, minor: int, arch: str) -> frozenset[Tag]:
    machine = _MACHINES.get(arch, arch)
    platforms = [f"manylinux_2_{m}_{machine}" for m in range(_NEWEST_GLIBC_MINOR, 16, -1)]
    platforms += [f"manylinux2014_{machine}", f"manylinux2010_{machine}"]
    platforms += [f"manylinux1_{machine}", f"linux_{machine}"]
    version = (major, minor)
    return frozenset(
        (
            *cpython_tags(version, platforms=platforms),
            *compatible_tags(version, interpreter=f"cp{major}{minor}", platforms=platforms),
        )
    )
