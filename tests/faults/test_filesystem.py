"""File-system faults: special or unreadable files in the app, a root that is a file, a read-only
root, a full disk. Each is a message naming the path, never a traceback, and the previous image
keeps running."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import Faults, Result, assert_clean_failure


def test_fifo_in_the_app_is_refused_by_name(faults: Faults) -> None:
    assert faults.build("one").code == 0
    os.mkfifo(faults.app / "pipe")
    result = faults.build("two")  # copying a FIFO would block forever
    assert_clean_failure(result, str(faults.app / "pipe"), "named pipe (FIFO)", "Remove them")
    assert faults.shown() == "one"
    (faults.app / "pipe").unlink()
    faults.assert_healthy("one")


def test_socket_in_the_app_is_refused_by_name(faults: Faults) -> None:
    assert faults.build("one").code == 0
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(faults.app / "dev.sock"))
        result = faults.build("two")
    assert_clean_failure(result, "dev.sock", "socket")
    (faults.app / "dev.sock").unlink()
    faults.assert_healthy("one")


def test_unreadable_file_in_the_app_names_it(faults: Faults) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv(1) to drop the capability to read any file")
    assert faults.build("one").code == 0
    secret = faults.app / "secret.key"
    secret.write_text("key\n")
    secret.chmod(0o600)
    os.chown(secret, 65534, 65534)  # another user's file; root without DAC capabilities
    blind = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    completed = subprocess.run(
        [*blind, *faults.argv("build")],
        capture_output=True,
        text=True,
        env=faults.env,
        timeout=120,
        check=False,
    )
    result = Result(completed.returncode, completed.stdout, completed.stderr)
    assert_clean_failure(result, str(secret), "Permission denied", "cannot copy the app")
    secret.unlink()
    faults.assert_healthy("one")


def test_root_that_is_a_file(faults: Faults) -> None:
    faults.configure("one")
    not_a_dir = faults.tmp / "root-file"
    not_a_dir.write_text("I am a file\n")
    for command in ("build", "run"):
        result = faults.pycnb(command, root=not_a_dir)
        assert_clean_failure(result, str(not_a_dir))
    assert not_a_dir.read_text() == "I am a file\n"


def _in_private_mounts(script: str, faults: Faults) -> Result:
    """Run a shell script in a mount namespace of its own (mounts vanish with it)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces are not allowed here: {probe.stderr.decode().strip()}")
    completed = subprocess.run(
        ["unshare", "-m", "sh", "-euc", script],
        capture_output=True,
        text=True,
        env=faults.env,
        timeout=120,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def test_read_only_root_runs_the_image_and_refuses_builds(faults: Faults) -> None:
    assert faults.build("one").code == 0
    root = faults.root
    run = " ".join(f"'{a}'" for a in faults.argv("run"))
    build = " ".join(f"'{a}'" for a in faults.argv("build"))
    script = (
        f"mount --bind '{root}' '{root}'; mount -o remount,bind,ro '{root}'; "
        f"{run}; echo ran=$?; {build} || echo build=$?"
    )
    result = _in_private_mounts(script, faults)
    assert result.code == 0, result.text
    assert "one\nran=0" in result.out
    assert "build=1" in result.out
    assert "Traceback" not in result.text
    assert "Read-only file system" in result.err or "not writable" in result.err
    faults.assert_healthy("one")


@pytest.fixture
def small_fs(faults: Faults) -> Iterator[Path]:
    """A 24 MiB tmpfs for the root, mounted for this test only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mountpoint = faults.tmp / "small"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_full_disk_during_the_build_keeps_the_previous_image(
    faults: Faults, small_fs: Path
) -> None:
    faults.root = small_fs / "root"
    assert faults.build("one").code == 0
    result = faults.build("two", fill="filler.bin")
    assert_clean_failure(result, "No space left on device", "exited with status 1")
    assert faults.shown() == "one"
    faults.assert_healthy("one")  # the filler went with the failed build: room again


def test_full_disk_while_copying_the_app_keeps_the_previous_image(
    faults: Faults, small_fs: Path
) -> None:
    faults.root = small_fs / "root"
    assert faults.build("one").code == 0
    big = faults.app / "big.bin"
    with big.open("wb") as file:
        file.truncate(0)
        for _ in range(30):
            file.write(b"\1" * (1 << 20))
    result = faults.build("two")
    assert_clean_failure(result, "cannot copy the app", "No space left on device")
    assert faults.shown() == "one"
    big.unlink()
    faults.assert_healthy("one")


def test_platform_env_holding_credentials_is_private(faults: Faults) -> None:
    faults.configure("one")
    result = faults.pycnb("build", "--env", "PIP_INDEX_URL=https://user:s3cret@index.invalid/")
    assert result.code == 0, result.text
    env_dir = faults.root / "platform" / "env"
    assert env_dir.stat().st_mode & 0o777 == 0o700
    modes = {p.name: p.stat().st_mode & 0o777 for p in env_dir.iterdir()}
    assert modes["PIP_INDEX_URL"] == 0o600
    assert all(mode == 0o600 for mode in modes.values())
