"""Poetry's version constraint syntax, translated into PEP 440 specifier sets.

Pure text in, text out; `sources.py` turns the result into a `VersionRequest`.
"""

from __future__ import annotations

import re

__all__ = ["PoetryConstraintError", "poetry_to_pep440"]


class PoetryConstraintError(ValueError):
    pass


_POETRY_NUMBERS = re.compile(r"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?", re.ASCII)
_POETRY_WILDCARD = re.compile(r"(==|!=|=)?v?([0-9]+(?:\.[0-9]+){0,2})(?:\.[xX*])+", re.ASCII)
_POETRY_ANY = re.compile(r"v?[xX*](?:\.[xX*])*", re.ASCII)
_POETRY_BASIC = re.compile(r"(<=|>=|==|!=|<|>|=)?v?([0-9]+(?:\.[0-9]+)*)", re.ASCII)
# An operator followed by spaces belongs to the version after it: `>= 3.8` is one constraint.
_POETRY_OPERATOR_SPACE = re.compile(r"(\^|~=|~|<=|>=|==|!=|<|>|=)\s+")


def poetry_to_pep440(text: str) -> tuple[str, ...]:
    """Translate Poetry's constraint syntax (as poetry-core's `parse_constraint` reads it) into
    PEP 440 specifier sets, one per `||` alternative. `""` in the result means "any version".

    Follows poetry-core: `^` allows changes that keep the left-most non-zero part, `~X.Y[.Z]`
    allows patch changes (`~X` minor ones), `*`/`X.*` are wildcards, commas or spaces join
    constraints that must all hold. One deliberate difference: a bare `X.Y` (or `==X.Y`) means
    the whole series here, as in the `python_version == "X.Y"` marker Poetry derives from it;
    read as PEP 440's exact 3.11.0, it would rule out every patch release.
    """
    alternatives = []
    for alternative in re.split(r"\s*\|\|?\s*", text.strip()):
        joined = _POETRY_OPERATOR_SPACE.sub(r"\1", alternative.strip().rstrip(",").strip())
        parts = [part for part in re.split(r"[\s,]+", joined) if part]
        if not parts:
            raise PoetryConstraintError(text)
        specifiers = [s for part in parts for s in _poetry_single(part)]
        alternatives.append(",".join(specifiers))
    return tuple(alternatives)


def _poetry_single(part: str) -> list[str]:  # noqa: PLR0911 - one return per syntax
    if _POETRY_ANY.fullmatch(part):
        return []
    if part.startswith("^"):
        release = _poetry_release(part[1:])
        return [f">={_dotted(release)}", f"<{_dotted(_next_breaking(release))}"]
    if part.startswith("~") and not part.startswith("~="):
        release = _poetry_release(part[1:])
        upper = [release[0] + 1] if len(release) == 1 else [release[0], release[1] + 1]
        return [f">={_dotted(release)}", f"<{_dotted(upper)}"]
    if part.startswith("~="):
        return [part]  # PEP 440 already
    if match := _POETRY_WILDCARD.fullmatch(part):
        operator = "!=" if match.group(1) == "!=" else "=="
        return [f"{operator}{match.group(2)}.*"]
    if match := _POETRY_BASIC.fullmatch(part):
        operator, version = match.group(1) or "==", match.group(2)
        if operator in {"=", "=="}:
            # Bare X.Y: the series (see the docstring); X.Y.Z: exactly that release.
            return [f"=={version}.*" if version.count(".") < 2 else f"=={version}"]  # noqa: PLR2004
        return [f"{operator}{version}"]
    raise PoetryConstraintError(part)


def _poetry_release(text: str) -> list[int]:
    match = _POETRY_NUMBERS.fullmatch(text)
    if match is None:
        raise PoetryConstraintError(text)
    return [int(group) for group in match.groups() if group is not None]


def _next_breaking(release: list[int]) -> list[int]:
    # ^1.2.3 -> 2.0.0, ^0.2.3 -> 0.3.0, ^0.0.3 -> 0.0.4, ^0.0 -> 0.1, ^0 -> 1
    padded = [*release, 0, 0][:3]
    if padded[0] > 0 or len(release) == 1:
        return [padded[0] + 1]
    if padded[1] > 0 or len(release) == 2:  # noqa: PLR2004 - X.Y
        return [0, padded[1] + 1]
    return [0, 0, padded[2] + 1]


def _dotted(release: list[int]) -> str:
    return ".".join(str(part) for part in release)
