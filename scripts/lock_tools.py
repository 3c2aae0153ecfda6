"""Write the buildpack's locks of its tools (maintainers run it after a bump).

Usage: python scripts/lock_tools.py [TOOL ...]   (default: every locked tool, and the wheels)

uv and pip are unpacked by the buildpack from their wheels: `data/tool-wheels.toml` lists the
Linux wheels of the pinned versions with their sha256, from the public index's JSON API.

Poetry, Pipenv and PDM are installed into their build-only layers from the buildpack's
`data/<tool>-requirements.txt`: every package pinned, with the sha256 of every file the index has
for it, for every platform and Python the buildpack supports (3.10 onwards). The pinned uv writes
them (`uv pip compile --universal`), from the public index unless UV_INDEX_URL says otherwise.
The tools and their constraints are listed in `tool_versions.LOCKED_TOOLS`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import tomli_w

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "src")]

from pycnb.buildpack.dependencies.tool_versions import (  # noqa: E402
    LOCKED_TOOLS,
    PIP_VERSION,
    TOOL_WHEELS,
    UV_VERSION,
    LockedTool,
)
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


_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def lock_wheels() -> bool:
    """The sha256 of every Linux wheel of the pinned uv and pip, from the public index."""
    table: dict[str, dict[str, object]] = {}
    for project, version in (("uv", UV_VERSION), ("pip", PIP_VERSION)):
        request = urllib.request.Request(
            f"https://pypi.org/simple/{project}/", headers={"Accept": _SIMPLE_JSON}
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - https only
            files = json.load(response)["files"]
        wheels = {
            file["filename"]: file["hashes"]["sha256"]
            for file in files
            if file["filename"].startswith(f"{project}-{version}-")
            and file["filename"].endswith(".whl")
            and ("-any.whl" in file["filename"] or "linux" in file["filename"])
        }
        if not wheels:
            print(f"lock_tools: no wheel of {project} {version} on the public index")
            return False
        table[project] = {"version": version, "wheels": dict(sorted(wheels.items()))}
    header = (
        "# The wheels pycnb unpacks itself, with their sha256 (see tool_wheels.py).\n"
        "# Written by scripts/lock_tools.py; do not edit.\n"
    )
    TOOL_WHEELS.write_text(header + tomli_w.dumps(table), encoding="utf-8")
    print(f"wrote {TOOL_WHEELS.relative_to(_ROOT)}")
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
    if not parser.parse_args(argv).tools:
        results.append(lock_wheels())
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
