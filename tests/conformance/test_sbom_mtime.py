"""Conformance: SBOM files and reproducible mtimes (rules 51-53)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pycnb.platform.errors import InvalidSbom
from pycnb.platform.fstree import NORMALIZED_MTIME
from tests.conformance.conftest import Harness, layer, write

CDX = "application/vnd.cyclonedx+json"
SPDX = "application/spdx+json"


def test_rule_51_undeclared_media_type_fails_the_build(harness: Harness) -> None:
    harness.buildpack("a", sbom_formats=[SPDX])
    harness.script("a", build=[layer("L", launch=True), write("L.sbom.cdx.json", "{}")])
    with pytest.raises(InvalidSbom, match="undeclared SBOM media type"):
        harness.build("a")


def test_rule_51_unknown_extension_fails_the_build(harness: Harness) -> None:
    harness.buildpack("a", sbom_formats=[CDX])
    harness.script("a", build=[layer("L", launch=True), write("L.sbom.xml", "<x/>")])
    with pytest.raises(InvalidSbom, match="unsupported SBOM format"):
        harness.build("a")


def test_rule_52_sbom_placement_and_restore(harness: Harness) -> None:
    harness.buildpack("a", sbom_formats=[CDX, SPDX])
    harness.script(
        "a",
        build=[
            layer("L", launch=True, cache=True),
            layer("M", launch=True),
            layer("B", build=True),
            write("L.sbom.cdx.json", '{"layer": "L"}'),
            write("M.sbom.cdx.json", '{"layer": "M"}'),
            write("B.sbom.cdx.json", '{"layer": "B"}'),
            write("launch.sbom.cdx.json", '{"for": "launch"}'),
            write("build.sbom.spdx.json", '{"for": "build"}'),
            write("orphan.sbom.cdx.json", "{}"),
        ],
    )
    harness.build("a")
    launch_sbom = harness.dirs.layers / "sbom" / "launch" / "a"
    assert (launch_sbom / "L" / "sbom.cdx.json").read_text() == '{"layer": "L"}'
    assert (launch_sbom / "M" / "sbom.cdx.json").exists()
    assert (launch_sbom / "sbom.cdx.json").read_text() == '{"for": "launch"}'
    build_sbom = harness.dirs.image / "sbom" / "build" / "a"
    assert (build_sbom / "B" / "sbom.cdx.json").exists()
    assert (build_sbom / "sbom.spdx.json").read_text() == '{"for": "build"}'
    assert not (harness.dirs.layers / "sbom" / "build").exists()  # not in the image
    assert (harness.dirs.cache / "sbom" / "a" / "L" / "sbom.cdx.json").exists()
    assert any("orphan.sbom.cdx.json belongs to no layer" in line for line in harness.logs)

    harness.script("a", build=[])
    harness.build("a")
    own = harness.record("a", "build")["own_layers"]
    assert own["L.sbom.cdx.json"]["text"] == '{"layer": "L"}'  # with L's metadata and contents
    assert own["M.sbom.cdx.json"]["text"] == '{"layer": "M"}'  # with M's metadata
    for never in ("launch.sbom.cdx.json", "build.sbom.spdx.json", "B.sbom.cdx.json"):
        assert never not in own


def _mtimes(root: Path) -> dict[str, int]:
    result = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = Path(directory, name)
            result[str(path.relative_to(root))] = int(path.lstat().st_mtime)
    return result


def test_rule_53_exported_files_get_the_constant_mtime(harness: Harness, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not part of the app")
    os.utime(outside, (1_600_000_000, 1_600_000_000))
    (harness.app / "link-out").symlink_to(outside)
    (harness.app / "pkg").mkdir()
    (harness.app / "pkg" / "mod.py").write_text("x = 1\n")
    harness.script(
        "a",
        build=[
            layer("venv", launch=True, cache=True, files={"lib/site.py": "", "bin/run": ""}),
            layer("scratch", cache=True, files={"f": ""}),
            write("built.txt", "made during build", app=True),
        ],
    )
    harness.build("a")
    workspace = _mtimes(harness.dirs.workspace)
    assert set(workspace.values()) == {NORMALIZED_MTIME}, workspace
    assert "built.txt" in workspace
    layers = _mtimes(harness.layer_path("a", "venv"))
    assert set(layers.values()) == {NORMALIZED_MTIME}
    assert int(outside.stat().st_mtime) == 1_600_000_000  # symlinks are not followed
