"""fstree.Trash: trees vanish at once and are deleted by a child process; nothing is left."""

from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.platform.fstree import Trash


def _tree(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    for n in range(50):
        (root / "pkg" / f"m{n}.py").write_text("x")
    (root / "pkg" / "sub" / "data").write_text("y")
    (root / "link").symlink_to("pkg")
    (root / "pkg" / "sub").chmod(0o555)  # read-only, as buildpacks sometimes leave them
    return root


def test_a_discarded_tree_is_gone_at_once_and_deleted_by_the_end(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "layers" / "scratch")
    keep = tmp_path / "layers" / "venv"
    keep.mkdir()
    with Trash(tmp_path / "tmp" / "trash") as trash:
        trash.discard(tree)
        assert not tree.exists()
    assert sorted(p.name for p in (tmp_path / "layers").iterdir()) == ["venv"]
    assert not (tmp_path / "tmp" / "trash").exists()


def test_without_a_rename_the_tree_is_deleted_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _tree(tmp_path / "scratch")

    def cross_device(*_args: object) -> Path:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(Path, "rename", cross_device)
    with Trash(tmp_path / "trash") as trash:
        trash.discard(tree)
        assert not tree.exists()
    assert not (tmp_path / "trash").exists()
