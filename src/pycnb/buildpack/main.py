"""Entry point of the buildpack: `bin/detect` and `bin/build` call `main`.

`build` reads like a table of contents; each step lives in its own module. This is also the one
boundary where the buildpack's errors become messages and exit codes.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Sequence

from pycnb.buildpack.checks import check_environment
from pycnb.buildpack.dependencies.pins import PinSource
from pycnb.buildpack.dependencies.pipfile import read_pipfile
from pycnb.buildpack.dependencies.plan import install_app_dependencies, plan_dependencies
from pycnb.buildpack.dependencies.venv import LAYER_NAME as VENV_LAYER
from pycnb.buildpack.detect import DETECTION_FILES, detected_files
from pycnb.buildpack.errors import BuildpackError
from pycnb.buildpack.launch.django import collect_static_files
from pycnb.buildpack.launch.processes import declare_processes, read_installed
from pycnb.buildpack.launch.procfile import read_procfile
from pycnb.buildpack.launch.start_check import check_processes_start
from pycnb.buildpack.launch.web_concurrency import add_web_defaults
from pycnb.buildpack.messages import render
from pycnb.buildpack.output import Message, Output, format_duration
from pycnb.buildpack.project import read_pyproject
from pycnb.buildpack.python.choice import choose_python
from pycnb.buildpack.python.layer import LAYER_NAME as PYTHON_LAYER
from pycnb.buildpack.python.layer import install_python
from pycnb.buildpack.python.manifest import Manifest, load_manifest
from pycnb.buildpack.sbom import runtime_sbom, venv_sbom
from pycnb.buildpack.settings import Settings
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
from pycnb.cnb.layer_env import Phase
from pycnb.cnb.sbom import write_layer_sbom
from pycnb.cnb.toml import read_toml

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
            build(BuildContext.from_process(args, os.environ), out)
            return 0
    except (BuildpackError, ContextError) as error:
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


def build(ctx: BuildContext, out: Output) -> None:
    started = time.monotonic()
    settings = Settings.load(ctx.platform_dir, ctx.env)
    check_environment({**ctx.env, **settings.platform_env})
    procfile = read_procfile(ctx.app_dir)  # before any install: a bad line fails at once
    pyproject = read_pyproject(ctx.app_dir)  # once, for every step that needs it
    pipfile = read_pipfile(ctx.app_dir)

    out.header("Package manager")
    dependencies = plan_dependencies(ctx.app_dir, pyproject, pipfile, settings, out)
    package_manager = dependencies.package_manager

    out.header("Python")
    manifest = _load_manifest(settings, out)
    distribution = choose_python(
        ctx,
        out,
        settings.get("BP_PYTHON_VERSION"),
        pyproject,
        manifest.for_target(ctx.target.os, ctx.target.arch),
        pipfile=pipfile,
        wheels=PinSource(
            ctx.app_dir,
            package_manager.file_name,
            dependencies.requirements,
            ctx.target.arch,
            {**ctx.env, **settings.platform_env},
        ),
    )
    runtime = install_python(ctx, out, distribution)
    generator = _buildpack_version(ctx)
    write_layer_sbom(ctx.layers_dir, PYTHON_LAYER, runtime_sbom(distribution, generator=generator))
    tool_env = runtime.env.apply(Phase.BUILD, ctx.env)

    out.header("Dependencies")
    venv = install_app_dependencies(ctx, out, dependencies, runtime=runtime, env=tool_env)
    write_layer_sbom(ctx.layers_dir, VENV_LAYER, venv_sbom(venv.site_packages, generator=generator))

    # What the image runs: Django's static files (into the app), processes, web defaults.
    installed = read_installed(venv.site_packages)
    collect_static_files(
        ctx.app_dir, out, settings, installed=installed, venv_dir=venv.path, env=tool_env
    )
    out.header("Processes")
    launch = declare_processes(
        procfile,
        ctx.app_dir,
        pyproject=pyproject,
        launch_toml=ctx.layers_dir / "launch.toml",
        out=out,
        installed=installed,
    )
    check_processes_start(
        launch.processes,
        installed,
        python=venv.python,
        app_dir=ctx.app_dir,
        env=tool_env,
        out=out,
    )
    add_web_defaults(ctx, out)

    out.header("Done")
    out.info(
        f"Python {distribution.version}, dependencies from {package_manager.file_name} "
        f"({format_duration(time.monotonic() - started)})"
    )


def _buildpack_version(ctx: BuildContext) -> str:
    descriptor = read_toml(ctx.buildpack_dir / "buildpack.toml")
    return str(descriptor.get("buildpack", {}).get("version", ""))


def _load_manifest(settings: Settings, out: Output) -> Manifest:
    location = settings.get("BP_PYTHON_MANIFEST")
    mirror = settings.get("BP_PYTHON_MIRROR")
    manifest = load_manifest(location, mirror=mirror)
    if location is not None:
        out.info("Using the Python runtime manifest from BP_PYTHON_MANIFEST")
    if mirror is not None:
        out.info("Downloading Python from the mirror in BP_PYTHON_MIRROR")
    return manifest


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
