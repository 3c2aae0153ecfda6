"""What the benchmark builds, prepared once: pinned wheels, a Python, an index, tools, apps.

- The wheels of a Django-sized app (22 pinned packages) are downloaded once into
  `<user cache>/pycnb/bench-wheels`, with two versions of whitenoise for the "one pin changed"
  scenario. Later runs are offline.
- They are served with the pinned installer wheels (`scripts/fetch_test_wheels.py`) from a
  loopback simple index, so every system installs from the same place without network noise.
- The uv.lock, poetry.lock, Pipfile.lock and pdm.lock of the apps are written against that index
  by the pinned uv, Poetry, Pipenv and PDM (their URL names the index's port, so they are written
  again on each run). Locking reads only that index: it never reaches the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from pycnb.buildpack.dependencies.tool_versions import LOCKED_TOOLS, PIP_VERSION
from pycnb.platform.target import host_target
from pycnb.runtimes.discover import LocalPython, find_local_pythons
from pycnb.runtimes.local_python import write_local_manifest
from tests.support.tool_wheels import cached_tool_wheels, make_locked_tool_venv, make_tools_venv

__all__ = [
    "APP_KINDS",
    "PINS",
    "PIN_CHANGE",
    "PYTHON_MINOR",
    "App",
    "Log",
    "Variant",
    "bench_cache_dir",
    "bench_python",
    "download_batches",
    "ensure_wheels",
    "locked_tool_venv",
    "make_app",
    "runtime_manifest",
    "tools_venv",
]

PYTHON_MINOR = "3.12"

Log = Callable[[str], None]

# A Django API app's dependencies, every one pinned (with their own dependencies, also pinned).
PINS: dict[str, str] = {
    "asgiref": "3.13.0",
    "certifi": "2026.10.18",
    "charset-normalizer": "3.5.2",
    "dj-database-url": "3.1.2",
    "django": "6.1.3",
    "django-cors-headers": "4.9.0",
    "django-environ": "0.14.0",
    "django-filter": "26.2",
    "djangorestframework": "3.18.3",
    "gunicorn": "27.0.1",
    "idna": "3.20",
    "markdown": "3.11.3",
    "psycopg": "3.3.9",
    "psycopg-binary": "3.3.9",
    "python-dateutil": "4.0.0",
    "pyyaml": "6.0.3",
    "requests": "2.34.2",
    "sqlparse": "0.6.1",
    "typing-extensions": "4.16.0",
    "tzdata": "2026.6",
    "urllib3": "2.8.0",
    "whitenoise": "6.12.0",
}
# The "one pinned version changes" scenario moves this package between these two versions.
PIN_CHANGE = ("whitenoise", "6.12.0", "6.11.0")

# The app's code: what a Django API app imports at start (the import-time measurement).
APP_MAIN = """\
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                    "django_filters", "corsheaders", "whitenoise"],
)
django.setup()

import dateutil.parser, dj_database_url, environ, gunicorn, markdown, psycopg, requests, yaml
import corsheaders.middleware, django_filters.rest_framework, whitenoise.middleware
import django.contrib.auth.models, rest_framework.views, rest_framework.serializers

VERSION = 0
"""

APP_KINDS = ("pip", "uv", "poetry", "pipenv", "pdm")


def bench_cache_dir() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "pycnb"


# --- Wheels -----------------------------------------------------------------------------------


def _wanted() -> set[tuple[str, str]]:
    pins = {(canonicalize_name(name), version) for name, version in PINS.items()}
    return pins | {(canonicalize_name(PIN_CHANGE[0]), PIN_CHANGE[2])}


def ensure_wheels(log: Log) -> Path:
    """`<user cache>/pycnb/bench-wheels`, holding a wheel of every pin; downloads what lacks."""
    directory = bench_cache_dir() / "bench-wheels"
    directory.mkdir(parents=True, exist_ok=True)
    present = set()
    for wheel in directory.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        present.add((str(name), str(version)))
    missing = sorted(_wanted() - present)
    if missing:
        log(f"Downloading {len(missing)} wheels into {directory} (once)")
    for batch in download_batches(missing):
        argv = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
                "--no-deps", "--only-binary=:all:", "--dest", str(directory),
                "--python-version", PYTHON_MINOR, "--implementation", "cp",
                "--abi", f"cp{PYTHON_MINOR.replace('.', '')}", "--abi", "abi3", "--abi", "none",
                *(f"--platform={p}" for p in _PLATFORMS),
                *(f"{name}=={version}" for name, version in batch)]  # fmt: skip
        subprocess.run(argv, check=True)
    # The pinned pip, uv and Poetry: fetched by scripts/fetch_test_wheels.py; fails naming it.
    cached_tool_wheels()
    return directory


def download_batches(pins: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split pins into `pip download` calls that name each project at most once.

    pip treats two versions of one project in a single call as a conflict, even with --no-deps,
    and the pin-change scenario needs two versions of one package.
    """
    batches: list[list[tuple[str, str]]] = []
    for name, version in pins:
        batch = next((b for b in batches if all(n != name for n, _ in b)), None)
        if batch is None:
            batch = []
            batches.append(batch)
        batch.append((name, version))
    return batches


_PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "linux_x86_64",
    "any",
)


# --- Python and tools -------------------------------------------------------------------------


def bench_python() -> LocalPython:
    for python in find_local_pythons():
        if python.version.minor_version == PYTHON_MINOR:
            return python
    raise SystemExit(f"bench: needs a CPython {PYTHON_MINOR} on this machine (pyenv, uv, PATH)")


def runtime_manifest(python: LocalPython) -> Path:
    # Its own directory: the tests' manifest in runtimes/ lists other versions, and may be in use.
    return write_local_manifest([python], bench_cache_dir() / "bench-runtimes", arch=_arch())


def _arch() -> str:
    return host_target().arch


def tools_venv() -> Path:
    """`bin/` of a venv with the pinned pip, uv and Poetry (for lockfiles and the baselines)."""
    tools = make_tools_venv(bench_cache_dir() / "bench-tools", cached_tool_wheels())
    probe = subprocess.run(
        [str(tools / "python"), "-m", "pip", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    if f"pip {PIP_VERSION} " not in probe.stdout:
        subprocess.run(
            [str(tools / "python"), "-m", "pip", "install", "--quiet", "--isolated",
             "--disable-pip-version-check", "--no-index", "--find-links",
             str(cached_tool_wheels()), f"pip=={PIP_VERSION}"],
            check=True,
        )  # fmt: skip
    return tools


def locked_tool_venv(name: str) -> Path:
    """`bin/` of a venv with the pinned Pipenv or PDM, installed exactly as its lock says (as the
    buildpack installs it): for the lockfiles and the plain baseline."""
    [tool] = [t for t in LOCKED_TOOLS if t.requirement.startswith(f"{name}==")]
    return make_locked_tool_venv(bench_cache_dir() / f"bench-{name}", cached_tool_wheels(), tool)


# --- Apps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """The dependency files of one version of an app: file name -> text."""

    files: dict[str, str]


@dataclass(frozen=True)
class App:
    kind: str  # one of APP_KINDS
    variants: tuple[Variant, Variant]  # (the pins above, one pin changed)
    requirements: tuple[str, str]  # the same pins as requirements.txt text, for the reference

    def write(self, directory: Path, variant: int = 0) -> None:
        """The app's source in `directory`, with the dependency files of `variant`."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ".python-version").write_text(f"{PYTHON_MINOR}\n")
        package = directory / "benchapp"
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text(APP_MAIN)
        self.set_variant(directory, variant)

    def set_variant(self, directory: Path, variant: int) -> None:
        for name, text in self.variants[variant].files.items():
            (directory / name).write_text(text)

    @staticmethod
    def change_code(directory: Path) -> None:
        main = directory / "benchapp" / "main.py"
        main.write_text(main.read_text() + "VERSION += 1\n")


def _requirements(variant: int) -> str:
    pins = dict(PINS)
    if variant:
        pins[PIN_CHANGE[0]] = PIN_CHANGE[2]
    return "".join(f"{name}=={version}\n" for name, version in pins.items())


def _pyproject(kind: str, variant: int, index_url: str) -> str:
    deps = ",\n".join(f'  "{line}"' for line in _requirements(variant).split())
    head = (
        f'[project]\nname = "benchapp"\nversion = "0"\nrequires-python = "=={PYTHON_MINOR}.*"\n'
        f"dependencies = [\n{deps},\n]\n\n"
    )
    if kind == "uv":
        index = f'[[tool.uv.index]]\nname = "local"\nurl = "{index_url}"\ndefault = true\n'
        return head + f"[tool.uv]\npackage = false\n\n{index}"
    if kind == "pdm":
        # An app, not a package: PDM installs its dependencies only.
        source = f'[[tool.pdm.source]]\nname = "pypi"\nurl = "{index_url}"\nverify_ssl = false\n'
        return head + f"[tool.pdm]\ndistribution = false\n\n{source}"
    source = f'[[tool.poetry.source]]\nname = "local"\nurl = "{index_url}"\npriority = "primary"\n'
    return head + f"[tool.poetry]\npackage-mode = false\n\n{source}"


def _pipfile(variant: int, index_url: str) -> str:
    packages = "".join(
        f'{name} = "=={version}"\n'
        for name, version in (line.split("==") for line in _requirements(variant).split())
    )
    return (
        f'[[source]]\nurl = "{index_url}"\nverify_ssl = false\nname = "local"\n\n'
        f'[packages]\n{packages}\n[requires]\npython_version = "{PYTHON_MINOR}"\n'
    )


# Per locked kind: the file the tool reads, and the lockfile it writes.
_LOCKED_FILES = {
    "uv": ("pyproject.toml", "uv.lock"),
    "poetry": ("pyproject.toml", "poetry.lock"),
    "pipenv": ("Pipfile", "Pipfile.lock"),
    "pdm": ("pyproject.toml", "pdm.lock"),
}


def make_app(kind: str, work: Path, *, index_url: str, tools: Path, python: Path) -> App:
    """The app of `kind`, with lockfiles written by the pinned uv/Poetry/Pipenv/PDM against the
    index."""
    requirements = (_requirements(0), _requirements(1))
    if kind == "pip":
        variants = tuple(Variant({"requirements.txt": text}) for text in requirements)
        return App(kind, (variants[0], variants[1]), requirements)
    manifest, lockfile = _LOCKED_FILES[kind]
    locked = []
    for variant in (0, 1):
        project = work / f"lock-{kind}-{variant}"
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir(parents=True)
        text = (
            _pipfile(variant, index_url)
            if kind == "pipenv"
            else _pyproject(kind, variant, index_url)
        )
        (project / manifest).write_text(text)
        argv, env = _lock_command(kind, work, tools=tools, python=python)
        completed = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True,
                                   check=False, timeout=300)  # fmt: skip
        if completed.returncode != 0:
            output = completed.stdout + completed.stderr
            raise SystemExit(f"bench: {' '.join(argv)} failed:\n{output}")
        files = {name: (project / name).read_text() for name in (manifest, lockfile)}
        locked.append(Variant(files))
    return App(kind, (locked[0], locked[1]), requirements)


def _lock_command(
    kind: str, work: Path, *, tools: Path, python: Path
) -> tuple[list[str], dict[str, str]]:
    env = tool_env(work / "lock-home")
    if kind == "uv":
        return [str(tools / "uv"), "lock", "--python", str(python)], env
    # Poetry and Pipenv lock for the Python of the active venv, which must be the app's Python
    # (requires-python, [requires]): a venv of the bench CPython, holding nothing.
    lock_venv = work / "lock-venv"
    if not lock_venv.exists():
        subprocess.run([str(python), "-m", "venv", "--without-pip", str(lock_venv)], check=True)
    if kind == "poetry":
        env["VIRTUAL_ENV"] = str(lock_venv)
        return [str(tools / "poetry"), "lock", "--no-interaction"], env
    if kind == "pipenv":
        env["VIRTUAL_ENV"] = str(lock_venv)
        return [str(locked_tool_venv("pipenv") / "pipenv"), "lock"], env
    env["PDM_PYTHON"] = str(lock_venv / "bin" / "python")
    return [str(locked_tool_venv("pdm") / "pdm"), "lock"], env


def tool_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean env for uv, Poetry, Pipenv, PDM and pip: nothing from this machine's user config."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "UV_CACHE_DIR": str(home / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
        "POETRY_CACHE_DIR": str(home / "poetry-cache"),
        "POETRY_CONFIG_DIR": str(home / "poetry-config"),
        "POETRY_VIRTUALENVS_CREATE": "false",
        "POETRY_KEYRING_ENABLED": "false",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIPENV_CACHE_DIR": str(home / "pipenv-cache"),
        "PIPENV_VERBOSITY": "-1",  # no courtesy notices
        "PIPENV_NOSPIN": "1",
        "PIPENV_YES": "1",
        "PIPENV_DONT_LOAD_ENV": "1",
        "PDM_CACHE_DIR": str(home / "pdm-cache"),
        "PDM_CONFIG_FILE": str(home / "pdm-config.toml"),  # absent: PDM's defaults
        "PDM_CHECK_UPDATE": "false",
        "PDM_NON_INTERACTIVE": "1",
    }
    env.update(extra)
    return env
