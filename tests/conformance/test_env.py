"""Conformance: the environment buildpacks and processes see (rules 14-16, 23, 43-46, 50)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.platform.env import BUILD_ENV_ALLOWLIST
from tests.conformance.conftest import Harness, layer, write

WEB = write("launch.toml", '[[processes]]\ntype = "web"\ncommand = ["true"]\ndefault = true\n')

# Two layers of one buildpack exercising every suffix; l2 sorts after l1.
L1 = {
    "env/OVR.override": "l1",
    "env/NOSUF": "l1",
    "env/DEF.default": "l1",
    "env/PRE.prepend": "l1",
    "env/PRE.delim": ":",
    "env/APP.append": "l1",
    "env/APP.delim": ":",
    "env/GLUE.prepend": "g1",
    "env/PREC.override": "env",
    "env/PD.default": "env",
    "env/SEP.prepend": "x",
    "env.build/SEP.delim": ":",
    "env/IGNORED.weird": "no",
    "env/ALSO.x.append": "no",
    "env/TRAIL": "newline\n",
    "env.build/ONLY_BUILD": "b",
    "env.build/PREC.override": "build",
    "env.build/PD.default": "build",
    "env.launch/ONLY_LAUNCH": "l",
    "env.launch/PREC.override": "launch",
    "env.launch/PD.default": "launch",
    "env.launch/web/PER_TYPE": "web",
    "env.launch/web/PREC.override": "web",
    "env.launch/worker/PER_TYPE": "worker",
}
L2 = {
    "env/OVR.override": "l2",
    "env/DEF.default": "l2",
    "env/PRE.prepend": "l2",
    "env/PRE.delim": ":",
    "env/APP.append": "l2",
    "env/APP.delim": ":",
    "env/GLUE.prepend": "g2",
}
L0 = {"env/SEP.override": "base"}


@pytest.fixture
def suffixes(harness: Harness) -> Harness:
    harness.script(
        "a",
        build=[
            layer("l0", build=True, launch=True, files=L0),
            layer("l1", build=True, launch=True, files=L1),
            layer("l2", build=True, launch=True, files=L2),
            write(
                "launch.toml",
                '[[processes]]\ntype = "web"\ncommand = ["true"]\n'
                '[[processes]]\ntype = "worker"\ncommand = ["true"]\n',
            ),
        ],
    )
    harness.script("b", build=[])
    harness.build("a", "b")
    return harness


COMMON = {
    "OVR": "l2",  # override: the later layer wins
    "NOSUF": "l1",  # no suffix means override (API >= 0.5)
    "DEF": "l1",  # default: the first non-empty value wins
    "PRE": "l2:l1",  # prepend: later contributions first
    "APP": "l1:l2",  # append: earlier contributions first
    "GLUE": "g2g1",  # no .delim: glued together
    "TRAIL": "newline\n",  # contents verbatim
}


def test_rules_43_44_build_env_suffixes(suffixes: Harness) -> None:
    env = suffixes.record("b", "build")["env"]
    assert {k: env.get(k) for k in COMMON} == COMMON
    assert env["PREC"] == "build"  # env.build/ beats env/ for override
    assert env["PD"] == "env"  # ... and loses for default
    assert env["SEP"] == "xbase"  # env.build/SEP.delim does not apply to env/ (D5)
    assert env["ONLY_BUILD"] == "b"
    for absent in ("ONLY_LAUNCH", "PER_TYPE", "IGNORED", "ALSO", "ALSO.x"):
        assert absent not in env


def test_rules_43_44_46_launch_env_suffixes(suffixes: Harness) -> None:
    web = suffixes.launch("web").env
    assert {k: web.get(k) for k in COMMON} == COMMON
    assert web["ONLY_LAUNCH"] == "l"
    assert web["PER_TYPE"] == "web"
    assert web["PREC"] == "web"  # env.launch/<type>/ beats env.launch/, which beats env/
    assert web["PD"] == "env"
    assert "ONLY_BUILD" not in web  # never env.build/ at launch
    worker = suffixes.launch("worker").env
    assert worker["PER_TYPE"] == "worker"
    assert worker["PREC"] == "launch"
    command = suffixes.launch(command=["true"]).env
    assert "PER_TYPE" not in command  # a user command has no process type
    assert command["PREC"] == "launch"


def test_rule_44_later_buildpacks_win(harness: Harness) -> None:
    harness.script(
        "a",
        build=[
            layer(
                "x",
                build=True,
                launch=True,
                files={"env/V": "a", "env/P.prepend": "a", "env/P.delim": ":"},
            )
        ],
    )
    harness.script(
        "b",
        build=[
            layer(
                "x",
                build=True,
                launch=True,
                files={"env/V": "b", "env/P.prepend": "b", "env/P.delim": ":"},
            ),
            WEB,
        ],
    )
    harness.script("c", build=[])
    harness.build("a", "b", "c")
    env = harness.record("c", "build")["env"]
    assert (env["V"], env["P"]) == ("b", "b:a")
    launch = harness.launch().env
    assert (launch["V"], launch["P"]) == ("b", "b:a")


def test_rule_45_layer_path_dirs(harness: Harness) -> None:
    dirs = {"bin/t": "", "lib/l": "", "include/h": "", "pkgconfig/p": ""}
    harness.script("a", build=[layer("paths", build=True, launch=True, files=dirs), WEB])
    harness.script("b", build=[])
    harness.build("a", "b")
    root = harness.layer_path("a", "paths")
    env = harness.record("b", "build")["env"]
    assert env["PATH"].startswith(f"{root}/bin:")
    assert env["LD_LIBRARY_PATH"] == f"{root}/lib"
    assert env["LIBRARY_PATH"] == f"{root}/lib"
    assert env["CPATH"] == f"{root}/include"
    assert env["PKG_CONFIG_PATH"] == f"{root}/pkgconfig"
    launch = harness.launch().env
    assert launch["PATH"].startswith(f"{root}/bin:")
    assert launch["LD_LIBRARY_PATH"] == f"{root}/lib"
    for build_only in ("LIBRARY_PATH", "CPATH", "PKG_CONFIG_PATH"):
        assert build_only not in launch


def test_d2_alphabetically_later_layer_comes_first_on_path(harness: Harness) -> None:
    harness.script(
        "a",
        build=[
            layer("python", build=True, launch=True, files={"bin/python": ""}),
            layer("venv", build=True, launch=True, files={"bin/python": ""}),
            WEB,
        ],
    )
    harness.script("b", build=[])
    harness.build("a", "b")
    venv, python = harness.layer_path("a", "venv"), harness.layer_path("a", "python")
    expected = f"{venv}/bin:{python}/bin:"
    assert harness.record("b", "build")["env"]["PATH"].startswith(expected)
    assert harness.launch().env["PATH"].startswith(expected)


def test_layer_order_follows_toml_names_at_build_and_dir_names_at_launch(harness: Harness) -> None:
    # "a-b.toml" < "a.toml" but "a" < "a-b": the lifecycle's two orders differ, and so do ours.
    harness.script(
        "x",
        build=[
            layer("a", build=True, launch=True, files={"env/V": "a"}),
            layer("a-b", build=True, launch=True, files={"env/V": "a-b"}),
            WEB,
        ],
    )
    harness.script("y", build=[])
    harness.build("x", "y")
    assert harness.record("y", "build")["env"]["V"] == "a"
    assert harness.launch().env["V"] == "a-b"


def test_launch_applies_all_root_dirs_before_env_files(harness: Harness) -> None:
    # [L launcher.go doEnv]: a layer's env/PATH.override wipes sibling layers' bin/ at launch,
    # but at build time the later layer's bin/ is prepended after the override.
    only = "/only:" + harness.host_env["PATH"]  # b still needs its python3
    harness.script(
        "a",
        build=[
            layer("a1", build=True, launch=True, files={"env/PATH.override": only}),
            layer("a2", build=True, launch=True, files={"bin/t": ""}),
            WEB,
        ],
    )
    harness.script("b", build=[])
    harness.build("a", "b")
    a2 = harness.layer_path("a", "a2")
    assert harness.record("b", "build")["env"]["PATH"] == f"{a2}/bin:{only}"
    assert harness.launch(command=["/bin/true"]).env["PATH"] == only


def test_rule_14_clear_env(harness: Harness) -> None:
    harness.buildpack("a", clear_env=True)
    harness.build("a", user_env={"BP_SETTING": "on"})
    for phase in ("detect", "build"):
        env = harness.record("a", phase)["env"]
        assert "BP_SETTING" not in env
        assert (Path(env["CNB_PLATFORM_DIR"]) / "env" / "BP_SETTING").read_text() == "on"


def test_rule_15_user_env_verbatim(harness: Harness) -> None:
    harness.script("a", build=[layer("l", build=True, files={"env.build/BP_X.override": "bp"})])
    harness.script("b", build=[])
    user_env = {
        "BP_X": "user",
        "TRAILING": "value\n",
        "FOO.append": "literal",
        "PATH": "/opt/u",
        "LD_LIBRARY_PATH": "/opt/lib",
    }
    harness.build("a", "b", user_env=user_env)
    for bp in ("a", "b"):
        env = harness.record(bp, "build")["env"]
        assert env["TRAILING"] == "value\n"
        assert env["FOO.append"] == "literal"
        assert env["PATH"] == "/opt/u:" + harness.host_env["PATH"]
        assert env["LD_LIBRARY_PATH"] == "/opt/lib"  # nothing to prepend to: no trailing ':'
    assert harness.record("b", "build")["env"]["BP_X"] == "user"  # beats the buildpack's env
    assert harness.record("a", "detect")["env"]["BP_X"] == "user"
    files = sorted(p.name for p in (harness.dirs.platform / "env").iterdir())
    assert files == sorted(user_env)
    assert (harness.dirs.platform / "env" / "TRAILING").read_bytes() == b"value\n"


def test_rule_15_user_env_replaces_the_previous_set(harness: Harness) -> None:
    harness.build("a", user_env={"OLD": "1"})
    harness.build("a", user_env={"NEW": "2"})
    assert sorted(p.name for p in (harness.dirs.platform / "env").iterdir()) == ["NEW"]
    assert "OLD" not in harness.record("a", "build")["env"]


def test_rule_16_base_env_is_the_allowlist(harness: Harness) -> None:
    harness.host_env.update(
        {
            "VIRTUAL_ENV": "/home/dev/.venv",
            "PYTHONPATH": "/invalid",
            "PIP_INDEX_URL": "https://example.invalid/simple",
            "PYTHONHOME": "/invalid",
            "CNB_STACK_ID": "legacy",
            "http_proxy": "http://proxy:3128",
            "NO_PROXY": "localhost",
            "HOSTNAME": "devbox",
        }
    )
    harness.build("a")
    for phase in ("detect", "build"):
        env = harness.record("a", phase)["env"]
        leaked = {k for k in env if not k.startswith("CNB_") and k not in BUILD_ENV_ALLOWLIST}
        assert not leaked, leaked
        assert env["http_proxy"] == "http://proxy:3128"
        assert env["NO_PROXY"] == "localhost"
        assert env["HOSTNAME"] == "devbox"
        assert env["HOME"] == harness.host_env["HOME"]
        assert "CNB_STACK_ID" not in env
