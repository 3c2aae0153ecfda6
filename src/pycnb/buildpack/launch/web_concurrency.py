"""The web-defaults layer: launch-time defaults for web servers, `PORT` and `WEB_CONCURRENCY`.

launch only, not cached: it holds a tiny program and an env file, rewritten on every build.

- `PORT.default = 8080` (env.launch): platforms set PORT; when one doesn't, 8080 is the CNB
  convention, and a Procfile written for Heroku (`--bind 0.0.0.0:$PORT`) still works. `.default`,
  so the platform's or the user's value wins.
- `exec.d/web-concurrency` sets `WEB_CONCURRENCY` at each launch, which gunicorn and uvicorn read
  as their number of worker processes, from the limits of the container it runs in: those are
  only known at launch, and the same image runs in containers of any size. It does nothing when
  the user has set WEB_CONCURRENCY.

The formula is Heroku's, `min(2 * CPUs + 1, memory / 256 MiB)`: gunicorn's advice for CPU-bound
work, but at least 256 MiB per worker so a small container is not pushed into swapping or
killed. At least 1 worker, at most 32 (past that a single process group is rarely the best way
to use a machine, and each worker holds a copy of the app).

Why POSIX sh and not Python: at launch `python3` on PATH is the *app's* interpreter (the venv's
bin comes first), which may be any version and imports whatever `.pth` files the app's
dependencies install; exec.d runs before every process, including one-off commands, so it must
be quick and must not depend on the app. `/bin/sh` is in every run image a Python app can run
on. Any failure to read a value falls back to the next source, never to an error: a non-zero
exit would stop the container from starting (the launcher exits 82).
"""

from __future__ import annotations

from dataclasses import dataclass

from pycnb.buildpack.launch.processes import DEFAULT_PORT
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope
from pycnb.cnb.names import LayerName

__all__ = [
    "EXEC_D_NAME",
    "EXEC_D_PROGRAM",
    "LAYER_NAME",
    "MAX_WORKERS",
    "MEMORY_PER_WORKER",
    "WebDefaultsLayerMetadata",
    "add_web_defaults",
]

LAYER_NAME = LayerName("web-defaults")
EXEC_D_NAME = "web-concurrency"
MEMORY_PER_WORKER = 256 * 1024 * 1024
MAX_WORKERS = 32

# The launcher runs this with no arguments; tests pass other roots for /sys/fs/cgroup and /proc.
# Values are read with `read` (no forks) and checked to be plain numbers before any arithmetic:
# sh arithmetic on text is an error, and it is 64-bit, so 19+ digits (cgroup v1's "unlimited",
# 9223372036854771712) are treated as no limit rather than risking an overflow.
EXEC_D_PROGRAM = rf"""#!/bin/sh
# pycnb: set WEB_CONCURRENCY (gunicorn's and uvicorn's worker count) from the container's CPU
# and memory limits, unless it is already set. exec.d protocol: TOML on file descriptor 3.
# Formula: min(2 * CPUs + 1, memory / 256 MiB), at least 1, at most {MAX_WORKERS}.
set -f

if [ -n "${{WEB_CONCURRENCY:-}}" ]; then
	exit 0
fi

cgroup=${{1:-/sys/fs/cgroup}}
proc=${{2:-/proc}}

# Sets $line to the first line of file $1, or to nothing.
read_line() {{
	line=
	if [ -f "$1" ] && [ -r "$1" ]; then
		IFS= read -r line <"$1" || :
	fi
}}

# Succeeds when $1 is a decimal number small enough for sh arithmetic.
is_number() {{
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	[ "${{#1}}" -le 18 ]
}}

memory=
quota=
period=
if [ -f "$cgroup/cgroup.controllers" ]; then
	# cgroup v2: memory.max is "max" or bytes; cpu.max is "max 100000" or "<quota> <period>".
	read_line "$cgroup/memory.max"
	if is_number "$line"; then memory=$line; fi
	read_line "$cgroup/cpu.max"
	quota=${{line%% *}}
	period=${{line#* }}
else
	# cgroup v1: no limit is a huge number for memory and -1 for the CPU quota.
	read_line "$cgroup/memory/memory.limit_in_bytes"
	if is_number "$line"; then memory=$line; fi
	for dir in "$cgroup/cpu" "$cgroup/cpu,cpuacct"; do
		if [ -f "$dir/cpu.cfs_quota_us" ]; then
			read_line "$dir/cpu.cfs_quota_us"
			quota=$line
			read_line "$dir/cpu.cfs_period_us"
			period=$line
			break
		fi
	done
fi

# The host's memory bounds the cgroup's (a limit above it means no limit).
if [ -f "$proc/meminfo" ]; then
	while read -r key value _; do
		if [ "$key" = "MemTotal:" ] && is_number "$value"; then
			host_memory=$((value * 1024))
			if [ -z "$memory" ] || [ "$host_memory" -lt "$memory" ]; then
				memory=$host_memory
			fi
			break
		fi
	done <"$proc/meminfo"
fi

# The CPUs this process may run on (nproc honours cpusets), then the CFS quota, rounded up.
cpus=$(nproc 2>/dev/null) || cpus=
if ! is_number "$cpus" || [ "$cpus" -lt 1 ]; then
	cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null) || cpus=
fi
if ! is_number "$cpus" || [ "$cpus" -lt 1 ]; then
	cpus=1
fi
if is_number "$quota" && is_number "$period" && [ "$period" -gt 0 ]; then
	quota_cpus=$(((quota + period - 1) / period))
	if [ "$quota_cpus" -ge 1 ] && [ "$quota_cpus" -lt "$cpus" ]; then
		cpus=$quota_cpus
	fi
fi

workers=$((2 * cpus + 1))
if [ -n "$memory" ]; then
	memory_workers=$((memory / {MEMORY_PER_WORKER}))
	if [ "$memory_workers" -lt "$workers" ]; then
		workers=$memory_workers
	fi
fi
if [ "$workers" -lt 1 ]; then
	workers=1
elif [ "$workers" -gt {MAX_WORKERS} ]; then
	workers={MAX_WORKERS}
fi

printf 'WEB_CONCURRENCY = "%s"\n' "$workers" >&3
"""


@dataclass(frozen=True)
class WebDefaultsLayerMetadata:
    # Nothing decides reuse: the layer is not cached and is written afresh on every build.
    pass


def add_web_defaults(ctx: BuildContext, out: Output) -> None:
    layer = ctx.uncached_layer(LAYER_NAME, build=False, launch=True)
    program = layer.path / "exec.d" / EXEC_D_NAME
    program.parent.mkdir()
    program.write_text(EXEC_D_PROGRAM)
    program.chmod(0o755)  # the launcher executes it directly
    layer.write_env(LayerEnv().add(Scope.LAUNCH, Behavior.DEFAULT, "PORT", str(DEFAULT_PORT)))
    layer.write_metadata(WebDefaultsLayerMetadata())
    out.info(
        f"At launch, PORT defaults to {DEFAULT_PORT} and WEB_CONCURRENCY to "
        f"min(2 * CPUs + 1, memory / 256 MiB) from the container's limits, unless they are set"
    )
