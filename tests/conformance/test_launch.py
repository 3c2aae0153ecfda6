"""Conformance: launching the image - env, exec.d, processes (rules 43-50, section 6)."""

from __future__ import annotations

import subprocess

import pytest

from pycnb.platform import GroupEntry
from pycnb.platform.errors import (
    CommandNotFound,
    ExecDFailed,
    InvalidExecDOutput,
    InvalidLaunchRequest,
    NoDefaultProcess,
    NoImage,
    UnknownProcessType,
)
from tests.conformance.conftest import HELLO_SH, Harness, layer, write


def _exec_d(line: str) -> str:
    return f"#!/bin/sh\nprintf '{line}\\n' >&3\n"


def _processes(*lines: str) -> dict[str, object]:
    return write("launch.toml", "".join(lines))


WEB = (
    '[[processes]]\ntype = "web"\ncommand = ["echo", "web"]\nargs = ["default-arg"]\n'
    "default = true\n"
)
WORKER = '[[processes]]\ntype = "worker"\ncommand = ["echo"]\nworking-dir = "sub"\n'


def test_hello_sh_buildpack_end_to_end(harness: Harness) -> None:
    harness.build(order=[[GroupEntry(HELLO_SH)]])
    launch = harness.launch()
    assert launch.argv == ("hello", "world")
    ran = subprocess.run(
        launch.argv,
        executable=launch.executable,
        env=dict(launch.env),
        cwd=launch.cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout == "Hello, world\n"
    again = harness.launch(args=["you"], user_env={"GREETING": "Hi"})
    ran = subprocess.run(
        again.argv,
        executable=again.executable,
        env=dict(again.env),
        cwd=again.cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout == "Hi, you\n"  # GREETING.default yields to the user's value


def test_no_image_yet(harness: Harness) -> None:
    with pytest.raises(NoImage, match="pycnb build"):
        harness.launch()


def test_rule_47_exec_d_runs_after_env_files_in_the_app_dir_with_fd_3(harness: Harness) -> None:
    program = (
        "#!/bin/sh\n"
        'printf \'FROM_EXECD = "yes"\\nCWD = "%s"\\nSAW = "%s"\\n\' "$PWD" "$STATIC" >&3\n'
    )
    files = {"env.launch/STATIC": "static", "exec.d/10-set": program}
    harness.script("a", build=[layer("l", launch=True, files=files), _processes(WEB)])
    harness.build("a")
    env = harness.launch().env
    assert env["FROM_EXECD"] == "yes"
    assert env["CWD"] == str(harness.dirs.workspace)
    assert env["SAW"] == "static"


def test_rule_47_exec_d_order_is_per_layer_general_then_typed(harness: Harness) -> None:
    def step(name: str) -> str:
        return '#!/bin/sh\nprintf \'ORDER = "%s"\\n\' "$ORDER' + name + '" >&3\n'

    harness.script(
        "a",
        build=[
            layer(
                "l1", launch=True, files={"exec.d/a": step(",l1g"), "exec.d/web/z": step(",l1w")}
            ),
            layer(
                "l2", launch=True, files={"exec.d/a": step(",l2g"), "exec.d/web/a": step(",l2w")}
            ),
            _processes(WEB, WORKER),
        ],
    )
    harness.build("a")
    assert harness.launch("web").env["ORDER"] == ",l1g,l1w,l2g,l2w"  # D7: interleaved, as [L]
    assert harness.launch("worker").env["ORDER"] == ",l1g,l2g"
    assert harness.launch(command=["true"]).env["ORDER"] == ",l1g,l2g"


def test_rule_47_exec_d_failure_aborts_the_launch(harness: Harness) -> None:
    files = {"exec.d/fail": "#!/bin/sh\nexit 4\n"}
    harness.script("a", build=[layer("l", launch=True, files=files), _processes(WEB)])
    harness.build("a")
    with pytest.raises(ExecDFailed, match="exit status 4") as raised:
        harness.launch()
    assert raised.value.exit_code == 82


@pytest.mark.parametrize(
    "output",
    ["X = 1", "X = true", '[t]\\nX = \\"a\\"', "not toml"],
    ids=["int", "bool", "table", "garbage"],
)
def test_rule_47_exec_d_output_must_be_string_pairs(harness: Harness, output: str) -> None:
    files = {"exec.d/bad": _exec_d(output)}
    harness.script("a", build=[layer("l", launch=True, files=files), _processes(WEB)])
    harness.build("a")
    with pytest.raises(InvalidExecDOutput):
        harness.launch()


def test_rule_48_argv_and_working_dir(harness: Harness) -> None:
    harness.script("a", build=[_processes(WEB, WORKER), write("sub/.keep", "", app=True)])
    harness.build("a")
    web = harness.launch()
    assert web.argv == ("echo", "web", "default-arg")
    assert web.process_type == "web"
    assert web.cwd == harness.dirs.workspace
    assert harness.launch(args=["user", "$PORT"]).argv == ("echo", "web", "user", "$PORT")
    worker = harness.launch("worker", args=["x"])
    assert worker.argv == ("echo", "x")
    assert worker.cwd == harness.dirs.workspace / "sub"  # relative to the app (D6)
    assert worker.executable.endswith("/echo")
    assert worker.executable.startswith("/")


def test_rule_48_user_command_runs_directly(harness: Harness) -> None:
    harness.script(
        "a", build=[_processes(WEB), write("bin/tool", "#!/bin/sh\n", mode=0o755, app=True)]
    )
    harness.build("a")
    launch = harness.launch(command=["./bin/tool", "--flag"])
    assert launch.argv == ("./bin/tool", "--flag")
    assert launch.executable == "./bin/tool"  # relative to the app dir, as the launcher execs it
    assert launch.process_type is None
    with pytest.raises(CommandNotFound, match="not on the launch PATH"):
        harness.launch(command=["no-such-program"])
    with pytest.raises(CommandNotFound, match="relative PATH entry"):
        harness.launch(command=["tool"], user_env={"PATH": "bin"})
    with pytest.raises(InvalidLaunchRequest):
        harness.launch("web", command=["true"])


def test_process_selection_errors(harness: Harness) -> None:
    harness.script("a", build=[_processes(WORKER)])
    harness.build("a")
    with pytest.raises(NoDefaultProcess, match="worker"):
        harness.launch()
    with pytest.raises(UnknownProcessType, match="Process types: worker"):
        harness.launch("web")


def test_rule_49_launcher_vars_are_removed(harness: Harness) -> None:
    harness.script("a", build=[_processes(WEB)])
    harness.build("a")
    removed = ("CNB_LAYERS_DIR", "CNB_APP_DIR", "CNB_PROCESS_TYPE", "CNB_PLATFORM_API")
    user_env = dict.fromkeys(removed, "x")
    env = harness.launch(user_env={**user_env, "KEEP": "1"}).env
    assert not set(user_env) & set(env)
    assert env["KEEP"] == "1"


def test_rule_50_buildpack_env_applies_on_top_of_user_env(harness: Harness) -> None:
    files = {
        "env.launch/FOO.override": "bp",
        "env.launch/BAR.default": "bp",
        "env.launch/P.prepend": "/bp",
        "env.launch/P.delim": ":",
    }
    harness.script("a", build=[layer("l", launch=True, files=files), _processes(WEB)])
    harness.build("a")
    env = harness.launch(user_env={"FOO": "user", "BAR": "user", "P": "/user"}).env
    assert (env["FOO"], env["BAR"], env["P"]) == ("bp", "user", "/bp:/user")
    assert harness.launch().env["BAR"] == "bp"


def test_launch_base_env_is_small(harness: Harness) -> None:
    harness.host_env["DEV_ONLY"] = "from the developer's shell"
    harness.script("a", build=[_processes(WEB)])
    harness.build("a")
    env = harness.launch().env
    assert env == {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": harness.host_env["HOME"],
    }
