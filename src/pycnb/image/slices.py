"""`launch.toml` slices: parts of the app exported as layers of their own (`[[slices]]`).

As the lifecycle (`layers/slices.go`): each slice's `paths` are Go `filepath.Match` globs
relative to the app dir (`*` and `?` never match `/`, `[...]` classes with `^` for negation, no
`**`); a match that is a directory brings everything under it; a file already taken by an
earlier slice stays there. Each slice is one layer, even when it matches nothing; what no slice
took is the last app layer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

__all__ = ["go_glob", "slice_files"]


def go_glob(pattern: str) -> re.Pattern[str]:
    """A regular expression that matches what `filepath.Match(pattern, path)` matches."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[" and (end := pattern.find("]", index + 2)) != -1:
            body = pattern[index + 1 : end]
            negate = body.startswith("^")
            body = body.removeprefix("^").replace("\\", "\\\\")
            out.append(f"[{'^/' if negate else ''}{body}]")
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out))


def _all_paths(app_dir: Path) -> tuple[list[str], list[str]]:
    directories: list[str] = []
    files: list[str] = []
    for directory, dirnames, filenames in os.walk(app_dir):
        base = PurePosixPath(Path(directory).relative_to(app_dir).as_posix())
        directories.extend(str(base / name) for name in dirnames)  # "." / name is name
        files.extend(str(base / name) for name in filenames)
    return directories, files


def slice_files(app_dir: Path, slices: Sequence[Sequence[str]]) -> list[frozenset[str]]:
    """For each slice, the app files (relative POSIX paths) that go into its layer."""
    directories, files = _all_paths(app_dir)
    taken: set[str] = set()
    result = []
    for paths in slices:
        chosen: set[str] = set()
        for raw in paths:
            pattern = raw
            if PurePosixPath(raw).is_absolute():
                # An absolute glob must be inside the app dir; anything else matches nothing.
                try:
                    pattern = str(PurePosixPath(raw).relative_to(app_dir.as_posix()))
                except ValueError:
                    continue
            regex = go_glob(pattern.removeprefix("./"))
            for directory in directories:
                if regex.fullmatch(directory):
                    chosen.update(f for f in files if f.startswith(directory + "/"))
            chosen.update(f for f in files if regex.fullmatch(f))
        chosen -= taken
        taken |= chosen
        result.append(frozenset(chosen))
    return result
