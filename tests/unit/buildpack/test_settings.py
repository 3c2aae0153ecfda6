from pathlib import Path

from pycnb.buildpack.settings import Settings


def test_platform_env_wins_and_values_are_stripped(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "BP_PYTHON_MIRROR").write_text("https://mirror.example/\n")
    settings = Settings.load(tmp_path, {"BP_PYTHON_MIRROR": "https://other", "BP_X": " 1 "})
    assert settings.get("BP_PYTHON_MIRROR") == "https://mirror.example/"
    assert settings.get("BP_X") == "1"
    assert settings.get("BP_UNSET") is None


def test_blank_values_count_as_unset(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "BP_PYTHON_MANIFEST").write_text("\n")
    assert (
        Settings.load(tmp_path, {"BP_PYTHON_MANIFEST": "/m.json"}).get("BP_PYTHON_MANIFEST")
        == "/m.json"
    )
