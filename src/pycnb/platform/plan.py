"""Build plans: what detect declares, how a group's plan is resolved, and each buildpack's share.

Resolution copies the lifecycle's resolver (`phase/detector.go`) step for step, because its
corner cases decide which group wins:

- trials take one option per passing buildpack (its top-level requires/provides, then each
  `[[or]]` in order), enumerated left to right, depth first (rule 12);
- a trial resolves when every require is provided by the same or an earlier buildpack and every
  provide is required by the same or a later one; an optional buildpack that breaks a rule is
  dropped and the check repeated, a non-optional one fails the trial (rule 11);
- an optional buildpack counts as optional only in its *last* option, so all its alternatives are
  tried before it is dropped.

Where the lifecycle iterates a Go map (random order), this module uses first-seen order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pycnb.platform.errors import ContentError

__all__ = [
    "Candidate",
    "DetectPlan",
    "PlanEntry",
    "PlanSections",
    "Require",
    "Resolution",
    "TrialFailure",
    "buildpack_plan",
    "parse_detect_plan",
    "remove_met",
    "resolve",
]


@dataclass(frozen=True)
class Require:
    name: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"name": self.name}
        if self.metadata:
            table["metadata"] = dict(self.metadata)
        return table


@dataclass(frozen=True)
class PlanSections:
    provides: tuple[str, ...] = ()
    requires: tuple[Require, ...] = ()


@dataclass(frozen=True)
class DetectPlan:
    """What one bin/detect wrote to its plan file."""

    primary: PlanSections = PlanSections()
    alternatives: tuple[PlanSections, ...] = ()  # the [[or]] entries, in order


def parse_detect_plan(data: Mapping[str, Any]) -> DetectPlan:
    """Validate a parsed plan file. Raises ContentError saying what is wrong."""
    primary = _parse_sections(data, "")
    alternatives = data.get("or", [])
    if not isinstance(alternatives, list) or not all(isinstance(a, Mapping) for a in alternatives):
        raise ContentError("`or` must be an array of tables ([[or]])")
    return DetectPlan(
        primary, tuple(_parse_sections(a, f"or[{i}].") for i, a in enumerate(alternatives))
    )


def _parse_sections(data: Mapping[str, Any], where: str) -> PlanSections:
    provides = _tables(data, "provides", where)
    requires = _tables(data, "requires", where)
    names = [_name(table, f"{where}provides") for table in provides]
    reqs = []
    for table in requires:
        name = _name(table, f"{where}requires")
        if "version" in table:
            # The current lifecycle rejects it at every API level (rule 8).
            raise ContentError(
                f"{where}requires {name!r} has a top-level `version` key; put it in "
                f"[{where}requires.metadata] instead"
            )
        metadata = table.get("metadata", {})
        if not isinstance(metadata, Mapping):
            raise ContentError(f"{where}requires {name!r}: metadata must be a table")
        reqs.append(Require(name, dict(metadata)))
    return PlanSections(tuple(names), tuple(reqs))


def _tables(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, Mapping) for t in value):
        raise ContentError(f"`{where}{key}` must be an array of tables ([[{where}{key}]])")
    return value


def _name(table: Mapping[str, Any], where: str) -> str:
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise ContentError(f"every [[{where}]] needs a non-empty string `name`")
    return name


@dataclass(frozen=True)
class Candidate:
    """A group member whose detect passed, in group order."""

    buildpack_id: str
    optional: bool
    plan: DetectPlan


@dataclass(frozen=True)
class PlanEntry:
    """One entry of the resolved plan: the requires of one name and who provides them."""

    providers: tuple[str, ...]  # buildpack ids
    requires: tuple[Require, ...]


@dataclass(frozen=True)
class Resolution:
    buildpack_ids: tuple[str, ...]  # the members that remain, in group order
    entries: tuple[PlanEntry, ...]


@dataclass(frozen=True)
class TrialFailure:
    reason: str


@dataclass(frozen=True)
class _Option:
    buildpack_id: str
    optional: bool
    sections: PlanSections


@dataclass
class _Dep:
    providers: list[str] = field(default_factory=list)
    requires: list[Require] = field(default_factory=list)
    early_requires: list[_Option] = field(default_factory=list)
    extra_provides: list[_Option] = field(default_factory=list)


def resolve(candidates: Sequence[Candidate]) -> Resolution | TrialFailure:
    """Find the first plan trial that resolves (rules 10-12)."""
    options = [
        [
            # Optional only in its last option: earlier ones must resolve with it in place.
            _Option(c.buildpack_id, c.optional and i == len(c.plan.alternatives), sections)
            for i, sections in enumerate((c.plan.primary, *c.plan.alternatives))
        ]
        for c in candidates
    ]
    last: Resolution | TrialFailure = TrialFailure("no buildpack passed detection")
    for trial in _trials(options):
        last = _run_trial(trial)
        if isinstance(last, Resolution):
            return last
    return last


def _trials(options: list[list[_Option]]) -> Iterator[list[_Option]]:
    if not options:
        yield []
        return
    for option in options[0]:
        for rest in _trials(options[1:]):
            yield [option, *rest]


def _run_trial(trial: list[_Option]) -> Resolution | TrialFailure:
    while True:
        deps = _dep_map(trial)
        removed = False
        # Requires first, then provides, both judged on the same map, as the lifecycle does.
        for name, dep in deps.items():
            for option in dep.early_requires:
                if not option.optional:
                    return TrialFailure(
                        f"{option.buildpack_id} requires {name!r}, which no earlier buildpack "
                        "(or itself) provides"
                    )
                trial = [o for o in trial if o.buildpack_id != option.buildpack_id]
                removed = True
        for name, dep in deps.items():
            for option in dep.extra_provides:
                if not option.optional:
                    return TrialFailure(
                        f"{option.buildpack_id} provides {name!r}, which no later buildpack "
                        "(or itself) requires"
                    )
                trial = [o for o in trial if o.buildpack_id != option.buildpack_id]
                removed = True
        if not removed:
            break
    if not trial:
        return TrialFailure("no viable buildpacks in the group")
    return Resolution(
        tuple(o.buildpack_id for o in trial),
        tuple(PlanEntry(tuple(d.providers), tuple(d.requires)) for d in deps.values()),
    )


def _dep_map(trial: list[_Option]) -> dict[str, _Dep]:
    deps: dict[str, _Dep] = {}
    for option in trial:
        # A buildpack's provides count before its own requires: it may require what it provides.
        for name in option.sections.provides:
            deps.setdefault(name, _Dep()).extra_provides.append(option)
        for require in option.sections.requires:
            dep = deps.setdefault(require.name, _Dep())
            dep.providers.extend(o.buildpack_id for o in dep.extra_provides)
            dep.extra_provides.clear()
            if dep.providers:
                dep.requires.append(require)
            else:
                dep.early_requires.append(option)
    return deps


def buildpack_plan(entries: Sequence[PlanEntry], buildpack_id: str) -> tuple[Require, ...]:
    """The requires a buildpack is asked to meet: those of every entry it provides (rule 20)."""
    return tuple(
        require
        for entry in entries
        if buildpack_id in entry.providers
        for require in entry.requires
    )


def remove_met(entries: Sequence[PlanEntry], met_names: Sequence[str]) -> tuple[PlanEntry, ...]:
    """Drop the entries a buildpack met, so later providers never see them (rule 21)."""
    met = set(met_names)
    return tuple(e for e in entries if not any(r.name in met for r in e.requires))
