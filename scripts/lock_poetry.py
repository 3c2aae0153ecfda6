"""Write the buildpack's lock of Poetry's own dependencies (maintainers run it after a bump).

Usage: python scripts/lock_poetry.py

Poetry is installed into its build-only layer from the buildpack's
`data/poetry-requirements.txt`: every package pinned, with the sha256 of every file PyPI has for
it, for every platform and Python the buildpack supports (3.10 onwards). The pinned uv writes it
(`uv pip compile --universal`), from the public index unless UV_INDEX_URL says otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "src")]

from pycnb.buildpack.dependencies.tool_versions import POETRY_LOCK, POETRY_VERSION, UV_VERSION  # noqa: E402
from tests.support.tool_wheels import (  # noqa: E402 (needs the path set up above)
    fetch_tool_wheels,
    make_tools_venv,
    tool_wheels_dir,
)

_OLDEST_PYTHON = "3.10"


def main() -> int:
    wheels = tool_wheels_dir()
    fetch_tool_wheels(wheels, [f"uv=={UV_VERSION}"])
    tools = make_tools_venv(wheels.parent / "lock-tools", wheels)
    header = (
        f"# poetry=={POETRY_VERSION} and its dependencies, for Python >= {_OLDEST_PYTHON} on any "
        "platform.\n# Written by scripts/lock_poetry.py; do not edit.\n"
    )
    completed = subprocess.run(
        [str(tools / "uv"), "pip", "compile", "--universal", "--python-version", _OLDEST_PYTHON,
         "--generate-hashes", "--no-header", "--no-annotate", "--quiet", "-"],
        input=f"poetry=={POETRY_VERSION}\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        print(f"lock_poetry: uv pip compile failed:\n{completed.stderr}", file=sys.stderr)
        return 1
    POETRY_LOCK.write_text(header + completed.stdout, encoding="utf-8")
    print(f"wrote {POETRY_LOCK.relative_to(_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
