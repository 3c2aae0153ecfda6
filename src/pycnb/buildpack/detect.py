"""Detection: does this directory look like a Python project?

Detect passes generously, including for projects that lack the file they need (a misspelled
requirements.txt, a Pipfile), so that build can explain what is missing instead of the platform
reporting "no buildpack detected".
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DETECTION_FILES", "detected_files"]

DETECTION_FILES = (
    # Package manager files
    "requirements.txt",
    "pyproject.toml",
    "poetry.lock",
    "uv.lock",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "Pipfile.lock",
    "pdm.lock",
    "conda.yml",
    "environment.yml",
    # Python version files
    ".python-version",
    "runtime.txt",
    # Common entry points
    "manage.py",
    "app.py",
    "main.py",
    "wsgi.py",
    "asgi.py",
    # Misspellings and variants of requirements.txt seen in the wild
    "requirement.txt",
    "Requirements.txt",
    "requirements.text",
    "requirements.txt.txt",
    "requirments.txt",
    "requirements.in",
    "requirements",
    "requirements-prod.txt",
)


def detected_files(app_dir: Path) -> list[str]:
    return [name for name in DETECTION_FILES if (app_dir / name).exists()]
