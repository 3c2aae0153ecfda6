from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.settings_key import settings_key
from pycnb.cnb.context import BuildContext, Target


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


def test_key_is_random_private_build_only_and_kept(tmp_path: Path) -> None:
    layers = tmp_path / "layers"
    layers.mkdir()
    key = settings_key(_ctx(layers))
    assert len(key) == 32
    key_file = layers / "settings-key" / "key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    toml = (layers / "settings-key.toml").read_text()
    assert "launch = false" in toml
    assert "cache = true" in toml
    # As restored by the platform (metadata without [types], the directory): the same key.
    (layers / "settings-key.toml").write_text("[metadata]\nversion = 1\n")
    assert settings_key(_ctx(layers)) == key
    other = tmp_path / "other"
    other.mkdir()
    assert settings_key(_ctx(other)) != key
