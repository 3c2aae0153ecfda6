"""A local content-addressed blob store: layer tarballs, configs, manifests and the run image's
blobs, each kept once under its sha256 digest in the user cache dir.

It is what makes an export after a small change cheap: a launch layer whose uncompressed tarball
(its diff_id) was seen before gets the same gzip blob back without compressing again, so its
digest is unchanged and a registry that has it is not sent it again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pycnb.user_cache import user_cache_dir

__all__ = ["Blob", "BlobStore", "HashingWriter", "default_blob_dir", "sha256_digest"]


def default_blob_dir(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CACHE_HOME/pycnb/blobs`, or `~/.cache/pycnb/blobs`."""
    return user_cache_dir(env) / "blobs"


def sha256_digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class HashingWriter:
    """A write-only stream that hashes and counts what passes through to `target`."""

    def __init__(self, target: Sink | None) -> None:
        self._target = target
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        if self._target is not None:
            self._target.write(data)
        return len(data)

    def flush(self) -> None:
        pass  # nothing is buffered here

    @property
    def digest(self) -> str:
        return f"sha256:{self._hash.hexdigest()}"


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        algorithm, _, hex_digest = digest.partition(":")
        return self.root / algorithm / hex_digest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put_bytes(self, data: bytes) -> Blob:
        digest = sha256_digest(data)
        if not self.has(digest):
            with self.writer() as (stream, _):
                stream.write(data)
        return Blob(digest, len(data))

    @contextmanager
    def writer(self) -> Iterator[tuple[HashingWriter, list[Blob]]]:
        """Write a blob; on leaving, it is stored under its digest, which is appended to the
        yielded list. Written to a temp file first, so a blob is never seen half written."""
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root / "tmp")
        tmp = Path(name)
        result: list[Blob] = []
        try:
            with os.fdopen(fd, "wb") as raw:
                stream = HashingWriter(raw)
                yield stream, result
            blob = Blob(stream.digest, stream.size)
            target = self.path(blob.digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.chmod(0o644)
            tmp.replace(target)
            result.append(blob)
        finally:
            tmp.unlink(missing_ok=True)

    # diff_id (sha256 of an uncompressed layer tarball) -> digest of its gzip blob.
    def compressed_for(self, diff_id: str) -> Blob | None:
        record = self.root / "diffids" / diff_id.partition(":")[2]
        try:
            digest, size = record.read_text(encoding="ascii").split()
        except (FileNotFoundError, ValueError):
            return None
        return Blob(digest, int(size)) if self.has(digest) else None

    def remember_compressed(self, diff_id: str, blob: Blob) -> None:
        record = self.root / "diffids" / diff_id.partition(":")[2]
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_suffix(".tmp")
        tmp.write_text(f"{blob.digest} {blob.size}\n", encoding="ascii")
        tmp.replace(record)
