"""Restore, export and cache never copy layer contents: renames and hard links only.

Checked by inode identity, not wall time: the same inode means no byte was copied, whatever
the machine. Durations are printed (pytest -s) for the record.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.conformance.conftest import Harness, layer, op

COUNT = 5000
# File creation alone costs ~0.3 ms per file on some disks; the other layer kinds take the very
# same code paths, so they use fewer files to keep the suite fast.
SMALLER = 1000


def _inodes(root: Path) -> dict[str, int]:
    result = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            result[str(path.relative_to(root))] = path.lstat().st_ino
    return result


def test_a_5000_file_cached_launch_layer_is_linked_not_copied(harness: Harness) -> None:
    create = [layer("venv", launch=True, cache=True), op("many", dir="venv", count=COUNT)]
    keep = [layer("venv", launch=True, cache=True)]  # re-declare; contents untouched
    harness.script("a", build=create)
    first = harness.build("a")
    image = _inodes(harness.layer_path("a", "venv"))
    assert len(image) == COUNT
    assert _inodes(harness.cache_path("a", "venv")) == image  # cached by hard link

    harness.script("a", build=keep)
    second = harness.build("a")
    assert second.restored[0].contents
    # Restored by renaming the image's copy (it was exactly the cache's tree), exported in place,
    # the old cache's copy carried over: still the very same inodes.
    assert second.restored[0].borrowed
    assert _inodes(harness.layer_path("a", "venv")) == image
    assert _inodes(harness.cache_path("a", "venv")) == image
    sample = next(iter(image))
    assert (harness.layer_path("a", "venv") / sample).stat().st_nlink == 2  # image + cache
    print(  # noqa: T201
        f"\n{COUNT} files, create: {dict(first.durations)}\nrebuild: {dict(second.durations)}"
    )


def test_a_cache_only_layer_is_renamed_into_the_cache(harness: Harness) -> None:
    harness.script(
        "a", build=[layer("pip-cache", cache=True), op("many", dir="pip-cache", count=SMALLER)]
    )
    harness.build("a")
    cached = _inodes(harness.cache_path("a", "pip-cache"))
    assert len(cached) == SMALLER
    harness.script("a", build=[layer("pip-cache", cache=True)])
    harness.build("a")
    own = harness.record("a", "build")["own_layers"]
    restored = {
        k.removeprefix("pip-cache/"): v["ino"]
        for k, v in own.items()
        if v["type"] == "file" and k.startswith("pip-cache/")
    }
    assert restored == cached  # restored by hard link
    assert _inodes(harness.cache_path("a", "pip-cache")) == cached  # and renamed back
    assert not harness.layer_path("a", "pip-cache").exists()  # not in the image


def test_a_reused_launch_layer_is_moved(harness: Harness) -> None:
    harness.script("a", build=[layer("big", launch=True), op("many", dir="big", count=SMALLER)])
    harness.build("a")
    before = _inodes(harness.layer_path("a", "big"))
    harness.script("a", build=[layer("big", launch=True, contents=False)])
    harness.build("a")
    assert _inodes(harness.layer_path("a", "big")) == before
