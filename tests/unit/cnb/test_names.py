import pytest

from pycnb.cnb.names import BuildpackId, LayerName, ProcessType


@pytest.mark.parametrize("name", ["build", "launch", "store", "", "a.b", "a/b", "py3.12"])
def test_invalid_layer_names(name: str) -> None:
    with pytest.raises(ValueError, match="invalid layer name"):
        LayerName(name)


@pytest.mark.parametrize("name", ["python", "pip-cache", "venv", "uv_cache"])
def test_valid_layer_names(name: str) -> None:
    assert str(LayerName(name)) == name


@pytest.mark.parametrize("value", ["web", "worker.1", "a_b-c"])
def test_valid_process_types(value: str) -> None:
    assert str(ProcessType(value)) == value


@pytest.mark.parametrize("value", ["", "a b", "a/b", "a:b"])
def test_invalid_process_types(value: str) -> None:
    with pytest.raises(ValueError, match="invalid process type"):
        ProcessType(value)


def test_buildpack_directory_name_replaces_slashes() -> None:
    assert BuildpackId("pycnb/python").directory_name == "pycnb_python"


@pytest.mark.parametrize("value", ["app", "config", "generated", "sbom", "a b", "a_b"])
def test_invalid_buildpack_ids(value: str) -> None:
    with pytest.raises(ValueError, match="invalid buildpack id"):
        BuildpackId(value)
