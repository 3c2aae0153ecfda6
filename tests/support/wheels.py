"""Real, tiny, pure-Python wheels for tests, so installs never need the public index.

The wheels follow the binary distribution format closely enough for pip, uv and Poetry: a
`py3-none-any` tag, METADATA 2.1 with Requires-Dist/Provides-Extra, a WHEEL file and a RECORD with
sha256 digests. The bytes depend only on the arguments (fixed zip timestamps, sorted entries).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["import_name", "make_wheel", "wheel_filename"]

# ZIP cannot store dates before 1980; any fixed date makes the bytes reproducible.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def import_name(name: str) -> str:
    """The top-level package a test wheel provides: `My-Lib.x` -> `my_lib_x`."""
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_filename(name: str, version: str, tag: str = "py3-none-any") -> str:
    """The wheel's file name, with the name and version escaped as the wheel spec asks."""
    return f"{import_name(name)}-{_escaped_version(version)}-{tag}.whl"


def make_wheel(
    dest_dir: Path,
    name: str,
    version: str,
    *,
    dependencies: Iterable[str] = (),
    modules: Mapping[str, str] | None = None,
    extras: Mapping[str, Iterable[str]] | None = None,
    requires_python: str | None = None,
    console_scripts: Mapping[str, str] | None = None,
    tag: str = "py3-none-any",
) -> Path:
    """Write a wheel into `dest_dir` and return its path.

    The wheel holds `<import_name>/__init__.py` defining `__version__`; `modules` adds files or
    replaces that one (keys are archive paths such as `"pkg/cli.py"`). `dependencies` and the
    lists in `extras` are PEP 508 requirement strings. `console_scripts` maps a script name to an
    entry point such as `"pkg.cli:main"`. `tag` stands for a compiled wheel's tags (such as
    `cp312-cp312-manylinux_2_17_x86_64`), though the wheel holds only Python code.
    """
    dist_info = f"{import_name(name)}-{_escaped_version(version)}.dist-info"
    files: dict[str, bytes] = {
        f"{import_name(name)}/__init__.py": f"__version__ = {version!r}\n".encode(),
    }
    for path, text in (modules or {}).items():
        if path.startswith((dist_info, "/")) or ".." in path.split("/"):
            raise ValueError(f"not a module path for a wheel: {path!r}")
        files[path] = text.encode()

    metadata = _metadata(name, version, dependencies, extras or {}, requires_python)
    files[f"{dist_info}/METADATA"] = metadata.encode()
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: pycnb-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
    ).encode()
    if console_scripts:
        lines = [f"{script} = {target}" for script, target in sorted(console_scripts.items())]
        files[f"{dist_info}/entry_points.txt"] = "[console_scripts]\n{}\n".format(
            "\n".join(lines)
        ).encode()

    record_path = f"{dist_info}/RECORD"
    ordered = sorted(files, key=lambda p: (p.startswith(dist_info), p))
    files[record_path] = _record(ordered, files, record_path)
    ordered.append(record_path)  # RECORD goes last, as installers expect

    dest_dir.mkdir(parents=True, exist_ok=True)
    wheel = dest_dir / wheel_filename(name, version, tag)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in ordered:
            info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[path])
    wheel.write_bytes(buffer.getvalue())
    return wheel


def _escaped_version(version: str) -> str:
    # Normalized (1.0.0-rc1 -> 1.0.0rc1), and `-` never appears in a wheel file name's version.
    return str(Version(version)).replace("-", "_")


def _metadata(
    name: str,
    version: str,
    dependencies: Iterable[str],
    extras: Mapping[str, Iterable[str]],
    requires_python: str | None,
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {Version(version)}"]
    lines.append(f"Summary: {name}, a test package made by pycnb's tests")
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Requires-Dist: {Requirement(dep)}" for dep in dependencies)
    for extra, requirements in extras.items():
        normalized = canonicalize_name(extra)
        lines.append(f"Provides-Extra: {normalized}")
        lines.extend(
            f"Requires-Dist: {_with_extra_marker(req, normalized)}" for req in requirements
        )
    return "\n".join(lines) + "\n"


def _with_extra_marker(requirement: str, extra: str) -> str:
    parsed = Requirement(requirement)
    marker = parsed.marker
    parsed.marker = None
    condition = f'extra == "{extra}"' if marker is None else f'({marker}) and extra == "{extra}"'
    return f"{parsed}; {condition}"


def _record(ordered: list[str], files: Mapping[str, bytes], record_path: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path in ordered:
        digest = base64.urlsafe_b64encode(hashlib.sha256(files[path]).digest()).rstrip(b"=")
        writer.writerow([path, f"sha256={digest.decode()}", len(files[path])])
    writer.writerow([record_path, "", ""])
    return out.getvalue().encode()
