"""Standard-library modules that newer Pythons removed, for errors that name the right fix.

An old app (or an old dependency) that imports `cgi` on Python 3.13 fails with "No module named
'cgi'", which reads like a missing package. The fix is a Python that still has it, or a release
of the dependency that no longer imports it. Sources: PEP 594 (removed in 3.13), PEP 632
(distutils, 3.12), and the "Removed" sections of the What's New documents of 3.12 and 3.13.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RemovedModule", "removed_from_stdlib"]


@dataclass(frozen=True)
class RemovedModule:
    name: str
    removed_in: str  # the first Python without it, "3.13"
    last_with_it: str  # "3.12"


_REMOVED_IN = {
    "3.12": ("distutils", "imp", "asynchat", "asyncore", "smtpd"),
    "3.13": (
        "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "lib2to3", "mailcap",
        "msilib", "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau",
        "telnetlib", "uu", "xdrlib",
    ),
}  # fmt: skip

_BY_NAME = {
    name: RemovedModule(name, version, f"3.{int(version.split('.')[1]) - 1}")
    for version, names in _REMOVED_IN.items()
    for name in names
}


def removed_from_stdlib(module: str) -> RemovedModule | None:
    """The removed standard-library module that `module` (dotted) belongs to, if any."""
    return _BY_NAME.get(module.split(".", 1)[0])
