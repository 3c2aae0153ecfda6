"""Relocation: the build root becomes /layers and /workspace, byte-identically from any root."""

from __future__ import annotations

import marshal
import py_compile
from pathlib import Path

import pytest

from pycnb.image.relocate import Relocation

SOURCE = "def f():\n    return 1\n\n\nclass C:\n    def g(self):\n        return f()\n"


def _pyc(root: Path) -> bytes:
    source = root / "layers" / "bp" / "venv" / "m.py"
    source.parent.mkdir(parents=True)
    source.write_text(SOURCE)
    mode = py_compile.PycInvalidationMode.CHECKED_HASH
    py_compile.compile(str(source), cfile=str(source) + "c", invalidation_mode=mode)
    return Path(str(source) + "c").read_bytes()


@pytest.mark.parametrize(
    "long_root", ["x" * 10, "/".join(["x" * 100] * 3)]
)  # short and long marshal strings
def test_pyc_files_from_two_roots_become_the_same_bytes(tmp_path: Path, long_root: str) -> None:
    short, long = tmp_path / "r", tmp_path / long_root / "deeper"
    moved = [
        Relocation.of([(str(root / "layers"), "/layers")]).contents("m.pyc", _pyc(root))
        for root in (short, long)
    ]
    assert moved[0] == moved[1]
    assert moved[0][1] is False
    code = marshal.loads(moved[0][0][16:])  # noqa: S302 - our own test bytes
    assert code.co_filename == "/layers/bp/venv/m.py"
    nested = [c for c in code.co_consts if hasattr(c, "co_filename")]
    assert nested
    assert all(c.co_filename == "/layers/bp/venv/m.py" for c in nested)


def test_text_symlinks_and_binaries() -> None:
    relocation = Relocation.of([("/b/tree/layers", "/layers"), ("/b/tree/workspace", "/workspace")])
    text = b"#!/b/tree/layers/bp/venv/bin/python\nhome = /b/tree/layers/bp/python/bin\n"
    assert relocation.contents("x", text) == (
        b"#!/layers/bp/venv/bin/python\nhome = /layers/bp/python/bin\n",
        False,
    )
    assert relocation.path("/b/tree/workspace/static") == "/workspace/static"
    assert relocation.path("/b/tree/workspaces") == "/b/tree/workspaces"  # not a path prefix
    binary = b"\0ELF/b/tree/layers/bp/lib\0"
    assert relocation.contents("lib.so", binary) == (binary, True)


def test_record_hashes_follow_the_rewritten_scripts(tmp_path: Path) -> None:
    site = tmp_path / "build-root" / "layers" / "venv" / "lib" / "python3.12" / "site-packages"
    info = site / "demo-1.0.dist-info"
    info.mkdir(parents=True)
    script = tmp_path / "build-root" / "layers" / "venv" / "bin" / "demo"
    script.parent.mkdir(parents=True)
    script.write_text(f"#!{tmp_path}/build-root/layers/venv/bin/python\n")
    record = b"../../../bin/demo,sha256=old,99\ndemo.py,sha256=keep,1\n"
    relocation = Relocation.of([(f"{tmp_path}/build-root/layers", "/layers")])
    rewritten = relocation.record(record, info).decode()
    assert rewritten.endswith("demo.py,sha256=keep,1\n")
    first = rewritten.splitlines()[0].split(",")
    assert first[0] == "../../../bin/demo"
    assert first[2] == str(len("#!/layers/venv/bin/python\n"))
    assert first[1] != "sha256=old"
