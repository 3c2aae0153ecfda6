from __future__ import annotations

import gzip
import io
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from pycnb.buildpack.python import archive as archive_module
from pycnb.buildpack.python.archive import (
    InvalidArchive,
    UnsafeArchiveMember,
    extract_python_archive,
)


@dataclass(frozen=True)
class M:
    # One member of a test archive.
    name: str
    kind: bytes = tarfile.REGTYPE
    data: bytes = b""
    link: str = ""
    mode: int = 0o644


def _dir(name: str) -> M:
    return M(name, tarfile.DIRTYPE, mode=0o755)


def _sym(name: str, target: str) -> M:
    return M(name, tarfile.SYMTYPE, link=target, mode=0o777)


def _hard(name: str, target: str) -> M:
    return M(name, tarfile.LNKTYPE, link=target)


# The smallest valid runtime: python/bin/python3 (a symlink, as upstream ships it).
BASE = [
    _dir("python"),
    _dir("python/bin"),
    M("python/bin/python3.12", data=b"#!/bin/sh\necho hi\n", mode=0o755),
    _sym("python/bin/python3", "python3.12"),
]


def _tar_bytes(members: list[M]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type, info.linkname, info.mode = member.kind, member.link, member.mode
            info.uid = info.gid = 4242  # an owner we must not take over
            info.uname = info.gname = "mallory"
            info.size = len(member.data) if member.kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(member.data) if info.size else None)
    return buffer.getvalue()


def _archive(tmp_path: Path, members: list[M]) -> Path:
    path = tmp_path / "runtime.tar.gz"
    path.write_bytes(gzip.compress(_tar_bytes(members)))
    return path


@pytest.fixture(params=["with-filter", "without-filter"])
def dest(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Also run as on Python 3.11.2, whose tarfile has no extraction filters.
    if request.param == "without-filter":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    return tmp_path / "root" / "layer"


def test_extracts_contents_of_python_dir(tmp_path: Path, dest: Path) -> None:
    archive = _archive(
        tmp_path,
        [
            *BASE,
            _dir("python/lib"),
            M("python/lib/os.py", data=b"# os\n"),
            _hard("python/lib/os-copy.py", "python/lib/os.py"),
            _sym("python/lib/up", "../bin/python3"),
        ],
    )
    extract_python_archive(archive, dest)
    assert (dest / "bin" / "python3").resolve() == (dest / "bin" / "python3.12").resolve()
    assert (dest / "bin" / "python3").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert (dest / "lib" / "os-copy.py").read_bytes() == b"# os\n"
    assert (dest / "lib" / "up").readlink() == Path("../bin/python3")
    assert sorted(p.name for p in dest.parent.iterdir()) == ["layer"]  # nothing beside dest


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (0o4755, 0o755),  # setuid dropped
        (0o2755, 0o755),  # setgid dropped
        (0o1755, 0o755),  # sticky dropped
        (0o777, 0o755),  # group/other write dropped
        (0o444, 0o644),  # owner can always write (so the layer can be deleted)
        (0o600, 0o600),
    ],
)
def test_modes_are_sanitized(tmp_path: Path, dest: Path, mode: int, expected: int) -> None:
    archive = _archive(tmp_path, [*BASE, M("python/bin/tool", data=b"x", mode=mode)])
    extract_python_archive(archive, dest)
    info = (dest / "bin" / "tool").stat()
    assert stat.S_IMODE(info.st_mode) == expected


def test_ownership_is_not_taken_from_the_archive(tmp_path: Path, dest: Path) -> None:
    extract_python_archive(_archive(tmp_path, BASE), dest)
    assert (dest / "bin" / "python3.12").stat().st_uid != 4242


def test_dot_slash_names_are_accepted(tmp_path: Path, dest: Path) -> None:
    members = [M(f"./{m.name}", m.kind, m.data, m.link, m.mode) for m in BASE]
    extract_python_archive(_archive(tmp_path, members), dest)
    assert (dest / "bin" / "python3.12").is_file()


@pytest.mark.parametrize(
    ("members", "member", "reason"),
    [
        ([M("/python/evil")], "/python/evil", "absolute path"),
        ([M("python/../evil")], "python/../evil", "'..' in path"),
        ([M("python/bin/../../evil")], "python/bin/../../evil", "'..' in path"),
        ([M("other/evil")], "other/evil", "outside the top-level python/ dir"),
        ([M("evil")], "evil", "outside the top-level python/ dir"),
        ([_sym("python/lib", "/etc")], "python/lib", "absolute symlink target"),
        ([_sym("python/lib", "../../etc")], "python/lib", "escapes"),
        ([_sym("python/bin/x", "../../..")], "python/bin/x", "escapes"),
        # Lexically `a/..` is dest; on disk, with a -> ., it is dest's parent.
        ([_sym("python/a", "."), _sym("python/b", "a/..")], "python/b", "escapes"),
        ([_sym("python/a", "b"), _sym("python/b", "a")], "python/a", "escapes"),  # a loop
        ([_sym("python/d", "bin"), M("python/d/x")], "python/d/x", "inside non-directory"),
        ([_hard("python/h", "etc/passwd")], "python/h", "hardlink target outside"),
        ([_hard("python/h", "/etc/passwd")], "python/h", "absolute hardlink target"),
        ([_hard("python/h", "python/../x")], "python/h", "'..' in hardlink target"),
        ([_hard("python/h", "python/nope")], "python/h", "not a file in the archive"),
        ([_hard("python/h", "python/bin/python3")], "python/h", "not a file in the archive"),
        (
            [_hard("python/h", "python/late"), M("python/late")],
            "python/h",
            "before it exists",
        ),
        ([M("python/dev", tarfile.CHRTYPE)], "python/dev", "device, fifo"),
        ([M("python/blk", tarfile.BLKTYPE)], "python/blk", "device, fifo"),
        ([M("python/fifo", tarfile.FIFOTYPE)], "python/fifo", "device, fifo"),
        ([M("python/bin/python3.12")], "python/bin/python3.12", "more than once"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_unsafe_members_are_rejected_before_writing(
    tmp_path: Path, dest: Path, members: list[M], member: str, reason: str
) -> None:
    archive = _archive(tmp_path, [*BASE, *members])
    with pytest.raises(UnsafeArchiveMember) as caught:
        extract_python_archive(archive, dest)
    assert caught.value.archive == archive
    assert caught.value.member == member
    assert reason in caught.value.reason
    assert not dest.exists()
    assert not (tmp_path / "evil").exists()


def test_top_level_python_must_be_a_directory(tmp_path: Path, dest: Path) -> None:
    archive = _archive(tmp_path, [M("python", data=b"x")])
    with pytest.raises(UnsafeArchiveMember, match="not a directory"):
        extract_python_archive(archive, dest)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not an archive at all", "not a .tar.gz"),
        (_tar_bytes(BASE), "not a .tar.gz"),  # a tar, but not gzipped
        (gzip.compress(_tar_bytes(BASE))[:-200], "not a .tar.gz"),  # cut short
        (gzip.compress(_tar_bytes(BASE[:3])), "no python/bin/python3"),
        (gzip.compress(b""), "not a .tar.gz"),
    ],
    ids=["garbage", "plain-tar", "truncated", "no-interpreter", "empty"],
)
def test_invalid_archives(tmp_path: Path, dest: Path, content: bytes, reason: str) -> None:
    archive = tmp_path / "runtime.tar.gz"
    archive.write_bytes(content)
    with pytest.raises(InvalidArchive) as caught:
        extract_python_archive(archive, dest)
    assert caught.value.archive == archive
    assert reason in caught.value.reason


def test_gzip_members_and_zero_padding_are_read_as_gzip_reads_them(
    tmp_path: Path, dest: Path
) -> None:
    # The tar stream split over two gzip members, padded with zeros after each, as gzip allows.
    stream = _tar_bytes(BASE)
    half = len(stream) // 2
    archive = tmp_path / "runtime.tar.gz"
    archive.write_bytes(
        gzip.compress(stream[:half]) + b"\0" * 7 + gzip.compress(stream[half:]) + b"\0" * 3
    )
    extract_python_archive(archive, dest)
    assert (dest / "bin" / "python3.12").read_bytes() == b"#!/bin/sh\necho hi\n"


def test_an_archive_too_large_unpacked_is_refused_before_writing(
    tmp_path: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_module, "_MAX_UNPACKED", 4096)
    members = [*BASE, M("python/big", data=b"\0" * 100_000)]  # compresses to almost nothing
    with pytest.raises(InvalidArchive, match="unpacks to more than"):
        extract_python_archive(_archive(tmp_path, members), dest)
    assert not dest.exists()
