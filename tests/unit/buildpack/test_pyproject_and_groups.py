"""pyproject.toml reading and BP_PYTHON_GROUPS: which names exist, and what each tool gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.groups import (
    GroupSelection,
    UnknownDependencyGroups,
    parse_groups_setting,
    select_groups,
)
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.project import InvalidPyproject, Pyproject, parse_pyproject, read_pyproject

PATH = Path("/workspace/pyproject.toml")

PROJECT = b"""
[project]
name = "app"
dependencies = ["flask"]

[project.optional-dependencies]
Fast_Json = ["orjson"]

[dependency-groups]
dev = ["pytest"]
Docs = ["sphinx"]

[tool.uv]
dev-dependencies = ["ruff"]

[tool.poetry.group.lint.dependencies]
ruff = "*"

[tool.poetry.extras]
speedups = ["uvloop"]
"""


def project(text: bytes = PROJECT) -> Pyproject:
    return parse_pyproject(text, PATH)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("dev", ("dev",)),
        (" dev , docs,,", ("dev", "docs")),
        ("dev,dev", ("dev",)),
    ],
)
def test_parse_groups_setting(value: str | None, expected: tuple[str, ...]) -> None:
    assert parse_groups_setting(value) == expected


def test_no_groups_requested_selects_nothing_even_without_a_project() -> None:
    assert select_groups((), PackageManager.PIP, None) == GroupSelection()
    assert GroupSelection().key == "(none)"


@pytest.mark.parametrize(
    ("manager", "requested", "expected"),
    [
        (PackageManager.UV, ("dev",), GroupSelection(groups=("dev",))),
        (PackageManager.UV, ("docs",), GroupSelection(groups=("Docs",))),  # project's spelling
        (PackageManager.UV, ("fast-json",), GroupSelection(extras=("Fast_Json",))),
        (PackageManager.POETRY, ("lint", "dev"), GroupSelection(groups=("lint", "dev"))),
        (PackageManager.POETRY, ("speedups",), GroupSelection(extras=("speedups",))),
        (PackageManager.PYPROJECT, ("DEV", "fast.json"), GroupSelection(("dev",), ("Fast_Json",))),
    ],
)
def test_names_map_to_groups_or_extras(
    manager: PackageManager, requested: tuple[str, ...], expected: GroupSelection
) -> None:
    assert select_groups(requested, manager, project()) == expected


def test_a_name_that_is_both_a_group_and_an_extra_is_both() -> None:
    both = project(b"[project.optional-dependencies]\nx = []\n[dependency-groups]\nx = []\n")
    assert select_groups(("x",), PackageManager.UV, both) == GroupSelection(("x",), ("x",))


def test_uv_legacy_dev_dependencies_are_group_dev() -> None:
    legacy = project(b"[tool.uv]\ndev-dependencies = []\n")
    assert select_groups(("dev",), PackageManager.UV, legacy).groups == ("dev",)


def test_unknown_names_are_all_listed_with_what_exists() -> None:
    with pytest.raises(UnknownDependencyGroups) as error:
        select_groups(("dev", "tests", "lint"), PackageManager.UV, project())
    assert error.value.unknown == ["tests", "lint"]  # lint is Poetry's, not uv's
    assert error.value.groups == ["dev", "Docs"]
    assert error.value.extras == ["Fast_Json"]


def test_requirements_txt_has_no_groups() -> None:
    with pytest.raises(UnknownDependencyGroups) as error:
        select_groups(("dev",), PackageManager.PIP, project())
    assert error.value.groups == []


def test_selection_key_is_normalized_and_sorted() -> None:
    selection = GroupSelection(groups=("Docs", "dev"), extras=("Fast_Json",))
    assert selection.key == "dev,docs,fast-json"
    assert selection.names == ("Docs", "dev", "Fast_Json")


def test_tool_tables_and_project_table() -> None:
    parsed = project()
    assert parsed.has_project_table
    assert parsed.tool_tables == ("poetry", "uv")
    assert not project(b"[tool.black]\n").tool_tables


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"[project\nname = 1\n", "line 1"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_invalid_pyproject(content: bytes, fragment: str) -> None:
    with pytest.raises(InvalidPyproject) as error:
        parse_pyproject(content, PATH)
    assert fragment in error.value.reason


def test_a_malformed_table_pycnb_reads_is_reported() -> None:
    with pytest.raises(InvalidPyproject) as error:
        project(b'dependency-groups = "dev"\n').dependency_groups()
    assert "[dependency-groups] must be a table" in error.value.reason


def test_read_pyproject(tmp_path: Path) -> None:
    assert read_pyproject(tmp_path) is None
    (tmp_path / "pyproject.toml").write_bytes(PROJECT)
    found = read_pyproject(tmp_path)
    assert found is not None
    assert found.path == tmp_path / "pyproject.toml"
