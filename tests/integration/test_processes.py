"""Run what was built: real Flask and Django apps served by gunicorn, fetched over HTTP.

Each server runs as `pycnb run --process web` with PORT set to a free loopback port, in its own
process group so that it and its workers are always stopped, within bounded waits.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.integration.conftest import Pycnb

_STARTUP_TIMEOUT = 30.0  # seconds for the server to answer its first request
_STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a loopback URL
        status: int = response.status
        return status, response.read().decode()


@contextmanager
def serving(pycnb: Pycnb, app: Path, log: Path, *env: str) -> Iterator[str]:
    """Start the app's `web` process and yield its base URL once it answers."""
    port = free_port()
    argv = [sys.executable, "-m", "pycnb", "run", str(app), "--root", str(pycnb.root)]
    argv += [f"--env=PORT={port}", *(f"--env={pair}" for pair in env), "--process", "web"]
    with log.open("wb") as sink:
        server = subprocess.Popen(
            argv,
            env=pycnb.caller_env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: gunicorn's workers included
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_serving(base, server, log)
        yield base
    finally:
        _stop(server)


def _wait_until_serving(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            fetch(f"{base}/")
        except urllib.error.HTTPError:
            return  # it answers, even if with an error: the test looks at the answer
        except OSError:
            time.sleep(0.2)
        else:
            return
    pytest.fail(f"no answer from {base} within {_STARTUP_TIMEOUT} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(_STOP_TIMEOUT)
    # Workers left behind by a crashed master would still be in the group.
    with suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)


@pytest.mark.app("web_flask")
def test_flask_app_is_served_by_the_inferred_web_process(
    pycnb: Pycnb, app: Path, web_wheelhouse: Path, tmp_path: Path
) -> None:
    del web_wheelhouse  # only needed to be there
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "## Django" not in result.output
    for line in [
        "- No Procfile: running the Flask app app:app with gunicorn as `web`",
        "  web: sh -c 'exec gunicorn app:app --bind 0.0.0.0:${PORT:-8080}'",
        (
            "- At launch, PORT defaults to 8080 and WEB_CONCURRENCY to min(2 * CPUs + 1, memory / "
            "256 MiB) from the container's limits, unless they are set"
        ),
    ]:
        assert line in result.output, result

    with serving(pycnb, app, tmp_path / "server.log") as base:
        status, page = fetch(f"{base}/")
        assert status == 200
        assert re.fullmatch(r"Hello from Flask, WEB_CONCURRENCY=\d+\n", page), page
        assert fetch(f"{base}/static/style.css") == (200, "body { color: teal; }\n")

    with serving(pycnb, app, tmp_path / "server2.log", "WEB_CONCURRENCY=1") as base:
        assert fetch(f"{base}/")[1] == "Hello from Flask, WEB_CONCURRENCY=1\n"


@pytest.mark.app("web_django")
def test_django_static_files_are_collected_and_served(
    pycnb: Pycnb, app: Path, web_wheelhouse: Path, tmp_path: Path
) -> None:
    del web_wheelhouse
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "\n## Django\n- Running manage.py collectstatic --noinput...\n" in result.output, result
    assert re.search(r"  1 static file copied to '[^']+/staticfiles'\.\n", result.output), result
    assert (
        "- No Procfile: running the Django project mysite.wsgi:application with gunicorn as `web`"
    ) in result.output
    workspace = pycnb.root / "workspace"
    assert (workspace / "staticfiles" / "css" / "site.css").is_file(), "in the app, not a layer"
    assert not list(workspace.rglob("__pycache__")), "running Django left no bytecode behind"

    # WhiteNoise serves only collected files (DEBUG is off): the CSS proves collectstatic ran.
    with serving(pycnb, app, tmp_path / "server.log") as base:
        assert fetch(f"{base}/") == (200, "Hello from Django\n")
        assert fetch(f"{base}/static/css/site.css") == (200, "h1 { color: darkgreen; }\n")


@pytest.mark.app("web_django")
def test_collectstatic_failure_explains_and_can_be_disabled(
    pycnb: Pycnb, app: Path, web_wheelhouse: Path
) -> None:
    del web_wheelhouse
    settings = app / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace('STATIC_ROOT = BASE_DIR / "staticfiles"', ""))
    failed = pycnb.build(app)
    assert failed.returncode != 0, failed
    assert "Traceback" in failed.output, "Django's own message is shown"
    django_says = failed.output.index("You're using the staticfiles app without having set")
    we_say = failed.output.index("STATIC_ROOT is not set: collectstatic needs a directory")
    assert django_says < we_say
    assert "BP_DISABLE_COLLECTSTATIC=1" in failed.output

    skipped = pycnb.build(app, env={"BP_DISABLE_COLLECTSTATIC": "1"})
    assert skipped.returncode == 0, skipped
    assert "- Skipping collectstatic: BP_DISABLE_COLLECTSTATIC is set" in skipped.output


@pytest.mark.app("web_flask")
def test_procfile_processes_get_a_shell_port_and_web_concurrency(
    pycnb: Pycnb, app: Path, web_wheelhouse: Path
) -> None:
    del web_wheelhouse
    (app / "Procfile").write_text(
        "web: gunicorn app:app --bind 127.0.0.1:$PORT\n"
        'report: echo "port=$PORT workers=$WEB_CONCURRENCY"\n'
    )
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "- Using the processes in Procfile: web (default), report" in result.output

    ran = pycnb("run", app, "--root", pycnb.root, "--process", "report")
    assert ran.returncode == 0, ran
    assert re.fullmatch(r"port=8080 workers=\d+\n", ran.output), ran
    mine = pycnb(
        "run",
        app,
        "--root",
        pycnb.root,
        "--env=WEB_CONCURRENCY=3",
        "--env=PORT=9",
        "--process",
        "report",
    )
    assert mine.output == "port=9 workers=3\n", mine


@pytest.mark.app("web_flask")
def test_bad_procfile_fails_with_line_numbers(
    pycnb: Pycnb, app: Path, web_wheelhouse: Path
) -> None:
    del web_wheelhouse
    (app / "Procfile").write_text("web: gunicorn app:app\ngunicorn app:app\n")
    result = pycnb.build(app)
    assert result.returncode != 0, result
    assert "[ERROR] The Procfile has a line that pycnb cannot read" in result.output
    assert 'line 2: "gunicorn app:app"' in result.output
    assert "Traceback" not in result.output


@pytest.mark.app("pip_basic")
def test_without_a_web_app_no_process_is_declared(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert (
        "- No Procfile, and no web server to infer: the image declares no process\n"
        "  To declare one, add a Procfile"
    ) in result.output
