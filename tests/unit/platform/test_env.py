from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.platform.env import (
    LAUNCH_BASE_PATH,
    BuildEnv,
    base_build_env,
    check_user_env,
    launch_base_env,
    launch_env,
    with_user_env,
)
from pycnb.platform.errors import InvalidUserEnv


def test_base_build_env_keeps_only_the_allowlist() -> None:
    host = {
        "PATH": "/bin",
        "HOME": "/h",
        "VIRTUAL_ENV": "/v",
        "PYTHONPATH": "/p",
        "https_proxy": "x",
    }
    assert base_build_env(host) == {"PATH": "/bin", "HOME": "/h", "https_proxy": "x"}


@pytest.mark.parametrize(
    ("env", "user", "expected"),
    [
        ({"PATH": "/bin"}, {"PATH": "/u"}, {"PATH": "/u:/bin"}),
        ({}, {"CPATH": "/u"}, {"CPATH": "/u"}),
        ({"FOO": "bp"}, {"FOO": "user"}, {"FOO": "user"}),
        ({}, {"X.append": "v\n"}, {"X.append": "v\n"}),
    ],
    ids=["path-prepended", "path-empty", "others-overwritten", "verbatim"],
)
def test_with_user_env(env: dict[str, str], user: dict[str, str], expected: dict[str, str]) -> None:
    assert with_user_env(env, user) == expected


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "A=B", "A\0"])
def test_check_user_env_rejects_names(name: str) -> None:
    with pytest.raises(InvalidUserEnv):
        check_user_env({name: "v"})


def _layer(root: Path, name: str, files: dict[str, str]) -> Path:
    layer = root / name
    for rel, text in files.items():
        (layer / rel).parent.mkdir(parents=True, exist_ok=True)
        (layer / rel).write_text(text)
    layer.mkdir(parents=True, exist_ok=True)
    return layer


def test_build_env_accumulates_layer_by_layer(tmp_path: Path) -> None:
    env = BuildEnv({"PATH": "/bin"})
    env.add_layer(_layer(tmp_path, "python", {"bin/p": "", "lib/l": "", "env/A.default": "1"}))
    env.add_layer(
        _layer(
            tmp_path,
            "venv",
            {"bin/v": "", "env/A.default": "2", "env.build/B": "b", "env.launch/C": "c"},
        )
    )
    assert env.vars["PATH"] == f"{tmp_path}/venv/bin:{tmp_path}/python/bin:/bin"
    assert env.vars["LIBRARY_PATH"] == f"{tmp_path}/python/lib"
    assert (env.vars["A"], env.vars["B"]) == ("1", "b")
    assert "C" not in env.vars
    invocation = env.for_invocation({"PATH": "/u", "A": "user"}, {"CNB_X": "1"})
    assert invocation["PATH"].startswith("/u:")
    assert (invocation["A"], invocation["CNB_X"]) == ("user", "1")
    assert env.vars["A"] == "1"  # user env is not accumulated
    assert env.for_invocation(None, {})["A"] == "1"  # clear-env


def test_launch_env(tmp_path: Path) -> None:
    bp = tmp_path / "org_py"
    _layer(
        bp,
        "a",
        {
            "bin/x": "",
            "env.launch/web/T": "web",
            "env.build/B": "b",
            "env/P.append": "a",
            "env/P.delim": ":",
        },
    )
    _layer(bp, "b", {"lib/l": "", "env/P.append": "b", "env/P.delim": ":"})
    start = launch_base_env({"HOME": "/h", "OTHER": "x"}, {"CNB_APP_DIR": "/w", "U": "1"})
    assert start == {"PATH": LAUNCH_BASE_PATH, "HOME": "/h", "U": "1"}
    env = launch_env(start, tmp_path, ["org/py", "missing/bp"], "web")
    assert env["PATH"] == f"{bp}/a/bin:{LAUNCH_BASE_PATH}"
    assert env["LD_LIBRARY_PATH"] == f"{bp}/b/lib"
    assert (env["T"], env["P"]) == ("web", "a:b")
    assert "B" not in env
    assert "LIBRARY_PATH" not in env
    assert "T" not in launch_env(start, tmp_path, ["org/py"], None)
