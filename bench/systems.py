"""The systems the benchmark times side by side: pycnb and its baselines.

- `Pycnb`: `pycnb build` (the local platform running the packaged buildpack), one root per app.
  Its export phase is timed from the platform's `===> EXPORTING` line to its `Successfully
  built` line, both stamped as they arrive on the CLI's output (the platform flushes each line).
- `Plain`: what a developer types, the tool already installed. `python -m venv .venv` +
  `.venv/bin/pip install -r requirements.txt` (pip as bundled with that Python), `uv sync
  --locked`, or a venv + `poetry sync` / `pipenv sync` / `pdm sync --prod`. Rebuilds rerun the
  install command in the same project, as a developer would.
- `Dockerfile`: what a user would otherwise write in a Dockerfile on a Python image, the cold
  build target's baseline: install the tool with the image's pip, then sync with bytecode
  compiled, both timed (sample keys `tool_install` and `sync`; `total` is their sum). Only the
  cold build: Docker's layer cache, not the tool, decides what a rebuild costs.
- `Reference`: the reference CNB strategy (heroku/buildpacks-python's pip path): every build makes
  a fresh `python -m venv --without-pip` and installs requirements.txt into it with the pinned pip
  from outside (`pip --python`), from a pip cache kept between builds. For the uv, Poetry, Pipenv
  and PDM apps it installs the same pins from requirements.txt.

Every system uses the same CPython and the same loopback index. A cold build starts each of them
with no venv and an empty cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from bench.fixtures import App, tool_env
from pycnb.buildpack.dependencies.tool_versions import (
    PDM_LOCK,
    PIP_VERSION,
    PIPENV_LOCK,
    POETRY_LOCK,
    UV_VERSION,
)

__all__ = [
    "BenchError",
    "Dockerfile",
    "Plain",
    "Pycnb",
    "Reference",
    "Sample",
    "System",
    "mtime_1980",
]

Sample = dict[str, float]

_DONE = re.compile(r"^- Python \S+, dependencies from \S+ \((?P<duration>[^)]+)\)$", re.MULTILINE)
# Every timed step of the build log: "- Installing pip 26.3...", then "  Done (3.0 s)".
_STEP = re.compile(r"^- (?P<step>[^\n]+?)\.\.\.\n\s+Done \((?P<d>[^)]+)\)$", re.MULTILINE)
# The Python layer's steps (a download elsewhere, a file:// URL here), which no baseline does.
_PYTHON_STEPS = re.compile(r"^(Installing Python \S+|Compiling the standard library)$")
# Installing the installer itself (into its build-only layer), which the baselines get for free.
_TOOL_STEPS = re.compile(r"^Installing (pip|uv|Poetry|Pipenv|PDM) \S+$", re.IGNORECASE)
_IMPORT_SCRIPT = (
    "import time; t = time.perf_counter(); import benchapp.main; "
    "print('import-seconds', time.perf_counter() - t)"
)
_1980 = 315532800  # what the lifecycle sets every exported file's mtime to


class BenchError(RuntimeError):
    pass


def _seconds(text: str) -> float:
    value, _, unit = text.partition(" ")
    if unit == "ms":
        return float(value) / 1000
    if unit == "s":
        return float(value)
    minutes, rest = re.fullmatch(r"(\d+) min (\d+) s", text).groups()  # type: ignore[union-attr]
    return int(minutes) * 60 + float(rest)


def _run_stamped(
    argv: list[str], *, cwd: Path, env: dict[str, str]
) -> tuple[float, list[tuple[float, str]]]:
    """Like `_run`, with each output line and the time it arrived (seconds since the start)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    # A line-by-line read has no timeout of its own: a hung build is killed after 15 minutes.
    watchdog = threading.Timer(900, process.kill)
    watchdog.start()
    try:
        stdout = process.stdout or ()  # always a pipe here
        lines = [(time.perf_counter() - started, line.rstrip("\n")) for line in stdout]
        returncode = process.wait()
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - started
    if returncode != 0:
        output = "\n".join(line for _, line in lines)
        raise BenchError(f"{' '.join(argv)} failed ({returncode}):\n{output}")
    return elapsed, lines


def _export_seconds(lines: list[tuple[float, str]]) -> float:
    """From the platform's `===> EXPORTING` to its `Successfully built` line: exporting the
    layers and committing the image (the last phase; the lines after it only name directories)."""
    start = next((t for t, line in lines if line == "===> EXPORTING"), None)
    end = next((t for t, line in lines if line.startswith("Successfully built ")), None)
    if start is None or end is None:
        log = "\n".join(line for _, line in lines)
        raise BenchError(f"no export phase in the log:\n{log}")
    return end - start


def _run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        check=False, timeout=900,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed ({completed.returncode}):\n{completed.stdout}")
    return elapsed, completed.stdout


def mtime_1980(directory: Path) -> None:
    """Reset every mtime under `directory`, as the lifecycle's export does."""
    for path in [directory, *directory.rglob("*")]:
        os.utime(path, (_1980, _1980), follow_symlinks=False)


def _pyc_states(directories: list[Path]) -> dict[Path, tuple[int, int]]:
    return {
        p: (p.stat().st_mtime_ns, p.stat().st_size)
        for directory in directories
        for p in directory.rglob("*.pyc")
    }


def _changed(before: dict[Path, tuple[int, int]], after: dict[Path, tuple[int, int]]) -> int:
    return sum(1 for path, state in after.items() if before.get(path) != state)


@dataclass
class System:
    # A baseline of the cold build alone skips the rebuild scenarios.
    COLD_ONLY: ClassVar[bool] = False

    name: str
    app: App
    work: Path
    index_url: str
    python: Path  # the CPython every system uses

    @property
    def app_dir(self) -> Path:
        return self.work / self.name / "app"

    @property
    def home(self) -> Path:
        return self.work / self.name / "home"

    def reset(self) -> None:
        shutil.rmtree(self.work / self.name, ignore_errors=True)
        self.app.write(self.app_dir, 0)

    def set_variant(self, variant: int) -> None:
        self.app.set_variant(self.app_dir, variant)

    def change_code(self) -> None:
        self.app.change_code(self.app_dir)

    def build(self) -> Sample:
        raise NotImplementedError

    def import_check(self) -> Sample:
        raise NotImplementedError


@dataclass
class Pycnb(System):
    manifest: Path = field(default=Path())
    # The pycnb to benchmark: a checkout's `src` goes first on PYTHONPATH (None: the installed one).
    checkout: Path | None = None

    @property
    def root(self) -> Path:
        return self.work / self.name / "root"

    def _cli_argv(self, *args: str) -> tuple[list[str], dict[str, str]]:
        # The caller's env, minus what would steer the tools (the platform filters it anyway).
        tools = ("PIP_", "UV_", "POETRY_", "PIPENV_", "PDM_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(tools)}
        env.pop("VIRTUAL_ENV", None)
        if self.checkout is not None:
            env["PYTHONPATH"] = str(self.checkout / "src")
        return [sys.executable, "-m", "pycnb", *args], env

    def _cli(self, *args: str) -> tuple[float, str]:
        argv, env = self._cli_argv(*args)
        return _run(argv, cwd=self.work, env=env)

    def build(self) -> Sample:
        argv, env = self._cli_argv(
            "build", str(self.app_dir), "--root", str(self.root),
            f"--env=BP_PYTHON_MANIFEST={self.manifest.as_uri()}",
            f"--env=PIP_INDEX_URL={self.index_url}",
        )  # fmt: skip
        total, lines = _run_stamped(argv, cwd=self.work, env=env)
        log = "\n".join(line for _, line in lines)
        done = _DONE.search(log)
        if done is None:
            raise BenchError(f"no final build line in the log:\n{log}")
        steps = {m.group("step"): _seconds(m.group("d")) for m in _STEP.finditer(log)}
        return {
            "total": total,
            "buildpack": _seconds(done.group("duration")),
            "python_step": sum(d for step, d in steps.items() if _PYTHON_STEPS.match(step)),
            "tool_step": sum(d for step, d in steps.items() if _TOOL_STEPS.match(step)),
            "export": _export_seconds(lines),
            **{f"step: {step}": d for step, d in steps.items()},
        }

    @property
    def layers(self) -> Path:
        return self.root / "layers" / "pycnb_python"

    def import_check(self) -> Sample:
        layers = [self.root / "layers"]
        before = _pyc_states(layers)
        _, output = self._cli("run", str(self.app_dir), "--root", str(self.root), "--",
                              "python", "-c", _IMPORT_SCRIPT)  # fmt: skip
        return {
            "seconds": _import_seconds(output),
            "pyc_rewritten": _changed(before, _pyc_states(layers)),
        }

    def launch_bytes(self) -> dict[str, int]:
        """Bytes per exported (launch) layer, and those of any installer found in them."""
        sizes: dict[str, int] = {}
        installer = 0
        for layer in sorted(p for p in self.layers.iterdir() if p.is_dir()):
            sizes[layer.name] = 0
            for path in layer.rglob("*"):
                if path.is_symlink() or not path.is_file():
                    continue
                size = path.stat().st_size
                sizes[layer.name] += size
                if _is_installer(path.relative_to(layer)):
                    installer += size
        sizes["installers"] = installer
        return sizes


_INSTALLERS = re.compile(
    r"^(pip|uv|uvx|poetry|pipenv|pdm)(\d[\d.]*)?$|^(pip|uv|poetry|pipenv|pdm)-.*\.dist-info$"
)


def _is_installer(relative: Path) -> bool:
    # bin/pip3.12, site-packages/pip/, site-packages/uv-0.13.9.dist-info/, bin/poetry, bin/pdm...
    return any(_INSTALLERS.match(part) for part in relative.parts)


def _import_seconds(output: str) -> float:
    for line in output.splitlines():
        if line.startswith("import-seconds "):
            return float(line.split()[1])
    raise BenchError(f"the import script printed no time:\n{output}")


@dataclass
class Plain(System):
    tools: Path = field(default=Path())  # bin/ holding uv and Poetry
    pipenv: Path = field(default=Path())  # bin/ holding Pipenv
    pdm: Path = field(default=Path())  # bin/ holding PDM

    def _env(self) -> dict[str, str]:
        venv = self.app_dir / ".venv"
        return tool_env(
            self.home,
            PIP_INDEX_URL=self.index_url,
            PIP_CACHE_DIR=str(self.home / "pip-cache"),
            VIRTUAL_ENV=str(venv),
            # PDM installs into the venv of this Python: the app's, never one of its own.
            PDM_PYTHON=str(venv / "bin" / "python"),
        )

    def build(self) -> Sample:
        venv = self.app_dir / ".venv"
        env = self._env()
        total = 0.0
        if self.app.kind == "uv":
            argv = [str(self.tools / "uv"), "sync", "--locked", "--python", str(self.python)]
            env.pop("VIRTUAL_ENV")
            return {"total": _run(argv, cwd=self.app_dir, env=env)[0]}
        if not venv.exists():
            # Only pip installs with the venv's own pip; Poetry, Pipenv and PDM need none.
            without_pip = [] if self.app.kind == "pip" else ["--without-pip"]
            argv = [str(self.python), "-m", "venv", *without_pip, str(venv)]
            total += _run(argv, cwd=self.app_dir, env=env)[0]
        argv = {
            "pip": [str(venv / "bin" / "pip"), "install", "-r", "requirements.txt"],
            "poetry": [str(self.tools / "poetry"), "sync", "--only", "main", "--no-interaction"],
            "pipenv": [str(self.pipenv / "pipenv"), "sync"],
            "pdm": [str(self.pdm / "pdm"), "sync", "--prod"],
        }[self.app.kind]
        total += _run(argv, cwd=self.app_dir, env=env)[0]
        return {"total": total}

    def import_check(self) -> Sample:
        mtime_1980(self.app_dir)
        venv = [self.app_dir / ".venv"]
        before = _pyc_states(venv)
        _, output = _run([str(self.app_dir / ".venv" / "bin" / "python"), "-c", _IMPORT_SCRIPT],
                         cwd=self.app_dir, env=self._env())  # fmt: skip
        return {
            "seconds": _import_seconds(output),
            "pyc_rewritten": _changed(before, _pyc_states(venv)),
        }


@dataclass
class Reference(System):
    tools: Path = field(default=Path())
    variant: int = 0

    def reset(self) -> None:
        super().reset()
        self.variant = 0

    def set_variant(self, variant: int) -> None:
        self.variant = variant

    def build(self) -> Sample:
        requirements = self.app_dir / "reference-requirements.txt"
        requirements.write_text(self.app.requirements[self.variant])
        venv = self.work / self.name / "venv"
        shutil.rmtree(venv, ignore_errors=True)
        env = tool_env(
            self.home, PIP_INDEX_URL=self.index_url, PIP_CACHE_DIR=str(self.home / "pip-cache")
        )
        started = time.perf_counter()
        _run(
            [str(self.python), "-m", "venv", "--without-pip", str(venv)], cwd=self.app_dir, env=env
        )
        _run([str(self.tools / "python"), "-m", "pip", "--python", str(venv / "bin" / "python"),
              "install", "-r", str(requirements)], cwd=self.app_dir, env=env)  # fmt: skip
        return {"total": time.perf_counter() - started}


# How a Dockerfile installs each tool with the image's pip. uv is one wheel with no dependencies.
# Poetry, Pipenv and PDM come from the buildpack's locks (`--no-deps -r`, every file hash-checked)
# rather than `pip install poetry==X`: from the real index that resolves some of Poetry's
# dependencies to releases newer than its lock (charset-normalizer, cryptography: not on the
# loopback index) and PDM's to a hishel it cannot start with, and from the loopback index it
# picks other versions than the locks (filelock, packaging...). The locks install exactly what
# pycnb installs, with no resolution timed on either side.
_TOOL_INSTALL = {
    "uv": [f"uv=={UV_VERSION}"],
    "poetry": ["--no-deps", "-r", str(POETRY_LOCK)],
    "pipenv": ["--no-deps", "-r", str(PIPENV_LOCK)],
    "pdm": ["--no-deps", "-r", str(PDM_LOCK)],
}


@dataclass
class Dockerfile(System):
    """`pip install <tool>==X && <tool> sync` (bytecode compiled) on a Python image.

    The image is emulated by a fresh venv of the bench CPython holding the pinned pip, made
    untimed before each cold build (its bin/ first on PATH, then the CPython's): then
    `pip install` the tool into it (empty pip cache, the loopback index) and the sync, both timed:
    - uv: `uv sync --locked --compile-bytecode`
    - Poetry: `poetry sync --only main --compile` (its venv `.venv` in the app)
    - Pipenv: `pipenv sync` (pip compiles by default; its venv `.venv` in the app)
    - PDM: `pdm sync --prod` (its venv `.venv` in the app). The pinned PDM has no option to compile
      bytecode (its installer writes no .pyc), so this run compiles none: `compile_after` times a
      `python -m compileall` of the venv afterwards, outside `total`, to show what it would add.
    - pip: `python -m venv .venv && .venv/bin/pip install -r requirements.txt` (pip is in the
      image and compiles by default; no tool install).
    """

    COLD_ONLY: ClassVar[bool] = True

    tools_wheels: Path = field(default=Path())  # the pinned pip's wheel, for the image's venv

    @property
    def image(self) -> Path:
        return self.work / self.name / "image"

    def reset(self) -> None:
        super().reset()
        if self.app.kind == "pip":
            return  # its venv's own pip is the image's: see build()
        # Untimed: the "Python image" with pip in it.
        env = tool_env(self.home, PIP_NO_CACHE_DIR="1")
        _run([str(self.python), "-m", "venv", str(self.image)], cwd=self.work, env=env)
        _run([str(self.image / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index",
              "--find-links", str(self.tools_wheels), f"pip=={PIP_VERSION}"],
             cwd=self.work, env=env)  # fmt: skip

    def build(self) -> Sample:
        bin_dir = self.image / "bin"
        env = tool_env(
            self.home,
            # The image's own CPython after its pip's scripts: uv creates venvs only from a Python
            # that is not itself a venv's.
            PATH=f"{bin_dir}:{self.python.parent}:/usr/bin:/bin",
            PIP_INDEX_URL=self.index_url,
            PIP_CACHE_DIR=str(self.home / "pip-cache"),
            # Each tool makes the project's venv itself, as `.venv` in the app.
            POETRY_VIRTUALENVS_CREATE="true",
            POETRY_VIRTUALENVS_IN_PROJECT="true",
            PIPENV_VENV_IN_PROJECT="1",
        )
        kind = self.app.kind
        if kind == "pip":
            venv = self.app_dir / ".venv"
            sync = _run([str(self.python), "-m", "venv", str(venv)], cwd=self.app_dir,
                        env=env)[0]  # fmt: skip
            sync += _run([str(venv / "bin" / "pip"), "install", "-r", "requirements.txt"],
                         cwd=self.app_dir, env=env)[0]  # fmt: skip
            return {"total": sync, "tool_install": 0.0, "sync": sync}
        tool_install = _run([str(bin_dir / "pip"), "install", *_TOOL_INSTALL[kind]],
                            cwd=self.app_dir, env=env)[0]  # fmt: skip
        argv = {
            "uv": ["uv", "sync", "--locked", "--compile-bytecode"],
            "poetry": ["poetry", "sync", "--only", "main", "--compile", "--no-interaction"],
            "pipenv": ["pipenv", "sync"],
            "pdm": ["pdm", "sync", "--prod"],
        }[kind]
        argv[0] = str(bin_dir / argv[0])
        sync = _run(argv, cwd=self.app_dir, env=env)[0]
        sample = {"total": tool_install + sync, "tool_install": tool_install, "sync": sync}
        if kind == "pdm":
            venv = self.app_dir / ".venv"
            compileall = [str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j0",
                          str(venv / "lib")]  # fmt: skip
            sample["compile_after"] = _run(compileall, cwd=self.app_dir, env=env)[0]
        return sample

    def import_check(self) -> Sample:
        raise NotImplementedError("the Dockerfile-style baseline times the cold build only")
