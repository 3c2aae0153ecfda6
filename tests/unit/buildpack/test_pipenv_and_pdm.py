"""Pipenv and PDM as data: the argv and env they run with, the Pipfile and PDM's tables as pycnb
reads them, and their failures in the pinned tools' own words (Pipenv 2026.10.3, PDM 2.29.4)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pycnb.buildpack.commands import CommandFailed
from pycnb.buildpack.dependencies import installer as installer_module
from pycnb.buildpack.dependencies import pdm, pipenv, poetry
from pycnb.buildpack.dependencies.failures import (
    InstallerFailed,
    LockfileOutdated,
    LockFormatUnsupported,
    ToolFailures,
    classify_failure,
    describe_lock_format,
)
from pycnb.buildpack.dependencies.groups import (
    GroupSelection,
    UnknownDependencyGroups,
    select_groups,
)
from pycnb.buildpack.dependencies.installer import ToolRun, VenvInputs
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.pipfile import (
    InvalidPipfile,
    parse_pipfile,
)
from pycnb.buildpack.dependencies.tools import InstalledTool
from pycnb.buildpack.dependencies.venv import Venv
from pycnb.buildpack.output import Output
from pycnb.buildpack.project import parse_pyproject

VENV = Venv(Path("/layers/pycnb/venv"))
APP = Path("/workspace")
ENV = {"PATH": "/usr/bin", "HOME": "/home", "PIP_EXTRA_INDEX_URL": "https://idx/"}
NO_GROUPS = GroupSelection()

PIPFILE = b"""
[[source]]
url = "https://pypi.org/simple"
name = "pypi"

[packages]
flask = "*"

[dev-packages]
pytest = "*"

[docs]
sphinx = "*"

[scripts]
serve = "flask run"

[requires]
python_version = "3.12"
"""

PDM_PROJECT = b"""
[project]
name = "x"
dependencies = []

[project.optional-dependencies]
fast = ["orjson"]

[dependency-groups]
lint = ["ruff"]

[tool.pdm.dev-dependencies]
test = ["pytest"]
"""

# The pinned tools' wording for a lock that no longer matches its project file.
PIPENV_VERIFY_OUTDATED = "Pipfile.lock is out-of-date. Run $ pipenv lock to update.\n"
PDM_CHECK_OUTDATED = (
    "WARNING: Lockfile doesn't satisfy the project requirements, packages may be outdated\n"
)


class Recorder:
    def __init__(self, fail_on: str | None = None, output: str = "") -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.fail_on = fail_on
        self.output = output

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> str:  # noqa: ARG002
        self.calls.append((list(argv), dict(env)))
        if self.fail_on is not None and self.fail_on in argv:
            raise CommandFailed(tuple(argv), 1, self.output)
        return ""


def quiet() -> Output:
    return Output(stdout=io.StringIO(), stderr=io.StringIO())


def pipenv_run(groups: GroupSelection = NO_GROUPS) -> ToolRun:
    layer = Path("/layers/pycnb/pipenv")
    tool = InstalledTool(layer, layer / "bin" / "pipenv", "2026.10.3")
    inputs = VenvInputs(PackageManager.PIPENV, "2026.10.3", "l", "p", groups)
    return pipenv.pipenv_sync(tool, Path("/c"), inputs, VENV, "3.12.7")


def pdm_run(
    groups: GroupSelection = NO_GROUPS,
    dev_groups: tuple[str, ...] = (),
    *,
    self_install: bool = False,
) -> ToolRun:
    layer = Path("/layers/pycnb/pdm")
    tool = InstalledTool(layer, layer / "bin" / "pdm", "2.29.4")
    inputs = VenvInputs(PackageManager.PDM, "2.29.4", "l", "p", groups)
    return pdm.pdm_sync(
        tool, Path("/c"), inputs, VENV, "3.12.7", dev_groups=dev_groups, self_install=self_install
    )


# --- Pipenv ------------------------------------------------------------------------------------


def test_pipenv_installs_the_default_category_only_unless_asked() -> None:
    assert pipenv_run().args == ["sync", "--clean"]
    chosen = pipenv_run(GroupSelection(groups=("dev-packages", "docs")))
    assert chosen.args == ["sync", "--clean", "--categories", "packages,dev-packages,docs"]


def test_pipenv_verifies_the_lock_then_syncs_into_our_venv(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = Recorder()
    monkeypatch.setattr(installer_module, "run_captured", run)
    pipenv_run().install(app_dir=APP, env=ENV, out=quiet())
    [(verify, _), (sync, env)] = run.calls
    assert verify == ["/layers/pycnb/pipenv/bin/pipenv", "verify"]
    assert sync == ["/layers/pycnb/pipenv/bin/pipenv", "sync", "--clean"]
    assert env["VIRTUAL_ENV"] == str(VENV.path)
    assert env["PIPENV_IGNORE_VIRTUALENVS"] == "0"  # the active venv is the one it uses
    assert env["PIPENV_DONT_LOAD_ENV"] == "1"
    assert env["PIPENV_CACHE_DIR"] == "/c"
    assert env["PIP_EXTRA_INDEX_URL"] == "https://idx/", "the user's pip settings reach its pip"
    assert env["PATH"].startswith(f"{VENV.path}/bin:")


def test_pipenv_outdated_lock_stops_before_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Recorder(fail_on="verify", output=PIPENV_VERIFY_OUTDATED)
    monkeypatch.setattr(installer_module, "run_captured", run)
    with pytest.raises(LockfileOutdated) as error:
        pipenv_run().install(app_dir=APP, env=ENV, out=quiet())
    assert error.value.package_manager is PackageManager.PIPENV
    assert len(run.calls) == 1, "nothing is installed from an outdated lock"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (PIPENV_VERIFY_OUTDATED, LockfileOutdated),
        ("ERROR: No matching distribution found for flask==9", InstallerFailed),
    ],
)
def test_pipenv_failures(output: str, expected: type[Exception]) -> None:
    error = classify_failure(
        PackageManager.PIPENV,
        CommandFailed(("pipenv",), 1, output),
        pipenv.FAILURES,
        python_version="3.12.7",
        command="pipenv sync",
    )
    assert type(error) is expected


def test_pipfile_categories_and_requires() -> None:
    pipfile = parse_pipfile(PIPFILE, APP / "Pipfile")
    assert pipfile.categories() == ("dev-packages", "docs")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"[packages\n", "line 1"), (b"\xff", "UTF-8")],
)
def test_invalid_pipfile(content: bytes, fragment: str) -> None:
    with pytest.raises(InvalidPipfile) as error:
        parse_pipfile(content, APP / "Pipfile")
    assert fragment in error.value.reason


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (("develop",), ("dev-packages",)),
        (("dev-packages", "Docs"), ("dev-packages", "docs")),
        (("develop", "dev_packages"), ("dev-packages",)),
    ],
)
def test_pipenv_categories_from_bp_python_groups(
    requested: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    pipfile = parse_pipfile(PIPFILE, APP / "Pipfile")
    selected = select_groups(requested, PackageManager.PIPENV, None, pipfile)
    assert selected == GroupSelection(groups=expected)


def test_pipenv_unknown_category_lists_the_pipfiles() -> None:
    pipfile = parse_pipfile(PIPFILE, APP / "Pipfile")
    with pytest.raises(UnknownDependencyGroups) as error:
        select_groups(("test",), PackageManager.PIPENV, None, pipfile)
    assert error.value.groups == ["dev-packages", "docs"]
    assert error.value.extras == []


# --- PDM ---------------------------------------------------------------------------------------


def test_pdm_installs_production_dependencies_only_and_not_the_app() -> None:
    assert pdm_run().args == ["sync", "--prod", "--only-keep", "--no-editable", "--no-self"]
    assert "--no-self" not in pdm_run(self_install=True).args


def test_pdm_groups_drop_prod_only_for_a_dev_group() -> None:
    extras = pdm_run(GroupSelection(extras=("fast",)), dev_groups=("lint",))
    assert extras.args[:2] == ["sync", "--prod"]
    assert extras.args[-2:] == ["-G", "fast"]
    # PDM refuses `--prod` next to a dev group: the named groups are then the whole selection.
    dev = pdm_run(GroupSelection(groups=("lint",), extras=("fast",)), dev_groups=("lint",))
    assert "--prod" not in dev.args
    assert dev.args[-4:] == ["-G", "lint", "-G", "fast"]


def test_pdm_checks_the_lock_syncs_into_our_venv_and_compiles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = Recorder()
    compiled: list[tuple[Path, Path]] = []
    monkeypatch.setattr(installer_module, "run_captured", run)
    monkeypatch.setattr(
        installer_module,
        "compile_tree",
        lambda python, root, **_: compiled.append((python, root)),
    )
    pdm_run().install(app_dir=APP, env=ENV, out=quiet())
    [(check, _), (sync, env)] = run.calls
    assert check == ["/layers/pycnb/pdm/bin/pdm", "lock", "--check"]
    assert sync[1:3] == ["sync", "--prod"]
    assert env["PDM_PYTHON"] == str(VENV.python)
    assert env["VIRTUAL_ENV"] == str(VENV.path)
    assert env["PDM_FROZEN_LOCKFILE"] == "1"
    assert env["PDM_CONFIG_FILE"] == "/layers/pycnb/pdm/config/config.toml"
    assert env["PDM_CHECK_UPDATE"] == "false"
    assert compiled == [(VENV.python, VENV.path / "lib")], "PDM writes no .pyc files itself"


def test_pdm_outdated_lock_is_typed() -> None:
    error = classify_failure(
        PackageManager.PDM,
        CommandFailed(("pdm", "lock", "--check"), 1, PDM_CHECK_OUTDATED),
        pdm.FAILURES,
        python_version="3.12.7",
        command="pdm lock --check",
    )
    assert isinstance(error, LockfileOutdated)


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ("", False),
        ('[build-system]\nrequires = ["pdm-backend"]\n', True),
        ('[build-system]\nrequires = ["pdm-backend"]\n[tool.pdm]\ndistribution = false\n', False),
        ("[tool.pdm]\ndistribution = true\n", True),
    ],
)
def test_pdm_installs_the_project_when_it_is_a_package(tables: str, expected: bool) -> None:
    pyproject = parse_pyproject(f'[project]\nname = "x"\n{tables}'.encode(), APP / "p")
    assert pdm.installs_the_project(pyproject) is expected


def test_pdm_groups_and_extras() -> None:
    pyproject = parse_pyproject(PDM_PROJECT, APP / "pyproject.toml")
    assert pyproject.pdm_groups() == ("lint", "test")
    selected = select_groups(("test", "fast"), PackageManager.PDM, pyproject)
    assert selected == GroupSelection(groups=("test",), extras=("fast",))


# --- old lock formats --------------------------------------------------------------------------

# The pinned tools' words for a lockfile format they cannot read.
PDM_INCOMPATIBLE = "WARNING: Lockfile is not compatible with PDM\n"
POETRY_INCOMPATIBLE = (
    "The lock file is not compatible with the current version of Poetry.\nUpgrade Poetry to be "
    "able to read the lock file or, alternatively, regenerate the lock file with the `poetry "
    "lock` command.\n"
)


@pytest.mark.parametrize(
    ("pm", "failures", "output"),
    [
        (PackageManager.PDM, pdm.FAILURES, PDM_INCOMPATIBLE),
        (PackageManager.POETRY, poetry.FAILURES, POETRY_INCOMPATIBLE),
    ],
)
def test_an_unreadable_lock_format_is_typed(
    pm: PackageManager, failures: ToolFailures, output: str
) -> None:
    error = classify_failure(
        pm,
        CommandFailed(("tool",), 1, output),
        failures,
        python_version="3.12.7",
        command="tool sync",
        lock_format="lock_version 3.1",
    )
    assert isinstance(error, LockFormatUnsupported)
    assert error.lock_format == "lock_version 3.1"


@pytest.mark.parametrize(
    ("pm", "content", "expected"),
    [
        (PackageManager.PDM, '[metadata]\nlock_version = "4.1"\n', "lock_version 4.1"),
        (PackageManager.POETRY, '[metadata]\nlock-version = "1.1"\n', "lock-version 1.1"),
        (PackageManager.UV, "version = 1\n", "version 1"),
        (PackageManager.PIPENV, '{"_meta": {"pipfile-spec": 6}}', "pipfile-spec 6"),
        (PackageManager.PDM, "[metadata\n", ""),
        (PackageManager.POETRY, "[[package]]\n", ""),
    ],
)
def test_describe_lock_format(
    tmp_path: Path, pm: PackageManager, content: str, expected: str
) -> None:
    (tmp_path / pm.file_name).write_text(content)
    assert describe_lock_format(pm, tmp_path) == expected
