"""A server that cannot be imported fails the build before export, with the likely fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Pycnb, assert_clean_error
from tests.support.wheels import make_wheel

pytestmark = pytest.mark.app("pip_basic")


def server_wheel(directory: Path, body: str) -> Path:
    # Like gunicorn 20: the console script's module imports what the venv may not have.
    directory.mkdir()
    make_wheel(
        directory,
        "pycnb-oldserver",
        "1.0",
        modules={"pycnb_oldserver/__init__.py": body},
        console_scripts={"pycnb-oldserver": "pycnb_oldserver:run"},
    )
    return directory


def test_a_server_that_imports_a_missing_module_fails_before_export(
    pycnb: Pycnb, app: Path, tmp_path: Path
) -> None:
    wheels = server_wheel(tmp_path / "wheels", "import pkg_resources\n\ndef run(): pass\n")
    (app / "requirements.txt").write_text("pycnb-oldserver==1.0\n")
    (app / "Procfile").write_text("web: pycnb-oldserver --bind 0.0.0.0:$PORT\n")
    find_links = f"{pycnb.user_env['PIP_FIND_LINKS']} {wheels}"
    result = pycnb.build(app, env={"PIP_FIND_LINKS": find_links})
    assert_clean_error(
        result,
        "[ERROR] The web process cannot start: pycnb-oldserver fails to import",
        "No module named 'pkg_resources'",
        "setuptools<81",
    )
    assert 'pycnb_oldserver/__init__.py", line 1' in result.output


def test_a_server_that_imports_cleanly_is_said_so(pycnb: Pycnb, app: Path, tmp_path: Path) -> None:
    wheels = server_wheel(tmp_path / "wheels", "import json\n\ndef run(): pass\n")
    (app / "requirements.txt").write_text("pycnb-oldserver==1.0\n")
    (app / "Procfile").write_text("web: pycnb-oldserver --bind 0.0.0.0:$PORT\n")
    find_links = f"{pycnb.user_env['PIP_FIND_LINKS']} {wheels}"
    result = pycnb.build(app, env={"PIP_FIND_LINKS": find_links})
    assert result.returncode == 0, result
    assert "pycnb-oldserver (web) imports cleanly" in result.output
