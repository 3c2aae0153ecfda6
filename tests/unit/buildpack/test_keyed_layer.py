import io
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.layers.keyed import open_keyed_layer
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext, Target
from pycnb.cnb.layers import Empty, LayerRef, NewlyCreated, Rejected, Restored
from pycnb.cnb.names import LayerName
from pycnb.cnb.toml import write_toml


@dataclass(frozen=True)
class ToolMetadata:
    tool_version: str


LABELS = {"tool_version": "tool version"}


def open_tool(layers: Path, version: str, log: io.StringIO) -> LayerRef[ToolMetadata, list[str]]:
    ctx = BuildContext(
        app_dir=layers,
        buildpack_dir=layers,
        platform_dir=layers,
        layers_dir=layers,
        plan=(),
        target=Target("linux", "amd64", None, "debian", "12"),
        env={},
    )
    return open_keyed_layer(
        ctx,
        Output(stdout=log, stderr=log),
        name=LayerName("tool"),
        what="Tool",
        version=version,
        metadata=ToolMetadata(version),
        labels=LABELS,
        build=True,
        launch=False,
        complete=lambda path: (path / "tool").is_file(),
    )


def restore(layers: Path, version: str, *, complete: bool = True) -> None:
    write_toml(layers / "tool.toml", {"metadata": {"tool_version": version}})
    (layers / "tool").mkdir()
    if complete:
        (layers / "tool" / "tool").write_text("")


def test_new_layer_prints_nothing(tmp_path: Path) -> None:
    log = io.StringIO()
    assert open_tool(tmp_path, "1", log).state == Empty(NewlyCreated())
    assert log.getvalue() == ""


def test_unchanged_layer_is_kept(tmp_path: Path) -> None:
    restore(tmp_path, "1")
    log = io.StringIO()
    assert isinstance(open_tool(tmp_path, "1", log).state, Restored)
    assert log.getvalue() == "- Using cached Tool 1\n"


def test_changed_layer_is_discarded_with_every_reason(tmp_path: Path) -> None:
    restore(tmp_path, "1")
    log = io.StringIO()
    state = open_tool(tmp_path, "2", log).state
    assert state == Empty(Rejected(["The tool version changed from 1 to 2"]))
    assert (
        "Discarding cached Tool since:\n  - The tool version changed from 1 to 2" in log.getvalue()
    )


def test_incomplete_layer_is_discarded(tmp_path: Path) -> None:
    restore(tmp_path, "1", complete=False)
    log = io.StringIO()
    assert open_tool(tmp_path, "1", log).state == Empty(
        Rejected(["The cached Tool layer is incomplete"])
    )


def test_metadata_of_another_shape_is_discarded_with_a_line(tmp_path: Path) -> None:
    write_toml(tmp_path / "tool.toml", {"metadata": {"version": "1"}})
    (tmp_path / "tool").mkdir()
    log = io.StringIO()
    assert isinstance(open_tool(tmp_path, "1", log).state, Empty)
    assert "its layer metadata is from another pycnb version" in log.getvalue()
