"""Generate the buildpack's Python manifest from python-build-standalone release facts.

    python scripts/generate_manifest.py PATH/TO/python-build-standalone.json [--output FILE]

The input maps keys like `cpython-3.12.14-linux-x86_64-gnu` to {arch, build, major, minor, patch,
sha256, url}. The manifest keeps, per (version, arch), one archive the buildpack can unpack: a
`.tar.gz` holding one top-level `python/` dir. That is an `install_only_stripped` build (no debug
symbols: smaller layers), or `install_only` for releases that have no stripped build. The early
`.tar.zst` "full" archives have another layout and are skipped. Never edit the output by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["DEFAULT_OUTPUT", "Entry", "InputError", "main", "render", "select"]

DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent / "src/pycnb/buildpack/data/python_manifest.json"
)
MIN_VERSION = (3, 10)
# Upstream arch names -> CNB/OCI names.
ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}
# Archive flavours we accept, best first.
FLAVOURS = ("-install_only_stripped.tar.gz", "-install_only.tar.gz")
_LINUX_GNU = "-unknown-linux-gnu-"
_FIELDS: Mapping[str, type] = {
    "arch": str,
    "build": str,
    "major": int,
    "minor": int,
    "patch": int,
    "sha256": str,
    "url": str,
}


@dataclass
class InputError(Exception):
    key: str  # the input entry's key (or "<top level>")
    problem: str  # what is wrong with it

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}"


@dataclass(frozen=True, order=True)
class Entry:
    version: tuple[int, int, int]
    arch: str  # CNB name
    url: str
    sha256: str


@dataclass(frozen=True)
class _Candidate:
    entry: Entry
    flavour: int  # index into FLAVOURS: lower is better
    build: str  # release tag, YYYYMMDD: newer wins a tie


def select(facts: object) -> list[Entry]:
    """Pick one archive per (version, arch), sorted by version then arch."""
    if not isinstance(facts, dict):
        raise InputError("<top level>", "expected a JSON object")
    best: dict[tuple[tuple[int, int, int], str], _Candidate] = {}
    for key, record in sorted(facts.items()):
        candidate = _candidate(str(key), record)
        if candidate is None:
            continue
        slot = (candidate.entry.version, candidate.entry.arch)
        current = best.get(slot)
        if current is None or _better(candidate, current):
            best[slot] = candidate
    return sorted(candidate.entry for candidate in best.values())


def _better(new: _Candidate, old: _Candidate) -> bool:
    # Stripped before unstripped, then the newest build; the URL only makes ties deterministic.
    if new.flavour != old.flavour:
        return new.flavour < old.flavour
    if new.build != old.build:
        return new.build > old.build
    return new.entry.url < old.entry.url


def _candidate(key: str, record: object) -> _Candidate | None:
    if not isinstance(record, dict):
        raise InputError(key, "expected an object")
    for name, kind in _FIELDS.items():
        value = record.get(name)
        if type(value) is not kind:
            raise InputError(key, f"field {name!r}: expected {kind.__name__}, got {value!r}")
    version = (record["major"], record["minor"], record["patch"])
    arch = ARCHES.get(record["arch"])
    if version[:2] < MIN_VERSION or arch is None:
        return None
    file_name = unquote(urlsplit(record["url"]).path.rsplit("/", 1)[-1])
    if _LINUX_GNU not in file_name:
        return None
    flavour = next((i for i, suffix in enumerate(FLAVOURS) if file_name.endswith(suffix)), None)
    if flavour is None:
        return None  # e.g. the early `.tar.zst` full archives: different layout
    entry = Entry(version, arch, record["url"], record["sha256"])
    return _Candidate(entry, flavour, record["build"])


def render(entries: Sequence[Entry]) -> str:
    """The manifest text: one distribution per line, so regenerations diff cleanly."""
    lines = [
        json.dumps(
            {
                "version": ".".join(map(str, entry.version)),
                "os": "linux",
                "arch": entry.arch,
                "url": entry.url,
                "sha256": entry.sha256,
            }
        )
        for entry in entries
    ]
    body = ",\n  ".join(lines)
    return f'{{"schema": 1,\n "distributions": [\n  {body}\n ]}}\n'


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("facts", type=Path, help="python-build-standalone release facts (JSON)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="manifest to write")
    args = parser.parse_args(argv)
    try:
        facts = json.loads(args.facts.read_text(encoding="utf-8"))
        entries = select(facts)
    except (OSError, json.JSONDecodeError, InputError) as error:
        print(f"error: {args.facts}: {error}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(entries), encoding="utf-8")
    print(f"wrote {len(entries)} distributions to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
