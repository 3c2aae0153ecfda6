"""Moving a build from the platform root to the image's standard paths.

The lifecycle builds in a container at `/layers` and `/workspace`, so the paths a build embeds
(venv shebangs, `pyvenv.cfg`, `.pth` files, env files, `.pyc` files) are already the image's.
The local platform builds at `<root>/layers` and `<root>/workspace` instead (no container, no
root), so the exporter maps those prefixes to `/layers` and `/workspace`. Without this the
image would depend on the root it was built in: not reproducible, and the paths of one machine.

What is rewritten:
- text files (no NUL byte): every occurrence of a prefix;
- symlink targets;
- `.pyc` files: the strings of the marshalled code that *start* with a prefix (`co_filename`).
  Python replaces `co_filename` with the real path on import anyway, but the bytes decide the
  layer digest. The string keeps its marshal type (and ref flag) and gets the shortest length
  form, so two roots of different lengths give the same bytes. Hash-based `.pyc` files (all the
  buildpack writes) stay valid: their check is the source's hash, not its path.

- `*.dist-info/RECORD`: the hash and size of each listed file that was rewritten (pip's console
  scripts carry the venv's path in their shebang), so the RECORD matches the image's files and
  does not carry the length of the build root.

Other binary files that embed a prefix cannot be rewritten safely (a length would change). They
are reported, so the exporter can warn that those files may not work in the image.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Relocation"]

# Marshal type codes of str objects (Python/marshal.c), without the FLAG_REF bit.
_SHORT_ASCII = frozenset(b"zZ")  # 1-byte length
_LONG_STR = frozenset(b"aAut")  # 4-byte little-endian length
_TO_SHORT = {ord("a"): ord("z"), ord("A"): ord("Z")}
_FLAG_REF = 0x80
_SHORT_HEADER = 2  # type byte + 1-byte length
_LONG_HEADER = 5  # type byte + 4-byte length
_PYC_HEADER = 16  # magic, flags, and mtime+size or the source hash (PEP 552)


@dataclass(frozen=True)
class Relocation:
    """Prefix pairs (build path, image path), the longest first so nested ones map right."""

    pairs: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, str]]) -> Relocation:
        encoded = {(old.encode(), new.encode()) for old, new in pairs if old != new}
        return cls(tuple(sorted(encoded, key=lambda pair: -len(pair[0]))))

    def path(self, text: str) -> str:
        """A path (a symlink target): the first matching prefix replaced."""
        raw = text.encode(errors="surrogateescape")
        for old, new in self.pairs:
            if raw == old or raw.startswith(old + b"/"):
                return (new + raw[len(old) :]).decode(errors="surrogateescape")
        return text

    def contents(self, name: str, data: bytes) -> tuple[bytes, bool]:
        """The file's bytes for the image, and whether a prefix stayed in them (a binary file
        that could not be rewritten)."""
        if not any(old in data for old, _ in self.pairs):
            return data, False
        if name.endswith(".pyc") and len(data) > _PYC_HEADER:
            body = self._marshal(data[_PYC_HEADER:])
            return data[:_PYC_HEADER] + body, any(old in body for old, _ in self.pairs)
        if b"\0" in data:
            return data, True
        for old, new in self.pairs:
            data = data.replace(old, new)
        return data, False

    def record(self, data: bytes, directory: Path) -> bytes:
        """A wheel RECORD (`directory` holds it, paths are relative to its parent's parent)
        with the hash and size of every rewritten file recomputed."""
        site = directory.parent
        out = []
        for line in data.decode(errors="surrogateescape").splitlines(keepends=True):
            rows = list(csv.reader([line]))
            if not rows or len(rows[0]) != 3 or not rows[0][1].startswith("sha256="):  # noqa: PLR2004
                out.append(line)
                continue
            path, _, _ = rows[0]
            try:
                original = (site / path).read_bytes()
            except OSError:
                out.append(line)
                continue
            moved, _ = self.contents(path, original)
            if moved == original:
                out.append(line)
                continue
            digest = base64.urlsafe_b64encode(hashlib.sha256(moved).digest()).rstrip(b"=")
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(
                [path, f"sha256={digest.decode()}", str(len(moved))]
            )
            out.append(buffer.getvalue())
        return "".join(out).encode(errors="surrogateescape")

    def _marshal(self, body: bytes) -> bytes:
        out = bytearray()
        done = 0  # body[:done] is copied to out
        position = 0
        while True:
            found = self._next(body, position)
            if found is None:
                break
            start, old, new = found
            header = _string_header(body, start, len(old))
            if header is None:
                position = start + 1
                continue
            type_byte, header_start, length = header
            text = body[start : start + length].replace(old, new)
            out += body[done:header_start]
            out += _string_bytes(type_byte, text)
            done = position = start + length
        out += body[done:]
        return bytes(out)

    def _next(self, body: bytes, position: int) -> tuple[int, bytes, bytes] | None:
        best: tuple[int, bytes, bytes] | None = None
        for old, new in self.pairs:
            index = body.find(old, position)
            if index >= 0 and (best is None or index < best[0]):
                best = (index, old, new)
        return best


def _string_header(body: bytes, start: int, minimum: int) -> tuple[int, int, int] | None:
    """(type byte, where the header starts, string length) of a marshalled str that begins at
    `start`, or None when the bytes before `start` are not such a header."""
    if start >= _SHORT_HEADER and body[start - _SHORT_HEADER] & ~_FLAG_REF in _SHORT_ASCII:
        length = body[start - 1]
        if minimum <= length and start + length <= len(body):
            return body[start - _SHORT_HEADER], start - _SHORT_HEADER, length
    if start >= _LONG_HEADER and body[start - _LONG_HEADER] & ~_FLAG_REF in _LONG_STR:
        length = int.from_bytes(body[start - 4 : start], "little")
        if minimum <= length and start + length <= len(body):
            return body[start - _LONG_HEADER], start - _LONG_HEADER, length
    return None


def _string_bytes(type_byte: int, text: bytes) -> bytes:
    flag, kind = type_byte & _FLAG_REF, type_byte & ~_FLAG_REF
    if kind in _TO_SHORT:
        kind = _TO_SHORT[kind]
    if kind in _SHORT_ASCII:
        if len(text) < 256:  # noqa: PLR2004 - the 1-byte length's limit
            return bytes([kind | flag, len(text)]) + text
        kind = ord("a") if kind == ord("z") else ord("A")
    return bytes([kind | flag]) + len(text).to_bytes(4, "little") + text
