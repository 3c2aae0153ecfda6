"""Reading the package index the way pip would find it: the PIP_* index settings, and the files
a project has there (PEP 691 JSON, or the PEP 503 HTML page, or a find-links directory).

Used where the buildpack asks the index itself instead of starting an installer: which wheels a
pinned distribution has (`pins.py`), and where the wheels of uv and pip are (`tool_wheels.py`);
and where uv installs the other tools from the same index (`pip_index_args`).
"""

from __future__ import annotations

import json
import ssl
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from pycnb.buildpack.python.download import authorized_request

__all__ = [
    "PYPI",
    "IndexFile",
    "index_sources",
    "pip_index_args",
    "project_files",
    "tls_context",
]

PYPI = "https://pypi.org/simple/"
_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
_MAX_PAGE = 32 << 20  # bytes of one project page; PyPI's largest are a few MiB


@dataclass(frozen=True)
class IndexFile:
    name: str  # the file name: "uv-0.13.9-py3-none-any.whl"
    url: str  # where to get it, with the source's credentials if it had any


def index_sources(env: Mapping[str, str]) -> list[str]:
    """The simple indexes pip would use, in order, then the find-links locations (URLs or local
    directories)."""
    sources = []
    if not _no_index(env):
        sources.append(env.get("PIP_INDEX_URL") or PYPI)
        sources += env.get("PIP_EXTRA_INDEX_URL", "").split()
    return sources + env.get("PIP_FIND_LINKS", "").split()


def pip_index_args(env: Mapping[str, str]) -> list[str]:
    """The same PIP_* index settings as uv's options, for what uv installs from that index."""
    args = ["--no-index"] if _no_index(env) else []
    if index := env.get("PIP_INDEX_URL"):
        args += ["--index-url", index]
    for name, option in (
        ("PIP_EXTRA_INDEX_URL", "--extra-index-url"),
        ("PIP_FIND_LINKS", "--find-links"),
        ("PIP_TRUSTED_HOST", "--allow-insecure-host"),
    ):
        for value in env.get(name, "").split():
            args += [option, value]
    return args


def _no_index(env: Mapping[str, str]) -> bool:
    return env.get("PIP_NO_INDEX", "").lower() in ("1", "true", "yes", "on")


def tls_context(env: Mapping[str, str]) -> ssl.SSLContext:
    """What HTTPS to the index trusts: `PIP_CERT` when set, as pip would, else the system's
    store (the build machine's OpenSSL defaults)."""
    return ssl.create_default_context(cafile=env.get("PIP_CERT") or None)


def project_files(
    source: str, project: str, *, timeout: float, context: ssl.SSLContext | None = None
) -> list[IndexFile]:
    """The files `source` has for `project` (a canonical name). Raises OSError or ValueError when
    the source cannot be read."""
    if "://" not in source or source.startswith("file:"):
        directory = Path(urllib.parse.urlsplit(source).path if "://" in source else source)
        return [IndexFile(path.name, path.as_uri()) for path in sorted(directory.glob("*.whl"))]
    page = source.rstrip("/") + f"/{project}/"
    request = authorized_request(page, {"Accept": _ACCEPT})  # http(s): file: is handled above
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
        body = response.read(_MAX_PAGE).decode("utf-8", errors="replace")
        kind = response.headers.get("Content-Type", "")
        # A redirect (pip's `/simple/Name` -> `/simple/name/`) moves the base of relative links.
        base = _with_credentials_of(page, response.geturl())
    if "json" in kind:
        entries = json.loads(body).get("files", [])
        links = [(str(f.get("filename", "")), str(f.get("url", ""))) for f in entries]
    else:
        parser = _Links()
        parser.feed(body)
        links = parser.links
    return [
        IndexFile(name, _with_credentials_of(page, urllib.parse.urljoin(base, href)))
        for name, href in links
        if name and href
    ]


def _with_credentials_of(page: str, url: str) -> str:
    """`url` with the index's credentials when it is on the index's host, as pip sends them."""
    index = urllib.parse.urlsplit(page)
    target = urllib.parse.urlsplit(url)
    if not index.username or target.username or target.hostname != index.hostname:
        return url
    userinfo = index.netloc.rpartition("@")[0]
    return urllib.parse.urlunsplit(target._replace(netloc=f"{userinfo}@{target.netloc}"))


class _Links(HTMLParser):
    """The (file name, href) pairs a PEP 503 page links to."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            name = urllib.parse.unquote(href.split("#", 1)[0].rsplit("/", 1)[-1])
            self.links.append((name, href))
