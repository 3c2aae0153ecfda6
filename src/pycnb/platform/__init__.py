"""The local platform: the CNB lifecycle (detect, restore, build, export, cache, launch) run
without a container, for `pycnb build`/`pycnb run` and for the integration tests.

It must never be more lenient than the real lifecycle: a build that passes here and fails under
`pack` is a bug here. "Rule N" in comments is the numbered conformance rule that
tests/conformance checks, by the same number.
"""

from pycnb.platform.creator import BuildpackRef, BuildResult, run_build, run_detect
from pycnb.platform.detect import DetectResult, GroupEntry, Order
from pycnb.platform.dirs import PlatformDirs, default_root
from pycnb.platform.errors import PlatformError
from pycnb.platform.export import ExportedLayer
from pycnb.platform.launch import Launch, prepare_launch
from pycnb.platform.target import TargetInfo

__all__ = [
    "BuildResult",
    "BuildpackRef",
    "DetectResult",
    "ExportedLayer",
    "GroupEntry",
    "Launch",
    "Order",
    "PlatformDirs",
    "PlatformError",
    "TargetInfo",
    "default_root",
    "prepare_launch",
    "run_build",
    "run_detect",
]
