"""Entry point of the buildpack: `bin/detect` and `bin/build` call `main`.

This is the one boundary where the buildpack's errors become messages and exit codes. Detection
runs on every build, for every buildpack in the order, so it imports only what it needs: the
build's modules and the messages are imported when they are used.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from pycnb.buildpack.detect import DETECTION_FILES, detected_files
from pycnb.buildpack.errors import BuildpackError
from pycnb.buildpack.output import Message, Output
from pycnb.cnb.context import (
    BUILD_ERROR,
    DETECT_ERROR,
    DETECT_FAIL,
    DETECT_PASS,
    BuildContext,
    ContextError,
    DetectContext,
    PlanEntry,
)

__all__ = ["main"]

# What a later buildpack may require: CPython on PATH (`cpython`, or `python`), and the app's
# dependencies installed in the venv that VIRTUAL_ENV names (`venv`).
PROVIDES = ("cpython", "python", "venv")

_ISSUES_URL = "https://github.com/pycnb/pycnb/issues"


def main(argv: Sequence[str]) -> int:
    """`argv` is [phase, *the phase's positional args]."""
    phase, args = argv[0], list(argv[1:])
    out = Output()
    error_code = DETECT_ERROR if phase == "detect" else BUILD_ERROR
    try:
        if phase == "detect":
            return detect(DetectContext.from_process(args, os.environ), out)
        if phase == "build":
            from pycnb.buildpack.build import build  # noqa: PLC0415 - see the module docstring

            build(BuildContext.from_process(args, os.environ), out)
            return 0
    except (BuildpackError, ContextError) as error:
        from pycnb.buildpack.messages import render  # noqa: PLC0415 - see the module docstring

        out.error(render(error))
        return error_code
    except Exception:  # noqa: BLE001 - the one boundary that reports bugs instead of crashing
        out.error(
            Message(
                "Internal error in the pycnb buildpack",
                traceback.format_exc(),
                f"This is a bug in pycnb, not in the app. Please report it at {_ISSUES_URL} "
                "with the output above.",
            )
        )
        return error_code
    out.error(Message(f"Unknown phase {phase!r}", "bin/detect and bin/build call this."))
    return error_code


def detect(ctx: DetectContext, out: Output) -> int:
    found = detected_files(ctx.app_dir)
    if not found:
        out.detail(
            "No Python project files found: looked for " + ", ".join(DETECTION_FILES[:13]) + "."
        )
        return DETECT_FAIL
    # A plan entry someone provides must be required by someone: requiring our own lets a later
    # buildpack require them too, or not at all.
    ctx.write_plan(provides=PROVIDES, requires=[PlanEntry(name, {}) for name in PROVIDES])
    out.detail(f"Python project detected ({', '.join(found)})")
    return DETECT_PASS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
