"""The environments buildpacks and the app see: build env accumulation and the launch env.

Copied from the lifecycle (`env/build.go`, `env/env.go`, `launch/launcher.go`):

- Buildpacks start from an allowlist of the platform's own env (rule 16), so a developer's
  VIRTUAL_ENV, PYTHONPATH or PIP_* never leak into a build.
- After each buildpack, only its `build = true` layers are folded into the shared env, one layer
  at a time in the order of their `.toml` file names: path dirs, then `env/`, then `env.build/`
  (rule 23, section 5.4/5.5).
- User env (`<platform>/env/`) goes on top for each invocation, not into the shared env: path
  vars are prepended with `:`, all others overwritten (rule 15), unless the buildpack says
  `clear-env` (rule 14).
- At launch the user env comes first and the buildpacks' launch env files on top (rule 50); per
  buildpack, the path dirs of all its layers first, then each layer's `env/`, `env.launch/`,
  `env.launch/<type>/` (rules 44-46).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pycnb.cnb.context import read_platform_env
from pycnb.cnb.layer_env import Modification, Phase, layer_path_env, read_env_dir
from pycnb.cnb.names import BuildpackId
from pycnb.platform.errors import InvalidEnvVar, InvalidUserEnv, UnreadableFile

__all__ = [
    "BUILD_ENV_ALLOWLIST",
    "LAUNCH_BASE_PATH",
    "PATH_LIKE_VARS",
    "BuildEnv",
    "base_build_env",
    "check_env",
    "check_user_env",
    "launch_base_env",
    "launch_env",
    "read_platform_env",
    "with_user_env",
    "write_platform_env",
]

# [L env/build.go]: BuildEnvIncludelist plus the vars of POSIXBuildEnv. The lifecycle also keeps
# CNB_STACK_ID, which left the contract with Buildpack API 0.10, the oldest this platform runs.
PATH_LIKE_VARS = ("PATH", "LD_LIBRARY_PATH", "LIBRARY_PATH", "CPATH", "PKG_CONFIG_PATH")
BUILD_ENV_ALLOWLIST = (
    *PATH_LIKE_VARS,
    "HOME",
    "HOSTNAME",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
)
# The PATH a typical run image sets; the launcher also drops these CNB vars (rule 49).
LAUNCH_BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_LAUNCHER_REMOVES = (
    "CNB_LAYERS_DIR",
    "CNB_APP_DIR",
    "CNB_PROCESS_TYPE",
    "CNB_PLATFORM_API",
    "CNB_DEPRECATION_MODE",
)


def base_build_env(host_env: Mapping[str, str]) -> dict[str, str]:
    """The platform's own env reduced to the allowlist (rule 16)."""
    return {name: host_env[name] for name in BUILD_ENV_ALLOWLIST if name in host_env}


def with_user_env(env: Mapping[str, str], user_env: Mapping[str, str]) -> dict[str, str]:
    """Apply user-provided vars verbatim on top of `env` (rule 15, [L env.go WithOverrides])."""
    result = dict(env)
    for name, value in user_env.items():
        if name in PATH_LIKE_VARS:
            current = result.get(name, "")
            result[name] = value + (os.pathsep + current if current else "")
        else:
            result[name] = value
    return result


def check_user_env(user_env: Mapping[str, str]) -> None:
    """User vars become files named after them, so the names must be file names."""
    for name, value in user_env.items():
        if not name or name in {".", ".."} or "/" in name or "\0" in name:
            raise InvalidUserEnv(name, "the name must be a non-empty file name (no '/', NUL)")
        if "=" in name:
            raise InvalidUserEnv(name, "the name must not contain '='")
        if "\0" in value:
            raise InvalidUserEnv(name, "the value must not contain a NUL byte")


def write_platform_env(platform_dir: Path, user_env: Mapping[str, str]) -> None:
    """Replace `<platform>/env/` with one file per var, contents verbatim (no trailing newline).

    Only this user may read them (0700 dir, 0600 files): `--env` passes credentials too."""
    env_dir = platform_dir / "env"
    staging = platform_dir / "env.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, mode=0o700)
    staging.chmod(0o700)  # mkdir's mode is filtered by the umask
    for name, value in user_env.items():
        # Created 0600, never readable by others even for a moment.
        fd = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(value.encode("utf-8", errors="surrogateescape"))
    shutil.rmtree(env_dir, ignore_errors=True)
    staging.rename(env_dir)


def check_env(env: Mapping[str, str], source: str) -> None:
    """Refuse what execve cannot pass on, with a message instead of a ValueError traceback."""
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            raise InvalidEnvVar(name, source, "a name must be non-empty, without '=' or NUL")
        if "\0" in value:
            raise InvalidEnvVar(name, source, "a value must not contain a NUL byte")


def _env_files(directory: Path) -> list[Modification]:
    try:
        return read_env_dir(directory)
    except OSError as error:
        raise UnreadableFile(Path(error.filename or directory), error.strerror or "") from None


def _apply(env: dict[str, str], modifications: Iterable[Modification]) -> None:
    for modification in modifications:
        modification.apply_to(env)


class BuildEnv:
    """The env shared by a whole build: the allowlisted base plus earlier buildpacks' layers."""

    def __init__(self, base: Mapping[str, str]) -> None:
        self._vars = dict(base)

    @property
    def vars(self) -> Mapping[str, str]:
        return dict(self._vars)

    def add_layer(self, layer_dir: Path) -> None:
        """Fold one `build = true` layer in: path dirs, then env/, then env.build/ [L]."""
        self._vars = layer_path_env(layer_dir).apply(Phase.BUILD, self._vars)
        _apply(self._vars, _env_files(layer_dir / "env"))
        _apply(self._vars, _env_files(layer_dir / "env.build"))

    def for_invocation(
        self, user_env: Mapping[str, str] | None, cnb_vars: Mapping[str, str]
    ) -> dict[str, str]:
        """The env of one bin/detect or bin/build: shared env, user env, then the CNB_* vars."""
        env = self._vars if user_env is None else with_user_env(self._vars, user_env)
        return {**env, **cnb_vars}


def launch_base_env(host_env: Mapping[str, str], user_env: Mapping[str, str]) -> dict[str, str]:
    """What the container would start with: a run image's PATH, HOME, HOSTNAME, and `-e` vars."""
    env = {"PATH": LAUNCH_BASE_PATH}
    for name in ("HOME", "HOSTNAME"):
        if name in host_env:
            env[name] = host_env[name]
    env.update(user_env)
    for name in _LAUNCHER_REMOVES:
        env.pop(name, None)
    return env


def launch_env(
    start: Mapping[str, str],
    layers_dir: Path,
    buildpack_ids: Sequence[str],
    process_type: str | None,
) -> dict[str, str]:
    """Apply the launch layers' env on top of `start`, as the launcher does (rules 44-46)."""
    env = dict(start)
    for buildpack_id in buildpack_ids:
        bp_dir = layers_dir / BuildpackId(buildpack_id).directory_name
        if not bp_dir.is_dir():
            continue
        layers = sorted(
            (p for p in bp_dir.iterdir() if p.is_dir()), key=lambda p: os.fsencode(p.name)
        )
        # [L launcher.go doEnv]: the root dirs of all layers, then every layer's env files.
        for layer in layers:
            env = layer_path_env(layer).apply(Phase.LAUNCH, env)
        for layer in layers:
            _apply(env, _env_files(layer / "env"))
            _apply(env, _env_files(layer / "env.launch"))
            if process_type is not None:
                _apply(env, _env_files(layer / "env.launch" / process_type))
    return env
