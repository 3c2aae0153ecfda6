"""Python version selection end to end: every source, the policy errors, the sticky default.

The local manifest holds the CPythons of this machine: 3.10.13, 3.11.7, 3.12.1 and 3.13.0.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import Pycnb, Result


def assert_built(result: Result, *lines: str) -> None:
    assert result.returncode == 0, result
    assert "Traceback" not in result.output, result
    for line in lines:
        assert line in result.output, result


def assert_failed_before_install(result: Result, *texts: str) -> None:
    assert result.returncode != 0, result
    assert "Traceback" not in result.output, result
    assert "Installing Python" not in result.output, "fails before anything is installed"
    for text in texts:
        assert text in result.output, result


def python_of(pycnb: Pycnb, app: Path) -> str:
    ran = pycnb.run(app, "python", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])")
    assert ran.returncode == 0, ran
    return ran.output.strip()


@pytest.mark.app("pyver_minor")
def test_minor_alias(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert_built(result, "Using Python 3.12.1 (3.12 from .python-version)")
    assert "uses a form that local tools may not read" not in result.output
    assert python_of(pycnb, app) == "3.12.1"


@pytest.mark.app("pyver_exact")
def test_exact_patch(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert_built(result, "Using Python 3.12.1 (3.12.1 from .python-version)")
    # 3.12.1 is the newest 3.12 of the local manifest: no "pinned" note.
    assert "is pinned" not in result.output


@pytest.mark.app("pyver_runtime_txt")
def test_runtime_txt_is_accepted_with_a_deprecation_warning(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert_built(
        result,
        "Using Python 3.12.1 (python-3.12.1 from runtime.txt)",
        "[WARNING] runtime.txt is deprecated",
        "echo 3.12 > .python-version && rm runtime.txt",
    )
    # Following the advice keeps the same Python, and the warning goes away.
    (app / "runtime.txt").unlink()
    (app / ".python-version").write_text("3.12\n")
    moved = pycnb.build(app)
    assert_built(moved, "Using Python 3.12.1 (3.12 from .python-version)", "Using cached Python")
    assert "runtime.txt" not in moved.output


@pytest.mark.app("pyver_requires_python")
def test_requires_python_only(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert_built(
        result,
        "Using Python 3.12.1 (>=3.11,<3.13 from requires-python in pyproject.toml)",
        "Add a .python-version file containing 3.12 to keep this version, or 3.13 to move to "
        "the newest.",
    )
    assert python_of(pycnb, app) == "3.12.1"


@pytest.mark.app("pyver_poetry_python")
def test_poetry_python_constraint(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert_built(
        result, "Using Python 3.13.0 (^3.11 from tool.poetry.dependencies.python in pyproject.toml)"
    )


@pytest.mark.app("pyver_specifier")
def test_specifier_in_python_version(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert_built(
        result,
        "Using Python 3.12.1 (>= 3.11, <3.13 from .python-version)",
        '[WARNING] .python-version uses a form that local tools may not read: ">= 3.11, <3.13"',
        "Write 3.12 in .python-version instead",
    )


@pytest.mark.app("pyver_minor")
def test_bp_python_version_overrides_the_file(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app, env={"BP_PYTHON_VERSION": "3.13"})
    assert_built(
        result,
        "Using Python 3.13.0 (3.13 from BP_PYTHON_VERSION)",
        ".python-version is ignored: the Python version comes from BP_PYTHON_VERSION",
    )


@pytest.mark.app("pyver_conflict")
def test_contradiction_between_two_sources(pycnb: Pycnb, app: Path) -> None:
    assert_failed_before_install(
        pycnb.build(app),
        "[ERROR] The Python version in .python-version contradicts pyproject.toml",
        ".python-version asks for Python 3.12 (3.12.1 in the runtime manifest)",
        "requires-python in pyproject.toml: >=3.13",
    )


@pytest.mark.app("pyver_end_of_life")
def test_end_of_life_version_is_refused(pycnb: Pycnb, app: Path) -> None:
    assert_failed_before_install(
        pycnb.build(app),
        "[ERROR] Python 3.9 has reached its end of life",
        "end of life in October 2025",
        "set .python-version to 3.14 (the newest release), or to 3.11",
    )


@pytest.mark.app("pyver_end_of_life_warning")
def test_python_3_10_builds_with_a_warning(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert_built(
        result,
        "Using Python 3.10.13 (3.10 from .python-version)",
        "[WARNING] Python 3.10 reached its end of life in October 2026",
    )
    assert python_of(pycnb, app) == "3.10.13"


@pytest.mark.app("pyver_unknown_patch")
def test_unknown_patch_lists_the_nearest(pycnb: Pycnb, app: Path) -> None:
    assert_failed_before_install(
        pycnb.build(app),
        "[ERROR] Python 3.12.99 is not available",
        "Nearest available versions: 3.12.1",
        "Available versions: 3.10.13, 3.11.7, 3.12.1, 3.13.0",
    )


@pytest.mark.app("pyver_minor")
def test_supported_version_missing_from_the_manifest(pycnb: Pycnb, app: Path) -> None:
    (app / ".python-version").write_text("3.14\n")
    assert_failed_before_install(
        pycnb.build(app),
        "[ERROR] Python 3.14 is not available",
        "Nearest available versions: 3.11.7, 3.12.1, 3.13.0",
    )
    (app / ".python-version").write_text("3.15\n")
    assert_failed_before_install(
        pycnb.build(app), "[ERROR] Python 3.15 is not released or not supported yet"
    )


@pytest.mark.app("pyver_minor")
def test_invalid_file_quotes_the_line_with_invisible_characters(pycnb: Pycnb, app: Path) -> None:
    (app / ".python-version").write_bytes(b"\xef\xbb\xbf# prod\r\n3.12\xe2\x80\x8b\r\npypy3.10\n")
    assert_failed_before_install(
        pycnb.build(app),
        "[ERROR] Invalid Python version in .python-version",
        ".python-version, line 2: this line contains invisible or non-ASCII characters.\n"
        'Found: "3.12\\u200b" (contains U+200B ZERO WIDTH SPACE)',
        ".python-version, line 3: pycnb installs CPython only",
    )


def manifest_without(original: Path, tmp_path: Path, minor: str) -> Path:
    manifest = json.loads(original.read_text())
    manifest["distributions"] = [
        d for d in manifest["distributions"] if not d["version"].startswith(f"{minor}.")
    ]
    path = tmp_path / f"manifest-without-{minor}.json"
    path.write_text(json.dumps(manifest))
    return path


@pytest.mark.app("pyver_default")
def test_sticky_default_across_builds(
    pycnb: Pycnb, app: Path, runtime_manifest: Path, tmp_path: Path
) -> None:
    # First build: 3.13 is not on offer yet, so the default is 3.12.
    older = manifest_without(runtime_manifest, tmp_path, "3.13")
    first = pycnb.build(app, env={"BP_PYTHON_MANIFEST": str(older)})
    assert_built(
        first,
        "Using Python 3.12.1 (the newest available; no .python-version file)",
        "Add a .python-version file containing 3.12 to keep this version when newer ones are "
        "released.",
    )

    # 3.13 appears. The app never asked for a version, and keeps the one it was built with.
    second = pycnb.build(app)
    assert_built(
        second,
        "Using Python 3.12.1 (3.12, the default of the previous build; no .python-version file)",
        "Add a .python-version file containing 3.12 to keep this version, or 3.13 to move to "
        "the newest.",
        "Using cached Python 3.12.1",
    )
    assert python_of(pycnb, app) == "3.12.1"

    # Asking explicitly moves on, and an explicit choice is not remembered as a default.
    (app / ".python-version").write_text("3.13\n")
    assert_built(pycnb.build(app), "Using Python 3.13.0 (3.13 from .python-version)")
    (app / ".python-version").unlink()
    assert_built(
        pycnb.build(app), "Using Python 3.13.0 (the newest available; no .python-version file)"
    )


@pytest.mark.app("pyver_runtime_txt")
def test_cloud_foundry_wildcard_runtime_txt(pycnb: Pycnb, app: Path) -> None:
    (app / "runtime.txt").write_text("python-3.12.x\n")
    assert_built(
        pycnb.build(app),
        "Using Python 3.12.1 (python-3.12.x from runtime.txt)",
        "[WARNING] runtime.txt is deprecated",
        "echo 3.12 > .python-version && rm runtime.txt",
    )


@pytest.mark.app("pyver_minor")
def test_a_version_file_linked_outside_the_app_is_an_error(pycnb: Pycnb, app: Path) -> None:
    # A monorepo service whose .python-version links the repo's: the link dangles in the build.
    (app.parent / ".python-version").write_text("3.12\n")
    (app / ".python-version").unlink()
    (app / ".python-version").symlink_to("../.python-version")
    assert_failed_before_install(
        pycnb.build(app),
        "[ERROR] .python-version could not be read",
        "symbolic link to ../.python-version, which does not exist in the build",
    )
