"""Safe extraction of a Python runtime archive (`python/...` inside a `.tar.gz`).

The buildpack may run on Debian's Python 3.11.2, whose `tarfile` predates extraction filters
(3.11.4, PEP 706), so every member is checked here before anything is written: the `data` filter
is added on top when the running `tarfile` has it, never relied on alone.
"""

from __future__ import annotations

import copy
import io
import os
import posixpath
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.errors import PythonError

__all__ = [
    "ArchiveError",
    "InvalidArchive",
    "UnsafeArchiveMember",
    "extract_python_archive",
]

TOP = "python"
# The one file every runtime archive must provide (as a file or a symlink).
_INTERPRETER = "bin/python3"
# Bits an archive may not set: setuid/setgid/sticky, and write access for group and others.
_DROPPED_BITS = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWGRP | stat.S_IWOTH
# A runtime unpacks to ~60-100 MiB; the archive is held in memory while it is extracted.
_MAX_UNPACKED = 1 << 30
_GZIP = 16 + zlib.MAX_WBITS  # zlib's wbits for gzip framing
# Symlink chains longer than this are treated as loops (Linux gives up at 40 too).
_MAX_LINK_HOPS = 40


class ArchiveError(PythonError):
    pass


@dataclass
class InvalidArchive(ArchiveError):
    archive: Path  # the archive file
    reason: str  # why it is not a usable runtime archive (not gzip, corrupt, no bin/python3)

    def __str__(self) -> str:
        return f"{self.archive}: {self.reason}"


@dataclass
class UnsafeArchiveMember(ArchiveError):
    archive: Path  # the archive file
    member: str  # the member's name as stored in the archive
    reason: str  # which rule it breaks

    def __str__(self) -> str:
        return f"{self.archive}: unsafe member {self.member!r}: {self.reason}"


def extract_python_archive(archive: Path, dest: Path) -> None:
    """Extract the contents of the archive's `python/` dir into `dest` (`dest/bin/python3`).

    Nothing is written unless every member passes the checks. A corrupt archive may still leave
    a partial `dest` behind: callers extract into a layer whose metadata is written last.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(_unpacked(archive)), mode="r:") as tar:
            members = _checked_members(archive, tar.getmembers())
            dest.mkdir(parents=True, exist_ok=True)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, members=members, filter="data")
            else:  # Python < 3.11.4, e.g. Debian 12
                tar.extractall(dest, members=members)  # noqa: S202 (members checked above)
    except (tarfile.TarError, EOFError, zlib.error) as error:
        # zlib.error: not gzip, or corrupt compressed data.
        raise InvalidArchive(archive, f"corrupt or not a .tar.gz: {error}") from None
    except OSError as error:
        if error.filename is not None:  # a real filesystem problem, not a bad archive
            raise
        raise InvalidArchive(archive, f"corrupt or not a .tar.gz: {error}") from None


def _unpacked(archive: Path) -> bytes:
    """The archive's tar stream, decompressed once, in memory: every member is checked before
    any is extracted, and reading a gzip stream a second time means decompressing it again
    (a third of a cold build's Python install). A runtime is ~60-100 MiB unpacked; anything
    past `_MAX_UNPACKED` is refused rather than held."""
    decompressor = zlib.decompressobj(wbits=_GZIP)
    chunks: list[bytes] = []
    size = 0
    with archive.open("rb") as compressed:
        pending = b""
        while block := pending or compressed.read(1 << 20):
            pending = b""
            while block:
                chunk = decompressor.decompress(block, _MAX_UNPACKED + 1 - size)
                size += len(chunk)
                if size > _MAX_UNPACKED:
                    raise InvalidArchive(archive, f"unpacks to more than {_MAX_UNPACKED >> 30} GiB")
                chunks.append(chunk)
                block = decompressor.unconsumed_tail
            # As gzip does: another member may follow, after zero padding.
            if decompressor.eof and (pending := decompressor.unused_data.lstrip(b"\0")):
                decompressor = zlib.decompressobj(wbits=_GZIP)
    if not decompressor.eof:
        raise InvalidArchive(archive, "corrupt or not a .tar.gz: the gzip stream is truncated")
    return b"".join(chunks)


def _checked_members(archive: Path, members: list[tarfile.TarInfo]) -> list[tarfile.TarInfo]:
    # Returns copies renamed relative to `python/`, with safe modes and no ownership.
    checked: dict[str, tarfile.TarInfo] = {}
    symlinks: dict[str, str] = {}
    for member in members:
        name = _relative_name(archive, member.name, is_dir=member.isdir())
        if name is None:
            continue  # the `python/` dir itself: `dest` plays its part
        if name in checked:
            raise UnsafeArchiveMember(archive, member.name, "appears more than once")
        if member.issym():
            symlinks[name] = member.linkname
        checked[name] = _sanitized(archive, member, name)
    for name, member in checked.items():
        _check_parents(archive, member, name, checked)
        if member.issym():
            _check_symlink(archive, member, name, symlinks)
        elif member.islnk():
            _check_hardlink(archive, member, checked)
    if _INTERPRETER not in checked:
        raise InvalidArchive(archive, f"no {TOP}/{_INTERPRETER} in the archive")
    return list(checked.values())


def _relative_name(
    archive: Path, stored: str, *, is_dir: bool, of: str | None = None
) -> str | None:
    # `stored` is a member name or a hardlink target; `of` names the member for errors.
    member = stored if of is None else of
    what = "path" if of is None else "hardlink target"
    name = stored.removeprefix("./")
    if name.startswith("/"):
        raise UnsafeArchiveMember(archive, member, f"absolute {what}")
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise UnsafeArchiveMember(archive, member, f"'..' in {what}")
    if parts[0] != TOP:
        raise UnsafeArchiveMember(archive, member, f"{what} outside the top-level {TOP}/ dir")
    rest = [part for part in parts[1:] if part not in {"", "."}]
    if not rest:
        if not is_dir:
            raise UnsafeArchiveMember(archive, member, f"{what} {TOP} is not a directory")
        return None
    return "/".join(rest)


def _sanitized(archive: Path, member: tarfile.TarInfo, name: str) -> tarfile.TarInfo:
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise UnsafeArchiveMember(archive, member.name, "device, fifo or other special file")
    clean = copy.copy(member)  # keeps the data offset, so tarfile can still extract it
    clean.name = name
    if member.islnk():
        target = _relative_name(archive, member.linkname, is_dir=False, of=member.name)
        clean.linkname = target or ""
    # The owner must always be able to read and delete what it extracted.
    owner_bits = stat.S_IRWXU if member.isdir() else stat.S_IRUSR | stat.S_IWUSR
    clean.mode = (member.mode & ~_DROPPED_BITS & 0o7777) | owner_bits
    # Never take ownership from the archive. tarfile without a filter chowns when run as root:
    # pointing it at our own ids makes that a no-op.
    clean.uid, clean.gid = os.getuid(), os.getgid()
    clean.uname = clean.gname = ""
    return clean


def _check_parents(
    archive: Path, member: tarfile.TarInfo, name: str, checked: dict[str, tarfile.TarInfo]
) -> None:
    # Writing through a symlinked dir would place files where the link points, which the
    # lexical checks below cannot see; runtime archives never need it.
    parent = posixpath.dirname(name)
    while parent:
        above = checked.get(parent)
        if above is not None and not above.isdir():
            raise UnsafeArchiveMember(archive, _original(member), f"inside non-directory {parent}")
        parent = posixpath.dirname(parent)


def _original(member: tarfile.TarInfo) -> str:
    return f"{TOP}/{member.name}"


def _check_symlink(
    archive: Path, member: tarfile.TarInfo, name: str, symlinks: dict[str, str]
) -> None:
    if member.linkname.startswith("/"):
        raise UnsafeArchiveMember(archive, _original(member), "absolute symlink target")
    target = posixpath.join(posixpath.dirname(name), member.linkname)
    if _resolve(target, symlinks) is None:
        raise UnsafeArchiveMember(
            archive, _original(member), f"symlink target {member.linkname!r} escapes the archive"
        )


def _resolve(path: str, symlinks: dict[str, str], hops: int = 0) -> str | None:
    # Resolve `path` (relative to dest) the way the kernel would, following the archive's own
    # symlinks; None when it leaves dest or loops. A purely lexical normpath is not enough:
    # with `a -> .`, `a/..` is dest's parent on disk but dest on paper.
    resolved: list[str] = []
    for part in path.split("/"):
        if part in {"", "."}:
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        here = "/".join([*resolved, part])
        target = symlinks.get(here)
        if target is None:
            resolved.append(part)
            continue
        if target.startswith("/") or hops >= _MAX_LINK_HOPS:
            return None
        inner = _resolve("/".join([*resolved, target]), symlinks, hops + 1)
        if inner is None:
            return None
        resolved = inner.split("/") if inner else []
    return "/".join(resolved)


def _check_hardlink(
    archive: Path, member: tarfile.TarInfo, checked: dict[str, tarfile.TarInfo]
) -> None:
    # Only a regular file extracted earlier may be the target: anything else could make
    # os.link reach outside dest (it follows symlinks) or fail half-way.
    target = checked.get(member.linkname)
    if target is None or not target.isreg():
        raise UnsafeArchiveMember(
            archive,
            _original(member),
            f"hardlink to {member.linkname!r}, not a file in the archive",
        )
    names = list(checked)
    if names.index(member.linkname) > names.index(member.name):
        raise UnsafeArchiveMember(
            archive, _original(member), f"hardlink to {member.linkname!r} before it exists"
        )
