"""Bytecode for the layers: hash-based `.pyc` files, compiled on every CPU at once.

The layers are cached, and the lifecycle resets every mtime to 1980 when it stores them, so
their `.pyc` files are hash-based (PEP 552, checked): still valid when restored, and never
rewritten by a later build. Compiling is the slowest part of installing Poetry (over 1,000
modules), so the files are split between one runtime process per CPU. A few large shards beat
`compileall -j0`, which hands its worker processes one file at a time.

A file whose `.pyc` is already right (hash-based, for this very source) is not compiled again,
so compiling a kept venv after a sync costs what the sync changed: `compileall` and uv's
`--compile-bytecode` recompile every hash-based file, which is most of a one-pin rebuild.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pycnb.buildpack.commands import run_captured

__all__ = ["compile_tree"]

# Run by the runtime's Python (3.10 onwards): compile every index-th of the tree's sorted .py
# files, so the shards need nothing but the tree and their number.
_COMPILE_SHARD = """
import importlib.util, os, py_compile, re, sys
root, index, count, skip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
CHECKED_HASH = (0b11).to_bytes(4, "little")
paths = sorted(
    os.path.join(directory, name)
    for directory, _, names in os.walk(root)
    for name in names
    if name.endswith(".py")
)
if skip:
    paths = [path for path in paths if not re.search(skip, path)]

def up_to_date(path):
    try:
        with open(importlib.util.cache_from_source(path), "rb") as pyc:
            header = pyc.read(16)
        with open(path, "rb") as source:
            digest = importlib.util.source_hash(source.read())
    except OSError:
        return False
    return header == importlib.util.MAGIC_NUMBER + CHECKED_HASH + digest

for path in paths[index::count]:
    if up_to_date(path):
        continue
    try:
        py_compile.compile(
            path, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH
        )
    except py_compile.PyCompileError:
        pass  # as with pip's own --compile: a file this Python cannot compile gets no .pyc
"""


def compile_tree(
    python: Path, root: Path, *, env: Mapping[str, str], cwd: Path, skip: str = ""
) -> None:
    """Compile every `.py` file under `root` for `python`, next to its source, except the paths
    the regular expression `skip` matches."""
    count = _cpus()
    argvs = [
        [str(python), "-I", "-c", _COMPILE_SHARD, str(root), str(index), str(count), skip]
        for index in range(count)
    ]
    with ThreadPoolExecutor(max_workers=count) as pool:
        runs = [pool.submit(run_captured, argv, env=env, cwd=cwd) for argv in argvs]
        for run in runs:
            run.result()  # the first failure, once every shard has finished


def _cpus() -> int:
    # The CPUs this process may run on, which a container may limit below the machine's.
    return max(1, len(os.sched_getaffinity(0)))
