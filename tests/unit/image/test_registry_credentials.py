"""Where registry credentials come from: docker's and podman's config files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from pycnb.image.registry import Credentials, credentials_for


def _write(path: Path, auths: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": auths}))


def test_docker_config_inline_auth(tmp_path: Path) -> None:
    token = base64.b64encode(b"me:s3cret:with-colon").decode()
    _write(tmp_path / ".docker" / "config.json", {"registry.example.com": {"auth": token}})
    env = {"HOME": str(tmp_path)}
    assert credentials_for("registry.example.com", env) == Credentials("me", "s3cret:with-colon")
    assert credentials_for("other.example.com", env) is None


def test_docker_hub_key_and_docker_config_env(tmp_path: Path) -> None:
    token = base64.b64encode(b"hub:pw").decode()
    _write(tmp_path / "cfg" / "config.json", {"https://index.docker.io/v1/": {"auth": token}})
    env = {"HOME": str(tmp_path / "nowhere"), "DOCKER_CONFIG": str(tmp_path / "cfg")}
    assert credentials_for("docker.io", env) == Credentials("hub", "pw")


def test_registry_auth_file_comes_first(tmp_path: Path) -> None:
    _write(tmp_path / "auth.json", {"r.io": {"username": "podman", "password": "p"}})
    _write(tmp_path / ".docker" / "config.json", {"r.io": {"username": "docker", "password": "d"}})
    env = {"HOME": str(tmp_path), "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}
    assert credentials_for("r.io", env) == Credentials("podman", "p")
