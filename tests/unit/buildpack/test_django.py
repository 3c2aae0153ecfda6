"""collectstatic: when it runs, the probe, the env it gets, and failures with their likely cause."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pycnb.buildpack.commands import CommandFailed
from pycnb.buildpack.launch import django
from pycnb.buildpack.launch.django import (
    CollectstaticCause,
    CollectstaticFailed,
    InvalidBooleanSetting,
    collect_static_files,
    diagnose,
)
from pycnb.buildpack.launch.processes import Installed
from pycnb.buildpack.output import Output
from pycnb.buildpack.settings import Settings
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope

DJANGO = Installed(frozenset({"django", "gunicorn"}), {})
UNKNOWN_COMMAND = "Unknown command: 'collectstatic'\nType 'manage.py help' for usage.\n"
MISSING_STATIC_ROOT = (
    "Traceback (most recent call last):\n  ...\ndjango.core.exceptions.ImproperlyConfigured: "
    "You're using the staticfiles app without having set the required STATIC_ROOT setting to a "
    "filesystem path.\n"
)


@dataclass
class FakeRun:
    """Stands in for `process.run_captured`: records calls, answers from a script."""

    results: dict[str, str | CommandFailed] = field(default_factory=dict)
    calls: list[tuple[list[str], dict[str, str], Path]] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> str:
        self.calls.append((list(argv), dict(env), cwd))
        result = self.results.get(argv[2], "")  # keyed by the manage.py command
        if isinstance(result, CommandFailed):
            raise CommandFailed(tuple(argv), result.returncode, result.output)
        return result


@dataclass
class Scenario:
    app: Path
    venv: Path
    run: FakeRun
    stdout: io.StringIO = field(default_factory=io.StringIO)
    stderr: io.StringIO = field(default_factory=io.StringIO)

    def collect(
        self, *, installed: Installed = DJANGO, platform_env: Mapping[str, str] | None = None
    ) -> None:
        collect_static_files(
            self.app,
            Output(self.stdout, self.stderr),
            Settings(platform_env or {}, {}),
            installed=installed,
            venv_dir=self.venv,
            env={"PATH": "/python/bin:/usr/bin", "DJANGO_SETTING": "from-user"},
        )

    @property
    def commands(self) -> list[list[str]]:
        return [argv[1:] for argv, _, _ in self.run.calls]


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    app, venv = tmp_path / "app", tmp_path / "layers" / "venv"
    app.mkdir()
    (app / "manage.py").write_text("# django\n")
    (venv / "bin").mkdir(parents=True)
    LayerEnv().add(Scope.ALL, Behavior.OVERRIDE, "VIRTUAL_ENV", str(venv)).write_to(venv)
    run = FakeRun()
    monkeypatch.setattr(django, "run_captured", run)
    return Scenario(app, venv, run)


def test_runs_probe_then_collectstatic_with_the_venv(scenario: Scenario) -> None:
    scenario.run.results["collectstatic"] = (
        "\n12 static files copied to '" + str(scenario.app / "staticfiles") + "'.\n"
    )
    scenario.collect()
    python = str(scenario.venv / "bin" / "python")
    assert [argv for argv, _, _ in scenario.run.calls] == [
        [python, "manage.py", "help", "collectstatic"],
        [python, "manage.py", "collectstatic", "--noinput"],
    ]
    _, env, cwd = scenario.run.calls[1]
    assert cwd == scenario.app
    assert env["VIRTUAL_ENV"] == str(scenario.venv)
    assert env["PATH"] == f"{scenario.venv}/bin:/python/bin:/usr/bin"
    assert env["DJANGO_SETTING"] == "from-user", "settings may read the user's env"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    lines = scenario.stdout.getvalue().splitlines()
    assert lines[:4] == [
        "",
        "## Django",
        "- Running manage.py collectstatic --noinput...",
        f"  12 static files copied to '{scenario.app}/staticfiles'.",
    ]
    assert lines[4].startswith("  Done (")
    assert scenario.stderr.getvalue() == ""


def test_symlinked_manage_py_counts(scenario: Scenario) -> None:
    (scenario.app / "manage.py").unlink()
    (scenario.app / "src").mkdir()
    (scenario.app / "src" / "manage.py").write_text("")
    (scenario.app / "manage.py").symlink_to("src/manage.py")
    scenario.collect()
    assert len(scenario.run.calls) == 2


def test_no_manage_py_no_output(scenario: Scenario) -> None:
    (scenario.app / "manage.py").unlink()
    scenario.collect()
    assert scenario.run.calls == []
    assert scenario.stdout.getvalue() == ""


def test_django_not_installed(scenario: Scenario) -> None:
    scenario.collect(installed=Installed(frozenset({"flask"}), {}))
    assert scenario.run.calls == []
    assert "Skipping collectstatic: the app has a manage.py, but Django is not installed" in (
        scenario.stdout.getvalue()
    )


@pytest.mark.parametrize("value", ["1", "true", "YES", " on\n"])
def test_opt_out(scenario: Scenario, value: str) -> None:
    scenario.collect(platform_env={"BP_DISABLE_COLLECTSTATIC": value})
    assert scenario.run.calls == []
    assert "- Skipping collectstatic: BP_DISABLE_COLLECTSTATIC is set" in scenario.stdout.getvalue()


@pytest.mark.parametrize("value", ["0", "false", "No", ""])
def test_opt_out_off(scenario: Scenario, value: str) -> None:
    scenario.collect(platform_env={"BP_DISABLE_COLLECTSTATIC": value})
    assert len(scenario.run.calls) == 2


def test_opt_out_invalid(scenario: Scenario) -> None:
    with pytest.raises(InvalidBooleanSetting) as caught:
        scenario.collect(platform_env={"BP_DISABLE_COLLECTSTATIC": "maybe"})
    assert (caught.value.name, caught.value.value) == ("BP_DISABLE_COLLECTSTATIC", "maybe")


def test_without_staticfiles_app_skips_with_reason(scenario: Scenario) -> None:
    scenario.run.results["help"] = CommandFailed((), 1, UNKNOWN_COMMAND)
    scenario.collect()
    assert scenario.commands == [["manage.py", "help", "collectstatic"]]
    assert (
        "- Skipping collectstatic: django.contrib.staticfiles is not in INSTALLED_APPS, so the "
        "app has no static files to collect"
    ) in scenario.stdout.getvalue()


def test_probe_failure_is_an_error(scenario: Scenario) -> None:
    scenario.run.results["help"] = CommandFailed((), 1, "Traceback ...\nKeyError: 'SECRET_KEY'\n")
    with pytest.raises(CollectstaticFailed) as caught:
        scenario.collect()
    error = caught.value
    assert error.argv == ("python", "manage.py", "help", "collectstatic")
    assert (error.cause, error.name) == (CollectstaticCause.MISSING_ENV_VAR, "SECRET_KEY")
    assert "KeyError: 'SECRET_KEY'" in error.output


def test_collectstatic_failure_is_an_error(scenario: Scenario) -> None:
    scenario.run.results["collectstatic"] = CommandFailed((), 1, MISSING_STATIC_ROOT)
    with pytest.raises(CollectstaticFailed) as caught:
        scenario.collect()
    error = caught.value
    assert error.argv == ("python", "manage.py", "collectstatic", "--noinput")
    assert error.returncode == 1
    assert error.cause is CollectstaticCause.MISSING_STATIC_ROOT
    assert error.output == MISSING_STATIC_ROOT


def test_static_root_outside_the_app_warns(scenario: Scenario, tmp_path: Path) -> None:
    scenario.run.results["collectstatic"] = f"3 static files copied to '{tmp_path}/www'.\n"
    scenario.collect()
    assert "STATIC_ROOT is outside the app directory" in scenario.stderr.getvalue()
    assert f"{tmp_path}/www" in scenario.stderr.getvalue()


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (MISSING_STATIC_ROOT, (CollectstaticCause.MISSING_STATIC_ROOT, None)),
        (
            "Traceback\nKeyError: 'DATABASE_URL'\n",
            (CollectstaticCause.MISSING_ENV_VAR, "DATABASE_URL"),
        ),
        (
            "django.core.exceptions.ImproperlyConfigured: Set the SECRET_KEY environment variable",
            (CollectstaticCause.MISSING_ENV_VAR, "SECRET_KEY"),
        ),
        (
            "decouple.UndefinedValueError: API_TOKEN not found. Declare it as envvar or define",
            (CollectstaticCause.MISSING_ENV_VAR, "API_TOKEN"),
        ),
        (
            "Traceback\nModuleNotFoundError: No module named 'whitenoise'\n",
            (CollectstaticCause.MISSING_MODULE, "whitenoise"),
        ),
        (
            "Traceback (most recent call last):\nSyntaxError: invalid syntax\n",
            (CollectstaticCause.SETTINGS_ERROR, None),
        ),
        ("CommandError: something\n", (CollectstaticCause.UNKNOWN, None)),
        ("", (CollectstaticCause.UNKNOWN, None)),
    ],
    ids=[
        "static-root",
        "keyerror",
        "django-environ",
        "decouple",
        "module",
        "traceback",
        "other",
        "empty",
    ],
)
def test_diagnose(output: str, expected: tuple[CollectstaticCause, str | None]) -> None:
    assert diagnose(output) == expected


@pytest.mark.parametrize("django_app", [False, True], ids=["no-manage-py", "django-missing"])
def test_opt_out_invalid_on_any_app(scenario: Scenario, django_app: bool) -> None:
    # The README promises an error for a bad value, whether or not the app is a Django app.
    if not django_app:
        (scenario.app / "manage.py").unlink()
    with pytest.raises(InvalidBooleanSetting):
        scenario.collect(
            installed=Installed(frozenset({"flask"}), {}),
            platform_env={"BP_DISABLE_COLLECTSTATIC": "maybe"},
        )
    assert scenario.run.calls == []
