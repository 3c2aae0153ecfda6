"""The sticky default, kept in store.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.buildpack.python.default import read_previous_default, remember_default
from pycnb.buildpack.python.version import (
    MinorVersion,
)


def test_default_is_remembered_and_forgotten(tmp_path: Path) -> None:
    assert read_previous_default(tmp_path) is None
    remember_default(tmp_path, None)
    assert not (tmp_path / "store.toml").exists(), "nothing to remember, nothing written"
    remember_default(tmp_path, MinorVersion(3, 12))
    assert read_previous_default(tmp_path) == MinorVersion(3, 12)
    assert 'default_version = "3.12"' in (tmp_path / "store.toml").read_text()
    remember_default(tmp_path, None)
    assert read_previous_default(tmp_path) is None


@pytest.mark.parametrize(
    "store",
    [
        '[metadata.python]\ndefault_version = "3.12.1"\n',
        '[metadata.python]\ndefault_version = "latest"\n',
        "[metadata.python]\ndefault_version = 3.12\n",
        '[metadata.python]\ndefault_version = "3.12"\nother = 1\n',
        "[metadata]\npython = 1\n",
        "not toml [",
    ],
)
def test_unexpected_store_entries_mean_no_default(tmp_path: Path, store: str) -> None:
    (tmp_path / "store.toml").write_text(store)
    assert read_previous_default(tmp_path) is None
