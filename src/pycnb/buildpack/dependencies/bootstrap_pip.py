"""The bootstrap pip: the runtime's own bundled pip, which installs pip, uv and Poetry.

The tool layers are filled from the package index by the pip wheel that the runtime's `ensurepip`
bundles, so the user's PIP_* settings apply (a private mirror of the index is enough) and nothing
else is downloaded. The wheel is unpacked into a temporary directory outside every layer, once per
build and only when a tool layer is actually filled, and removed when the tools are in place. Run
straight from the zip, pip would compile every module it imports on every start (zipimport never
caches bytecode), about half of its run time.

The bundled pip's version follows the Python's (3.10.2 bundles pip 21.2.4, 3.14 a pip 25), so
every option passed here must exist from pip 21.2 on: no `--python`, `--root-user-action` or
`--break-system-packages`. A pip meant for another interpreter runs *under* that interpreter
instead of through `--python`.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Self

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from pycnb.buildpack.commands import CommandFailed, run_captured
from pycnb.buildpack.dependencies.trust import TlsClient, trust_env
from pycnb.buildpack.errors import DependencyError
from pycnb.buildpack.python.archive import InvalidArchive, UnsafeArchiveMember
from pycnb.buildpack.python.layer import PythonRuntime

__all__ = ["BootstrapPip", "BundledPipMissing", "ToolInstallFailed"]

# Every tool install: the layer is the cache, nothing asks questions, the tool layers compile
# their own bytecode (hash-based, in parallel), and no installer is ever built from source
# during a build (uv's sdist needs a Rust toolchain, Poetry's dependencies a C compiler).
_INSTALL_OPTIONS = (
    "--no-cache-dir",
    "--no-input",
    "--quiet",
    "--disable-pip-version-check",
    "--no-compile",
    "--only-binary=:all:",
    # The check only warns, and the resolver already made the set consistent; the target is
    # always empty, so there is nothing installed to conflict with.
    "--no-warn-conflicts",
)


@dataclass
class BundledPipMissing(DependencyError):
    directory: Path  # where the Python's ensurepip keeps its bundled wheel

    def __str__(self) -> str:
        return f"no bundled pip wheel in {self.directory}"


@dataclass
class ToolInstallFailed(DependencyError):
    """pip could not install one of the buildpack's tools from the package index."""

    tool: str  # as the log names it: "pip", "uv", "Poetry"
    requirement: str  # what was asked of the index: "poetry==2.5.1"
    returncode: int
    output: str  # pip's own output

    def __str__(self) -> str:
        return f"pip install {self.requirement} exited with status {self.returncode}"


class BootstrapPip:
    """`pip install` for the tool layers; the bundled wheel is unpacked on first use.

    Use it as a context manager: leaving it removes the unpacked pip.
    """

    def __init__(self, runtime: PythonRuntime) -> None:
        self._runtime = runtime
        self._cleanup = ExitStack()
        self._directory: Path | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._cleanup.close()

    def install(
        self,
        tool: str,
        requirement: str,
        options: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        python: Path | None = None,
        locked: Path | None = None,
    ) -> None:
        """Install `requirement`; `python` (the runtime's by default) decides where to, unless
        `options` say (`--target`). With `locked`, a requirements file that pins `requirement`
        and all its dependencies with hashes, pip installs exactly that file, resolving nothing.
        Raises `ToolInstallFailed` with pip's output."""
        what = ["--no-deps", "--requirement", str(locked)] if locked else [requirement]
        argv = [
            str(python or self._runtime.python),
            "-I",
            # pip's __main__ puts the directory above it on sys.path, as for `python pip.whl/pip`.
            str(self._unpacked() / "pip"),
            "install",
            *_INSTALL_OPTIONS,
            *options,
            *what,
        ]
        # PIP_* settings apply (a mirror of the index), pip's config files do not.
        # Bundled pips before 24.2 trust only their own copy of certifi's bundle; newer ones,
        # like the pinned pip that installs the app, trust the system's store. A proxy or a
        # private index the system trusts must work for both.
        pip_env = {**env, **trust_env(TlsClient.PIP, env), "PIP_CONFIG_FILE": os.devnull}
        try:
            run_captured(argv, env=pip_env, cwd=cwd)
        except CommandFailed as error:
            raise ToolInstallFailed(
                tool, requirement, error.returncode, error.output or ""
            ) from None

    def _unpacked(self) -> Path:
        if self._directory is None:
            wheel = _bundled_wheel(self._runtime.stdlib_dir / "ensurepip" / "_bundled")
            temporary = tempfile.TemporaryDirectory(
                prefix="pycnb-bootstrap-pip-", ignore_cleanup_errors=True
            )
            directory = Path(self._cleanup.enter_context(temporary))
            _unpack(wheel, directory)
            self._directory = directory
        return self._directory


def _bundled_wheel(bundled_dir: Path) -> Path:
    wheels: list[tuple[Version, Path]] = []
    for path in bundled_dir.glob("pip-*.whl"):
        try:
            _, version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        wheels.append((version, path))
    if not wheels:
        raise BundledPipMissing(bundled_dir)
    return max(wheels)[1]


def _unpack(wheel: Path, dest: Path) -> None:
    """Every member is checked before anything is written: the wheel is part of our runtime,
    but a path that escapes `dest` is refused rather than trusted."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = archive.infolist()
            for member in members:
                problem = _unsafe(member.filename)
                if problem is not None:
                    raise UnsafeArchiveMember(wheel, member.filename, problem)
            archive.extractall(dest, members)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise InvalidArchive(wheel, f"corrupt or not a wheel: {error}") from None
    if not (dest / "pip" / "__main__.py").is_file():
        raise InvalidArchive(wheel, "it holds no pip/__main__.py")


def _unsafe(name: str) -> str | None:
    path = PurePosixPath(name)
    if path.is_absolute():
        return "is an absolute path"
    if ".." in path.parts:
        return "points outside the directory it is extracted to"
    return None
