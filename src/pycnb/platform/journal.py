"""Build transactions: a build either commits a whole new image and cache, or leaves the
previous ones as they were, even if the process is killed half-way.

A journal file in `<root>/txn/` says what is in flight:

1. `begin` records which of layers/, workspace/, image/ exist, then parks them in `<root>/prev/`
   (renames). The build then works in fresh directories at the same paths (rule 40, 42).
2. `sealed` records the seals of restored cache layers (see `seals.py`).
3. Export stages the new image metadata and cache in `txn/image.new` and `txn/cache.new`.
4. `commit` flips the journal to "committing" - the commit point - and rolls forward: reused
   layers move from the previous image, image.new and cache.new replace image/ and cache/, the
   previous image is deleted.

`recover` finishes whatever a dead process left: before the commit point it rolls back
(previous image unparked, staged output discarded, cache layers a seal says were touched
dropped, the image marked damaged if the failed build modified files it shares); after it, it
rolls forward. Every step is idempotent, so a crash during recovery is recovered the same way.
Crash safety here means a killed process, not power loss (no fsync, for speed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycnb.cnb.toml import InvalidToml, read_toml, write_toml
from pycnb.platform.dirs import PlatformDirs
from pycnb.platform.errors import CorruptState
from pycnb.platform.fstree import fs_now, remove
from pycnb.platform.seals import LayerSeal, check_seal, read_seal, write_seal
from pycnb.platform.stores import CacheStore, ImageStore

__all__ = ["RollbackReport", "Transaction", "pending", "recover"]

_PARKABLE = ("layers", "workspace", "image")
_BUILDING = "building"
_COMMITTING = "committing"


@dataclass(frozen=True)
class RollbackReport:
    dropped_cache_layers: tuple[str, ...] = ()
    image_damage: tuple[str, ...] = ()


@dataclass
class _Journal:
    state: str
    parked: tuple[str, ...]
    sealed_at_ns: int | None = None
    moves: tuple[tuple[str, str], ...] = field(default=())

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"state": self.state, "parked": list(self.parked)}
        if self.sealed_at_ns is not None:
            table["sealed_at_ns"] = self.sealed_at_ns
        table["moves"] = [list(move) for move in self.moves]
        return table

    @classmethod
    def read(cls, path: Path) -> _Journal:
        try:
            data = read_toml(path)
            return cls(
                state=data["state"],
                parked=tuple(data["parked"]),
                sealed_at_ns=data.get("sealed_at_ns"),
                moves=tuple((src, dst) for src, dst in data.get("moves", [])),
            )
        except (InvalidToml, OSError, KeyError, TypeError, ValueError) as error:
            raise CorruptState(path, str(error)) from None


def _journal_path(dirs: PlatformDirs) -> Path:
    return dirs.txn / "journal.toml"


class Transaction:
    def __init__(self, dirs: PlatformDirs, log: Callable[[str], None]) -> None:
        self._dirs = dirs
        self._log = log

    @property
    def journal_path(self) -> Path:
        return _journal_path(self._dirs)

    @property
    def image_staging(self) -> Path:
        return self._dirs.txn / "image.new"

    @property
    def cache_staging(self) -> Path:
        return self._dirs.txn / "cache.new"

    @property
    def _seals_dir(self) -> Path:
        return self._dirs.txn / "seals"

    @property
    def previous_image(self) -> ImageStore:
        """The image being replaced, where it waits during the build."""
        return ImageStore(self._dirs.prev / "image", self._dirs.prev / "layers")

    @classmethod
    def begin(cls, dirs: PlatformDirs, log: Callable[[str], None]) -> Transaction:
        txn = cls(dirs, log)
        remove(dirs.txn)
        remove(dirs.prev)
        dirs.txn.mkdir(parents=True)
        parked = tuple(name for name in _PARKABLE if os.path.lexists(dirs.root / name))
        txn._write(_Journal(_BUILDING, parked))  # the journal first: then it is recoverable
        dirs.prev.mkdir()
        for name in parked:
            (dirs.root / name).rename(dirs.prev / name)
        return txn

    def sealed(self, seals: Sequence[LayerSeal]) -> None:
        """Record what restore linked, and the time after which any change to it shows."""
        self._seals_dir.mkdir(exist_ok=True)
        for number, seal in enumerate(seals):
            write_seal(self._seals_dir / f"{number}.json", seal)
        journal = _Journal.read(self.journal_path)
        journal.sealed_at_ns = fs_now(self._dirs.txn)
        self._write(journal)

    def commit(self, moves: Sequence[tuple[Path, Path]]) -> None:
        journal = _Journal.read(self.journal_path)
        journal.state = _COMMITTING
        journal.moves = tuple((str(src), str(dst)) for src, dst in moves)
        self._write(journal)  # the commit point
        self._roll_forward(journal)

    def rollback(self) -> RollbackReport:
        journal = _Journal.read(self.journal_path)
        if journal.state == _COMMITTING:
            self._roll_forward(journal)
            return RollbackReport()
        return self._roll_back(journal)

    def _write(self, journal: _Journal) -> None:
        write_toml(self.journal_path, journal.to_table())

    def _roll_forward(self, journal: _Journal) -> None:
        dirs = self._dirs
        for src, dst in journal.moves:
            if os.path.lexists(src) and not os.path.lexists(dst):
                Path(dst).parent.mkdir(parents=True, exist_ok=True)
                Path(src).rename(dst)
        if self.image_staging.exists():
            remove(dirs.image)
            self.image_staging.rename(dirs.image)
        old_cache = dirs.txn / "cache.old"
        if self.cache_staging.exists():
            remove(old_cache)
            if dirs.cache.exists():
                dirs.cache.rename(old_cache)
            self.cache_staging.rename(dirs.cache)
        remove(old_cache)
        remove(dirs.prev)
        self._reseal()
        remove(dirs.txn)

    def _roll_back(self, journal: _Journal) -> RollbackReport:
        dirs = self._dirs
        report = self._judge_seals(journal)
        remove(self.image_staging)
        remove(self.cache_staging)
        for name in _PARKABLE:
            current, parked = dirs.root / name, dirs.prev / name
            if name not in journal.parked:
                remove(current)  # made by the failed build
            elif os.path.lexists(parked):
                remove(current)
                parked.rename(current)
            # else: the crash came before it was parked; it is still the original
        remove(dirs.prev)
        self._reseal()
        remove(dirs.txn)
        return report

    def _judge_seals(self, journal: _Journal) -> RollbackReport:
        if journal.sealed_at_ns is None or not self._seals_dir.is_dir():
            return RollbackReport()  # no buildpack ran after restore; nothing to judge
        seals = [read_seal(p) for p in sorted(self._seals_dir.glob("*.json"))]
        damage: list[str] = []
        modified: list[LayerSeal] = []
        for seal in seals:
            verdict = check_seal(seal, journal.sealed_at_ns)
            if verdict.modified:
                modified.append(seal)
                if seal.shared_with_image:
                    damage.extend(f"{seal.buildpack_id}:{seal.layer}/{p}" for p in verdict.modified)
        if damage:
            parked_image = self._dirs.prev / "image"
            image_dir = parked_image if parked_image.is_dir() else self._dirs.image
            ImageStore(image_dir, self._dirs.layers).record_damage(damage)
            self._log(
                f"Warning: the failed build modified {len(damage)} file(s) in place that the "
                "previous image shares with the cache; that image is marked damaged"
            )
        cache = CacheStore(self._dirs.cache)
        dropped = []
        for seal in modified:
            cache.drop(seal.buildpack_id, seal.layer)
            dropped.append(f"{seal.buildpack_id}:{seal.layer}")
            self._log(
                f"Dropping cached layer '{dropped[-1]}': the failed build changed it in place"
            )
        return RollbackReport(tuple(dropped), tuple(damage))

    def _reseal(self) -> None:
        cache = CacheStore(self._dirs.cache)
        if cache.metadata_path.is_file():
            cache.seal(fs_now(self._dirs.txn))


def pending(dirs: PlatformDirs) -> bool:
    """Whether an interrupted build left work for `recover`."""
    return any(p.exists() for p in (_journal_path(dirs), dirs.prev, dirs.txn, dirs.tmp))


def recover(dirs: PlatformDirs, log: Callable[[str], None]) -> None:
    """Finish or undo whatever an interrupted build left behind. Needs the exclusive lock."""
    txn = Transaction(dirs, log)
    remove(dirs.tmp)  # scratch of the interrupted process
    if txn.journal_path.is_file():
        log("Recovering from an interrupted build in " + str(dirs.root))
        txn.rollback()
        return
    # No journal: the crash came before `begin` wrote it, so nothing was parked yet.
    remove(dirs.txn)
    remove(dirs.prev)
