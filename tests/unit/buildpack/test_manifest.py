from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pycnb.buildpack.python.manifest import (
    Distribution,
    InvalidManifest,
    InvalidMirror,
    Manifest,
    ManifestUnavailable,
    apply_mirror,
    load_manifest,
    parse_manifest,
)
from pycnb.buildpack.python.version import PythonVersion

UPSTREAM = "https://github.com/astral-sh/python-build-standalone/releases/download/"
SHA = "ab" * 32


def _no_sleep(seconds: float) -> None:
    pytest.fail(f"unexpected retry after {seconds} s")


def _entry(version: object = "3.12.7", arch: str = "amd64", **changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "version": version,
        "os": "linux",
        "arch": arch,
        "url": f"{UPSTREAM}20241016/cpython-{version}-{arch}.tar.gz",
        "sha256": SHA,
    }
    entry.update(changes)
    return entry


def _doc(*entries: dict[str, object]) -> bytes:
    return json.dumps({"schema": 1, "distributions": list(entries)}).encode()


VALID = _doc(
    _entry("3.12.7", "arm64"),
    _entry("3.10.2", "amd64"),
    _entry("3.12.7", "amd64"),
    _entry("3.11.10", "amd64"),
)


def test_bundled_manifest_loads() -> None:
    manifest = load_manifest(None)
    assert "bundled" in manifest.source
    for arch in ("amd64", "arm64"):
        versions = [d.version for d in manifest.for_target("linux", arch)]
        assert versions == sorted(versions)
        assert {v.minor_version for v in versions} >= {"3.10", "3.11", "3.12", "3.13"}
    assert all(d.url.endswith(".tar.gz") for d in manifest.distributions)


def test_for_target_and_find() -> None:
    manifest = parse_manifest(VALID, source="test")
    assert [str(d.version) for d in manifest.for_target("linux", "amd64")] == [
        "3.10.2",
        "3.11.10",
        "3.12.7",
    ]
    assert manifest.for_target("linux", "s390x") == []
    found = manifest.find(PythonVersion(3, 12, 7), "linux", "arm64")
    assert found == Distribution(
        PythonVersion(3, 12, 7), "linux", "arm64", str(_entry("3.12.7", "arm64")["url"]), SHA
    )
    assert manifest.find(PythonVersion(3, 12, 8), "linux", "arm64") is None


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        ([], ["top level: expected an object, got list"]),
        ({"distributions": []}, ["schema: expected 1, got null"]),
        ({"schema": 2, "distributions": []}, ["schema: expected 1, got 2"]),
        ({"schema": True, "distributions": []}, ["schema: expected 1, got true"]),
        ({"schema": 1}, ["distributions: expected a list, got null"]),
        (
            {"schema": 1, "distributions": [], "extra": 1},
            ["top level: unknown key 'extra'"],
        ),
        ({"schema": 1, "distributions": ["x"]}, ["distributions[0]: expected an object, got str"]),
        (
            {"schema": 1, "distributions": [{}]},
            [
                f"distributions[0].{name}: missing"
                for name in ("version", "os", "arch", "url", "sha256")
            ],
        ),
        (
            {
                "schema": 1,
                "distributions": [
                    _entry(),
                    _entry(
                        version="3.12",
                        os="darwin",
                        arch="x86_64",
                        url="ftp://example.com/x.tar.gz",
                        sha256=SHA.upper(),
                        size=3,
                    ),
                ],
            },
            [
                "distributions[1]: unknown key 'size'",
                "distributions[1].version: expected an exact X.Y.Z version, got '3.12'",
                "distributions[1].os: expected one of ['linux'], got 'darwin'",
                "distributions[1].arch: expected one of ['amd64', 'arm64'], got 'x86_64'",
                (
                    "distributions[1].url: expected a URL with scheme file, http, https, "
                    "got 'ftp://example.com/x.tar.gz'"
                ),
                f"distributions[1].sha256: expected 64 lowercase hex digits, got '{SHA.upper()}'",
            ],
        ),
        (
            {"schema": 1, "distributions": [_entry(version=3.12, sha256=None)]},
            [
                "distributions[0].version: expected a string, got float",
                "distributions[0].sha256: expected a string, got null",
            ],
        ),
        (
            {
                "schema": 1,
                "distributions": [_entry(version="3.12.07"), _entry(version="3.12.7rc1")],
            },
            [
                "distributions[0].version: expected an exact X.Y.Z version, got '3.12.07'",
                "distributions[1].version: expected an exact X.Y.Z version, got '3.12.7rc1'",
            ],
        ),
        (
            {"schema": 1, "distributions": [_entry(sha256="ab" * 31), _entry(url="https:///x")]},
            [
                f"distributions[0].sha256: expected 64 lowercase hex digits, got '{'ab' * 31}'",
                "distributions[1].url: expected a URL with a host, got 'https:///x'",
            ],
        ),
        (
            {"schema": 1, "distributions": [_entry(url="file:relative/x.tar.gz")]},
            [
                (
                    "distributions[0].url: expected an absolute file:// URL, "
                    "got 'file:relative/x.tar.gz'"
                )
            ],
        ),
        (
            {"schema": 1, "distributions": [_entry(), _entry(arch="arm64"), _entry()]},
            ["distributions[2]: duplicates distributions[0] (3.12.7 linux/amd64)"],
        ),
    ],
    ids=[
        "not-object",
        "no-schema",
        "schema-2",
        "schema-bool",
        "no-distributions",
        "unknown-top-key",
        "entry-not-object",
        "all-missing",
        "every-field-wrong",
        "wrong-types",
        "inexact-versions",
        "bad-sha-and-host",
        "relative-file-url",
        "duplicate",
    ],
)
def test_invalid_manifests_report_every_problem(document: object, problems: list[str]) -> None:
    with pytest.raises(InvalidManifest) as caught:
        parse_manifest(json.dumps(document).encode(), source="m.json")
    assert caught.value.source == "m.json"
    assert caught.value.problems == problems


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            b'{"schema": 1,\n "distributions": [}',
            "not valid JSON: line 2, column 20: Expecting value",
        ),
        (b"", "not valid JSON: line 1, column 1: "),
        (b"\xff\xfe{", "not UTF-8 text: invalid start byte at byte 0"),
        (b'{"a": "\xe9"}', "not UTF-8 text: invalid continuation byte at byte 7"),
    ],
    ids=["syntax", "empty", "utf-16", "latin-1"],
)
def test_bad_json_names_line_and_column(raw: bytes, problem: str) -> None:
    with pytest.raises(InvalidManifest) as caught:
        parse_manifest(raw, source="m.json")
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(problem)


def test_load_from_path_and_file_url(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(VALID)
    from_path = load_manifest(str(path))
    from_url = load_manifest(path.as_uri())
    assert from_path.source == str(path)
    assert from_url.source == path.as_uri()
    assert from_path.distributions == from_url.distributions
    assert len(from_path.distributions) == 4


@pytest.mark.parametrize("location", ["missing.json", "missing-dir/"])
def test_missing_file_is_unavailable(tmp_path: Path, location: str) -> None:
    target = str(tmp_path / location)
    with pytest.raises(ManifestUnavailable) as caught:
        load_manifest(target)
    assert caught.value.source == target
    with pytest.raises(ManifestUnavailable):
        load_manifest(Path(target).as_uri(), sleep=_no_sleep)


def test_invalid_file_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text('{"schema": 1, "distributions": [{"version": "3.12"}]}')
    with pytest.raises(InvalidManifest) as caught:
        load_manifest(str(path))
    assert caught.value.source == str(path)
    assert len(caught.value.problems) == 5


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: dict[str, int]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        count = self.hits[self.path] = self.hits.get(self.path, 0) + 1
        status, body = 404, b""
        if self.path == "/manifest.json" or (self.path == "/flaky.json" and count > 1):
            status, body = 200, VALID
        elif self.path == "/flaky.json":
            status = 502
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"hits": {}})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_load_over_http(base_url: str) -> None:
    sleeps: list[float] = []
    manifest = load_manifest(f"{base_url}/manifest.json", sleep=sleeps.append)
    assert len(manifest.distributions) == 4
    flaky = load_manifest(f"{base_url}/flaky.json", sleep=sleeps.append)
    assert flaky.distributions == manifest.distributions
    assert sleeps == [1.0]


def test_http_404_is_unavailable_without_retries(base_url: str) -> None:
    url = f"{base_url}/nope.json".replace("http://", "http://me:pw@")
    with pytest.raises(ManifestUnavailable) as caught:
        load_manifest(url, sleep=_no_sleep)
    assert "HTTP 404" in caught.value.reason
    assert caught.value.source == url.replace("me:pw@", "***@")


@pytest.mark.parametrize(
    ("mirror", "url", "expected"),
    [
        (
            "https://mirror.example/pbs",
            f"{UPSTREAM}20241016/cpython-3.12.7%2B20241016-x86_64.tar.gz",
            "https://mirror.example/pbs/20241016/cpython-3.12.7%2B20241016-x86_64.tar.gz",
        ),
        (
            "https://mirror.example/pbs/",  # a trailing slash makes no difference
            f"{UPSTREAM}20241016/a.tar.gz",
            "https://mirror.example/pbs/20241016/a.tar.gz",
        ),
        (
            "file:///srv/mirror",
            "https://github.com/indygreg/python-build-standalone/releases/download/20230507/b.tar.gz",
            "file:///srv/mirror/20230507/b.tar.gz",
        ),
        (
            "https://mirror.example/pbs",
            "https://example.com/releases/download/20241016/c.tar.gz",  # not upstream
            "https://example.com/releases/download/20241016/c.tar.gz",
        ),
        (
            "https://mirror.example/pbs",
            "https://github.com/astral-sh/python-build-standalone/archive/x.tar.gz",
            "https://github.com/astral-sh/python-build-standalone/archive/x.tar.gz",
        ),
    ],
    ids=["upstream", "trailing-slash", "old-upstream-to-file", "other-host", "other-path"],
)
def test_mirror_rule(mirror: str, url: str, expected: str) -> None:
    manifest = parse_manifest(_doc(_entry(url=url)), source="m.json")
    mirrored = apply_mirror(manifest, mirror)
    assert [d.url for d in mirrored.distributions] == [expected]
    assert [d.sha256 for d in mirrored.distributions] == [SHA]  # checksums are kept
    assert mirror.rstrip("/") in mirrored.source


def test_load_manifest_applies_mirror() -> None:
    bundled = load_manifest(None)
    mirrored = load_manifest(None, mirror="https://m.example/p")
    assert len(mirrored.distributions) == len(bundled.distributions)
    assert all(d.url.startswith("https://m.example/p/") for d in mirrored.distributions)
    assert [d.sha256 for d in mirrored.distributions] == [d.sha256 for d in bundled.distributions]


@pytest.mark.parametrize("mirror", ["ftp://m.example/", "m.example/pbs", "https://"])
def test_invalid_mirror(mirror: str) -> None:
    with pytest.raises(InvalidMirror) as caught:
        apply_mirror(Manifest((), "m.json"), mirror)
    assert caught.value.mirror == mirror
