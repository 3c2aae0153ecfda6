from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pycnb.platform.buildpack_descriptor import parse_descriptor
from pycnb.platform.errors import (
    CompositeBuildpackUnsupported,
    InvalidDescriptor,
    UnsupportedBuildpackApi,
)
from pycnb.platform.target import Distro, TargetSpec

ROOT = Path("/bp")
BUILD = frozenset({"detect", "build"})


def descriptor(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"api": "0.10", "buildpack": {"id": "org/py", "version": "1.2.3"}}
    data.update(overrides)
    return data


def test_minimal() -> None:
    d = parse_descriptor(descriptor(), root=ROOT, bin_names=BUILD)
    assert (d.api, d.id, d.version, d.clear_env, d.sbom_formats) == (
        "0.10",
        "org/py",
        "1.2.3",
        False,
        frozenset(),
    )
    assert d.key == "org/py@1.2.3"
    assert d.directory_name == "org_py"
    assert d.targets == (TargetSpec(os="linux"),)  # inferred from bin/build
    assert d.build_program == ROOT / "bin" / "build"


@pytest.mark.parametrize(
    ("api", "normalized"), [("0.10", "0.10"), ("0.11", "0.11"), ("0.010", "0.10")]
)
def test_supported_apis(api: str, normalized: str) -> None:
    assert parse_descriptor(descriptor(api=api), root=ROOT, bin_names=BUILD).api == normalized


@pytest.mark.parametrize("api", ["0.9", "0.12", "1", "0.1"])
def test_unsupported_apis(api: str) -> None:
    with pytest.raises(UnsupportedBuildpackApi):
        parse_descriptor(descriptor(api=api), root=ROOT, bin_names=BUILD)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"api": 0.1}, "api must be a string"),
        ({"api": "v0.10"}, "api must be a string"),
        ({"buildpack": "x"}, "[buildpack] table is required"),
        ({"buildpack": {"version": "1.0.0"}}, "id is required"),
        ({"buildpack": {"id": "app", "version": "1.0.0"}}, "must not be app"),
        ({"buildpack": {"id": "a", "version": "01.0.0"}}, "X.Y.Z"),
        ({"buildpack": {"id": "a", "version": "1.0.0", "clear-env": "yes"}}, "clear-env"),
        (
            {"buildpack": {"id": "a", "version": "1.0.0", "sbom-formats": ["text/plain"]}},
            "unknown media type",
        ),
        ({"targets": [{"os": 1}]}, "os must be a string"),
        ({"targets": {"os": "linux"}}, "array of tables"),
        ({"targets": [{"distros": [{"name": 1}]}]}, "distro name"),
        ({"stacks": [{"mixins": []}]}, "[[stacks]]"),
    ],
)
def test_problems(overrides: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidDescriptor) as raised:
        parse_descriptor(descriptor(**overrides), root=ROOT, bin_names=BUILD)
    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_all_problems_at_once() -> None:
    with pytest.raises(InvalidDescriptor) as raised:
        parse_descriptor({"api": 1, "buildpack": {"id": "a b"}}, root=ROOT, bin_names=BUILD)
    assert len(raised.value.problems) == 3


def test_composites_are_refused() -> None:
    with pytest.raises(CompositeBuildpackUnsupported):
        parse_descriptor(descriptor(order=[{"group": []}]), root=ROOT, bin_names=frozenset())


@pytest.mark.parametrize(
    ("overrides", "bin_names", "targets"),
    [
        (
            {
                "targets": [
                    {
                        "os": "linux",
                        "arch": "arm64",
                        "variant": "v8",
                        "distros": [{"name": "ubuntu", "version": "24.04"}],
                    }
                ]
            },
            BUILD,
            (TargetSpec("linux", "arm64", "v8", (Distro("ubuntu", "24.04"),)),),
        ),
        ({"targets": [{"arch-variant": "v7"}]}, BUILD, (TargetSpec(arch_variant="v7"),)),
        (
            {"stacks": [{"id": "io.buildpacks.stacks.bionic"}]},
            BUILD,
            (TargetSpec("linux", "amd64", "", (Distro("ubuntu", "18.04"),)),),
        ),
        ({"stacks": [{"id": "*"}]}, BUILD, (TargetSpec(),)),
        ({"stacks": [{"id": "heroku-22"}]}, BUILD, (TargetSpec(os="linux"),)),
        ({}, frozenset({"build.bat"}), (TargetSpec(os="windows"),)),
        ({}, frozenset(), ()),
    ],
    ids=["declared", "arch-variant", "bionic", "stack-any", "other-stack", "windows", "none"],
)
def test_targets(
    overrides: dict[str, Any], bin_names: frozenset[str], targets: tuple[TargetSpec, ...]
) -> None:
    assert (
        parse_descriptor(descriptor(**overrides), root=ROOT, bin_names=bin_names).targets == targets
    )


def test_sbom_formats_ignore_parameters() -> None:
    info = {
        "id": "a",
        "version": "1.0.0",
        "sbom-formats": ["application/vnd.cyclonedx+json; version=1.4"],
    }
    d = parse_descriptor(descriptor(buildpack=info), root=ROOT, bin_names=BUILD)
    assert d.sbom_formats == frozenset({"application/vnd.cyclonedx+json"})
