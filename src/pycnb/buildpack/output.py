"""The build log: one header per step, one line per decision, durations for slow steps.

Every line the buildpack prints goes through `Output`, so the transcript stays consistent and
tests can read it. Nothing here ever prints an env var's value: user env may hold credentials.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["Message", "Output"]


@dataclass(frozen=True)
class Message:
    """A user-facing error or warning: what is wrong, the details, and how to fix it."""

    title: str
    details: str = ""
    fix: str = ""


@dataclass
class Output:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def header(self, title: str) -> None:
        self._write(self.stdout, f"\n## {title}")

    def info(self, line: str) -> None:
        self._write(self.stdout, f"- {line}")

    def detail(self, line: str) -> None:
        self._write(self.stdout, f"  {line}")

    def reasons(self, intro: str, reasons: Sequence[str]) -> None:
        self.info(intro)
        for reason in reasons:
            self.detail(f"- {reason}")

    def warning(self, message: Message) -> None:
        self._write(self.stderr, _render("WARNING", message))

    def error(self, message: Message) -> None:
        self._write(self.stderr, _render("ERROR", message))

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        """Print `description`, run the block, then say how long it took."""
        self.info(f"{description}...")
        started = time.monotonic()
        yield
        self.detail(f"Done ({format_duration(time.monotonic() - started)})")

    def _write(self, stream: TextIO, text: str) -> None:
        stream.write(text + "\n")
        # Buildpack output interleaves with tools' output on the same terminal.
        stream.flush()


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:  # noqa: PLR2004
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _render(kind: str, message: Message) -> str:
    lines = ["", f"[{kind}] {message.title}"]
    if message.details:
        lines += ["", message.details.rstrip()]
    if message.fix:
        lines += ["", message.fix.rstrip()]
    return "\n".join(lines) + "\n"
