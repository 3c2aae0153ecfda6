"""Fill the test wheelhouse with the pinned installer tools' wheels (an install step, like pytest).

Usage: python scripts/fetch_test_wheels.py [DIR]

DIR defaults to $PYCNB_TEST_WHEELS, else <user cache dir>/pycnb/test-wheels. Wheels already there
are kept; only what is missing is downloaded. The tests themselves never touch the network.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

# The checkout root (for `tests.support`) and src/ (for `pycnb`, even when it is not installed).
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "src")]

from tests.support.tool_wheels import (  # noqa: E402 (needs the path set up above)
    PYCNB_WHEEL_REQUIREMENTS,
    TEST_APP_REQUIREMENTS,
    TOOL_REQUIREMENTS,
    fetch_tool_wheels,
    tool_wheels_dir,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", nargs="?", type=Path, default=None)
    args = parser.parse_args(argv)
    directory: Path = args.directory or tool_wheels_dir()
    try:
        fetched = fetch_tool_wheels(directory)
        fetched += fetch_tool_wheels(directory, TEST_APP_REQUIREMENTS)
        fetched += fetch_tool_wheels(directory, PYCNB_WHEEL_REQUIREMENTS)
    except subprocess.CalledProcessError as error:
        print(f"fetch_test_wheels: pip download failed (exit {error.returncode})", file=sys.stderr)
        return 1
    status = f"downloaded {', '.join(fetched)}" if fetched else "all present"
    pinned = ", ".join((*TOOL_REQUIREMENTS, *TEST_APP_REQUIREMENTS, *PYCNB_WHEEL_REQUIREMENTS))
    print(f"test wheels in {directory}: {pinned} ({status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
