"""Conformance: the build phase (rules 17-26)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pycnb.platform.errors import (
    BuildpackFailed,
    BuildpackNotRunnable,
    InvalidBuildpackOutput,
    ReservedLayerName,
    UnmetNotInPlan,
)
from pycnb.platform.processes import read_launch_metadata
from tests.conformance.conftest import Harness, layer, op, write

PROVIDES_X = '[[provides]]\nname = "x"\n'


def requires_x(version: str) -> str:
    return f'[[requires]]\nname = "x"\n[requires.metadata]\nversion = "{version}"\n'


def test_rule_17_buildpacks_run_in_group_order_in_the_app_dir(harness: Harness) -> None:
    harness.script("a", build=[write("order.txt", "a\n", app=True)])
    harness.script("b", build=[op("append", path="order.txt", text="b\n", base="app")])
    harness.build("a", "b")
    assert (harness.dirs.workspace / "order.txt").read_text() == "a\nb\n"
    assert harness.record("b", "build")["cwd"] == str(harness.dirs.workspace)


def test_rule_18_build_env_vars(harness: Harness) -> None:
    harness.build("org/a")
    env = harness.record("org/a", "build")["env"]
    layers = harness.dirs.layers / "org_a"
    assert env["CNB_LAYERS_DIR"] == str(layers)
    assert env["CNB_PLATFORM_DIR"] == str(harness.dirs.platform)
    assert env["CNB_BUILDPACK_DIR"] == str(harness.buildpacks["org/a"])
    assert Path(env["CNB_BP_PLAN_PATH"]).is_absolute()
    assert not Path(env["CNB_BP_PLAN_PATH"]).is_relative_to(harness.dirs.workspace)


def test_rule_19_a_failing_build_stops_everything(harness: Harness) -> None:
    harness.script("a", build=[op("exit", code=7)])
    harness.script("b", build=[])
    with pytest.raises(BuildpackFailed) as raised:
        harness.build("a", "b")
    assert raised.value.status == 7
    assert raised.value.exit_code == 51
    assert not harness.has_record("b", "build")
    assert not (harness.dirs.image / "metadata.toml").exists()
    assert not (harness.dirs.cache / "metadata.toml").exists()


def test_build_program_that_cannot_start(harness: Harness) -> None:
    (harness.buildpack("a") / "bin" / "build").chmod(0o644)
    with pytest.raises(BuildpackNotRunnable, match="chmod"):
        harness.build("a")


def test_rule_20_each_provider_gets_the_requires_of_its_entries(harness: Harness) -> None:
    harness.script("a", detect={"plan": PROVIDES_X})
    harness.script("b", detect={"plan": PROVIDES_X + requires_x("1")})
    harness.script("c", detect={"plan": requires_x("2")})
    harness.build("a", "b", "c")
    plan_a = tomllib.loads(harness.record("a", "build")["plan"])
    assert plan_a == {
        "entries": [
            {"name": "x", "metadata": {"version": "1"}},
            {"name": "x", "metadata": {"version": "2"}},
        ]
    }
    # a met x (no [[unmet]]), so b, also a provider, gets nothing; c provides nothing.
    assert tomllib.loads(harness.record("b", "build")["plan"]) == {"entries": []}
    assert tomllib.loads(harness.record("c", "build")["plan"]) == {"entries": []}


def test_rule_21_unmet_passes_the_entry_to_the_next_provider(harness: Harness) -> None:
    harness.script(
        "a",
        detect={"plan": PROVIDES_X},
        build=[write("build.toml", '[[unmet]]\nname = "x"\n')],
    )
    harness.script("b", detect={"plan": PROVIDES_X + requires_x("1")})
    harness.build("a", "b")
    assert tomllib.loads(harness.record("b", "build")["plan"]) == {
        "entries": [{"name": "x", "metadata": {"version": "1"}}]
    }


def test_rule_21_unmet_must_be_in_the_plan(harness: Harness) -> None:
    harness.script("a", build=[write("build.toml", '[[unmet]]\nname = "nope"\n')])
    with pytest.raises(UnmetNotInPlan, match="nope"):
        harness.build("a")


@pytest.mark.parametrize("name", ["build", "launch", "store"])
def test_rule_22_reserved_layer_names(harness: Harness, name: str) -> None:
    harness.script("a", build=[op("mkdir", path=name)])
    with pytest.raises(ReservedLayerName, match=f"/{name}"):
        harness.build("a")


def test_rule_23_build_env_comes_from_earlier_buildpacks_build_layers_only(
    harness: Harness,
) -> None:
    files = {"bin/tool": "#!/bin/sh\n", "env/FROM_ENV": "yes", "env.build/FROM_BUILD": "yes"}
    harness.script(
        "a",
        build=[
            layer("tools", build=True, files=files),
            layer("runtime", launch=True, files={"bin/x": "", "env/LAUNCH_ONLY": "no"}),
        ],
    )
    harness.script("b", build=[])
    harness.build("a", "b")
    env_a = harness.record("a", "build")["env"]
    env_b = harness.record("b", "build")["env"]
    tools = harness.dirs.layers / "a" / "tools"
    assert env_b["PATH"].split(":")[0] == str(tools / "bin")
    assert env_b["FROM_ENV"] == "yes"
    assert env_b["FROM_BUILD"] == "yes"
    assert "LAUNCH_ONLY" not in env_b
    assert "runtime" not in env_b["PATH"]
    # A buildpack never sees its own layers' env.
    assert "FROM_ENV" not in env_a
    assert str(tools) not in env_a["PATH"]


def test_rule_23_restored_own_layers_are_not_in_the_env_either(harness: Harness) -> None:
    harness.script("a", build=[layer("tools", build=True, cache=True, files={"env/OWN": "1"})])
    harness.build("a")
    harness.build("a")
    assert "OWN" not in harness.record("a", "build")["env"]
    assert "tools.toml" in harness.record("a", "build")["own_layers"]


def _launch(*processes: str) -> dict[str, object]:
    return write("launch.toml", "".join(processes))


def _process(kind: str, command: str, *, default: bool = False, extra: str = "") -> str:
    text = f'[[processes]]\ntype = "{kind}"\ncommand = ["{command}"]\n{extra}'
    return text + ("default = true\n" if default else "")


def _metadata(harness: Harness) -> tuple[dict[str, str], str | None]:
    metadata = read_launch_metadata(harness.dirs.layers / "config" / "metadata.toml")
    commands = {t: p.command[0] for t, p in metadata.processes.items()}
    return commands, metadata.default_type


def test_rule_24_later_buildpacks_override_and_the_last_default_wins(harness: Harness) -> None:
    harness.script(
        "a", build=[_launch(_process("web", "a-web", default=True), _process("worker", "a-w"))]
    )
    harness.script("b", build=[_launch(_process("worker", "b-w", default=True))])
    harness.build("a", "b")
    assert _metadata(harness) == ({"web": "a-web", "worker": "b-w"}, "worker")


def test_rule_24_redefining_the_default_without_default_clears_it(harness: Harness) -> None:
    harness.script("a", build=[_launch(_process("web", "a-web", default=True))])
    harness.script("b", build=[_launch(_process("web", "b-web"))])
    harness.build("a", "b")
    assert _metadata(harness) == ({"web": "b-web"}, None)
    assert any("redefines the default process type 'web'" in line for line in harness.logs)


def test_rule_24_processes_are_sorted_by_type(harness: Harness) -> None:
    harness.script("a", build=[_launch(_process("zeta", "z"), _process("alpha", "a"))])
    harness.build("a")
    data = tomllib.loads((harness.dirs.layers / "config" / "metadata.toml").read_text())
    assert [p["type"] for p in data["processes"]] == ["alpha", "zeta"]
    assert data["buildpacks"] == [{"id": "a", "version": "1.0.0", "api": "0.10"}]


@pytest.mark.parametrize(
    ("launch_toml", "reason"),
    [
        (_process("web", "a", default=True) + _process("w", "b", default=True), "multiple default"),
        (_process("web", "a", extra="direct = true\n"), "process.direct is not supported"),
        ('[[processes]]\ntype = "web"\ncommand = "gunicorn app"\n', "must be an array"),
        ('[[processes]]\ntype = "web"\ncommand = []\n', "must not be empty"),
        ('[[processes]]\ntype = "w e b"\ncommand = ["x"]\n', "letters, digits"),
        (_process("web", "a") + _process("web", "b"), "defined twice"),
        ('[[processes]]\ntype = "web"\ncommand = ["x"]\nargs = "y"\n', "args must be an array"),
        ('[[labels]]\nkey = "k"\n', "string key and a string value"),
        ("[[processes]\n", "line 1"),
    ],
    ids=[
        "two-defaults",
        "direct",
        "string-command",
        "empty-command",
        "bad-type",
        "duplicate-type",
        "string-args",
        "label-without-value",
        "invalid-toml",
    ],
)
def test_rules_24_25_invalid_launch_toml(harness: Harness, launch_toml: str, reason: str) -> None:
    harness.script("a", build=[write("launch.toml", launch_toml)])
    with pytest.raises(InvalidBuildpackOutput) as raised:
        harness.build("a")
    assert reason in str(raised.value)
    assert raised.value.exit_code == 51


def test_rule_26_last_label_wins(harness: Harness) -> None:
    harness.script("a", build=[write("launch.toml", '[[labels]]\nkey = "k"\nvalue = "a"\n')])
    harness.script("b", build=[write("launch.toml", '[[labels]]\nkey = "k"\nvalue = "b"\n')])
    harness.build("a", "b")
    image = tomllib.loads((harness.dirs.image / "metadata.toml").read_text())
    assert image["labels"] == [{"key": "k", "value": "b"}]


def test_build_toml_and_store_toml_must_parse(harness: Harness) -> None:
    harness.script("a", build=[write("build.toml", "unmet = 1\n")])
    with pytest.raises(InvalidBuildpackOutput, match=r"build\.toml"):
        harness.build("a")
    harness.script("a", build=[write("store.toml", "metadata = 1\n")])
    with pytest.raises(InvalidBuildpackOutput, match=r"store\.toml"):
        harness.build("a")
