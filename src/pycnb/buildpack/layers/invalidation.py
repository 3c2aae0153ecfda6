"""Why a cached layer no longer fits: every changed input, each with a human label."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

__all__ = ["changed_inputs"]


def changed_inputs(old: object, new: object, labels: Mapping[str, str]) -> list[str]:
    """One reason per metadata field that differs. Every field must have a label, so adding a
    field to a layer's metadata forces saying why it invalidates the layer."""
    if not dataclasses.is_dataclass(new) or type(old) is not type(new):
        raise TypeError("compare two metadata instances of the same dataclass")
    reasons = []
    for field in dataclasses.fields(new):
        before, after = getattr(old, field.name), getattr(new, field.name)
        if before != after:
            reasons.append(_describe(labels[field.name], before, after))
    return reasons


def _describe(label: str, before: object, after: object) -> str:
    # Digests mean nothing to a reader: say that the input changed, not from what to what.
    if isinstance(before, str) and len(before) == 64:  # noqa: PLR2004
        return f"The {label} changed"
    return f"The {label} changed from {before} to {after}"
