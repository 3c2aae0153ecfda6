"""The test infrastructure: wheels that real pip installs, the local index, the wheelhouse."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.tool_versions import PIP_VERSION
from tests.support.index import build_simple_index, serve_index
from tests.support.tool_wheels import (
    TOOL_REQUIREMENTS,
    MissingToolWheelsError,
    cached_tool_wheels,
    fetch_tool_wheels,
    missing_tool_wheels,
    tool_wheels_dir,
)
from tests.support.wheels import make_wheel


def _pip(*args: str) -> None:
    # The dev venv's own pip, kept away from user config, caches and the network.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--isolated",
            "--disable-pip-version-check",
            "--no-input",
            *args,
        ],
        check=True,
        capture_output=True,
    )


def _versions(target: Path, *modules: str) -> list[str]:
    code = (
        "import importlib, sys; sys.path.insert(0, sys.argv[1]);"
        " print(*[importlib.import_module(m).__version__ for m in sys.argv[2:]])"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(target), *modules],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheelhouse"
    make_wheel(
        house,
        "Alpha.Lib",
        "1.0",
        dependencies=["beta-lib>=2"],
        extras={"Fast": ["gamma>=1; python_version >= '3'"]},
        modules={"alpha_lib/cli.py": "def main():\n    print('hello from alpha')\n"},
        console_scripts={"alpha-hello": "alpha_lib.cli:main"},
    )
    make_wheel(house, "beta-lib", "1.0")
    make_wheel(house, "beta-lib", "2.1", requires_python=">=3.8")
    make_wheel(house, "gamma", "1.5")
    return house


def test_wheel_is_deterministic(tmp_path: Path) -> None:
    first = make_wheel(tmp_path / "a", "pkg", "1.0", dependencies=["dep<2"]).read_bytes()
    second = make_wheel(tmp_path / "b", "pkg", "1.0", dependencies=["dep<2"]).read_bytes()
    assert first == second


def test_wheel_record_lists_every_file_with_its_digest(wheelhouse: Path) -> None:
    wheel = wheelhouse / "alpha_lib-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = archive.read("alpha_lib-1.0.dist-info/RECORD").decode()
        rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(record))}
        assert set(rows) == set(names)
        assert names[-1] == "alpha_lib-1.0.dist-info/RECORD"
        for name in names[:-1]:
            data = archive.read(name)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert rows[name] == [f"sha256={digest.decode()}", str(len(data))]
        metadata = archive.read("alpha_lib-1.0.dist-info/METADATA").decode()
    assert "Name: Alpha.Lib\n" in metadata
    assert "Requires-Dist: beta-lib>=2\n" in metadata
    assert "Provides-Extra: fast\n" in metadata
    assert 'Requires-Dist: gamma>=1; (python_version >= "3") and extra == "fast"\n' in metadata


def test_simple_index_pages(wheelhouse: Path, tmp_path: Path) -> None:
    index = build_simple_index([wheelhouse], tmp_path / "index")
    root = (index / "simple" / "index.html").read_text()
    assert all(f'href="{name}/"' in root for name in ("alpha-lib", "beta-lib", "gamma"))
    beta = (index / "simple" / "beta-lib" / "index.html").read_text()
    digest = hashlib.sha256((wheelhouse / "beta_lib-2.1-py3-none-any.whl").read_bytes())
    assert f"../../files/beta_lib-2.1-py3-none-any.whl#sha256={digest.hexdigest()}" in beta
    assert 'data-requires-python="&gt;=3.8"' in beta
    assert beta.count("<a ") == 2


def test_pip_installs_from_the_served_index(wheelhouse: Path, tmp_path: Path) -> None:
    index = build_simple_index([wheelhouse], tmp_path / "index")
    target = tmp_path / "target"
    with serve_index(index) as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/simple/")
        _pip(
            "install",
            "--no-cache-dir",
            "--index-url",
            url,
            "--target",
            str(target),
            "alpha-lib[fast]",
        )
    assert _versions(target, "alpha_lib", "beta_lib", "gamma") == ["1.0", "2.1", "1.5"]
    assert (target / "bin" / "alpha-hello").is_file()


def test_pip_installs_from_the_wheelhouse_without_an_index(
    wheelhouse: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    _pip("install", "--no-cache-dir", "--no-index", "--find-links", str(wheelhouse),
         "--target", str(target), "Alpha_Lib")  # fmt: skip
    assert _versions(target, "alpha_lib", "beta_lib") == ["1.0", "2.1"]
    assert not (target / "gamma").exists()  # only the [fast] extra wants it


def test_serve_index_stops_cleanly(tmp_path: Path) -> None:
    build_simple_index([], tmp_path / "index")
    with (
        serve_index(tmp_path / "index") as url,
        urllib.request.urlopen(url, timeout=10) as response,  # noqa: S310 (our own http URL)
    ):
        assert response.status == 200
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)  # noqa: S310


# --- the tool wheelhouse ------------------------------------------------------------------


def test_tool_requirements_come_from_the_buildpack_pins() -> None:
    assert f"pip=={PIP_VERSION}" in TOOL_REQUIREMENTS


def test_wheelhouse_location(tmp_path: Path) -> None:
    assert tool_wheels_dir({"PYCNB_TEST_WHEELS": str(tmp_path)}) == tmp_path
    expected = tmp_path / "pycnb" / "test-wheels"
    assert tool_wheels_dir({"XDG_CACHE_HOME": str(tmp_path)}) == expected


def test_a_missing_pinned_wheel_says_how_to_fetch_it(tmp_path: Path) -> None:
    make_wheel(tmp_path, "pip", "1.0")  # some pip, not the pinned one
    with pytest.raises(MissingToolWheelsError) as caught:
        cached_tool_wheels({"PYCNB_TEST_WHEELS": str(tmp_path)})
    message = str(caught.value)
    assert f"pip=={PIP_VERSION}" in message
    assert "python scripts/fetch_test_wheels.py" in message


def test_fetch_skips_what_resolves_from_the_cache(tmp_path: Path) -> None:
    # A stand-in wheel of the pinned pip: fetching must find it offline and download nothing.
    make_wheel(tmp_path, "pip", PIP_VERSION)
    pip_only = [f"pip=={PIP_VERSION}"]
    assert fetch_tool_wheels(tmp_path, pip_only) == []
    assert missing_tool_wheels(tmp_path, pip_only) == []


def test_the_real_pinned_wheels_install_through_the_local_index(tmp_path: Path) -> None:
    # Fails (no skip) until `python scripts/fetch_test_wheels.py` has run on this machine.
    index = build_simple_index([cached_tool_wheels(os.environ)], tmp_path / "index")
    with serve_index(index) as url:
        _pip("download", "--no-cache-dir", "--no-deps", "--index-url", url,
             "--dest", str(tmp_path / "got"), f"pip=={PIP_VERSION}")  # fmt: skip
    assert [p.name for p in (tmp_path / "got").iterdir()] == [f"pip-{PIP_VERSION}-py3-none-any.whl"]
