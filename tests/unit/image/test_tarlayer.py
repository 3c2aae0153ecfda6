"""Layer tarballs: reproducible, and shaped like the lifecycle's."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path, PurePosixPath

from pycnb.image.blobs import BlobStore, HashingWriter
from pycnb.image.relocate import Relocation
from pycnb.image.tarlayer import NORMALIZED_MTIME, Owner, Tree, layer_blob, write_layer


def _tree(root: Path, umask_mode: int = 0o644) -> Path:
    layer = root / "layers" / "bp" / "venv"
    (layer / "bin").mkdir(parents=True)
    (layer / "bin" / "tool").write_text(f"#!{root}/layers/bp/venv/bin/python\n")
    (layer / "bin" / "tool").chmod(0o755)
    (layer / "a-file").write_text("x")
    (layer / "a").mkdir()
    (layer / "a" / "b").write_text("y")
    (layer / "a" / "b").chmod(umask_mode)
    os.link(layer / "a" / "b", layer / "hardlink")
    (layer / "bin" / "python").symlink_to(f"{root}/layers/bp/python/bin/python3")
    return layer


def _tar(root: Path, layer: Path) -> bytes:
    out = io.BytesIO()
    relocation = Relocation.of([(str(root / "layers"), "/layers")])
    write_layer(out, [Tree(layer, PurePosixPath("/layers/bp/venv"), Owner(1000, 1001))], relocation)
    return out.getvalue()


def test_same_tree_from_two_roots_gives_the_same_bytes(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "second" / "root"
    first = _tar(one, _tree(one))
    os.utime(one, (1, 1))  # times on the host never matter
    assert first == _tar(two, _tree(two))


def test_entries_order_owners_times_and_links(tmp_path: Path) -> None:
    layer = _tree(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(_tar(tmp_path, layer))) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        # Parents first, then walk order: a directory before its contents, siblings sorted.
        assert names == [
            "layers", "layers/bp", "layers/bp/venv", "layers/bp/venv/a", "layers/bp/venv/a/b",
            "layers/bp/venv/a-file", "layers/bp/venv/bin", "layers/bp/venv/bin/python",
            "layers/bp/venv/bin/tool", "layers/bp/venv/hardlink",
        ]  # fmt: skip
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(1000, 1001, "", "")}
        assert {m.mtime for m in members} == {NORMALIZED_MTIME}
        by_name = {m.name: m for m in members}
        assert by_name["layers/bp/venv/hardlink"].isreg()  # a file of its own, not a link
        assert by_name["layers/bp/venv/bin/python"].linkname == "/layers/bp/python/bin/python3"
        assert by_name["layers/bp/venv/bin/tool"].mode == 0o755
        tool = tar.extractfile("layers/bp/venv/bin/tool")
        assert tool is not None
        assert tool.read() == b"#!/layers/bp/venv/bin/python\n"


def test_a_known_tarball_is_not_compressed_again(tmp_path: Path) -> None:
    layer = _tree(tmp_path)
    store = BlobStore(tmp_path / "blobs")
    relocation = Relocation.of([(str(tmp_path / "layers"), "/layers")])
    entries = [Tree(layer, PurePosixPath("/layers/bp/venv"), Owner(0, 0))]
    compressions: list[str] = []
    first = layer_blob(store, entries, relocation, on_compress=lambda: compressions.append("x"))
    second = layer_blob(store, entries, relocation, on_compress=lambda: compressions.append("x"))
    assert first == second
    assert compressions == ["x"]
    hasher = HashingWriter(None)
    write_layer(hasher, entries, relocation)
    assert first.diff_id == hasher.digest
    assert store.has(first.blob.digest)
