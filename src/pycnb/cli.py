"""`pycnb build | run | detect | package`: the local platform and the packager, from a shell.

The image export and the making of runtimes from this machine's Pythons load only when a
command uses them (`--image`, no runtime manifest given): together they cost a plain build about
0.1 s of imports.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pycnb.image.blobs import BlobStore, default_blob_dir
from pycnb.image.errors import ImageError, InvalidImageReference
from pycnb.image.reference import DEFAULT_RUN_IMAGE, LayoutRef, RegistryRef, parse_image_ref
from pycnb.packager import PackageError, package_buildpack, package_tgz, shared_bundle
from pycnb.platform import (
    GroupEntry,
    Order,
    PlatformDirs,
    PlatformError,
    default_root,
    prepare_launch,
    run_build,
    run_detect,
)
from pycnb.platform.builder_python import with_builder_python
from pycnb.platform.target import host_target
from pycnb.runtimes.errors import LocalPythonError
from pycnb.user_cache import user_cache_dir

if TYPE_CHECKING:
    from pycnb.image.run_image import RunImage

__all__ = ["main"]

# The name `--buildpack` takes for the buildpack this checkout packages.
_SELF = "pycnb"
_UPSTREAM_PROBE_URL = "https://github.com/astral-sh/python-build-standalone/releases"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after `--` is the command to run. argparse mixes positionals badly when options
    # come between them (`run APP --root X -- cmd`), so it never sees that part.
    command: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, command = argv[:split], argv[split + 1 :]
    args = _parser().parse_args(argv)
    args.command = command
    try:
        code: int = args.handler(args)
    except PlatformError as error:
        print(f"pycnb: error: {error}", file=sys.stderr)  # noqa: T201
        # The lifecycle's exit codes, so that scripts can tell which phase failed, as with pack.
        return error.exit_code
    except (PackageError, LocalPythonError, ImageError) as error:
        print(f"pycnb: error: {error}", file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        # The file system said no (full, read-only, a path that is a file): say where, and
        # never with a traceback. Our own errors above already name the fix.
        where = f": {error.filename}" if error.filename else ""
        print(f"pycnb: error: {error.strerror or error}{where}", file=sys.stderr)  # noqa: T201
        return 1
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pycnb",
        description="Build Python apps with the pycnb buildpack, locally, as a CNB platform would.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="detect and build an app, like the CNB lifecycle")
    _app_options(build)
    _env_option(build)
    build.add_argument(
        "--clear-cache", action="store_true", help="start without the previous build's cache"
    )
    build.add_argument(
        "--python-source",
        choices=["auto", "download", "local"],
        default="auto",
        help="where Python runtimes come from: `download` from the manifest's URLs, `local` "
        "from CPython installs on this machine (relocated), or `auto`: download when the "
        "upstream host is reachable, else local. Ignored when BP_PYTHON_MANIFEST is set.",
    )
    build.add_argument(
        "--buildpack",
        action="append",
        metavar="DIR",
        help=f"a buildpack to run, in order (repeatable); `{_SELF}` is this one (the default)",
    )
    build.add_argument(
        "--image",
        metavar="REF",
        help="also export an OCI image, with no container engine: oci:DIR[:TAG] (an OCI "
        "layout), docker-archive:FILE[:NAME[:TAG]] (for `docker load`), or a registry "
        "reference to push to (credentials from ~/.docker/config.json)",
    )
    build.add_argument(
        "--run-image",
        metavar="REF",
        default=DEFAULT_RUN_IMAGE,
        help=f"the base of the image: a registry reference or oci:DIR[:TAG] (default: "
        f"{DEFAULT_RUN_IMAGE})",
    )
    build.set_defaults(handler=_build)

    detect = commands.add_parser("detect", help="only run detection")
    _app_options(detect)
    _env_option(detect)
    detect.add_argument("--buildpack", action="append", metavar="DIR")
    detect.set_defaults(handler=_detect)

    run = commands.add_parser("run", help="run a process of the built app, as the launcher would")
    _app_options(run)
    _env_option(run)
    run.add_argument("--process", metavar="TYPE", help="the process type (default: the default)")
    run.epilog = "Give a command after `--` to run it instead of a process type."
    run.set_defaults(handler=_run)

    package = commands.add_parser("package", help="write the self-contained buildpack")
    package.add_argument("--output", type=Path, default=Path("dist/pycnb"), metavar="DIR")
    package.add_argument("--tgz", action="store_true", help="also write DIR.tgz for `pack`")
    package.set_defaults(handler=_package)
    return parser


def _app_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", type=Path, metavar="APP", help="the app's source directory")
    parser.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help="where layers, cache and workspace live (default: a per-app dir in the user cache)",
    )


def _env_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="a user env var (repeatable); NAME alone takes the value from this shell",
    )


def _user_env(pairs: Sequence[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            if name not in os.environ:
                raise SystemExit(f"pycnb: error: --env {name}: not set in this shell")
            value = os.environ[name]
        if not name:
            raise SystemExit(f"pycnb: error: --env {pair!r}: expected NAME=VALUE")
        env[name] = value
    return env


def _dirs(args: argparse.Namespace) -> PlatformDirs:
    app = args.app.resolve()
    if not app.is_dir():
        raise SystemExit(f"pycnb: error: {args.app} is not a directory")
    return PlatformDirs((args.root or default_root(app)).resolve())


def _order(buildpacks: Sequence[str] | None) -> Order:
    group = []
    for spec in buildpacks or [_SELF]:
        if spec == _SELF:
            # Run what ships: the same self-contained directory `pycnb package` writes.
            group.append(GroupEntry(shared_bundle(user_cache_dir() / "buildpacks")))
        else:
            group.append(GroupEntry(Path(spec).resolve()))
    return [group]


def _build(args: argparse.Namespace) -> int:
    dirs = _dirs(args)
    user_env = _user_env(args.env)
    # The image's references and run image first: a typo or an unreachable registry should not
    # cost a whole build before it shows.
    target = parse_image_ref(args.image) if args.image else None
    store = BlobStore(default_blob_dir())
    run_image = _run_image(args.run_image, store) if target is not None else None
    if "BP_PYTHON_MANIFEST" not in user_env:
        _choose_python_source(args.python_source, user_env)
    result = run_build(
        args.app.resolve(),
        dirs,
        _order(args.buildpack),
        user_env=user_env,
        clear_cache=args.clear_cache,
        log=_log,
        host_env=with_builder_python(os.environ, dirs.builder_bin),
    )
    if target is not None and run_image is not None:
        from pycnb.image.export import export_image  # noqa: PLC0415 - see the module docstring

        _log("===> EXPORTING IMAGE")
        export_image(dirs, target, run_image, store, log=_log)
    return 0 if result.succeeded else 1


def _run_image(reference: str, store: BlobStore) -> RunImage:
    from pycnb.image.run_image import load_run_image  # noqa: PLC0415 - see the module docstring

    parsed = parse_image_ref(reference)
    if not isinstance(parsed, RegistryRef | LayoutRef):
        raise InvalidImageReference(reference, "a run image is read from a registry or oci:DIR")
    target = host_target()
    _log(f"Reading the run image {parsed}...")
    return load_run_image(parsed, store, os_name=target.os, arch=target.arch)


def _choose_python_source(source: str, user_env: dict[str, str]) -> None:
    # See the module docstring.
    from pycnb.runtimes.discover import find_local_pythons  # noqa: PLC0415
    from pycnb.runtimes.local_python import (  # noqa: PLC0415
        default_cache_dir,
        default_source_reachable,
        write_local_manifest,
    )

    if source == "download" or (source == "auto" and default_source_reachable(_UPSTREAM_PROBE_URL)):
        return
    if source == "auto":
        _log("warning: the Python download host is unreachable; using CPython installs on this")
        _log("warning: machine instead, relocated into runtimes (--python-source to choose)")
    pythons = find_local_pythons()
    manifest = write_local_manifest(pythons, default_cache_dir(), arch=host_target().arch)
    versions = ", ".join(str(p.version) for p in pythons)
    _log(f"Python runtimes from this machine: {versions}")
    user_env["BP_PYTHON_MANIFEST"] = manifest.as_uri()


def _detect(args: argparse.Namespace) -> int:
    dirs = _dirs(args)
    result = run_detect(
        args.app.resolve(),
        dirs,
        _order(args.buildpack),
        user_env=_user_env(args.env),
        log=_log,
        host_env=with_builder_python(os.environ, dirs.builder_bin),
    )
    return 0 if result.passed else 1


def _run(args: argparse.Namespace) -> int:
    dirs = _dirs(args)
    launch = prepare_launch(
        dirs,
        process_type=args.process,
        command=args.command or None,
        user_env=_user_env(args.env),
        hold=True,
    )
    if launch.shared_view is not None:
        why = launch.shared_view
        _warn(f"no private view of the image ({why}): rebuilds are refused until this app exits")
    os.chdir(launch.cwd)
    # Replace this process, as the CNB launcher does: signals and the exit code are the app's.
    os.execve(launch.executable, list(launch.argv), dict(launch.env))  # noqa: S606


def _package(args: argparse.Namespace) -> int:
    output = args.output.resolve()
    if args.tgz:
        tgz = package_tgz(output)
        _log(f"Buildpack written to {output}")
        _log(f"Archive for `pack build --buildpack`: {tgz}")
    else:
        _log(f"Buildpack written to {package_buildpack(output)}")
    return 0


def _warn(line: str) -> None:
    print(f"pycnb: warning: {line}", file=sys.stderr, flush=True)  # noqa: T201


def _log(line: str) -> None:
    print(line, flush=True)  # noqa: T201
