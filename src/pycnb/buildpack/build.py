"""`bin/build`: the build, step by step. It reads like a table of contents; each step lives in
its own module.
"""

from __future__ import annotations

import time

from pycnb.buildpack.checks import check_environment
from pycnb.buildpack.dependencies.pins import PinSource
from pycnb.buildpack.dependencies.pipfile import read_pipfile
from pycnb.buildpack.dependencies.plan import (
    install_app_dependencies,
    plan_dependencies,
    start_prefetch,
)
from pycnb.buildpack.dependencies.tool_wheels import Prefetch
from pycnb.buildpack.dependencies.venv import LAYER_NAME as VENV_LAYER
from pycnb.buildpack.launch.django import collect_static_files
from pycnb.buildpack.launch.processes import declare_processes, read_installed
from pycnb.buildpack.launch.procfile import read_procfile
from pycnb.buildpack.launch.start_check import check_processes_start
from pycnb.buildpack.launch.web_concurrency import add_web_defaults
from pycnb.buildpack.output import Output, format_duration
from pycnb.buildpack.project import read_pyproject
from pycnb.buildpack.python.choice import choose_python
from pycnb.buildpack.python.layer import LAYER_NAME as PYTHON_LAYER
from pycnb.buildpack.python.layer import install_python
from pycnb.buildpack.python.manifest import Manifest, load_manifest
from pycnb.buildpack.sbom import runtime_sbom, venv_sbom
from pycnb.buildpack.settings import Settings
from pycnb.cnb.context import (
    BuildContext,
)
from pycnb.cnb.layer_env import Phase
from pycnb.cnb.sbom import write_layer_sbom
from pycnb.cnb.toml import read_toml

__all__ = ["build"]


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
    with Prefetch(ctx.env) as prefetch:
        # The installer's wheel downloads and unpacks while Python installs.
        start_prefetch(ctx, dependencies, prefetch)
        runtime = install_python(ctx, out, distribution)
        generator = _buildpack_version(ctx)
        sbom = runtime_sbom(distribution, generator=generator)
        write_layer_sbom(ctx.layers_dir, PYTHON_LAYER, sbom)
        tool_env = runtime.env.apply(Phase.BUILD, ctx.env)

        out.header("Dependencies")
        venv = install_app_dependencies(
            ctx, out, dependencies, runtime=runtime, env=tool_env, prefetch=prefetch
        )
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
