"""Conformance: the buildpack descriptor and the detect phase (rules 1-13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.platform.errors import (
    AppModifiedByDetect,
    BuildpackNotFound,
    CompositeBuildpackUnsupported,
    DetectionErrored,
    DetectionFailed,
    InvalidDescriptor,
    UnsupportedBuildpackApi,
)
from pycnb.platform.target import Distro, TargetInfo
from tests.conformance.conftest import Harness

PROVIDES_X = '[[provides]]\nname = "x"\n'
REQUIRES_X = '[[requires]]\nname = "x"\n[requires.metadata]\nversion = "1"\n'


@pytest.mark.parametrize("api", ["0.9", "0.12", "1.0", "0.2"])
def test_rule_01_refuses_unimplemented_buildpack_api(harness: Harness, api: str) -> None:
    harness.buildpack("a", api=api)
    with pytest.raises(UnsupportedBuildpackApi) as raised:
        harness.build("a")
    assert api in str(raised.value)
    assert "0.10" in str(raised.value)
    assert not harness.has_record("a", "detect")


@pytest.mark.parametrize("api", ["0.10", "0.11"])
def test_rule_01_runs_implemented_apis(harness: Harness, api: str) -> None:
    harness.buildpack("a", api=api)
    assert harness.build("a").group[0].api == api


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('[buildpack]\nid = "a"\nversion = "1.0.0"\n', "api"),
        ('api = "0.10"\n[buildpack]\nversion = "1.0.0"\n', "id is required"),
        ('api = "0.10"\n[buildpack]\nid = "a"\n', "version is required"),
        ('api = "0.10"\n[buildpack]\nid = "a"\nversion = "1.0"\n', "X.Y.Z"),
        ('api = "0.10"\n[buildpack]\nid = "a b"\nversion = "1.0.0"\n', "letters, digits"),
        ('api = "0.10"\n[buildpack]\nid = "sbom"\nversion = "1.0.0"\n', "generated or sbom"),
    ],
    ids=["no-api", "no-id", "no-version", "version-not-semver", "id-chars", "id-reserved"],
)
def test_rule_02_descriptor_validation(harness: Harness, toml: str, problem: str) -> None:
    directory = harness.buildpack("a")
    (directory / "buildpack.toml").write_text(toml)
    with pytest.raises(InvalidDescriptor) as raised:
        harness.build("a")
    assert problem in str(raised.value)


def test_missing_buildpack_and_composites_are_refused(harness: Harness, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BuildpackNotFound):
        harness.build(order=[[harness.entry("a"), type(harness.entry("a"))(empty)]])
    harness.buildpack("a", extra='[[order]]\n[[order.group]]\nid = "b"\nversion = "1.0.0"\n')
    with pytest.raises(CompositeBuildpackUnsupported):
        harness.build("a")


def test_rule_03_detect_cwd_and_absolute_env_paths(harness: Harness) -> None:
    harness.build("a")
    record = harness.record("a", "detect")
    assert record["cwd"] == str(harness.dirs.workspace)
    env = record["env"]
    for name in ("CNB_PLATFORM_DIR", "CNB_BUILD_PLAN_PATH", "CNB_BUILDPACK_DIR"):
        assert Path(env[name]).is_absolute(), name
    assert env["CNB_PLATFORM_DIR"] == str(harness.dirs.platform)
    assert env["CNB_BUILDPACK_DIR"] == str(harness.buildpacks["a"])
    assert "CNB_LAYERS_DIR" not in env  # detect sees no layers


def test_rule_04_positional_args(harness: Harness) -> None:
    harness.build("a")
    detect, build = harness.record("a", "detect"), harness.record("a", "build")
    assert detect["argv0"] == str(harness.buildpacks["a"] / "bin" / "detect")
    assert detect["args"] == [str(harness.dirs.platform), detect["env"]["CNB_BUILD_PLAN_PATH"]]
    assert build["argv0"] == str(harness.buildpacks["a"] / "bin" / "build")
    assert build["args"] == [
        str(harness.dirs.layers / "a"),
        str(harness.dirs.platform),
        build["env"]["CNB_BP_PLAN_PATH"],
    ]


def test_rule_05_each_detect_gets_its_own_empty_plan_outside_the_app(harness: Harness) -> None:
    harness.script("a", detect={"plan": PROVIDES_X})
    harness.script("b", detect={"plan": REQUIRES_X})
    harness.build("a", "b")
    a, b = harness.record("a", "detect"), harness.record("b", "detect")
    plan_a, plan_b = a["env"]["CNB_BUILD_PLAN_PATH"], b["env"]["CNB_BUILD_PLAN_PATH"]
    assert plan_a != plan_b
    assert a["plan_before"] == ""
    assert b["plan_before"] == ""
    for plan in (plan_a, plan_b):
        assert not Path(plan).is_relative_to(harness.dirs.workspace)


@pytest.mark.parametrize("phase", ["detect", "build"])
def test_rule_06_target_env(harness: Harness, phase: str) -> None:
    target = TargetInfo("linux", "arm64", "v8", Distro("debian", "12"))
    harness.build("a", target=target)
    env = harness.record("a", phase)["env"]
    assert env["CNB_TARGET_OS"] == "linux"
    assert env["CNB_TARGET_ARCH"] == "arm64"
    assert env["CNB_TARGET_ARCH_VARIANT"] == "v8"
    assert env["CNB_TARGET_DISTRO_NAME"] == "debian"
    assert env["CNB_TARGET_DISTRO_VERSION"] == "12"


def test_rule_06_unknown_target_parts_are_left_out(harness: Harness) -> None:
    harness.build("a", target=TargetInfo("linux", "amd64"))
    env = harness.record("a", "build")["env"]
    assert env["CNB_TARGET_OS"] == "linux"
    assert env["CNB_TARGET_ARCH"] == "amd64"
    assert not {k for k in env if k.startswith(("CNB_TARGET_DISTRO", "CNB_TARGET_ARCH_V"))}


def test_rule_07_fail_vs_error(harness: Harness) -> None:
    harness.script("a", detect={"exit": 100})
    with pytest.raises(DetectionFailed) as failed:
        harness.build("a")
    assert type(failed.value) is DetectionFailed
    assert failed.value.exit_code == 20
    harness.script("a", detect={"exit": 3})
    with pytest.raises(DetectionErrored) as errored:
        harness.build("a")
    assert errored.value.exit_code == 21
    assert "exit status 3" in str(errored.value)


def test_rule_07_optional_error_is_dropped(harness: Harness) -> None:
    harness.script("opt", detect={"exit": 1})
    result = harness.build(order=[[harness.entry("opt", optional=True), harness.entry("a")]])
    assert [bp.id for bp in result.group] == ["a"]


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        ("not toml [", "invalid build plan"),
        ('[[requires]]\nname = "x"\nversion = "1"\n', "top-level `version` key"),
        ('[[or]]\n[[or.requires]]\nname = "x"\nversion = "1"\n', "top-level `version` key"),
        ("requires = 3\n", "array of tables"),
    ],
    ids=["invalid-toml", "requires-version", "or-requires-version", "wrong-type"],
)
def test_rule_08_invalid_plan_is_a_detect_error(harness: Harness, plan: str, reason: str) -> None:
    harness.script("a", detect={"plan": plan})
    with pytest.raises(DetectionErrored) as raised:
        harness.build("a")
    assert reason in str(raised.value)


def test_rule_08_plan_is_ignored_unless_detect_passes(harness: Harness) -> None:
    harness.script("opt", detect={"plan": "not toml [", "exit": 100})
    result = harness.build(order=[[harness.entry("opt", optional=True), harness.entry("a")]])
    assert [bp.id for bp in result.group] == ["a"]


def test_rule_09_detect_must_not_modify_the_app(harness: Harness) -> None:
    harness.script("a", detect={"write_app": "app.py"})
    with pytest.raises(AppModifiedByDetect) as raised:
        harness.build("a")
    assert "app.py (modified)" in str(raised.value)
    harness.script("a", detect={"write_app": "new-file"})
    with pytest.raises(AppModifiedByDetect, match=r"new-file \(added\)"):
        harness.build("a")


def test_rule_10_first_passing_group_wins_and_keeps_order(harness: Harness) -> None:
    harness.script("fails", detect={"exit": 100})
    harness.script("skipped", detect={"exit": 100})
    order = harness.order(
        ["a", "fails"],
        [harness.entry("b"), harness.entry("skipped", optional=True), harness.entry("c")],
        ["a"],
    )
    result = harness.build(order=order)
    assert [bp.id for bp in result.group] == ["b", "c"]
    assert "2 of 3 buildpacks participating" in harness.logs


def test_rule_10_a_group_of_only_failed_optionals_does_not_pass(harness: Harness) -> None:
    harness.script("opt", detect={"exit": 100})
    with pytest.raises(DetectionFailed, match="no buildpack passed"):
        harness.build(order=[[harness.entry("opt", optional=True)]])


def test_rule_10_each_detect_runs_once_across_groups(harness: Harness) -> None:
    harness.script("fails", detect={"exit": 100})
    harness.script("a", detect={"print": "detect of a ran"})
    harness.build(order=harness.order(["a", "fails"], ["a"]))
    # It ran in the first group; the second reused the result.
    assert (
        harness.record("a", "detect")["env"]["CNB_BUILD_PLAN_PATH"].split("/")[-2].startswith("0-")
    )


@pytest.mark.parametrize(
    ("plans", "optional", "group"),
    [
        ({"a": PROVIDES_X, "b": REQUIRES_X}, set(), ["a", "b"]),
        ({"a": REQUIRES_X, "b": PROVIDES_X}, {"a"}, ["b"]),  # fails: b provides unused x
        ({"a": PROVIDES_X + REQUIRES_X}, set(), ["a"]),  # a buildpack may meet its own require
        ({"a": PROVIDES_X, "b": ""}, {"a"}, ["b"]),  # optional provider of an unused name dropped
    ],
    ids=["provider-first", "requirer-first", "self", "unused-optional-provide"],
)
def test_rule_11_require_provide_order(
    harness: Harness, plans: dict[str, str], optional: set[str], group: list[str]
) -> None:
    for bp_id, plan in plans.items():
        harness.script(bp_id, detect={"plan": plan})
    order = [[harness.entry(bp, optional=bp in optional) for bp in plans]]
    if group == ["b"] and "a" in plans and plans["a"] == REQUIRES_X:
        with pytest.raises(DetectionFailed, match="provides 'x'"):
            harness.build(order=order)
        return
    assert [bp.id for bp in harness.build(order=order).group] == group


def test_rule_11_non_optional_with_unmet_require_fails_the_group(harness: Harness) -> None:
    harness.script("a", detect={"plan": REQUIRES_X})
    with pytest.raises(DetectionFailed, match="requires 'x'"):
        harness.build("a")


def test_rule_12_or_alternatives_in_order(harness: Harness) -> None:
    # a provides y on top, x only in its first [[or]]; b requires x: the first alternative wins.
    harness.script(
        "a",
        detect={
            "plan": '[[provides]]\nname = "y"\n'
            '[[or]]\n[[or.provides]]\nname = "x"\n'
            '[[or]]\n[[or.provides]]\nname = "x"\n[[or.provides]]\nname = "z"\n'
        },
    )
    harness.script("b", detect={"plan": REQUIRES_X})
    result = harness.build("a", "b")
    assert [bp.id for bp in result.group] == ["a", "b"]
    plan = harness.record("a", "build")["plan"]
    assert 'name = "x"' in plan
    assert "version" in plan


def test_rule_12_optional_buildpack_tries_all_alternatives_before_being_dropped(
    harness: Harness,
) -> None:
    harness.script("opt", detect={"plan": REQUIRES_X + '[[or]]\n[[or.provides]]\nname = "x"\n'})
    harness.script("b", detect={"plan": REQUIRES_X})
    order = [[harness.entry("opt", optional=True), harness.entry("b")]]
    assert [bp.id for bp in harness.build(order=order).group] == ["opt", "b"]


@pytest.mark.parametrize(
    ("targets", "passes"),
    [
        ('[[targets]]\nos = "linux"\narch = "amd64"\n', True),
        ('[[targets]]\nos = "linux"\narch = "arm64"\n', False),
        ('[[targets]]\nos = "windows"\n', False),
        (
            '[[targets]]\nos = "linux"\n[[targets.distros]]\nname = "ubuntu"\nversion = "24.04"\n',
            True,
        ),
        (
            '[[targets]]\nos = "linux"\n[[targets.distros]]\nname = "ubuntu"\nversion = "22.04"\n',
            False,
        ),
        ('[[targets]]\narch = "arm64"\n[[targets]]\narch = "amd64"\n', True),
        ('[[stacks]]\nid = "io.buildpacks.stacks.bionic"\n', False),  # ubuntu 18.04
        ('[[stacks]]\nid = "*"\n', True),
        ("", True),  # inferred from bin/build: linux
    ],
    ids=[
        "match",
        "arch",
        "os",
        "distro",
        "distro-version",
        "any-of",
        "bionic",
        "stack-any",
        "none",
    ],
)
def test_rule_13_target_matching(harness: Harness, targets: str, passes: bool) -> None:
    harness.buildpack("a", extra=targets)
    if passes:
        assert harness.build("a").group[0].id == "a"
    else:
        with pytest.raises(DetectionErrored, match="unable to satisfy target"):
            harness.build("a")
        assert not harness.has_record("a", "detect")  # it never ran


def test_rule_13_distros_need_a_known_base_distro(harness: Harness) -> None:
    harness.buildpack(
        "a", extra='[[targets]]\nos = "linux"\n[[targets.distros]]\nname = "ubuntu"\n'
    )
    with pytest.raises(DetectionErrored):
        harness.build("a", target=TargetInfo("linux", "amd64"))


def test_rule_13_optional_mismatch_runs_anyway_like_the_lifecycle(harness: Harness) -> None:
    harness.buildpack("opt", extra='[[targets]]\nos = "windows"\n')
    result = harness.build(order=[[harness.entry("opt", optional=True), harness.entry("a")]])
    assert [bp.id for bp in result.group] == ["opt", "a"]


def test_run_detect_leaves_the_image_alone(harness: Harness) -> None:
    harness.script("a", build=[])
    harness.build("a")
    before = sorted(p.name for p in harness.dirs.root.iterdir())
    result = harness.detect("a")
    assert result.passed
    assert [d.id for d in result.group] == ["a"]
    assert sorted(p.name for p in harness.dirs.root.iterdir()) == before
