"""The installers' download caches: kept ones come back, uv's scratch one never does."""

from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.download_cache import scratch_download_cache
from pycnb.cnb.context import BuildContext, Target
from pycnb.cnb.names import LayerName


def test_a_scratch_cache_starts_empty_and_drops_a_kept_one(tmp_path: Path) -> None:
    layers = tmp_path / "layers"
    # What an older pycnb kept, restored by the platform: metadata and contents.
    (layers / "uv-cache" / "archive-v0").mkdir(parents=True)
    (layers / "uv-cache" / "archive-v0" / "wheel.py").write_text("old")
    (layers / "uv-cache.toml").write_text("[metadata]\narch = 'amd64'\n")
    target = Target("linux", "amd64", None, None, None)
    ctx = BuildContext(tmp_path, tmp_path, tmp_path, layers, (), target, {})

    path = scratch_download_cache(ctx, LayerName("uv-cache"))

    assert path == layers / "uv-cache"
    assert path.is_dir()
    assert not any(path.iterdir())
    # No <layer>.toml: neither exported nor cached.
    assert not (layers / "uv-cache.toml").exists()
