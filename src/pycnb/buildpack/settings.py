"""User settings of the buildpack: `BP_*` env vars, from the platform env or the process env."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.cnb.context import read_platform_env

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    # Files in <platform>/env/ first: that is where `pack build --env` and `pycnb build --env` put
    # them. The process env covers operator config and platforms that only set env vars.
    platform_env: Mapping[str, str]
    process_env: Mapping[str, str]

    @classmethod
    def load(cls, platform_dir: Path, process_env: Mapping[str, str]) -> Settings:
        return cls(read_platform_env(platform_dir), process_env)

    def get(self, name: str) -> str | None:
        """The setting's value with surrounding whitespace removed (`echo 3.12 > FILE` leaves a
        newline); None when unset or blank."""
        for source in (self.platform_env, self.process_env):
            value = source.get(name)
            if value is not None and value.strip():
                return value.strip()
        return None

    def source_of(self, name: str) -> str:
        return "platform env" if name in self.platform_env else "environment"
