"""`pycnb build --image`: OCI images with no container engine, checked by independent tools.

Real parts only: the run image is a Debian root file system (mmdebstrap) made into an OCI
layout by umoci; a real registry (Debian's docker-registry) runs on 127.0.0.1; skopeo and umoci
read what pycnb wrote; and the web process of an unpacked image answers HTTP in a chroot.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Pycnb, Result, assert_clean_error
from tests.support.containers import (
    RUN_IMAGE_GID,
    RUN_IMAGE_UID,
    debian_run_image,
    registry_server,
    require_tool,
)


@pytest.fixture(scope="session")
def run_image() -> str:
    return f"oci:{debian_run_image()}:run"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    with registry_server(tmp_path / "registry") as address:
        yield address


@pytest.fixture
def isolated(pycnb: Pycnb, tmp_path: Path) -> Pycnb:
    # A blob store of the test's own, so "new" and "unchanged" layers are this test's doing.
    pycnb.caller_env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return pycnb


def _skopeo(*args: str) -> Any:
    done = subprocess.run(
        [require_tool("skopeo"), *args], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip().startswith("{") else done.stdout


def _image_build(pycnb: Pycnb, app: Path, image: str, run_image: str) -> Result:
    result = pycnb.build(app, "--image", image, "--run-image", run_image)
    assert result.returncode == 0, result
    assert "Traceback" not in result.output
    return result


def _layer_states(output: str) -> dict[str, str]:
    return dict(
        re.findall(
            r"^Layer (\S+): sha256:\w+ \([\d.]+ MiB, (new|unchanged)\)$", output, re.MULTILINE
        )
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _fetch(url: str, deadline: float, log: Path) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1
                return str(response.read().decode())
        except (urllib.error.URLError, OSError):
            assert time.monotonic() < deadline, f"no answer from {url}:\n{log.read_text()}"
            time.sleep(0.2)


@pytest.mark.app("web_flask")
def test_the_image_runs_its_web_process_on_debian(
    isolated: Pycnb, app: Path, web_wheelhouse: Path, run_image: str, tmp_path: Path
) -> None:
    del web_wheelhouse  # only needed to be there
    layout = tmp_path / "layout"
    result = _image_build(isolated, app, f"oci:{layout}:app", run_image)
    assert set(_layer_states(result.output)) == {
        "pycnb/python:python", "pycnb/python:venv", "pycnb/python:web-defaults",
        "sbom", "app", "launcher", "config",
    }  # fmt: skip

    config = _skopeo("inspect", "--config", f"oci:{layout}:app")
    settings = config["config"]
    assert settings["Entrypoint"] == ["/cnb/process/web"]
    assert "Cmd" not in settings  # the run image's `bash` would become the process's args
    assert settings["User"] == "cnb"
    assert settings["WorkingDir"] == "/workspace"
    env = dict(item.split("=", 1) for item in settings["Env"])
    assert env["CNB_LAYERS_DIR"] == "/layers"
    assert env["CNB_APP_DIR"] == "/workspace"
    assert env["PATH"].startswith("/cnb/process:/cnb/lifecycle:/usr/local/sbin:")
    labels = settings["Labels"]
    assert labels["io.buildpacks.base.distro.name"] == "debian"  # the run image's are kept
    lifecycle = json.loads(labels["io.buildpacks.lifecycle.metadata"])
    (buildpack,) = lifecycle["buildpacks"]
    assert buildpack["key"] == "pycnb/python"
    assert set(buildpack["layers"]) == {"python", "venv", "web-defaults"}
    assert buildpack["layers"]["venv"]["launch"] is True
    diff_ids = config["rootfs"]["diff_ids"]
    assert buildpack["layers"]["python"]["sha"] in diff_ids
    assert lifecycle["app"][0]["sha"] in diff_ids
    build = json.loads(labels["io.buildpacks.build.metadata"])
    assert [p["type"] for p in build["processes"]] == ["web"]
    assert config["created"] == "1980-01-01T00:00:01Z"

    # umoci reads and unpacks it, checking every blob against its digest.
    bundle = tmp_path / "bundle"
    subprocess.run([require_tool("umoci"), "unpack", "--image", f"{layout}:app", str(bundle)],
                   check=True, capture_output=True)  # fmt: skip
    rootfs = bundle / "rootfs"
    venv_python = rootfs / "layers" / "pycnb_python" / "venv" / "bin" / "gunicorn"
    assert venv_python.read_text().startswith("#!/layers/pycnb_python/venv/bin/python")
    assert (rootfs / "workspace" / "app.py").stat().st_uid == RUN_IMAGE_UID
    assert (rootfs / "cnb" / "process" / "web").readlink() == Path("/cnb/lifecycle/launcher")
    assert str(tmp_path) not in (rootfs / "layers" / "config" / "launch.sh").read_text()

    # What `docker run -p PORT:PORT -e PORT=... IMAGE` does: the image's env, user, working dir
    # and entrypoint, in the image's root file system.
    assert os.geteuid() == 0, "chroot needs root (CI runs as root)"
    port = _free_port()
    process_env = {**env, "PORT": str(port), "HOME": "/home/cnb"}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        ["chroot", f"--userspec={RUN_IMAGE_UID}:{RUN_IMAGE_GID}", str(rootfs), "/bin/sh", "-c",
         'cd "$1" && shift && exec "$@"', "sh", settings["WorkingDir"], *settings["Entrypoint"]],
        env=process_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        page = _fetch(f"http://127.0.0.1:{port}/", time.monotonic() + 60, tmp_path / "server.log")
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert re.fullmatch(r"Hello from Flask, WEB_CONCURRENCY=\d+\n", page), page


@pytest.mark.app("web_flask")
def test_the_same_app_gives_the_same_image_from_different_roots(
    isolated: Pycnb, app: Path, web_wheelhouse: Path, run_image: str, tmp_path: Path
) -> None:
    del web_wheelhouse
    layout = tmp_path / "layout"
    first = _image_build(isolated, app, f"oci:{layout}:one", run_image)
    other = Pycnb(
        root=tmp_path / "a" / "much" / "longer" / "second-root",
        user_env=isolated.user_env,
        caller_env={**isolated.caller_env, "XDG_CACHE_HOME": str(tmp_path / "other-cache")},
    )
    second = _image_build(other, app, f"oci:{layout}:two", run_image)
    # The second root had its own blob store: everything was made again, to the same bytes.
    assert set(_layer_states(second.output).values()) == {"new"}
    one = _skopeo("inspect", f"oci:{layout}:one")
    two = _skopeo("inspect", f"oci:{layout}:two")
    assert one["Layers"] == two["Layers"]
    assert one["Digest"] == two["Digest"]
    assert first.output.count("Layer ") == second.output.count("Layer ")


@pytest.mark.app("web_flask")
def test_push_to_a_registry_sends_only_what_changed(
    isolated: Pycnb, app: Path, web_wheelhouse: Path, run_image: str, registry: str
) -> None:
    del web_wheelhouse
    cold = _image_build(isolated, app, f"{registry}/team/app:1", run_image)
    cold_bytes = int(re.findall(r"^Pushed (\d+) bytes to ", cold.output, re.MULTILINE)[-1])
    pushed_cold = re.findall(r"^Pushed sha256:", cold.output, re.MULTILINE)
    remote = _skopeo("inspect", "--tls-verify=false", f"docker://{registry}/team/app:1")
    assert len(pushed_cold) == len(remote["Layers"]) + 1  # every layer and the config

    (app / "app.py").write_text((app / "app.py").read_text().replace("Hello", "Hi"))
    warm = _image_build(isolated, app, f"{registry}/team/app:2", run_image)
    assert {k for k, v in _layer_states(warm.output).items() if v == "new"} == {"app"}
    warm_bytes = int(re.findall(r"^Pushed (\d+) bytes to ", warm.output, re.MULTILINE)[-1])
    # The app layer and the image config: every other blob got a HEAD, not an upload.
    assert len(re.findall(r"^Pushed sha256:", warm.output, re.MULTILINE)) == 2
    assert warm_bytes < cold_bytes / 100
    updated = _skopeo("inspect", "--tls-verify=false", f"docker://{registry}/team/app:2")
    changed = [a for a, b in zip(remote["Layers"], updated["Layers"], strict=True) if a != b]
    assert len(changed) == 1

    # skopeo pulls the pushed image back, checking each blob's digest.
    copy = app.parent / "pulled"
    _skopeo("copy", "--src-tls-verify=false", f"docker://{registry}/team/app:2", f"oci:{copy}:x")
    assert _skopeo("inspect", f"oci:{copy}:x")["Digest"] == updated["Digest"]


@pytest.mark.app("web_flask")
def test_docker_archive_is_what_docker_load_reads(
    isolated: Pycnb, app: Path, web_wheelhouse: Path, run_image: str, tmp_path: Path
) -> None:
    del web_wheelhouse
    archive = tmp_path / "app.tar"
    _image_build(isolated, app, f"docker-archive:{archive}:myapp:1.0", run_image)
    # Found by the name it loads as: the archive's manifest.json names it.
    inspected = _skopeo("inspect", f"docker-archive:{archive}:myapp:1.0")
    assert inspected["Name"] == "docker.io/library/myapp"
    assert inspected["Env"][0].startswith("PATH=/cnb/process:")
    # A copy reads every layer and checks it against the config's diff_ids.
    _skopeo("copy", f"docker-archive:{archive}", f"oci:{tmp_path / 'copied'}:x")
    copied = _skopeo("inspect", "--config", f"oci:{tmp_path / 'copied'}:x")
    assert len(copied["rootfs"]["diff_ids"]) == len(inspected["Layers"])


@pytest.mark.app("pip_basic")
def test_an_unreachable_run_image_fails_before_the_build(
    isolated: Pycnb, app: Path, tmp_path: Path
) -> None:
    result = isolated.build(
        app, "--image", f"oci:{tmp_path / 'out'}", "--run-image", "127.0.0.1:9/nothing/here"
    )
    assert_clean_error(
        result,
        "cannot read the run image 127.0.0.1:9/nothing/here:latest",
        "cannot connect",
        "pass --run-image",
    )
    assert "===> DETECTING" not in result.output
    bad = isolated.build(app, "--image", "Not/A/Reference")
    assert_clean_error(bad, "invalid image reference 'Not/A/Reference'")
