"""compare_trees and sync_tree: telling a tree of links from its reference, and updating an old
tree by the entries that differ only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pycnb.platform.fstree import (
    NORMALIZED_MTIME,
    compare_trees,
    fs_now,
    link_tree,
    normalize_mtimes,
    stamp,
    sync_tree,
)
from pycnb.platform.seals import LayerSeal, check_seal


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    root = tmp_path / "reference"
    (root / "lib" / "pkg").mkdir(parents=True)
    (root / "ro").mkdir()
    (root / "lib" / "mod.py").write_text("mod")
    (root / "lib" / "pkg" / "sub.py").write_text("sub")
    (root / "ro" / "data").write_text("data")
    (root / "link").symlink_to("lib/mod.py")
    (root / "ro").chmod(0o555)
    return root


@pytest.fixture
def linked(reference: Path, tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    link_tree(reference, tree)
    return tree


def _differences(tree: Path, reference: Path) -> tuple[str, ...]:
    comparison = compare_trees(tree, reference)
    assert comparison is not None
    return comparison.differences


def test_a_tree_of_links_is_identical_to_its_reference(linked: Path, reference: Path) -> None:
    since = fs_now(linked.parent)
    comparison = compare_trees(linked, reference)
    assert comparison is not None
    assert comparison.differences == ()
    assert comparison.identical_since(since)
    assert sorted(f.relative for f in comparison.files) == [
        "lib/mod.py",
        "lib/pkg/sub.py",
        "link",
        "ro/data",
    ]
    assert "lib" in comparison.unstamped  # new directories
    normalize_mtimes(linked)
    after = compare_trees(linked, reference)
    assert after is not None
    assert after.unstamped == ()


def test_any_later_change_fails_identical_since(linked: Path, reference: Path) -> None:
    since = fs_now(linked.parent)
    with (linked / "lib" / "mod.py").open("a") as file:
        file.write("!")  # in place: the same inode, so no difference, but a newer ctime
    comparison = compare_trees(linked, reference)
    assert comparison is not None
    assert comparison.differences == ()
    assert not comparison.identical_since(since)


def test_differences_name_every_entry_to_sync(linked: Path, reference: Path) -> None:
    (linked / "lib" / "new.py").write_text("new")  # added
    (linked / "lib" / "pkg" / "sub.py").unlink()  # removed
    (linked / "link").unlink()
    (linked / "link").symlink_to("elsewhere")  # replaced: another inode
    (linked / "ro").chmod(0o755)  # a directory's mode
    (linked / "lib" / "pkg" / "deep").mkdir()  # a new directory, with what it holds
    (linked / "lib" / "pkg" / "deep" / "x").write_text("x")
    assert _differences(linked, reference) == (
        "lib/new.py",
        "lib/pkg/deep",
        "lib/pkg/deep/x",
        "lib/pkg/sub.py",
        "link",
        "ro",
    )


def test_a_kind_change_is_a_difference(linked: Path, reference: Path) -> None:
    (linked / "lib" / "mod.py").unlink()
    (linked / "lib" / "mod.py").mkdir()
    (linked / "lib" / "mod.py" / "inner").write_text("")
    assert _differences(linked, reference) == ("lib/mod.py", "lib/mod.py/inner")
    assert _differences(reference, linked) == ("lib/mod.py",)


def test_unreadable_or_missing_trees_compare_as_none(linked: Path, tmp_path: Path) -> None:
    assert compare_trees(linked, tmp_path / "missing") is None
    assert compare_trees(tmp_path / "missing", linked) is None
    assert compare_trees(linked / "link", linked) is None  # not a directory


def test_sync_tree_makes_the_target_match(linked: Path, reference: Path) -> None:
    # `linked` plays the build's layer, `reference` the old cache copy to bring up to date.
    (linked / "lib" / "new.py").write_text("new")
    (linked / "lib" / "pkg" / "sub.py").unlink()
    (linked / "ro").chmod(0o755)
    (linked / "ro" / "data").unlink()
    (linked / "ro" / "data").write_text("data v2")  # inside a read-only dir of the target
    (linked / "ro").chmod(0o555)
    (linked / "lib" / "deep" / "er").mkdir(parents=True)
    (linked / "lib" / "deep" / "er" / "x").write_text("x")
    (linked / "lib" / "deep").chmod(0o500)
    (linked / "lib" / "mod.py").unlink()
    (linked / "lib" / "mod.py").mkdir()
    paths = _differences(linked, reference)
    sync_tree(linked, reference, paths)
    assert _differences(linked, reference) == ()
    assert (reference / "ro" / "data").read_text() == "data v2"
    assert (reference / "ro").stat().st_mode & 0o777 == 0o555
    assert (reference / "lib" / "deep").stat().st_mode & 0o777 == 0o500
    sync_tree(linked, reference, paths)  # idempotent: what a resumed commit does
    assert _differences(linked, reference) == ()


def test_sync_tree_resumes_after_an_interruption(linked: Path, reference: Path) -> None:
    (linked / "lib" / "a").mkdir()
    (linked / "lib" / "a" / "f").write_text("f")
    (linked / "lib" / "b.py").write_text("b")
    paths = _differences(linked, reference)
    sync_tree(linked, reference, paths[:1])  # killed after the first entry
    sync_tree(linked, reference, paths)
    assert _differences(linked, reference) == ()


def test_stamp_and_normalize_skip(linked: Path, tmp_path: Path) -> None:
    comparison = compare_trees(linked, linked)
    assert comparison is not None
    stamp(linked, comparison.unstamped)
    assert {int(Path(d, n).lstat().st_mtime) for d, ds, fs in os.walk(linked) for n in ds + fs} == {
        NORMALIZED_MTIME
    }
    other = tmp_path / "other"
    (other / "kept").mkdir(parents=True)
    (other / "kept" / "f").write_text("")
    (other / "g").write_text("")
    assert normalize_mtimes(other, skip=[other / "kept"]) == 2  # g and the root
    assert int((other / "kept" / "f").stat().st_mtime) != NORMALIZED_MTIME


def _mtimes(root: Path) -> set[int]:
    entries = [Path(d, n) for d, ds, fs in os.walk(root) for n in ds + fs]
    return {int(p.lstat().st_mtime) for p in [root, *entries]}


def test_linking_can_stamp_the_source_on_the_way(reference: Path, tmp_path: Path) -> None:
    # The image's layer is stamped as it is linked into the cache: normalize has nothing left.
    linked = link_tree(reference, tmp_path / "cache", stamp_source=True)
    assert _mtimes(reference) == {NORMALIZED_MTIME}
    assert normalize_mtimes(reference) == 0
    assert len(linked) == 4  # the three files and the symlink, with their lstat
    comparison = compare_trees(tmp_path / "cache", reference)
    assert comparison is not None
    assert comparison.differences == ()  # the same inodes, the same modes
    # Only the source's own directories: the destination's are new.
    assert int((tmp_path / "cache" / "lib").lstat().st_mtime) != NORMALIZED_MTIME


def test_a_borrowed_seal_counts_no_extra_link(linked: Path, reference: Path) -> None:
    comparison = compare_trees(linked, reference)
    assert comparison is not None
    seal = LayerSeal.from_linked(
        "bp", "L", reference, shared_with_image=True, linked=comparison.files, borrowed=True
    )
    sealed_at = fs_now(linked.parent)
    (linked / "lib" / "pkg" / "sub.py").unlink()  # the build deletes its (borrowed) copy
    target = linked / "lib" / "mod.py"
    before = target.stat()
    target.write_text("MOD")  # same size, mtime put back: only ctime and the link count tell
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    verdict = check_seal(seal, sealed_at)
    assert verdict.touched == ("lib/mod.py", "lib/pkg/sub.py")
    assert verdict.modified == ("lib/mod.py",)  # an extra counted link would have hidden it
