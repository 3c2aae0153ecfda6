"""The package-manager step: what it reads, checks and prints before anything is installed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.groups import GroupSelection, UnknownDependencyGroups
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.pipfile import read_pipfile
from pycnb.buildpack.dependencies.plan import DependencyPlan, plan_dependencies
from pycnb.buildpack.output import Output
from pycnb.buildpack.project import read_pyproject
from pycnb.buildpack.settings import Settings

PYPROJECT = """
[project]
name = "app"
version = "0"
dependencies = ["a"]
[dependency-groups]
dev = ["b"]
"""


def plan(app: Path, **settings: str) -> tuple[DependencyPlan, str, str]:
    out = Output(stdout=io.StringIO(), stderr=io.StringIO())
    pyproject, pipfile = read_pyproject(app), read_pipfile(app)
    result = plan_dependencies(app, pyproject, pipfile, Settings({}, settings), out)
    return result, out.stdout.getvalue(), out.stderr.getvalue()  # type: ignore[attr-defined]


def test_uv_project_with_groups(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "uv.lock").write_text("version = 1\n")
    result, stdout, _ = plan(tmp_path, BP_PYTHON_GROUPS="dev")
    assert result.package_manager is PackageManager.UV
    assert result.groups == GroupSelection(groups=("dev",))
    assert len(result.lock_digest) == 64
    assert stdout == "- Using uv (uv.lock)\n- Including dev from BP_PYTHON_GROUPS\n"


def test_pyproject_only_warns_about_reproducibility(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    result, stdout, stderr = plan(tmp_path)
    assert result.package_manager is PackageManager.PYPROJECT
    assert stdout == "- Using pip (pyproject.toml)\n"
    assert "[WARNING] No lockfile" in stderr


def test_requirements_txt_reads_requirements_and_rejects_groups(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("a==1\n")
    result, _, _ = plan(tmp_path)
    assert result.requirements is not None
    with pytest.raises(UnknownDependencyGroups):
        plan(tmp_path, BP_PYTHON_GROUPS="dev")
