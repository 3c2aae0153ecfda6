"""Lock formats that real repositories still carry, built with the pinned tools.

The lockfiles are written here in the old formats, as the old tools wrote them (their layout and
content hash taken from poetry.lock files written by Poetry 1.1.15 and 1.4.2, and from PDM 2.x's
lock_version 4.1), against the session's local index. Pipfile.lock's only format in use,
pipfile-spec 6, is what the pinned Pipenv writes (see test_pipenv.py).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.tool_versions import PDM_VERSION
from tests.integration.conftest import Locker, Pycnb, assert_clean_error, imports

POETRY_PYPROJECT = """\
[tool.poetry]
name = "old"
version = "0.1.0"
description = ""
authors = ["A <a@example.com>"]

[tool.poetry.dependencies]
python = "^3.11"
pycnb-alpha = "2.0"

[tool.poetry.dev-dependencies]
pycnb-devtool = "*"

[[tool.poetry.source]]
name = "local"
url = "{index}"

[build-system]
requires = ["poetry-core>=1.0.0"]
build-backend = "poetry.core.masonry.api"
"""

POETRY_PACKAGE = """\
[[package]]
name = "{name}"
version = "{version}"
description = ""
category = "{category}"
optional = false
python-versions = "*"
{files}
[package.source]
type = "legacy"
url = "{index}"
reference = "local"
"""


def wheel(locker: Locker, name: str, version: str) -> tuple[str, str]:
    """(file name, sha256) of a wheel the local index serves."""
    [path] = locker.index.files.glob(f"{name.replace('-', '_')}-{version}-*.whl")
    return path.name, hashlib.sha256(path.read_bytes()).hexdigest()


def poetry_content_hash(pyproject: str) -> str:
    # Poetry 1.x's: sha256 of these [tool.poetry] keys as sorted JSON (Poetry 2.5 still agrees).
    poetry = tomllib.loads(pyproject)["tool"]["poetry"]
    keys = ("dependencies", "dev-dependencies", "source", "extras")
    relevant = {key: poetry.get(key) for key in keys}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def write_poetry_project(app: Path, locker: Locker, lock_version: str) -> None:
    """A Poetry 1.x project and the poetry.lock that Poetry 1.1 ("1.1") or 1.2-1.4 ("2.0")
    wrote for it."""
    index = locker.index.url.rstrip("/")
    pyproject = POETRY_PYPROJECT.format(index=index)
    (app / "pyproject.toml").write_text(pyproject)
    (app / "old").mkdir()
    (app / "old" / "__init__.py").write_text("")
    packages = [("pycnb-alpha", "2.0", "main"), ("pycnb-devtool", "1.0", "dev")]
    lock, metadata_files = "", ""
    for name, version, category in packages:
        file, digest = wheel(locker, name, version)
        entry = f'    {{file = "{file}", hash = "sha256:{digest}"}},\n'
        inline = f"files = [\n{entry}]\n" if lock_version == "2.0" else ""
        metadata_files += f"{name} = [\n{entry}]\n"
        lock += POETRY_PACKAGE.format(
            name=name, version=version, category=category, files=inline, index=index
        )
        lock += "\n"
    lock += (
        f'[metadata]\nlock-version = "{lock_version}"\npython-versions = "^3.11"\n'
        f'content-hash = "{poetry_content_hash(pyproject)}"\n'
    )
    if lock_version == "1.1":
        lock += f"\n[metadata.files]\n{metadata_files}"
    (app / "poetry.lock").write_text(lock)


@pytest.mark.parametrize("lock_version", ["1.1", "2.0"])
def test_poetry_lock_versions_written_by_poetry_1_x_build(
    pycnb: Pycnb, tmp_path: Path, locker: Locker, lock_version: str
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / ".python-version").write_text("3.12\n")
    write_poetry_project(app, locker, lock_version)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "Running: poetry sync --only main" in result.output
    assert imports(pycnb, app, "pycnb_alpha")
    assert not imports(pycnb, app, "pycnb_devtool")


def test_a_poetry_lock_newer_than_poetry_reads_names_the_format(
    pycnb: Pycnb, tmp_path: Path, locker: Locker
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    write_poetry_project(app, locker, "2.0")
    lock = app / "poetry.lock"
    lock.write_text(lock.read_text().replace('lock-version = "2.0"', 'lock-version = "9.0"'))
    result = pycnb.build(app)
    assert_clean_error(
        result,
        "[ERROR] poetry.lock is in a format Poetry cannot read (lock-version 9.0)",
        "The lock file is not compatible with the current version of Poetry",
        "Run `poetry lock` with Poetry",
    )


PDM_PYPROJECT = """\
[project]
name = "old"
version = "0"
requires-python = ">=3.11"
dependencies = ["pycnb-alpha==2.0"]

[tool.pdm]
distribution = false

[[tool.pdm.source]]
name = "pypi"
url = "{index}"
verify_ssl = false
"""


def write_old_pdm_lock(app: Path, locker: Locker, lock_version: str) -> None:
    """pdm.lock as PDM 2.0-2.7 wrote it (lock_version 4.0-4.3: files under [metadata.files]);
    the content hash is the same, so it comes from the pinned PDM."""
    (app / "pyproject.toml").write_text(PDM_PYPROJECT.format(index=locker.index.url))
    locker.pdm(app)
    content_hash = tomllib.loads((app / "pdm.lock").read_text())["metadata"]["content_hash"]
    file, digest = wheel(locker, "pycnb-alpha", "2.0")
    (app / "pdm.lock").write_text(
        "# This file is @generated by PDM.\n# It is not intended for manual editing.\n\n"
        '[[package]]\nname = "pycnb-alpha"\nversion = "2.0"\nsummary = ""\n\n'
        f'[metadata]\nlock_version = "{lock_version}"\ncontent_hash = "{content_hash}"\n\n'
        f'[metadata.files]\n"pycnb-alpha 2.0" = [\n'
        f'    {{file = "{file}", hash = "sha256:{digest}"}},\n]\n'
    )


def test_pdm_lock_version_4_1_builds(pycnb: Pycnb, tmp_path: Path, locker: Locker) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / ".python-version").write_text("3.12\n")
    write_old_pdm_lock(app, locker, "4.1")
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "Lockfile is generated on an older version of PDM" in result.output
    assert imports(pycnb, app, "pycnb_alpha")


def test_pdm_lock_version_3_names_the_format_and_pdm_lock(
    pycnb: Pycnb, tmp_path: Path, locker: Locker
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    write_old_pdm_lock(app, locker, "3.1")
    result = pycnb.build(app)
    assert_clean_error(
        result,
        "[ERROR] pdm.lock is in a format PDM cannot read (lock_version 3.1)",
        "Lockfile is not compatible with PDM",
        f"Run `pdm lock` with PDM {PDM_VERSION}",
    )
    assert "Installing dependencies from pdm.lock with PDM" in result.output
