"""A running app keeps the image it was launched from, even when a rebuild commits meanwhile."""

from __future__ import annotations

from tests.faults.conftest import Faults, wait_for


def test_running_app_keeps_its_image_while_a_rebuild_commits(faults: Faults) -> None:
    assert faults.build("one").code == 0
    started = faults.tmp / "started"
    go = faults.tmp / "go"
    # The app reads its layer only after the rebuild committed: it must still see "one".
    script = f'touch "{started}"; while [ ! -e "{go}" ]; do sleep 0.05; done; show'
    run = faults.start("run", "--", "timeout", "60", "sh", "-c", script)
    wait_for(started.exists, "the app to start")
    rebuilt = faults.build("two")
    assert rebuilt.code == 0, rebuilt.text
    go.touch()
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert out.strip() == "one"
    assert faults.shown() == "two"  # a new launch gets the new image
    # Once the old app exited, the next build deletes the generation it kept alive.
    assert faults.build("three").code == 0
    assert not any((faults.root / "retired").iterdir())


def test_two_rebuilds_while_the_app_runs(faults: Faults) -> None:
    assert faults.build("one").code == 0
    started = faults.tmp / "started"
    run = faults.start("run", "--", "sh", "-c", f'touch "{started}"; exec sleep 60')
    try:
        wait_for(started.exists, "the app to start")
        for value in ("two", "three"):
            result = faults.build(value)
            assert result.code == 0, result.text
            assert faults.shown() == value
        assert "Keeping an earlier image a running app still uses" in result.text
    finally:
        run.kill()
        run.communicate(timeout=30)


def test_rebuild_editing_restored_files_in_place_cannot_reach_the_running_app(
    faults: Faults,
) -> None:
    assert faults.build("one").code == 0
    started, go = faults.tmp / "started", faults.tmp / "go"
    script = f'touch "{started}"; while [ ! -e "{go}" ]; do sleep 0.05; done; show'
    run = faults.start("run", "--", "timeout", "60", "sh", "-c", script)
    wait_for(started.exists, "the app to start")
    # The rebuild writes into its restored value.txt in place: with the running app's image
    # pinned, that file is a copy, not a link to the image's.
    rebuilt = faults.build("two", append="edited in place\n")
    assert rebuilt.code == 0, rebuilt.text
    go.touch()
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert out == "one\n"
    assert faults.shown() == "two"
    faults.assert_healthy("two")
