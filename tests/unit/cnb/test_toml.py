from pathlib import Path

import pytest

from pycnb.cnb.toml import InvalidToml, read_toml, write_toml


def test_round_trip_and_no_temp_files_left(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "x.toml"
    write_toml(path, {"types": {"launch": True}, "metadata": {"v": "1"}})
    assert read_toml(path) == {"types": {"launch": True}, "metadata": {"v": "1"}}
    assert [p.name for p in path.parent.iterdir()] == ["x.toml"]


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("a = [")
    with pytest.raises(InvalidToml) as error:
        read_toml(path)
    assert str(path) in str(error.value)
