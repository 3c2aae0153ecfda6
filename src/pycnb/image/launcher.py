"""The image's launcher: how `docker run IMAGE` starts a process without the lifecycle's binary.

pycnb has no `launcher` executable to put in the image, so the image gets a POSIX sh one:

- `/cnb/lifecycle/launcher`: a constant script (the same bytes in every image, so its layer
  never changes), run by the run image's `/bin/sh`. Every CNB run image has one; a Python app
  needs the C library and friends anyway, so a shell-less base would not run it either.
- `/layers/config/launch.sh`: generated at export, sourced by the launcher. It holds what the
  lifecycle's launcher reads from the layers at run time: the env modifications of every launch
  layer (path dirs, `env/`, `env.launch/`, `env.launch/<type>/`) in the lifecycle's order, the
  exec.d programs, and each process's argv. The layers are read-only in an image, so reading
  them at export gives the same result as reading them at launch.
- `/cnb/process/<type>`: symlinks to the launcher; the image's ENTRYPOINT is the default one.

The rules copied from the lifecycle (`launch/launcher.go`, `env/launch.go`), as
`pycnb run` does: the container's env first, without `CNB_LAYERS_DIR`, `CNB_APP_DIR`,
`CNB_PROCESS_TYPE`, `CNB_PLATFORM_API` and `CNB_DEPRECATION_MODE`, and without `/cnb/process`
and `/cnb/lifecycle` on `PATH`; then the buildpacks' files on top; then exec.d (fd 3, TOML);
then `command[0]` looked up on the final `PATH` from the app dir, a `chdir` to the working dir,
and an exec with no shell: `command`, then the container's args if any, else `args`.

Differences, all documented in the README: exec.d output may only hold `NAME = "value"` lines
(no escape sequences); argv[0] is the resolved path rather than `command[0]` as written (POSIX
`exec` cannot set it); `launcher CMD...` runs CMD through bash without sourcing `profile.d`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pycnb.cnb.layer_env import Behavior, read_env_dir
from pycnb.image.errors import UnsupportedLaunchEnv
from pycnb.image.relocate import Relocation
from pycnb.platform.processes import Process

__all__ = ["LAUNCHER_PATH", "LAUNCHER_SCRIPT", "LaunchLayer", "launch_config_script"]

LAUNCHER_PATH = PurePosixPath("/cnb/lifecycle/launcher")
CONFIG_SCRIPT_PATH = PurePosixPath("/layers/config/launch.sh")
_SH_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

LAUNCHER_SCRIPT = r"""#!/bin/sh
# CNB launcher of images exported by pycnb (POSIX sh); /layers/config/launch.sh holds the
# image's env, exec.d programs and processes. Exit 82 for a launcher error, as the lifecycle.
# shellcheck disable=SC1091,SC2154 # the config is only in the image; it defines cnb_types...
set -eu
set -f
cnb_app_dir=/workspace
cnb_fail() { printf 'launcher: %s\n' "$*" >&2; exit 82; }
cnb_override() { export "$1=$2"; }
cnb_default() { eval "cnb_cur=\${$1-}"; [ -n "$cnb_cur" ] || export "$1=$2"; }
cnb_prepend() {
  eval "cnb_cur=\${$1-}"
  if [ -n "$cnb_cur" ]; then export "$1=$2$3$cnb_cur"; else export "$1=$2"; fi
}
cnb_append() {
  eval "cnb_cur=\${$1-}"
  if [ -n "$cnb_cur" ]; then export "$1=$cnb_cur$3$2"; else export "$1=$2"; fi
}
cnb_trim() {
  cnb_t=$1
  cnb_t=${cnb_t#"${cnb_t%%[! 	]*}"}
  cnb_t=${cnb_t%"${cnb_t##*[! 	]}"}
}
# One line of an exec.d program's TOML output: NAME = "value" (or 'value').
cnb_exec_d_line() {
  cnb_trim "$1"
  case $cnb_t in '' | '#'*) return 0 ;; esac
  cnb_line=$cnb_t
  case $cnb_line in
    *=*) ;;
    *) cnb_fail "exec.d program $2 wrote '$cnb_line', not NAME = \"value\"" ;;
  esac
  cnb_trim "${cnb_line%%=*}"
  cnb_key=$cnb_t
  cnb_trim "${cnb_line#*=}"
  cnb_value=$cnb_t
  case $cnb_key in
    '' | [0-9]* | *[!A-Za-z0-9_]*)
      cnb_fail "exec.d program $2 wrote the key '$cnb_key', which this launcher cannot set" ;;
  esac
  case $cnb_value in
    \"*\") cnb_value=${cnb_value#\"} cnb_value=${cnb_value%\"}
      case $cnb_value in
        *[\\\"]*) cnb_fail "exec.d program $2 wrote an escape sequence for $cnb_key, which" \
          "this launcher does not support" ;;
      esac ;;
    \'*\') cnb_value=${cnb_value#\'} cnb_value=${cnb_value%\'}
      case $cnb_value in
        *\'*) cnb_fail "exec.d program $2 wrote an invalid value for $cnb_key" ;;
      esac ;;
    *) cnb_fail "exec.d program $2 wrote a value for $cnb_key that is not a TOML string" ;;
  esac
  export "$cnb_key=$cnb_value"
}
cnb_exec_d() {
  exec 4>&1
  cnb_status=0
  cnb_out=$(cd "$cnb_app_dir" && "$1" 3>&1 1>&4 4>&-) || cnb_status=$?
  exec 4>&-
  [ "$cnb_status" -eq 0 ] || cnb_fail "exec.d program $1 failed (exit status $cnb_status)"
  while IFS= read -r cnb_read_line; do
    cnb_exec_d_line "$cnb_read_line" "$1"
  done <<cnb_end_of_output
$cnb_out
cnb_end_of_output
}
# Look $2 up on PATH from the app dir (as Go's exec.LookPath), cd to $1, and exec.
cnb_exec() {
  cnb_dir=$1
  shift
  cd "$cnb_app_dir" || cnb_fail "cannot enter $cnb_app_dir"
  case $1 in
    */*) [ -f "$1" ] && [ -x "$1" ] || cnb_fail "$1: no executable file at that path"
      cnb_bin=$1 ;;
    *) cnb_bin=
      cnb_ifs=$IFS
      IFS=:
      for cnb_entry in $PATH; do
        if [ -f "${cnb_entry:-.}/$1" ] && [ -x "${cnb_entry:-.}/$1" ]; then
          cnb_bin=${cnb_entry:-.}/$1
          break
        fi
      done
      IFS=$cnb_ifs
      [ -n "$cnb_bin" ] || cnb_fail "$1: not found on PATH ($PATH)"
      case $cnb_bin in
        /*) ;;
        *) cnb_fail "$1: found as $cnb_bin through a relative PATH entry, which is refused" ;;
      esac ;;
  esac
  cd "$cnb_dir" || cnb_fail "cannot enter the working directory $cnb_dir"
  shift
  exec "$cnb_bin" "$@"
}

. /layers/config/launch.sh

# The container's env, minus what the platform set for itself.
unset CNB_LAYERS_DIR CNB_APP_DIR CNB_PROCESS_TYPE CNB_PLATFORM_API CNB_DEPRECATION_MODE
cnb_path=
cnb_ifs=$IFS
IFS=:
for cnb_entry in ${PATH-}; do
  case $cnb_entry in /cnb/process | /cnb/lifecycle) continue ;; esac
  cnb_path=${cnb_path:+$cnb_path:}$cnb_entry
done
IFS=$cnb_ifs
export PATH="$cnb_path"

cnb_type=${0##*/}
cnb_mode=process
if [ "$cnb_type" = launcher ]; then
  if [ "$#" -gt 0 ] && [ "$1" = -- ]; then
    shift
    cnb_mode=direct
  elif [ "$#" -gt 0 ]; then
    cnb_mode=bash
  elif [ -n "$cnb_default_type" ]; then
    cnb_type=$cnb_default_type
  else
    cnb_fail "when there is no default process a command is required"
  fi
  [ "$cnb_mode" = process ] || cnb_type=
fi
if [ "$cnb_mode" = direct ] && [ "$#" -eq 0 ]; then
  cnb_fail "the command to run is empty"
fi
if [ -n "$cnb_type" ] && ! cnb_is_type "$cnb_type"; then
  cnb_fail "unknown process type '$cnb_type' (available: $cnb_types)"
fi
cnb_env "$cnb_type"
cnb_exec_d_all "$cnb_type"
case $cnb_mode in
  direct) cnb_exec "$cnb_app_dir" "$@" ;;
  bash)
    if [ "$#" -eq 1 ]; then cnb_exec "$cnb_app_dir" bash -c "$1"; fi
    cnb_exec "$cnb_app_dir" bash -c 'exec "$@"' bash "$@" ;;
  *) cnb_process "$cnb_type" "$@" ;;
esac
"""


@dataclass(frozen=True)
class LaunchLayer:
    buildpack_id: str
    host: Path  # the layer's directory as built
    image: PurePosixPath  # where it is in the image


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _case(cases: Sequence[tuple[str, Sequence[str]]], indent: str = "  ") -> list[str]:
    lines = [f"{indent}case $1 in"]
    for label, body in cases:
        lines.append(f"{indent}  {_quote(label)})")
        lines.extend(f"{indent}    {line}" for line in body)
        lines.append(f"{indent}    ;;")
    lines.append(f"{indent}esac")
    return lines


def _env_lines(directory: Path, relocation: Relocation) -> list[str]:
    lines = []
    for modification in read_env_dir(directory):
        if not _SH_NAME.fullmatch(modification.name):
            raise UnsupportedLaunchEnv(directory / modification.file_name, "not a shell name")
        value = _relocated(modification.value, relocation)
        delimiter = _relocated(modification.delimiter, relocation)
        match modification.behavior:
            case Behavior.OVERRIDE:
                lines.append(f"cnb_override {modification.name} {_quote(value)}")
            case Behavior.DEFAULT:
                lines.append(f"cnb_default {modification.name} {_quote(value)}")
            case Behavior.PREPEND:
                lines.append(f"cnb_prepend {modification.name} {_quote(value)} {_quote(delimiter)}")
            case Behavior.APPEND:
                lines.append(f"cnb_append {modification.name} {_quote(value)} {_quote(delimiter)}")
    return lines


def _relocated(value: str, relocation: Relocation) -> str:
    data, _ = relocation.contents("", value.encode(errors="surrogateescape"))
    return data.decode(errors="surrogateescape")


def _programs(directory: Path, image_dir: PurePosixPath) -> list[str]:
    if not directory.is_dir():
        return []
    names = sorted((p.name for p in directory.iterdir() if not p.is_dir()), key=os.fsencode)
    return [f"cnb_exec_d {_quote(str(image_dir / name))}" for name in names]


def launch_config_script(
    layers: Sequence[LaunchLayer],
    processes: Sequence[Process],
    default_type: str | None,
    relocation: Relocation,
    app_dir: PurePosixPath,
) -> bytes:
    """`/layers/config/launch.sh`: `layers` in buildpack order, then layer name order."""
    types = [p.type for p in processes]
    out = [
        "# Generated by pycnb at export: sourced by /cnb/lifecycle/launcher.",
        f"cnb_types={_quote(' '.join(types))}",
        f"cnb_default_type={_quote(default_type or '')}",
        "cnb_is_type() {",
        *_case([(t, ["return 0"]) for t in types]),
        "  return 1",
        "}",
        "cnb_env() {",
        "  :",
        *_env_function(layers, types, relocation),
        "}",
        "cnb_exec_d_all() {",
        "  :",
    ]
    for layer in layers:
        # [L]: per layer, its general programs, then those of the process type (D7).
        out.extend(f"  {line}" for line in _programs(layer.host / "exec.d", layer.image / "exec.d"))
        out.extend(
            _case_if_any(
                (t, _programs(layer.host / "exec.d" / t, layer.image / "exec.d" / t))
                for t in types
                if (layer.host / "exec.d" / t).is_dir()
            )
        )
    out += ["}", "cnb_process() {", "  cnb_t=$1", "  shift"]
    cases = [(p.type, _process_lines(p, relocation, app_dir)) for p in processes]
    out += [line.replace("case $1 in", "case $cnb_t in", 1) for line in _case(cases)]
    out += ['  cnb_exec "$cnb_workdir" "$@"', "}", ""]
    return "\n".join(out).encode(errors="surrogateescape")


def _case_if_any(cases: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
    listed = list(cases)
    return _case(listed) if listed else []


def _env_function(
    layers: Sequence[LaunchLayer], types: Sequence[str], relocation: Relocation
) -> list[str]:
    out: list[str] = []
    by_bp: dict[str, list[LaunchLayer]] = {}
    for layer in layers:
        by_bp.setdefault(layer.buildpack_id, []).append(layer)
    for bp_layers in by_bp.values():
        # [L launcher.go doEnv]: the path dirs of all the buildpack's layers, then env files.
        for layer in bp_layers:
            for subdir, name in (("bin", "PATH"), ("lib", "LD_LIBRARY_PATH")):
                if (layer.host / subdir).is_dir():
                    out.append(f"  cnb_prepend {name} {_quote(str(layer.image / subdir))} ':'")
        for layer in bp_layers:
            out.extend(f"  {line}" for line in _env_lines(layer.host / "env", relocation))
            out.extend(f"  {line}" for line in _env_lines(layer.host / "env.launch", relocation))
            out.extend(
                _case_if_any(
                    (t, _env_lines(layer.host / "env.launch" / t, relocation))
                    for t in types
                    if (layer.host / "env.launch" / t).is_dir()
                )
            )
    return out


def _process_lines(process: Process, relocation: Relocation, app_dir: PurePosixPath) -> list[str]:
    command = " ".join(_quote(_relocated(c, relocation)) for c in process.command)
    args = " ".join(_quote(_relocated(a, relocation)) for a in process.args)
    working_dir = app_dir / process.working_dir if process.working_dir else app_dir
    # The container's args replace `args`; `command` is always kept (6.3).
    return [
        f"cnb_workdir={_quote(_relocated(str(working_dir), relocation))}",
        'if [ "$#" -gt 0 ]; then',
        f'  set -- {command} "$@"',
        "else",
        f"  set -- {command} {args}",
        "fi",
    ]
