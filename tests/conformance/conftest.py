"""A harness for conformance tests: an app, a root, test buildpacks and their records.

Buildpacks are copies of `tests/fixtures/buildpacks/scripted` with their own buildpack.toml;
what each one does is data in the app's `scripted.json`. Every bin/detect and bin/build writes a
record (argv, cwd, env, plan, layers listing) that tests read back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pycnb.platform import (
    BuildResult,
    DetectResult,
    GroupEntry,
    Launch,
    PlatformDirs,
    prepare_launch,
    run_build,
    run_detect,
)
from pycnb.platform.target import Distro, TargetInfo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "buildpacks"
SCRIPTED = FIXTURES / "scripted"
HELLO_SH = FIXTURES / "hello-sh"
# A fixed base, so tests do not depend on the machine they run on.
TARGET = TargetInfo("linux", "amd64", "", Distro("ubuntu", "24.04"))


def layer(
    name: str,
    *,
    build: bool = False,
    launch: bool = False,
    cache: bool = False,
    types: bool = True,
    metadata: dict[str, Any] | None = None,
    contents: bool = True,
    files: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An op that writes `<name>.toml` (with [types] unless types=False) and the layer dir."""
    return {
        "op": "layer",
        "name": name,
        "types": {"build": build, "launch": launch, "cache": cache} if types else None,
        "metadata": metadata if metadata is not None else {"name": name},
        "dir": contents,
        "files": files or {},
    }


def write(path: str, text: str, *, mode: int | None = None, app: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"op": "write", "path": path, "text": text}
    if mode is not None:
        op["mode"] = mode
    if app:
        op["base"] = "app"
    return op


def op(kind: str, **fields: Any) -> dict[str, Any]:
    return {"op": kind, **fields}


@dataclass
class Harness:
    tmp: Path
    app: Path
    dirs: PlatformDirs
    records: Path
    host_env: dict[str, str]
    logs: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    buildpacks: dict[str, Path] = field(default_factory=dict)

    def buildpack(
        self,
        bp_id: str,
        *,
        api: str = "0.10",
        version: str = "1.0.0",
        clear_env: bool = False,
        sbom_formats: Sequence[str] = (),
        extra: str = "",
    ) -> Path:
        """A scripted buildpack with this id (created once; later calls rewrite its toml)."""
        directory = self.tmp / "buildpacks" / bp_id.replace("/", "_")
        if not directory.exists():
            shutil.copytree(SCRIPTED, directory)
        formats = ", ".join(json.dumps(f) for f in sbom_formats)
        (directory / "buildpack.toml").write_text(
            f'api = "{api}"\n\n[buildpack]\nid = "{bp_id}"\nversion = "{version}"\n'
            f"clear-env = {str(clear_env).lower()}\nsbom-formats = [{formats}]\n{extra}"
        )
        self.buildpacks[bp_id] = directory
        return directory

    def entry(self, bp_id: str, *, optional: bool = False) -> GroupEntry:
        if bp_id not in self.buildpacks:
            self.buildpack(bp_id)
        return GroupEntry(self.buildpacks[bp_id], optional)

    def script(
        self,
        bp_id: str,
        *,
        detect: dict[str, Any] | None = None,
        build: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        """Say what the buildpack does from now on (the app's scripted.json is rewritten)."""
        spec = self.config.setdefault(bp_id, {})
        if detect is not None:
            spec["detect"] = detect
        if build is not None:
            spec["build"] = {"ops": list(build)}
        self.config["record_dir"] = str(self.records)
        (self.app / "scripted.json").write_text(json.dumps(self.config, indent=1))

    def order(self, *groups: Sequence[str | GroupEntry]) -> list[list[GroupEntry]]:
        return [
            [g if isinstance(g, GroupEntry) else self.entry(g) for g in group] for group in groups
        ]

    def build(
        self,
        *ids: str,
        order: list[list[GroupEntry]] | None = None,
        user_env: dict[str, str] | None = None,
        clear_cache: bool = False,
        target: TargetInfo = TARGET,
    ) -> BuildResult:
        if "record_dir" not in self.config:
            self.script(ids[0] if ids else "none")
        self.logs.clear()
        return run_build(
            self.app,
            self.dirs,
            order if order is not None else self.order(ids),
            user_env=user_env or {},
            clear_cache=clear_cache,
            log=self.logs.append,
            host_env=self.host_env,
            target=target,
        )

    def detect(
        self, *ids: str, order: list[list[GroupEntry]] | None = None, target: TargetInfo = TARGET
    ) -> DetectResult:
        if "record_dir" not in self.config:
            self.script(ids[0] if ids else "none")
        return run_detect(
            self.app,
            self.dirs,
            order if order is not None else self.order(ids),
            user_env={},
            log=self.logs.append,
            host_env=self.host_env,
            target=target,
        )

    def record(self, bp_id: str, phase: str) -> dict[str, Any]:
        path = self.records / f"{bp_id.replace('/', '_')}.{phase}.json"
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def has_record(self, bp_id: str, phase: str) -> bool:
        return (self.records / f"{bp_id.replace('/', '_')}.{phase}.json").exists()

    def clear_records(self) -> None:
        shutil.rmtree(self.records, ignore_errors=True)

    def launch(
        self,
        process_type: str | None = None,
        *,
        command: Sequence[str] | None = None,
        args: Sequence[str] = (),
        user_env: dict[str, str] | None = None,
    ) -> Launch:
        return prepare_launch(
            self.dirs,
            process_type=process_type,
            command=command,
            args=args,
            user_env=user_env or {},
            host_env=self.host_env,
        )

    def layer_path(self, bp_id: str, name: str) -> Path:
        return self.dirs.layers / bp_id.replace("/", "_") / name

    def cache_path(self, bp_id: str, name: str) -> Path:
        return self.dirs.cache / "layers" / bp_id.replace("/", "_") / name


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.py").write_text("print('hello')\n")
    # `python3` for the scripted buildpacks: this interpreter, found first on PATH. A pyenv shim
    # would be slow, and would pick its Python from the app dir.
    host_bin = tmp_path / "host-bin"
    host_bin.mkdir()
    (host_bin / "python3").symlink_to(sys.executable)
    host_env = {
        "PATH": f"{host_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
    }
    return Harness(
        tmp=tmp_path,
        app=app,
        dirs=PlatformDirs(tmp_path / "root"),
        records=tmp_path / "records",
        host_env=host_env,
    )


def names(listing: dict[str, Any]) -> set[str]:
    """Top-level entries of a layers listing."""
    return {path for path in listing if "/" not in path}


def child_build(harness: Harness, patch: str = "") -> subprocess.CompletedProcess[str]:
    """Run a build in another process, which may be killed half-way."""
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from pycnb.platform import GroupEntry, PlatformDirs, run_build
        from pycnb.platform.target import Distro, TargetInfo
        args = json.loads(sys.argv[1])
        {patch}
        run_build(
            Path(args["app"]), PlatformDirs(Path(args["root"])),
            [[GroupEntry(Path(p)) for p in args["group"]]],
            user_env={{}}, log=print, host_env=args["host_env"],
            target=TargetInfo("linux", "amd64", "", Distro("ubuntu", "24.04")),
        )
        """
    ).format(patch=patch)
    args = {
        "app": str(harness.app),
        "root": str(harness.dirs.root),
        "group": [str(harness.buildpacks["a"])],
        "host_env": harness.host_env,
    }
    return subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
    )
