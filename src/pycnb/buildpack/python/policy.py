"""Which CPython minor versions pycnb builds: one table, reviewed by hand.

The end-of-life dates are those of the release schedule PEPs (PEP 537 for 3.7, 569 for 3.8, 596
for 3.9, 619 for 3.10, 664 for 3.11, 693 for 3.12, 719 for 3.13, 745 for 3.14), as summarised on
https://devguide.python.org/versions/. Those PEPs give a month for future dates;
the day here is only a placeholder and is never shown.

The status column is written by hand instead of being computed from today's date: a build must
not change its outcome because the clock moved past a date. When a row's status changes (a
version reaches end-of-life, a new one is released and supported), update the table and
`REVIEWED`; a unit test checks that no row is still "supported" after its end-of-life date as of
`REVIEWED`.

"Newest stable" is the newest supported row, not the newest version a manifest offers: a manifest
(BP_PYTHON_MANIFEST) may carry pre-releases or versions this table does not know yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

__all__ = ["POLICY", "REVIEWED", "MinorRelease", "PythonPolicy", "Support"]

REVIEWED = date(2026, 11, 23)


class Support(Enum):
    SUPPORTED = "supported"
    # Past upstream end-of-life: still built, with a prominent warning, for one grace period.
    END_OF_LIFE = "end-of-life"
    # Past end-of-life and no longer built: no security fixes for a long time.
    REFUSED = "refused"
    # Newer than the newest supported row: not released yet, or not supported by pycnb yet.
    UNRELEASED = "unreleased"


@dataclass(frozen=True, order=True)
class MinorRelease:
    major: int
    minor: int
    end_of_life: date  # only year and month are meaningful
    support: Support


@dataclass(frozen=True)
class PythonPolicy:
    releases: tuple[MinorRelease, ...]  # ascending, with at least one SUPPORTED row

    def support(self, major: int, minor: int) -> Support:
        for release in self.releases:
            if (release.major, release.minor) == (major, minor):
                return release.support
        if (major, minor) < (self.releases[0].major, self.releases[0].minor):
            return Support.REFUSED  # older than the oldest row: long past end-of-life
        return Support.UNRELEASED

    def end_of_life(self, major: int, minor: int) -> date | None:
        for release in self.releases:
            if (release.major, release.minor) == (major, minor):
                return release.end_of_life
        return None

    @property
    def newest_stable(self) -> MinorRelease:
        return max(r for r in self.releases if r.support is Support.SUPPORTED)

    @property
    def oldest_supported(self) -> MinorRelease:
        return min(r for r in self.releases if r.support is Support.SUPPORTED)


POLICY = PythonPolicy(
    (
        MinorRelease(3, 7, date(2023, 6, 27), Support.REFUSED),
        MinorRelease(3, 8, date(2024, 10, 7), Support.REFUSED),
        MinorRelease(3, 9, date(2025, 10, 31), Support.REFUSED),
        MinorRelease(3, 10, date(2026, 10, 1), Support.END_OF_LIFE),
        MinorRelease(3, 11, date(2027, 10, 1), Support.SUPPORTED),
        MinorRelease(3, 12, date(2028, 10, 1), Support.SUPPORTED),
        MinorRelease(3, 13, date(2029, 10, 1), Support.SUPPORTED),
        MinorRelease(3, 14, date(2030, 10, 1), Support.SUPPORTED),
    )
)
