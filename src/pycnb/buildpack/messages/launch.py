"""What the launch steps (Procfile, Django's static files) tell the user when they fail."""

from __future__ import annotations

from typing import assert_never

from pycnb.buildpack.errors import render
from pycnb.buildpack.launch.django import (
    CollectstaticCause,
    CollectstaticFailed,
    InvalidBooleanSetting,
)
from pycnb.buildpack.launch.procfile import InvalidProcfile, ProblemKind, ProcfileProblem
from pycnb.buildpack.launch.start_check import ProcessCannotStart
from pycnb.buildpack.messages.text import visible
from pycnb.buildpack.output import Message
from pycnb.buildpack.python.removed_modules import removed_from_stdlib

_PROCFILE_FORMAT = (
    "Each line of a Procfile is `<type>: <command>`, for example:\n\n"
    "    web: gunicorn myproject.wsgi --bind 0.0.0.0:$PORT\n"
    "    worker: celery --app myproject worker\n\n"
    "A type has letters, digits, `.`, `_` and `-`; lines starting with # are comments."
)


def _collectstatic_cause(cause: CollectstaticCause, name: str | None) -> tuple[str, str]:
    """What Django's output points at, and its fix."""
    match cause:
        case CollectstaticCause.MISSING_STATIC_ROOT:
            explanation = (
                "STATIC_ROOT is not set: collectstatic needs a directory to copy the files to."
            )
            fix = (
                "Set STATIC_ROOT in the settings to a directory inside the project, for example "
                'STATIC_ROOT = BASE_DIR / "staticfiles".'
            )
        case CollectstaticCause.MISSING_ENV_VAR:
            explanation = (
                f"The settings read the environment variable {name}, which the build does not "
                "have. Django loads the settings at build time too, to find the static files."
            )
            fix = (
                f"Give {name} a default that works at build time "
                f'(os.environ.get("{name}", ...)), or pass it to the build '
                f"(`pack build --env {name}=...`, `pycnb build --env {name}=...`)."
            )
        case CollectstaticCause.MISSING_MODULE:
            explanation, fix = missing_module(name or "")
        case CollectstaticCause.SETTINGS_ERROR:
            explanation = (
                "Loading the project raised an error. The usual causes are settings that cannot "
                "be imported (a missing dependency, a missing environment variable, a typo in "
                "DJANGO_SETTINGS_MODULE) and a missing STATIC_ROOT."
            )
            fix = "Fix the error that Django's output shows."
        case CollectstaticCause.UNKNOWN:
            explanation = (
                "The usual causes are a missing STATIC_ROOT setting and settings that cannot be "
                "imported at build time (a missing dependency or environment variable)."
            )
            fix = "Fix the error that Django's output shows."
        case _:
            assert_never(cause)
    return explanation, fix


def _procfile_problem(problem: ProcfileProblem) -> str:
    found = f"  line {problem.line_number}: {visible(problem.line)}\n    "
    process_type = problem.process_type or ""
    match problem.kind:
        case ProblemKind.MALFORMED:
            return found + "is not `<type>: <command>`."
        case ProblemKind.INVALID_TYPE if " " in process_type or "\t" in process_type:
            return (
                found + f"{visible(process_type)} is not a process type: is the type missing "
                "before the command (such as `web: ...`)?"
            )
        case ProblemKind.INVALID_TYPE:
            return (
                found
                + f"the process type {visible(process_type)} has characters a type cannot have."
            )
        case ProblemKind.EMPTY_COMMAND:
            return found + f"the process type {process_type} has no command."
        case ProblemKind.DUPLICATE_TYPE:
            return (
                found + f"{process_type} is declared again; line {problem.first_line_number} "
                "already declares it. Keep one."
            )
        case ProblemKind.NOT_UTF8:
            return found + "is not UTF-8 text. Save the Procfile as UTF-8."
        case _:
            assert_never(problem.kind)


@render.register
def _render_invalid_procfile(error: InvalidProcfile) -> Message:
    problems = error.problems
    listing = "\n".join(_procfile_problem(problem) for problem in problems)
    lines = "a line" if len(problems) == 1 else f"{len(problems)} lines"
    return Message(
        f"The Procfile has {lines} that pycnb cannot read",
        listing,
        f"Fix the Procfile. {_PROCFILE_FORMAT}",
    )


@render.register
def _render_collectstatic_failed(error: CollectstaticFailed) -> Message:
    argv = error.argv
    code = error.returncode
    output = error.output
    cause = error.cause
    explanation, fix = _collectstatic_cause(cause, error.name)
    probe = "help" in argv  # the check for collectstatic, before running it
    return Message(
        "Django could not load the project" if probe else "Django's collectstatic failed",
        f"`{' '.join(argv)}` exited with status {code}. Django's output:\n\n"
        f"{output.rstrip()}\n\n{explanation}",
        f"{fix} To reproduce, run `python manage.py collectstatic --noinput` with the "
        "build's environment variables. If the app has no static files to collect, set "
        "BP_DISABLE_COLLECTSTATIC=1 to skip this step.",
    )


@render.register
def _render_invalid_boolean_setting(error: InvalidBooleanSetting) -> Message:
    name = error.name
    value = error.value
    return Message(
        f"{name} must be true or false",
        f"{name} is set to {visible(value)}.",
        f"Set {name} to 1 (or true) to turn it on, or unset it.",
    )


def missing_module(name: str) -> tuple[str, str]:
    """Why `import name` fails, and its fix: a removed standard-library module, setuptools'
    pkg_resources, or a package the app does not install."""
    if removed := removed_from_stdlib(name):
        extra = (
            " (setuptools still provides it: adding setuptools to the dependencies works too)"
            if removed.name == "distutils"
            else ""
        )
        why = (
            f"{removed.name} was part of the standard library until Python {removed.last_with_it}"
            f"; Python {removed.removed_in} removed it, and this app (or one of its "
            "dependencies) still imports it."
        )
        fix = (
            f"Upgrade the dependency that imports {removed.name} to a release that no longer "
            f"needs it{extra}, or build with Python {removed.last_with_it}, the last that has "
            f"it: `echo {removed.last_with_it} > .python-version`."
        )
        return why, fix
    if name.split(".", 1)[0] == "pkg_resources":
        why = (
            "pkg_resources belongs to setuptools, which a virtual environment does not have "
            "unless a dependency asks for it, and which recent releases no longer ship."
        )
        fix = (
            "Upgrade the package that imports pkg_resources (gunicorn 23 and newer no longer "
            'does), or add "setuptools<81" to the app\'s dependencies.'
        )
        return why, fix
    return (
        f"{name} is imported, but it is not installed.",
        f"Add the package that provides {name} to the app's dependencies.",
    )


@render.register
def _render_process_cannot_start(error: ProcessCannotStart) -> Message:
    explanation, fix = missing_module(error.missing)
    # Where the import happened and what failed; the rest of the traceback is Python's plumbing.
    lines = error.output.strip().splitlines()
    frames = [line.strip() for line in lines if line.lstrip().startswith('File "')]
    quoted = "\n".join(f"    {line}" for line in [*frames[-1:], lines[-1] if lines else ""])
    return Message(
        f"The {error.process_type} process cannot start: {error.program} fails to import",
        f"`{error.program}` runs `{error.module}`, and importing it with the app's Python "
        f"fails:\n\n{quoted}\n\n{explanation}",
        f"{fix} The image would crash on start, so nothing was exported.",
    )
