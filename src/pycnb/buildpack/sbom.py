"""CycloneDX SBOMs of the two launch layers that hold software: the Python runtime and the venv.

Written on every build, also when a layer is reused, so they always describe what the image
holds. Each component has a name, a version, a package URL and, where the build knows them, a
licence and hashes: the runtime archive's sha256 from the manifest; a distribution's licence from
its metadata (PEP 639 `License-Expression`, else its licence classifiers, else a short `License`
field). Installers do not record which file they installed, so distributions carry no hashes.
Nothing time-dependent goes in, so the same layer always gets the same file.
"""

from __future__ import annotations

import urllib.parse
from email.message import Message
from importlib.metadata import Distribution, distributions
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from pycnb.buildpack.python.manifest import Distribution as PythonDistribution

__all__ = ["SPEC_VERSION", "runtime_sbom", "venv_sbom"]

SPEC_VERSION = "1.6"
_LICENSE_CLASSIFIER = "License :: "
_SHORT_LICENSE = 80  # longer `License` fields are usually the whole licence text


def runtime_sbom(distribution: PythonDistribution, *, generator: str) -> dict[str, Any]:
    """`generator`: this buildpack's version, named as the tool that wrote the SBOM."""
    version = str(distribution.version)
    qualifiers = urllib.parse.urlencode(
        {"download_url": distribution.url, "checksum": f"sha256:{distribution.sha256}"}
    )
    purl = f"pkg:generic/cpython@{version}?{qualifiers}"
    component = {
        "type": "application",
        "bom-ref": purl,
        "name": "cpython",
        "version": version,
        "purl": purl,
        "licenses": [{"license": {"id": "PSF-2.0"}}],
        "hashes": [{"alg": "SHA-256", "content": distribution.sha256}],
        "externalReferences": [{"type": "distribution", "url": distribution.url}],
    }
    return _document([component], generator)


def venv_sbom(site_packages: Path, *, generator: str) -> dict[str, Any]:
    components = {}
    for dist in distributions(path=[str(site_packages)]):
        component = _component(dist)
        if component is not None:
            components[component["bom-ref"]] = component
    return _document([components[ref] for ref in sorted(components)], generator)


def _component(dist: Distribution) -> dict[str, Any] | None:
    metadata: Message = dist.metadata  # type: ignore[assignment]  # an email Message at run time
    name, version = metadata.get("Name"), metadata.get("Version")
    if not name or not version:
        return None  # a broken install: nothing reliable to say about it
    purl = f"pkg:pypi/{canonicalize_name(name)}@{urllib.parse.quote(version, safe='+.!')}"
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": purl,
        "name": name,
        "version": version,
        "purl": purl,
    }
    if licenses := _licenses(metadata):
        component["licenses"] = licenses
    return component


def _licenses(metadata: Message) -> list[dict[str, Any]]:
    if expression := metadata.get("License-Expression"):
        return [{"expression": expression.strip()}]
    classifiers = [
        value.rsplit(" :: ", 1)[-1]
        for value in metadata.get_all("Classifier") or []
        if value.startswith(_LICENSE_CLASSIFIER) and value.count(" :: ") >= 2  # noqa: PLR2004
    ]
    if classifiers:
        return [{"license": {"name": name}} for name in sorted(set(classifiers))]
    field = (metadata.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= _SHORT_LICENSE:
        return [{"license": {"name": field}}]
    return []


def _document(components: list[dict[str, Any]], generator: str) -> dict[str, Any]:
    tool = {"type": "application", "name": "pycnb", "version": generator}
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "metadata": {"tools": {"components": [tool]}},
        "components": components,
    }
