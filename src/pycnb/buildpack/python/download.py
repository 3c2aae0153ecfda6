"""Downloads with a checksum and retries: the only way runtime archives reach the disk.

A download streams into a temp file beside `dest` and is hashed on the way. It is moved into
place (`os.replace`, atomic on one filesystem) only once the sha256 matches, so `dest` never holds
a partial or unverified file, whatever kills the build.

Time is bounded twice. Each read waits at most `timeout` seconds for a byte (a server gone
silent fails the attempt), and a `Deadline` bounds the whole download, retries included:
`_BASE_SECONDS` plus the size over `_MIN_RATE` once the server says the size, so a server that
trickles a byte every few seconds, or never answers at all, fails the build in a time that
depends on the file, not on the server's patience. Long downloads print their progress.
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, TypeVar

from pycnb.buildpack.errors import PythonError

__all__ = [
    "ALLOWED_SCHEMES",
    "AttemptFailed",
    "ChecksumMismatch",
    "Deadline",
    "DownloadError",
    "DownloadFailed",
    "RetriesFailed",
    "UrlOpener",
    "attempt_failure",
    "authorized_request",
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
# The whole download, retries included, gets _BASE_SECONDS plus a second per _MIN_RATE bytes:
# 30 MB (a runtime) may take 8 minutes on a 64 KiB/s line, a small manifest half a minute.
_BASE_SECONDS = 30.0
_MIN_RATE = 64 * 1024
# A read that waits this long for a byte fails the attempt.
_STALL_SECONDS = 10.0
# Progress lines, at most this often, and only for downloads that take longer.
_PROGRESS_EVERY = 5.0
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


class Deadline:
    """When a whole download must be over, retries included; it grows with the size once the
    server tells it (`expect`)."""

    def __init__(
        self,
        base: float = _BASE_SECONDS,
        min_rate: float = _MIN_RATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._started = clock()
        self._base = base
        self._min_rate = min_rate
        self._budget = base

    def expect(self, size: int) -> None:
        self._budget = max(self._budget, self._base + size / self._min_rate)

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    @property
    def remaining(self) -> float:
        return self._budget - self.elapsed

    def check(self, received: int, expected: int | None) -> None:
        """Raise a final AttemptFailed once the time is up."""
        if self.remaining > 0:
            return
        if received == 0 and expected is None:
            raise AttemptFailed(
                f"no answer from the server within the {self._budget:.0f} s allowed",
                transient=False,
            )
        of = f" of {expected}" if expected is not None else ""
        raise AttemptFailed(
            f"too slow: {received}{of} bytes received when the time allowed for this download "
            f"({self._budget:.0f} s) ran out",
            transient=False,
        )


def _mib(size: float) -> str:
    return f"{size / (1 << 20):.1f} MiB"


class _Progress:
    """A line every _PROGRESS_EVERY seconds while a download runs (none for quick ones)."""

    def __init__(self, report: Callable[[str], None] | None, deadline: Deadline) -> None:
        self._report = report
        self._deadline = deadline
        self._next = _PROGRESS_EVERY

    def update(self, received: int, expected: int | None) -> None:
        elapsed = self._deadline.elapsed
        if self._report is None or elapsed < self._next:
            return
        self._next = elapsed + _PROGRESS_EVERY
        if expected:
            share = f"{_mib(received)} of {_mib(expected)} ({100 * received // expected}%)"
        else:
            share = _mib(received)
        self._report(f"Downloaded {share} in {elapsed:.0f} s")


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


def authorized_request(
    url: str, headers: Mapping[str, str] | None = None
) -> urllib.request.Request:
    """A request for an http(s) `url`. urllib cannot take credentials from the URL itself, so
    they move into a Basic auth header."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 - http(s): callers check
    userinfo, _, host = parts.netloc.rpartition("@")
    token = base64.b64encode(urllib.parse.unquote(userinfo).encode()).decode("ascii")
    plain = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return urllib.request.Request(  # noqa: S310 - http(s): callers check
        plain, headers={**(headers or {}), "Authorization": f"Basic {token}"}
    )


def attempt_failure(error: BaseException, url: str) -> AttemptFailed:
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
    url: str,
    sink: Callable[[bytes], object],
    *,
    timeout: float,
    urlopen: UrlOpener,
    deadline: Deadline | None = None,
    progress: Callable[[str], None] | None = None,
) -> None:
    # One attempt: open, read everything into `sink`, and check the body was complete.
    deadline = Deadline() if deadline is None else deadline
    deadline.check(0, None)
    shown = _Progress(progress, deadline)
    try:
        with urlopen(authorized_request(url), timeout=min(timeout, deadline.remaining)) as response:
            expected = _content_length(response)
            if expected is not None:
                deadline.expect(expected)
            # read1 returns what has arrived: read(n) would wait for all n bytes, and a trickle
            # could keep it from ever returning to check the deadline.
            read = getattr(response, "read1", None) or response.read
            received = 0
            while chunk := read(_CHUNK):
                received += len(chunk)
                sink(chunk)
                shown.update(received, expected)
                deadline.check(received, expected)
    except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
        raise attempt_failure(error, url) from None
    if expected is not None and received != expected:
        raise AttemptFailed(f"truncated body: got {received} of {expected} bytes", transient=True)


def _content_length(response: IO[bytes]) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    return int(value) if value is not None and value.isdigit() else None


def read_url(
    url: str,
    *,
    timeout: float,
    urlopen: UrlOpener = urllib.request.urlopen,
    deadline: Deadline | None = None,
) -> bytes:
    """One attempt at reading a whole (small) resource; raises AttemptFailed. Give every
    attempt the same `deadline` to bound them all together."""
    _check_scheme(url)
    chunks: list[bytes] = []
    _stream(url, chunks.append, timeout=timeout, urlopen=urlopen, deadline=deadline)
    return b"".join(chunks)


def download(
    url: str,
    dest: Path,
    *,
    sha256: str,
    attempts: int = 4,
    timeout: float = _STALL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    urlopen: UrlOpener = urllib.request.urlopen,
    deadline: Deadline | None = None,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Fetch `url` into `dest`, which appears only if its sha256 matches. `timeout` bounds each
    wait for a byte, `deadline` (default: by size, see above) the whole download; `progress`
    gets a line now and then while a long download runs."""
    deadline = Deadline() if deadline is None else deadline
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

                _stream(
                    url,
                    sink,
                    timeout=timeout,
                    urlopen=urlopen,
                    deadline=deadline,
                    progress=progress,
                )
                return digest.hexdigest()

            try:
                actual = with_retries(attempt, attempts=attempts, sleep=sleep)
            except RetriesFailed as failed:
                reason = f"{failed.reason}; gave up after {deadline.elapsed:.1f} s"
                raise DownloadFailed(redact_url(url), reason, failed.attempts) from None
        if actual != sha256:
            raise ChecksumMismatch(redact_url(url), sha256, actual)
        temp.replace(dest)  # atomic: dest is absent or complete, never partial
    finally:
        temp.unlink(missing_ok=True)
