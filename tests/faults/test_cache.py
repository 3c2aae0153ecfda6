"""Corrupted cache entries: a cached layer whose files changed, went missing or were added behind
the platform's back is rebuilt, with the reason printed, never restored as it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import Faults, assert_clean_failure


def _cached_layer(faults: Faults) -> Path:
    return faults.root / "cache" / "layers" / "faults_writer" / "data"


def _delete(layer: Path) -> str:
    (layer / "bin" / "show").unlink()
    return "bin changed"


def _truncate(layer: Path) -> str:
    with (layer / "value.txt").open("r+") as file:  # in place: the image's copy too
        file.truncate(0)
    return "value.txt changed"


def _add(layer: Path) -> str:
    (layer / "stray.txt").write_text("not cached by a build\n")
    return "its top directory changed"


def _remove_layer(layer: Path) -> str:
    for path in sorted(layer.rglob("*"), key=lambda p: -len(p.parts)):
        path.unlink() if not path.is_dir() else path.rmdir()
    layer.rmdir()
    return "its files went missing"


@pytest.mark.parametrize(
    "corrupt", [_delete, _truncate, _add, _remove_layer], ids=["delete", "truncate", "add", "rm"]
)
def test_corrupted_cache_entry_is_rebuilt_with_the_reason(
    faults: Faults, corrupt: Callable[[Path], str]
) -> None:
    assert faults.build("one").code == 0
    reason = corrupt(_cached_layer(faults))
    result = faults.build("one")  # same inputs: only the cache check can tell
    assert result.code == 0, result.text
    assert "Traceback" not in result.text
    assert "Discarding cached 'faults/writer:data'" in result.text
    assert reason in result.text
    assert faults.shown() == "one"
    # And the rebuilt cache is trusted again.
    again = faults.build("one")
    assert "Discarding cached" not in again.text
    assert "and its contents from cache" in again.text


def test_corrupt_cache_metadata_is_a_clear_error_and_clear_cache_recovers(faults: Faults) -> None:
    assert faults.build("one").code == 0
    (faults.root / "cache" / "metadata.toml").write_text("schema = [broken\n")
    result = faults.pycnb("build")
    assert_clean_failure(result, "metadata.toml")
    assert faults.shown() == "one"
    healed = faults.pycnb("build", "--clear-cache")
    assert healed.code == 0, healed.text
    faults.assert_healthy("one")


def test_failed_build_that_edits_a_restored_file_in_place_is_caught(faults: Faults) -> None:
    assert faults.build("one").code == 0
    result = faults.build("two", append="corrupt\n", exit=1)
    assert_clean_failure(result, "failed")
    assert "modified 1 file(s) in place" in result.text
    # That file is the previous image's too (a hard link): the image refuses to run, saying why.
    refused = faults.pycnb("run")
    assert_clean_failure(refused, "can no longer be trusted", "data/value.txt")
    healed = faults.build("three")
    assert healed.code == 0, healed.text
    assert faults.shown() == "three"


def test_image_file_deleted_at_run_time_comes_back_from_the_cache(faults: Faults) -> None:
    assert faults.build("one").code == 0
    (faults.root / "layers" / "faults_writer" / "data" / "value.txt").unlink()
    result = faults.build("one")
    assert result.code == 0, result.text
    assert faults.shown() == "one"
