"""Which installed distributions the requirements no longer need, so a kept venv can be synced.

pip installs what requirements.txt asks for but never uninstalls what it stopped asking for. To
update a venv in place (instead of rebuilding it), pycnb removes those leftovers itself:

1. pip resolves only the top-level requirements, ignoring what is installed
   (`pip install --dry-run --ignore-installed --no-deps --report`). Its report names each
   requirement that applies to the venv's interpreter, with the extras asked for, and the
   interpreter's marker environment. pip does the parsing: `-r`/`-c` includes, options, markers,
   line continuations.
2. Starting from those, this module follows `Requires-Dist` through the metadata of what is
   *installed* (not of what a fresh resolution would pick: an unpinned requirement pip left at
   its installed version keeps that version's dependencies), with markers evaluated for the
   venv's interpreter and each requested extra.
3. Whatever installed distribution that walk never reaches is no longer required.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import Distribution, distributions
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

__all__ = ["InvalidReport", "ResolvedRoots", "read_report", "unrequired_distributions"]


@dataclass
class InvalidReport(Exception):
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class ResolvedRoots:
    """The top-level requirements as pip resolved them for the venv's interpreter."""

    extras: Mapping[NormalizedName, frozenset[str]]  # each requirement's requested extras
    environment: Mapping[str, str]  # the interpreter's PEP 508 marker values


def read_report(path: Path) -> ResolvedRoots:
    """Read pip's installation report (the `--report` JSON, format version 1)."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        extras: dict[NormalizedName, frozenset[str]] = {}
        for item in report["install"]:
            name = canonicalize_name(item["metadata"]["name"])
            requested = frozenset(canonicalize_name(e) for e in item.get("requested_extras") or ())
            extras[name] = extras.get(name, frozenset()) | requested
        environment = {str(k): str(v) for k, v in report["environment"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise InvalidReport(path, f"not a pip installation report ({error})") from None
    return ResolvedRoots(extras, environment)


def unrequired_distributions(site_packages: Path, roots: ResolvedRoots) -> list[NormalizedName]:
    """The installed distributions (canonical names, sorted) that no root requires."""
    installed = _installed(site_packages)
    required: dict[NormalizedName, set[str]] = {}  # name -> extras already followed
    pending = [(name, set(extras)) for name, extras in roots.extras.items()]
    while pending:
        name, extras = pending.pop()
        followed = required.get(name)
        if followed is not None and extras <= followed:
            continue
        required[name] = (followed or set()) | extras
        dist = installed.get(name)
        if dist is None:
            continue  # not installed (so nothing to keep); pip check's business, not ours
        for requirement in _requirements(dist):
            if _applies(requirement.marker, roots.environment, required[name]):
                extras_asked: set[str] = {canonicalize_name(e) for e in requirement.extras}
                pending.append((canonicalize_name(requirement.name), extras_asked))
    return sorted(set(installed) - set(required))


def _installed(site_packages: Path) -> dict[NormalizedName, Distribution]:
    installed: dict[NormalizedName, Distribution] = {}
    for dist in distributions(path=[str(site_packages)]):
        name = dist.metadata["Name"]
        if name:  # a dist-info without metadata names nothing we could uninstall
            installed[canonicalize_name(name)] = dist
    return installed


def _requirements(dist: Distribution) -> Iterable[Requirement]:
    for line in dist.requires or ():
        try:
            yield Requirement(line)
        except InvalidRequirement:
            # pip installed it, so pip could read it; a line we cannot parse must not make us
            # drop a dependency, but it cannot name one either.
            continue


def _applies(marker: Marker | None, environment: Mapping[str, str], extras: set[str]) -> bool:
    if marker is None:
        return True
    # A requirement applies unconditionally (extra "") or through any extra that was asked for.
    return any(marker.evaluate({**environment, "extra": extra}) for extra in ("", *sorted(extras)))
