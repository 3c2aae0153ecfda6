"""Image references: where an image is read from or written to.

- `oci:DIR[:TAG]`: an OCI image layout directory; TAG (default `latest`) is the
  `org.opencontainers.image.ref.name` annotation in its index.json.
- `docker-archive:FILE[:NAME[:TAG]]`: a tarball `docker load` / `podman load` accept; NAME:TAG
  (TAG defaults to `latest`) is the name it loads as (untagged when left out).
- anything else: a registry reference, normalized as docker does (`python:3` is
  `docker.io/library/python:3`), with `:TAG` (default `latest`) or `@sha256:...`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from pycnb.image.errors import InvalidImageReference

__all__ = [
    "DEFAULT_RUN_IMAGE",
    "ArchiveRef",
    "ImageRef",
    "LayoutRef",
    "RegistryRef",
    "parse_image_ref",
    "parse_registry_ref",
]

# A CNB run image: Ubuntu 24.04 with the libraries a Python app needs, bash, and a non-root
# user; amd64 and arm64. The same base as Heroku's builder, which targets pycnb's runtimes.
DEFAULT_RUN_IMAGE = "docker.io/heroku/heroku:24"

DOCKER_HUB = "docker.io"
_DOCKER_HUB_API = "registry-1.docker.io"

# The distribution spec's grammar for repository path components and tags.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


@dataclass(frozen=True)
class RegistryRef:
    registry: str  # as written (docker.io for Docker Hub), with a port if any
    repository: str
    tag: str | None = "latest"
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What goes after /manifests/ in a URL: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        return _DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def scheme(self) -> str:
        # As docker does: plain HTTP for a registry on this machine, TLS everywhere else.
        host = self.registry.rsplit(":", 1)[0] if not self.registry.endswith("]") else ""
        host = host or self.registry
        host = host.strip("[]")
        if host == "localhost":
            return "http"
        try:
            return "http" if ipaddress.ip_address(host).is_loopback else "https"
        except ValueError:
            return "https"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class LayoutRef:
    path: Path
    tag: str = "latest"

    def __str__(self) -> str:
        return f"oci:{self.path}:{self.tag}"


@dataclass(frozen=True)
class ArchiveRef:
    path: Path
    name: str | None = None  # NAME:TAG for RepoTags

    def __str__(self) -> str:
        return f"docker-archive:{self.path}" + (f":{self.name}" if self.name else "")


ImageRef = RegistryRef | LayoutRef | ArchiveRef


def parse_image_ref(text: str) -> ImageRef:
    if text.startswith("oci:"):
        rest = text.removeprefix("oci:")
        directory, tag = rest, "latest"
        head, sep, tail = rest.rpartition(":")
        if sep and "/" not in tail:
            directory, tag = head, tail
        if not directory:
            raise InvalidImageReference(text, "the layout directory is missing")
        if not _TAG.fullmatch(tag):
            raise InvalidImageReference(text, f"{tag!r} is not a valid tag")
        return LayoutRef(Path(directory).absolute(), tag)
    if text.startswith("docker-archive:"):
        rest = text.removeprefix("docker-archive:")
        file, _, name = rest.partition(":")
        if not file:
            raise InvalidImageReference(text, "the archive file is missing")
        if name:
            ref = parse_registry_ref(name, original=text)
            name = f"{ref.registry}/{ref.repository}:{ref.tag or 'latest'}"
            name = name.removeprefix(f"{DOCKER_HUB}/library/").removeprefix(f"{DOCKER_HUB}/")
        return ArchiveRef(Path(file).absolute(), name or None)
    return parse_registry_ref(text)


def parse_registry_ref(text: str, *, original: str | None = None) -> RegistryRef:
    shown = original or text
    name, _, digest = text.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise InvalidImageReference(shown, f"{digest!r} is not a sha256 digest")
    first, slash, remainder = name.partition("/")
    # The first component names a registry when it looks like a host (a dot or a port), as in
    # docker's normalization; otherwise the reference is on Docker Hub.
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, name
    tag: str | None = None
    last_slash = path.rfind("/")
    if ":" in path[last_slash + 1 :]:
        path, _, tag = path.rpartition(":")
        if not _TAG.fullmatch(tag):
            raise InvalidImageReference(shown, f"{tag!r} is not a valid tag")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not _REPOSITORY.fullmatch(path):
        raise InvalidImageReference(
            shown, f"{path!r} is not a repository name (lowercase letters, digits, . _ - and /)"
        )
    if tag is None and not digest:
        tag = "latest"
    return RegistryRef(registry, path, tag, digest or None)
