"""Messages for errors of no particular area: the environment, commands, the platform."""

from __future__ import annotations

from pycnb.buildpack.checks import ForbiddenEnvVars
from pycnb.buildpack.commands import CommandFailed, CommandNotFound
from pycnb.buildpack.errors import render
from pycnb.buildpack.output import Message
from pycnb.cnb.context import ContextError


@render.register
def _render_forbidden_env_vars(error: ForbiddenEnvVars) -> Message:
    found = error.found
    listing = "\n".join(f"  {name}: {why}" for name, why in found)
    return Message(
        "Unsupported environment variables are set",
        f"These environment variables would break the build or the image:\n\n{listing}",
        "Remove them from the build's environment (for example the `--env` options of "
        "`pack build` or `pycnb build`, or the platform's env directory).",
    )


@render.register
def _render_command_failed(error: CommandFailed) -> Message:
    argv = error.argv
    code = error.returncode
    output = error.output
    shown = f"\n\nIts output:\n{output.rstrip()}" if output else ""
    return Message(
        f"{argv[0]} failed",
        f"The command `{' '.join(argv)}` exited with status {code}.{shown}",
    )


@render.register
def _render_command_not_found(error: CommandNotFound) -> Message:
    program = error.program
    reason = error.reason
    return Message(f"Could not run {program}", reason)


@render.register
def _render_context_error(error: ContextError) -> Message:
    reason = error.reason
    return Message(
        "The platform did not provide what a buildpack needs",
        reason,
        "Run the buildpack with a CNB platform (pack, kpack, `pycnb build`).",
    )
