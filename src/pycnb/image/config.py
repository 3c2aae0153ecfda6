"""The image config and its CNB labels, as the lifecycle's exporter writes them.

- `io.buildpacks.lifecycle.metadata`: the app, config and launcher layers' diff_ids; per
  buildpack its layers (diff_id, `[metadata]`, flags) and its `store.toml`; the run image (its
  top layer and manifest digest). The next lifecycle build restores from this label.
- `io.buildpacks.build.metadata`: the buildpacks, the processes, the launcher.
- Env: the run image's, plus `CNB_LAYERS_DIR`, `CNB_APP_DIR`, `CNB_PLATFORM_API`,
  `CNB_DEPRECATION_MODE` and `PATH` with `/cnb/process:/cnb/lifecycle` in front.
- WorkingDir `/workspace`, the run image's `User`, ENTRYPOINT the default process (or the bare
  launcher), no Cmd (the run image's would be taken as the process's args).
- `created` from `SOURCE_DATE_EPOCH`, else the lifecycle's constant 1980-01-01T00:00:01Z.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pycnb.image.oci import canonical_json
from pycnb.image.run_image import RunImage
from pycnb.platform.processes import LaunchMetadata
from pycnb.platform.stores import Records

__all__ = ["ImageLayer", "LayerRole", "image_config"]

PLATFORM_API = "0.12"
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NORMALIZED_TIME = "1980-01-01T00:00:01Z"


@dataclass(frozen=True)
class LayerRole:
    kind: str  # "buildpack", "sbom", "app", "launcher", "config"
    buildpack_id: str = ""
    name: str = ""

    def describe(self) -> str:
        if self.kind == "buildpack":
            return f"{self.buildpack_id}:{self.name}"
        return f"{self.kind} ({self.name})" if self.name else self.kind


@dataclass(frozen=True)
class ImageLayer:
    role: LayerRole
    diff_id: str


def created_time(source_date_epoch: str | None) -> str:
    if source_date_epoch and source_date_epoch.isdigit():
        moment = dt.datetime.fromtimestamp(int(source_date_epoch), tz=dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _NORMALIZED_TIME


def _env(run_env: Sequence[str], extra: Mapping[str, str]) -> list[str]:
    # The run image's order, with our values replacing its own, then ours that are new.
    env: dict[str, str] = {}
    for item in run_env:
        name, _, value = item.partition("=")
        env[name] = value
    run_path = env.get("PATH") or _DEFAULT_PATH
    env.update(extra)
    env["PATH"] = f"/cnb/process:/cnb/lifecycle:{run_path}"
    return [f"{name}={value}" for name, value in env.items()]


def image_config(
    run: RunImage,
    layers: Sequence[ImageLayer],
    records: Records,
    launch: LaunchMetadata,
    *,
    created: str,
    layers_dir: str,
    app_dir: str,
) -> bytes:
    base: dict[str, Any] = dict(run.config)
    run_config: dict[str, Any] = dict(base.get("config") or {})
    entrypoint = (
        [f"/cnb/process/{launch.default_type}"]
        if launch.default_type
        else ["/cnb/lifecycle/launcher"]
    )
    labels = dict(run_config.get("Labels") or {})
    labels.update(dict(records.labels))
    labels["io.buildpacks.lifecycle.metadata"] = canonical_json(
        _lifecycle_metadata(run, layers, records)
    ).decode()
    labels["io.buildpacks.build.metadata"] = canonical_json(_build_metadata(launch)).decode()
    run_config.pop("Cmd", None)
    run_config.update(
        {
            "Entrypoint": entrypoint,
            "Env": _env(
                run.env,
                {
                    "CNB_LAYERS_DIR": layers_dir,
                    "CNB_APP_DIR": app_dir,
                    "CNB_PLATFORM_API": PLATFORM_API,
                    "CNB_DEPRECATION_MODE": "quiet",
                },
            ),
            "WorkingDir": app_dir,
            "Labels": labels,
        }
    )
    history = list(base.get("history") or [])
    if history:
        history += [
            {"created": created, "created_by": f"pycnb: {layer.role.describe()} layer"}
            for layer in layers
        ]
    config: dict[str, Any] = {
        "architecture": base.get("architecture"),
        "os": base.get("os"),
        "created": created,
        "config": run_config,
        "rootfs": {
            "type": "layers",
            "diff_ids": [*run.diff_ids, *(layer.diff_id for layer in layers)],
        },
    }
    if base.get("variant"):
        config["variant"] = base["variant"]
    if history:
        config["history"] = history
    return canonical_json(config)


def _lifecycle_metadata(
    run: RunImage, layers: Sequence[ImageLayer], records: Records
) -> dict[str, Any]:
    by_role = {
        (layer.role.kind, layer.role.buildpack_id, layer.role.name): layer for layer in layers
    }

    def sha(kind: str) -> dict[str, str]:
        layer = by_role.get((kind, "", ""))
        return {"sha": layer.diff_id} if layer else {}

    buildpacks = []
    for bp in records.buildpacks:
        bp_layers = {}
        for record in bp.layers:
            layer = by_role.get(("buildpack", bp.id, record.name))
            if layer is None:
                continue
            bp_layers[record.name] = {
                "sha": layer.diff_id,
                "data": dict(record.metadata),
                "build": record.types.build,
                "launch": record.types.launch,
                "cache": record.types.cache,
            }
        entry: dict[str, Any] = {"key": bp.id, "version": bp.version, "layers": bp_layers}
        if bp.store is not None:
            entry["store"] = {"metadata": dict(bp.store)}
        buildpacks.append(entry)
    metadata: dict[str, Any] = {
        "app": [{"sha": layer.diff_id} for layer in layers if layer.role.kind == "app"],
        "config": sha("config"),
        "launcher": sha("launcher"),
        "buildpacks": buildpacks,
        "runImage": {
            "topLayer": run.diff_ids[-1] if run.diff_ids else "",
            "reference": run.manifest_digest,
            "image": run.reference,
        },
    }
    if sbom := sha("sbom"):
        metadata["sbom"] = sbom
    return metadata


def _build_metadata(launch: LaunchMetadata) -> dict[str, Any]:
    return {
        "buildpacks": [{"id": i, "version": v} for i, v, _ in launch.buildpacks],
        "processes": [
            {
                "type": p.type,
                "command": list(p.command),
                "args": list(p.args),
                "direct": True,
                "buildpackID": p.buildpack_id,
                **({"working-dir": p.working_dir} if p.working_dir else {}),
            }
            for p in sorted(launch.processes.values(), key=lambda p: p.type)
        ],
        "launcher": {"version": "pycnb-sh", "source": {}},
        "bom": None,
    }
