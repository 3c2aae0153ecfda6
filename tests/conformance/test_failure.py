"""Failed and interrupted builds: the previous image and the cache survive them (rule 19).

A failed build exports and caches nothing. Restored cache layers are hard links, so a buildpack
that edits one in place also edits the cache's (and, for cache+launch layers, the previous
image's) copy; seals catch that: the cache entry is dropped and the image is marked damaged
rather than trusted. A killed build is recovered by the next process that takes the root.
"""

from __future__ import annotations

import tomllib

import pytest

from pycnb.platform.errors import BuildpackFailed, CannotReuseLayer, ImageDamaged, RootBusy
from pycnb.platform.lock import root_lock
from tests.conformance.conftest import Harness, child_build, layer, op, write

WEB = write("launch.toml", '[[processes]]\ntype = "web"\ncommand = ["true"]\ndefault = true\n')
V1 = [
    layer(
        "venv", launch=True, cache=True, build=True, metadata={"v": "1"}, files={"lib/mod.py": "v1"}
    ),
    layer("dl", cache=True, metadata={"v": "1"}, files={"pkg.whl": "v1"}),
    layer("meta", launch=True, metadata={"v": "1"}, files={"f": "v1"}),
    write("store.toml", '[metadata]\nv = "1"\n'),
    write("built.txt", "v1", app=True),
    WEB,
]
KEEP = [  # re-declare the restored layers without touching their contents
    layer("venv", launch=True, cache=True, build=True, metadata={"v": "2"}),
    layer("dl", cache=True, metadata={"v": "2"}),
]


def _snapshot(harness: Harness) -> dict[str, object]:
    launch = harness.launch()
    return {
        "argv": launch.argv,
        "env": dict(launch.env),
        "image": (harness.dirs.image / "metadata.toml").read_text(),
        "config": (harness.dirs.layers / "config" / "metadata.toml").read_text(),
        "cache": (harness.dirs.cache / "metadata.toml").read_text(),
        "venv": (harness.layer_path("a", "venv") / "lib" / "mod.py").read_text(),
        "meta": (harness.layer_path("a", "meta") / "f").read_text(),
        "built": (harness.dirs.workspace / "built.txt").read_text(),
        "root": sorted(p.name for p in harness.dirs.root.iterdir()),
    }


def _cached(harness: Harness) -> set[str]:
    cache = tomllib.loads((harness.dirs.cache / "metadata.toml").read_text())
    return {f"{bp['id']}:{lr['name']}" for bp in cache["buildpacks"] for lr in bp["layers"]}


@pytest.fixture
def built(harness: Harness) -> Harness:
    harness.script("a", build=V1)
    harness.build("a")
    return harness


def test_failed_build_leaves_image_and_cache_unchanged(built: Harness) -> None:
    before = _snapshot(built)
    built.script(
        "a",
        build=[
            *KEEP,
            layer("new", launch=True, cache=True, files={"x": "new"}),
            write("built.txt", "v2", app=True),
            op("exit", code=1),
        ],
    )
    with pytest.raises(BuildpackFailed):
        built.build("a")
    assert _snapshot(built) == before
    assert _cached(built) == {"a:venv", "a:dl"}
    # And the next build still restores everything.
    built.script("a", build=[])
    built.build("a")
    own = built.record("a", "build")["own_layers"]
    assert own["venv/lib/mod.py"]["text"] == "v1"
    assert own["dl/pkg.whl"]["text"] == "v1"


def test_failed_export_leaves_image_and_cache_unchanged(built: Harness) -> None:
    before = _snapshot(built)
    built.script("a", build=[*KEEP, layer("gone", launch=True, contents=False)])
    with pytest.raises(CannotReuseLayer):
        built.build("a")
    assert _snapshot(built) == before
    assert _cached(built) == {"a:venv", "a:dl"}


def test_platform_error_or_interrupt_rolls_back(
    built: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(built)

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pycnb.platform.creator.export", interrupted)
    built.script("a", build=KEEP)
    with pytest.raises(KeyboardInterrupt):
        built.build("a")
    assert _snapshot(built) == before


def test_in_place_edit_of_a_cache_only_layer_drops_it(built: Harness) -> None:
    before = _snapshot(built)
    built.script(
        "a", build=[op("append", path="dl/pkg.whl", text="-half-written"), op("exit", code=1)]
    )
    with pytest.raises(BuildpackFailed):
        built.build("a")
    assert _cached(built) == {"a:venv"}
    assert not built.cache_path("a", "dl").exists()
    assert any("Dropping cached layer 'a:dl'" in line for line in built.logs)
    after = _snapshot(built)
    assert {k: v for k, v in after.items() if k != "cache"} == {
        k: v for k, v in before.items() if k != "cache"
    }
    built.script("a", build=[])
    built.build("a")
    assert "dl.toml" not in built.record("a", "build")["own_layers"]


def test_in_place_edit_of_a_shared_launch_layer_marks_the_image_damaged(built: Harness) -> None:
    built.script(
        "a", build=[op("append", path="venv/lib/mod.py", text="-edited"), op("exit", code=1)]
    )
    with pytest.raises(BuildpackFailed):
        built.build("a")
    with pytest.raises(ImageDamaged) as raised:
        built.launch()
    assert "a:venv/lib/mod.py" in str(raised.value)
    assert "a:venv" not in _cached(built)
    # A rebuild repairs it.
    built.script("a", build=V1)
    built.build("a")
    assert built.launch().argv == ("true",)
    assert (built.layer_path("a", "venv") / "lib" / "mod.py").read_text() == "v1"


def test_replacing_restored_files_keeps_the_image_and_the_cache(built: Harness) -> None:
    # What pip does on upgrade: delete the old file, write a new one.
    built.script(
        "a",
        build=[
            op("remove", path="venv/lib/mod.py"),
            write("venv/lib/mod.py", "v2"),
            op("exit", code=1),
        ],
    )
    with pytest.raises(BuildpackFailed):
        built.build("a")
    assert built.launch().argv == ("true",)
    assert (built.layer_path("a", "venv") / "lib" / "mod.py").read_text() == "v1"
    assert "a:venv" in _cached(built)  # the cache's copy is intact too
    built.script("a", build=[])
    built.build("a")
    assert built.record("a", "build")["own_layers"]["venv/lib/mod.py"]["text"] == "v1"


def test_killed_mid_build_is_recovered_by_the_next_launch(built: Harness) -> None:
    before = _snapshot(built)
    built.script(
        "a", build=[*KEEP, op("append", path="dl/pkg.whl", text="-partial"), op("kill_platform")]
    )
    child = child_build(built)
    assert child.returncode == -9, child.stdout + child.stderr
    assert (built.dirs.txn / "journal.toml").exists()  # the leftover state
    assert (built.dirs.prev / "layers").is_dir()
    after = _snapshot(built)  # prepare_launch recovers first
    assert {k: v for k, v in after.items() if k != "cache"} == {
        k: v for k, v in before.items() if k != "cache"
    }
    assert _cached(built) == {"a:venv"}  # dl was edited in place by the killed build
    built.script("a", build=KEEP)
    built.build("a")
    assert not (built.dirs.txn).exists()


def test_killed_after_the_commit_point_rolls_forward(built: Harness) -> None:
    built.script(
        "a",
        build=[
            *KEEP,
            write(
                "launch.toml", '[[processes]]\ntype = "v2"\ncommand = ["true"]\ndefault = true\n'
            ),
        ],
    )
    patch = (
        "import os\n"
        "from pycnb.platform.journal import Transaction\n"
        "Transaction._roll_forward = lambda self, journal: os._exit(9)"
    )
    child = child_build(built, patch)
    assert child.returncode == 9, child.stdout + child.stderr
    committing = tomllib.loads((built.dirs.txn / "journal.toml").read_text())
    assert committing["state"] == "committing"
    built.build("a")  # recovers (forward), then builds again
    assert any("Recovering from an interrupted build" in line for line in built.logs)
    assert built.launch().process_type == "v2"
    assert _cached(built) == {"a:venv", "a:dl"}


def test_leftover_journal_from_before_parking_is_recovered(built: Harness) -> None:
    before = _snapshot(built)
    built.dirs.txn.mkdir()
    (built.dirs.txn / "journal.toml").write_text(
        'state = "building"\nparked = ["layers", "workspace", "image"]\nmoves = []\n'
    )
    assert _snapshot(built) == before  # nothing was parked yet: everything stays


def test_two_builds_cannot_interleave(built: Harness) -> None:
    with root_lock(built.dirs, exclusive=True), pytest.raises(RootBusy):
        built.build("a")
    with root_lock(built.dirs, exclusive=True), pytest.raises(RootBusy):
        built.launch()
    with root_lock(built.dirs, exclusive=False):
        assert built.launch().argv == ("true",)  # launches may share
