"""Python runtimes for the buildpack's manifest, made outside any build.

Not part of the lifecycle: the local platform uses `local_python` when the upstream download host
is unreachable, and tests and the benchmark use it to get runtimes without network access.
"""
