"""The Python runtime manifest: which CPython builds exist, where, and their sha256.

Format (schema 1), bundled as `data/python_manifest.json` or named by `BP_PYTHON_MANIFEST`:

    {"schema": 1, "distributions": [
      {"version": "3.12.7", "os": "linux", "arch": "amd64", "url": "https://...", "sha256": "..."}]}

Validation is strict (unknown keys are errors too) and reports every problem at once, so a
hand-edited manifest is fixed in one round.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from pycnb.buildpack.errors import PythonError
from pycnb.buildpack.python.download import (
    ALLOWED_SCHEMES,
    Deadline,
    RetriesFailed,
    UrlOpener,
    read_url,
    redact_url,
    with_retries,
)
from pycnb.buildpack.python.version import PythonVersion

__all__ = [
    "KNOWN_ARCHES",
    "KNOWN_OSES",
    "SCHEMA",
    "UPSTREAM_PREFIXES",
    "Distribution",
    "InvalidManifest",
    "InvalidMirror",
    "Manifest",
    "ManifestError",
    "ManifestUnavailable",
    "apply_mirror",
    "load_manifest",
    "parse_manifest",
]

SCHEMA = 1
KNOWN_OSES = frozenset({"linux"})
KNOWN_ARCHES = frozenset({"amd64", "arm64"})  # CNB/OCI names, as in buildpack.toml targets
# Download prefixes of python-build-standalone releases. The project moved from indygreg to
# astral-sh in 2024; older manifests may still carry the first one (GitHub redirects it).
UPSTREAM_PREFIXES = (
    "https://github.com/astral-sh/python-build-standalone/releases/download/",
    "https://github.com/indygreg/python-build-standalone/releases/download/",
)

_BUNDLED = "bundled python_manifest.json"
_FIELDS = ("version", "os", "arch", "url", "sha256")
_HEX = frozenset("0123456789abcdef")


class ManifestError(PythonError):
    pass


@dataclass
class ManifestUnavailable(ManifestError):
    source: str  # the path or URL (credentials redacted) that could not be read
    reason: str  # why: missing file, HTTP status, network error...

    def __str__(self) -> str:
        return f"cannot read manifest {self.source}: {self.reason}"


@dataclass
class InvalidManifest(ManifestError):
    source: str  # the path or URL (credentials redacted) that was read
    problems: list[str]  # every problem found, e.g. "distributions[3].sha256: ..."

    def __str__(self) -> str:
        return f"invalid manifest {self.source}: " + "; ".join(self.problems)


@dataclass
class InvalidMirror(ManifestError):
    mirror: str  # the mirror base URL given (credentials redacted)
    reason: str  # what is wrong with it

    def __str__(self) -> str:
        return f"invalid mirror {self.mirror}: {self.reason}"


@dataclass(frozen=True)
class Distribution:
    version: PythonVersion
    os: str
    arch: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Manifest:
    distributions: tuple[Distribution, ...]
    source: str  # where it was read from: a path, a URL, or the bundled file

    def for_target(self, os: str, arch: str) -> list[Distribution]:
        """Every distribution for this target, oldest version first."""
        found = [d for d in self.distributions if d.os == os and d.arch == arch]
        return sorted(found, key=lambda d: d.version)

    def find(self, version: PythonVersion, os: str, arch: str) -> Distribution | None:
        for dist in self.distributions:
            if dist.version == version and dist.os == os and dist.arch == arch:
                return dist
        return None


def load_manifest(
    location: str | None,
    *,
    mirror: str | None = None,
    timeout: float = 10.0,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    urlopen: UrlOpener = urllib.request.urlopen,
) -> Manifest:
    """Read and validate a manifest: the bundled one (None), a file path, or a URL."""
    if location is None:
        source = _BUNDLED
        data = resources.files("pycnb.buildpack").joinpath("data", "python_manifest.json")
        try:
            raw = data.read_bytes()
        except OSError as error:
            raise ManifestUnavailable(source, str(error)) from None
    elif urllib.parse.urlsplit(location).scheme in ALLOWED_SCHEMES:
        source = redact_url(location)
        deadline = Deadline()  # one for all attempts: a silent server costs 30 s, not minutes
        try:
            raw = with_retries(
                lambda: read_url(location, timeout=timeout, urlopen=urlopen, deadline=deadline),
                attempts=attempts,
                sleep=sleep,
            )
        except RetriesFailed as failed:
            reason = f"{failed}; gave up after {deadline.elapsed:.1f} s"
            raise ManifestUnavailable(source, reason) from None
    else:
        source = location
        try:
            raw = Path(location).read_bytes()
        except OSError as error:
            raise ManifestUnavailable(source, error.strerror or str(error)) from None
    manifest = parse_manifest(raw, source=source)
    return manifest if mirror is None else apply_mirror(manifest, mirror)


def parse_manifest(raw: bytes, *, source: str) -> Manifest:
    """Validate manifest bytes; raises InvalidManifest listing every problem."""
    try:
        # JSON interchange is UTF-8 (RFC 8259); a BOM some editors add is tolerated.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problem = f"not UTF-8 text: {error.reason} at byte {error.start}"
        raise InvalidManifest(source, [problem]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        problem = f"line {error.lineno}, column {error.colno}: {error.msg}"
        raise InvalidManifest(source, [f"not valid JSON: {problem}"]) from None
    problems: list[str] = []
    distributions = _parse_document(document, problems)
    if problems:
        raise InvalidManifest(source, problems)
    return Manifest(tuple(distributions), source)


def _parse_document(document: object, problems: list[str]) -> list[Distribution]:
    if not isinstance(document, dict):
        problems.append(f"top level: expected an object, got {_kind(document)}")
        return []
    problems.extend(
        f"top level: unknown key {key!r}"
        for key in document
        if key not in {"schema", "distributions"}
    )
    schema = document.get("schema")
    # `type(...) is int`: JSON `true` would pass isinstance(..., int).
    if type(schema) is not int or schema != SCHEMA:
        problems.append(f"schema: expected {SCHEMA}, got {json.dumps(schema)}")
        return []  # another schema's entries would only produce noise
    entries = document.get("distributions")
    if not isinstance(entries, list):
        problems.append(f"distributions: expected a list, got {_kind(entries)}")
        return []
    distributions: list[Distribution] = []
    seen: dict[tuple[PythonVersion, str, str], int] = {}
    for index, entry in enumerate(entries):
        dist = _parse_entry(f"distributions[{index}]", entry, problems)
        if dist is None:
            continue
        key = (dist.version, dist.os, dist.arch)
        if key in seen:
            problems.append(
                f"distributions[{index}]: duplicates distributions[{seen[key]}] "
                f"({dist.version} {dist.os}/{dist.arch})"
            )
        seen.setdefault(key, index)
        distributions.append(dist)
    return distributions


def _parse_entry(where: str, entry: object, problems: list[str]) -> Distribution | None:
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected an object, got {_kind(entry)}")
        return None
    before = len(problems)
    problems.extend(f"{where}: unknown key {key!r}" for key in entry if key not in _FIELDS)
    values: dict[str, str] = {}
    for name in _FIELDS:
        value = entry.get(name)
        if name not in entry:
            problems.append(f"{where}.{name}: missing")
        elif not isinstance(value, str):
            problems.append(f"{where}.{name}: expected a string, got {_kind(value)}")
        else:
            problem = _check_field(name, value)
            if problem is None:
                values[name] = value
            else:
                problems.append(f"{where}.{name}: {problem}, got {value!r}")
    if len(problems) > before:
        return None
    return Distribution(
        version=PythonVersion.parse(values["version"]),
        os=values["os"],
        arch=values["arch"],
        url=values["url"],
        sha256=values["sha256"],
    )


def _check_field(name: str, value: str) -> str | None:
    # Returns what was expected when `value` is not acceptable for field `name`.
    match name:
        case "version":
            try:
                exact = str(PythonVersion.parse(value)) == value  # rejects "3.12.07"
            except ValueError:
                exact = False
            return None if exact else "expected an exact X.Y.Z version"
        case "os":
            return None if value in KNOWN_OSES else f"expected one of {sorted(KNOWN_OSES)}"
        case "arch":
            return None if value in KNOWN_ARCHES else f"expected one of {sorted(KNOWN_ARCHES)}"
        case "url":
            return _url_problem(value)
        case "sha256":
            ok = len(value) == 64 and set(value) <= _HEX  # noqa: PLR2004 (sha256 hex length)
            return None if ok else "expected 64 lowercase hex digits"
        case _:
            raise AssertionError(f"no rule for field {name}")


def _url_problem(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        return f"expected a URL with scheme {', '.join(sorted(ALLOWED_SCHEMES))}"
    if parts.scheme != "file" and not parts.hostname:
        return "expected a URL with a host"
    if parts.scheme == "file" and not parts.path.startswith("/"):
        return "expected an absolute file:// URL"
    return None


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


# The mirror rule: for a URL that starts with one of UPSTREAM_PREFIXES (everything up to and
# including `/releases/download/`), that prefix is replaced by the mirror base URL, with exactly
# one `/` between them. The rest (`<release tag>/<file name>`) and the sha256 are kept, so a
# mirror only has to copy the release assets under the same paths, and a tampered mirror still
# fails the checksum. Other URLs (a local file, a custom host) are left unchanged.
#   https://github.com/astral-sh/python-build-standalone/releases/download/20241016/cpython-...
#   -> https://mirror.example/pbs/20241016/cpython-...
def apply_mirror(manifest: Manifest, mirror: str) -> Manifest:
    problem = _url_problem(mirror)
    if problem is not None:
        raise InvalidMirror(redact_url(mirror), problem)
    base = mirror.rstrip("/") + "/"
    mirrored = tuple(replace(d, url=_mirrored_url(d.url, base)) for d in manifest.distributions)
    return Manifest(mirrored, f"{manifest.source} (mirrored to {redact_url(mirror)})")


def _mirrored_url(url: str, base: str) -> str:
    for prefix in UPSTREAM_PREFIXES:
        if url.startswith(prefix):
            return base + url.removeprefix(prefix)
    return url
