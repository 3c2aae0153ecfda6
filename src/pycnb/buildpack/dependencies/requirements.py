"""What decides the content of a pip-installed environment, read from requirements files.

The venv layer is reused only when nothing that decides its content changed. For pip that is
requirements.txt *and every file it pulls in* (`-r`, `-c`), so this module follows the includes
and hashes them all. Some requirements make reuse unsafe whatever the files say, because what they
install can change without any requirements file changing: local paths and editable installs (the
app's own code), VCS and other direct URLs (a branch moves), and `${VAR}` references (the value
lives outside the file). Those are reported with file and line, never with the line's text, which
may carry credentials.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from pycnb.buildpack.errors import DependencyError

__all__ = [
    "RequirementsError",
    "RequirementsFileMissing",
    "RequirementsInputs",
    "logical_lines",
    "read_requirements_inputs",
]

# pip: a comment starts at a `#` at line start or after whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")
# `-r file`, `-rfile`, `--requirement file`, `--requirement=file`, and the same for -c.
_INCLUDE = re.compile(r"^(?:-[rc]\s*|--(?:requirement|constraint)(?:\s*=\s*|\s+))(?P<file>\S.*)$")
_EDITABLE = re.compile(r"^(-e|--editable)(\s|=|$)")
_LOCATION_OPTION = re.compile(
    r"^(-f|--find-links|-i|--index-url|--extra-index-url)(?:\s*=\s*|\s+)(\S+)"
)
_VCS = re.compile(r"\b(git|hg|svn|bzr)\+")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz")


class RequirementsError(DependencyError):
    pass


@dataclass
class RequirementsFileMissing(RequirementsError):
    path: Path  # the file that could not be read
    included_from: Path | None  # the requirements file whose -r/-c named it
    line_number: int | None

    def __str__(self) -> str:
        return f"{self.path} not found"


@dataclass(frozen=True)
class RequirementsInputs:
    files: tuple[Path, ...]  # requirements.txt first, then includes in the order pip reads them
    digest: str  # sha256 over every file's relative path and bytes
    # Why the environment must never be reused ("requirements.txt:3: an editable install").
    not_reusable: tuple[str, ...] = field(default=())


def read_requirements_inputs(
    app_dir: Path, root_file: str = "requirements.txt"
) -> RequirementsInputs:
    reader = _Reader(app_dir)
    reader.visit(app_dir / root_file, included_from=None, line_number=None)
    return RequirementsInputs(tuple(reader.files), reader.digest.hexdigest(), tuple(reader.reasons))


class _Reader:
    def __init__(self, app_dir: Path) -> None:
        self.app_dir = app_dir
        self.files: list[Path] = []
        self.reasons: list[str] = []
        self.digest = hashlib.sha256()

    def visit(self, path: Path, *, included_from: Path | None, line_number: int | None) -> None:
        if path.resolve() in (seen.resolve() for seen in self.files):
            return  # an include cycle, or a file included twice: once is enough for the key
        try:
            content = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise RequirementsFileMissing(path, included_from, line_number) from None
        self.files.append(path)
        label = _relative(path, self.app_dir)
        self.digest.update(label.encode() + b"\0" + content + b"\0")
        for number, line in logical_lines(content.decode("utf-8", errors="replace")):
            self._read_line(path, number, line, where=f"{label}:{number}")

    def _read_line(self, path: Path, number: int, line: str, *, where: str) -> None:
        if "${" in line:
            self.reasons.append(f"{where}: refers to an environment variable")
        if include := _INCLUDE.match(line):
            target = include.group("file").strip()
            if _URL.match(target):
                self.reasons.append(f"{where}: includes a file from a URL")
            else:
                self.visit(path.parent / target, included_from=path, line_number=number)
        elif _EDITABLE.match(line):
            self.reasons.append(f"{where}: an editable install")
        elif location := _LOCATION_OPTION.match(line):
            if not _URL.match(location.group(2)) or location.group(2).startswith("file:"):
                self.reasons.append(f"{where}: a package location on the local disk")
        elif not line.startswith("-") and (reason := _direct_reference(line)):
            self.reasons.append(f"{where}: {reason}")


def _direct_reference(requirement: str) -> str | None:
    """Why a requirement line installs something that can change under the same name, if it does."""
    if _VCS.search(requirement):
        return "a version control (VCS) URL"
    spec = requirement.split(";", 1)[0].strip()
    target = spec.split("@", 1)[1].strip() if "@" in spec and not _URL.match(spec) else spec
    if target.startswith("file:"):
        return "a local path"
    if _URL.match(target):
        return "a direct URL"
    if target.startswith((".", "/", "~")) or "/" in target or target.endswith(_ARCHIVE_SUFFIXES):
        return "a local path"
    return None


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines as pip sees them: comments removed, `\\` continuations joined, blanks dropped. Each
    keeps the number of its first physical line."""
    result: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        line = _COMMENT.sub("", raw)
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            result.append((start, line))
    if pending.strip():
        result.append((start, pending.strip()))
    return result


def _relative(path: Path, app_dir: Path) -> str:
    try:
        return str(path.relative_to(app_dir))
    except ValueError:
        return str(path)
