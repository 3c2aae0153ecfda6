"""The local builder's `python3`: the interpreter running pycnb, first on the buildpacks' PATH.

A builder image ships the `python3` that runs bin/detect and bin/build of a Python-written
buildpack such as pycnb. The local platform plays the builder, and the interpreter running it is
already a CPython >= 3.11 (pycnb's own requirement), so that is the `python3` it hands out.

The host's own `python3` would do, but often worse: a version manager's shim (pyenv's costs about
0.1 s a call, twice a build, and chooses its version from the app's `.python-version`), or a
Python older than the buildpack needs. The buildpack's shims cope with both; they just no longer
have to.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["with_builder_python"]


def with_builder_python(host_env: Mapping[str, str], bin_dir: Path) -> dict[str, str]:
    """`host_env` with `bin_dir` first on PATH, holding `python3`: a link to the real interpreter
    running this process. Unchanged if that interpreter is unknown (an embedded Python)."""
    if not sys.executable:
        return dict(host_env)
    # The real binary: a venv's `python` is a link to it that means nothing outside the venv.
    _link(bin_dir / "python3", Path(os.path.realpath(sys.executable)))
    path = host_env.get("PATH")
    return {**host_env, "PATH": f"{bin_dir}{os.pathsep}{path}" if path else str(bin_dir)}


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() and link.readlink() == target:
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    # A new link renamed over the old one: a concurrent build never sees none.
    with tempfile.TemporaryDirectory(dir=link.parent) as scratch:
        staged = Path(scratch) / link.name
        staged.symlink_to(target)
        staged.replace(link)
