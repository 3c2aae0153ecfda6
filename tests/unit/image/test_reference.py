"""Image references: the three forms `--image` takes, and docker's normalization."""

from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.image.errors import InvalidImageReference
from pycnb.image.reference import ArchiveRef, LayoutRef, RegistryRef, parse_image_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oci:/tmp/layout", LayoutRef(Path("/tmp/layout"), "latest")),
        ("oci:/tmp/layout:v1", LayoutRef(Path("/tmp/layout"), "v1")),
        ("docker-archive:/tmp/app.tar", ArchiveRef(Path("/tmp/app.tar"), None)),
        ("docker-archive:/tmp/app.tar:myapp", ArchiveRef(Path("/tmp/app.tar"), "myapp:latest")),
        ("docker-archive:/tmp/a.tar:r.io/x/app:2", ArchiveRef(Path("/tmp/a.tar"), "r.io/x/app:2")),
        ("python", RegistryRef("docker.io", "library/python", "latest")),
        ("heroku/heroku:24", RegistryRef("docker.io", "heroku/heroku", "24")),
        ("127.0.0.1:5000/team/app", RegistryRef("127.0.0.1:5000", "team/app", "latest")),
        ("localhost/app:dev", RegistryRef("localhost", "app", "dev")),
        (
            "ghcr.io/o/app@sha256:" + "a" * 64,
            RegistryRef("ghcr.io", "o/app", None, "sha256:" + "a" * 64),
        ),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse_image_ref(text) == expected


@pytest.mark.parametrize(
    "text", ["UPPER/case", "oci:", "docker-archive:", "app:bad tag", "app@sha256:short", "a//b"]
)
def test_rejects_with_the_forms_it_takes(text: str) -> None:
    with pytest.raises(InvalidImageReference) as caught:
        parse_image_ref(text)
    assert "oci:DIR" in str(caught.value)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    ("registry", "scheme"),
    [("localhost:5000", "http"), ("127.0.0.1:5000", "http"), ("ghcr.io", "https")],
)
def test_registries_on_this_machine_use_plain_http(registry: str, scheme: str) -> None:
    assert RegistryRef(registry, "app").scheme == scheme


def test_docker_hub_is_spoken_to_at_its_api_host() -> None:
    assert RegistryRef("docker.io", "library/python").api_host == "registry-1.docker.io"
