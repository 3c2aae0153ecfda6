"""Pure parsers: launch.toml, build.toml, store.toml, <layer>.toml and exec.d output."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from pycnb.cnb.layers import LayerTypes
from pycnb.platform.buildpack_output import parse_build_toml, parse_launch_toml, parse_store_toml
from pycnb.platform.errors import ContentError
from pycnb.platform.exec_d import parse_exec_d_output
from pycnb.platform.layers_dir import parse_layer_toml
from pycnb.platform.processes import Process


def test_parse_launch_toml() -> None:
    data = tomllib.loads(
        '[[processes]]\ntype = "web"\ncommand = ["g", "x"]\nargs = ["a"]\ndefault = true\n'
        'working-dir = "sub"\nunknown = 1\n'
        '[[labels]]\nkey = "k"\nvalue = "v"\n[[slices]]\npaths = ["static/*"]\n'
    )
    out = parse_launch_toml(data, "bp")
    assert out.processes == (Process("web", ("g", "x"), ("a",), "sub", "bp", default=True),)
    assert out.labels == (("k", "v"),)
    assert out.slices == (("static/*",),)


@pytest.mark.parametrize(
    "text",
    [
        '[[processes]]\ntype = "web"\ncommand = ["x"]\ndirect = false\n',
        '[[processes]]\ntype = "web"\ncommand = "x"\n',
        '[[processes]]\ntype = "web"\ncommand = []\n',
        '[[processes]]\ncommand = ["x"]\n',
        '[[processes]]\ntype = "web"\ncommand = ["x"]\ndefault = "yes"\n',
        '[[processes]]\ntype = "web"\ncommand = ["x"]\nworking-dir = 1\n',
        "processes = 1\n",
        '[[slices]]\npaths = "x"\n',
    ],
)
def test_parse_launch_toml_rejects(text: str) -> None:
    with pytest.raises(ContentError):
        parse_launch_toml(tomllib.loads(text), "bp")


def test_parse_build_and_store_toml() -> None:
    assert parse_build_toml({"unmet": [{"name": "x"}], "bom": []}) == ("x",)
    assert parse_build_toml({}) == ()
    with pytest.raises(ContentError):
        parse_build_toml({"unmet": [{}]})
    assert parse_store_toml({"metadata": {"a": 1}, "other": 2}) == {"a": 1}
    assert parse_store_toml({}) == {}
    with pytest.raises(ContentError):
        parse_store_toml({"metadata": []})


@pytest.mark.parametrize(
    ("data", "types", "metadata"),
    [
        ({}, LayerTypes(build=False, launch=False, cache=False), {}),
        ({"types": {"launch": True}}, LayerTypes(build=False, launch=True, cache=False), {}),
        (
            {"types": {"build": True, "cache": True}, "metadata": {"v": 1}},
            LayerTypes(build=True, launch=False, cache=True),
            {"v": 1},
        ),
        (
            {"metadata": {"v": 1}, "other": "ignored"},
            LayerTypes(build=False, launch=False, cache=False),
            {"v": 1},
        ),
    ],
)
def test_parse_layer_toml(
    data: dict[str, Any], types: LayerTypes, metadata: dict[str, Any]
) -> None:
    assert parse_layer_toml(data) == (types, metadata)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"launch": True}, "top level"),
        ({"types": {"cache": "true"}}, "must be a boolean"),
        ({"types": []}, "types must be a table"),
        ({"metadata": "x"}, "metadata must be a table"),
    ],
)
def test_parse_layer_toml_rejects(data: dict[str, Any], reason: str) -> None:
    with pytest.raises(ContentError, match=reason):
        parse_layer_toml(data)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (b"", {}),
        (b'A = "1"\nB = "two words"\n', {"A": "1", "B": "two words"}),
        (b'"QUOTED" = ""\n', {"QUOTED": ""}),
    ],
)
def test_parse_exec_d_output(output: bytes, expected: dict[str, str]) -> None:
    assert parse_exec_d_output(output) == expected


@pytest.mark.parametrize(
    "output",
    [
        b"A = 1\n",
        b"A = true\n",
        b'[t]\nA = "1"\n',
        b'A = ["x"]\n',
        b"not toml",
        b"\xff = 1",
        b'"A=B" = "x"\n',
    ],
)
def test_parse_exec_d_output_rejects(output: bytes) -> None:
    with pytest.raises(ContentError):
        parse_exec_d_output(output)
