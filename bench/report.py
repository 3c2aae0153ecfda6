"""Medians, ratios and targets from the raw samples, and the Markdown table."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

__all__ = ["SCENARIOS", "SYSTEMS", "render_markdown", "summarize"]

SCENARIOS = ("cold", "warm", "pin_change", "code_change")
SYSTEMS = ("pycnb", "plain", "reference")

_SCENARIO_TITLES = {
    "cold": "cold build (empty cache)",
    "warm": "warm rebuild, nothing changed",
    "pin_change": "rebuild, one pin changed",
    "code_change": "rebuild, app code changed",
}


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def summarize(raw: Mapping[str, Any]) -> dict[str, Any]:
    apps: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    for kind, data in raw.items():
        samples = data["samples"]
        if "plain_pyc" not in samples["cold"]:
            # pip compiles at install by default: its plain run is the compiled one.
            samples = {
                scenario: {**runs, "plain_pyc": runs["plain"]} for scenario, runs in samples.items()
            }
        medians = {
            scenario: {
                system: {
                    metric: _median([s[metric] for s in runs if metric in s]) for metric in runs[0]
                }
                for system, runs in by_system.items()
            }
            for scenario, by_system in samples.items()
        }
        cold_pycnb = samples["cold"]["pycnb"]
        cold_without_python = _median([s["total"] - s["python_step"] for s in cold_pycnb])
        cold_without_tools = _median(
            [s["total"] - s["python_step"] - s["tool_step"] for s in cold_pycnb]
        )
        ratios = {
            scenario: {
                "total_vs_plain": _ratio(m["pycnb"]["total"], m["plain"]["total"]),
                "total_vs_reference": _ratio(m["pycnb"]["total"], m["reference"]["total"]),
                "total_vs_plain_pyc": _ratio(m["pycnb"]["total"], m["plain_pyc"]["total"]),
                "buildpack_vs_reference": _ratio(m["pycnb"]["buildpack"], m["reference"]["total"]),
            }
            for scenario, m in medians.items()
        }
        ratios["cold"]["total_without_python_vs_plain"] = _ratio(
            cold_without_python, medians["cold"]["plain"]["total"]
        )
        ratios["cold"]["total_without_python_and_tools_vs_plain"] = _ratio(
            cold_without_tools, medians["cold"]["plain"]["total"]
        )
        plain_pyc = medians["cold"]["plain_pyc"]["total"]
        ratios["cold"]["total_without_python_vs_plain_pyc"] = _ratio(cold_without_python, plain_pyc)
        ratios["cold"]["total_without_python_and_tools_vs_plain_pyc"] = _ratio(
            cold_without_tools, plain_pyc
        )
        ratios["pin_change"]["total_vs_cold"] = _ratio(
            medians["pin_change"]["pycnb"]["total"], medians["cold"]["pycnb"]["total"]
        )
        ratios["pin_change"]["buildpack_vs_cold"] = _ratio(
            medians["pin_change"]["pycnb"]["buildpack"], medians["cold"]["pycnb"]["buildpack"]
        )
        imports = {
            system: {
                "seconds": _median([s["seconds"] for s in runs]),
                "pyc_rewritten": max(int(s["pyc_rewritten"]) for s in runs),
            }
            for system, runs in data["imports"].items()
        }
        launch = data["launch"][-1]
        apps[kind] = {
            "samples": samples,
            "medians": medians,
            "cold_pycnb_total_without_python": cold_without_python,
            "cold_pycnb_total_without_python_and_tools": cold_without_tools,
            "ratios": ratios,
            "imports": imports,
            "launch_bytes": launch,
        }
        warm_bp = medians["warm"]["pycnb"]["buildpack"]
        targets += [
            _target(kind, "warm rebuild: buildpack time (s)", warm_bp, 0.5),
            _target(
                kind,
                "warm rebuild: buildpack / reference",
                ratios["warm"]["buildpack_vs_reference"],
                0.1,
            ),
            _target(
                kind,
                "one pin changed / cold build (whole build)",
                ratios["pin_change"]["total_vs_cold"],
                0.5,
            ),
            _target(
                kind,
                "cold build without the Python layer / plain",
                ratios["cold"]["total_without_python_vs_plain"],
                1.15,
            ),
            _target(
                kind,
                ".pyc rewritten at first import (mtimes 1980)",
                imports["pycnb"]["pyc_rewritten"],
                0,
            ),
            _target(kind, "installer bytes in launch layers", launch["installers"], 0),
        ]
    return {"apps": apps, "targets": targets}


def _target(app: str, name: str, value: float, limit: float) -> dict[str, Any]:
    return {"app": app, "target": name, "value": value, "limit": limit, "met": value <= limit}


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def render_markdown(result: Mapping[str, Any]) -> str:
    meta = result["meta"]
    intro = (
        f"CPython {meta['python']} on {meta['machine']}; {meta['iterations']} iteration(s) per "
        "scenario, systems alternating; medians. pycnb = the whole `pycnb build` (platform "
        "included), bp = the buildpack's own time from its log. plain = `python -m venv` + "
        "`pip install -r` / `uv sync` / venv + `poetry sync`; plain+pyc = the same with bytecode "
        "compiled, as pycnb does (`uv sync --compile-bytecode`, `poetry sync --compile`; pip "
        "compiles by default, so for pip it is plain); reference = a fresh venv + pinned pip from "
        "a warm pip cache on every build."
    )
    lines = [f"# pycnb benchmark {meta['timestamp']}", "", intro, ""]
    for kind, app in result["apps"].items():
        med, ratios = app["medians"], app["ratios"]
        lines += [
            f"## {kind} app",
            "",
            (
                "| scenario | pycnb | bp | plain | plain+pyc | reference | pycnb/plain "
                "| pycnb/plain+pyc | pycnb/reference |"
            ),
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for scenario in SCENARIOS:
            m, r = med[scenario], ratios[scenario]
            lines.append(
                f"| {_SCENARIO_TITLES[scenario]} | {_s(m['pycnb']['total'])} | "
                f"{_s(m['pycnb']['buildpack'])} | {_s(m['plain']['total'])} | "
                f"{_s(m['plain_pyc']['total'])} | {_s(m['reference']['total'])} | "
                f"{r['total_vs_plain']:.2f}x | {r['total_vs_plain_pyc']:.2f}x | "
                f"{r['total_vs_reference']:.2f}x |"
            )
        launch = app["launch_bytes"]
        layers = ", ".join(f"{k} {_mib(v)}" for k, v in launch.items() if k != "installers")
        imports = app["imports"]
        lines += [
            "",
            (
                "Cold build without the Python layer steps: "
                f"{_s(app['cold_pycnb_total_without_python'])}"
                f" ({ratios['cold']['total_without_python_vs_plain']:.2f}x plain); also without "
                "installing pip/uv/Poetry into their build-only layers: "
                f"{_s(app['cold_pycnb_total_without_python_and_tools'])} "
                f"({ratios['cold']['total_without_python_and_tools_vs_plain']:.2f}x plain). "
                f"Launch layers: {layers}; installers {launch['installers']} bytes. "
                f"Import time after mtimes were set to 1980: pycnb "
                f"{_s(imports['pycnb']['seconds'])} "
                f"({imports['pycnb']['pyc_rewritten']} .pyc rewritten), plain "
                f"{_s(imports['plain']['seconds'])} "
                f"({imports['plain']['pyc_rewritten']} .pyc written or rewritten)."
            ),
            "",
        ]
    lines += ["## Targets", "", "| app | target | value | limit | met |", "|---|---|---|---|---|"]
    for t in result["targets"]:
        value = t["value"]
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        lines.append(
            f"| {t['app']} | {t['target']} | {shown} | {t['limit']} | "
            f"{'met' if t['met'] else '**not met**'} |"
        )
    lines += [
        "",
        (
            "Like for like (not targets): the cold build against plain+pyc, which compiles "
            "bytecode as pycnb does."
        ),
        "",
        (
            "| app | cold without the Python layer / plain+pyc | also without installing the "
            "installer / plain+pyc |"
        ),
        "|---|---|---|",
    ]
    for kind, app in result["apps"].items():
        cold = app["ratios"]["cold"]
        lines.append(
            f"| {kind} | {cold['total_without_python_vs_plain_pyc']:.2f}x | "
            f"{cold['total_without_python_and_tools_vs_plain_pyc']:.2f}x |"
        )
    return "\n".join(lines) + "\n"
