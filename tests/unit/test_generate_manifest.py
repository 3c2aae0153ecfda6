from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pycnb.buildpack.python.manifest import load_manifest, parse_manifest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "generate_manifest.py"
# The upstream facts live in the shared folder beside the checkout, when there is one.
FACTS = REPO.parent / "shared" / "data" / "python-build-standalone.json"
DL = "https://github.com/astral-sh/python-build-standalone/releases/download"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_manifest", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


gen = _load_script()


def _fact(
    version: str, arch: str, build: str, flavour: str, libc: str = "gnu"
) -> dict[str, object]:
    major, minor, patch = (int(part) for part in version.split("."))
    upstream_arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)
    name = f"cpython-{version}%2B{build}-{upstream_arch}-unknown-linux-{libc}-{flavour}"
    return {
        "arch": upstream_arch,
        "build": build,
        "major": major,
        "minor": minor,
        "patch": patch,
        "sha256": f"{version}-{arch}-{build}-{flavour}",  # tells the tests which one won
        "url": f"{DL}/{build}/{name}",
    }


def _facts(*facts: dict[str, object]) -> dict[str, object]:
    return {f"key-{index}": fact for index, fact in enumerate(facts)}


STRIPPED = "install_only_stripped.tar.gz"
PLAIN = "install_only.tar.gz"


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            _facts(_fact("3.12.1", "amd64", "20240107", STRIPPED)),
            ["3.12.1-amd64-20240107-" + STRIPPED],
        ),
        (_facts(_fact("3.9.18", "amd64", "20240107", STRIPPED)), []),
        (_facts(_fact("3.10.0", "amd64", "20211017", "pgo+lto-20211017T1616.tar.zst")), []),
        (_facts(_fact("3.12.1", "ppc64le", "20240107", STRIPPED)), []),
        (_facts(_fact("3.12.1", "amd64", "20240107", STRIPPED, libc="musl")), []),
        (_facts(_fact("3.12.1", "amd64", "20240107", "full.tar.zst")), []),
        (
            _facts(
                _fact("3.11.1", "arm64", "20230116", PLAIN),
                _fact("3.11.1", "arm64", "20221220", STRIPPED),
            ),
            ["3.11.1-arm64-20221220-" + STRIPPED],
        ),
        (_facts(_fact("3.10.4", "arm64", "20220502", PLAIN)), ["3.10.4-arm64-20220502-" + PLAIN]),
        (
            _facts(
                _fact("3.12.1", "amd64", "20240107", STRIPPED),
                _fact("3.12.1", "amd64", "20240224", STRIPPED),
                _fact("3.12.1", "amd64", "20231211", STRIPPED),
            ),
            ["3.12.1-amd64-20240224-" + STRIPPED],
        ),
        (
            _facts(
                _fact("3.10.10", "arm64", "1", STRIPPED),
                _fact("3.10.9", "arm64", "1", STRIPPED),
                _fact("3.10.10", "amd64", "1", STRIPPED),
                _fact("3.14.0", "amd64", "1", STRIPPED),
            ),
            [
                "3.10.9-arm64-1-" + STRIPPED,
                "3.10.10-amd64-1-" + STRIPPED,
                "3.10.10-arm64-1-" + STRIPPED,
                "3.14.0-amd64-1-" + STRIPPED,
            ],
        ),
    ],
    ids=[
        "stripped-kept",
        "too-old",
        "zst-full-archive",
        "unknown-arch",
        "musl",
        "other-flavour",
        "stripped-beats-newer-plain",
        "plain-when-no-stripped",
        "newest-build",
        "sorted-by-version-then-arch",
    ],
)
def test_select(facts: dict[str, object], expected: list[str]) -> None:
    assert [entry.sha256 for entry in gen.select(facts)] == expected


def test_render_is_exact_and_loads() -> None:
    entry = gen.Entry((3, 12, 7), "amd64", "https://x.example/a.tar.gz", "ab" * 32)
    text = gen.render([entry])
    assert text == (
        '{"schema": 1,\n "distributions": [\n'
        '  {"version": "3.12.7", "os": "linux", "arch": "amd64", '
        f'"url": "https://x.example/a.tar.gz", "sha256": "{"ab" * 32}"}}\n'
        " ]}\n"
    )
    manifest = parse_manifest(text.encode(), source="generated")
    assert [str(d.version) for d in manifest.distributions] == ["3.12.7"]


def test_main_writes_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = tmp_path / "facts.json"
    real_sha = "cd" * 32
    fact = _fact("3.13.1", "arm64", "20241206", STRIPPED) | {"sha256": real_sha}
    facts.write_text(json.dumps(_facts(fact, _fact("3.8.1", "amd64", "1", STRIPPED))))
    output = tmp_path / "out" / "python_manifest.json"
    assert gen.main([str(facts), "--output", str(output)]) == 0
    manifest = load_manifest(str(output))
    assert [(str(d.version), d.arch, d.sha256) for d in manifest.distributions] == [
        ("3.13.1", "arm64", real_sha)
    ]
    assert "wrote 1 distributions" in capsys.readouterr().out
    first = output.read_bytes()
    assert gen.main([str(facts), "--output", str(output)]) == 0
    assert output.read_bytes() == first  # deterministic


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "<top level>: expected a JSON object"),
        ('{"k": []}', "k: expected an object"),
        ('{"k": {"arch": "x86_64"}}', "k: field 'build': expected str, got None"),
        ("{", "Expecting property name"),
    ],
)
def test_main_rejects_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(content)
    output = tmp_path / "out.json"
    assert gen.main([str(facts), "--output", str(output)]) == 1
    assert message in capsys.readouterr().err
    assert not output.exists()


def test_default_output_is_the_bundled_manifest() -> None:
    assert (
        gen.DEFAULT_OUTPUT == REPO / "src" / "pycnb" / "buildpack" / "data" / "python_manifest.json"
    )


@pytest.mark.skipif(not FACTS.is_file(), reason="no shared release facts beside this checkout")
def test_bundled_manifest_is_generated_from_the_facts() -> None:
    # The bundled file must be exactly what the script makes: never edited by hand.
    expected = gen.render(gen.select(json.loads(FACTS.read_text(encoding="utf-8"))))
    assert gen.DEFAULT_OUTPUT.read_text(encoding="utf-8") == expected
