"""Tool layers' bytecode: every module gets a checked-hash .pyc, however the files are sharded."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

from pycnb.buildpack import bytecode
from pycnb.buildpack.bytecode import compile_tree
from pycnb.buildpack.commands import CommandFailed

ENV = {"PATH": "/usr/bin:/bin"}
# PEP 552: bit 0 = hash-based, bit 1 = check the source.
CHECKED_HASH = 0b11


def write_tree(root: Path) -> list[Path]:
    sources = [root / "a.py", root / "pkg" / "__init__.py", root / "pkg" / "sub" / "b.py"]
    sources += [root / "pkg" / f"m{index}.py" for index in range(7)]
    for number, source in enumerate(sources):
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"VALUE = {number}\n")
    return sources


def pyc(source: Path) -> Path:
    return Path(importlib.util.cache_from_source(str(source)))


@pytest.mark.parametrize("cpus", [1, 2, 3])
def test_every_module_gets_a_checked_hash_pyc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpus: int
) -> None:
    monkeypatch.setattr(bytecode, "_cpus", lambda: cpus)
    sources = write_tree(tmp_path / "lib")
    compile_tree(Path(sys.executable), tmp_path / "lib", env=ENV, cwd=tmp_path)
    for source in sources:
        data = pyc(source).read_bytes()
        assert int.from_bytes(data[4:8], "little") == CHECKED_HASH, source
        # Valid whatever the mtimes: the header holds the source's hash, not its mtime.
        assert data[8:16] == importlib.util.source_hash(source.read_bytes())


def test_the_pycs_stay_valid_after_export_resets_mtimes(tmp_path: Path) -> None:
    sources = write_tree(tmp_path / "lib")
    compile_tree(Path(sys.executable), tmp_path / "lib", env=ENV, cwd=tmp_path)
    for path in tmp_path.rglob("*"):
        os.utime(path, (315532800, 315532800))  # what export does to every file
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.pyc")}
    imports = "import a, pkg.sub.b, pkg.m6"
    subprocess.run([sys.executable, "-c", imports], cwd=tmp_path / "lib", env=ENV, check=True)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.pyc")} == before
    assert len(before) == len(sources)


def test_only_what_changed_is_compiled_again(tmp_path: Path) -> None:
    """A kept venv after a sync: unchanged modules keep their .pyc, a changed module (same path,
    new source, as a package upgrade leaves it) and a new one get compiled."""
    sources = write_tree(tmp_path / "lib")
    compile_tree(Path(sys.executable), tmp_path / "lib", env=ENV, cwd=tmp_path)
    before = {source: pyc(source).stat().st_ino for source in sources}
    changed, kept = sources[0], sources[1:]
    changed.write_text("VALUE = 'upgraded'\n")
    added = tmp_path / "lib" / "pkg" / "new.py"
    added.write_text("VALUE = 'new'\n")
    timestamp_pyc = kept[0]  # a .pyc some tool wrote with mtime invalidation: not ours
    py_compile.compile(str(timestamp_pyc), cfile=str(pyc(timestamp_pyc)))

    compile_tree(Path(sys.executable), tmp_path / "lib", env=ENV, cwd=tmp_path)

    for source in kept[1:]:
        assert pyc(source).stat().st_ino == before[source], f"{source} was compiled again"
    for source in (changed, added, timestamp_pyc):
        data = pyc(source).read_bytes()
        assert int.from_bytes(data[4:8], "little") == CHECKED_HASH, source
        assert data[8:16] == importlib.util.source_hash(source.read_bytes()), source


def test_a_file_python_cannot_compile_is_skipped_as_pip_does(tmp_path: Path) -> None:
    sources = write_tree(tmp_path / "lib")
    broken = tmp_path / "lib" / "pkg" / "py2_only.py"
    broken.write_text("print 'hello'\n")
    compile_tree(Path(sys.executable), tmp_path / "lib", env=ENV, cwd=tmp_path)
    assert not pyc(broken).exists()
    assert all(pyc(source).exists() for source in sources)


def test_an_interpreter_that_fails_fails_the_build(tmp_path: Path) -> None:
    write_tree(tmp_path / "lib")
    with pytest.raises(CommandFailed):
        compile_tree(Path("/bin/false"), tmp_path / "lib", env=ENV, cwd=tmp_path)
