"""Poetry's constraint syntax, translated into PEP 440."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from pycnb.buildpack.python.poetry_constraint import PoetryConstraintError, poetry_to_pep440
from pycnb.buildpack.python.sources import (
    parse_poetry_constraint,
)
from pycnb.buildpack.python.version import (
    PythonVersion,
)


@pytest.mark.parametrize(
    ("poetry", "pep440"),
    [
        ("^3.11", (">=3.11,<4",)),
        ("^3.11.4", (">=3.11.4,<4",)),
        ("^3", (">=3,<4",)),
        ("^0.2.3", (">=0.2.3,<0.3",)),
        ("^0.0.3", (">=0.0.3,<0.0.4",)),
        ("^0.0", (">=0.0,<0.1",)),
        ("^0", (">=0,<1",)),
        ("~3.11", (">=3.11,<3.12",)),
        ("~3.11.2", (">=3.11.2,<3.12",)),
        ("~3", (">=3,<4",)),
        ("~ 3.11", (">=3.11,<3.12",)),
        ("~=3.11", ("~=3.11",)),
        ("*", ("",)),
        ("3.*", ("==3.*",)),
        ("3.11.*", ("==3.11.*",)),
        ("3.11.x", ("==3.11.*",)),
        ("!=3.11.*", ("!=3.11.*",)),
        ("3.11", ("==3.11.*",)),
        ("==3.11", ("==3.11.*",)),
        ("3.11.4", ("==3.11.4",)),
        (">=3.9,<3.13", (">=3.9,<3.13",)),
        (">=3.9 <3.13", (">=3.9,<3.13",)),
        (">= 3.9, < 3.13", (">=3.9,<3.13",)),
        (">=3.9,<3.13,", (">=3.9,<3.13",)),
        ("^3.9 || ^4.0", (">=3.9,<4", ">=4.0,<5")),
        ("~3.10|^3.12", (">=3.10,<3.11", ">=3.12,<4")),
        ("<3.13,!=3.11.2", ("<3.13,!=3.11.2",)),
        ("v3.11", ("==3.11.*",)),
    ],
)
def test_poetry_to_pep440(poetry: str, pep440: tuple[str, ...]) -> None:
    assert poetry_to_pep440(poetry) == pep440
    for alternative in pep440:
        SpecifierSet(alternative)  # every translation is valid PEP 440


@pytest.mark.parametrize("poetry", ["^", "^3.x", "~>3.1", "latest", "3.11 ||", ">>3", "<>3.1"])
def test_poetry_rejects(poetry: str) -> None:
    with pytest.raises(PoetryConstraintError):
        poetry_to_pep440(poetry)


@pytest.mark.parametrize(
    ("poetry", "allowed", "refused"),
    [
        ("^3.11", ["3.11.0", "3.13.5", "3.14.7"], ["3.10.19", "4.0.0"]),
        ("~3.11", ["3.11.0", "3.11.9"], ["3.12.0", "3.10.4"]),
        ("3.11", ["3.11.0", "3.11.14"], ["3.12.0"]),
        ("^3.9 || ^4.0", ["3.9.1", "4.1.0"], ["3.8.9", "5.0.0"]),
        ("*", ["3.10.0", "3.14.0"], []),
    ],
)
def test_poetry_semantics(poetry: str, allowed: list[str], refused: list[str]) -> None:
    request = parse_poetry_constraint(poetry)
    assert request is not None
    for version in allowed:
        assert request.allows(PythonVersion.parse(version)), version
    for version in refused:
        assert not request.allows(PythonVersion.parse(version)), version
