"""The CycloneDX SBOMs of the python and venv layers: valid, complete, deterministic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from pycnb.buildpack.python.manifest import Distribution
from pycnb.buildpack.python.version import PythonVersion
from pycnb.buildpack.sbom import runtime_sbom, venv_sbom
from pycnb.cnb.names import LayerName
from pycnb.cnb.sbom import write_layer_sbom

RUNTIME = Distribution(
    PythonVersion(3, 12, 7),
    "linux",
    "amd64",
    "https://example.com/cpython-3.12.7.tar.gz",
    "ab" * 32,
)


def assert_valid(document: dict[str, Any]) -> None:
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    assert errors is None, errors


def dist_info(site: Path, name: str, version: str, *lines: str) -> None:
    directory = site / f"{name.replace('-', '_')}-{version}.dist-info"
    directory.mkdir(parents=True)
    body = "\n".join((f"Name: {name}", f"Version: {version}", *lines))
    (directory / "METADATA").write_text(f"Metadata-Version: 2.4\n{body}\n")


def test_runtime_sbom_names_cpython_with_its_archive_hash() -> None:
    document = runtime_sbom(RUNTIME, generator="0.1.0")
    assert_valid(document)
    [component] = document["components"]
    assert (component["name"], component["version"]) == ("cpython", "3.12.7")
    assert component["purl"].startswith("pkg:generic/cpython@3.12.7?")
    assert component["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert document["metadata"]["tools"]["components"][0]["version"] == "0.1.0"


def test_venv_sbom_lists_every_distribution_with_purl_and_licence(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    dist_info(site, "Flask", "3.1.3", "License-Expression: BSD-3-Clause")
    dist_info(
        site, "zope.interface", "7.0", "Classifier: License :: OSI Approved :: Zope Public License"
    )
    dist_info(site, "gunicorn", "27.0.1", "License: MIT")
    dist_info(site, "odd", "1.0", "License: " + "long text " * 20)
    document = venv_sbom(site, generator="0.1.0")
    assert_valid(document)
    by_name = {c["name"]: c for c in document["components"]}
    assert set(by_name) == {"Flask", "zope.interface", "gunicorn", "odd"}
    assert by_name["Flask"]["purl"] == "pkg:pypi/flask@3.1.3"
    assert by_name["zope.interface"]["purl"] == "pkg:pypi/zope-interface@7.0"
    assert by_name["Flask"]["licenses"] == [{"expression": "BSD-3-Clause"}]
    assert by_name["zope.interface"]["licenses"] == [{"license": {"name": "Zope Public License"}}]
    assert by_name["gunicorn"]["licenses"] == [{"license": {"name": "MIT"}}]
    assert "licenses" not in by_name["odd"], "a licence text is not a licence name"


def test_the_file_is_the_same_bytes_for_the_same_layer(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    dist_info(site, "b", "1.0")
    dist_info(site, "a", "2.0")
    first = write_layer_sbom(tmp_path, LayerName("venv"), venv_sbom(site, generator="1"))
    assert first.name == "venv.sbom.cdx.json"
    before = first.read_bytes()
    write_layer_sbom(tmp_path, LayerName("venv"), venv_sbom(site, generator="1"))
    assert first.read_bytes() == before
    assert [c["name"] for c in json.loads(before)["components"]] == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site-packages", "venv.sbom.cdx.json"]
