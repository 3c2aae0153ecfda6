"""Downloads with a checksum and retries: the only way runtime archives reach the disk.

A download streams into a temp file beside `dest` and is hashed on the way. It is moved into
place (`os.replace`, atomic on one filesystem) only once the sha256 matches, so `dest` never holds
a partial or unverified file, whatever kills the build.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, TypeVar

from pycnb.buildpack.errors import PythonError

__all__ = [
    "ALLOWED_SCHEMES",
    "AttemptFailed",
    "ChecksumMismatch",
    "DownloadError",
    "DownloadFailed",
    "RetriesFailed",
    "UrlOpener",
    "download",
    "read_url",
    "redact_url",
    "with_retries",
]

ALLOWED_SCHEMES = frozenset({"https", "http", "file"})

# Read in 1 MiB chunks: large enough to keep the loop cheap, small enough to hash as we go.
_CHUNK = 1 << 20
# Delay before the 2nd attempt; it doubles after each failure (1 s, 2 s, 4 s...).
_FIRST_DELAY = 1.0
_SHA256 = re.compile(r"[0-9a-f]{64}")

T = TypeVar("T")


class UrlOpener(Protocol):
    # The subset of `urllib.request.urlopen` used here, so tests can pass a fake.
    def __call__(self, url: urllib.request.Request, *, timeout: float) -> IO[bytes]: ...


class DownloadError(PythonError):
    pass


@dataclass
class AttemptFailed(Exception):  # internal: the retry loop turns it into RetriesFailed
    reason: str  # what went wrong in this one attempt, e.g. "HTTP 503" or "timed out"
    transient: bool  # True when another attempt may succeed (network error, 5xx, 429, short body)

    def __str__(self) -> str:
        return self.reason


@dataclass
class RetriesFailed(Exception):  # internal: callers report it as DownloadFailed etc.
    reason: str  # the failure of the last attempt
    attempts: int  # how many attempts were made before giving up

    def __str__(self) -> str:
        return f"{self.reason} (after {self.attempts} attempts)"


@dataclass
class DownloadFailed(DownloadError):
    url: str  # the URL, with any user:password redacted
    reason: str  # the failure of the last attempt
    attempts: int  # attempts made; 0 when the URL was refused before trying

    def __str__(self) -> str:
        return f"download of {self.url} failed after {self.attempts} attempts: {self.reason}"


@dataclass
class ChecksumMismatch(DownloadError):
    url: str  # the URL, with any user:password redacted
    expected: str  # sha256 the manifest promised
    actual: str  # sha256 of the bytes received

    def __str__(self) -> str:
        return f"sha256 mismatch for {self.url}: expected {self.expected}, got {self.actual}"


def redact_url(url: str) -> str:
    # Credentials in a mirror URL must never reach a build log.
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}"))


def with_retries(
    operation: Callable[[], T],
    *,
    attempts: int,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `operation` up to `attempts` times, backing off 1 s, 2 s, 4 s... between tries.

    Only an `AttemptFailed` with `transient=True` earns another try. Both exhaustion and a
    permanent `AttemptFailed` become `RetriesFailed`; any other exception passes through at once.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    delay = _FIRST_DELAY
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except AttemptFailed as failure:
            if not failure.transient or attempt == attempts:
                raise RetriesFailed(failure.reason, attempt) from None
        sleep(delay)
        delay *= 2
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _request(url: str) -> urllib.request.Request:
    # urllib cannot take credentials from the URL itself: move them into a Basic auth header.
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return urllib.request.Request(url)  # noqa: S310 (scheme checked by _check_scheme)
    userinfo, _, host = parts.netloc.rpartition("@")
    token = base64.b64encode(urllib.parse.unquote(userinfo).encode()).decode("ascii")
    plain = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return urllib.request.Request(plain, headers={"Authorization": f"Basic {token}"})  # noqa: S310


def _classify(error: BaseException, url: str) -> AttemptFailed:
    # Decide whether a failure is worth another attempt. A missing file, a refused request
    # (4xx) or a broken URL fail the same way again; a network hiccup or busy server may not.
    if isinstance(error, urllib.error.HTTPError):
        transient = error.code == 429 or error.code >= 500  # noqa: PLR2004 (HTTP status codes)
        return AttemptFailed(f"HTTP {error.code} {error.reason}", transient)
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        permanent = isinstance(reason, FileNotFoundError | PermissionError | IsADirectoryError)
        return AttemptFailed(_redact_text(str(reason), url), not permanent)
    if isinstance(error, TimeoutError):
        return AttemptFailed("timed out", transient=True)
    return AttemptFailed(_redact_text(f"{type(error).__name__}: {error}", url), transient=True)


def _redact_text(text: str, url: str) -> str:
    return text.replace(url, redact_url(url))


def _check_scheme(url: str) -> None:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ALLOWED_SCHEMES:
        raise AttemptFailed(f"unsupported URL scheme {scheme!r}", transient=False)


def _stream(
    url: str, sink: Callable[[bytes], object], *, timeout: float, urlopen: UrlOpener
) -> None:
    # One attempt: open, read everything into `sink`, and check the body was complete.
    try:
        with urlopen(_request(url), timeout=timeout) as response:
            expected = _content_length(response)
            received = 0
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                sink(chunk)
    except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
        raise _classify(error, url) from None
    if expected is not None and received != expected:
        raise AttemptFailed(f"truncated body: got {received} of {expected} bytes", transient=True)


def _content_length(response: IO[bytes]) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    return int(value) if value is not None and value.isdigit() else None


def read_url(url: str, *, timeout: float, urlopen: UrlOpener = urllib.request.urlopen) -> bytes:
    """One attempt at reading a whole (small) resource; raises AttemptFailed."""
    _check_scheme(url)
    chunks: list[bytes] = []
    _stream(url, chunks.append, timeout=timeout, urlopen=urlopen)
    return b"".join(chunks)


def download(
    url: str,
    dest: Path,
    *,
    sha256: str,
    attempts: int = 4,
    timeout: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    urlopen: UrlOpener = urllib.request.urlopen,
) -> None:
    """Fetch `url` into `dest`, which appears only if its sha256 matches."""
    if _SHA256.fullmatch(sha256) is None:
        raise ValueError(f"sha256 must be 64 lowercase hex digits, got {sha256!r}")
    try:
        _check_scheme(url)
    except AttemptFailed as refused:
        raise DownloadFailed(redact_url(url), refused.reason, 0) from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:

            def attempt() -> str:
                # Each attempt starts from an empty file and a fresh hash.
                out.seek(0)
                out.truncate()
                digest = hashlib.sha256()

                def sink(chunk: bytes) -> None:
                    digest.update(chunk)
                    try:
                        out.write(chunk)
                    except OSError as error:  # a full disk is not a network hiccup
                        raise AttemptFailed(
                            f"cannot write {temp}: {error}", transient=False
                        ) from None

                _stream(url, sink, timeout=timeout, urlopen=urlopen)
                return digest.hexdigest()

            try:
                actual = with_retries(attempt, attempts=attempts, sleep=sleep)
            except RetriesFailed as failed:
                raise DownloadFailed(redact_url(url), failed.reason, failed.attempts) from None
        if actual != sha256:
            raise ChecksumMismatch(redact_url(url), sha256, actual)
        temp.replace(dest)  # atomic: dest is absent or complete, never partial
    finally:
        temp.unlink(missing_ok=True)
