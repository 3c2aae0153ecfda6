"""Checks before any work: env vars that would break the build or the image.

Each entry says why, because the error lists every offender with its reason. Sources audited:
the Python docs (`sys.flags`, site), pip's configuration docs (every option has a PIP_ env var),
Poetry's configuration docs (POETRY_*), uv's environment variable reference (UV_*), Pipenv's
`pipenv --envs` (PIPENV_*) and PDM's configuration table (PDM_*), at the pinned versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pycnb.buildpack.errors import BuildpackError

__all__ = ["FORBIDDEN_ENV_VARS", "ForbiddenEnvVars", "check_environment"]

FORBIDDEN_ENV_VARS: Mapping[str, str] = {
    # The interpreter
    "PYTHONHOME": "it makes Python look for its standard library in the wrong place",
    "PYTHONUSERBASE": "it moves user installs out of the image's environment",
    "PYTHONNOUSERSITE": "the buildpack manages site directories itself",
    "VIRTUAL_ENV": "the buildpack creates and activates the app's virtual environment itself",
    # pip: where it installs, and which interpreter it drives
    "PIP_PYTHON": "the buildpack points pip at the app's virtual environment itself",
    "PIP_TARGET": "it makes pip install outside the app's virtual environment",
    "PIP_PREFIX": "it makes pip install outside the app's virtual environment",
    "PIP_ROOT": "it makes pip install outside the app's virtual environment",
    "PIP_USER": "user installs bypass the app's virtual environment",
    "PIP_CACHE_DIR": "the buildpack keeps pip's cache in its own cached layer",
    "PIP_NO_CACHE_DIR": "the buildpack keeps pip's cache in its own cached layer",
    "PIP_REQUIRE_VIRTUALENV": "pip runs outside the virtual environment it installs into",
    "PIP_CONFIG_FILE": "pip's settings belong in PIP_* env vars; config files are ignored",
    # Poetry: where its environments and caches live
    "POETRY_VIRTUALENVS_CREATE": "Poetry must install into the buildpack's environment",
    "POETRY_VIRTUALENVS_IN_PROJECT": "Poetry must install into the buildpack's environment",
    "POETRY_VIRTUALENVS_PATH": "Poetry must install into the buildpack's environment",
    "POETRY_VIRTUALENVS_USE_POETRY_PYTHON": "Poetry must use the buildpack's Python",
    "POETRY_CACHE_DIR": "the buildpack keeps Poetry's cache in its own cached layer",
    "POETRY_DATA_DIR": "the buildpack keeps Poetry's data in its own layer",
    "POETRY_HOME": "the buildpack installs Poetry itself",
    "POETRY_CONFIG_DIR": "Poetry's config files are ignored; configure it with POETRY_* env vars",
    # uv: which interpreter and environment it uses
    "UV_PROJECT_ENVIRONMENT": "the buildpack points uv at the app's virtual environment itself",
    "UV_PYTHON": "uv must use the buildpack's Python",
    "UV_PYTHON_INSTALL_DIR": "uv must not install its own Python",
    "UV_PYTHON_DOWNLOADS": "uv must not download its own Python",
    "UV_MANAGED_PYTHON": "uv must use the buildpack's Python",
    "UV_SYSTEM_PYTHON": "uv must install into the app's virtual environment",
    "UV_CACHE_DIR": "the buildpack gives uv a cache beside the venv, to link files from",
    "UV_NO_CACHE": "the buildpack gives uv a cache beside the venv, to link files from",
    "UV_LINK_MODE": "uv's cache is scratch space of the build: the venv must own its files",
    "UV_TOOL_DIR": "the buildpack installs uv itself",
    "UV_DEV": "it adds the dev group to the image; BP_PYTHON_GROUPS chooses the groups",
    "UV_NO_EDITABLE": (
        "a cached venv would keep a stale copy of the app's code; the project is installed editable"
    ),
    # Pipenv: which environment and Pipfile it uses
    "PIPENV_ACTIVE": "Pipenv would ignore the app's virtual environment",
    "PIPENV_VENV_IN_PROJECT": "Pipenv must install into the buildpack's environment",
    "PIPENV_CUSTOM_VENV_NAME": "Pipenv must install into the buildpack's environment",
    "PIPENV_PYTHON": "Pipenv must use the buildpack's Python",
    "PIPENV_PIPFILE": "the app's own Pipfile decides what is installed",
    "PIPENV_CACHE_DIR": "the buildpack keeps Pipenv's cache in its own cached layer",
    "PIPENV_SYSTEM": "Pipenv must install into the app's virtual environment",
    "PIPENV_DEV": "it adds the dev packages to the image; BP_PYTHON_GROUPS chooses categories",
    # PDM: which interpreter, environment and lockfile it uses
    "PDM_PYTHON": "PDM must use the buildpack's Python",
    "PDM_IGNORE_ACTIVE_VENV": "PDM must install into the app's virtual environment",
    "PDM_USE_VENV": "PDM must install into the app's virtual environment",
    "PDM_VENV_IN_PROJECT": "PDM must install into the buildpack's environment",
    "PDM_PROJECT": "the app's own pyproject.toml decides what is installed",
    "PDM_LOCKFILE": "the app's own pdm.lock decides what is installed",
    "PDM_CACHE_DIR": "the buildpack keeps PDM's cache in its own cached layer",
    "PDM_CONFIG_FILE": "PDM's config files are ignored; configure it with PDM_* env vars",
    "PDM_NO_EDITABLE": "the buildpack installs the project without editables itself",
    "PDM_NO_SELF": "the buildpack decides from pyproject.toml whether the project is installed",
}


@dataclass
class ForbiddenEnvVars(BuildpackError):
    found: list[tuple[str, str]]  # (name, why it is forbidden), in name order

    def __str__(self) -> str:
        return "forbidden env vars: " + ", ".join(name for name, _ in self.found)


def check_environment(env: Mapping[str, str]) -> None:
    """Raise ForbiddenEnvVars naming every offender. Values are never read or shown."""
    found = sorted((name, why) for name, why in FORBIDDEN_ENV_VARS.items() if name in env)
    if found:
        raise ForbiddenEnvVars(found)
