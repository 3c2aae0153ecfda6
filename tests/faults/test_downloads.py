"""Downloads against servers that never answer or trickle: bounded in time, with progress, and
failing with the URL and the time spent."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from pycnb.buildpack.python.download import Deadline, DownloadFailed, download
from pycnb.buildpack.python.manifest import ManifestUnavailable, load_manifest
from tests.faults.servers import silent_server, trickle_server

_SHA = hashlib.sha256(b"").hexdigest()


def _no_sleep(_seconds: float) -> None:
    pass


def test_never_answering_server_costs_the_deadline_not_minutes(tmp_path: Path) -> None:
    with silent_server() as served:
        started = time.monotonic()
        with pytest.raises(DownloadFailed) as failed:
            download(
                served.url,
                tmp_path / "python.tar.gz",
                sha256=_SHA,
                timeout=0.5,
                deadline=Deadline(base=2.0),
                sleep=_no_sleep,
            )
        spent = time.monotonic() - started
    assert spent < 4.0
    message = str(failed.value)
    assert served.url in message
    assert "gave up after" in message
    assert not list(tmp_path.iterdir())  # no partial file left behind


def test_trickling_server_fails_when_its_size_based_deadline_passes(tmp_path: Path) -> None:
    # 1 MB at 5 bytes a second: a 1 MB/s minimum allows 1 s + 1 s for it.
    with trickle_server(1_000_000, every=0.2) as served:
        started = time.monotonic()
        with pytest.raises(DownloadFailed) as failed:
            download(
                served.url,
                tmp_path / "python.tar.gz",
                sha256=_SHA,
                timeout=5.0,
                deadline=Deadline(base=1.0, min_rate=1_000_000),
                sleep=_no_sleep,
            )
        spent = time.monotonic() - started
    assert 1.5 < spent < 5.0
    assert "too slow" in str(failed.value)
    assert "of 1000000 bytes" in str(failed.value)


def test_long_download_reports_progress(tmp_path: Path) -> None:
    ticks = iter(range(0, 10_000, 3))  # each look at the clock: 3 s later

    def clock() -> float:
        return float(next(ticks))

    lines: list[str] = []
    body = b"x" * 20
    with trickle_server(len(body), every=0.01) as served:
        download(
            served.url,
            tmp_path / "python.tar.gz",
            sha256=hashlib.sha256(body).hexdigest(),
            deadline=Deadline(base=10_000.0, clock=clock),
            progress=lines.append,
        )
    assert (tmp_path / "python.tar.gz").read_bytes() == body
    assert lines
    assert lines[0].startswith("Downloaded 0.0 MiB of 0.0 MiB (")


def test_manifest_url_that_never_answers_fails_in_bounded_time() -> None:
    # The real defaults, once: before the deadline, 3 attempts of a 15 s timeout cost 48 s, and
    # a runtime download's 4 attempts of 30 s cost 128 s.
    with silent_server() as served:
        started = time.monotonic()
        with pytest.raises(ManifestUnavailable) as failed:
            load_manifest(served.url, sleep=_no_sleep)
        spent = time.monotonic() - started
    assert spent < 32.0
    assert "gave up after" in str(failed.value)
    assert served.url in str(failed.value)
