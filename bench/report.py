"""Medians, ratios and targets from the raw samples, and the Markdown tables."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

__all__ = ["BASELINE", "SCENARIOS", "SYSTEMS", "render_markdown", "summarize"]

SCENARIOS = ("cold", "warm", "pin_change", "code_change")
# The systems of every scenario, in this order; BASELINE runs in the cold build only.
SYSTEMS = ("pycnb", "plain", "reference")
BASELINE = "dockerfile"

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
                "buildpack_vs_reference": _ratio(m["pycnb"]["buildpack"], m["reference"]["total"]),
            }
            for scenario, m in medians.items()
        }
        cold = medians["cold"]
        dockerfile = cold[BASELINE]
        ratios["cold"] |= {
            "total_vs_dockerfile": _ratio(cold["pycnb"]["total"], dockerfile["total"]),
            # The target: what pycnb adds over the Dockerfile, its Python layer set aside.
            "total_without_python_vs_dockerfile": _ratio(cold_without_python, dockerfile["total"]),
            # Like for like, the installer's own install left out on both sides.
            "total_without_python_and_tools_vs_dockerfile_sync": _ratio(
                cold_without_tools, dockerfile["sync"]
            ),
            "total_without_python_vs_plain": _ratio(cold_without_python, cold["plain"]["total"]),
            "export_vs_total": _ratio(cold["pycnb"]["export"], cold["pycnb"]["total"]),
        }
        ratios["pin_change"]["total_vs_cold"] = _ratio(
            medians["pin_change"]["pycnb"]["total"], cold["pycnb"]["total"]
        )
        ratios["pin_change"]["buildpack_vs_cold"] = _ratio(
            medians["pin_change"]["pycnb"]["buildpack"], cold["pycnb"]["buildpack"]
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
                "cold build without the Python layer / Dockerfile-style",
                ratios["cold"]["total_without_python_vs_dockerfile"],
                1.1,
            ),
            _target(
                kind,
                "export of a fresh image / cold build",
                ratios["cold"]["export_vs_total"],
                0.1,
                strict=True,
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


def _target(
    app: str, name: str, value: float, limit: float, *, strict: bool = False
) -> dict[str, Any]:
    met = value < limit if strict else value <= limit
    op = "<" if strict else "<="
    return {"app": app, "target": name, "value": value, "op": op, "limit": limit, "met": met}


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def render_markdown(result: Mapping[str, Any]) -> str:
    meta = result["meta"]
    intro = (
        f"CPython {meta['python']} on {meta['machine']}; {meta['iterations']} iteration(s) per "
        "scenario, systems alternating; medians. pycnb = the whole `pycnb build` (platform "
        "included); bp = the buildpack's own time from its log; export = its `===> EXPORTING` "
        "line to `Successfully built`. plain = the tool already installed, `pip install -r` / "
        "`uv sync` / `poetry sync` / `pipenv sync` / `pdm sync --prod` into `.venv`, rerun in "
        "place on rebuilds. reference = a fresh venv + pinned pip from a warm pip cache on every "
        "build. Dockerfile-style (cold build only) = `pip install` the pinned tool into a venv "
        "standing for a Python image (empty cache), then sync compiling bytecode (`uv sync "
        "--locked --compile-bytecode`, `poetry sync --only main --compile`, `pipenv sync`, `pdm "
        "sync --prod`: the pinned PDM cannot compile); for pip, `python -m venv .venv && "
        ".venv/bin/pip install -r requirements.txt`."
    )
    lines = [f"# pycnb benchmark {meta['timestamp']}", "", intro, ""]
    for kind, app in result["apps"].items():
        med, ratios = app["medians"], app["ratios"]
        lines += [
            f"## {kind} app",
            "",
            (
                "| scenario | pycnb | bp | plain | reference | Dockerfile-style | pycnb/plain "
                "| pycnb/reference | pycnb/Dockerfile-style |"
            ),
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for scenario in SCENARIOS:
            m, r = med[scenario], ratios[scenario]
            baseline = m.get(BASELINE)
            docker = _s(baseline["total"]) if baseline else "-"
            docker_ratio = f"{r['total_vs_dockerfile']:.2f}x" if baseline else "-"
            lines.append(
                f"| {_SCENARIO_TITLES[scenario]} | {_s(m['pycnb']['total'])} | "
                f"{_s(m['pycnb']['buildpack'])} | {_s(m['plain']['total'])} | "
                f"{_s(m['reference']['total'])} | {docker} | {r['total_vs_plain']:.2f}x | "
                f"{r['total_vs_reference']:.2f}x | {docker_ratio} |"
            )
        cold, cold_r = med["cold"], ratios["cold"]
        docker = cold[BASELINE]
        compile_after = (
            f"; a `compileall` of its venv would add {_s(docker['compile_after'])}"
            if "compile_after" in docker
            else ""
        )
        launch = app["launch_bytes"]
        layers = ", ".join(f"{k} {_mib(v)}" for k, v in launch.items() if k != "installers")
        imports = app["imports"]
        lines += [
            "",
            (
                f"Cold: export {_s(cold['pycnb']['export'])} "
                f"({cold_r['export_vs_total']:.2f} of the build); without the Python layer steps "
                f"{_s(app['cold_pycnb_total_without_python'])} "
                f"({cold_r['total_without_python_vs_dockerfile']:.2f}x Dockerfile-style), also "
                "without installing the installer "
                f"{_s(app['cold_pycnb_total_without_python_and_tools'])} "
                f"({cold_r['total_without_python_and_tools_vs_dockerfile_sync']:.2f}x the "
                f"Dockerfile-style sync alone). Dockerfile-style: tool install "
                f"{_s(docker['tool_install'])} + sync {_s(docker['sync'])}{compile_after}. "
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
            f"| {t['app']} | {t['target']} | {shown} | {t['op']} {t['limit']} | "
            f"{'met' if t['met'] else '**not met**'} |"
        )
    return "\n".join(lines) + "\n"
