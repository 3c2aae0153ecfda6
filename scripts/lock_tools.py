"""Write the buildpack's locks of its tools' own dependencies (maintainers run it after a bump).

Usage: python scripts/lock_tools.py [TOOL ...]   (default: every locked tool)

Poetry, Pipenv and PDM are installed into their build-only layers from the buildpack's
`data/<tool>-requirements.txt`: every package pinned, with the sha256 of every file the index has
for it, for every platform and Python the buildpack supports (3.10 onwards). The pinned uv writes
them (`uv pip compile --universal`), from the public index unless UV_INDEX_URL says otherwise.
The tools and their constraints are listed in `tool_versions.LOCKED_TOOLS`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "src")]

from pycnb.buildpack.dependencies.tool_versions import LOCKED_TOOLS, UV_VERSION, LockedTool  # noqa: E402
from tests.support.tool_wheels import (  # noqa: E402 (needs the path set up above)
    fetch_tool_wheels,
    tool_wheels_dir,
)

_OLDEST_PYTHON = "3.10"


def _name(tool: LockedTool) -> str:
    return tool.requirement.split("==")[0]


def lock(uv: Path, tool: LockedTool) -> bool:
    constraints = "".join(f", {c}" for c in tool.constraints)
    header = (
        f"# {tool.requirement}{constraints} and the dependencies, for Python >= "
        f"{_OLDEST_PYTHON} on any platform.\n# Written by scripts/lock_tools.py; do not edit.\n"
    )
    requirements = "".join(f"{line}\n" for line in (tool.requirement, *tool.constraints))
    completed = subprocess.run(
        [str(uv), "pip", "compile", "--universal", "--python-version", _OLDEST_PYTHON,
         "--generate-hashes", "--no-header", "--no-annotate", "--quiet", "-"],
        input=requirements, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        print(f"lock_tools: uv pip compile failed for {_name(tool)}:\n{completed.stderr}")
        return False
    tool.lock.write_text(header + completed.stdout, encoding="utf-8")
    print(f"wrote {tool.lock.relative_to(_ROOT)}")
    return True


def _pinned_uv() -> Path:
    """The pinned uv, from the test wheelhouse (downloaded once), unpacked where it is cached."""
    wheels = tool_wheels_dir()
    fetch_tool_wheels(wheels, [f"uv=={UV_VERSION}"])
    target = wheels.parent / f"lock-uv-{UV_VERSION}"
    if not (target / "bin" / "uv").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--isolated", "--no-index",
             "--find-links", str(wheels), "--no-deps", "--target", str(target),
             f"uv=={UV_VERSION}"],
            check=True,
        )  # fmt: skip
    return target / "bin" / "uv"


def main(argv: list[str] | None = None) -> int:
    names = [_name(tool) for tool in LOCKED_TOOLS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("tools", nargs="*", metavar="TOOL", help=", ".join(names))
    wanted = set(parser.parse_args(argv).tools or names)
    if unknown := wanted - set(names):
        parser.error(f"not a locked tool: {', '.join(sorted(unknown))}")
    uv = _pinned_uv()
    results = [lock(uv, tool) for tool in LOCKED_TOOLS if _name(tool) in wanted]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
