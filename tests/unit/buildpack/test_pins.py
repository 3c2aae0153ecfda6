"""Where the pins' wheels come from: lockfiles, or the package index for requirements.txt."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies import pins
from pycnb.buildpack.dependencies.index import index_sources
from pycnb.buildpack.dependencies.pins import PinSource
from pycnb.buildpack.dependencies.requirements import read_requirements_inputs
from pycnb.buildpack.python.version import MinorVersion
from tests.support.index import build_simple_index, serve_index
from tests.support.wheels import make_wheel

M = MinorVersion
ALL = frozenset(M(3, m) for m in range(8, 17))

UV_LOCK = """
version = 1
[[package]]
name = "app"
version = "0"
source = { virtual = "." }

[[package]]
name = "greenlet"
version = "3.0.3"
sdist = { url = "https://files/greenlet-3.0.3.tar.gz", hash = "sha256:00" }
wheels = [
  { url = "https://files/greenlet-3.0.3-cp312-cp312-manylinux_2_17_x86_64.whl", hash = "1" },
  { url = "https://files/greenlet-3.0.3-cp311-cp311-manylinux_2_17_x86_64.whl", hash = "2" },
]
"""

POETRY_LOCK = """
[[package]]
name = "Flask"
version = "3.1.3"
files = [{file = "flask-3.1.3-py3-none-any.whl", hash = "sha256:00"}]
"""

POETRY_1_1_LOCK = """
[[package]]
name = "greenlet"
version = "3.0.3"

[metadata.files]
greenlet = [{file = "greenlet-3.0.3-cp312-cp312-manylinux_2_17_x86_64.whl", hash = "sha256:0"}]
"""

PDM_LOCK = """
[[package]]
name = "greenlet"
version = "3.0.3"
files = [{file = "greenlet-3.0.3-cp312-cp312-manylinux_2_17_x86_64.whl", hash = "sha256:0"}]
"""


def series(source: PinSource, *, ask_index: bool = True) -> dict[str, frozenset[M]]:
    fit = source(ask_index=ask_index)
    return {} if fit is None else {str(d): d.series for d in fit.distributions}


@pytest.mark.parametrize(
    ("lockfile", "content", "expected"),
    [
        ("uv.lock", UV_LOCK, {"greenlet 3.0.3": {M(3, 11), M(3, 12)}}),
        ("poetry.lock", POETRY_LOCK, {"flask 3.1.3": ALL}),
        ("poetry.lock", POETRY_1_1_LOCK, {"greenlet 3.0.3": {M(3, 12)}}),
        ("pdm.lock", PDM_LOCK, {"greenlet 3.0.3": {M(3, 12)}}),
        ("uv.lock", "not toml [", {}),
    ],
    ids=["uv", "poetry", "poetry-1.1", "pdm", "broken"],
)
def test_lockfiles_list_their_wheels(
    tmp_path: Path, lockfile: str, content: str, expected: dict[str, set[M]]
) -> None:
    (tmp_path / lockfile).write_text(content)
    source = PinSource(tmp_path, lockfile, None, "amd64", {})
    assert series(source, ask_index=False) == expected


def requirements_source(app: Path, text: str, env: dict[str, str]) -> PinSource:
    (app / "requirements.txt").write_text(text)
    requirements = read_requirements_inputs(app, "requirements.txt")
    return PinSource(app, "requirements.txt", requirements, "amd64", env)


REQUIREMENTS = "pycnb-compiled==1.0 ; python_version >= '3'\npycnb-open>=1\n-r more.txt\n"


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    directory = tmp_path / "wheels"
    make_wheel(directory, "pycnb-compiled", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    make_wheel(directory, "pycnb-compiled", "2.0")  # another version: not the pin
    make_wheel(directory, "pycnb-pure", "1.0")
    return directory


def app_dir(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "more.txt").write_text("pycnb-pure==1.0 \\\n  --hash=sha256:00\n")
    return app


def test_requirements_pins_are_looked_up_on_the_index(tmp_path: Path, wheels: Path) -> None:
    index = build_simple_index([wheels], tmp_path / "index")
    with serve_index(index) as url:
        source = requirements_source(app_dir(tmp_path), REQUIREMENTS, {"PIP_INDEX_URL": url})
        assert series(source) == {"pycnb-compiled 1.0": {M(3, 12)}, "pycnb-pure 1.0": ALL}
        assert series(source, ask_index=False) == {}, "no request unless asked"


def test_find_links_directories_answer_too(tmp_path: Path, wheels: Path) -> None:
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    source = requirements_source(app_dir(tmp_path), REQUIREMENTS, env)
    assert series(source) == {"pycnb-compiled 1.0": {M(3, 12)}, "pycnb-pure 1.0": ALL}


class _JsonIndex(http.server.BaseHTTPRequestHandler):
    """A PEP 691 index that checks the credentials it was given."""

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != "Basic dXNlcjpwQHNz":  # user:p@ss
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(
            {"files": [{"filename": "pycnb_pure-1.0-py3-none-any.whl", "url": "x"}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def json_index() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JsonIndex)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://user:p%40ss@127.0.0.1:{server.server_port}/simple/"
    finally:
        server.shutdown()


def test_a_json_index_with_credentials(tmp_path: Path, json_index: str) -> None:
    source = requirements_source(tmp_path, "pycnb-pure==1.0\n", {"PIP_INDEX_URL": json_index})
    assert series(source) == {"pycnb-pure 1.0": ALL}


def test_an_unreachable_index_gives_no_answer_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pins, "_TIMEOUT", 0.5)
    env = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple/"}
    assert series(requirements_source(tmp_path, "pycnb-pure==1.0\n", env)) == {}


def test_index_sources_follow_pips_settings() -> None:
    assert index_sources({}) == ["https://pypi.org/simple/"]
    env = {"PIP_INDEX_URL": "https://a/", "PIP_EXTRA_INDEX_URL": "https://b/ https://c/"}
    assert index_sources(env) == ["https://a/", "https://b/", "https://c/"]
    assert index_sources({"PIP_NO_INDEX": "true", "PIP_FIND_LINKS": "/w"}) == ["/w"]


def test_pipfile_lock_pins_are_looked_up(tmp_path: Path, wheels: Path) -> None:
    lock = {"default": {"pycnb-compiled": {"version": "==1.0"}, "pycnb-pure": {"version": "*"}}}
    (tmp_path / "Pipfile.lock").write_text(json.dumps(lock))
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    source = PinSource(tmp_path, "Pipfile.lock", None, "amd64", env)
    assert series(source) == {"pycnb-compiled 1.0": {M(3, 12)}}
