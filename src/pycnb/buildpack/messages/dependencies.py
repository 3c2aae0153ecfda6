"""What the dependency steps tell the user when they fail or warn."""

from __future__ import annotations

from typing import assert_never

from pycnb.buildpack.dependencies.failures import (
    InstallerFailed,
    LockfileOutdated,
    LockFormatUnsupported,
    PipInstallFailed,
    PythonRejected,
    RootProjectSkipped,
    ToolInstallFailed,
)
from pycnb.buildpack.dependencies.groups import GROUPS_SETTING, UnknownDependencyGroups
from pycnb.buildpack.dependencies.package_manager import (
    LockfileMissing,
    MultiplePackageManagers,
    NoPackageManager,
    PackageManager,
    PipfileMissing,
    PyprojectWithoutLockfile,
)
from pycnb.buildpack.dependencies.pipfile import PIPFILE, InvalidPipfile
from pycnb.buildpack.dependencies.requirements import RequirementsFileMissing
from pycnb.buildpack.dependencies.tool_versions import (
    PDM_VERSION,
    PIP_VERSION,
    PIPENV_VERSION,
    POETRY_VERSION,
    UV_VERSION,
)
from pycnb.buildpack.dependencies.tool_wheels import (
    ToolWheelBroken,
    ToolWheelDownloadFailed,
    ToolWheelNotFound,
    ToolWheelUnsupported,
)
from pycnb.buildpack.errors import render
from pycnb.buildpack.output import Message
from pycnb.buildpack.project import InvalidPyproject

_SUPPORTED_MANAGERS = (
    "pycnb installs dependencies from exactly one of:\n\n"
    "  requirements.txt  with pip\n"
    "  uv.lock           with uv\n"
    "  poetry.lock       with Poetry\n"
    "  Pipfile.lock      with Pipenv\n"
    "  pdm.lock          with PDM\n"
    "  pyproject.toml    with pip, for a [project] without a lockfile"
)


# Where a private index and its credentials go, per installer.
_INDEX_SETTINGS = {
    PackageManager.PIP: "PIP_INDEX_URL, PIP_EXTRA_INDEX_URL",
    PackageManager.PYPROJECT: "PIP_INDEX_URL, PIP_EXTRA_INDEX_URL",
    PackageManager.UV: "UV_DEFAULT_INDEX, UV_INDEX, or UV_INDEX_<NAME>_USERNAME/_PASSWORD for "
    "an index named in pyproject.toml",
    PackageManager.POETRY: "POETRY_HTTP_BASIC_<SOURCE>_USERNAME/_PASSWORD for a source named "
    "in pyproject.toml",
    PackageManager.PIPENV: "a [[source]] in the Pipfile, with credentials as ${VAR} in its url",
    PackageManager.PDM: "PDM_PYPI_URL, or PDM_PYPI_<SOURCE>_USERNAME/_PASSWORD for a source "
    "named in pyproject.toml",
}


_TOOL_VERSIONS = {
    PackageManager.PIP: PIP_VERSION,
    PackageManager.PYPROJECT: PIP_VERSION,
    PackageManager.UV: UV_VERSION,
    PackageManager.POETRY: POETRY_VERSION,
    PackageManager.PIPENV: PIPENV_VERSION,
    PackageManager.PDM: PDM_VERSION,
}

_LOCK_COMMANDS = {
    "Poetry": "poetry lock",
    "uv": "uv lock",
    "PDM": "pdm lock",
    "Pipenv": "pipenv lock",
}


def _render_lockfile_missing(tools: list[tuple[str, str]], found_in: str) -> Message:
    tool, lockfile = tools[0]
    if found_in == PIPFILE:
        what = f"The app has a {PIPFILE}, so it is a {tool} project"
    else:
        tables = ", ".join(f"[tool.{name.lower()}]" for name, _ in tools)
        what = f"{found_in} has {tables}, so the app is a {tool} project"
    commands = " or ".join(f"`{_LOCK_COMMANDS[name]}`" for name, _ in tools)
    return Message(
        f"{lockfile} is missing",
        f"{what}, but it has no {lockfile}. pycnb installs exactly what the lockfile says, so "
        "builds are reproducible, and never resolves dependencies itself for such a project.",
        f"Run {commands} and commit the lockfile it writes.",
    )


def _render_unknown_groups(
    unknown: list[str], pm: PackageManager, groups: list[str], extras: list[str]
) -> Message:
    names = ", ".join(unknown)
    if pm is PackageManager.PIP:
        defined = "requirements.txt has no dependency groups or extras."
        fix = f"Unset {GROUPS_SETTING}, or list the extra packages in requirements.txt."
    else:
        defined = (
            "The project defines "
            + (
                "; ".join(
                    part
                    for part in (
                        f"dependency groups: {', '.join(groups)}" if groups else "",
                        f"extras: {', '.join(extras)}" if extras else "",
                    )
                    if part
                )
                or "no dependency groups or extras"
            )
            + "."
        )
        fix = (
            f"Set {GROUPS_SETTING} to names the project defines (comma-separated), or define "
            "the group in pyproject.toml and re-lock."
        )
    return Message(
        f"Unknown dependency group in {GROUPS_SETTING}: {names}",
        f"{GROUPS_SETTING} asks for {names}, but "
        f"{'requirements.txt' if pm is PackageManager.PIP else 'pyproject.toml'} does not "
        f"define {'it' if len(unknown) == 1 else 'them'}. {defined}",
        fix,
    )


def _tool_said(pm: PackageManager, output: str) -> str:
    quoted = "\n".join(f"    {line}" for line in output.strip().splitlines())
    return f"{pm.tool} said:\n\n{quoted}"


# How to say "this project is not a package" in each tool's own settings.
_NOT_A_PACKAGE = {
    PackageManager.UV: "`[tool.uv] package = false`",
    PackageManager.POETRY: "`package-mode = false` under [tool.poetry]",
}


def render_dependency_warning(warning: PyprojectWithoutLockfile | RootProjectSkipped) -> Message:
    match warning:
        case RootProjectSkipped(package_manager=pm, output=output):
            quoted = "\n".join(f"    {line}" for line in output.strip().splitlines()[-12:])
            return Message(
                "The app's own package could not be installed: installed its dependencies only",
                f"{pm.tool} could not install the project itself (the end of its output):\n\n"
                f"{quoted}\n\nThe app's code still runs from the app directory, as usual for an "
                "app, but anything that needs the project installed (its entry points, "
                "importlib.metadata) will not find it.",
                "If the app is not meant to be a package, say so with "
                f"{_NOT_A_PACKAGE.get(pm, 'its package manager')} in pyproject.toml. If it is, "
                "make the package directory the build system looks for exist, or list the "
                "packages in its configuration.",
            )
        case PyprojectWithoutLockfile():
            return Message(
                "No lockfile: the dependencies are resolved afresh on every build",
                "The app is installed from pyproject.toml, whose dependencies name ranges rather "
                "than exact versions, so two builds of the same code can install different "
                "packages.",
                "For reproducible builds, add a lockfile: `uv lock` (uv.lock) or `poetry lock` "
                "(poetry.lock), or pin every package in a requirements.txt.",
            )
        case _:
            assert_never(warning)


@render.register
def _render_requirements_file_missing(error: RequirementsFileMissing) -> Message:
    path = error.path
    parent = error.included_from
    number = error.line_number
    if parent is None:
        return Message("requirements.txt could not be read", f"{path} does not exist.")
    return Message(
        f"A requirements file named in {parent.name} does not exist",
        f"{parent.name}, line {number}, includes {path.name}, which was not found at {path}.",
        f"Add the missing file, or fix the path on line {number} of {parent.name} (it is "
        "relative to the file that includes it).",
    )


_WHERE_TOOLS_COME_FROM = (
    "The PIP_* index settings apply to the buildpack's tools: a mirror of the index needs "
    "PIP_INDEX_URL (with its credentials) or PIP_EXTRA_INDEX_URL or PIP_FIND_LINKS; the system's "
    "certificate store is trusted, or PIP_CERT / SSL_CERT_FILE for a private authority."
)


@render.register
def _render_tool_install_failed(error: ToolInstallFailed) -> Message:
    quoted = "\n".join(f"    {line}" for line in error.output.strip().splitlines())
    return Message(
        f"Installing {error.tool} failed",
        (f"uv said:\n\n{quoted}\n\n" if quoted else "")
        + f"pycnb installs {error.tool} from the package index with uv: installing "
        f"`{error.requirement}` and its locked dependencies exited with status "
        f"{error.returncode}.",
        f"Check that the package index is reachable from the build and serves wheels of "
        f"{error.requirement} and its dependencies for this platform. {_WHERE_TOOLS_COME_FROM}",
    )


@render.register
def _render_tool_wheel_not_found(error: ToolWheelNotFound) -> Message:
    asked = "\n".join(f"  - {source}: {said}" for source, said in error.sources)
    return Message(
        f"Cannot find {error.tool} on the package index",
        f"pycnb installs {error.tool} from its wheel {error.file}, but no source has it:\n"
        f"{asked or '  (no source: PIP_NO_INDEX is set and PIP_FIND_LINKS is empty)'}",
        f"Make the wheel available on the package index the build uses. {_WHERE_TOOLS_COME_FROM}",
    )


@render.register
def _render_tool_wheel_download_failed(error: ToolWheelDownloadFailed) -> Message:
    return Message(
        f"Downloading {error.tool} failed",
        f"pycnb installs {error.tool} from its wheel on the package index: {error.problem}.",
        "A checksum mismatch means the index serves another file under the pinned wheel's "
        f"name: check the mirror. Otherwise retry the build. {_WHERE_TOOLS_COME_FROM}",
    )


@render.register
def _render_tool_wheel_broken(error: ToolWheelBroken) -> Message:
    return Message(
        f"The {error.tool} wheel cannot be installed",
        f"{error.file}: {error.problem}.",
        "The file matched its pinned sha256, so this is a fault of pycnb's pins: report it.",
    )


@render.register
def _render_tool_wheel_unsupported(error: ToolWheelUnsupported) -> Message:
    return Message(
        f"No {error.project} {error.version} for this machine",
        f"pycnb installs {error.project} from one of its wheels ({', '.join(error.files)}), "
        "and none of them fits this machine's platform.",
        "Build on Linux (glibc or musl) on x86_64 or arm64, as the run image must be.",
    )


@render.register
def _render_pip_install_failed(error: PipInstallFailed) -> Message:
    name = error.requirements_file
    return Message(
        "Installing dependencies with pip failed",
        f"pip could not install the packages in {name}; its own error is printed above.",
        f"Check that every package in {name} exists for this Python version and "
        "platform, that version pins don't conflict, and that any private index is "
        "reachable (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL). Run "
        f"`pip install -r {name}` locally to reproduce.",
    )


@render.register
def _render_no_package_manager(error: NoPackageManager) -> Message:
    lookalikes = error.lookalikes
    has_pyproject = error.has_pyproject
    details = _SUPPORTED_MANAGERS
    if lookalikes:
        details += f"\n\nFound {', '.join(lookalikes)}: is it a misspelled requirements.txt?"
    elif has_pyproject:
        details += (
            "\n\nThe app has a pyproject.toml, but it has no [project] table, so it "
            "does not say which dependencies to install."
        )
    return Message(
        "No package manager file found",
        details,
        "Add one of these files at the root of the app: a requirements.txt listing the "
        "dependencies (empty if there are none), a lockfile (`uv lock`, `poetry lock`), "
        "or a [project] table in pyproject.toml.",
    )


@render.register
def _render_multiple_package_managers(error: MultiplePackageManagers) -> Message:
    found = error.found
    listing = "\n".join(f"  {pm.file_name} ({pm.value})" for pm in found)
    return Message(
        "Multiple package manager files found",
        f"Exactly one package manager file must decide the app's dependencies, but the "
        f"app has:\n\n{listing}",
        "Keep the file of the package manager the app uses and delete the others. A "
        "requirements.txt that is an export of the lockfile beside it is recognised (and "
        "ignored) when it is the exporting tool's unedited output (`uv export`, `poetry "
        "export`, `pdm export`, `pipenv requirements`): regenerate it after each lock.",
    )


@render.register
def _render_pipfile_missing(_error: PipfileMissing) -> Message:
    return Message(
        "Pipfile.lock has no Pipfile beside it",
        "The app has a Pipfile.lock but no Pipfile. Pipenv checks that the lock still "
        "matches the Pipfile before installing it, and cannot without one.",
        "Commit the Pipfile that Pipfile.lock was written from (and run `pipenv lock` if it "
        "changed since).",
    )


@render.register
def _render_lockfile_missing_error(error: LockfileMissing) -> Message:
    return _render_lockfile_missing(error.tools, error.found_in)


@render.register
def _render_invalid_pipfile(error: InvalidPipfile) -> Message:
    return Message(
        "Pipfile could not be read",
        f"{error.path}: {error.reason}",
        "Fix the Pipfile (it is TOML); `pipenv lock` reports the same error locally.",
    )


@render.register
def _render_invalid_pyproject(error: InvalidPyproject) -> Message:
    path = error.path
    reason = error.reason
    return Message(
        f"{path.name} could not be read",
        f"{path}: {reason}",
        f'Fix {path.name}; `python -c "import tomllib; tomllib.load(open('
        f"'{path.name}', 'rb'))\"` shows the same error locally.",
    )


@render.register
def _render_unknown_dependency_groups(error: UnknownDependencyGroups) -> Message:
    unknown = error.unknown
    pm = error.package_manager
    groups = error.groups
    extras = error.extras
    return _render_unknown_groups(unknown, pm, groups, extras)


@render.register
def _render_lockfile_outdated(error: LockfileOutdated) -> Message:
    pm = error.package_manager
    output = error.output
    project_file = pm.project_files[0] if pm.project_files else "pyproject.toml"
    return Message(
        f"{pm.file_name} is out of date",
        f"{_tool_said(pm, output)}\n\n{project_file} changed after {pm.file_name} was "
        f"last written, so the lockfile no longer describes the project. pycnb installs "
        "exactly what the lockfile says and never re-locks during a build.",
        f"Run `{_LOCK_COMMANDS[pm.value]}` and commit the updated {pm.file_name}.",
    )


@render.register
def _render_lock_format_unsupported(error: LockFormatUnsupported) -> Message:
    pm = error.package_manager
    named = f" ({error.lock_format})" if error.lock_format else ""
    return Message(
        f"{pm.file_name} is in a format {pm.tool} cannot read{named}",
        f"{_tool_said(pm, error.output)}\n\npycnb installs with {pm.tool} "
        f"{_TOOL_VERSIONS[pm]}, which cannot read this {pm.file_name}{named}: it was written "
        f"by a much older or a newer {pm.tool}.",
        f"Run `{_LOCK_COMMANDS[pm.value]}` with {pm.tool} {_TOOL_VERSIONS[pm]} (or any recent "
        f"{pm.tool}) and commit the {pm.file_name} it rewrites.",
    )


@render.register
def _render_python_rejected(error: PythonRejected) -> Message:
    pm = error.package_manager
    version = error.python_version
    output = error.output
    return Message(
        f"The project does not allow Python {version}",
        f"{_tool_said(pm, output)}\n\nThe project's Python constraint (requires-python"
        + (", or python under [tool.poetry.dependencies]" if pm is PackageManager.POETRY else "")
        + f") in pyproject.toml excludes Python {version}.",
        "Request a Python version the project allows (in .python-version or "
        "BP_PYTHON_VERSION), or widen the constraint and run "
        f"`{_LOCK_COMMANDS[pm.value]}`.",
    )


@render.register
def _render_installer_failed(error: InstallerFailed) -> Message:
    pm = error.package_manager
    command = error.command
    code = error.returncode
    output = error.output
    said = (
        f"{_tool_said(pm, output)}\n\n"
        if output
        else f"{pm.tool}'s own error is printed above.\n\n"
    )
    return Message(
        f"Installing dependencies with {pm.tool} failed",
        f"{said}`{command}` exited with status {code}.",
        f"Run `{command}` locally to reproduce. Check that every package exists for this "
        "Python version and platform, and that the package index is reachable from the "
        "build: a private index needs its URL and credentials in the build's env "
        f"({_INDEX_SETTINGS[pm]}).",
    )
