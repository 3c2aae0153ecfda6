"""Which installed distributions a kept pip venv no longer needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from pycnb.buildpack.dependencies.unrequired import (
    InvalidReport,
    ResolvedRoots,
    read_report,
    unrequired_distributions,
)

LINUX_312 = {
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.12",
    "python_full_version": "3.12.1",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
}


def install(site: Path, name: str, version: str = "1.0", requires: tuple[str, ...] = ()) -> None:
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (dist_info / "METADATA").write_text("\n".join(lines) + "\n")


def roots(*names: str, extras: dict[str, set[str]] | None = None) -> ResolvedRoots:
    asked = extras or {}
    return ResolvedRoots(
        {canonicalize_name(n): frozenset(asked.get(n, set())) for n in names}, LINUX_312
    )


def test_follows_dependencies_and_drops_the_rest(tmp_path: Path) -> None:
    install(tmp_path, "Django", requires=("asgiref>=3", "sqlparse"))
    install(tmp_path, "asgiref")
    install(tmp_path, "sqlparse")
    install(tmp_path, "whitenoise")  # was a requirement, no longer is
    install(tmp_path, "brotli")  # only whitenoise needed it
    assert unrequired_distributions(tmp_path, roots("django")) == ["brotli", "whitenoise"]


def test_markers_are_evaluated_for_the_venvs_interpreter(tmp_path: Path) -> None:
    install(
        tmp_path,
        "app-lib",
        requires=('tzdata; sys_platform == "win32"', 'tomli; python_version < "3.11"', "idna"),
    )
    for name in ("tzdata", "tomli", "idna"):
        install(tmp_path, name)
    assert unrequired_distributions(tmp_path, roots("app-lib")) == ["tomli", "tzdata"]


def test_extras_count_only_when_asked_for_at_any_depth(tmp_path: Path) -> None:
    install(
        tmp_path,
        "web",
        requires=('gamma; extra == "fast"', 'delta[x]; extra == "fast"', 'slow; extra == "slow"'),
    )
    install(tmp_path, "gamma")
    install(tmp_path, "delta", requires=('epsilon; extra == "x"',))
    install(tmp_path, "epsilon")
    install(tmp_path, "slow")
    assert unrequired_distributions(tmp_path, roots("web", extras={"web": {"fast"}})) == ["slow"]
    assert unrequired_distributions(tmp_path, roots("web")) == [
        "delta",
        "epsilon",
        "gamma",
        "slow",
    ]


def test_an_extra_asked_later_is_still_followed(tmp_path: Path) -> None:
    # `a` reaches `b` plainly first, `c` reaches `b[x]` later: b's extra deps are still needed.
    install(tmp_path, "a", requires=("b", "c"))
    install(tmp_path, "b", requires=('x-only; extra == "x"',))
    install(tmp_path, "c", requires=("b[x]",))
    install(tmp_path, "x-only")
    assert unrequired_distributions(tmp_path, roots("a")) == []


def test_names_are_compared_canonically_and_cycles_end(tmp_path: Path) -> None:
    install(tmp_path, "Zope.Interface", requires=("Other_Lib",))
    install(tmp_path, "other-lib", requires=("zope-interface",))
    assert unrequired_distributions(tmp_path, roots("zope_interface")) == []


def test_a_requirement_that_is_not_installed_keeps_nothing_else(tmp_path: Path) -> None:
    install(tmp_path, "left-over")
    assert unrequired_distributions(tmp_path, roots("missing")) == ["left-over"]


def test_reads_pips_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(
        json.dumps(
            {
                "version": "1",
                "install": [
                    {"metadata": {"name": "Django"}, "requested_extras": ["Argon2"]},
                    {"metadata": {"name": "gunicorn"}},
                ],
                "environment": LINUX_312,
            }
        )
    )
    read = read_report(report)
    assert read.extras == {"django": frozenset({"argon2"}), "gunicorn": frozenset()}
    assert read.environment == LINUX_312


@pytest.mark.parametrize("text", ["", "[]", '{"install": [{}]}', '{"install": []}'])
def test_a_report_that_is_not_one_says_so(tmp_path: Path, text: str) -> None:
    report = tmp_path / "report.json"
    report.write_text(text)
    with pytest.raises(InvalidReport, match="not a pip installation report"):
        read_report(report)
