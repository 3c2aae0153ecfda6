"""Build transactions: a build either commits a whole new image and cache, or leaves the
previous ones as they were, even if the process is killed half-way.

One module, though long: every step below writes the journal and every recovery reads it, so
the format and its readers stay side by side.

A journal file in `<root>/txn/` says what is in flight:

1. `begin` records which of layers/, workspace/, image/ exist, then parks them in `<root>/prev/`
   (renames). The build then works in fresh directories at the same paths (rule 40, 42).
2. `borrow` records, before the rename, each layer that restore moves from the parked image into
   the build instead of linking it from the cache (see `restore.py`).
3. `sealed` records the seals of restored cache layers (see `seals.py`).
4. Export stages the new image metadata and cache in `txn/image.new` and `txn/cache.new`.
5. `commit` writes which cached layers the new cache carries over from the old one, flips the
   journal to "committing" - the commit point - and rolls forward: reused layers move from the
   previous image, carried layers move from the old cache into the new one and get the build's
   few changes (see `export.py`), image.new and cache.new replace image/ and cache/, the previous
   image and what is left of the old cache are deleted.

`recover` finishes whatever a dead process left: before the commit point it rolls back
(borrowed layers given back to the previous image, previous image unparked, staged output
discarded, cache layers a seal says were touched dropped, the image marked damaged if the failed
build modified files it shares); after it, it rolls forward. Every step is idempotent, so a crash
during recovery is recovered the same way. Crash safety here means a killed process, not power
loss (no fsync, for speed).

Why a borrowed layer can always be given back: restore borrows only a tree that is exactly the
cache's copy (same paths, same inodes), and the cache is not touched before the commit point. So
the previous image's tree can be rebuilt by linking the cache's copy, whatever the failed build
did to the borrowed one; when the borrowed tree is still exactly the cache's copy, it is simply
renamed back. What the cache's copy cannot undo, an in-place write to a shared inode, is what the
seals catch, exactly as for a linked layer; and the seals are judged before anything is given
back, because giving back links the cache's files again and so changes the link counts they
go by. The verdict is written ahead too, so a rollback resumed after a crash acts on it.

Carried layers move out of the old cache only after the commit point, and only while the staged
cache has not replaced it yet: afterwards the same path names the new cache, and moving from it
again would tear it apart. Syncing one is idempotent, so repeating it after a crash is safe.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycnb.cnb.toml import InvalidToml, read_toml, write_atomically, write_toml
from pycnb.platform.dirs import PlatformDirs
from pycnb.platform.errors import CorruptState
from pycnb.platform.fstree import (
    compare_trees,
    fs_now,
    link_tree,
    normalize_mtimes,
    remove,
    sync_tree,
)
from pycnb.platform.seals import LayerSeal, check_seal, read_seal, write_seal
from pycnb.platform.snapshot import collect_retired, is_pinned, retire
from pycnb.platform.stores import CacheStore, CarriedLayer, ImageStore

__all__ = ["RollbackReport", "Transaction", "pending", "recover"]

_PARKABLE = ("layers", "workspace", "image")
_BUILDING = "building"
_COMMITTING = "committing"


@dataclass(frozen=True)
class RollbackReport:
    dropped_cache_layers: tuple[str, ...] = ()
    image_damage: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Borrowed:
    """A layer of the parked image that restore renamed into the build."""

    buildpack_id: str
    layer: str
    image: str  # where it was: the parked image's layer directory
    build: str  # where it went: the build's layer directory
    cache: str  # the cache's copy, which it was exactly at that moment

    def to_table(self) -> dict[str, str]:
        return {
            "buildpack_id": self.buildpack_id,
            "layer": self.layer,
            "image": self.image,
            "build": self.build,
            "cache": self.cache,
        }

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> _Borrowed:
        keys = ("buildpack_id", "layer", "image", "build", "cache")
        values = [table[key] for key in keys]
        if not all(isinstance(value, str) for value in values):
            raise TypeError(table)
        return cls(*values)


Move = tuple[str, str]


@dataclass(frozen=True)
class _Modified:
    """A restored layer with files the failed build changed in place."""

    buildpack_id: str
    layer: str
    shared_with_image: bool
    paths: tuple[str, ...]


def _write_verdict(path: Path, modified: Sequence[_Modified]) -> None:
    # JSON like the seals: a venv edited throughout means thousands of paths.
    rows = [[m.buildpack_id, m.layer, m.shared_with_image, list(m.paths)] for m in modified]
    write_atomically(path, json.dumps(rows).encode())


def _read_verdict(path: Path) -> list[_Modified]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [
            _Modified(bp, layer, bool(shared), tuple(paths)) for bp, layer, shared, paths in rows
        ]
    except (OSError, ValueError, TypeError) as error:
        raise CorruptState(path, str(error)) from None


@dataclass
class _Journal:
    state: str
    parked: tuple[str, ...]
    sealed_at_ns: int | None = None
    borrowed: tuple[_Borrowed, ...] = ()
    moves: tuple[Move, ...] = field(default=())  # from the previous image into the new one

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"state": self.state, "parked": list(self.parked)}
        if self.sealed_at_ns is not None:
            table["sealed_at_ns"] = self.sealed_at_ns
        table["borrowed"] = [item.to_table() for item in self.borrowed]
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
                borrowed=tuple(_Borrowed.from_table(t) for t in data.get("borrowed", [])),
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
    def _carried_path(self) -> Path:
        return self._dirs.txn / "carried.json"

    @property
    def _returning(self) -> Path:
        """Where a borrowed layer's tree is rebuilt before it is renamed back into place."""
        return self._dirs.txn / "returning"

    @property
    def previous_image(self) -> ImageStore:
        """The image being replaced, where it waits during the build."""
        return ImageStore(self._dirs.prev / "image", self._dirs.prev / "layers")

    @property
    def previous_pinned(self) -> bool:
        """Whether a running launch pins the image being replaced (`snapshot.py`): then the
        build must neither take its layers nor delete them."""
        return is_pinned(self._dirs.prev / "image")

    @classmethod
    def begin(cls, dirs: PlatformDirs, log: Callable[[str], None]) -> Transaction:
        txn = cls(dirs, log)
        collect_retired(dirs, log)
        remove(dirs.txn)
        remove(dirs.prev)
        dirs.txn.mkdir(parents=True)
        parked = tuple(name for name in _PARKABLE if os.path.lexists(dirs.root / name))
        txn._write(_Journal(_BUILDING, parked))  # the journal first: then it is recoverable
        dirs.prev.mkdir()
        for name in parked:
            (dirs.root / name).rename(dirs.prev / name)
        return txn

    def borrow(self, buildpack_id: str, layer: str, image: Path, build: Path, cache: Path) -> None:
        """Move the parked image's `image` layer directory to `build`, written ahead: a rollback
        gives it back, rebuilt from `cache` (which it must equal) if the build changed it."""
        journal = _Journal.read(self.journal_path)
        item = _Borrowed(buildpack_id, layer, str(image), str(build), str(cache))
        journal.borrowed = (*journal.borrowed, item)
        self._write(journal)
        image.rename(build)

    def sealed(self, seals: Sequence[LayerSeal]) -> None:
        """Record what restore linked or borrowed, and the time after which any change to it
        shows."""
        self._seals_dir.mkdir(exist_ok=True)
        for number, seal in enumerate(seals):
            write_seal(self._seals_dir / f"{number}.json", seal)
        journal = _Journal.read(self.journal_path)
        journal.sealed_at_ns = fs_now(self._dirs.txn)
        self._write(journal)

    def commit(
        self, moves: Sequence[tuple[Path, Path]], carried: Sequence[CarriedLayer] = ()
    ) -> None:
        """`moves` go from the previous image into the new one, `carried` layers from the old
        cache into the staged one; both happen after the commit point."""
        # Written before the commit point, so it is whole whenever the journal says committing.
        # JSON, not in the journal: a changed venv can mean thousands of paths.
        _write_carried(self._carried_path, carried)
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
        _move_all(journal.moves)  # their sources, in prev/, never come back: always safe
        if self.image_staging.exists():
            remove(dirs.image)
            self.image_staging.rename(dirs.image)
        old_cache = dirs.txn / "cache.old"
        if self.cache_staging.exists():
            # Only before the swap below: after it, the old paths name the new cache's layers.
            for layer in _read_carried(self._carried_path):
                _move_all([(str(layer.old), str(layer.new))])
                # Without its old copy (deleted behind the platform's back) the layer is simply
                # missing from the new cache, and the next restore drops it.
                if layer.differences and layer.new.is_dir():
                    sync_tree(layer.built, layer.new, layer.differences)
            remove(old_cache)
            if dirs.cache.exists():
                dirs.cache.rename(old_cache)
            self.cache_staging.rename(dirs.cache)
        remove(old_cache)
        if is_pinned(dirs.prev / "image"):
            retire(dirs, dirs.prev)  # a running app still uses it; a later build deletes it
        remove(dirs.prev)
        self._reseal()
        remove(dirs.txn)

    def _roll_back(self, journal: _Journal) -> RollbackReport:
        dirs = self._dirs
        # Free space before writing anything: a build that filled the disk must still be
        # undone. Its staging and its copy of the app hold nothing the judging below needs.
        remove(self.image_staging)
        remove(self.cache_staging)
        workspace = dirs.root / "workspace"
        if "workspace" not in journal.parked or os.path.lexists(dirs.prev / "workspace"):
            remove(workspace)
        # Judge first: giving a layer back links the cache's files again, which changes the
        # link counts the seals tell deletions from in-place writes by.
        modified = self._judge_seals(journal)
        lost = self._give_back(journal)
        report = self._act_on(modified, lost)
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

    def _judge_seals(self, journal: _Journal) -> list[_Modified]:
        """The restored layers the failed build changed in place. Written ahead to the txn
        dir, so a rollback resumed after a crash acts on this verdict, not on a new one."""
        verdict_path = self._dirs.txn / "verdict.json"
        if verdict_path.is_file():
            return _read_verdict(verdict_path)
        modified: list[_Modified] = []
        # Without sealed_at_ns no buildpack ran after restore: nothing to judge.
        if journal.sealed_at_ns is not None and self._seals_dir.is_dir():
            for seal in [read_seal(p) for p in sorted(self._seals_dir.glob("*.json"))]:
                verdict = check_seal(seal, journal.sealed_at_ns)
                if verdict.modified:
                    modified.append(
                        _Modified(
                            seal.buildpack_id, seal.layer, seal.shared_with_image, verdict.modified
                        )
                    )
        _write_verdict(verdict_path, modified)
        return modified

    def _give_back(self, journal: _Journal) -> list[str]:
        """Put every borrowed layer back into the parked image; returns the layers that could
        not be (their cache copy is gone)."""
        if not (self._dirs.prev / "layers").is_dir():
            return []  # already unparked by an earlier rollback, so already given back
        lost: list[str] = []
        for item in journal.borrowed:
            image, build, cache = Path(item.image), Path(item.build), Path(item.cache)
            if os.path.lexists(image):
                continue  # never moved (killed before the rename), or already given back
            if os.path.lexists(build) and _unchanged(build, cache, journal.sealed_at_ns):
                build.rename(image)
            elif cache.is_dir():
                # Under a scratch name, renamed at once: a half-made tree is never in the image.
                remove(self._returning)
                link_tree(cache, self._returning)
                normalize_mtimes(self._returning)  # new directories; the files keep theirs
                self._returning.rename(image)
            else:
                # The cache copy vanished under us (not something the platform does): keep
                # what is left, and never launch it unchecked.
                if os.path.lexists(build):
                    build.rename(image)
                lost.append(f"{item.buildpack_id}:{item.layer}")
        return lost

    def _act_on(self, modified: Sequence[_Modified], lost: Sequence[str]) -> RollbackReport:
        """Mark the image damaged where it shares what the failed build changed, and drop the
        cache layers it changed. Repeatable: both steps are idempotent."""
        damage = [f"{layer} (the whole layer: its cache copy was gone)" for layer in lost]
        for item in modified:
            if item.shared_with_image:
                damage.extend(f"{item.buildpack_id}:{item.layer}/{p}" for p in item.paths)
        if damage:
            parked_image = self._dirs.prev / "image"
            image_dir = parked_image if parked_image.is_dir() else self._dirs.image
            ImageStore(image_dir, self._dirs.layers).record_damage(damage)
        for layer in lost:
            self._log(
                f"Warning: could not give the previous image back its layer '{layer}': its "
                "cache copy is gone; that image is marked damaged"
            )
        if in_place := len(damage) - len(lost):
            self._log(
                f"Warning: the failed build modified {in_place} file(s) in place that the "
                "previous image shares with the cache; that image is marked damaged"
            )
        cache = CacheStore(self._dirs.cache)
        dropped = []
        for item in modified:
            cache.drop(item.buildpack_id, item.layer)
            dropped.append(f"{item.buildpack_id}:{item.layer}")
            self._log(
                f"Dropping cached layer '{dropped[-1]}': the failed build changed it in place"
            )
        return RollbackReport(tuple(dropped), tuple(damage))

    def _reseal(self) -> None:
        cache = CacheStore(self._dirs.cache)
        if cache.metadata_path.is_file():
            cache.seal(fs_now(self._dirs.txn))


def _unchanged(build: Path, cache: Path, sealed_at_ns: int | None) -> bool:
    """Whether a borrowed layer is still exactly the tree it was when restore borrowed it."""
    if sealed_at_ns is None:
        return True  # killed during restore: no buildpack ran since
    comparison = compare_trees(build, cache)
    return comparison is not None and comparison.identical_since(sealed_at_ns)


def _write_carried(path: Path, carried: Sequence[CarriedLayer]) -> None:
    rows = [[str(c.old), str(c.new), str(c.built), list(c.differences)] for c in carried]
    write_atomically(path, json.dumps(rows).encode())


def _read_carried(path: Path) -> list[CarriedLayer]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [
            CarriedLayer(Path(old), Path(new), Path(built), tuple(differences))
            for old, new, built, differences in rows
        ]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError) as error:
        raise CorruptState(path, str(error)) from None


def _move_all(moves: Sequence[Move]) -> None:
    for src, dst in moves:
        if os.path.lexists(src) and not os.path.lexists(dst):  # idempotent: done if moved
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            Path(src).rename(dst)


def pending(dirs: PlatformDirs) -> bool:
    """Whether an interrupted build left work for `recover`."""
    leftovers = (_journal_path(dirs), dirs.prev, dirs.txn, dirs.tmp, dirs.sessions)
    return any(p.exists() for p in leftovers)


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
