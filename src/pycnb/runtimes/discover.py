"""Finding the CPython installs on this machine: pyenv's, uv's, and those on PATH.

Each candidate is probed (it must run, be CPython >= 3.10, and be a real install rather than a
shim or a venv), so what `find_local_pythons` returns can be packed by `local_python.py`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.python.version import PythonVersion

MIN_VERSION = PythonVersion(3, 10, 0)


_PROBE_TIMEOUT = 20.0


# What the interpreter reports about itself; runs under any Python 3 via `-I -c`.
_PROBE = (
    "import json, sys; print(json.dumps({"
    "'implementation': sys.implementation.name, 'version': list(sys.version_info[:3]), "
    "'releaselevel': sys.version_info.releaselevel, 'abiflags': getattr(sys, 'abiflags', ''), "
    "'base_prefix': sys.base_prefix}))"
)


_PYTHON_ON_PATH = re.compile(r"python3\.\d+")


@dataclass(frozen=True)
class LocalPython:
    version: PythonVersion
    prefix: Path  # the install's real (resolved) prefix: prefix/bin/pythonX.Y exists


_ELF_MAGIC = b"\x7fELF"


# --- Finding installs ---------------------------------------------------------------------


def find_local_pythons(env: Mapping[str, str] | None = None) -> list[LocalPython]:
    """CPython >= 3.10 installs on this machine, newest version first, one per prefix."""
    env = _clean_env(os.environ if env is None else env)
    found: dict[Path, LocalPython] = {}
    probed: set[Path] = set()
    for candidate in _candidates(env):
        real = candidate.resolve()
        if real in probed:
            continue
        probed.add(real)
        python = _probe(candidate, env)
        if python is not None:
            found.setdefault(python.prefix, python)
    return sorted(found.values(), key=lambda p: (p.version, str(p.prefix)), reverse=True)


def _clean_env(env: Mapping[str, str]) -> dict[str, str]:
    # PYENV_VERSION would steer pyenv, PYTHON* the interpreters (besides what -I ignores).
    return {k: v for k, v in env.items() if k != "PYENV_VERSION" and not k.startswith("PYTHON")}


def _candidates(env: Mapping[str, str]) -> Iterator[Path]:
    yield from _pyenv_candidates(env)
    yield from _uv_candidates(env)
    yield from _path_candidates(env)


def _run(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    # Discovery is best effort: a tool that is missing, slow or failing just finds nothing.
    # cwd=/ so that no `.python-version` in the caller's directory steers a version manager.
    try:
        done = subprocess.run(
            argv,
            env=dict(env),
            cwd="/",
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _pyenv_candidates(env: Mapping[str, str]) -> Iterator[Path]:
    pyenv = shutil.which("pyenv", path=env.get("PATH", ""))
    listed = _run([pyenv, "versions", "--bare"], env) if pyenv else None
    if pyenv is None or listed is None:
        return
    for name in listed.split():
        # Skip what is plainly too old without spawning anything ("2.7.18", "3.9.18").
        match = re.match(r"(\d+)\.(\d+)", name)
        if match and (int(match[1]), int(match[2])) < (MIN_VERSION.major, MIN_VERSION.minor):
            continue
        prefix = _run([pyenv, "prefix", name], env)
        if prefix and prefix.strip():
            yield Path(prefix.strip()) / "bin" / "python3"


def _uv_candidates(env: Mapping[str, str]) -> Iterator[Path]:
    uv = shutil.which("uv", path=env.get("PATH", ""))
    if uv is None:
        return
    # Only look at what is installed: a uv download would fail here, and would not be wanted.
    uv_env = {**env, "UV_PYTHON_DOWNLOADS": "never"}
    listed = _run([uv, "python", "list", "--only-installed", "--output-format", "json"], uv_env)
    if listed is not None:
        try:
            entries = json.loads(listed)
        except json.JSONDecodeError:
            entries = []
        for entry in entries if isinstance(entries, list) else []:
            path = entry.get("path") if isinstance(entry, dict) else None
            if isinstance(path, str):
                yield Path(path)
        return
    found = _run([uv, "python", "find"], uv_env)  # older uv: no JSON listing
    if found and found.strip():
        yield Path(found.strip())


def _path_candidates(env: Mapping[str, str]) -> Iterator[Path]:
    for directory in env.get("PATH", "").split(os.pathsep):
        try:
            paths = sorted(Path(directory or ".").iterdir())
        except OSError:
            continue
        for path in paths:
            name = path.name
            # A pyenv (or asdf) shim is a shell script that picks its interpreter from the
            # cwd's .python-version: never trust one. Real interpreters are ELF binaries.
            if _PYTHON_ON_PATH.fullmatch(name) and _is_elf(path):
                yield path


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(4) == _ELF_MAGIC
    except OSError:
        return False


def _probe(executable: Path, env: Mapping[str, str]) -> LocalPython | None:
    output = _run([str(executable), "-I", "-c", _PROBE], env)
    if output is None:
        return None
    try:
        facts = json.loads(output)
        version = PythonVersion(*(int(part) for part in facts["version"]))
        prefix = Path(str(facts["base_prefix"])).resolve()  # base_: a venv is not an install
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if (
        facts.get("implementation") != "cpython"
        or facts.get("releaselevel") != "final"  # no "3.14.0rc1" in an X.Y.Z manifest
        or facts.get("abiflags") != ""  # free-threaded or debug builds use other lib dirs
        or version < MIN_VERSION
    ):
        return None
    stdlib = prefix / "lib" / f"python{version.minor_version}"
    # site-packages rules out distro builds such as Debian's /usr: they use dist-packages,
    # split the stdlib across packages and patch sysconfig, so they are not a whole install.
    required = [prefix / "bin" / f"python{version.minor_version}", stdlib, stdlib / "site-packages"]
    if all(path.exists() for path in required):
        return LocalPython(version, prefix)
    return None
