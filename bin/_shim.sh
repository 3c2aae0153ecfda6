# shellcheck shell=sh
# Sourced by bin/detect and bin/build. Defines `pycnb_run PHASE [ARG...]`, which finds a CPython
# >= 3.11 to run the buildpack's own code and execs it, isolated, in the current directory (the
# app dir). Uses shell builtins only: the PATH a platform hands us may hold nothing but Python.
#
# Why the care: a pyenv shim (or a similar wrapper) picks its interpreter from the current
# directory's `.python-version`, and the current directory is the app, which may ask for a Python
# the buildpack cannot run on (3.10, say). So each candidate is probed from `/`, with pyenv's
# selection variables unset, and what runs the buildpack is the real interpreter the probe
# reports (`sys.executable`), never the shim.

# `python3` first: it is the builder's own interpreter, and on most builders new enough. The
# versioned names are the fallback for images whose `python3` is older. (Trying them first costs
# a failing process per name where pyenv has shims for versions that are not selected.)
pycnb_candidates='python3 python3.14 python3.13 python3.12 python3.11'

# Prints the path of the first real CPython >= 3.11 among the candidates; fails if there is none.
pycnb_find_python() {
    for pycnb_candidate in $pycnb_candidates; do
        command -v "$pycnb_candidate" >/dev/null 2>&1 || continue
        pycnb_found=$(
            cd / || exit 1
            unset PYENV_VERSION PYENV_DIR
            "$pycnb_candidate" -I -c 'import sys
if sys.implementation.name == "cpython" and sys.version_info >= (3, 11) and sys.executable:
    print(sys.executable)' 2>/dev/null
        ) || continue
        if [ -n "$pycnb_found" ] && [ -f "$pycnb_found" ] && [ -x "$pycnb_found" ]; then
            printf '%s\n' "$pycnb_found"
            return 0
        fi
    done
    return 1
}

pycnb_run() {
    pycnb_phase=$1
    shift
    # The buildpack root is the directory above bin/ (`pycnb_bin_dir`, set by the caller).
    : "${pycnb_bin_dir:?set by bin/detect or bin/build}"
    pycnb_bp_dir=$(cd "$pycnb_bin_dir/.." && pwd -P)
    if [ ! -f "$pycnb_bp_dir/lib/pycnb/buildpack/main.py" ]; then
        printf '%s\n' "pycnb: $pycnb_bp_dir/lib/pycnb is missing: run a buildpack made by 'pycnb package', not the source checkout" >&2
        exit 1
    fi
    if ! pycnb_python=$(pycnb_find_python); then
        printf '%s\n' "pycnb: found no CPython >= 3.11 to run the buildpack (looked for $pycnb_candidates on PATH); the builder image must provide python3 >= 3.11 on PATH" >&2
        exit 1
    fi
    # -I: the app's PYTHONPATH, PYTHONHOME, user site and current directory must not reach the
    # buildpack's own interpreter. -S: nor what the interpreter itself has installed (lib/ bundles
    # all the buildpack needs), and no site-packages .pth files run on every phase.
    exec "$pycnb_python" -I -S -c 'import sys; sys.path.insert(0, sys.argv[1]); from pycnb.buildpack.main import main; sys.exit(main(sys.argv[2:]))' "$pycnb_bp_dir/lib" "$pycnb_phase" "$@"
}
