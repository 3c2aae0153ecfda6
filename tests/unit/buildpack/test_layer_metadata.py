import dataclasses

import pytest

from pycnb.buildpack.dependencies import download_cache, pip, poetry, tools, uv, venv
from pycnb.buildpack.layers.invalidation import changed_inputs
from pycnb.buildpack.python import layer as python

METADATA_TYPES = [
    (python.PythonLayerMetadata, python._LABELS),
    (pip.PipLayerMetadata, pip._LABELS),
    (venv.VenvLayerMetadata, venv._LABELS),
    (tools.ToolLayerMetadata, tools._labels(uv.UV)),
    (tools.ToolLayerMetadata, tools._labels(poetry.POETRY)),
    (download_cache.DownloadCacheMetadata, download_cache._LABELS),
]


@pytest.mark.parametrize(("metadata_type", "labels"), METADATA_TYPES)
def test_every_metadata_field_says_why_it_invalidates(
    metadata_type: type, labels: dict[str, str]
) -> None:
    assert labels.keys() == {f.name for f in dataclasses.fields(metadata_type)}


def meta(**changes: str) -> python.PythonLayerMetadata:
    base = python.PythonLayerMetadata("3.12.1", "a" * 64, "amd64", "debian", "12")
    return dataclasses.replace(base, **changes)


def test_all_reasons_are_reported_not_just_the_first() -> None:
    reasons = changed_inputs(
        meta(), meta(python_version="3.12.7", distro_version="13"), python._LABELS
    )
    assert reasons == [
        "The Python version changed from 3.12.1 to 3.12.7",
        "The OS distribution version changed from 12 to 13",
    ]


def test_digests_are_not_shown() -> None:
    assert changed_inputs(meta(), meta(archive_sha256="b" * 64), python._LABELS) == [
        "The Python archive changed"
    ]


def test_unchanged_metadata_has_no_reasons() -> None:
    assert changed_inputs(meta(), meta(), python._LABELS) == []
