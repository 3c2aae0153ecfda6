"""Django's static files: `manage.py collectstatic --noinput` at build time.

Runs when Django is installed in the venv and the app has a `manage.py` (a symlink counts). The
files land where `STATIC_ROOT` says, normally inside the app: they are part of the app in the
image, not a layer, so they are rebuilt on every build and never go stale in a cache. A probe
(`manage.py help collectstatic`) first tells apps without `django.contrib.staticfiles` (an API
project, say) apart from broken settings: the first are skipped with a line saying why, the
second fail the build with Django's own message.

Django runs with the build env (the user's env included: settings often read env vars) plus
the venv's env, in the app dir, as the app would run. `PYTHONDONTWRITEBYTECODE`: running the
app's code must not leave `__pycache__` in the app; those `.pyc` files would be stale in the
image anyway, since export resets every mtime.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pycnb.buildpack.commands import CommandFailed, run_captured
from pycnb.buildpack.errors import LaunchError
from pycnb.buildpack.launch.processes import Installed
from pycnb.buildpack.output import Message, Output
from pycnb.buildpack.settings import Settings
from pycnb.cnb.layer_env import LayerEnv, Phase, layer_path_env

__all__ = [
    "DISABLE_SETTING",
    "CollectstaticCause",
    "CollectstaticFailed",
    "InvalidBooleanSetting",
    "collect_static_files",
    "diagnose",
]

DISABLE_SETTING = "BP_DISABLE_COLLECTSTATIC"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

# What Django prints when `collectstatic` is not a command: staticfiles is not installed.
_UNKNOWN_COMMAND = "Unknown command: 'collectstatic'"


class CollectstaticCause(Enum):
    """The usual reasons, recognised in Django's output, for which errors.py gives a fix."""

    MISSING_STATIC_ROOT = "missing-static-root"
    MISSING_ENV_VAR = "missing-env-var"  # settings read an env var the build does not have
    MISSING_MODULE = "missing-module"  # settings import something that is not installed
    SETTINGS_ERROR = "settings-error"  # some other exception while loading the project
    UNKNOWN = "unknown"


@dataclass
class CollectstaticFailed(LaunchError):
    argv: tuple[str, ...]  # as run, relative to the app dir (`python manage.py ...`)
    returncode: int
    output: str  # Django's own stdout and stderr
    cause: CollectstaticCause
    name: str | None = None  # the env var or module that MISSING_* is about

    def __str__(self) -> str:
        return f"{' '.join(self.argv)} exited with status {self.returncode}"


@dataclass
class InvalidBooleanSetting(LaunchError):
    name: str
    value: str

    def __str__(self) -> str:
        return f"{self.name}={self.value!r} is not a boolean"


_ENV_VAR_PATTERNS = (
    re.compile(r"KeyError: '([A-Za-z_][A-Za-z0-9_]*)'"),  # os.environ["X"]
    re.compile(r"Set the ([A-Za-z_][A-Za-z0-9_]*) environment variable"),  # django-environ
    re.compile(r"([A-Za-z_][A-Za-z0-9_]*) not found\. Declare it as envvar"),  # python-decouple
)
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def diagnose(output: str) -> tuple[CollectstaticCause, str | None]:
    """The likely cause of a failed `manage.py` run, from its output."""
    if "STATIC_ROOT" in output and "ImproperlyConfigured" in output:
        return CollectstaticCause.MISSING_STATIC_ROOT, None
    for pattern in _ENV_VAR_PATTERNS:
        if found := pattern.search(output):
            return CollectstaticCause.MISSING_ENV_VAR, found[1]
    if found := _MISSING_MODULE.search(output):
        return CollectstaticCause.MISSING_MODULE, found[1]
    if "Traceback (most recent call last)" in output or "ImproperlyConfigured" in output:
        return CollectstaticCause.SETTINGS_ERROR, None
    return CollectstaticCause.UNKNOWN, None


def collect_static_files(
    app_dir: Path,
    out: Output,
    settings: Settings,
    *,
    installed: Installed,
    venv_dir: Path,
    env: Mapping[str, str],
) -> None:
    # Checked on every app, Django or not: the README promises that a bad value is an error.
    disabled = _is_disabled(settings)
    manage = app_dir / "manage.py"
    if not manage.is_file():  # follows symlinks: a symlinked manage.py counts
        return
    out.header("Django")
    if not installed.has("django"):
        out.info("Skipping collectstatic: the app has a manage.py, but Django is not installed")
        return
    if disabled:
        out.info(f"Skipping collectstatic: {DISABLE_SETTING} is set")
        return
    django_env = {
        **(layer_path_env(venv_dir) + LayerEnv.read_from(venv_dir)).apply(Phase.BUILD, env),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    python = str(venv_dir / "bin" / "python")
    try:
        run_captured([python, "manage.py", "help", "collectstatic"], env=django_env, cwd=app_dir)
    except CommandFailed as error:
        if _UNKNOWN_COMMAND not in (error.output or ""):
            raise _failure(error, "help", "collectstatic") from None
        out.info(
            "Skipping collectstatic: django.contrib.staticfiles is not in INSTALLED_APPS, "
            "so the app has no static files to collect"
        )
        return
    with out.step("Running manage.py collectstatic --noinput"):
        try:
            output = run_captured(
                [python, "manage.py", "collectstatic", "--noinput"], env=django_env, cwd=app_dir
            )
        except CommandFailed as error:
            raise _failure(error, "collectstatic", "--noinput") from None
        for line in output.splitlines():
            if line.strip():
                out.detail(line.strip())
    _warn_if_outside_app(out, app_dir, output)


def _failure(error: CommandFailed, *args: str) -> CollectstaticFailed:
    output = error.output or ""
    cause, name = diagnose(output)
    return CollectstaticFailed(
        ("python", "manage.py", *args), error.returncode, output, cause, name
    )


def _is_disabled(settings: Settings) -> bool:
    value = settings.get(DISABLE_SETTING)
    if value is None or value.lower() in _FALSE:
        return False
    if value.lower() in _TRUE:
        return True
    raise InvalidBooleanSetting(DISABLE_SETTING, value)


# "12 static files copied to '/workspace/staticfiles', 3 unmodified."
_COPIED_TO = re.compile(r"copied to '([^']+)'")


def _warn_if_outside_app(out: Output, app_dir: Path, output: str) -> None:
    found = _COPIED_TO.search(output)
    if found is None or Path(found[1]).resolve().is_relative_to(app_dir.resolve()):
        return
    out.warning(
        Message(
            "STATIC_ROOT is outside the app directory",
            f"collectstatic wrote the static files to {found[1]}, which is not part of the "
            "image: only the app directory and the buildpacks' launch layers are.",
            "Set STATIC_ROOT to a directory inside the project, for example "
            'BASE_DIR / "staticfiles".',
        )
    )
