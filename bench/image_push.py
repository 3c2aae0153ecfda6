"""Image export benchmark: a cold push, then a push after an app-code-only change.

    .venv/bin/python -m bench.image_push [--iterations N]

Builds examples/flask-hello with `pycnb build --image` onto the tests' Debian run image
(tests/support/containers.py) and pushes to a fresh registry on 127.0.0.1 (Debian's
docker-registry), offline from the test wheelhouse. Each iteration starts cold: an empty blob
store (so every layer is compressed) and an empty registry. "Export" is the time the exporter
reports (layers, config, push), not the build before it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pycnb.platform.target import host_target
from pycnb.runtimes.discover import find_local_pythons
from pycnb.runtimes.local_python import default_cache_dir, write_local_manifest
from tests.support.containers import debian_run_image, registry_server
from tests.support.tool_wheels import cached_test_app_wheels, cached_tool_wheels

_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "flask-hello"


def _push(
    root: Path, app: Path, image: str, run_image: str, env: dict[str, str]
) -> tuple[float, int]:
    wheels = cached_tool_wheels()
    manifest = write_local_manifest(
        [p for p in find_local_pythons() if p.version.minor_version == "3.12"],
        default_cache_dir(),
        arch=host_target().arch,
    )
    argv = [sys.executable, "-m", "pycnb", "build", str(app), "--root", str(root),
            "--image", image, "--run-image", run_image,
            f"--env=BP_PYTHON_MANIFEST={manifest.as_uri()}", "--env=PIP_NO_INDEX=1",
            f"--env=PIP_FIND_LINKS={wheels}"]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    seconds = float(re.findall(r"\(exported in ([\d.]+)s\)", done.stdout)[-1])
    pushed = int(re.findall(r"^Pushed (\d+) bytes to ", done.stdout, re.MULTILINE)[-1])
    return seconds, pushed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    cached_test_app_wheels()
    run_image = f"oci:{debian_run_image()}:run"
    samples: dict[str, list[tuple[float, int]]] = {"cold": [], "app change": []}
    for _ in range(args.iterations):
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            app = work / "app"
            shutil.copytree(_EXAMPLE, app)
            env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache")}
            with registry_server(work / "registry") as registry:
                samples["cold"].append(
                    _push(work / "root", app, f"{registry}/app:1", run_image, env)
                )
                source = app / "app.py"
                source.write_text(source.read_text() + "\n# an app-code-only change\n")
                change = _push(work / "root", app, f"{registry}/app:2", run_image, env)
                samples["app change"].append(change)
    cold_s = statistics.median(s for s, _ in samples["cold"])
    cold_b = statistics.median(b for _, b in samples["cold"])
    print("| push | export time | bytes pushed | time / cold | bytes / cold |")  # noqa: T201
    print("|---|---|---|---|---|")  # noqa: T201
    for name, values in samples.items():
        seconds = statistics.median(s for s, _ in values)
        size = statistics.median(b for _, b in values)
        print(  # noqa: T201
            f"| {name} | {seconds:.2f} s | {size:,.0f} | {seconds / cold_s:.2f}x | "
            f"{size / cold_b:.4f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
