"""`pycnb package`: the bundle's layout, its self-sufficiency, the tarball, and safe replacement."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from pycnb import packager
from pycnb.packager import (
    BuildpackFilesMissing,
    BundledDistributionError,
    NotACheckoutError,
    OutputNotABuildpackError,
    buildpack_sources,
    find_checkout_root,
    package_buildpack,
    package_tgz,
    shared_bundle,
    write_tgz,
)
from tests.support.interpreters import buildpack_python

ROOT = find_checkout_root()
SOURCE = ROOT / "src" / "pycnb"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_buildpack(tmp_path_factory.mktemp("package") / "buildpack")


def _files(top: Path) -> set[str]:
    return {p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()}


def _source_files(part: Path) -> set[str]:
    return {f for f in _files(part) if "__pycache__" not in f and not f.endswith(".pyc")}


def test_bundle_layout(bundle: Path) -> None:
    assert sorted(p.name for p in bundle.iterdir()) == ["bin", "buildpack.toml", "lib"]
    assert (bundle / "buildpack.toml").read_bytes() == (ROOT / "buildpack.toml").read_bytes()
    assert sorted(p.name for p in (bundle / "lib").iterdir()) == [
        "packaging",
        "packaging-LICENSES",
        "pycnb",
        "tomli_w",
        "tomli_w-LICENSES",
    ]
    assert sorted(p.name for p in (bundle / "lib" / "pycnb").iterdir()) == [
        "__init__.py",
        "buildpack",
        "cnb",
    ]


@pytest.mark.parametrize("part", ["cnb", "buildpack"])
def test_bundle_carries_the_whole_runtime_part_of_pycnb(bundle: Path, part: str) -> None:
    # Everything, data files (buildpack/data/*.json) included; nothing compiled.
    assert _files(bundle / "lib" / "pycnb" / part) == _source_files(SOURCE / part)


def test_bundle_holds_no_bytecode_and_no_local_platform(bundle: Path) -> None:
    names = _files(bundle)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if n.startswith(("lib/pycnb/platform", "lib/pycnb/cli"))]


def test_bundled_distributions_are_whole_and_licensed(bundle: Path) -> None:
    for distribution, package in packager.BUNDLED_DISTRIBUTIONS.items():
        installed = Path(str(importlib.metadata.distribution(distribution).locate_file(package)))
        assert _files(bundle / "lib" / package) == _source_files(installed)
        licenses = list((bundle / "lib" / f"{package}-LICENSES").iterdir())
        assert licenses, distribution
        assert all(f.read_text(encoding="utf-8").strip() for f in licenses)


def test_modes(bundle: Path) -> None:
    for path in [bundle, *bundle.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        executable = path.is_dir() or path in {bundle / "bin" / "detect", bundle / "bin" / "build"}
        assert mode == (0o755 if executable else 0o644), path


def test_bundled_libraries_import_with_nothing_installed(bundle: Path) -> None:
    # The shim's own command line, with -S added so no site-packages can help out.
    lib = bundle / "lib"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import packaging.version, tomli_w;"
        " print(packaging.version.__file__); print(tomli_w.__file__);"
        " print(packaging.version.Version('3.12.7').release, tomli_w.dumps({'a': 1}).strip())"
    )
    result = subprocess.run(
        [str(buildpack_python()), "-I", "-S", "-c", code, str(lib)],
        cwd="/",
        env={},
        capture_output=True,
        text=True,
        check=True,
    )
    packaging_file, tomli_w_file, values = result.stdout.splitlines()
    assert Path(packaging_file).is_relative_to(lib)
    assert Path(tomli_w_file).is_relative_to(lib)
    assert values == "(3, 12, 7) a = 1"


def test_packaged_detect_reaches_the_buildpack(bundle: Path, tmp_path: Path) -> None:
    # A lifecycle-like env, a PATH with one interpreter and nothing installed for it, an empty app.
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    (path_dir / "python3").symlink_to(buildpack_python())
    app = tmp_path / "app"
    app.mkdir()
    plan = tmp_path / "plan.toml"
    plan.touch()
    env = {
        "PATH": str(path_dir),
        "CNB_BUILDPACK_DIR": str(bundle),
        "CNB_PLATFORM_DIR": str(tmp_path / "platform"),
        "CNB_BUILD_PLAN_PATH": str(plan),
        "CNB_TARGET_OS": "linux",
        "CNB_TARGET_ARCH": "amd64",
    }
    (tmp_path / "platform" / "env").mkdir(parents=True)
    result = subprocess.run(
        [str(bundle / "bin" / "detect"), str(tmp_path / "platform"), str(plan)],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # An empty app is not a Python app: detect fails (100), and does so without a traceback.
    assert result.returncode == 100, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_tgz_holds_the_bundle_at_its_root_with_modes(bundle: Path, tmp_path: Path) -> None:
    tgz = write_tgz(bundle, tmp_path / "buildpack.tgz")
    with tarfile.open(tgz, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert {name for name, m in members.items() if m.isfile()} == _source_files(bundle)
    assert "buildpack.toml" in members
    assert members["bin/detect"].mode == 0o755
    assert members["bin/build"].mode == 0o755
    assert members["buildpack.toml"].mode == 0o644
    assert members["lib"].isdir()
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())


def test_tgz_is_reproducible(bundle: Path, tmp_path: Path) -> None:
    first = write_tgz(bundle, tmp_path / "a.tgz").read_bytes()
    assert write_tgz(bundle, tmp_path / "b.tgz").read_bytes() == first


def test_package_tgz_writes_the_tarball_next_to_the_directory(tmp_path: Path) -> None:
    tgz = package_tgz(tmp_path / "out" / "pycnb-python")
    assert tgz == tmp_path / "out" / "pycnb-python.tgz"
    assert (tmp_path / "out" / "pycnb-python" / "buildpack.toml").is_file()
    assert tgz.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "pycnb-python",
        "pycnb-python.tgz",
    ]


def test_repackaging_replaces_the_previous_bundle(tmp_path: Path) -> None:
    output = package_buildpack(tmp_path / "bp")
    (output / "lib" / "stale.py").write_text("")
    package_buildpack(output)
    assert not (output / "lib" / "stale.py").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bp"]  # no staging or retired leftovers


def test_the_shared_bundle_is_packaged_once_and_keeps_its_bytecode(tmp_path: Path) -> None:
    bundle = shared_bundle(tmp_path / "buildpacks")
    assert bundle.parent == tmp_path / "buildpacks"
    assert bundle.name.startswith("pycnb-")
    assert _files(bundle) == _files(package_buildpack(tmp_path / "bp"))
    init = bundle / "lib" / "pycnb" / "__init__.py"
    inode = init.stat().st_ino
    cache = bundle / "lib" / "pycnb" / "__pycache__"
    cache.mkdir()
    (cache / "__init__.cpython-312.pyc").write_bytes(b"written by a run")
    assert shared_bundle(tmp_path / "buildpacks") == bundle
    assert init.stat().st_ino == inode, "used again, not packaged again"
    assert (cache / "__init__.cpython-312.pyc").is_file()
    assert [p.name for p in (tmp_path / "buildpacks").iterdir()] == [bundle.name]
    # ...but the bytecode cache never reaches a tarball.
    with tarfile.open(write_tgz(bundle, tmp_path / "bp.tgz")) as tar:
        assert not [n for n in tar.getnames() if "__pycache__" in n]


def test_other_contents_get_another_shared_bundle_and_unused_ones_go(
    tmp_path: Path, checkout_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packager, "buildpack_sources", lambda: buildpack_sources(checkout_copy))
    shared = tmp_path / "buildpacks"
    first = shared_bundle(shared)
    main = checkout_copy / "src" / "pycnb" / "buildpack" / "main.py"
    main.write_text(main.read_text() + "# changed\n")
    second = shared_bundle(shared)
    assert second != first
    assert "# changed" in (second / "lib" / "pycnb" / "buildpack" / "main.py").read_text()
    assert "# changed" not in (first / "lib" / "pycnb" / "buildpack" / "main.py").read_text()
    assert first.is_dir(), "used moments ago: perhaps by a build still running"

    week_ago = time.time() - 8 * 24 * 3600
    os.utime(first, (week_ago, week_ago))
    main.write_text(main.read_text() + "# changed again\n")
    third = shared_bundle(shared)
    assert sorted(p.name for p in shared.iterdir()) == sorted([second.name, third.name])


def test_a_failed_package_leaves_the_previous_bundle_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = package_buildpack(tmp_path / "bp")
    before = _files(output)
    monkeypatch.setitem(packager.BUNDLED_DISTRIBUTIONS, "no-such-dist", "no_such_package_here")
    with pytest.raises(BundledDistributionError, match="no-such-dist"):
        package_buildpack(output)
    assert _files(output) == before
    assert [p.name for p in tmp_path.iterdir()] == ["bp"]


@pytest.mark.parametrize("kind", ["directory", "file"])
def test_refuses_to_replace_something_that_is_not_a_bundle(tmp_path: Path, kind: str) -> None:
    output = tmp_path / "precious"
    if kind == "directory":
        output.mkdir()
        (output / "notes.txt").write_text("keep me")
    else:
        output.write_text("keep me")
    with pytest.raises(OutputNotABuildpackError):
        package_buildpack(output)
    assert "keep me" in (output / "notes.txt" if kind == "directory" else output).read_text()


def test_an_empty_output_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert (package_buildpack(tmp_path / "empty") / "bin" / "detect").is_file()


def test_outside_a_checkout_is_a_clear_error(tmp_path: Path) -> None:
    fake_module = tmp_path / "site-packages" / "pycnb" / "packager.py"
    with pytest.raises(NotACheckoutError) as caught:
        find_checkout_root(fake_module)
    assert "buildpack.toml" in str(caught.value)
    assert "checkout" in str(caught.value)


@pytest.fixture
def checkout_copy(tmp_path: Path) -> Path:
    # A throwaway checkout, so that a bug here could never delete the real one.
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in ("pyproject.toml", "buildpack.toml"):
        (copy / name).write_bytes((ROOT / name).read_bytes())
    shutil.copytree(ROOT / "bin", copy / "bin")
    for part in ("__init__.py", "cnb", "buildpack"):
        source = SOURCE / part
        if source.is_dir():
            shutil.copytree(source, copy / "src" / "pycnb" / part)
        else:
            (copy / "src" / "pycnb").mkdir(parents=True, exist_ok=True)
            shutil.copy(source, copy / "src" / "pycnb" / part)
    return copy


@pytest.mark.parametrize("where", [".", ".."])
def test_never_replaces_the_checkout_or_what_holds_it(checkout_copy: Path, where: str) -> None:
    (checkout_copy / "lib" / "pycnb").mkdir(parents=True)  # now it even looks like a bundle
    output = (checkout_copy / where).resolve()
    before = _files(output)
    with pytest.raises(OutputNotABuildpackError):
        package_buildpack(output, checkout=checkout_copy)
    assert _files(output) == before


def test_packages_from_the_given_checkout_into_it(checkout_copy: Path) -> None:
    bundle = package_buildpack(checkout_copy / "dist" / "buildpack", checkout=checkout_copy)
    assert (bundle / "lib" / "pycnb" / "buildpack" / "main.py").is_file()


def test_an_installed_package_ships_its_buildpack_files(tmp_path: Path) -> None:
    # The layout a wheel installs: pycnb/_buildpack/{buildpack.toml,bin/} inside the package.
    package = tmp_path / "site-packages" / "pycnb"
    (package / "_buildpack").mkdir(parents=True)
    shutil.copy(ROOT / "buildpack.toml", package / "_buildpack" / "buildpack.toml")
    shutil.copytree(ROOT / "bin", package / "_buildpack" / "bin")
    sources = buildpack_sources(package=package)
    assert sources.descriptor == package / "_buildpack" / "buildpack.toml"
    assert sources.bin_dir == package / "_buildpack" / "bin"
    assert sources.package == package


def test_an_installed_package_without_its_buildpack_files_is_a_clear_error(
    tmp_path: Path,
) -> None:
    package = tmp_path / "site-packages" / "pycnb"
    package.mkdir(parents=True)
    with pytest.raises(BuildpackFilesMissing) as caught:
        buildpack_sources(package=package)
    assert "_buildpack" in str(caught.value)
    assert "reinstall" in str(caught.value)


def test_a_checkout_reads_its_root_files() -> None:
    sources = buildpack_sources()
    assert sources.descriptor == ROOT / "buildpack.toml"
    assert sources.package == SOURCE
