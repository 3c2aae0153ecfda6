"""The venv layer's reuse table: reuse, sync or start empty, with every reason."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.digests import files_digest, settings_digest
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.venv import VenvAction, VenvLayerMetadata, decide

UV = PackageManager.UV


def meta(**changes: str) -> VenvLayerMetadata:
    base = VenvLayerMetadata(
        package_manager="uv",
        python_version="3.12.7",
        installer_version="0.13.9",
        requirements_digest="a" * 64,
        project_digest="b" * 64,
        groups="(none)",
        arch="amd64",
        distro_name="debian",
        distro_version="12",
    )
    return dataclasses.replace(base, **changes)


def test_nothing_changed_reuses_without_running_the_tool() -> None:
    decision = decide(meta(), meta(), package_manager=UV, syncs=True)
    assert decision.action is VenvAction.REUSE
    assert decision.reasons == ()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"requirements_digest": "d" * 64}, "The lockfile (uv.lock) changed"),
        ({"project_digest": "d" * 64}, "The project files (pyproject.toml, uv.toml) changed"),
        ({"groups": "dev"}, "The dependency groups (BP_PYTHON_GROUPS) changed from (none) to dev"),
        ({"installer_version": "0.14.0"}, "The uv version changed from 0.13.9 to 0.14.0"),
    ],
)
def test_a_syncing_tool_keeps_the_venv_when_inputs_change(
    change: dict[str, str], reason: str
) -> None:
    decision = decide(meta(), meta(**change), package_manager=UV, syncs=True)
    assert decision.action is VenvAction.SYNC
    assert decision.reasons == (reason,)


def test_changed_installer_settings_sync_the_kept_venv() -> None:
    decision = decide(meta(), meta(), package_manager=UV, syncs=True, settings_changed=True)
    assert decision.action is VenvAction.SYNC
    assert decision.reasons == ("The installer settings (UV_* env vars) changed",)


def test_pip_syncs_the_kept_venv_when_requirements_change() -> None:
    old, new = (
        meta(package_manager="pip"),
        meta(package_manager="pip", requirements_digest="d" * 64),
    )
    decision = decide(old, new, package_manager=PackageManager.PIP, syncs=True)
    assert decision.action is VenvAction.SYNC
    assert decision.reasons == ("The requirements changed",)


def test_an_installer_that_cannot_sync_starts_empty_on_any_change() -> None:
    old, new = (
        meta(package_manager="pyproject"),
        meta(package_manager="pyproject", project_digest="d" * 64),
    )
    decision = decide(old, new, package_manager=PackageManager.PYPROJECT, syncs=False)
    assert decision.action is VenvAction.RECREATE
    assert decision.reasons == ("The project files (pyproject.toml) changed",)


@pytest.mark.parametrize(
    "change",
    [{"python_version": "3.13.1"}, {"arch": "arm64"}, {"distro_version": "13"}],
)
def test_python_or_target_change_starts_empty_with_every_reason(change: dict[str, str]) -> None:
    decision = decide(meta(), meta(**change, groups="dev"), package_manager=UV, syncs=True)
    assert decision.action is VenvAction.RECREATE
    assert len(decision.reasons) == 2
    assert any(r.startswith("The dependency groups") for r in decision.reasons)


def test_switching_package_manager_never_reuses_and_names_only_what_matters() -> None:
    old = meta(package_manager="pip", requirements_digest="e" * 64, project_digest="")
    decision = decide(old, meta(python_version="3.13.1"), package_manager=UV, syncs=True)
    assert decision.action is VenvAction.RECREATE
    assert decision.reasons == (
        "The package manager changed from pip to uv",
        "The Python version changed from 3.12.7 to 3.13.1",
    )


def test_not_reusable_wins_over_unchanged_metadata() -> None:
    why = ("pip installs the app itself from pyproject.toml, so its code is an input",)
    decision = decide(
        meta(), meta(), package_manager=PackageManager.PYPROJECT, syncs=False, not_reusable=why
    )
    assert decision == dataclasses.replace(decision, action=VenvAction.RECREATE, reasons=why)


def test_settings_digest_covers_only_the_tools_prefix_and_never_shows_values() -> None:
    base = {"UV_INDEX_URL": "https://user:secret@example/", "PATH": "/bin", "PIP_X": "1"}
    key = b"k" * 32
    digest = settings_digest(base, prefix="UV_", key=key)
    assert "secret" not in digest
    assert digest == settings_digest(
        {**base, "PATH": "/usr/bin", "PIP_X": "2"}, prefix="UV_", key=key
    )
    assert digest != settings_digest(
        {**base, "UV_INDEX_URL": "https://other/"}, prefix="UV_", key=key
    )


def test_settings_digest_cannot_confirm_a_guess_without_the_key() -> None:
    # Someone with the image's metadata and a guessed password must not be able to check it:
    # the unkeyed sha256 of the settings no longer matches, and another key gives another digest.
    settings = {"PIP_INDEX_URL": "https://user:hunter2@index.example/"}
    digest = settings_digest(settings, prefix="PIP_", key=b"a" * 32)
    unkeyed = hashlib.sha256(b"PIP_INDEX_URL\0https://user:hunter2@index.example/\0").hexdigest()
    assert digest != unkeyed
    assert digest != settings_digest(settings, prefix="PIP_", key=b"b" * 32)


def test_files_digest_sees_content_and_presence(tmp_path: Path) -> None:
    names = ("pyproject.toml", "uv.toml")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    first = files_digest(tmp_path, names)
    assert first == files_digest(tmp_path, names)
    (tmp_path / "uv.toml").write_text("")
    with_config = files_digest(tmp_path, names)
    assert with_config != first
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert files_digest(tmp_path, names) not in {first, with_config}
