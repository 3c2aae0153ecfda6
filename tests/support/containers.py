"""Real container tools for the image tests: a registry server on 127.0.0.1 (Debian's
`docker-registry`), a minimal Debian root file system (mmdebstrap) and a run image made from it
with umoci. `.ci/run` installs the Debian packages; a missing one fails the test, naming it.

The root file system and the run image are cached in the user cache dir
(`<cache>/pycnb/test-run-image/`): mmdebstrap downloads packages, so it runs once per machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "RUN_IMAGE_GID",
    "RUN_IMAGE_UID",
    "debian_rootfs",
    "debian_run_image",
    "registry_server",
    "require_tool",
]

# Debian 12, as the machines that run the tests; what a CPython needs besides the C library
# (its extension modules link these), and bash for Procfile processes. A CNB run image has them.
_SUITE = "bookworm"
_PACKAGES = (
    "bash,ca-certificates,libbz2-1.0,libexpat1,libffi8,liblzma5,libncursesw6,libreadline8,"
    "libsqlite3-0,libssl3,libuuid1,zlib1g"
)
RUN_IMAGE_UID = 1000
RUN_IMAGE_GID = 1000
_INSTALL = "apt-get install -y docker-registry skopeo umoci mmdebstrap (what .ci/run does)"


def require_tool(name: str) -> str:
    found = shutil.which(name)
    assert found is not None, f"{name} is not installed: {_INSTALL}"
    return found


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pycnb" / "test-run-image"


def debian_rootfs() -> Path:
    """A tarball of a minimal Debian root file system, made once by mmdebstrap."""
    target = _cache_dir() / f"debian-{_SUITE}-minbase.tar"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.tar")
    subprocess.run(
        [require_tool("mmdebstrap"), "--quiet", "--variant=minbase", f"--include={_PACKAGES}",
         _SUITE, str(partial)],
        check=True,
        timeout=1200,
    )  # fmt: skip
    partial.replace(target)
    return target


def debian_run_image() -> Path:
    """An OCI layout (tag `run`) of that root file system with a non-root user (1000:1000),
    made with umoci, as a CNB run image: the base of the images the tests export."""
    layout = _cache_dir() / "run-image"
    if (layout / "index.json").is_file():
        return layout
    umoci = require_tool("umoci")
    work = _cache_dir() / "run-image.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    partial, bundle = work / "layout", work / "bundle"
    subprocess.run([umoci, "init", "--layout", str(partial)], check=True)
    subprocess.run([umoci, "new", "--image", f"{partial}:run"], check=True)
    subprocess.run([umoci, "unpack", "--image", f"{partial}:run", str(bundle)], check=True)
    # GNU tar, as root: device nodes and owners as mmdebstrap wrote them.
    subprocess.run(["tar", "-xf", str(debian_rootfs()), "-C", str(bundle / "rootfs")], check=True)
    etc = bundle / "rootfs" / "etc"
    with (etc / "passwd").open("a") as passwd:
        passwd.write(f"cnb:x:{RUN_IMAGE_UID}:{RUN_IMAGE_GID}::/home/cnb:/bin/sh\n")
    with (etc / "group").open("a") as group:
        group.write(f"cnb:x:{RUN_IMAGE_GID}:\n")
    (bundle / "rootfs" / "home" / "cnb").mkdir(parents=True)
    os.chown(bundle / "rootfs" / "home" / "cnb", RUN_IMAGE_UID, RUN_IMAGE_GID)
    subprocess.run([umoci, "repack", "--image", f"{partial}:run", str(bundle)], check=True)
    subprocess.run(
        [umoci, "config", "--image", f"{partial}:run", "--config.user", "cnb",
         "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
         "--config.label", "io.buildpacks.base.distro.name=debian",
         "--config.label", "io.buildpacks.base.distro.version=12",
         "--config.cmd", "bash"],
        check=True,
    )  # fmt: skip
    subprocess.run([umoci, "gc", "--layout", str(partial)], check=True)
    partial.rename(layout)
    shutil.rmtree(work, ignore_errors=True)
    return layout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def registry_server(storage: Path) -> Iterator[str]:
    """A real registry (distribution) on 127.0.0.1, storing in `storage`; yields `host:port`."""
    program = require_tool("docker-registry")
    port = _free_port()
    config = storage / "config.yml"
    storage.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n",
        encoding="utf-8",
    )
    log = (storage / "registry.log").open("wb")
    process = subprocess.Popen([program, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                assert process.poll() is None, (storage / "registry.log").read_text()
                assert time.monotonic() < deadline, "the registry did not start in 30 s"
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
