"""Process inference: what is installed in the venv plus what the app's files declare."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.venv import Venv
from pycnb.buildpack.launch.processes import (
    AppFacts,
    Framework,
    Inferred,
    Installed,
    MissingServer,
    NotInferred,
    ScriptNotInstalled,
    Server,
    SeveralScripts,
    declare_processes,
    infer_web_process,
    read_app_facts,
    read_installed,
)
from pycnb.buildpack.launch.procfile import InvalidProcfile, read_procfile
from pycnb.buildpack.output import Output
from pycnb.buildpack.project import InvalidPyproject, Pyproject, read_pyproject

DJANGO_MANAGE = """#!/usr/bin/env python
import os, sys
def main():
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', '{settings}')
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""
DJANGO_WSGI = (
    "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n"
)
DJANGO_ASGI = (
    "from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n"
)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def installed(*names: str, scripts: tuple[str, ...] = ()) -> Installed:
    return Installed(frozenset(names), {script: f"{script}:main" for script in scripts})


def test_read_installed(tmp_path: Path) -> None:
    packages = tmp_path / "venv" / "lib" / "python3.12" / "site-packages"
    write(
        packages,
        {
            "gunicorn-23.0.0.dist-info/METADATA": "Name: gunicorn\n",
            "gunicorn-23.0.0.dist-info/entry_points.txt": (
                "[console_scripts]\ngunicorn = gunicorn.app.wsgiapp:run\n"
            ),
            "Flask-3.1.0.dist-info/entry_points.txt": "[console_scripts]\nflask=flask.cli:main\n",
            "zope.interface-7.0.dist-info/METADATA": "",
            "my_app-1.0.dist-info/entry_points.txt": (
                "[console_scripts]\nMyApp = my_app:main\n[gui_scripts]\ngui = my_app:gui\n"
            ),
            "broken-1.0.dist-info/entry_points.txt": "not an ini file",
            "flask/__init__.py": "",
        },
    )
    assert Venv(tmp_path / "venv").site_packages == packages
    found = read_installed(packages)
    assert found.distributions == {"gunicorn", "flask", "zope-interface", "my-app", "broken"}
    assert found.console_scripts == {
        "gunicorn": "gunicorn.app.wsgiapp:run",
        "flask": "flask.cli:main",
        "MyApp": "my_app:main",
    }
    assert found.has("Zope.Interface")
    assert read_installed(tmp_path / "missing") == installed()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, AppFacts()),
        (
            {
                "manage.py": DJANGO_MANAGE.format(settings="mysite.settings"),
                "mysite/settings.py": "WSGI_APPLICATION = 'mysite.wsgi.application'\n",
                "mysite/wsgi.py": DJANGO_WSGI,
                "mysite/asgi.py": DJANGO_ASGI,
            },
            AppFacts(django_wsgi="mysite.wsgi:application", django_asgi="mysite.asgi:application"),
        ),
        (
            {
                "manage.py": DJANGO_MANAGE.format(settings="config.settings.production"),
                "config/settings/__init__.py": "",
                "config/settings/base.py": 'WSGI_APPLICATION = "config.wsgi.app"\n',
                "config/settings/production.py": "from .base import *\n",
            },
            AppFacts(django_wsgi="config.wsgi:app"),
        ),
        (
            {
                "manage.py": DJANGO_MANAGE.format(settings="config.settings.production"),
                "config/settings/production.py": "",
                "config/wsgi.py": DJANGO_WSGI,
            },
            AppFacts(django_wsgi="config.wsgi:application"),
        ),
        ({"proj/wsgi.py": DJANGO_WSGI}, AppFacts(django_wsgi="proj.wsgi:application")),
        ({"a/wsgi.py": DJANGO_WSGI, "b/wsgi.py": DJANGO_WSGI}, AppFacts()),
        ({"my-site/wsgi.py": DJANGO_WSGI}, AppFacts()),
        ({"app.py/README": "app = Flask(__name__)\n"}, AppFacts()),
        (
            {"app.py": "from flask import Flask\n\napp = Flask(__name__)\n"},
            AppFacts(flask_app="app:app"),
        ),
        (
            {"main.py": "import flask\napp: flask.Flask = flask.Flask(__name__)\n"},
            AppFacts(flask_app="main:app"),
        ),
        ({"app.py": "def create():\n    app = Flask(__name__)\n"}, AppFacts()),
        ({"app.py": "# app = Flask(__name__)\n"}, AppFacts()),
        (
            {"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"},
            AppFacts(asgi_app="main:app"),
        ),
        (
            {"app/main.py": "import fastapi\napp = fastapi.FastAPI(title='x')\n"},
            AppFacts(asgi_app="app.main:app"),
        ),
        (
            {"asgi.py": "from starlette.applications import Starlette\napp = Starlette()\n"},
            AppFacts(asgi_app="asgi:app"),
        ),
        (
            {"pyproject.toml": '[project]\nname = "x"\n[project.scripts]\nserve = "x:main"\n'},
            AppFacts(project_scripts=("serve",)),
        ),
        ({"pyproject.toml": "[project\n"}, AppFacts()),
        ({"pyproject.toml": "[project]\nscripts = 3\n"}, AppFacts()),
    ],
    ids=[
        "nothing",
        "django-startproject",
        "django-settings-package",
        "django-wsgi-beside-settings",
        "django-lone-wsgi",
        "django-two-wsgi",
        "django-dir-not-a-module",
        "app-py-is-a-directory",
        "flask-app-py",
        "flask-annotated-main",
        "flask-inside-function",
        "flask-commented-out",
        "fastapi-main",
        "fastapi-package",
        "starlette-asgi",
        "project-scripts",
        "broken-pyproject",
        "odd-pyproject",
    ],
)
def test_read_app_facts(tmp_path: Path, files: dict[str, str], expected: AppFacts) -> None:
    assert read_app_facts(*app_and_pyproject(write(tmp_path, files))) == expected


def test_symlinked_manage_py_counts(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "src/manage.py": DJANGO_MANAGE.format(settings="mysite.settings"),
            "mysite/settings.py": "WSGI_APPLICATION = 'mysite.wsgi.application'\n",
        },
    )
    (tmp_path / "manage.py").symlink_to("src/manage.py")
    assert read_app_facts(*app_and_pyproject(tmp_path)).django_wsgi == "mysite.wsgi:application"


DJANGO = AppFacts(django_wsgi="mysite.wsgi:application", django_asgi="mysite.asgi:application")
FLASK = AppFacts(flask_app="app:app")
FASTAPI = AppFacts(asgi_app="main:app")


@pytest.mark.parametrize(
    ("packages", "facts", "expected"),
    [
        (
            installed("django", "gunicorn"),
            DJANGO,
            Inferred(Framework.DJANGO, "mysite.wsgi:application", Server.GUNICORN),
        ),
        (
            installed("django", "uvicorn"),
            DJANGO,
            Inferred(Framework.DJANGO, "mysite.asgi:application", Server.UVICORN),
        ),
        (
            installed("django"),
            DJANGO,
            NotInferred(
                (MissingServer(Framework.DJANGO, "mysite.wsgi:application", (Server.GUNICORN,)),)
            ),
        ),
        (
            installed("django", "gunicorn"),
            AppFacts(django_asgi="mysite.asgi:application"),
            NotInferred(
                (MissingServer(Framework.DJANGO, "mysite.asgi:application", (Server.UVICORN,)),)
            ),
        ),
        (installed("gunicorn"), DJANGO, NotInferred(())),
        (
            installed("flask", "gunicorn"),
            FLASK,
            Inferred(Framework.FLASK, "app:app", Server.GUNICORN),
        ),
        (
            installed("flask"),
            FLASK,
            NotInferred((MissingServer(Framework.FLASK, "app:app", (Server.GUNICORN,)),)),
        ),
        (installed("gunicorn"), FLASK, NotInferred(())),
        (
            installed("fastapi", "uvicorn"),
            FASTAPI,
            Inferred(Framework.ASGI, "main:app", Server.UVICORN),
        ),
        (
            installed("starlette", "uvicorn", "gunicorn"),
            FASTAPI,
            Inferred(Framework.ASGI, "main:app", Server.UVICORN),
        ),
        (
            installed("fastapi"),
            FASTAPI,
            NotInferred((MissingServer(Framework.ASGI, "main:app", (Server.UVICORN,)),)),
        ),
        (
            installed("django", "flask", "gunicorn"),
            AppFacts(django_wsgi="mysite.wsgi:application", flask_app="app:app"),
            Inferred(Framework.DJANGO, "mysite.wsgi:application", Server.GUNICORN),
        ),
        (
            installed("flask", "fastapi", "uvicorn"),
            AppFacts(flask_app="app:app", asgi_app="main:app"),
            Inferred(Framework.ASGI, "main:app", Server.UVICORN),
        ),
        (
            installed("my-app", scripts=("serve",)),
            AppFacts(project_scripts=("serve",)),
            Inferred(Framework.SCRIPT, "serve", None),
        ),
        (
            installed(),
            AppFacts(project_scripts=("serve",)),
            NotInferred((ScriptNotInstalled("serve"),)),
        ),
        (
            installed(scripts=("a", "b")),
            AppFacts(project_scripts=("a", "b")),
            NotInferred((SeveralScripts(("a", "b")),)),
        ),
        (
            installed("flask", "my-app", scripts=("serve",)),
            AppFacts(flask_app="app:app", project_scripts=("serve",)),
            Inferred(Framework.SCRIPT, "serve", None),
        ),
        (installed("ipython", "django"), AppFacts(), NotInferred(())),
    ],
    ids=[
        "django-gunicorn",
        "django-uvicorn",
        "django-no-server",
        "django-asgi-only-gunicorn",
        "django-not-installed",
        "flask-gunicorn",
        "flask-no-server",
        "flask-not-installed",
        "fastapi-uvicorn",
        "starlette-prefers-uvicorn",
        "fastapi-no-server",
        "django-before-flask",
        "asgi-when-flask-has-no-server",
        "single-script",
        "script-not-installed",
        "several-scripts",
        "script-when-flask-has-no-server",
        "nothing-never-a-repl",
    ],
)
def test_infer(packages: Installed, facts: AppFacts, expected: Inferred | NotInferred) -> None:
    assert infer_web_process(packages, facts) == expected


@pytest.mark.parametrize(
    ("inferred", "command"),
    [
        (
            Inferred(Framework.DJANGO, "mysite.wsgi:application", Server.GUNICORN),
            (
                "sh",
                "-c",
                "exec gunicorn mysite.wsgi:application --bind 0.0.0.0:${PORT:-8080}",
            ),
        ),
        (
            Inferred(Framework.ASGI, "app.main:app", Server.UVICORN),
            ("sh", "-c", "exec uvicorn app.main:app --host 0.0.0.0 --port ${PORT:-8080}"),
        ),
        (Inferred(Framework.SCRIPT, "serve", None), ("serve",)),
    ],
    ids=["gunicorn", "uvicorn", "script"],
)
def test_inferred_process(inferred: Inferred, command: tuple[str, ...]) -> None:
    process = inferred.process
    assert str(process.type) == "web"
    assert process.default
    assert process.command == command
    assert process.args == ()


def app_and_pyproject(app: Path) -> tuple[Path, Pyproject | None]:
    # The build reads pyproject.toml once, before this step, and stops at a broken one; this
    # step then sees none.
    try:
        return app, read_pyproject(app)
    except InvalidPyproject:
        return app, None


def run_declare(app: Path, packages: Installed) -> tuple[str, dict[str, object] | None]:
    stdout = io.StringIO()
    launch_toml = app / "launch.toml"
    procfile = read_procfile(app)
    _, pyproject = app_and_pyproject(app)
    declare_processes(
        procfile,
        app,
        pyproject=pyproject,
        launch_toml=launch_toml,
        out=Output(stdout, io.StringIO()),
        installed=packages,
    )
    written = tomllib.loads(launch_toml.read_text()) if launch_toml.exists() else None
    return stdout.getvalue(), written


def test_declare_from_procfile(tmp_path: Path) -> None:
    write(tmp_path, {"Procfile": "web: gunicorn x\nworker: celery\n", "app.py": "app = Flask()"})
    output, written = run_declare(tmp_path, installed("flask", "gunicorn"))
    assert output == "- Using the processes in Procfile: web (default), worker\n"
    assert written == {
        "processes": [
            {"type": "web", "command": ["bash", "-c", "gunicorn x"], "default": True},
            {"type": "worker", "command": ["bash", "-c", "celery"]},
        ]
    }


def test_declare_from_empty_procfile(tmp_path: Path) -> None:
    write(tmp_path, {"Procfile": "# nothing yet\n", "app.py": "app = Flask()"})
    output, written = run_declare(tmp_path, installed("flask", "gunicorn"))
    assert output == "- The Procfile declares no processes: the image has none\n"
    assert written is None


def test_declare_rejects_a_bad_procfile(tmp_path: Path) -> None:
    write(tmp_path, {"Procfile": "web gunicorn\n"})
    with pytest.raises(InvalidProcfile):
        run_declare(tmp_path, installed())
    assert not (tmp_path / "launch.toml").exists()


def test_declare_inferred(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "from flask import Flask\napp = Flask(__name__)\n"})
    output, written = run_declare(tmp_path, installed("flask", "gunicorn"))
    assert output == (
        "- No Procfile: running the Flask app app:app with gunicorn as `web`\n"
        "  web: sh -c 'exec gunicorn app:app --bind 0.0.0.0:${PORT:-8080}'\n"
        "  Add a Procfile to choose another command.\n"
    )
    assert written == {
        "processes": [
            {
                "type": "web",
                "command": ["sh", "-c", "exec gunicorn app:app --bind 0.0.0.0:${PORT:-8080}"],
                "default": True,
            }
        ]
    }


def test_declare_nothing_says_how_to_add_one(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"})
    output, written = run_declare(tmp_path, installed("fastapi"))
    assert written is None
    assert output.splitlines() == [
        "- No Procfile, and no web server to infer: the image declares no process",
        (
            "  Found the ASGI app main:app, but uvicorn is not installed: add uvicorn to the "
            "app's dependencies to serve it."
        ),
        (
            "  To declare one, add a Procfile with a line such as "
            "`web: gunicorn myproject.wsgi --bind 0.0.0.0:$PORT`."
        ),
    ]


@pytest.mark.parametrize(
    ("facts", "packages", "hint"),
    [
        (
            {"pyproject.toml": '[project.scripts]\nserve = "x:main"\n'},
            installed(),
            "pyproject.toml declares the script serve, but it is not installed",
        ),
        (
            {"pyproject.toml": '[project.scripts]\na = "x:a"\nb = "x:b"\n'},
            installed(),
            "pyproject.toml declares several scripts (a, b): pick one.",
        ),
    ],
)
def test_declare_hints(
    tmp_path: Path, facts: dict[str, str], packages: Installed, hint: str
) -> None:
    output, _ = run_declare(write(tmp_path, facts), packages)
    assert hint in output
