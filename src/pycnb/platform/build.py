"""The build phase: each buildpack of the group, one after another (rule 17), then what the
lifecycle checks and collects right after each one.

Per buildpack [L buildpack/build.go]: a fresh plan file with its share of the plan (rule 20);
bin/build with cwd the app, args `<layers>/<bp> <platform> <plan>` (rule 4) and env vars
CNB_LAYERS_DIR, CNB_BP_PLAN_PATH, CNB_PLATFORM_DIR, CNB_BUILDPACK_DIR, CNB_TARGET_* (rule 18);
a non-zero exit stops everything (rule 19). Afterwards, in this order: settle its layers (rename
all-false ones to `.ignore`, rule 37) and fold its build layers into the shared env (rule 23);
check build.toml's unmet entries and drop the met ones from later plans (rule 21); validate its
SBOM files (rule 51); read launch.toml and merge processes and labels (rules 24-26).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.cnb.toml import write_toml
from pycnb.platform.buildpack_descriptor import BuildpackDescriptor
from pycnb.platform.buildpack_output import (
    LaunchOutput,
    parse_build_toml,
    parse_launch_toml,
    read_output_file,
)
from pycnb.platform.detect import DetectResult
from pycnb.platform.env import BuildEnv
from pycnb.platform.errors import (
    BuildpackFailed,
    BuildpackNotRunnable,
    ContentError,
    InvalidBuildpackOutput,
    UnmetNotInPlan,
)
from pycnb.platform.layers_dir import settle_layers
from pycnb.platform.plan import PlanEntry, Require, buildpack_plan, remove_met
from pycnb.platform.processes import ProcessSet
from pycnb.platform.runner import Exited, run_program
from pycnb.platform.sbom import scan_sboms
from pycnb.platform.target import TargetInfo

__all__ = ["BuildContext", "BuildOutput", "build"]


@dataclass(frozen=True)
class BuildContext:
    app_dir: Path
    layers_dir: Path
    platform_dir: Path
    scratch_dir: Path  # plan files go here, outside the app
    env: BuildEnv  # shared by the whole build; grows after each buildpack
    user_env: Mapping[str, str]
    target: TargetInfo
    log: Callable[[str], None]


@dataclass(frozen=True)
class BuildOutput:
    processes: ProcessSet
    labels: tuple[tuple[str, str], ...]
    slices: tuple[tuple[str, ...], ...]


def build(detected: DetectResult, context: BuildContext) -> BuildOutput:
    plan: tuple[PlanEntry, ...] = detected.plan
    processes = ProcessSet()
    labels: dict[str, str] = {}
    slices: list[tuple[str, ...]] = []
    for descriptor in detected.group:
        bp_plan = buildpack_plan(plan, descriptor.id)
        bp_dir = _run_build(descriptor, bp_plan, context)
        for layer in settle_layers(bp_dir, descriptor.id):
            if layer.types.build:
                context.env.add_layer(layer.path)
        plan = remove_met(plan, _met_names(descriptor, bp_dir, bp_plan))
        scan_sboms(bp_dir, descriptor.id, descriptor.sbom_formats)
        launch = _launch_output(descriptor, bp_dir)
        processes.add(launch.processes, context.log)
        for key, value in launch.labels:
            labels.pop(key, None)
            labels[key] = value  # rule 26: the last buildpack's value wins
        slices.extend(launch.slices)
    return BuildOutput(processes, tuple(labels.items()), tuple(slices))


def _run_build(
    descriptor: BuildpackDescriptor, bp_plan: tuple[Require, ...], context: BuildContext
) -> Path:
    bp_dir = context.layers_dir / descriptor.directory_name
    bp_dir.mkdir(parents=True, exist_ok=True)
    plan_path = context.scratch_dir / descriptor.directory_name / "plan.toml"
    write_toml(plan_path, {"entries": [require.to_table() for require in bp_plan]})
    cnb_vars = {
        "CNB_LAYERS_DIR": str(bp_dir),
        "CNB_BP_PLAN_PATH": str(plan_path),
        "CNB_PLATFORM_DIR": str(context.platform_dir),
        "CNB_BUILDPACK_DIR": str(descriptor.root),
        **context.target.env(),
    }
    env = context.env.for_invocation(None if descriptor.clear_env else context.user_env, cnb_vars)
    outcome = run_program(
        [str(descriptor.build_program), str(bp_dir), str(context.platform_dir), str(plan_path)],
        env=env,
        cwd=context.app_dir,
        source=f"the build env of {descriptor.id}",
    )
    if not isinstance(outcome, Exited):
        raise BuildpackNotRunnable(descriptor.key, descriptor.build_program, outcome.reason)
    if outcome.status != 0:
        raise BuildpackFailed(descriptor.key, outcome.status)
    return bp_dir


def _met_names(
    descriptor: BuildpackDescriptor, bp_dir: Path, bp_plan: tuple[Require, ...]
) -> list[str]:
    path = bp_dir / "build.toml"
    data = read_output_file(path, descriptor.id)
    try:
        unmet = parse_build_toml(data) if data is not None else ()
    except ContentError as error:
        raise InvalidBuildpackOutput(descriptor.id, path, str(error)) from None
    plan_names = tuple(dict.fromkeys(r.name for r in bp_plan))
    for name in unmet:
        if name not in plan_names:
            raise UnmetNotInPlan(descriptor.id, name, plan_names)
    return [name for name in plan_names if name not in unmet]


def _launch_output(descriptor: BuildpackDescriptor, bp_dir: Path) -> LaunchOutput:
    path = bp_dir / "launch.toml"
    data = read_output_file(path, descriptor.id)
    if data is None:
        return LaunchOutput()
    try:
        return parse_launch_toml(data, descriptor.id)
    except ContentError as error:
        raise InvalidBuildpackOutput(descriptor.id, path, str(error)) from None
