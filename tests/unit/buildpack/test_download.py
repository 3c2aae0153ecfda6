from __future__ import annotations

import base64
import hashlib
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pycnb.buildpack.python.download import (
    AttemptFailed,
    ChecksumMismatch,
    DownloadFailed,
    RetriesFailed,
    download,
    read_url,
    redact_url,
    with_retries,
)

BODY = b"python runtime bytes " * 5000
BODY_SHA = hashlib.sha256(BODY).hexdigest()
AUTH = "Basic " + base64.b64encode(b"user:s3cret").decode()


@dataclass
class Server:
    base: str
    hits: dict[str, int] = field(default_factory=dict)


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: dict[str, int]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep pytest output clean

    def _send(self, status: int, body: bytes = b"", length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        count = self.hits[self.path] = self.hits.get(self.path, 0) + 1
        match self.path:
            case "/file.bin":
                self._send(200, BODY)
            case "/flaky-500":
                self._send(500) if count == 1 else self._send(200, BODY)
            case "/flaky-429":
                self._send(429) if count == 1 else self._send(200, BODY)
            case "/always-503":
                self._send(503)
            case "/truncated":
                self._send(200, BODY[:100], length=len(BODY))
                self.close_connection = True
            case "/slow":
                time.sleep(0.5)
                self._send(200, BODY)
            case "/auth":
                ok = self.headers.get("Authorization") == AUTH
                self._send(200, BODY) if ok else self._send(401)
            case _:
                self._send(404)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    hits: dict[str, int] = {}
    handler = type("Handler", (_Handler,), {"hits": hits})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", hits)
    finally:
        httpd.shutdown()
        httpd.server_close()


def _no_sleep(seconds: float) -> None:
    pytest.fail(f"unexpected retry after {seconds} s")


@pytest.fixture
def sleeps() -> list[float]:
    return []


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize(
    ("path", "expected_sleeps"),
    [("/file.bin", []), ("/flaky-500", [1.0]), ("/flaky-429", [1.0])],
    ids=["ok", "500-then-200", "429-then-200"],
)
def test_http_download_succeeds(
    server: Server, tmp_path: Path, sleeps: list[float], path: str, expected_sleeps: list[float]
) -> None:
    dest = tmp_path / "out" / "runtime.tar.gz"
    download(f"{server.base}{path}", dest, sha256=BODY_SHA, sleep=sleeps.append)
    assert dest.read_bytes() == BODY
    assert sleeps == expected_sleeps
    assert _leftovers(dest.parent) == []


@dataclass(frozen=True)
class Failure:
    path: str
    attempts: int  # allowed
    made: int  # expected to be made
    reason: str
    sleeps: list[float]


@pytest.mark.parametrize(
    "case",
    [
        Failure("/missing", 4, 1, "HTTP 404", []),
        Failure("/auth", 4, 1, "HTTP 401", []),
        Failure("/always-503", 4, 4, "HTTP 503", [1.0, 2.0, 4.0]),
        Failure("/truncated", 3, 3, f"truncated body: got 100 of {len(BODY)} bytes", [1.0, 2.0]),
    ],
    ids=["404-not-retried", "401-not-retried", "503-retried-with-backoff", "truncated-body"],
)
def test_http_download_fails(
    server: Server, tmp_path: Path, sleeps: list[float], case: Failure
) -> None:
    dest = tmp_path / "runtime.tar.gz"
    dest.write_bytes(b"previous good file")
    url = f"{server.base}{case.path}"
    with pytest.raises(DownloadFailed) as caught:
        download(url, dest, sha256=BODY_SHA, attempts=case.attempts, sleep=sleeps.append)
    assert caught.value.url == url
    assert caught.value.attempts == case.made
    assert case.reason in caught.value.reason
    assert sleeps == case.sleeps
    # A failed download never touches what was there.
    assert dest.read_bytes() == b"previous good file"
    assert _leftovers(tmp_path) == []


def test_checksum_mismatch_is_not_retried(
    server: Server, tmp_path: Path, sleeps: list[float]
) -> None:
    dest = tmp_path / "runtime.tar.gz"
    before = server.hits.get("/file.bin", 0)
    with pytest.raises(ChecksumMismatch) as caught:
        download(f"{server.base}/file.bin", dest, sha256="0" * 64, sleep=sleeps.append)
    assert (caught.value.expected, caught.value.actual) == ("0" * 64, BODY_SHA)
    assert server.hits["/file.bin"] == before + 1
    assert sleeps == []
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


def test_timeout_is_retried(server: Server, tmp_path: Path, sleeps: list[float]) -> None:
    started = time.monotonic()
    with pytest.raises(DownloadFailed) as caught:
        download(
            f"{server.base}/slow",
            tmp_path / "x",
            sha256=BODY_SHA,
            attempts=2,
            timeout=0.1,
            sleep=sleeps.append,
        )
    assert caught.value.attempts == 2
    assert "timed out" in caught.value.reason
    assert sleeps == [1.0]
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_retried(tmp_path: Path, sleeps: list[float]) -> None:
    # Bind a port, then close it: nothing listens there any more.
    probe = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    with pytest.raises(DownloadFailed) as caught:
        download(
            f"http://127.0.0.1:{port}/x",
            tmp_path / "x",
            sha256=BODY_SHA,
            attempts=3,
            sleep=sleeps.append,
        )
    assert caught.value.attempts == 3
    assert sleeps == [1.0, 2.0]


def test_credentials_are_sent_and_redacted(
    server: Server, tmp_path: Path, sleeps: list[float]
) -> None:
    with_auth = server.base.replace("http://", "http://user:s3cret@")
    dest = tmp_path / "ok"
    download(f"{with_auth}/auth", dest, sha256=BODY_SHA, sleep=sleeps.append)
    assert dest.read_bytes() == BODY
    with pytest.raises(DownloadFailed) as caught:
        download(f"{with_auth}/missing", tmp_path / "x", sha256=BODY_SHA, sleep=sleeps.append)
    assert "s3cret" not in str(caught.value)
    assert caught.value.url == server.base.replace("http://", "http://***@") + "/missing"


def test_file_url(tmp_path: Path, sleeps: list[float]) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(BODY)
    dest = tmp_path / "dest.bin"
    download(source.as_uri(), dest, sha256=BODY_SHA, sleep=sleeps.append)
    assert dest.read_bytes() == BODY
    with pytest.raises(DownloadFailed) as caught:
        download((tmp_path / "nope").as_uri(), dest, sha256=BODY_SHA, sleep=sleeps.append)
    assert caught.value.attempts == 1
    assert sleeps == []


@pytest.mark.parametrize("url", ["ftp://example.com/x", "example.com/x", "data:,hello"])
def test_unsupported_scheme_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadFailed) as caught:
        download(url, tmp_path / "x", sha256=BODY_SHA, sleep=_no_sleep)
    assert caught.value.attempts == 0
    assert "unsupported URL scheme" in caught.value.reason


@pytest.mark.parametrize("sha256", ["", "abc", BODY_SHA.upper(), BODY_SHA + "0"])
def test_bad_expected_checksum_is_a_bug(sha256: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sha256"):
        download("file:///dev/null", tmp_path / "x", sha256=sha256)


def test_read_url(server: Server) -> None:
    assert read_url(f"{server.base}/file.bin", timeout=5) == BODY
    with pytest.raises(AttemptFailed) as caught:
        read_url(f"{server.base}/missing", timeout=5)
    assert caught.value == AttemptFailed("HTTP 404 Not Found", transient=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a", "https://example.com/a"),
        ("https://user:pw@example.com/a?x=1", "https://***@example.com/a?x=1"),
        ("https://token@example.com:8443/a", "https://***@example.com:8443/a"),
        ("https://u:p@ss@example.com/a", "https://***@example.com/a"),
        ("file:///tmp/a@b", "file:///tmp/a@b"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def _script(outcomes: list[str | AttemptFailed]) -> Callable[[], str]:
    # An operation that fails or succeeds in turn, as listed.
    pending = list(outcomes)

    def operation() -> str:
        outcome = pending.pop(0)
        if isinstance(outcome, AttemptFailed):
            raise outcome
        return outcome

    return operation


BUSY = AttemptFailed("busy", transient=True)
GONE = AttemptFailed("gone", transient=False)


@pytest.mark.parametrize(
    ("outcomes", "attempts", "expected", "expected_sleeps"),
    [
        (["ok"], 4, "ok", []),
        ([BUSY, BUSY, "ok"], 4, "ok", [1.0, 2.0]),
        ([BUSY, BUSY, BUSY, BUSY], 4, RetriesFailed("busy", 4), [1.0, 2.0, 4.0]),
        ([BUSY, GONE, "ok"], 4, RetriesFailed("gone", 2), [1.0]),
        ([GONE], 1, RetriesFailed("gone", 1), []),
        ([BUSY], 1, RetriesFailed("busy", 1), []),
    ],
    ids=["first-try", "third-try", "exhausted", "permanent-stops", "one-attempt", "no-retry"],
)
def test_with_retries(
    outcomes: list[str | AttemptFailed],
    attempts: int,
    expected: str | RetriesFailed,
    expected_sleeps: list[float],
    sleeps: list[float],
) -> None:
    operation = _script(outcomes)
    if isinstance(expected, RetriesFailed):
        with pytest.raises(RetriesFailed) as caught:
            with_retries(operation, attempts=attempts, sleep=sleeps.append)
        assert caught.value == expected
    else:
        assert with_retries(operation, attempts=attempts, sleep=sleeps.append) == expected
    assert sleeps == expected_sleeps


def test_with_retries_lets_other_errors_through(sleeps: list[float]) -> None:
    def operation() -> str:
        raise ChecksumMismatch("u", "a", "b")

    with pytest.raises(ChecksumMismatch):
        with_retries(operation, attempts=4, sleep=sleeps.append)
    assert sleeps == []
