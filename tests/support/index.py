"""A local PEP 503 simple index, built from wheel directories and served on 127.0.0.1.

Layout written by `build_simple_index`:

    index_dir/files/<wheel or sdist>
    index_dir/files/<wheel>.metadata               (the wheel's METADATA, PEP 658)
    index_dir/simple/index.html                    (every project)
    index_dir/simple/<normalized-name>/index.html  (links with #sha256=, data-requires-python
                                                    and, for wheels, data-core-metadata)

Serving each wheel's metadata beside it, as PyPI does, lets uv and pip resolve without
downloading every wheel (or range-requesting it, which this server does not support) first.
"""

from __future__ import annotations

import contextlib
import email.parser
import functools
import hashlib
import html
import shutil
import tarfile
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["build_simple_index", "serve_index"]


def build_simple_index(wheel_dirs: Iterable[Path], index_dir: Path) -> Path:
    """Copy every `*.whl` / `*.tar.gz` found in `wheel_dirs` into a simple index; returns its root.

    Calling it again on the same `index_dir` adds files and rewrites the pages.
    """
    files_dir = index_dir / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    for directory in wheel_dirs:
        for source in sorted(directory.iterdir()):
            if _project_of(source.name) is not None:
                _copy_once(source, files_dir / source.name)
                if source.name.endswith(".whl"):
                    metadata = _metadata(source)
                    if metadata is not None:
                        (files_dir / f"{source.name}.metadata").write_bytes(metadata)

    projects: dict[NormalizedName, list[Path]] = {}
    for file in sorted(files_dir.iterdir()):
        project = _project_of(file.name)
        if project is not None:
            projects.setdefault(project, []).append(file)

    simple = index_dir / "simple"
    simple.mkdir(exist_ok=True)
    root_links = [f'<a href="{html.escape(name)}/">{html.escape(name)}</a>' for name in projects]
    (simple / "index.html").write_text(_page("Simple index", root_links), encoding="utf-8")
    for name, files in projects.items():
        links = [_link(file) for file in files]
        (simple / name).mkdir(exist_ok=True)
        (simple / name / "index.html").write_text(_page(f"Links for {name}", links), "utf-8")
    return index_dir


@contextlib.contextmanager
def serve_index(index_dir: Path) -> Iterator[str]:
    """Serve `index_dir` over HTTP on 127.0.0.1 (an ephemeral port); yields the simple index URL."""
    handler = functools.partial(_QuietHandler, directory=str(index_dir))
    server = _Server(("127.0.0.1", 0), handler)
    # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
    serve = functools.partial(server.serve_forever, poll_interval=0.05)
    thread = threading.Thread(target=serve, name="test-index", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Server(ThreadingHTTPServer):
    # uv opens dozens of connections at once; with the default backlog of 5, the kernel drops
    # the rest of the SYNs and each of those clients waits a second or more to retry.
    request_queue_size = 256


class _QuietHandler(SimpleHTTPRequestHandler):
    # Request logs would land on the test's stderr and bury the output that matters.
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


def _project_of(filename: str) -> NormalizedName | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        if filename.endswith(".tar.gz"):
            return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _copy_once(source: Path, target: Path) -> None:
    if target.exists():
        if _sha256(target) != _sha256(source):
            raise ValueError(f"two different files named {source.name} for one index")
        return
    shutil.copyfile(source, target)


def _link(file: Path) -> str:
    href = html.escape(f"../../files/{file.name}#sha256={_sha256(file)}")
    attributes = f'href="{href}"'
    requires_python = _requires_python(file)
    if requires_python is not None:
        # PEP 503: the value is HTML-escaped (`<` and `>` are common in it).
        attributes += f' data-requires-python="{html.escape(requires_python)}"'
    metadata = file.with_name(f"{file.name}.metadata")
    if metadata.is_file():
        digest = f"sha256={_sha256(metadata)}"
        # PEP 714's name, and PEP 658's original one that older clients read.
        attributes += f' data-core-metadata="{digest}" data-dist-info-metadata="{digest}"'
    return f"<a {attributes}>{html.escape(file.name)}</a>"


def _metadata(wheel: Path) -> bytes | None:
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.count("/") == 1]
        found = [n for n in names if n.endswith(".dist-info/METADATA")]
        return archive.read(found[0]) if found else None


def _requires_python(file: Path) -> str | None:
    metadata: bytes | None = None
    if file.name.endswith(".whl"):
        metadata = _metadata(file)
    else:
        with tarfile.open(file, "r:gz") as archive:
            members = [m for m in archive.getmembers() if m.name.count("/") == 1]
            found_members = [m for m in members if m.name.endswith("/PKG-INFO")]
            extracted = archive.extractfile(found_members[0]) if found_members else None
            metadata = extracted.read() if extracted else None
    if metadata is None:
        return None
    value = email.parser.BytesParser().parsebytes(metadata, headersonly=True)["Requires-Python"]
    return str(value) if value is not None else None


def _sha256(file: Path) -> str:
    with file.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _page(title: str, links: list[str]) -> str:
    body = "<br/>\n".join(links)
    return (
        f'<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
