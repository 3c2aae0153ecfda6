"""The detect phase: try the order's groups in turn and resolve the first one that passes.

Copies the lifecycle's detector (`phase/detector.go`) for component buildpacks:

- each buildpack's bin/detect runs at most once per build (results are reused across groups),
  with cwd the app dir, positional args `<platform> <plan>`, and env vars CNB_BUILDPACK_DIR,
  CNB_PLATFORM_DIR, CNB_BUILD_PLAN_PATH and CNB_TARGET_* (rules 3-6), each with its own empty
  plan file outside the app dir (rule 5);
- exit 0 passes, 100 fails, anything else errors (rule 7); the plan is read only on 0, and an
  invalid one is an error (rule 8);
- a non-optional buildpack whose targets do not match the base errors (rule 13) without running;
  an optional one runs anyway, as in the lifecycle;
- the first group with all non-optional members passing, at least one member passing, and a
  resolvable plan wins (rules 10-12).

Beyond the lifecycle: the app dir must be unchanged after each bin/detect (rule 9).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pycnb.cnb.toml import InvalidToml, read_toml
from pycnb.platform.buildpack_descriptor import BuildpackDescriptor, load_descriptor
from pycnb.platform.env import BuildEnv
from pycnb.platform.errors import (
    AppModifiedByDetect,
    ContentError,
    DetectionErrored,
    DetectionFailed,
    EmptyOrder,
    GroupReport,
    MemberReport,
)
from pycnb.platform.fstree import changed_paths, fingerprint, fs_now
from pycnb.platform.plan import (
    Candidate,
    DetectPlan,
    PlanEntry,
    Resolution,
    parse_detect_plan,
    resolve,
)
from pycnb.platform.runner import Exited, run_program
from pycnb.platform.target import TargetInfo, target_matches

__all__ = ["DetectResult", "GroupEntry", "Order", "detect"]

DETECT_PASS = 0
DETECT_FAIL = 100


@dataclass(frozen=True)
class GroupEntry:
    buildpack_dir: Path
    optional: bool = False


Order = list[list[GroupEntry]]


@dataclass(frozen=True)
class DetectResult:
    group: tuple[BuildpackDescriptor, ...]  # the buildpacks that will build, in order
    plan: tuple[PlanEntry, ...]

    @property
    def passed(self) -> bool:
        """Always true: a detection that fails raises DetectionFailed."""
        return True


@dataclass(frozen=True)
class _Run:
    status: int  # the exit status; -1 when the platform decided it is an error
    plan: DetectPlan | None = None
    detail: str = ""


@dataclass(frozen=True)
class DetectContext:
    app_dir: Path
    platform_dir: Path
    scratch_dir: Path  # plan files go here, outside the app
    env: BuildEnv  # the allowlisted base
    user_env: Mapping[str, str]
    target: TargetInfo
    log: Callable[[str], None]


def detect(order: Sequence[Sequence[GroupEntry]], context: DetectContext) -> DetectResult:
    if not any(order):
        raise EmptyOrder
    return _Detector(context).detect(order)


class _Detector:
    def __init__(self, context: DetectContext) -> None:
        self._context = context
        self._descriptors: dict[Path, BuildpackDescriptor] = {}
        self._runs: dict[str, _Run] = {}
        self._app_state = fingerprint(context.app_dir)
        # A write right after the copy could share its coarse timestamp; wait past it.
        fs_now(context.scratch_dir)

    def detect(self, order: Sequence[Sequence[GroupEntry]]) -> DetectResult:
        reports = []
        for group in order:
            result = self._detect_group(group)
            if isinstance(result, DetectResult):
                return result
            reports.append(result)
        if any(m.outcome == "error" for r in reports for m in r.members):
            raise DetectionErrored(tuple(reports))
        raise DetectionFailed(tuple(reports))

    def _descriptor(self, entry: GroupEntry) -> BuildpackDescriptor:
        key = entry.buildpack_dir.absolute()
        if key not in self._descriptors:
            self._descriptors[key] = load_descriptor(key)
        return self._descriptors[key]

    def _detect_group(self, group: Sequence[GroupEntry]) -> DetectResult | GroupReport:
        members: list[tuple[BuildpackDescriptor, bool]] = []
        for entry in group:
            descriptor = self._descriptor(entry)
            if any(d.id == descriptor.id for d, _ in members):
                continue  # [L] a buildpack id appears once per group
            members.append((descriptor, entry.optional))
            if descriptor.key in self._runs:
                continue
            if (
                descriptor.targets
                and not entry.optional
                and not any(target_matches(self._context.target, t) for t in descriptor.targets)
            ):
                self._runs[descriptor.key] = _Run(-1, detail=self._target_mismatch(descriptor))
                continue
            self._runs[descriptor.key] = self._run_detect(descriptor)
        return self._resolve(members)

    def _target_mismatch(self, descriptor: BuildpackDescriptor) -> str:
        wanted = "; ".join(t.describe() for t in descriptor.targets)
        return (
            f"unable to satisfy target os/arch constraints: the base is "
            f"{self._context.target.describe()}, the buildpack supports {wanted}"
        )

    def _run_detect(self, descriptor: BuildpackDescriptor) -> _Run:
        context = self._context
        plan_dir = context.scratch_dir / f"{len(self._runs)}-{descriptor.directory_name}"
        plan_dir.mkdir(parents=True)
        plan_path = plan_dir / "plan.toml"
        plan_path.write_bytes(b"")
        cnb_vars = {
            "CNB_BUILDPACK_DIR": str(descriptor.root),
            "CNB_PLATFORM_DIR": str(context.platform_dir),
            "CNB_BUILD_PLAN_PATH": str(plan_path),
            **context.target.env(),
        }
        env = context.env.for_invocation(
            None if descriptor.clear_env else context.user_env, cnb_vars
        )
        outcome = run_program(
            [str(descriptor.detect_program), str(context.platform_dir), str(plan_path)],
            env=env,
            cwd=context.app_dir,
            source=f"the detect env of {descriptor.id}",
        )
        self._check_app_unchanged(descriptor)
        if not isinstance(outcome, Exited):
            return _Run(-1, detail=f"could not start bin/detect: {outcome.reason}")
        if outcome.status != DETECT_PASS:
            detail = "" if outcome.status == DETECT_FAIL else self._status_detail(outcome.status)
            return _Run(outcome.status, detail=detail)
        try:
            plan = parse_detect_plan(read_toml(plan_path))
        except InvalidToml as error:
            return _Run(-1, detail=f"invalid build plan: {error.reason}")
        except ContentError as error:
            return _Run(-1, detail=f"invalid build plan: {error}")
        return _Run(DETECT_PASS, plan)

    @staticmethod
    def _status_detail(status: int) -> str:
        return f"killed by signal {-status}" if status < 0 else f"exit status {status}"

    def _check_app_unchanged(self, descriptor: BuildpackDescriptor) -> None:
        after = fingerprint(self._context.app_dir)
        if changes := changed_paths(self._app_state, after):
            raise AppModifiedByDetect(descriptor.key, tuple(changes))

    def _resolve(
        self, members: list[tuple[BuildpackDescriptor, bool]]
    ) -> DetectResult | GroupReport:
        reports = []
        candidates = []
        all_required_passed = True
        for descriptor, optional in members:
            run = self._runs[descriptor.key]
            if run.status == DETECT_PASS and run.plan is not None:
                reports.append(MemberReport(descriptor.key, optional, "pass"))
                candidates.append(Candidate(descriptor.id, optional, run.plan))
                continue
            outcome = "error"
            if run.status == DETECT_FAIL:
                outcome = "skip" if optional else "fail"
            reports.append(MemberReport(descriptor.key, optional, outcome, run.detail))
            all_required_passed = all_required_passed and optional
        if not all_required_passed:
            return GroupReport(tuple(reports), "a required buildpack did not pass")
        if not candidates:
            return GroupReport(tuple(reports), "no buildpack passed")
        resolution = resolve(candidates)
        if not isinstance(resolution, Resolution):
            return GroupReport(tuple(reports), f"no build plan resolved: {resolution.reason}")
        chosen = tuple(d for d, _ in members if d.id in resolution.buildpack_ids)
        if len(chosen) != len(members):
            self._context.log(f"{len(chosen)} of {len(members)} buildpacks participating")
        width = max(len(d.id) for d in chosen)
        for descriptor in chosen:
            self._context.log(f"{descriptor.id:<{width}} {descriptor.version}")
        return DetectResult(chosen, resolution.entries)
