"""The systems the benchmark times side by side: pycnb and its two baselines.

- `Pycnb`: `pycnb build` (the local platform running the packaged buildpack), one root per app.
- `Plain`: what a developer types. `python -m venv .venv` + `.venv/bin/pip install -r
  requirements.txt` (pip as bundled with that Python), `uv sync --locked`, or a venv +
  `poetry sync`. Rebuilds rerun the install command in the same project, as a developer would.
  For uv and Poetry also `plain_pyc`, the same with bytecode compiled (`--compile-bytecode`,
  `--compile`), as a production image build does; pip compiles by default.
- `Reference`: the reference CNB strategy (heroku/buildpacks-python's pip path): every build makes
  a fresh `python -m venv --without-pip` and installs requirements.txt into it with the pinned pip
  from outside (`pip --python`), from a pip cache kept between builds. For uv and Poetry apps it
  installs the same pins from requirements.txt.

Every system uses the same CPython and the same loopback index. A cold build starts each of them
with no venv and an empty cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.fixtures import App, tool_env

__all__ = ["BenchError", "Plain", "Pycnb", "Reference", "Sample", "System", "mtime_1980"]

Sample = dict[str, float]

_DONE = re.compile(r"^- Python \S+, dependencies from \S+ \((?P<duration>[^)]+)\)$", re.MULTILINE)
# Every timed step of the build log: "- Installing pip 26.3...", then "  Done (3.0 s)".
_STEP = re.compile(r"^- (?P<step>[^\n]+?)\.\.\.\n\s+Done \((?P<d>[^)]+)\)$", re.MULTILINE)
# The Python layer's steps (a download elsewhere, a file:// URL here), which no baseline does.
_PYTHON_STEPS = re.compile(r"^(Installing Python \S+|Compiling the standard library)$")
# Installing the installer itself (into its build-only layer), which the baselines get for free.
_TOOL_STEPS = re.compile(r"^Installing (pip|uv|Poetry) \S+$", re.IGNORECASE)
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

    def _cli(self, *args: str) -> tuple[float, str]:
        # The caller's env, minus what would steer the tools (the platform filters it anyway).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "POETRY_"))}
        env.pop("VIRTUAL_ENV", None)
        if self.checkout is not None:
            env["PYTHONPATH"] = str(self.checkout / "src")
        return _run([sys.executable, "-m", "pycnb", *args], cwd=self.work, env=env)

    def build(self) -> Sample:
        total, log = self._cli(
            "build", str(self.app_dir), "--root", str(self.root),
            f"--env=BP_PYTHON_MANIFEST={self.manifest.as_uri()}",
            f"--env=PIP_INDEX_URL={self.index_url}",
        )  # fmt: skip
        done = _DONE.search(log)
        if done is None:
            raise BenchError(f"no final build line in the log:\n{log}")
        steps = {m.group("step"): _seconds(m.group("d")) for m in _STEP.finditer(log)}
        return {
            "total": total,
            "buildpack": _seconds(done.group("duration")),
            "python_step": sum(d for step, d in steps.items() if _PYTHON_STEPS.match(step)),
            "tool_step": sum(d for step, d in steps.items() if _TOOL_STEPS.match(step)),
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


_INSTALLERS = re.compile(r"^(pip|uv|uvx|poetry)(\d[\d.]*)?$|^(pip|uv|poetry)-.*\.dist-info$")


def _is_installer(relative: Path) -> bool:
    # bin/pip3.12, site-packages/pip/, site-packages/uv-0.13.9.dist-info/, bin/poetry...
    return any(_INSTALLERS.match(part) for part in relative.parts)


def _import_seconds(output: str) -> float:
    for line in output.splitlines():
        if line.startswith("import-seconds "):
            return float(line.split()[1])
    raise BenchError(f"the import script printed no time:\n{output}")


@dataclass
class Plain(System):
    tools: Path = field(default=Path())
    # `uv sync --compile-bytecode` / `poetry sync --compile`: what a production image build runs
    # (pip compiles by default). pycnb compiles every build, so this is the like-for-like one.
    compile_bytecode: bool = False

    def _env(self) -> dict[str, str]:
        return tool_env(
            self.home,
            PIP_INDEX_URL=self.index_url,
            PIP_CACHE_DIR=str(self.home / "pip-cache"),
            VIRTUAL_ENV=str(self.app_dir / ".venv"),
        )

    def build(self) -> Sample:
        venv = self.app_dir / ".venv"
        env = self._env()
        total = 0.0
        if self.app.kind == "uv":
            argv = [str(self.tools / "uv"), "sync", "--locked", "--python", str(self.python)]
            argv += ["--compile-bytecode"] if self.compile_bytecode else []
            env.pop("VIRTUAL_ENV")
            return {"total": _run(argv, cwd=self.app_dir, env=env)[0]}
        if not venv.exists():
            without_pip = ["--without-pip"] if self.app.kind == "poetry" else []
            argv = [str(self.python), "-m", "venv", *without_pip, str(venv)]
            total += _run(argv, cwd=self.app_dir, env=env)[0]
        if self.app.kind == "poetry":
            argv = [str(self.tools / "poetry"), "sync", "--only", "main", "--no-interaction"]
            argv += ["--compile"] if self.compile_bytecode else []
        else:
            argv = [str(venv / "bin" / "pip"), "install", "-r", "requirements.txt"]
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
