"""The argv and env each installer runs with, and how tool failures become typed errors.

The process module is the one seam: tests replace its runner and look at what would have run.
The failure messages are the pinned tools' real wording (uv 0.13.9, Poetry 2.5.1).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from pycnb.buildpack.commands import CommandFailed
from pycnb.buildpack.dependencies import installer as installer_module
from pycnb.buildpack.dependencies import poetry, trust, uv
from pycnb.buildpack.dependencies.failures import (
    InstallerFailed,
    LockfileOutdated,
    PythonRejected,
    classify_failure,
)
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.installer import SOURCE_DATE_EPOCH, ToolRun, VenvInputs
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.pip import Pip, pip_project_install
from pycnb.buildpack.dependencies.tools import InstalledTool
from pycnb.buildpack.dependencies.venv import Venv
from pycnb.buildpack.output import Output

VENV = Venv(Path("/layers/pycnb/venv"))
APP = Path("/workspace")
USER_ENV = {"PATH": "/python/bin:/usr/bin", "UV_INDEX_URL": "https://idx/", "HOME": "/home"}
GROUPS = GroupSelection(groups=("dev", "docs"), extras=("fast",))


class Recorder:
    def __init__(self, output: str = "", fail: CommandFailed | None = None) -> None:
        self.calls: list[tuple[list[str], dict[str, str], Path]] = []
        self.output = output
        self.fail = fail

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> str:
        self.calls.append((list(argv), dict(env), cwd))
        if self.fail is not None:
            raise self.fail
        return self.output


@pytest.fixture(autouse=True)
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, Path]]:
    """The trees an installer had compiled after its tool ran (the interpreters are fakes)."""
    trees: list[tuple[Path, Path]] = []
    monkeypatch.setattr(
        installer_module, "compile_tree", lambda python, root, **_: trees.append((python, root))
    )
    return trees


def quiet_output() -> Output:
    return Output(stdout=io.StringIO(), stderr=io.StringIO())


def inputs(pm: PackageManager, groups: GroupSelection = GROUPS) -> VenvInputs:
    return VenvInputs(pm, "1", "l", "p", groups)


def uv_sync(groups: GroupSelection = GROUPS) -> ToolRun:
    layer = Path("/layers/pycnb/uv")
    tool = InstalledTool(layer, layer / "bin" / "uv", "0.13.9")
    return uv.uv_sync(tool, Path("/c"), inputs(PackageManager.UV, groups), VENV, "3.12.7")


def poetry_sync(groups: GroupSelection = GROUPS) -> ToolRun:
    layer = Path("/layers/pycnb/poetry")
    tool = InstalledTool(layer, layer / "bin" / "poetry", "2.5.1")
    return poetry.poetry_sync(
        tool, Path("/c"), inputs(PackageManager.POETRY, groups), VENV, "3.12.7"
    )


def test_uv_sync_never_installs_dev_groups_by_default() -> None:
    assert uv_sync(GroupSelection()).args == ["sync", "--locked", "--no-default-groups"]
    assert uv_sync().args[3:] == [
        "--group", "dev", "--group", "docs", "--extra", "fast",
    ]  # fmt: skip


def test_uv_runs_on_our_python_and_venv_only(
    monkeypatch: pytest.MonkeyPatch, compiled: list[tuple[Path, Path]]
) -> None:
    run = Recorder(output="Resolved 3 packages\nInstalled 2 packages\n")
    monkeypatch.setattr(installer_module, "run_captured", run)
    out = quiet_output()
    uv_sync().install(app_dir=APP, env=USER_ENV, out=out)
    [(argv, env, cwd)] = run.calls
    assert argv[0] == "/layers/pycnb/uv/bin/uv"
    assert argv[argv.index("--python") + 1] == str(VENV.python)
    # Compiled by us, only what changed, not by uv's --compile-bytecode (all of the venv).
    assert "--compile-bytecode" not in argv
    assert compiled == [(VENV.python, VENV.path / "lib")]
    assert cwd == APP
    assert env["UV_PROJECT_ENVIRONMENT"] == str(VENV.path)
    assert env["VIRTUAL_ENV"] == str(VENV.path)
    assert env["UV_PYTHON_DOWNLOADS"] == "never"
    assert env["UV_NO_MANAGED_PYTHON"] == "1"
    assert env["UV_CACHE_DIR"] == "/c"
    assert env["UV_LINK_MODE"] == "hardlink", "no file written twice; the cache is scratch"
    assert env["SOURCE_DATE_EPOCH"] == SOURCE_DATE_EPOCH  # hash-based .pyc files
    assert env["UV_INDEX_URL"] == "https://idx/", "the user's uv settings reach uv"
    log = out.stdout.getvalue()  # type: ignore[attr-defined]
    assert "Running: uv sync --locked --no-default-groups --group dev" in log
    assert "  Installed 2 packages" in log


def test_poetry_sync_selects_groups_with_only() -> None:
    assert poetry_sync(GroupSelection()).args == ["sync", "--only", "main"]
    assert poetry_sync().args == ["sync", "--only", "main,dev,docs", "--extras", "fast"]


def test_poetry_installs_into_our_venv_with_isolated_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = Recorder()
    monkeypatch.setattr(installer_module, "run_captured", run)
    poetry_sync().install(app_dir=APP, env=USER_ENV, out=quiet_output())
    [(argv, env, _)] = run.calls
    assert argv[0] == "/layers/pycnb/poetry/bin/poetry"
    assert {"--compile", "--no-interaction"} <= set(argv)
    assert env["VIRTUAL_ENV"] == str(VENV.path)
    assert env["PATH"].split(":")[:2] == [str(VENV.path / "bin"), "/layers/pycnb/poetry/bin"]
    assert env["POETRY_VIRTUALENVS_CREATE"] == "false"
    assert env["POETRY_VIRTUALENVS_USE_POETRY_PYTHON"] == "false"
    assert env["POETRY_CONFIG_DIR"] == "/layers/pycnb/poetry/config"
    assert env["POETRY_CACHE_DIR"] == "/c"
    assert env["POETRY_KEYRING_ENABLED"] == "false"
    assert env["SOURCE_DATE_EPOCH"] == SOURCE_DATE_EPOCH


def test_the_user_may_turn_poetry_keyring_back_on(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Recorder()
    monkeypatch.setattr(installer_module, "run_captured", run)
    env = {**USER_ENV, "POETRY_KEYRING_ENABLED": "true"}
    poetry_sync().install(app_dir=APP, env=env, out=quiet_output())
    assert run.calls[0][1]["POETRY_KEYRING_ENABLED"] == "true"


def test_pyproject_install_is_non_editable_with_extras_and_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = Recorder()
    monkeypatch.setattr(installer_module, "run_streamed", run)
    pip = Pip(("/python/bin/python3", "-I", "/layers/pycnb/pip/runner.py"), "26.3")
    run_pip = pip_project_install(pip, Path("/pc"), inputs(PackageManager.PYPROJECT), VENV, "3")
    run_pip.install(app_dir=APP, env=USER_ENV, out=quiet_output())
    [(argv, env, _)] = run.calls
    assert argv[3:] == ["install", ".[fast]", "--group", "dev", "--group", "docs",
                        "--no-input", "--progress-bar", "off"]  # fmt: skip
    assert "-e" not in argv
    assert env["PIP_PYTHON"] == str(VENV.python)


# --- failures, in the pinned tools' own words ------------------------------------------------

UV_LOCK_OUTDATED = """Resolved 5 packages in 2ms
error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided. \
To update the lockfile, run `uv lock`.
"""
UV_PYTHON = """Using CPython 3.12.1 interpreter at: /layers/venv/bin/python
error: The requested interpreter resolved to Python 3.12.1, which is incompatible with the \
project's Python requirement: `>=3.13` (from `project.requires-python`)
"""
POETRY_LOCK_OUTDATED = """Installing dependencies from lock file

pyproject.toml changed significantly since poetry.lock was last generated. Run `poetry lock` \
to fix the lock file.
"""
POETRY_PYTHON = """Current Python version (3.13.0) is not allowed by the project (>=3.11,<3.13).
Poetry cannot switch to a compatible Python version because virtualenv creation is disabled.
"""


def failed(output: str, code: int = 1) -> CommandFailed:
    return CommandFailed(("tool", "sync"), code, output)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (UV_LOCK_OUTDATED, LockfileOutdated),
        (UV_PYTHON, PythonRejected),
        ("error: Failed to fetch: `http://idx/simple/x/`", InstallerFailed),
    ],
)
def test_uv_failures(output: str, expected: type[Exception]) -> None:
    error = classify_failure(
        PackageManager.UV,
        failed(output),
        uv.FAILURES,
        python_version="3.12.1",
        command="uv sync --locked",
    )
    assert type(error) is expected
    assert error.package_manager is PackageManager.UV
    assert getattr(error, "output", None) == output


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (POETRY_LOCK_OUTDATED, LockfileOutdated),
        (POETRY_PYTHON, PythonRejected),
        ("Group(s) not found: nope (via --only)", InstallerFailed),
    ],
)
def test_poetry_failures(output: str, expected: type[Exception]) -> None:
    error = classify_failure(
        PackageManager.POETRY,
        failed(output),
        poetry.FAILURES,
        python_version="3.13.0",
        command="poetry sync --only main",
    )
    assert type(error) is expected
    assert error.package_manager is PackageManager.POETRY


def test_uv_failure_reaches_the_boundary_as_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installer_module, "run_captured", Recorder(fail=failed(UV_LOCK_OUTDATED)))
    with pytest.raises(LockfileOutdated):
        uv_sync().install(app_dir=APP, env=USER_ENV, out=quiet_output())


def test_uv_and_poetry_trust_the_systems_certificates_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trust, "system_ca_bundle", lambda: "/system/ca.pem")
    run = Recorder()
    monkeypatch.setattr(installer_module, "run_captured", run)
    uv_sync().install(app_dir=APP, env=USER_ENV, out=quiet_output())
    poetry_sync().install(app_dir=APP, env=USER_ENV, out=quiet_output())
    poetry_sync().install(
        app_dir=APP, env={**USER_ENV, "REQUESTS_CA_BUNDLE": "/mine.pem"}, out=quiet_output()
    )
    [(_, uv_env, _), (_, poetry_env, _), (_, own_env, _)] = run.calls
    assert uv_env["UV_SYSTEM_CERTS"] == "1"
    assert poetry_env["REQUESTS_CA_BUNDLE"] == "/system/ca.pem"
    assert own_env["REQUESTS_CA_BUNDLE"] == "/mine.pem"


UV_ROOT_UNBUILDABLE = """Resolved 2 packages in 1ms
   Building my-app @ file:///workspace
error: Failed to build `my-app @ file:///workspace`
  cause: The build backend returned an error
"""
POETRY_ROOT_UNINSTALLABLE = """Installing the current project: my-app (0.1.0)

Error: The current project could not be installed: No file/folder found for package my-app
If you do not want to install the current project use --no-root.
"""


class FailOnce(Recorder):
    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> str:
        fail, self.fail = self.fail, None
        self.calls.append((list(argv), dict(env), cwd))
        if fail is not None:
            raise fail
        return self.output


@pytest.mark.parametrize(
    ("make", "output", "skip"),
    [
        (uv_sync, UV_ROOT_UNBUILDABLE, "--no-install-project"),
        (poetry_sync, POETRY_ROOT_UNINSTALLABLE, "--no-root"),
    ],
)
def test_a_project_that_cannot_be_installed_gets_its_dependencies_only(
    monkeypatch: pytest.MonkeyPatch, make: Callable[[], ToolRun], output: str, skip: str
) -> None:
    run = FailOnce(fail=failed(output))
    monkeypatch.setattr(installer_module, "run_captured", run)
    out = quiet_output()
    make().install(app_dir=APP, env=USER_ENV, out=out)
    [(first, _, _), (second, _, _)] = run.calls
    assert skip not in first
    assert second == [*first[: len(first) - len(make().hidden_args)], skip, *make().hidden_args]
    warning = out.stderr.getvalue()  # type: ignore[attr-defined]
    assert "The app's own package could not be installed" in warning
    assert "could not" in warning.lower()


def test_the_root_rule_needs_the_failure_to_be_the_apps_own_project(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = UV_ROOT_UNBUILDABLE.replace("file:///workspace", "file:///elsewhere")
    monkeypatch.setattr(installer_module, "run_captured", Recorder(fail=failed(elsewhere)))
    with pytest.raises(InstallerFailed):
        uv_sync().install(app_dir=APP, env=USER_ENV, out=quiet_output())
