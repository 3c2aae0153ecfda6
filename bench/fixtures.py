"""What the benchmark builds, prepared once: pinned wheels, a Python, an index, tools, apps.

- The wheels of a Django-sized app (22 pinned packages) are downloaded once into
  `<user cache>/pycnb/bench-wheels`, with two versions of whitenoise for the "one pin changed"
  scenario. Later runs are offline.
- They are served with the pinned installer wheels (`scripts/fetch_test_wheels.py`) from a
  loopback simple index, so every system installs from the same place without network noise.
- The uv.lock and poetry.lock of the apps are written against that index by the pinned uv and
  Poetry (their URL names the index's port, so they are written again on each run).
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

from pycnb.buildpack.dependencies.tool_versions import PIP_VERSION
from pycnb.platform.target import host_target
from pycnb.runtimes.discover import LocalPython, find_local_pythons
from pycnb.runtimes.local_python import write_local_manifest
from tests.support.tool_wheels import cached_tool_wheels, make_tools_venv

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

APP_KINDS = ("pip", "uv", "poetry")


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


# --- Apps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """The dependency files of one version of an app: file name -> text."""

    files: dict[str, str]


@dataclass(frozen=True)
class App:
    kind: str  # pip, uv or poetry
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
    source = f'[[tool.poetry.source]]\nname = "local"\nurl = "{index_url}"\npriority = "primary"\n'
    return head + f"[tool.poetry]\npackage-mode = false\n\n{source}"


def make_app(kind: str, work: Path, *, index_url: str, tools: Path, python: Path) -> App:
    """The app of `kind`, with lockfiles written by the pinned uv/Poetry against the index."""
    requirements = (_requirements(0), _requirements(1))
    if kind == "pip":
        variants = tuple(Variant({"requirements.txt": text}) for text in requirements)
        return App(kind, (variants[0], variants[1]), requirements)
    locked = []
    for variant in (0, 1):
        project = work / f"lock-{kind}-{variant}"
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir(parents=True)
        (project / "pyproject.toml").write_text(_pyproject(kind, variant, index_url))
        lockfile = "uv.lock" if kind == "uv" else "poetry.lock"
        argv = (
            [str(tools / "uv"), "lock", "--python", str(python)]
            if kind == "uv"
            else [str(tools / "poetry"), "lock", "--no-interaction"]
        )
        env = tool_env(work / "lock-home")
        if kind == "poetry":
            # Poetry locks for the Python of the active venv, which must satisfy requires-python.
            lock_venv = work / "lock-venv"
            if not lock_venv.exists():
                subprocess.run([str(python), "-m", "venv", "--without-pip", str(lock_venv)],
                               check=True)  # fmt: skip
            env["VIRTUAL_ENV"] = str(lock_venv)
        completed = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True,
                                   check=False, timeout=300)  # fmt: skip
        if completed.returncode != 0:
            output = completed.stdout + completed.stderr
            raise SystemExit(f"bench: {' '.join(argv)} failed:\n{output}")
        locked.append(
            Variant(
                {
                    "pyproject.toml": (project / "pyproject.toml").read_text(),
                    lockfile: (project / lockfile).read_text(),
                }
            )
        )
    return App(kind, (locked[0], locked[1]), requirements)


def tool_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean env for uv, Poetry and pip: nothing from this machine's user config."""
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
    }
    env.update(extra)
    return env
