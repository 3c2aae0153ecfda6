from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.installer_settings import installer_settings_changed
from pycnb.cnb.context import BuildContext, Target
from pycnb.cnb.toml import read_toml, write_toml


def _ctx(layers: Path) -> BuildContext:
    return BuildContext(
        app_dir=layers.parent,
        buildpack_dir=layers.parent,
        platform_dir=layers.parent,
        layers_dir=layers,
        plan=(),
        target=Target("linux", "amd64", None, None, None),
        env={},
    )


def _restore(layers: Path) -> None:
    """What the platform restores of a cache-only layer: its metadata without [types]."""
    toml = layers / "installer-settings.toml"
    write_toml(toml, {"metadata": read_toml(toml)["metadata"]})


def test_settings_are_compared_with_the_last_build(tmp_path: Path) -> None:
    layers = tmp_path / "layers"
    layers.mkdir()
    index = {"PIP_INDEX_URL": "https://user:pw@index.example/", "UV_X": "1"}
    assert installer_settings_changed(_ctx(layers), index, prefix="PIP_"), "no last build"
    _restore(layers)
    assert not installer_settings_changed(_ctx(layers), {**index, "UV_X": "2"}, prefix="PIP_")
    _restore(layers)
    assert installer_settings_changed(_ctx(layers), {}, prefix="PIP_")
    _restore(layers)
    assert installer_settings_changed(_ctx(layers), index, prefix="PIP_")


def test_the_record_is_keyed_private_and_build_only(tmp_path: Path) -> None:
    layers = tmp_path / "layers"
    layers.mkdir()
    settings = {"PIP_INDEX_URL": "https://user:pw@index.example/"}
    installer_settings_changed(_ctx(layers), settings, prefix="PIP_")
    key_file = layers / "installer-settings" / "key"
    assert len(key_file.read_bytes()) == 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    toml = read_toml(layers / "installer-settings.toml")
    assert toml["types"] == {"build": False, "launch": False, "cache": True}
    assert "pw" not in str(toml["metadata"])
    # Another cache has another key, so the same settings give another digest.
    other = tmp_path / "other"
    other.mkdir()
    installer_settings_changed(_ctx(other), settings, prefix="PIP_")
    theirs = read_toml(other / "installer-settings.toml")["metadata"]["settings_digest"]
    assert theirs != toml["metadata"]["settings_digest"]


def test_a_lost_key_reads_as_a_change(tmp_path: Path) -> None:
    layers = tmp_path / "layers"
    layers.mkdir()
    settings = {"PIP_INDEX_URL": "https://index.example/"}
    installer_settings_changed(_ctx(layers), settings, prefix="PIP_")
    _restore(layers)
    (layers / "installer-settings" / "key").unlink()
    assert installer_settings_changed(_ctx(layers), settings, prefix="PIP_")
