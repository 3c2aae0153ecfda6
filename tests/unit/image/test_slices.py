"""Slices: Go's filepath.Match globs, directories bring their contents, first slice wins."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from pycnb.image.relocate import Relocation
from pycnb.image.slices import go_glob, slice_files
from pycnb.image.tarlayer import Owner, Tree, write_layer


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.txt", "a.txt", True),
        ("*.txt", "dir/a.txt", False),  # `*` never crosses `/`
        ("static/*", "static/x.css", True),
        ("static/*", "static/sub/x.css", False),
        ("?.py", "a.py", True),
        ("[ab].py", "b.py", True),
        ("[^ab].py", "c.py", True),
        ("[^ab].py", "a.py", False),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
    ],
)
def test_go_glob(pattern: str, path: str, matches: bool) -> None:
    assert bool(go_glob(pattern).fullmatch(path)) is matches


def test_slices(tmp_path: Path) -> None:
    for name in ["app.py", "README.txt", "static/a.css", "static/img/b.png", "data/c.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    first, second, empty = slice_files(tmp_path, [["static"], ["*.txt", "static/*"], ["none/*"]])
    assert first == {"static/a.css", "static/img/b.png"}
    assert second == {"README.txt"}  # static/ went to the first slice
    assert empty == frozenset()

    def names(tree: Tree) -> list[str]:
        out = io.BytesIO()
        write_layer(out, [tree], Relocation.of([]))
        with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
            return tar.getnames()

    owner, where = Owner(0, 0), PurePosixPath("/workspace")
    assert names(Tree(tmp_path, where, owner, only=first)) == [
        "workspace", "workspace/static", "workspace/static/a.css", "workspace/static/img",
        "workspace/static/img/b.png",
    ]  # fmt: skip
    rest = names(Tree(tmp_path, where, owner, exclude=first | second))
    assert "workspace/app.py" in rest
    assert "workspace/data/c.txt" in rest
    assert "workspace/static" in rest  # directories stay in the app layer
    assert "workspace/static/a.css" not in rest
    assert "workspace/README.txt" not in rest
