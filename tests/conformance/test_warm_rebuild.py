"""Warm rebuilds: unchanged cached launch layers are renamed, not rebuilt; every guarantee holds.

Restore borrows the previous image's copy of a `cache = true, launch = true` layer when it is
exactly the cache's tree; export carries the old cache's copy over into the new cache, synced
with whatever the build changed. Checked by inode identity, never by time. A failed or killed
build must still leave the previous image with exactly its old tree and the cache intact.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pycnb.platform.errors import BuildpackFailed, ImageDamaged
from pycnb.platform.fstree import NORMALIZED_MTIME, compare_trees
from pycnb.platform.journal import Transaction
from tests.conformance.conftest import Harness, child_build, layer, op, write

WEB = write("launch.toml", '[[processes]]\ntype = "web"\ncommand = ["true"]\ndefault = true\n')
VENV_FILES = {"lib/mod.py": "v1", "lib/pkg/sub.py": "sub", "bin/tool": "#!/bin/sh\n"}
V1 = [
    layer("venv", launch=True, cache=True, build=True, metadata={"v": "1"}, files=VENV_FILES),
    layer("dl", cache=True, metadata={"v": "1"}, files={"pkg.whl": "v1"}),
    WEB,
]
KEEP = [  # re-declare the restored layers without touching their contents
    layer("venv", launch=True, cache=True, build=True, metadata={"v": "2"}),
    layer("dl", cache=True, metadata={"v": "2"}),
    WEB,
]
# What a real buildpack does on every build: its env files rewritten, as new inodes.
REWRITE_ENV = [op("remove", path="venv/env"), write("venv/env/VIRTUAL_ENV.override", "/venv")]

Tree = dict[str, tuple[Any, ...]]


def _tree(root: Path) -> Tree:
    """Every entry below `root`: kind, inode (files) or mode (dirs), contents, mtime stamped."""
    result: Tree = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames:
            st = Path(directory, name).lstat()
            stamped = int(st.st_mtime) == NORMALIZED_MTIME
            result[str(Path(directory, name).relative_to(root))] = (
                "dir",
                stat.S_IMODE(st.st_mode),
                stamped,
            )
        for name in filenames:
            path = Path(directory, name)
            st = path.lstat()
            stamped = int(st.st_mtime) == NORMALIZED_MTIME
            result[str(path.relative_to(root))] = ("file", st.st_ino, path.read_text(), stamped)
    return result


def _ino(path: Path) -> int:
    return path.lstat().st_ino


def _cached(harness: Harness) -> set[str]:
    cache = tomllib.loads((harness.dirs.cache / "metadata.toml").read_text())
    return {f"{bp['id']}:{lr['name']}" for bp in cache["buildpacks"] for lr in bp["layers"]}


def _same(image: Path, cache: Path) -> bool:
    comparison = compare_trees(image, cache)
    return comparison is not None and not comparison.differences


@pytest.fixture
def built(harness: Harness) -> Harness:
    harness.script("a", build=V1)
    harness.build("a")
    return harness


@pytest.fixture
def borrows(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The layers each in-process build borrows, in order."""
    calls: list[str] = []
    original = Transaction.borrow

    def spy(self: Transaction, buildpack_id: str, layer: str, *paths: Path) -> None:
        calls.append(f"{buildpack_id}:{layer}")
        original(self, buildpack_id, layer, *paths)

    monkeypatch.setattr(Transaction, "borrow", spy)
    return calls


# (a) A warm rebuild moves rather than links.


def test_warm_rebuild_renames_the_image_and_cache_copies(built: Harness) -> None:
    image, cache = built.layer_path("a", "venv"), built.cache_path("a", "venv")
    before = _tree(image)
    dirs_before = (_ino(image), _ino(image / "lib"), _ino(image / "lib" / "pkg"), _ino(cache))
    built.script("a", build=KEEP)
    result = built.build("a")
    assert [(r.name, r.contents, r.borrowed) for r in result.restored] == [
        ("dl", True, False),  # cache-only layers are linked, never borrowed
        ("venv", True, True),
    ]
    # The very directories, not new ones with the same files: nothing was rebuilt.
    assert (_ino(image), _ino(image / "lib"), _ino(image / "lib" / "pkg"), _ino(cache)) == (
        dirs_before
    )
    assert _tree(image) == before
    assert _same(image, cache)
    assert (image / "lib" / "mod.py").stat().st_nlink == 2  # image + cache, nothing else
    assert not built.dirs.prev.exists()
    assert not built.dirs.txn.exists()
    assert built.launch().argv == ("true",)


def test_warm_rebuild_that_rewrites_env_files_carries_the_rest(built: Harness) -> None:
    image, cache = built.layer_path("a", "venv"), built.cache_path("a", "venv")
    mod = _ino(image / "lib" / "mod.py")
    built.script("a", build=[*KEEP, *REWRITE_ENV])
    built.build("a")
    built.build("a")  # twice: the second borrows what the first carried and synced
    assert _same(image, cache)  # the new env file is in the cache, as the same inode
    assert (cache / "env" / "VIRTUAL_ENV.override").read_text() == "/venv"
    assert _ino(image / "lib" / "mod.py") == mod
    assert {v[-1] for v in _tree(image).values()} == {True}  # every mtime stamped


# (b) A failed build after a borrowed restore leaves the previous image and the cache intact.

FAILURES = {
    "added": [write("venv/lib/new.py", "new")],
    "deleted": [op("remove", path="venv/lib/mod.py")],
    "replaced": [op("remove", path="venv/lib/mod.py"), write("venv/lib/mod.py", "v2")],
    "dir removed": [op("remove", path="venv/lib/pkg")],
    "layer removed": [op("remove", path="venv")],
    "env rewritten": REWRITE_ENV,
    "untouched": [],
}


@pytest.mark.parametrize("change", list(FAILURES))
def test_failed_build_gives_the_borrowed_layer_back(
    built: Harness, borrows: list[str], change: str
) -> None:
    image, cache = built.layer_path("a", "venv"), built.cache_path("a", "venv")
    image_before, cache_before = _tree(image), _tree(cache)
    built.script("a", build=[*KEEP, *FAILURES[change], op("exit", code=1)])
    with pytest.raises(BuildpackFailed):
        built.build("a")
    assert borrows == ["a:venv"]
    assert _tree(image) == image_before  # same paths, inodes, contents, modes, stamped mtimes
    assert _tree(cache) == cache_before
    assert _cached(built) == {"a:venv", "a:dl"}
    assert built.launch().argv == ("true",)
    assert not built.dirs.prev.exists()
    assert not built.dirs.txn.exists()
    # And the next build restores (borrows again) exactly the old tree.
    built.script("a", build=KEEP)
    built.build("a")
    own = built.record("a", "build")["own_layers"]
    assert {k: v["text"] for k, v in own.items() if k.startswith("venv/") and "text" in v} == {
        f"venv/{path}": text for path, text in VENV_FILES.items()
    }
    assert borrows == ["a:venv", "a:venv"]


def test_untouched_borrowed_layer_is_renamed_back(built: Harness) -> None:
    image = built.layer_path("a", "venv")
    directory = _ino(image / "lib")
    built.script("a", build=[*KEEP, op("exit", code=1)])
    with pytest.raises(BuildpackFailed):
        built.build("a")
    assert _ino(image / "lib") == directory  # not rebuilt from the cache: the same tree


def test_in_place_edit_of_a_borrowed_layer_marks_the_image_damaged(built: Harness) -> None:
    image = built.layer_path("a", "venv")
    paths_before = set(_tree(image))
    built.script(
        "a", build=[*KEEP, op("append", path="venv/lib/mod.py", text="-edited"), op("exit", code=1)]
    )
    with pytest.raises(BuildpackFailed):
        built.build("a")
    # The one thing no tree can undo: the image shares that inode. Its tree is back, and it is
    # marked damaged; the cache drops the layer, as for a linked one.
    assert set(_tree(image)) == paths_before
    with pytest.raises(ImageDamaged, match=r"a:venv/lib/mod\.py"):
        built.launch()
    assert _cached(built) == {"a:dl"}
    built.script("a", build=V1)
    built.build("a")
    assert built.launch().argv == ("true",)


def test_reusing_a_borrowed_layer_the_build_removed(built: Harness, borrows: list[str]) -> None:
    # launch = true without a directory reuses the previous image's layer (rule 34), even
    # though restore lent that very tree to the build, which deleted it.
    before = {k: v[2] for k, v in _tree(built.layer_path("a", "venv")).items() if v[0] == "file"}
    built.script(
        "a",
        build=[
            op("remove", path="venv"),
            layer("venv", launch=True, metadata={"v": "2"}, contents=False),
            WEB,
        ],
    )
    result = built.build("a")
    assert borrows == ["a:venv"]
    assert [(x.name, x.reused) for x in result.layers] == [("venv", True)]
    after = _tree(built.layer_path("a", "venv"))
    assert {k: v[2] for k, v in after.items() if v[0] == "file"} == before
    assert {v[-1] for v in after.values()} == {True}  # stamped like any exported layer
    assert "a:venv" not in _cached(built)


# (c) A killed build is recovered.

EXIT_AFTER_BORROW_JOURNALED = """
import os
from pycnb.platform import journal
write = journal.Transaction._write
def _write(self, entry):
    write(self, entry)
    if entry.borrowed:
        os._exit(9)
journal.Transaction._write = _write
"""
EXIT_BEFORE_GIVING_BACK = """
import os
from pycnb.platform import journal
journal.normalize_mtimes = lambda *args, **kwargs: os._exit(9)
"""
EXIT_AFTER_GIVING_BACK = """
import os
from pycnb.platform import journal
journal.Transaction._act_on = lambda *args: os._exit(9)
"""


@pytest.mark.parametrize(
    ("ops", "patch"),
    [
        pytest.param(KEEP, EXIT_AFTER_BORROW_JOURNALED, id="journaled-not-renamed"),
        pytest.param(
            [*KEEP, write("venv/lib/new.py", "x"), op("remove", path="venv/lib/pkg")],
            "",
            id="killed-mid-build",
        ),
        pytest.param(
            [*KEEP, op("remove", path="venv/lib/mod.py"), op("exit", code=1)],
            EXIT_BEFORE_GIVING_BACK,
            id="killed-while-giving-back",
        ),
        pytest.param(
            # Giving back links the cache's files again; judged afterwards, the deleted file's
            # link count would look like an in-place write. The verdict is written first.
            [*KEEP, op("remove", path="venv/lib/mod.py"), op("exit", code=1)],
            EXIT_AFTER_GIVING_BACK,
            id="killed-after-giving-back",
        ),
    ],
)
def test_killed_build_after_borrowing_is_recovered(
    built: Harness, ops: list[dict[str, Any]], patch: str
) -> None:
    image, cache = built.layer_path("a", "venv"), built.cache_path("a", "venv")
    image_before, cache_before = _tree(image), _tree(cache)
    killer = [] if patch else [op("kill_platform")]
    built.script("a", build=[*ops, *killer])
    child = child_build(built, patch)
    assert child.returncode in (9, -9), child.stdout + child.stderr
    assert (built.dirs.txn / "journal.toml").exists()
    assert built.launch().argv == ("true",)  # recovers first
    assert _tree(image) == image_before
    assert _tree(cache) == cache_before
    assert _cached(built) == {"a:venv", "a:dl"}
    assert not built.dirs.prev.exists()
    assert not built.dirs.txn.exists()


EXIT_DURING_SYNC = """
import os
from pycnb.platform import journal
sync = journal.sync_tree
def _sync(*args):
    sync(*args)
    os._exit(9)
journal.sync_tree = _sync
"""
EXIT_AFTER_CACHE_SWAP = """
import os
from pycnb.platform import journal
journal.Transaction._reseal = lambda self: os._exit(9)
"""


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param(EXIT_DURING_SYNC, id="after-carrying-and-syncing"),
        # After the swap the old cache's paths name the new cache: carrying again would move
        # the new cache's layers out of it.
        pytest.param(EXIT_AFTER_CACHE_SWAP, id="after-the-cache-swap"),
    ],
)
def test_killed_after_the_commit_point_carries_the_cache_forward(
    built: Harness, patch: str
) -> None:
    image, cache = built.layer_path("a", "venv"), built.cache_path("a", "venv")
    built.script("a", build=[*KEEP, *REWRITE_ENV, write("venv/lib/new.py", "new")])
    child = child_build(built, patch)
    assert child.returncode == 9, child.stdout + child.stderr
    assert built.launch().argv == ("true",)  # recovers (forward)
    assert _cached(built) == {"a:venv", "a:dl"}
    assert _same(image, cache)
    assert (cache / "lib" / "new.py").read_text() == "new"
    assert (cache / "env" / "VIRTUAL_ENV.override").exists()
    assert not built.dirs.txn.exists()
    built.script("a", build=KEEP)
    built.build("a")
    assert built.record("a", "build")["own_layers"]["venv/lib/new.py"]["text"] == "new"


# (d) What the app writes into the image's layers at run time never reaches the next build.


def test_run_time_files_in_the_image_layer_are_not_restored(
    built: Harness, borrows: list[str]
) -> None:
    image = built.layer_path("a", "venv")
    (image / "lib" / "__pycache__").mkdir()
    (image / "lib" / "__pycache__" / "mod.cpython-312.pyc").write_text("bytecode")
    (image / "lib" / "pkg" / "extra.txt").write_text("written at run time")
    built.script("a", build=KEEP)
    result = built.build("a")
    assert borrows == []  # not the cache's tree any more: linked from the cache instead
    assert [(r.name, r.contents) for r in result.restored] == [("dl", True), ("venv", True)]
    own = built.record("a", "build")["own_layers"]
    venv = {k for k in own if k.startswith("venv/")}
    assert venv == {"venv/bin", "venv/bin/tool", "venv/lib", "venv/lib/mod.py", "venv/lib/pkg"} | {
        "venv/lib/pkg/sub.py"
    }
    assert not (image / "lib" / "__pycache__").exists()  # the image is this build's layer
    assert not (image / "lib" / "pkg" / "extra.txt").exists()
    built.build("a")
    assert borrows == ["a:venv"]  # clean again: borrowed from then on


def test_run_time_in_place_edit_drops_the_cached_layer(built: Harness, borrows: list[str]) -> None:
    with (built.layer_path("a", "venv") / "lib" / "mod.py").open("a") as file:
        file.write("-edited at run time")  # the image's inode is the cache's
    built.script("a", build=KEEP)
    built.build("a")
    assert borrows == []
    assert any("Discarding cached 'a:venv'" in line for line in built.logs)
    assert "venv.toml" not in built.record("a", "build")["own_layers"]


# (e) Export carries the old cache's copy over; only what changed is linked.


def test_export_carries_an_unchanged_layer_and_syncs_a_changed_one(built: Harness) -> None:
    image, cache = built.layer_path("a", "venv"), built.cache_path("a", "venv")
    cache_dir, old_mod = _ino(cache), _ino(cache / "lib" / "mod.py")
    built.script(
        "a",
        build=[
            *KEEP,
            write("venv/lib/new.py", "new"),
            op("remove", path="venv/lib/pkg"),
            op("remove", path="venv/bin/tool"),
            write("venv/bin/tool", "#!/bin/sh\necho v2\n"),
        ],
    )
    built.build("a")
    assert _ino(cache) == cache_dir  # the old copy, carried over
    assert _ino(cache / "lib" / "mod.py") == old_mod
    assert _same(image, cache)  # and synced: the new inodes linked, the removed ones gone
    assert _ino(cache / "lib" / "new.py") == _ino(image / "lib" / "new.py")
    assert (cache / "bin" / "tool").read_text() == "#!/bin/sh\necho v2\n"
    assert not (cache / "lib" / "pkg").exists()


def test_export_links_a_layer_restore_did_not_hand_out(built: Harness) -> None:
    image, cache = built.layer_path("a", "venv"), built.cache_path("a", "venv")
    cache_dir = _ino(cache)
    built.script("a", build=KEEP)
    built.build("a", clear_cache=True)  # nothing restored: the layer is new, as is its copy
    assert _ino(cache) != cache_dir
    assert _same(image, cache)
