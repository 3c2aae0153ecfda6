"""store.toml: typed entries under [metadata], each key owned by one part of the buildpack."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from pycnb.cnb.store import STORE_FILE, read_store_entry, read_store_metadata, write_store_entry


@dataclass(frozen=True)
class Entry:
    version: str
    count: int


def test_missing_store_reads_as_empty(tmp_path: Path) -> None:
    assert read_store_metadata(tmp_path) == {}
    assert read_store_entry(tmp_path, "x", Entry) is None


def test_round_trip_keeps_other_keys(tmp_path: Path) -> None:
    (tmp_path / STORE_FILE).write_text('[metadata]\nother = "kept"\n[metadata.theirs]\na = 1\n')
    write_store_entry(tmp_path, "ours", Entry("3.12", 2))
    assert read_store_entry(tmp_path, "ours", Entry) == Entry("3.12", 2)
    with (tmp_path / STORE_FILE).open("rb") as file:
        assert tomllib.load(file) == {
            "metadata": {
                "other": "kept",
                "theirs": {"a": 1},
                "ours": {"version": "3.12", "count": 2},
            }
        }


def test_removing_an_entry_keeps_the_rest(tmp_path: Path) -> None:
    write_store_entry(tmp_path, "ours", Entry("3.12", 1))
    write_store_entry(tmp_path, "theirs", Entry("x", 0))
    write_store_entry(tmp_path, "ours", None)
    assert read_store_entry(tmp_path, "ours", Entry) is None
    assert read_store_entry(tmp_path, "theirs", Entry) == Entry("x", 0)


def test_removing_from_no_store_writes_nothing(tmp_path: Path) -> None:
    write_store_entry(tmp_path, "ours", None)
    assert not (tmp_path / STORE_FILE).exists()


@pytest.mark.parametrize(
    "content",
    [
        '[metadata.ours]\nversion = "3.12"\n',  # missing key
        '[metadata.ours]\nversion = "3.12"\ncount = 1\nextra = true\n',  # unknown key
        '[metadata.ours]\nversion = "3.12"\ncount = true\n',  # wrong type
        '[metadata]\nours = "flat"\n',
        "metadata = 1\n",
        "not [ toml",
        "",
    ],
    ids=["missing", "unknown", "wrong-type", "not-a-table", "odd-metadata", "invalid", "empty"],
)
def test_entries_of_another_shape_read_as_absent(tmp_path: Path, content: str) -> None:
    (tmp_path / STORE_FILE).write_text(content)
    assert read_store_entry(tmp_path, "ours", Entry) is None


def test_an_unreadable_store_is_replaced(tmp_path: Path) -> None:
    (tmp_path / STORE_FILE).write_text("not [ toml")
    write_store_entry(tmp_path, "ours", Entry("3.13", 0))
    assert read_store_entry(tmp_path, "ours", Entry) == Entry("3.13", 0)
