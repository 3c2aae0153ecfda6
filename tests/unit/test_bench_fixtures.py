"""The benchmark's wheel downloads: what a fresh machine, with an empty user cache, runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename

from bench.fixtures import PIN_CHANGE, PINS, download_batches, ensure_wheels
from tests.support.tool_wheels import tool_wheels_dir


def test_download_batches_never_name_a_project_twice_in_one_call() -> None:
    name, old, new = PIN_CHANGE
    pins = sorted({*PINS.items(), (name, new)})
    batches = download_batches(pins)
    for batch in batches:
        names = [canonicalize_name(n) for n, _ in batch]
        assert len(names) == len(set(names)), batch
    assert sorted(pin for batch in batches for pin in batch) == pins
    # Both versions of the moved pin are fetched, in separate calls.
    assert len(batches) == 2
    assert (name, old) in pins


def test_download_batches_of_distinct_projects_is_one_call() -> None:
    assert download_batches([("a", "1"), ("b", "2")]) == [[("a", "1"), ("b", "2")]]
    assert download_batches([]) == []


@pytest.mark.network
def test_ensure_wheels_fills_an_empty_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The regression a warm cache hid: both whitenoise versions missing at once.
    monkeypatch.setenv("PYCNB_TEST_WHEELS", str(tool_wheels_dir()))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    directory = ensure_wheels(lambda _line: None)
    assert directory.is_relative_to(tmp_path)
    present = set()
    for wheel in directory.glob("*.whl"):
        project, version, _, _ = parse_wheel_filename(wheel.name)
        present.add((str(project), str(version)))
    name, old, new = PIN_CHANGE
    assert (name, old) in present
    assert (name, new) in present
    assert {(canonicalize_name(n), v) for n, v in PINS.items()} <= present
