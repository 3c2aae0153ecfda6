"""What installing the Python runtime (manifest, download, archive) tells the user on failure."""

from __future__ import annotations

from pycnb.buildpack.errors import render
from pycnb.buildpack.output import Message
from pycnb.buildpack.python.archive import InvalidArchive, UnsafeArchiveMember
from pycnb.buildpack.python.download import ChecksumMismatch, DownloadFailed
from pycnb.buildpack.python.manifest import InvalidManifest, InvalidMirror, ManifestUnavailable


@render.register
def _render_manifest_unavailable(error: ManifestUnavailable) -> Message:
    source = error.source
    reason = error.reason
    return Message(
        "The Python runtime manifest could not be read",
        f"{source}: {reason}",
        "Check BP_PYTHON_MANIFEST: it must be a path or a file://, http:// or https:// "
        "URL of a manifest file.",
    )


@render.register
def _render_invalid_manifest(error: InvalidManifest) -> Message:
    source = error.source
    problems = error.problems
    listing = "\n".join(f"  - {problem}" for problem in problems)
    return Message(
        "The Python runtime manifest is invalid",
        f"{source}:\n{listing}",
        'Fix the manifest. Its format is {"schema": 1, "distributions": [{"version", '
        '"os", "arch", "url", "sha256"}, ...]}.',
    )


@render.register
def _render_invalid_mirror(error: InvalidMirror) -> Message:
    mirror = error.mirror
    reason = error.reason
    return Message(
        "BP_PYTHON_MIRROR is not a usable URL",
        f"{mirror!r}: {reason}",
        "Set BP_PYTHON_MIRROR to the base URL of a mirror of the python-build-standalone "
        "release downloads, such as https://mirror.example.com/python-build-standalone.",
    )


@render.register
def _render_download_failed(error: DownloadFailed) -> Message:
    url = error.url
    reason = error.reason
    attempts = error.attempts
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    return Message(
        "Downloading Python failed",
        f"{url}\n{reason}{tries}",
        "Check the network connection of the build, or point BP_PYTHON_MIRROR at a "
        "mirror of the Python archives that this build can reach.",
    )


@render.register
def _render_checksum_mismatch(error: ChecksumMismatch) -> Message:
    url = error.url
    expected = error.expected
    actual = error.actual
    return Message(
        "The downloaded Python archive does not match its checksum",
        f"{url}\nexpected sha256 {expected}\nreceived sha256 {actual}\n\n"
        "The file was not used. A mirror serving a different file, or a corrupted "
        "download, causes this.",
        "Retry the build. If it fails again, check BP_PYTHON_MIRROR or the manifest.",
    )


@render.register
def _render_invalid_archive(error: InvalidArchive) -> Message:
    archive = error.archive
    reason = error.reason
    return Message(
        "The Python archive is not usable",
        f"{archive}: {reason}",
        "Check that the manifest points at a python-build-standalone "
        "`install_only` archive (.tar.gz with a top-level python/ directory).",
    )


@render.register
def _render_unsafe_archive_member(error: UnsafeArchiveMember) -> Message:
    archive = error.archive
    member = error.member
    reason = error.reason
    return Message(
        "The Python archive contains an unsafe file",
        f"{archive}: {member!r} {reason}. Nothing from it was installed.",
        "Use an archive from a trusted source.",
    )
