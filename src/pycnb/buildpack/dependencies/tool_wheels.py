"""uv and pip from their wheels, unpacked by the buildpack itself: no installer has to start.

A wheel of one of these needs no resolving (neither has dependencies) and no installer logic
beyond unpacking: uv's wheel carries one binary, pip's is pure Python. So the buildpack finds the
wheel on the package index the way pip would (the PIP_* index settings apply, so a mirror is
enough), downloads it with retries and a deadline, checks it against the sha256 pinned in
`data/tool-wheels.toml`, and unpacks the members it needs. Starting an installer for this used to
cost a second of every cold build; now it costs the download, and `Prefetch` does even that
while Python installs.

Of the pinned wheels, the one whose tags this machine supports best is used (the build runs on
the image it builds for, so its platform tags are the target's).
"""

from __future__ import annotations

import functools
import math
import shutil
import ssl
import stat
import tempfile
import time
import tomllib
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Self

from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename

from pycnb.buildpack.dependencies.index import (
    IndexFile,
    index_sources,
    project_files,
    tls_context,
)
from pycnb.buildpack.dependencies.tool_versions import TOOL_WHEELS
from pycnb.buildpack.errors import DependencyError
from pycnb.buildpack.python.download import (
    Deadline,
    DownloadError,
    RetriesFailed,
    attempt_failure,
    download,
    redact_url,
    with_retries,
)

__all__ = [
    "PinnedWheel",
    "Prefetch",
    "ToolWheelBroken",
    "ToolWheelDownloadFailed",
    "ToolWheelNotFound",
    "ToolWheelUnsupported",
    "WheelTree",
    "fetch_wheel",
    "pinned_wheel",
    "unpack_tree",
    "unpack_wheel",
]

_PAGE_TIMEOUT = 10.0  # seconds to wait for a byte of an index page
_PAGE_ATTEMPTS = 3


@dataclass(frozen=True)
class PinnedWheel:
    project: str  # canonical name: "uv"
    version: str
    file: str  # the wheel's file name, as the index lists it
    sha256: str


@dataclass
class ToolWheelUnsupported(DependencyError):
    project: str
    version: str
    files: tuple[str, ...]  # the pinned wheels, none of which fits this machine

    def __str__(self) -> str:
        return f"no wheel of {self.project} {self.version} fits this machine"


@dataclass
class ToolWheelNotFound(DependencyError):
    tool: str  # as the log names it: "uv"
    file: str
    # Each source asked, its credentials redacted, with what it said.
    sources: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return f"no package index source has {self.file}"


@dataclass
class ToolWheelDownloadFailed(DependencyError):
    tool: str
    problem: str  # the download's own failure: its URL (redacted) and reason, or the checksum

    def __str__(self) -> str:
        return f"downloading {self.tool} failed: {self.problem}"


@dataclass
class ToolWheelBroken(DependencyError):
    tool: str
    file: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file} cannot be unpacked: {self.problem}"


@cache
def _pins() -> dict[str, dict[str, object]]:
    return tomllib.loads(TOOL_WHEELS.read_text(encoding="utf-8"))


def pinned_wheel(project: str) -> PinnedWheel:
    """The pinned wheel of `project` whose tags this machine supports best."""
    entry = _pins()[project]
    version = str(entry["version"])
    wheels = entry["wheels"]
    assert isinstance(wheels, dict)  # noqa: S101 - the shape of our own data file
    preference = {tag: rank for rank, tag in enumerate(sys_tags())}

    def rank(file: str) -> float:
        return min(preference.get(tag, math.inf) for tag in parse_wheel_filename(file)[3])

    best = min(wheels, key=rank)
    if rank(best) == math.inf:
        raise ToolWheelUnsupported(project, version, tuple(wheels))
    return PinnedWheel(project, version, best, str(wheels[best]))


def fetch_wheel(
    tool: str,
    wheel: PinnedWheel,
    env: Mapping[str, str],
    dest_dir: Path,
    *,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Download `wheel` from the first index source that lists it into `dest_dir`; the file is
    there only once its sha256 matches."""
    asked: list[tuple[str, str]] = []
    try:
        context = tls_context(env)
    except (OSError, ssl.SSLError) as error:
        raise ToolWheelDownloadFailed(tool, f"PIP_CERT cannot be used: {error}") from None
    opener = functools.partial(urllib.request.urlopen, context=context)
    for source in index_sources(env):
        try:
            files = _listing(source, wheel.project, context)
        except RetriesFailed as failure:
            asked.append((redact_url(source), failure.reason))
            continue
        found = next((file for file in files if file.name == wheel.file), None)
        if found is None:
            asked.append((redact_url(source), f"lists no {wheel.file}"))
            continue
        dest = dest_dir / wheel.file
        try:
            download(found.url, dest, sha256=wheel.sha256, progress=progress, urlopen=opener)
        except DownloadError as error:
            raise ToolWheelDownloadFailed(tool, str(error)) from None
        return dest
    raise ToolWheelNotFound(tool, wheel.file, tuple(asked))


def _listing(source: str, project: str, context: ssl.SSLContext) -> list[IndexFile]:
    deadline = Deadline()

    def attempt() -> list[IndexFile]:
        timeout = min(_PAGE_TIMEOUT, deadline.remaining)
        try:
            return project_files(source, project, timeout=timeout, context=context)
        except (OSError, ValueError) as error:
            raise attempt_failure(error, source) from None

    return with_retries(attempt, attempts=_PAGE_ATTEMPTS, sleep=time.sleep)


def unpack_wheel(
    wheel: Path, tool: str, dest: Path, *, place: Callable[[str], str | None]
) -> list[Path]:
    """Unpack the members of `wheel` that `place` maps to a path under `dest` (None: skipped),
    keeping their executable bit. Every name is checked before anything is written."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            chosen: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
            for member in archive.infolist():
                target = None if member.is_dir() else place(member.filename)
                if target is None:
                    continue
                relative = PurePosixPath(target)
                if relative.is_absolute() or ".." in relative.parts:
                    raise ToolWheelBroken(tool, wheel.name, f"{member.filename} escapes {dest}")
                chosen.append((member, relative))
            written = []
            for member, relative in chosen:
                path = dest.joinpath(*relative.parts)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(archive.read(member))
                executable = (member.external_attr >> 16) & stat.S_IXUSR
                path.chmod(0o755 if executable else 0o644)
                written.append(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as error:
        raise ToolWheelBroken(tool, wheel.name, f"corrupt or not a wheel: {error}") from None
    return written


@dataclass(frozen=True)
class WheelTree:
    """What a layer takes from a pinned wheel: the members `place` maps to paths in it."""

    tool: str  # as the log names it: "uv"
    project: str  # canonical name, the key in data/tool-wheels.toml
    place: Callable[[str], str | None]


def unpack_tree(
    tree: WheelTree,
    env: Mapping[str, str],
    dest: Path,
    *,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Fetch the tree's wheel and unpack its members into `dest`."""
    wheel = pinned_wheel(tree.project)
    with tempfile.TemporaryDirectory(prefix="pycnb-wheel-") as scratch:
        path = fetch_wheel(tree.tool, wheel, env, Path(scratch), progress=progress)
        if not unpack_wheel(path, tree.tool, dest, place=tree.place):
            raise ToolWheelBroken(tree.tool, wheel.file, "it has none of the files pycnb needs")


class Prefetch:
    """Wheel trees fetched and unpacked in the background (while Python installs), for the tool
    layers to take. A tree that was not started is unpacked when the layer asks for it, so the
    result is the same either way; only the time differs. Use it as a context manager: leaving
    it waits for what is still running and removes what was not taken."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._cleanup = ExitStack()
        self._directory = Path(
            self._cleanup.enter_context(
                tempfile.TemporaryDirectory(prefix="pycnb-prefetch-", ignore_cleanup_errors=True)
            )
        )
        self._pool = self._cleanup.enter_context(ThreadPoolExecutor(max_workers=2))
        self._started: dict[str, Future[Path]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._cleanup.close()

    def start(self, tree: WheelTree) -> None:
        staging = self._directory / tree.project

        def unpack() -> Path:
            # No progress lines from here: they would land in the middle of another step's.
            unpack_tree(tree, self._env, staging)
            return staging

        self._started[tree.project] = self._pool.submit(unpack)

    def install(
        self,
        tree: WheelTree,
        dest: Path,
        *,
        env: Mapping[str, str],
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Put the tree into `dest`: what was prefetched is moved in, the rest unpacked now.
        A prefetch that failed raises its error here, at the step it belongs to."""
        started = self._started.pop(tree.project, None)
        if started is None:
            unpack_tree(tree, env, dest, progress=progress)
            return
        staging = started.result()
        dest.mkdir(parents=True, exist_ok=True)
        for entry in staging.iterdir():
            shutil.move(entry, dest / entry.name)
