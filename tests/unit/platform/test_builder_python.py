"""The local builder's python3: the interpreter running pycnb, first on the buildpacks' PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pycnb.platform.builder_python import with_builder_python


def test_python3_is_first_on_path_and_is_this_interpreter(tmp_path: Path) -> None:
    bin_dir = tmp_path / "builder" / "bin"
    env = with_builder_python({"PATH": "/usr/bin:/bin", "HOME": "/home/u"}, bin_dir)
    assert env == {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": "/home/u"}
    python3 = bin_dir / "python3"
    assert python3.resolve() == Path(os.path.realpath(sys.executable))
    # What the buildpack's shim asks of it, from an unrelated directory.
    found = subprocess.run(
        [python3, "-I", "-S", "-c", "import sys; print(sys.version_info[:2])"],
        cwd="/",
        env={},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == str(sys.version_info[:2])


def test_a_stale_link_is_replaced_and_a_missing_path_is_fine(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to("/nonexistent/python3")
    env = with_builder_python({}, bin_dir)
    assert env == {"PATH": str(bin_dir)}
    assert (bin_dir / "python3").resolve() == Path(os.path.realpath(sys.executable))
    assert sorted(p.name for p in bin_dir.iterdir()) == ["python3"]  # no staging left behind
