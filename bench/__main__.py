"""`python -m bench [--quick] [--iterations N] [--apps pip,uv,poetry,pipenv,pdm]`: run it.

Writes `bench/results/<timestamp>.json` and `.md` and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.fixtures import (
    APP_KINDS,
    PIN_CHANGE,
    PINS,
    bench_python,
    ensure_wheels,
    locked_tool_venv,
    make_app,
    runtime_manifest,
    tools_venv,
)
from bench.report import SCENARIOS, SYSTEMS, render_markdown, summarize
from bench.systems import Dockerfile, Plain, Pycnb, Reference, System
from pycnb.buildpack.dependencies.tool_versions import (
    PDM_VERSION,
    PIP_VERSION,
    PIPENV_VERSION,
    POETRY_VERSION,
    UV_VERSION,
)
from tests.support.index import build_simple_index, serve_index
from tests.support.tool_wheels import cached_tool_wheels

RESULTS = Path(__file__).parent / "results"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    apps = ["pip"] if args.quick else args.apps.split(",")
    iterations = 1 if args.quick else args.iterations
    unknown = set(apps) - set(APP_KINDS)
    if unknown:
        raise SystemExit(f"bench: unknown apps {sorted(unknown)}; choose from {APP_KINDS}")

    wheels = ensure_wheels(_log)
    python = bench_python()
    interpreter = python.prefix / "bin" / f"python{python.version.minor_version}"
    manifest = runtime_manifest(python)
    tools = tools_venv()
    # Only the apps that need them build the Pipenv and PDM venvs (once, then cached).
    locked = {
        name: locked_tool_venv(name) if name in apps else Path() for name in ("pipenv", "pdm")
    }
    if args.work_dir:
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pycnb-bench-", dir=args.work_dir))
    try:
        index_dir = build_simple_index([wheels, cached_tool_wheels()], work / "index")
        with serve_index(index_dir) as index_url:
            raw = {}
            for kind in apps:
                _log(f"== {kind} app ==")
                app = make_app(kind, work, index_url=index_url, tools=tools, python=interpreter)
                common = {"app": app, "work": work / kind, "index_url": index_url,
                          "python": interpreter}  # fmt: skip
                systems: list[System] = [
                    Pycnb("pycnb", manifest=manifest, checkout=args.checkout, **common),  # type: ignore[arg-type]
                    Plain("plain", tools=tools, **locked, **common),  # type: ignore[arg-type]
                    Reference("reference", tools=tools, **common),  # type: ignore[arg-type]
                    Dockerfile("dockerfile", tools_wheels=cached_tool_wheels(), **common),  # type: ignore[arg-type]
                ]
                raw[kind] = _run_app(systems, iterations)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {
        "meta": {
            "timestamp": stamp,
            "quick": args.quick,
            "iterations": iterations,
            "python": str(python.version),
            "checkout": str(args.checkout or Path(__file__).resolve().parent.parent),
            "machine": f"{platform.machine()}, {platform.system()} {platform.release()}",
            "pins": PINS,
            "pin_change": list(PIN_CHANGE),
            "tools": {
                "pip": PIP_VERSION,
                "uv": UV_VERSION,
                "poetry": POETRY_VERSION,
                "pipenv": PIPENV_VERSION,
                "pdm": PDM_VERSION,
            },
        },
        **summarize(raw),
    }
    output = Path(args.output) if args.output else RESULTS
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = render_markdown(result)
    (output / f"{stamp}.md").write_text(markdown)
    sys.stdout.write(markdown)
    _log(f"Results: {output / stamp}.json and .md")
    return 0


def _run_app(systems: list[System], iterations: int) -> dict[str, object]:
    """Every scenario of every iteration, running the systems one after another (in a rotating
    order, so none always runs first), each on its own copy of the app."""

    def runs_in(system: System, scenario: str) -> bool:
        return scenario == "cold" or not system.COLD_ONLY

    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        scenario: {s.name: [] for s in systems if runs_in(s, scenario)} for scenario in SCENARIOS
    }
    imports: dict[str, list[dict[str, float]]] = {"pycnb": [], "plain": []}
    launch: list[dict[str, int]] = []
    for iteration in range(iterations):
        order = systems[iteration % len(systems) :] + systems[: iteration % len(systems)]
        for scenario in SCENARIOS:
            for system in order:
                if not runs_in(system, scenario):
                    continue
                _prepare(system, scenario)
                sample = system.build()
                samples[scenario][system.name].append(sample)
                _log(f"  {iteration + 1}/{iterations} {scenario:<11} {system.name:<10} "
                     + " ".join(f"{k}={v:.2f}" for k, v in sample.items()))  # fmt: skip
        for system in systems:
            if system.name in imports:
                imports[system.name].append(system.import_check())
            if isinstance(system, Pycnb):
                launch.append(system.launch_bytes())
    if tuple(s.name for s in systems)[: len(SYSTEMS)] != SYSTEMS:
        raise AssertionError(f"systems must start with {SYSTEMS}")
    return {"samples": samples, "imports": imports, "launch": launch}


def _prepare(system: System, scenario: str) -> None:
    if scenario == "cold":
        system.reset()  # no venv, empty caches, the app as first written
    elif scenario == "pin_change":
        system.set_variant(1)
    elif scenario == "code_change":
        system.change_code()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the pip app, one iteration (CI)")
    parser.add_argument("--iterations", type=int, default=3, help="runs per scenario (default 3)")
    parser.add_argument("--apps", default=",".join(APP_KINDS), help="comma-separated app kinds")
    parser.add_argument(
        "--checkout",
        type=lambda value: Path(value).resolve(),
        help="benchmark the pycnb of this checkout (e.g. a `git archive` of another revision) "
        "instead of the installed one",
    )
    parser.add_argument("--output", help="where to write the results (default bench/results)")
    parser.add_argument("--work-dir", help="where to build (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the build dirs afterwards")
    return parser


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)  # noqa: T201


if __name__ == "__main__":
    sys.exit(main())
