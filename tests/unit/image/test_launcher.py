"""The image's sh launcher gives a process the env `pycnb run` computes (the lifecycle's rules),
runs exec.d, and passes args as the launcher does. Run here with its two fixed paths (the config
script and the app dir) pointed at a temp dir; the end-to-end test runs it in a real image."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from pycnb.image.launcher import LAUNCHER_SCRIPT, LaunchLayer, launch_config_script
from pycnb.image.relocate import Relocation
from pycnb.platform.env import launch_env
from pycnb.platform.processes import Process


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    layers, app = tmp_path / "layers", tmp_path / "workspace"
    app.mkdir()
    bp = layers / "bp_one"
    _write(bp / "python" / "bin" / "python3", "")
    _write(bp / "python" / "env" / "LANG.default", "C.UTF-8")
    _write(bp / "venv" / "bin" / "x", "")
    _write(bp / "venv" / "env" / "VIRTUAL_ENV.override", str(bp / "venv"))
    _write(bp / "venv" / "env" / "FLAGS.append", "b")
    _write(bp / "venv" / "env" / "FLAGS.delim", " ")
    _write(bp / "venv" / "env.launch" / "GREETING", 'it\'s "quoted"\nand two lines')
    _write(bp / "venv" / "env.launch" / "web" / "ONLY_WEB.default", "yes")
    _write(bp / "venv" / "env.launch" / "worker" / "ONLY_WORKER", "no")
    program = bp / "venv" / "exec.d" / "set"
    _write(
        program,
        '#!/bin/sh\necho "exec.d ran in $PWD"\nprintf \'FROM_EXEC_D = "%s"\\n\' "$FLAGS" >&3\n',
    )
    program.chmod(0o755)
    launcher = LAUNCHER_SCRIPT.replace("/layers/config/launch.sh", str(tmp_path / "launch.sh"))
    launcher = launcher.replace("cnb_app_dir=/workspace", f"cnb_app_dir={app}")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "launcher").write_text(launcher)
    (tmp_path / "bin" / "launcher").chmod(0o755)
    (tmp_path / "bin" / "web").symlink_to("launcher")
    layer_list = [
        LaunchLayer("bp/one", bp / name, PurePosixPath(str(bp / name)))
        for name in ("python", "venv")
    ]
    processes = [
        Process("web", ("env",), ("--default-arg",), buildpack_id="bp/one"),
        Process("worker", ("sh", "-c", "echo worker"), buildpack_id="bp/one"),
    ]
    script = launch_config_script(
        layer_list, processes, "web", Relocation.of([]), PurePosixPath(str(app))
    )
    (tmp_path / "launch.sh").write_bytes(script)
    return tmp_path


def _run(
    image: Path, program: str, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(image / "bin" / program), *args], env=env, capture_output=True, text=True, check=False
    )


def _env_of(output: str) -> dict[str, str]:
    # `env -0` output: NUL-separated, so values with newlines survive.
    return dict(line.split("=", 1) for line in output.split("\0") if "=" in line)


def test_the_env_matches_the_local_platform(image: Path) -> None:
    start = {
        "PATH": "/cnb/process:/usr/bin:/bin:/cnb/lifecycle",
        "FLAGS": "a",
        "LANG": "",
        "CNB_LAYERS_DIR": "/layers",
        "CNB_APP_DIR": "/workspace",
    }
    ran = _run(image, "web", "-0", env=start)
    assert ran.returncode == 0, ran.stderr
    got = _env_of(ran.stdout.split("\n", 1)[1])
    expected = launch_env(
        {"PATH": "/usr/bin:/bin", "FLAGS": "a", "LANG": ""}, image / "layers", ["bp/one"], "web"
    )
    expected["FROM_EXEC_D"] = expected["FLAGS"]
    for name in ("PATH", "FLAGS", "LANG", "VIRTUAL_ENV", "GREETING", "ONLY_WEB", "FROM_EXEC_D"):
        assert got.get(name) == expected[name], name
    assert "ONLY_WORKER" not in got
    assert "CNB_LAYERS_DIR" not in got
    assert "CNB_APP_DIR" not in got
    # exec.d ran in the app dir, its stdout went to the container's stdout.
    assert ran.stdout.startswith(f"exec.d ran in {image / 'workspace'}\n")


def test_args_replace_the_default_args(image: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    defaults = _run(image, "web", env=env)
    assert defaults.returncode != 0  # env --default-arg: the default args were passed
    assert "default-arg" in defaults.stderr
    given = _run(image, "web", "-u", "PATH", "sh", "-c", "echo replaced", env=env)
    assert given.returncode == 0, given.stderr
    assert given.stdout.endswith("replaced\n")


def test_the_bare_launcher(image: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    direct = _run(image, "launcher", "--", "sh", "-c", 'echo "$VIRTUAL_ENV"', env=env)
    assert direct.stdout.endswith(f"{image / 'layers' / 'bp_one' / 'venv'}\n")
    no_type = _run(image, "launcher", "--", "sh", "-c", 'echo "${ONLY_WEB-unset}"', env=env)
    assert no_type.stdout.endswith("unset\n")
    default = _run(image, "launcher", env=env)
    assert "default-arg" in default.stderr  # no args: the default process


def test_launcher_errors_exit_82(image: Path) -> None:
    (image / "bin" / "nope").symlink_to("launcher")
    unknown = _run(image, "nope", env={"PATH": "/usr/bin:/bin"})
    assert unknown.returncode == 82
    assert "unknown process type 'nope' (available: web worker)" in unknown.stderr
    missing = _run(image, "launcher", "--", "no-such-command", env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode == 82
    assert "no-such-command: not found on PATH" in missing.stderr


def test_launcher_and_config_pass_shellcheck(image: Path) -> None:
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert shellcheck is not None, "install the dev dependencies: pip install -e '.[dev]'"
    # SC2034: the config sets variables that only the launcher reads.
    for script, excluded in ((image / "bin" / "launcher", ""), (image / "launch.sh", "SC2034")):
        checked = subprocess.run(
            [shellcheck, "--shell=sh", f"--exclude={excluded or 'SC0000'}", str(script)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout
