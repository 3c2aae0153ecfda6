from pathlib import Path

import pytest

from pycnb.cnb.layer_env import (
    Behavior,
    LayerEnv,
    Phase,
    ProcessScope,
    Scope,
    layer_path_env,
    read_env_dir,
)
from pycnb.cnb.names import ProcessType

WEB = ProcessType("web")


@pytest.mark.parametrize(
    ("behavior", "delimiter", "before", "expected"),
    [
        (Behavior.OVERRIDE, "", {"X": "old"}, "new"),
        (Behavior.DEFAULT, "", {"X": "old"}, "old"),
        (Behavior.DEFAULT, "", {}, "new"),
        # The lifecycle treats an empty value as unset (unlike libcnb).
        (Behavior.DEFAULT, "", {"X": ""}, "new"),
        (Behavior.PREPEND, ":", {"X": "old"}, "new:old"),
        (Behavior.APPEND, ":", {"X": "old"}, "old:new"),
        # No delimiter is added in front of or after an empty value.
        (Behavior.PREPEND, ":", {}, "new"),
        (Behavior.APPEND, ":", {"X": ""}, "new"),
        # Without a delimiter the values are glued together, as the lifecycle does.
        (Behavior.PREPEND, "", {"X": "old"}, "newold"),
    ],
)
def test_apply_behaviors(
    behavior: Behavior, delimiter: str, before: dict[str, str], expected: str
) -> None:
    env = LayerEnv().add(Scope.ALL, behavior, "X", "new", delimiter)
    assert env.apply(Phase.BUILD, before)["X"] == expected


def test_scopes_apply_in_their_phase_only() -> None:
    env = (
        LayerEnv()
        .add(Scope.BUILD, Behavior.OVERRIDE, "B", "build")
        .add(Scope.LAUNCH, Behavior.OVERRIDE, "L", "launch")
        .add(ProcessScope(WEB), Behavior.OVERRIDE, "P", "web")
        .add(Scope.ALL, Behavior.OVERRIDE, "A", "all")
    )
    assert env.apply(Phase.BUILD, {}) == {"A": "all", "B": "build"}
    assert env.apply(Phase.LAUNCH, {}) == {"A": "all", "L": "launch"}
    assert env.apply(Phase.LAUNCH, {}, WEB) == {"A": "all", "L": "launch", "P": "web"}


def test_more_specific_scope_wins_on_override_and_comes_first_on_prepend() -> None:
    env = (
        LayerEnv()
        .add(ProcessScope(WEB), Behavior.OVERRIDE, "X", "web")
        .add(Scope.LAUNCH, Behavior.OVERRIDE, "X", "launch")
        .add(Scope.ALL, Behavior.OVERRIDE, "X", "all")
        .add(Scope.ALL, Behavior.PREPEND, "P", "all", ":")
        .add(Scope.LAUNCH, Behavior.PREPEND, "P", "launch", ":")
    )
    result = env.apply(Phase.LAUNCH, {"P": "base"}, WEB)
    assert result["X"] == "web"
    assert result["P"] == "launch:all:base"


def test_files_in_one_directory_apply_in_name_order_whatever_the_insertion_order() -> None:
    # PATH.override sorts before PATH.prepend, so the prepend survives.
    env = (
        LayerEnv()
        .add(Scope.ALL, Behavior.PREPEND, "PATH", "/a", ":")
        .add(Scope.ALL, Behavior.OVERRIDE, "PATH", "/b")
    )
    assert env.apply(Phase.BUILD, {"PATH": "/x"})["PATH"] == "/a:/b"


def test_write_and_read_round_trip(tmp_path: Path) -> None:
    env = (
        LayerEnv()
        .add(Scope.ALL, Behavior.PREPEND, "PATH", "/opt/bin", ":")
        .add(Scope.ALL, Behavior.APPEND, "PATH", "/late", ":")
        .add(Scope.BUILD, Behavior.DEFAULT, "CC", "gcc")
        .add(Scope.LAUNCH, Behavior.OVERRIDE, "PORT", "8080\n")
        .add(ProcessScope(WEB), Behavior.OVERRIDE, "WEB", "1")
    )
    env.write_to(tmp_path)
    assert (tmp_path / "env" / "PATH.delim").read_text() == ":"
    assert (tmp_path / "env.launch" / "PORT.override").read_text() == "8080\n"
    assert (tmp_path / "env.launch" / "web" / "WEB.override").is_file()
    read = LayerEnv.read_from(tmp_path)
    for phase, process in [(Phase.BUILD, None), (Phase.LAUNCH, WEB)]:
        assert read.apply(phase, {"PATH": "/usr/bin"}, process) == env.apply(
            phase, {"PATH": "/usr/bin"}, process
        )


def test_write_replaces_previous_env_files(tmp_path: Path) -> None:
    LayerEnv().add(Scope.ALL, Behavior.OVERRIDE, "OLD", "1").write_to(tmp_path)
    LayerEnv().add(Scope.ALL, Behavior.OVERRIDE, "NEW", "1").write_to(tmp_path)
    assert sorted(p.name for p in (tmp_path / "env").iterdir()) == ["NEW.override"]


def test_writing_the_same_env_again_leaves_the_files_alone(tmp_path: Path) -> None:
    env = (
        LayerEnv()
        .add(Scope.ALL, Behavior.PREPEND, "PATH", "/opt/bin", ":")
        .add(ProcessScope(WEB), Behavior.OVERRIDE, "WEB", "1")
    )
    env.write_to(tmp_path)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    inodes = [p.stat().st_ino for p in files]
    env.write_to(tmp_path)
    assert [p.stat().st_ino for p in files] == inodes  # not even rewritten in place

    changed = env.add(Scope.ALL, Behavior.OVERRIDE, "NEW", "1")
    changed.write_to(tmp_path)
    assert (tmp_path / "env" / "NEW.override").read_text() == "1"


def test_read_env_dir_follows_lifecycle_suffix_rules(tmp_path: Path) -> None:
    (tmp_path / "BARE").write_text("override me")
    (tmp_path / "P.prepend").write_text("p")
    (tmp_path / "UNKNOWN.suffix").write_text("ignored")
    (tmp_path / "X.y.append").write_text("ignored too")
    (tmp_path / "P.delim").write_text(";")
    mods = {m.name: m for m in read_env_dir(tmp_path)}
    assert set(mods) == {"BARE", "P"}
    assert mods["BARE"].behavior is Behavior.OVERRIDE
    assert mods["P"].delimiter == ";"


@pytest.mark.parametrize("name", ["", "A.B", "A/B", "A=B"])
def test_invalid_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="invalid environment variable name"):
        LayerEnv().add(Scope.ALL, Behavior.OVERRIDE, name, "x")


def test_same_file_twice_is_rejected() -> None:
    env = LayerEnv().add(Scope.ALL, Behavior.OVERRIDE, "X", "1")
    with pytest.raises(ValueError, match="already set"):
        env.add(Scope.ALL, Behavior.OVERRIDE, "X", "2")


def test_prepend_and_append_must_share_one_delimiter() -> None:
    env = LayerEnv().add(Scope.ALL, Behavior.PREPEND, "X", "1", ":")
    with pytest.raises(ValueError, match="one delimiter"):
        env.add(Scope.ALL, Behavior.APPEND, "X", "2", ";")


def test_layer_path_env_only_for_existing_dirs(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "include").mkdir()
    env = layer_path_env(tmp_path)
    build = env.apply(Phase.BUILD, {"PATH": "/usr/bin"})
    launch = env.apply(Phase.LAUNCH, {"PATH": "/usr/bin"})
    assert build == {"PATH": f"{tmp_path}/bin:/usr/bin", "CPATH": f"{tmp_path}/include"}
    # CPATH is for compilers: build only.
    assert launch == {"PATH": f"{tmp_path}/bin:/usr/bin"}
