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
from pycnb.buildpack.messages.text import visible
from pycnb.buildpack.output import Message

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
            explanation = f"The project imports {name}, which is not installed."
            fix = f"Add the package that provides {name} to the app's dependencies."
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
