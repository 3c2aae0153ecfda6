"""The processes the image declares (`launch.toml`): the app's Procfile, else an inferred `web`.

Inference looks at what is *installed* in the app's venv (the `*.dist-info` directories and
their console scripts), not at requirements files: a server named in requirements.txt but not
installed (a marker, a typo) must not become a command that fails at launch. It reads the app's
files as text and never imports user code at build time. When nothing fits, the image declares
no process and the log says how to add one: a REPL or a guess is not a web server.

Inferred web servers run as `sh -c "exec <server> ..."`: a buildpack process runs without a
shell (Buildpack API >= 0.9), and `$PORT` needs one. We write these commands, so POSIX sh is enough
(unlike Procfile commands, which get bash), and `exec` hands signals straight to the server.
The server listens on `0.0.0.0:${PORT:-8080}`: platforms set PORT, and 8080 is the CNB
convention when they don't.
"""

from __future__ import annotations

import configparser
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from packaging.utils import canonicalize_name

from pycnb.buildpack.launch.procfile import PROCFILE
from pycnb.buildpack.output import Output
from pycnb.buildpack.project import Pyproject
from pycnb.cnb.launch import Launch, Process
from pycnb.cnb.names import ProcessType

__all__ = [
    "DEFAULT_PORT",
    "AppFacts",
    "Framework",
    "Inferred",
    "Installed",
    "MissingServer",
    "NotInferred",
    "ScriptNotInstalled",
    "Server",
    "SeveralScripts",
    "declare_processes",
    "infer_web_process",
    "read_app_facts",
    "read_installed",
]

WEB = ProcessType("web")
DEFAULT_PORT = 8080
_PORT = f"${{PORT:-{DEFAULT_PORT}}}"


@dataclass(frozen=True)
class Installed:
    """What the venv holds: distribution names (canonical), and console scripts with the
    `module:attribute` each runs."""

    distributions: frozenset[str]
    console_scripts: Mapping[str, str]

    def has(self, distribution: str) -> bool:
        return canonicalize_name(distribution) in self.distributions


def read_installed(site_packages_dir: Path) -> Installed:
    distributions: set[str] = set()
    scripts: dict[str, str] = {}
    if site_packages_dir.is_dir():
        for dist_info in site_packages_dir.glob("*.dist-info"):
            # `<name>-<version>.dist-info`, the name escaped with `_` (PEP 427/491).
            distributions.add(canonicalize_name(dist_info.name.split("-", 1)[0]))
            scripts.update(_console_scripts(dist_info / "entry_points.txt"))
    return Installed(frozenset(distributions), scripts)


def _console_scripts(entry_points: Path) -> dict[str, str]:
    if not entry_points.is_file():
        return {}
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    try:
        parser.read_string(entry_points.read_text(encoding="utf-8", errors="replace"))
    except configparser.Error:
        return {}  # a broken file in some dependency says nothing about the app's server
    if not parser.has_section("console_scripts"):
        return {}
    return dict(parser.items("console_scripts"))


@dataclass(frozen=True)
class AppFacts:
    """What the app's files declare, read as text. Targets are `module:attribute`."""

    django_wsgi: str | None = None
    django_asgi: str | None = None
    flask_app: str | None = None
    asgi_app: str | None = None
    project_scripts: tuple[str, ...] = ()


# `app = Flask(__name__)`, also `app: Flask = flask.Flask(...)`. Only at the start of a line: a
# module-level assignment, the one gunicorn/uvicorn can import as `module:app`.
_FLASK_APP = re.compile(r"^app\s*(?::[^=\n]+)?=\s*(?:flask\.)?Flask\s*\(", re.MULTILINE)
_ASGI_APP = re.compile(
    r"^app\s*(?::[^=\n]+)?=\s*(?:fastapi\.|starlette\.applications\.)?(?:FastAPI|Starlette)\s*\(",
    re.MULTILINE,
)
# The files a Flask or ASGI app conventionally lives in, in the order they are preferred.
_FLASK_FILES = ("app.py", "wsgi.py", "main.py")
_ASGI_FILES = ("main.py", "app.py", "asgi.py", "app/main.py")

_SETTINGS_MODULE = re.compile(r"""["']DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")
_DOTTED = r"""\s*=\s*["']([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)["']"""
_WSGI_SETTING = re.compile(r"^WSGI_APPLICATION" + _DOTTED, re.MULTILINE)
_ASGI_SETTING = re.compile(r"^ASGI_APPLICATION" + _DOTTED, re.MULTILINE)


def read_app_facts(app_dir: Path, pyproject: Pyproject | None) -> AppFacts:
    return AppFacts(
        django_wsgi=_django_application(app_dir, "wsgi"),
        django_asgi=_django_application(app_dir, "asgi"),
        flask_app=_find_app(app_dir, _FLASK_FILES, _FLASK_APP),
        asgi_app=_find_app(app_dir, _ASGI_FILES, _ASGI_APP),
        project_scripts=pyproject.project_scripts() if pyproject is not None else (),
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # missing, a directory, unreadable: it declares nothing we can use
        return ""


def _find_app(app_dir: Path, candidates: Iterable[str], pattern: re.Pattern[str]) -> str | None:
    for name in candidates:
        if pattern.search(_read_text(app_dir / name)):
            return f"{name.removesuffix('.py').replace('/', '.')}:app"
    return None


def _django_application(app_dir: Path, kind: str) -> str | None:
    """`mysite.wsgi:application` from the settings that manage.py names, else from the
    `<package>/{kind}.py` beside those settings, else from the only such file in the app."""
    setting = _WSGI_SETTING if kind == "wsgi" else _ASGI_SETTING
    factory = f"get_{kind}_application"
    settings_module = _SETTINGS_MODULE.search(_read_text(app_dir / "manage.py"))
    if settings_module:
        dotted = settings_module[1]
        for path in _module_files(app_dir, dotted):
            if found := setting.search(_read_text(path)):
                module, _, attribute = found[1].rpartition(".")
                return f"{module}:{attribute}"
        # `config.settings.production` -> `config/settings/wsgi.py`, then `config/wsgi.py`.
        parts = dotted.split(".")[:-1]
        while parts:
            if factory in _read_text(app_dir.joinpath(*parts, f"{kind}.py")):
                return f"{'.'.join(parts)}.{kind}:application"
            parts.pop()
    found_files = sorted(
        path
        for path in app_dir.glob(f"*/{kind}.py")
        if path.parent.name.isidentifier() and factory in _read_text(path)
    )
    if len(found_files) == 1:
        return f"{found_files[0].parent.name}.{kind}:application"
    return None


def _module_files(app_dir: Path, dotted: str) -> list[Path]:
    """Where a settings module's values may be: its file (`a/b.py`) or package (`a/b/*.py`),
    then its siblings (`config/settings/production.py` imports `config/settings/base.py`)."""
    path = app_dir.joinpath(*dotted.split("."))
    if path.is_dir():
        return sorted(path.glob("*.py"))
    module = path.with_name(path.name + ".py")
    siblings = sorted(p for p in path.parent.glob("*.py") if p != module)
    return [module, *siblings] if path.parent != app_dir else [module]


class Server(Enum):
    GUNICORN = "gunicorn"
    UVICORN = "uvicorn"


class Framework(Enum):
    DJANGO = "Django project"
    FLASK = "Flask app"
    ASGI = "ASGI app"
    SCRIPT = "[project.scripts] entry"


@dataclass(frozen=True)
class Inferred:
    framework: Framework
    target: str  # `module:attribute`, or the script's name
    server: Server | None  # None for a script, which is its own server

    @property
    def process(self) -> Process:
        match self.server:
            case Server.GUNICORN:
                script = f"exec gunicorn {shlex.quote(self.target)} --bind 0.0.0.0:{_PORT}"
            case Server.UVICORN:
                script = f"exec uvicorn {shlex.quote(self.target)} --host 0.0.0.0 --port {_PORT}"
            case None:
                # On PATH from the venv's bin/; it reads PORT itself (PORT defaults to 8080).
                return Process(WEB, (self.target,), default=True)
        return Process(WEB, ("sh", "-c", script), default=True)


@dataclass(frozen=True)
class MissingServer:
    """The app has a web app, but the server that would run it is not installed."""

    framework: Framework
    target: str
    servers: tuple[Server, ...]  # any one of them would do


@dataclass(frozen=True)
class ScriptNotInstalled:
    name: str


@dataclass(frozen=True)
class SeveralScripts:
    names: tuple[str, ...]


Hint = MissingServer | ScriptNotInstalled | SeveralScripts


@dataclass(frozen=True)
class NotInferred:
    hints: tuple[Hint, ...]  # what came close, so the log can say what to add


def infer_web_process(installed: Installed, facts: AppFacts) -> Inferred | NotInferred:
    """The first rule that fits: Django, Flask, an ASGI app, then a lone project script."""
    hints: list[Hint] = []
    for rule in (_django_rule, _flask_rule, _asgi_rule, _script_rule):
        match rule(installed, facts):
            case Inferred() as inferred:
                return inferred
            case None:
                pass
            case hint:
                hints.append(hint)
    return NotInferred(tuple(hints))


def _django_rule(installed: Installed, facts: AppFacts) -> Inferred | Hint | None:
    if not installed.has("django"):
        return None
    if facts.django_wsgi and installed.has("gunicorn"):
        return Inferred(Framework.DJANGO, facts.django_wsgi, Server.GUNICORN)
    if facts.django_asgi and installed.has("uvicorn"):
        return Inferred(Framework.DJANGO, facts.django_asgi, Server.UVICORN)
    if facts.django_wsgi:
        return MissingServer(Framework.DJANGO, facts.django_wsgi, (Server.GUNICORN,))
    if facts.django_asgi:
        return MissingServer(Framework.DJANGO, facts.django_asgi, (Server.UVICORN,))
    return None


def _flask_rule(installed: Installed, facts: AppFacts) -> Inferred | Hint | None:
    if not (installed.has("flask") and facts.flask_app):
        return None
    if installed.has("gunicorn"):
        return Inferred(Framework.FLASK, facts.flask_app, Server.GUNICORN)
    return MissingServer(Framework.FLASK, facts.flask_app, (Server.GUNICORN,))


def _asgi_rule(installed: Installed, facts: AppFacts) -> Inferred | Hint | None:
    # `fastapi[standard]` installs uvicorn, so it is covered by looking at what is installed.
    if not ((installed.has("fastapi") or installed.has("starlette")) and facts.asgi_app):
        return None
    if installed.has("uvicorn"):
        return Inferred(Framework.ASGI, facts.asgi_app, Server.UVICORN)
    return MissingServer(Framework.ASGI, facts.asgi_app, (Server.UVICORN,))


def _script_rule(installed: Installed, facts: AppFacts) -> Inferred | Hint | None:
    match facts.project_scripts:
        case ():
            return None
        case (name,) if name in installed.console_scripts:
            return Inferred(Framework.SCRIPT, name, None)
        case (name,):
            return ScriptNotInstalled(name)
        case names:
            return SeveralScripts(names)


def declare_processes(
    procfile: list[Process] | None,
    app_dir: Path,
    *,
    pyproject: Pyproject | None,
    launch_toml: Path,
    out: Output,
    installed: Installed,
) -> Launch:
    """Write `launch.toml` from the Procfile's processes (read with `read_procfile` before the
    build starts, so a typo fails fast), else from inference, and say what was decided."""
    processes = procfile
    if processes is not None:
        if processes:
            listing = ", ".join(
                f"{p.type} (default)" if p.default else str(p.type) for p in processes
            )
            out.info(f"Using the processes in {PROCFILE}: {listing}")
        else:
            out.info(f"The {PROCFILE} declares no processes: the image has none")
        launch = Launch(tuple(processes))
    else:
        launch = _inferred_launch(
            out, infer_web_process(installed, read_app_facts(app_dir, pyproject))
        )
    if launch.processes:
        launch.write(launch_toml)
    return launch


def _inferred_launch(out: Output, inference: Inferred | NotInferred) -> Launch:
    match inference:
        case Inferred(framework=framework, target=target, server=server):
            runner = f" with {server.value}" if server else ""
            out.info(f"No {PROCFILE}: running the {framework.value} {target}{runner} as `web`")
            out.detail(f"web: {shlex.join(inference.process.command)}")
            out.detail(f"Add a {PROCFILE} to choose another command.")
            return Launch((inference.process,))
        case NotInferred(hints=hints):
            out.info(f"No {PROCFILE}, and no web server to infer: the image declares no process")
            for hint in hints:
                out.detail(_describe(hint))
            out.detail(
                f"To declare one, add a {PROCFILE} with a line such as "
                f"`web: gunicorn myproject.wsgi --bind 0.0.0.0:$PORT`."
            )
            return Launch()


def _describe(hint: Hint) -> str:
    match hint:
        case MissingServer(framework=framework, target=target, servers=servers):
            names = " or ".join(server.value for server in servers)
            return (
                f"Found the {framework.value} {target}, but {names} is not installed: "
                f"add {names} to the app's dependencies to serve it."
            )
        case ScriptNotInstalled(name=name):
            return (
                f"pyproject.toml declares the script {name}, but it is not installed: install "
                "the app itself too (for example `.` in requirements.txt)."
            )
        case SeveralScripts(names=names):
            return f"pyproject.toml declares several scripts ({', '.join(names)}): pick one."
