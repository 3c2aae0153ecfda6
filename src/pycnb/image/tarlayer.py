"""Reproducible layer tarballs, as the lifecycle writes them (`archive/writer.go`).

- entries in walk order (each directory's entries sorted by name, a directory before its
  contents), with the parent directories of every path;
- every mtime 1980-01-01T00:00:01Z, owner names blank, uid/gid given per entry (the image's
  user for what the app owns, root for the launcher);
- hard links stored as independent files (a layer must not depend on inode identity), sockets,
  FIFOs and devices left out;
- contents and symlink targets moved from the platform root to the image paths (`relocate.py`).

`write_layer` streams the tar into any writable object, so one pass can hash it (the diff_id)
and another gzip it into the blob store (`layer_blob`) only when the blob is not there yet.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from pycnb.image.blobs import Blob, BlobStore, HashingWriter
from pycnb.image.errors import LayerChanged
from pycnb.image.relocate import Relocation

__all__ = [
    "NORMALIZED_MTIME",
    "Dir",
    "File",
    "LayerBlob",
    "Owner",
    "Symlink",
    "Tree",
    "layer_blob",
    "write_layer",
]

# 1980-01-01T00:00:01Z, the lifecycle's constant (rule 53).
NORMALIZED_MTIME = 315532801
# Fixed, so the same tarball always gives the same blob; 6 is zlib's default trade-off.
_GZIP_LEVEL = 6
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


ROOT = Owner(0, 0)


@dataclass(frozen=True)
class Dir:
    path: PurePosixPath  # in the image, absolute
    owner: Owner = ROOT
    mode: int = 0o755


@dataclass(frozen=True)
class File:
    path: PurePosixPath
    data: bytes
    owner: Owner = ROOT
    mode: int = 0o644


@dataclass(frozen=True)
class Symlink:
    path: PurePosixPath
    target: str
    owner: Owner = ROOT


@dataclass(frozen=True)
class Tree:
    """A host directory, placed at `path` in the image with everything under it; or, with
    `only`, just those files (relative POSIX paths) and their parent directories; `exclude`
    leaves files out (an app's slices)."""

    host: Path
    path: PurePosixPath
    owner: Owner
    only: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()


Entry = Dir | File | Symlink | Tree


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


@dataclass
class _Item:
    key: tuple[bytes, ...]
    info: tarfile.TarInfo
    host: Path | None = None  # a regular file's contents, read when written
    data: bytes | None = None


@dataclass
class WriteReport:
    unrelocated: list[str] = field(default_factory=list)  # binary files that embed a root path


def write_layer(
    target: _Writable,
    entries: Sequence[Entry],
    relocation: Relocation,
    report: WriteReport | None = None,
) -> None:
    items: dict[tuple[bytes, ...], _Item] = {}
    for entry in entries:
        for item in _items(entry, relocation):
            items[item.key] = item
    for item in list(items.values()):  # the parents of every entry, as directories
        for depth in range(1, len(item.key)):
            parent = item.key[:depth]
            if parent not in items:
                owner = Owner(item.info.uid, item.info.gid)
                path = PurePosixPath("/" + b"/".join(parent).decode(errors="surrogateescape"))
                items[parent] = next(_items(Dir(path, owner), relocation))
    with tarfile.open(fileobj=target, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for key in sorted(items):
            item = items[key]
            if item.info.isreg():
                data = _contents(item, relocation, report)
                item.info.size = len(data)
                tar.addfile(item.info, io.BytesIO(data))
            else:
                tar.addfile(item.info)


def _contents(item: _Item, relocation: Relocation, report: WriteReport | None) -> bytes:
    if item.host is None:
        return item.data or b""
    data = item.host.read_bytes()
    if item.info.name.endswith(".dist-info/RECORD"):
        return relocation.record(data, item.host.parent)
    data, stuck = relocation.contents(item.info.name, data)
    if stuck and report is not None:
        report.unrelocated.append("/" + item.info.name)
    return data


def _info(path: PurePosixPath, kind: bytes, mode: int, owner: Owner) -> tarfile.TarInfo:
    info = tarfile.TarInfo(str(path).lstrip("/"))
    info.type = kind
    info.mode = mode & 0o7777
    info.uid, info.gid = owner.uid, owner.gid
    info.uname = info.gname = ""
    info.mtime = NORMALIZED_MTIME
    return info


def _key(path: PurePosixPath) -> tuple[bytes, ...]:
    return tuple(os.fsencode(part) for part in path.parts[1:])


def _items(entry: Entry, relocation: Relocation) -> Iterator[_Item]:
    match entry:
        case Dir(path=path, owner=owner, mode=mode):
            yield _Item(_key(path), _info(path, tarfile.DIRTYPE, mode, owner))
        case File(path=path, data=data, owner=owner, mode=mode):
            yield _Item(_key(path), _info(path, tarfile.REGTYPE, mode, owner), data=data)
        case Symlink(path=path, target=link, owner=owner):
            info = _info(path, tarfile.SYMTYPE, 0o777, owner)
            info.linkname = link
            yield _Item(_key(path), info)
        case Tree():
            yield from _tree(entry, relocation)


def _tree(tree: Tree, relocation: Relocation) -> Iterator[_Item]:
    host, path, owner = tree.host, tree.path, tree.owner
    st = host.lstat()
    yield _Item(_key(path), _info(path, tarfile.DIRTYPE, st.st_mode, owner))
    for directory, dirnames, filenames in os.walk(host):
        relative = PurePosixPath(Path(directory).relative_to(host).as_posix())
        base = path / relative
        for name in (*dirnames, *filenames):
            source = Path(directory) / name
            st = source.lstat()
            image_path = base / name
            if not stat.S_ISDIR(st.st_mode) and not _wanted(tree, str(relative / name)):
                continue
            if stat.S_ISDIR(st.st_mode):
                if tree.only is not None:
                    continue  # only the parents of the chosen files, added by write_layer
                yield _Item(_key(image_path), _info(image_path, tarfile.DIRTYPE, st.st_mode, owner))
            elif stat.S_ISREG(st.st_mode):
                info = _info(image_path, tarfile.REGTYPE, st.st_mode, owner)
                yield _Item(_key(image_path), info, host=source)
            elif stat.S_ISLNK(st.st_mode):
                info = _info(image_path, tarfile.SYMTYPE, 0o777, owner)
                info.linkname = relocation.path(str(source.readlink()))
                yield _Item(_key(image_path), info)
            # Sockets, FIFOs and devices have no place in an image layer (as the lifecycle).


def _path_of(entry: Entry) -> PurePosixPath:
    return entry.path


def _wanted(tree: Tree, relative: str) -> bool:
    relative = relative.removeprefix("./")
    if relative in tree.exclude:
        return False
    return tree.only is None or relative in tree.only


@dataclass(frozen=True)
class LayerBlob:
    diff_id: str  # sha256 of the uncompressed tarball
    blob: Blob  # the gzip blob in the store
    unrelocated: tuple[str, ...] = ()


def layer_blob(
    store: BlobStore,
    entries: Sequence[Entry],
    relocation: Relocation,
    *,
    on_compress: Callable[[], None] | None = None,
) -> LayerBlob:
    """The layer's gzip blob in `store`: compressed only when no blob of the same tarball is
    there yet (the tarball is hashed first, which costs a read of the files but no zlib)."""
    report = WriteReport()
    hasher = HashingWriter(None)
    write_layer(hasher, entries, relocation, report)
    known = store.compressed_for(hasher.digest)
    if known is not None:
        return LayerBlob(hasher.digest, known, tuple(report.unrelocated))
    if on_compress is not None:
        on_compress()
    # No file name and mtime 0 in the gzip header: the blob depends on the tarball alone.
    with (
        store.writer() as (out, written),
        gzip.GzipFile(
            filename="",
            mode="wb",
            fileobj=out,  # only write() is used
            mtime=0,
            compresslevel=_GZIP_LEVEL,
        ) as gz,
    ):
        check = HashingWriter(gz)
        write_layer(check, entries, relocation)
    blob = written[0]
    if check.digest != hasher.digest:  # a file changed between the passes
        raise LayerChanged(", ".join(str(_path_of(entry)) for entry in entries))
    store.remember_compressed(hasher.digest, blob)
    return LayerBlob(hasher.digest, blob, tuple(report.unrelocated))


def gunzip_to(source: Path, target: BinaryIO) -> None:
    """Copy a gzip blob's uncompressed bytes (a docker-archive holds plain tarballs)."""
    with gzip.open(source, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            target.write(chunk)
