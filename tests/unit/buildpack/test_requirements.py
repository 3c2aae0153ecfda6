from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.requirements import (
    RequirementsFileMissing,
    read_requirements_inputs,
)


def write(app: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(content)


def test_follows_includes_and_constraints(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.txt": "-r base.txt\n--constraint=reqs/constraints.txt\nflask\n",
            "base.txt": "# comment\nrequests==2.0 # trailing\n",
            "reqs/constraints.txt": "-r more.txt\n",
            "reqs/more.txt": "idna<4\n",
        },
    )
    inputs = read_requirements_inputs(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in inputs.files] == [
        "requirements.txt",
        "base.txt",
        "reqs/constraints.txt",
        "reqs/more.txt",
    ]
    assert inputs.not_reusable == ()


def test_digest_changes_when_an_included_file_changes(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "-r base.txt\n", "base.txt": "a==1\n"})
    before = read_requirements_inputs(tmp_path).digest
    assert read_requirements_inputs(tmp_path).digest == before
    write(tmp_path, {"base.txt": "a==2\n"})
    assert read_requirements_inputs(tmp_path).digest != before


def test_include_cycles_terminate(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "-r b.txt\n", "b.txt": "-r requirements.txt\n"})
    assert len(read_requirements_inputs(tmp_path).files) == 2


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("-e .", "an editable install"),
        ("--editable=./lib", "an editable install"),
        ("./libs/mypkg", "a local path"),
        ("/abs/pkg.whl", "a local path"),
        ("dist/pkg-1.0-py3-none-any.whl", "a local path"),
        ("pkg @ file:///srv/pkg", "a local path"),
        ("git+https://example.com/repo.git#egg=x", "a version control (VCS) URL"),
        ("x @ git+https://example.com/repo.git@main", "a version control (VCS) URL"),
        ("x @ https://example.com/x-1.0.tar.gz", "a direct URL"),
        ("flask==${FLASK_VERSION}", "refers to an environment variable"),
        ("--find-links ./wheels", "a package location on the local disk"),
        ("-i file:///srv/simple", "a package location on the local disk"),
        ("-r https://example.com/reqs.txt", "includes a file from a URL"),
    ],
)
def test_requirements_that_can_change_silently_prevent_reuse(
    tmp_path: Path, line: str, reason: str
) -> None:
    write(tmp_path, {"requirements.txt": f"flask==3.0\n{line}\n"})
    assert read_requirements_inputs(tmp_path).not_reusable == (f"requirements.txt:2: {reason}",)


@pytest.mark.parametrize(
    "line",
    [
        "flask==3.0",
        "requests[socks]>=2; python_version >= '3.8'",
        "--index-url https://pypi.example.com/simple",
        "--hash=sha256:abc",
        "pkg==1.0 --hash=sha256:abc",
    ],
)
def test_ordinary_requirements_allow_reuse(tmp_path: Path, line: str) -> None:
    write(tmp_path, {"requirements.txt": f"{line}\n"})
    assert read_requirements_inputs(tmp_path).not_reusable == ()


def test_reasons_never_quote_the_line(tmp_path: Path) -> None:
    url_with_credentials = "https://user:s3cret@example.com/pkg.tar.gz"
    write(tmp_path, {"requirements.txt": f"pkg @ {url_with_credentials}\n"})
    assert "s3cret" not in " ".join(read_requirements_inputs(tmp_path).not_reusable)


def test_continuation_lines_are_joined(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "-r \\\n  other.txt\n", "other.txt": ""})
    assert len(read_requirements_inputs(tmp_path).files) == 2


def test_missing_include_names_the_including_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "flask\n-r missing.txt\n"})
    with pytest.raises(RequirementsFileMissing) as error:
        read_requirements_inputs(tmp_path)
    assert error.value.included_from == tmp_path / "requirements.txt"
    assert error.value.line_number == 2
