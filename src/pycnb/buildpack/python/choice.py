"""The build's choice of Python: read the app's sources, resolve, report, remember.

It returns the manifest's distribution to install. One line says the version, where it came from
and the form it was requested in; notes follow indented under it, warnings as [WARNING] blocks.
Only a default is remembered (`default.py`), so that the next build keeps its X.Y.
"""

from __future__ import annotations

from collections.abc import Sequence

from pycnb.buildpack.dependencies.pipfile import Pipfile
from pycnb.buildpack.messages.python import render_warning
from pycnb.buildpack.output import Output
from pycnb.buildpack.project import Pyproject
from pycnb.buildpack.python.default import read_previous_default, remember_default
from pycnb.buildpack.python.manifest import Distribution
from pycnb.buildpack.python.notices import Severity, severity
from pycnb.buildpack.python.resolve import (
    ChosenByDefault,
    ChosenByProject,
    ChosenByRequest,
    Resolution,
    resolve_python_version,
)
from pycnb.buildpack.python.sources import read_version_sources
from pycnb.buildpack.python.wheel_fit import WheelSource
from pycnb.cnb.context import BuildContext

__all__ = ["choose_python", "describe_choice"]


def choose_python(
    ctx: BuildContext,
    out: Output,
    setting: str | None,
    pyproject: Pyproject | None,
    distributions: Sequence[Distribution],
    *,
    pipfile: Pipfile | None = None,
    wheels: WheelSource | None = None,
) -> Distribution:
    """The distribution to install, among the manifest's `distributions` for the target.
    `setting`: BP_PYTHON_VERSION, or None; `pyproject`: as the build read it; `wheels`: the
    wheels of the app's pins, so that an open choice lands on a Python they fit. Raises
    `python.errors`; nothing is installed before this returns."""
    # The manifest has one distribution per version and target, so a version names one.
    offered = {distribution.version: distribution for distribution in distributions}
    resolution = resolve_python_version(
        read_version_sources(ctx.app_dir, setting, pyproject, pipfile),
        list(offered),
        previous_default=read_previous_default(ctx.layers_dir),
        wheels=wheels,
    )
    out.info(describe_choice(resolution))
    for notice in resolution.notices:
        message = render_warning(notice)
        if severity(notice) is Severity.WARNING:
            out.warning(message)
        else:
            out.detail(message.title)
    remember_default(ctx.layers_dir, resolution.default_series)
    return offered[resolution.version]  # the resolver chooses among the versions it is given


def describe_choice(resolution: Resolution) -> str:
    """`Using Python 3.12.13 (3.12 from .python-version)`."""
    version = resolution.version
    match resolution.chosen_by:
        case ChosenByRequest(request=request):
            return f"Using Python {version} ({request.text} from {request.origin.value})"
        case ChosenByProject(constraints=constraints):
            sources = " and ".join(f"{c.text} from {c.origin.value}" for c in constraints)
            return f"Using Python {version} ({sources})"
        case ChosenByDefault(series=series, kept_from_previous_build=True):
            return (
                f"Using Python {version} ({series}, the default of the previous build; "
                "no .python-version file)"
            )
        case ChosenByDefault():
            return f"Using Python {version} (the newest available; no .python-version file)"
