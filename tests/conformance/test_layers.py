"""Conformance: layers across builds - the flag matrix of section 4.5 and rules 27-42."""

from __future__ import annotations

import tomllib
from itertools import product
from typing import Any

import pytest

from pycnb.platform.errors import CannotReuseLayer, LayerWithoutContents
from tests.conformance.conftest import Harness, layer, op, write

# (build, cache, launch) -> (metadata restored, contents restored, exported, cached)
MATRIX = {
    (True, True, True): (True, True, True, True),
    (True, True, False): (True, True, False, True),
    (True, False, True): (False, False, True, False),
    (True, False, False): (False, False, False, False),
    (False, True, True): (True, True, True, True),
    (False, True, False): (True, True, False, True),
    (False, False, True): (True, False, True, False),
    (False, False, False): (False, False, False, False),
}


def _flags_id(flags: tuple[bool, bool, bool]) -> str:
    return "".join(f"{name}={'T' if on else 'F'}" for name, on in zip("bcl", flags, strict=True))


def _image_layers(harness: Harness) -> dict[str, dict[str, Any]]:
    image = tomllib.loads((harness.dirs.image / "metadata.toml").read_text())
    return {f"{bp['id']}:{lr['name']}": lr for bp in image["buildpacks"] for lr in bp["layers"]}


def _cache_layers(harness: Harness) -> dict[str, dict[str, Any]]:
    path = harness.dirs.cache / "metadata.toml"
    if not path.exists():
        return {}
    cache = tomllib.loads(path.read_text())
    return {f"{bp['id']}:{lr['name']}": lr for bp in cache["buildpacks"] for lr in bp["layers"]}


@pytest.mark.parametrize("flags", list(product([True, False], repeat=3)), ids=_flags_id)
def test_flag_matrix_across_two_builds(harness: Harness, flags: tuple[bool, bool, bool]) -> None:
    build, cache, launch = flags
    metadata_back, contents_back, exported, cached = MATRIX[flags]
    harness.script(
        "a",
        build=[
            layer(
                "L",
                build=build,
                cache=cache,
                launch=launch,
                metadata={"gen": "1"},
                files={"data.txt": "v1"},
            ),
        ],
    )
    harness.build("a")
    # After build 1: in the image / in the cache (rules 27, 28).
    assert ("a:L" in _image_layers(harness)) == exported
    assert harness.layer_path("a", "L").is_dir() == exported
    assert ("a:L" in _cache_layers(harness)) == cached
    assert harness.cache_path("a", "L").is_dir() == cached

    harness.script("a", build=[])  # build 2 records what was restored, then does nothing
    harness.build("a")
    own = harness.record("a", "build")["own_layers"]
    assert ("L.toml" in own) == metadata_back  # rules 29-32
    if metadata_back:
        text = own["L.toml"]["text"]
        assert "[types]" not in text  # rule 33
        assert tomllib.loads(text) == {"metadata": {"gen": "1"}}
    assert ("L" in own) == contents_back
    if contents_back:
        assert own["L/data.txt"]["text"] == "v1"
    # Not re-declared in build 2: neither exported nor cached (rule 36).
    assert "a:L" not in _image_layers(harness)
    assert "a:L" not in _cache_layers(harness)
    assert not harness.layer_path("a", "L").exists()


def test_rule_30_cached_layer_comes_back_whole_or_not_at_all(harness: Harness) -> None:
    harness.script("a", build=[layer("L", cache=True, files={"f": "1"})])
    harness.build("a")
    harness.build("a")  # re-declares it: cached again
    own = harness.record("a", "build")["own_layers"]
    assert "L.toml" in own
    assert own["L/f"]["text"] == "1"
    harness.build("a", clear_cache=True)  # no cache: neither
    own = harness.record("a", "build")["own_layers"]
    assert "L.toml" not in own
    assert "L" not in own


def test_rule_34_launch_layer_without_dir_reuses_the_previous_one(harness: Harness) -> None:
    harness.script("a", build=[layer("L", launch=True, metadata={"v": "1"}, files={"f": "old"})])
    harness.build("a")
    inode = (harness.layer_path("a", "L") / "f").stat().st_ino
    harness.script("a", build=[layer("L", launch=True, metadata={"v": "2"}, contents=False)])
    result = harness.build("a")
    assert [(lr.name, lr.reused) for lr in result.layers] == [("L", True)]
    assert (harness.layer_path("a", "L") / "f").read_text() == "old"
    assert (harness.layer_path("a", "L") / "f").stat().st_ino == inode  # moved, not copied
    assert _image_layers(harness)["a:L"]["metadata"] == {"v": "2"}
    assert "Reusing layer 'a:L'" in harness.logs


def test_rule_34_reuse_fails_without_a_previous_layer(harness: Harness) -> None:
    harness.script("a", build=[layer("L", launch=True, contents=False)])
    with pytest.raises(CannotReuseLayer) as raised:
        harness.build("a")
    assert raised.value.exit_code == 62


def test_rule_35_launch_layer_with_dir_replaces_the_previous_one(harness: Harness) -> None:
    harness.script("a", build=[layer("L", launch=True, files={"f": "old"})])
    harness.build("a")
    harness.script("a", build=[layer("L", launch=True, files={"g": "new"})])
    harness.build("a")
    assert sorted(p.name for p in harness.layer_path("a", "L").iterdir()) == ["g"]


def test_rule_36_restored_but_not_redeclared_is_dropped(harness: Harness) -> None:
    harness.script("a", build=[layer("L", build=True, cache=True)])
    harness.build("a")
    harness.script("a", build=[])
    harness.build("a")
    assert "a:L" not in _cache_layers(harness)
    harness.build("a")
    assert "L.toml" not in harness.record("a", "build")["own_layers"]


def test_rule_37_all_false_layers_are_renamed_ignore(harness: Harness) -> None:
    harness.script("a", build=[layer("scratch"), layer("untyped", types=False)])
    harness.script("b", build=[])
    harness.build("a", "b")
    seen_by_b = harness.record("b", "build")["all_layers"]
    assert "a/scratch.ignore" in seen_by_b
    assert "a/scratch" not in seen_by_b
    assert "a/untyped.ignore" in seen_by_b
    assert "a/scratch.toml" in seen_by_b  # the .toml stays
    assert not harness.layer_path("a", "scratch.ignore").exists()  # never exported


def test_layer_dir_without_toml_is_not_exported_and_not_renamed(harness: Harness) -> None:
    harness.script("a", build=[op("mkdir", path="orphan/bin")])
    harness.script("b", build=[])
    harness.build("a", "b")
    assert "a/orphan" in harness.record("b", "build")["all_layers"]  # D3: not renamed
    assert "orphan" not in harness.record("b", "build")["env"]["PATH"]
    assert not harness.layer_path("a", "orphan").exists()


def test_rule_38_cache_and_launch_without_contents_fails_export(harness: Harness) -> None:
    harness.script("a", build=[layer("L", cache=True, launch=True, contents=False)])
    with pytest.raises(LayerWithoutContents):
        harness.build("a")


def test_rule_38_cache_only_without_contents_is_skipped(harness: Harness) -> None:
    harness.script("a", build=[layer("L", cache=True, contents=False)])
    harness.build("a")
    assert "a:L" not in _cache_layers(harness)
    assert any("cache=true but has no contents" in line for line in harness.logs)


def test_rule_39_cache_launch_contents_need_the_same_layer_in_cache_and_image(
    harness: Harness,
) -> None:
    harness.script("a", build=[layer("L", cache=True, launch=True, files={"f": "1"})])
    harness.build("a")
    # Make the cache hold "another" L than the image (as when they come from different builds).
    metadata = harness.dirs.cache / "metadata.toml"
    metadata.write_text(metadata.read_text().replace('generation = "', 'generation = "other-'))
    harness.script("a", build=[])
    harness.build("a")
    own = harness.record("a", "build")["own_layers"]
    assert "L.toml" not in own
    assert "L" not in own
    assert any("the cache holds another version" in line for line in harness.logs)


def test_rule_39_cache_launch_needs_a_previous_image(harness: Harness) -> None:
    harness.script("a", build=[layer("L", cache=True, launch=True, files={"f": "1"})])
    harness.build("a")
    (harness.dirs.image / "metadata.toml").unlink()  # the image is gone; the cache is not
    harness.script("a", build=[])
    harness.build("a")
    own = harness.record("a", "build")["own_layers"]
    assert "L.toml" not in own
    assert "L" not in own


def test_rule_40_every_build_starts_fresh(harness: Harness) -> None:
    harness.script(
        "a",
        build=[
            layer("tmp", build=True),
            write("generated.txt", "from build 1", app=True),
        ],
    )
    harness.build("a")
    harness.script(
        "a", build=[op("if_exists", path="generated.txt", base="app", then=[op("exit", code=9)])]
    )
    harness.build("a")
    assert "tmp" not in harness.record("a", "build")["own_layers"]
    assert not (harness.dirs.workspace / "generated.txt").exists()


def test_rule_41_store_toml_round_trip(harness: Harness) -> None:
    harness.script("a", build=[write("store.toml", '[metadata]\nlast = "1"\n')])
    harness.build("a")
    assert not (harness.dirs.cache / "layers" / "a").exists()
    image = tomllib.loads((harness.dirs.image / "metadata.toml").read_text())
    assert image["buildpacks"][0]["store"] == {"last": "1"}
    harness.script("a", build=[])
    harness.build("a")
    store = harness.record("a", "build")["own_layers"]["store.toml"]["text"]
    assert tomllib.loads(store) == {"metadata": {"last": "1"}}
    harness.build("a")  # kept as restored: it is exported again
    assert "store.toml" in harness.record("a", "build")["own_layers"]
    harness.script("a", build=[op("remove", path="store.toml")])
    harness.build("a")  # deleted: the next build gets none
    harness.build("a")
    assert "store.toml" not in harness.record("a", "build")["own_layers"]


def test_rule_41_store_toml_is_restored_even_without_cache(harness: Harness) -> None:
    harness.script("a", build=[write("store.toml", '[metadata]\nlast = "1"\n')])
    harness.build("a")
    harness.build("a", clear_cache=True)
    assert "store.toml" in harness.record("a", "build")["own_layers"]


def test_rule_42_layer_paths_are_the_same_at_build_and_launch(harness: Harness) -> None:
    harness.script(
        "a",
        build=[
            layer("venv", launch=True, files={"bin/app": "#!/bin/sh\n"}),
            write(
                "launch.toml", '[[processes]]\ntype = "web"\ncommand = ["app"]\ndefault = true\n'
            ),
        ],
    )
    harness.build("a")
    built_at = harness.record("a", "build")["env"]["CNB_LAYERS_DIR"]
    launch = harness.launch()
    assert launch.executable == f"{built_at}/venv/bin/app"
    assert launch.env["PATH"].startswith(f"{built_at}/venv/bin:")


def test_layers_of_buildpacks_outside_the_group_are_dropped(harness: Harness) -> None:
    harness.script("b", build=[layer("L", cache=True, launch=True)])
    harness.build("a", "b")
    assert "b:L" in _cache_layers(harness)
    harness.build("a")
    assert "b:L" not in _cache_layers(harness)
    assert not harness.dirs.cache.joinpath("layers", "b").exists()
    assert not (harness.dirs.layers / "b").exists()


def test_launch_layer_metadata_only_is_restored_even_with_clear_cache(harness: Harness) -> None:
    harness.script(
        "a",
        build=[
            layer("meta", launch=True, metadata={"k": "v"}),
            layer("both", cache=True, launch=True),
        ],
    )
    harness.build("a")
    harness.script("a", build=[])
    harness.build("a", clear_cache=True)
    own = harness.record("a", "build")["own_layers"]
    assert "meta.toml" in own
    assert "both.toml" not in own


def test_cached_layer_changed_after_caching_is_not_restored(harness: Harness) -> None:
    harness.script("a", build=[layer("L", cache=True, files={"f": "1"})])
    harness.build("a")
    with (harness.cache_path("a", "L") / "f").open("a") as f:
        f.write("tampered")  # say, an app editing its venv in place at run time
    harness.build("a")
    own = harness.record("a", "build")["own_layers"]
    assert "L.toml" not in own
    assert "L" not in own
    assert any("changed after it was cached" in line for line in harness.logs)
    # The buildpack re-created it; the cache now holds the fresh copy.
    assert (harness.cache_path("a", "L") / "f").read_text() == "1"
