from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pycnb.cnb.layers import (
    CachedLayer,
    DeleteLayer,
    Empty,
    InvalidMetadata,
    NewlyCreated,
    Rejected,
    ReplaceMetadata,
    Restored,
    RestoredLayerAction,
    metadata_from_table,
    open_cached_layer,
    open_uncached_layer,
)
from pycnb.cnb.names import LayerName
from pycnb.cnb.toml import read_toml, write_toml

NAME = LayerName("thing")


@dataclass(frozen=True)
class Meta:
    version: str
    count: int


def keep_if_same(new: Meta) -> CachedLayer[Meta, str]:
    def action(old: Meta, _path: Path) -> tuple[RestoredLayerAction, str]:
        if old == new:
            return RestoredLayerAction.KEEP, "same"
        return RestoredLayerAction.DELETE, f"{old.version} -> {new.version}"

    return CachedLayer(build=True, launch=False, metadata_type=Meta, restored_layer_action=action)


def restore(layers: Path, metadata: dict[str, Any], *, contents: bool = True) -> None:
    """Put the layers dir in the state the platform leaves after a restore: no [types]."""
    write_toml(layers / "thing.toml", {"metadata": metadata})
    if contents:
        (layers / "thing").mkdir()
        (layers / "thing" / "file").write_text("cached")


def test_new_layer_is_empty_and_has_no_toml_until_metadata_is_written(tmp_path: Path) -> None:
    ref = open_cached_layer(tmp_path, NAME, keep_if_same(Meta("1", 1)))
    assert ref.state == Empty(NewlyCreated())
    assert ref.path.is_dir()
    assert not ref.toml_path.exists()
    ref.write_metadata(Meta("1", 1))
    assert read_toml(ref.toml_path) == {
        "types": {"build": True, "launch": False, "cache": True},
        "metadata": {"version": "1", "count": 1},
    }


def test_restored_layer_is_kept_and_gets_its_types_back(tmp_path: Path) -> None:
    restore(tmp_path, {"version": "1", "count": 1})
    ref = open_cached_layer(tmp_path, NAME, keep_if_same(Meta("1", 1)))
    assert ref.state == Restored("same")
    assert (ref.path / "file").read_text() == "cached"
    assert read_toml(ref.toml_path)["types"] == {"build": True, "launch": False, "cache": True}


def test_rejected_layer_is_emptied_with_the_cause(tmp_path: Path) -> None:
    restore(tmp_path, {"version": "1", "count": 1})
    ref = open_cached_layer(tmp_path, NAME, keep_if_same(Meta("2", 1)))
    assert ref.state == Empty(Rejected("1 -> 2"))
    assert list(ref.path.iterdir()) == []
    assert not ref.toml_path.exists()


def test_metadata_without_contents_is_a_new_layer(tmp_path: Path) -> None:
    restore(tmp_path, {"version": "1", "count": 1}, contents=False)
    ref = open_cached_layer(tmp_path, NAME, keep_if_same(Meta("1", 1)))
    assert ref.state == Empty(NewlyCreated())


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ({"version": "1"}, "missing keys: count"),
        ({"version": "1", "count": 1, "extra": 2}, "unexpected keys: extra"),
        ({"version": "1", "count": "1"}, "count should be int"),
        ({"version": "1", "count": True}, "count should be int"),
    ],
)
def test_invalid_metadata_deletes_by_default(
    tmp_path: Path, metadata: dict[str, Any], problem: str
) -> None:
    restore(tmp_path, metadata)
    ref = open_cached_layer(tmp_path, NAME, keep_if_same(Meta("1", 1)))
    assert isinstance(ref.state, Empty)
    assert isinstance(ref.state.cause, InvalidMetadata)
    assert problem in ref.state.cause.problem


def test_invalid_metadata_can_be_migrated(tmp_path: Path) -> None:
    restore(tmp_path, {"version": "1"})

    def migrate(table: Any) -> DeleteLayer | ReplaceMetadata[Meta]:
        return ReplaceMetadata(Meta(table["version"], 1))

    definition = CachedLayer(
        build=False,
        launch=True,
        metadata_type=Meta,
        restored_layer_action=keep_if_same(Meta("1", 1)).restored_layer_action,
        invalid_metadata_action=migrate,
    )
    ref = open_cached_layer(tmp_path, NAME, definition)
    assert ref.state == Restored("same")
    assert read_toml(ref.toml_path)["metadata"] == {"version": "1", "count": 1}


def test_uncached_layer_always_starts_empty(tmp_path: Path) -> None:
    restore(tmp_path, {"version": "1", "count": 1})
    ref = open_uncached_layer(tmp_path, NAME, build=False, launch=True)
    assert ref.state == Empty(NewlyCreated())
    assert list(ref.path.iterdir()) == []
    assert not ref.toml_path.exists()


def test_metadata_from_table_accepts_exact_fields() -> None:
    assert metadata_from_table(Meta, {"version": "3", "count": 2}) == Meta("3", 2)
