"""`pycnb package`: turn pycnb into a self-contained buildpack directory or `.tgz`.

The bundle is what any CNB platform runs (`pack build --buildpack DIR|X.tgz`):

    buildpack.toml
    bin/detect, bin/build, bin/_shim.sh   (the shims find a python3 >= 3.11 and run lib/)
    lib/pycnb/{__init__.py, cnb/, buildpack/}
    lib/<package>/                        (each bundled distribution, see BUNDLED_DISTRIBUTIONS)
    lib/<distribution>-LICENSES/          (their license files, which their licenses require)

The local platform (`platform/`) and the CLI stay out: the buildpack never imports them.

The bundle is assembled from the pycnb package that is running, so an installed wheel (pip, pipx,
uv tool) packages the buildpack as a checkout does: the wheel carries `buildpack.toml` and `bin/`
as package data in `pycnb/_buildpack/` (see `[tool.hatch...force-include]` in pyproject.toml).
In a source checkout (an editable install) they are read from the checkout root instead, so
there is one copy of each file in the repository.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "BUNDLED_DISTRIBUTIONS",
    "BuildpackFilesMissing",
    "BuildpackSources",
    "BundledDistributionError",
    "NotACheckoutError",
    "OutputNotABuildpackError",
    "PackageError",
    "buildpack_sources",
    "find_checkout_root",
    "package_buildpack",
    "package_tgz",
    "shared_bundle",
    "write_tgz",
]

# Distribution name -> its import package. The buildpack's runtime code may import these and
# nothing else outside the standard library. Pure Python only: the bundle runs on whatever
# python3 >= 3.11 the builder image has, on amd64 and arm64, so compiled modules cannot come along.
BUNDLED_DISTRIBUTIONS: dict[str, str] = {
    "packaging": "packaging",
    "tomli-w": "tomli_w",
}

# The parts of the pycnb package that the buildpack runs; `platform/` and `cli.py` stay out.
_PYCNB_PARTS = ("__init__.py", "cnb", "buildpack")

# Where a wheel carries buildpack.toml and bin/, inside the pycnb package.
_SHIPPED_DIR = "_buildpack"

# Entry points the lifecycle executes; every other file in the bundle is plain data (0644).
_EXECUTABLES = frozenset({"detect", "build"})

# Never bundled: build artefacts and editor/OS droppings that may sit in a working tree.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*", "*~", "*.swp")

_LICENSE_NAME = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)

# A shared bundle no build has used for a week (see `shared_bundle`) is removed.
_UNUSED_BUNDLE_SECONDS = 7 * 24 * 3600

# Fixed tarball timestamp, so packaging the same tree twice gives the same bytes.
# 315532801 is 1980-01-01T00:00:01Z, the convention shared with ZIP-based tools (SOURCE_DATE_EPOCH).
_TAR_MTIME = 315532801


class PackageError(Exception):
    """Base of everything `pycnb package` reports to the user."""


@dataclass
class NotACheckoutError(PackageError):
    """pycnb is not running from a source checkout, so there is no buildpack.toml/bin to bundle."""

    searched: Path
    missing: list[str]

    def __str__(self) -> str:
        return (
            f"pycnb package needs a pycnb source checkout, but {self.searched} lacks "
            f"{', '.join(self.missing)}; run it from a checkout (an editable install works)"
        )


@dataclass
class BuildpackFilesMissing(PackageError):
    """The running pycnb has neither shipped buildpack files nor a checkout around it."""

    package: Path

    def __str__(self) -> str:
        return (
            f"pycnb is installed without its buildpack files: {self.package / _SHIPPED_DIR} "
            "lacks buildpack.toml or bin/, and no source checkout holds the package; "
            "reinstall pycnb from a wheel or a checkout (pip install --force-reinstall pycnb)"
        )


@dataclass
class BundledDistributionError(PackageError):
    """A distribution to bundle is missing, is not pure Python, or lacks its files list."""

    distribution: str
    problem: str

    def __str__(self) -> str:
        return f"cannot bundle {self.distribution}: {self.problem}"


@dataclass
class OutputNotABuildpackError(PackageError):
    """The output path exists and is not a buildpack we made: replacing it could lose data."""

    output: Path

    def __str__(self) -> str:
        return (
            f"{self.output} exists and is neither an empty directory nor a buildpack made by "
            "pycnb package; choose another output or remove it first"
        )


def find_checkout_root(module_file: Path | None = None) -> Path:
    """The checkout holding this module: the directory with pyproject.toml, buildpack.toml, bin/."""
    here = (module_file or Path(__file__)).resolve()
    # src/pycnb/packager.py -> the checkout root is three levels up.
    root = here.parents[2]
    needed = ["pyproject.toml", "buildpack.toml", "bin", "src/pycnb"]
    missing = [name for name in needed if not (root / name).exists()]
    if missing:
        raise NotACheckoutError(root, missing)
    return root


@dataclass(frozen=True)
class BuildpackSources:
    """Where the files of the bundle come from."""

    descriptor: Path  # buildpack.toml
    bin_dir: Path  # the shims
    package: Path  # the pycnb package: __init__.py, cnb/, buildpack/
    protected: Path  # a directory `pycnb package` must never replace (it holds the sources)
    license: Path | None = None


def buildpack_sources(
    checkout: Path | None = None, *, package: Path | None = None
) -> BuildpackSources:
    """The files of the running pycnb (`package`, default: this one), or of `checkout`.

    An installed wheel ships buildpack.toml and bin/ in the package; a checkout has them at its
    root, three levels above this module."""
    if checkout is not None:
        return _checkout_sources(checkout)
    package = Path(__file__).resolve().parent if package is None else package
    shipped = package / _SHIPPED_DIR
    if (shipped / "buildpack.toml").is_file() and (shipped / "bin").is_dir():
        return BuildpackSources(shipped / "buildpack.toml", shipped / "bin", package, package)
    try:
        root = find_checkout_root(package / "packager.py")
    except NotACheckoutError:
        raise BuildpackFilesMissing(package) from None
    return _checkout_sources(root)


def _checkout_sources(root: Path) -> BuildpackSources:
    license_file = root / "LICENSE"
    return BuildpackSources(
        root / "buildpack.toml",
        root / "bin",
        root / "src" / "pycnb",
        root,
        license_file if license_file.is_file() else None,
    )


def package_buildpack(output: Path, *, checkout: Path | None = None) -> Path:
    """Write the buildpack bundle to `output`, replacing a previous bundle there; returns it.

    The files come from `checkout` if given, else from the running pycnb (see
    `buildpack_sources`). The bundle is built in a temporary sibling directory and swapped in at
    the end, so a failure leaves `output` as it was, never half written.
    """
    sources = buildpack_sources(checkout)
    output = output.absolute()
    _check_replaceable(output, sources.protected)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        _fill(staging, sources)
        _normalize_modes(staging)
        _swap_into_place(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output


def shared_bundle(directory: Path) -> Path:
    """The running pycnb's buildpack as a builder holds it: packaged once into
    `directory/pycnb-<key of its source files>`, then shared by every build of every app.

    So the bytecode Python caches next to the modules the first time a build runs them serves
    every later build, and an unchanged pycnb is never packaged again. A bundle is never
    changed once in place (changed sources get a new name), so concurrent builds can share it;
    the bundles of older pycnb versions go once unused for `_UNUSED_BUNDLE_SECONDS`.
    """
    sources = buildpack_sources()
    bundle = directory / f"pycnb-{_sources_key(sources)}"
    try:
        os.utime(bundle)  # its last use, which `_remove_unused` goes by
    except FileNotFoundError:
        directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging.", dir=directory))
        try:
            _fill(staging, sources)
            _normalize_modes(staging)
            try:
                staging.rename(bundle)
            except OSError:
                if not bundle.is_dir():  # else another build put the same bundle in place
                    raise
            _remove_unused(directory, keep=bundle)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return bundle


def _sources_key(sources: BuildpackSources) -> str:
    """A digest of the state of every file a bundle is made from: path, inode, size, mtime and
    ctime. No write to a file leaves its ctime as it was, so changed sources get a new key, and
    unchanged ones are known without reading or copying them."""
    digest = hashlib.sha256()
    for root, _ in _bundle_parts(sources):
        for path in [root, *(_walk_sorted(root) if root.is_dir() else ())]:
            st = path.lstat()
            state = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)
            digest.update(f"{path}\0{state}\0".encode())
    return digest.hexdigest()[:16]


def _remove_unused(directory: Path, *, keep: Path) -> None:
    # Staging directories too: a build killed while packaging leaves its own.
    cutoff = time.time() - _UNUSED_BUNDLE_SECONDS
    for entry in directory.iterdir():
        if entry != keep and entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)


def write_tgz(bundle: Path, tgz: Path | None = None) -> Path:
    """Write `bundle` as a gzip tarball (files at the archive root, modes kept); returns its path.

    The default name is `<bundle>.tgz` next to the bundle. The bytes depend only on the files.
    """
    target = (tgz or bundle.with_name(f"{bundle.name}.tgz")).absolute()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for path in _walk_sorted(bundle):
                tar.add(
                    path,
                    arcname=path.relative_to(bundle).as_posix(),
                    recursive=False,
                    filter=_normalize_tarinfo,
                )
        tmp.chmod(0o644)  # mkstemp makes it 0600; the tarball is meant to be shared
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def package_tgz(output: Path, *, checkout: Path | None = None) -> Path:
    """Package into the directory `output`, then write `<output>.tgz` beside it; returns the tgz."""
    return write_tgz(package_buildpack(output, checkout=checkout))


def _check_replaceable(output: Path, root: Path) -> None:
    # Replacing deletes the old tree, so only an empty directory or an earlier bundle qualifies,
    # and never the sources (a checkout, an installed package) or a directory holding them.
    if not output.exists() and not output.is_symlink():
        return
    if (
        output.is_symlink()
        or not output.is_dir()
        or root.resolve().is_relative_to(output.resolve())
    ):
        raise OutputNotABuildpackError(output)
    earlier_bundle = (output / "buildpack.toml").is_file() and (output / "lib" / "pycnb").is_dir()
    if not earlier_bundle and any(output.iterdir()):
        raise OutputNotABuildpackError(output)


def _bundle_parts(sources: BuildpackSources) -> list[tuple[Path, str]]:
    """Every file or tree a bundle is made of, and where in the bundle it goes (the bundled
    distributions' licenses aside: they are found through their installed metadata)."""
    parts = [(sources.descriptor, "buildpack.toml"), (sources.bin_dir, "bin")]
    if sources.license is not None:
        parts.append((sources.license, "LICENSE"))
    parts += [(sources.package / part, f"lib/pycnb/{part}") for part in _PYCNB_PARTS]
    parts += [
        (_package_dir(distribution, package), f"lib/{package}")
        for distribution, package in BUNDLED_DISTRIBUTIONS.items()
    ]
    return parts


def _fill(staging: Path, sources: BuildpackSources) -> None:
    for source, relative in _bundle_parts(sources):
        target = staging / relative
        if source.is_dir():
            shutil.copytree(source, target, ignore=_IGNORED)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for distribution, package in BUNDLED_DISTRIBUTIONS.items():
        _check_and_license(distribution, package, staging / "lib")


def _package_dir(distribution: str, package: str) -> Path:
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if spec is None or spec.origin is None or len(locations) != 1:
        raise BundledDistributionError(distribution, f"package {package!r} is not installed")
    return Path(locations[0])


def _check_and_license(distribution: str, package: str, lib: Path) -> None:
    """Refuse a bundled distribution that is not pure Python; add its license files."""
    # Only packaging reads the installed metadata, and a build mostly finds its bundle made.
    import importlib.metadata  # noqa: PLC0415

    compiled = [p.name for p in (lib / package).rglob("*") if p.suffix in {".so", ".pyd", ".dylib"}]
    if compiled:
        raise BundledDistributionError(distribution, f"not pure Python ({', '.join(compiled)})")

    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise BundledDistributionError(distribution, "no installed metadata") from None
    licenses = [f for f in dist.files or () if _is_license_file(PurePosixPath(str(f)))]
    if not licenses:
        raise BundledDistributionError(distribution, "no license file in its installed metadata")
    license_dir = lib / f"{package}-LICENSES"
    for file in licenses:
        relative = _license_relative_path(PurePosixPath(str(file)))
        (license_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(str(file.locate())), license_dir / relative)


def _is_license_file(path: PurePosixPath) -> bool:
    # License files live in the .dist-info directory: under licenses/ (metadata 2.4) or at its top.
    if not path.parts or not path.parts[0].endswith(".dist-info"):
        return False
    return "licenses" in path.parts[1:-1] or bool(_LICENSE_NAME.match(path.name))


def _license_relative_path(path: PurePosixPath) -> PurePosixPath:
    parts = path.parts[1:]
    if parts and parts[0] == "licenses":
        parts = parts[1:]
    return PurePosixPath(*parts)


def _normalize_modes(bundle: Path) -> None:
    # Modes are set, not inherited from the working tree (a umask or a checkout can differ), so
    # every bundle is the same: directories and the lifecycle's entry points 0755, data 0644.
    for path in _walk_sorted(bundle):
        executable = path.is_dir() or (path.parent == bundle / "bin" and path.name in _EXECUTABLES)
        path.chmod(0o755 if executable else 0o644)
    bundle.chmod(0o755)


def _swap_into_place(staging: Path, output: Path) -> None:
    if not output.exists():
        staging.rename(output)
        return
    # Two renames leave a short window without `output`, but never a mixed or partial bundle.
    retired = Path(tempfile.mkdtemp(prefix=f".{output.name}.old.", dir=output.parent))
    retired.rmdir()
    output.rename(retired)
    try:
        staging.rename(output)
    except OSError:
        retired.rename(output)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _walk_sorted(top: Path) -> Iterator[Path]:
    """Every entry under `top`, sorted, except the `__pycache__` directories Python writes when
    it runs the bundle in place (never part of a bundle)."""
    for path in sorted(top.iterdir()):
        if path.name == "__pycache__":
            continue
        yield path
        if path.is_dir() and not path.is_symlink():
            yield from _walk_sorted(path)


def _normalize_tarinfo(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = _TAR_MTIME
    return info
