from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.platform.target import (
    Distro,
    TargetInfo,
    TargetSpec,
    host_target,
    parse_os_release,
    target_matches,
)

BASE = TargetInfo("linux", "amd64", "", Distro("ubuntu", "24.04"))


@pytest.mark.parametrize(
    ("spec", "matches"),
    [
        (TargetSpec(), True),
        (TargetSpec(os="linux"), True),
        (TargetSpec(os="windows"), False),
        (TargetSpec(arch="arm64"), False),
        (TargetSpec(arch_variant="v8"), True),  # the base has no variant: wildcard
        (TargetSpec(distros=(Distro("ubuntu", ""),)), True),
        (TargetSpec(distros=(Distro("debian", "12"), Distro("ubuntu", "24.04"))), True),
        (TargetSpec(distros=(Distro("ubuntu", "22.04"),)), False),
    ],
)
def test_target_matches(spec: TargetSpec, matches: bool) -> None:
    assert target_matches(BASE, spec) is matches


def test_listed_distros_need_a_known_base_distro() -> None:
    assert not target_matches(
        TargetInfo("linux", "amd64"), TargetSpec(distros=(Distro("ubuntu", "24.04"),))
    )
    assert target_matches(TargetInfo("linux", ""), TargetSpec(arch="arm64"))  # empty base: wildcard


def test_env() -> None:
    assert BASE.env() == {
        "CNB_TARGET_OS": "linux",
        "CNB_TARGET_ARCH": "amd64",
        "CNB_TARGET_DISTRO_NAME": "ubuntu",
        "CNB_TARGET_DISTRO_VERSION": "24.04",
    }
    assert TargetInfo("linux", "arm64", "v8").env()["CNB_TARGET_ARCH_VARIANT"] == "v8"


def test_parse_os_release() -> None:
    text = (
        "# comment\nID=debian\nVERSION_ID=\"12\"\nNAME='Debian GNU/Linux'\nbogus\n\n"
        'PRETTY_NAME="say \\"hi\\""\n'
    )
    assert parse_os_release(text) == {
        "ID": "debian",
        "VERSION_ID": "12",
        "NAME": "Debian GNU/Linux",
        "PRETTY_NAME": 'say "hi"',
    }


@pytest.mark.parametrize(
    ("machine", "arch"),
    [("x86_64", "amd64"), ("aarch64", "arm64"), ("arm64", "arm64"), ("riscv64", "riscv64")],
)
def test_host_target(tmp_path: Path, machine: str, arch: str) -> None:
    release = tmp_path / "os-release"
    release.write_text('ID=ubuntu\nVERSION_ID="24.04"\n')
    assert host_target(machine, release) == TargetInfo("linux", arch, "", Distro("ubuntu", "24.04"))
    assert host_target(machine, tmp_path / "missing").distro is None
