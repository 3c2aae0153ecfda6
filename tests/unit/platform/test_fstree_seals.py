from __future__ import annotations

import os
from pathlib import Path

import pytest

from pycnb.platform.dirs import PlatformDirs, default_root
from pycnb.platform.fstree import (
    NORMALIZED_MTIME,
    TamperedFile,
    changed_paths,
    fingerprint,
    fs_now,
    link_tree,
    normalize_mtimes,
    remove,
)
from pycnb.platform.seals import LayerSeal, check_seal, read_seal, write_seal


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "sub" / "ro").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    (root / "sub" / "ro" / "c.txt").write_text("c")
    (root / "link").symlink_to("a.txt")
    (root / "sub" / "ro").chmod(0o555)
    return root


def test_link_tree_links_files_and_recreates_dirs(tree: Path, tmp_path: Path) -> None:
    linked = link_tree(tree, tmp_path / "dst")
    assert sorted(f.relative for f in linked) == ["a.txt", "link", "sub/b.txt", "sub/ro/c.txt"]
    dst = tmp_path / "dst"
    assert (dst / "a.txt").stat().st_ino == (tree / "a.txt").stat().st_ino
    assert (dst / "link").readlink() == Path("a.txt")
    assert (dst / "sub" / "ro").stat().st_mode & 0o777 == 0o555
    assert (dst / "sub").stat().st_ino != (tree / "sub").stat().st_ino


def test_link_tree_refuses_files_changed_after_a_seal(tree: Path, tmp_path: Path) -> None:
    sealed = fs_now(tmp_path)
    link_tree(tree, tmp_path / "ok", trusted_until_ns=sealed)
    (tree / "a.txt").write_text("changed")
    with pytest.raises(TamperedFile):
        link_tree(tree, tmp_path / "bad", trusted_until_ns=sealed)


def test_remove_handles_read_only_dirs(tree: Path) -> None:
    remove(tree)
    assert not tree.exists()
    remove(tree)  # missing is fine


def test_normalize_mtimes_skips_what_is_already_normalized(tree: Path, tmp_path: Path) -> None:
    target = tmp_path / "outside"
    target.write_text("x")
    (tree / "out").symlink_to(target)
    before = target.stat().st_mtime
    assert normalize_mtimes(tree) == 8  # 4 files/links + 2 dirs + the new symlink + root
    assert {int(Path(d, n).lstat().st_mtime) for d, ds, fs in os.walk(tree) for n in ds + fs} == {
        NORMALIZED_MTIME
    }
    assert target.stat().st_mtime == before
    assert normalize_mtimes(tree) == 0


def test_fingerprint_sees_any_change(tree: Path, tmp_path: Path) -> None:
    before = fingerprint(tree)
    fs_now(tmp_path)
    (tree / "a.txt").write_text("a")  # same contents, same size: ctime still moves
    (tree / "new").write_text("")
    (tree / "link").unlink()
    assert changed_paths(before, fingerprint(tree)) == [
        "link (removed)",
        "new (added)",
        "a.txt (modified)",
    ]


def _seal(tree: Path, tmp_path: Path) -> tuple[LayerSeal, int]:
    linked = link_tree(tree, tmp_path / "build")
    return LayerSeal.from_linked("bp", "L", tree, shared_with_image=True, linked=linked), fs_now(
        tmp_path
    )


@pytest.mark.parametrize(
    ("action", "touched", "modified"),
    [
        ("nothing", [], []),
        ("append", ["a.txt"], ["a.txt"]),
        ("truncate-same-size", ["a.txt"], ["a.txt"]),
        ("replace", ["a.txt"], []),
        ("unlink", ["a.txt"], []),
        ("chmod", ["a.txt"], ["a.txt"]),
    ],
)
def test_check_seal(
    tree: Path, tmp_path: Path, action: str, touched: list[str], modified: list[str]
) -> None:
    seal, sealed_at = _seal(tree, tmp_path)
    restored = tmp_path / "build" / "a.txt"
    if action == "append":
        with restored.open("a") as f:
            f.write("x")
    elif action == "truncate-same-size":
        restored.write_text("z")
        os.utime(restored, ns=(seal.files[0].mtime_ns, seal.files[0].mtime_ns))
    elif action == "replace":
        restored.unlink()
        restored.write_text("new")
    elif action == "unlink":
        restored.unlink()
    elif action == "chmod":
        restored.chmod(0o600)
    verdict = check_seal(seal, sealed_at)
    assert list(verdict.touched) == touched
    assert list(verdict.modified) == modified


def test_seal_round_trip(tree: Path, tmp_path: Path) -> None:
    seal, _ = _seal(tree, tmp_path)
    write_seal(tmp_path / "seal.json", seal)
    assert read_seal(tmp_path / "seal.json") == seal


def test_dirs(tmp_path: Path) -> None:
    dirs = PlatformDirs(Path("relative/root"))
    assert dirs.root.is_absolute()
    assert dirs.layers == dirs.root / "layers"
    root = default_root(tmp_path / "My App!", {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert root.parent == tmp_path / "cache" / "pycnb" / "apps"
    assert root.name.startswith("My_App_-")
    assert default_root(tmp_path / "x", {"XDG_CACHE_HOME": "relative"}).is_relative_to(
        Path.home() / ".cache"
    )
    assert default_root(tmp_path / "a" / "x", {}) != default_root(tmp_path / "b" / "x", {})
