"""The package as an index would receive it: the sdist and the wheel, built from this tree.

The build uses hatchling from the current environment (no build isolation, no network),
and the wheel is installed without its dependencies into a fresh virtual environment:
the package's top level imports only its errors and version, and the sandbox is
standard library only, so both work there. hatchling and twine come with the `dev`
extra, which the README's test command installs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from pulumi_karmo_roles import __version__

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("hatchling") is None,
    reason="hatchling is not installed (pip install -e '.[dev]')",
)


def _run(*command: str | Path, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built from the working tree."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "hatchling", "build", "-d", out)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (path,) = dist.glob("pulumi_karmo_roles-*.whl")
    return path


@pytest.fixture(scope="module")
def sdist(dist: Path) -> Path:
    (path,) = dist.glob("pulumi_karmo_roles-*.tar.gz")
    return path


def _pip_version() -> tuple[int, ...]:
    import pip

    return tuple(int(part) for part in pip.__version__.split(".")[:2] if part.isdigit())


def _metadata(text: str) -> dict[str, list[str]]:
    message = Parser().parsestr(text)
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields


def _check_metadata(fields: dict[str, list[str]]) -> None:
    (version,) = fields["Metadata-Version"]
    assert tuple(int(part) for part in version.split(".")) >= (2, 4)
    assert fields["Version"] == [__version__]
    assert fields["License-Expression"] == ["Apache-2.0"]
    assert fields["License-File"] == ["LICENSE"]
    assert fields.get("Project-URL")


def test_wheel_carries_the_license_and_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = f"pulumi_karmo_roles-{__version__}.dist-info"
        license_text = archive.read(f"{dist_info}/licenses/LICENSE").decode()
        _check_metadata(_metadata(archive.read(f"{dist_info}/METADATA").decode()))
    assert license_text == (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text
    assert "pulumi_karmo_roles/py.typed" in names
    assert not [name for name in names if name.startswith(("tests/", "docs/", "examples/"))]


def test_sdist_ships_no_tests_and_no_gitignore(sdist: Path) -> None:
    prefix = f"pulumi_karmo_roles-{__version__}/"
    with tarfile.open(sdist) as archive:
        names = {name.removeprefix(prefix) for name in archive.getnames()}
        pkg_info = archive.extractfile(prefix + "PKG-INFO")
        assert pkg_info is not None
        _check_metadata(_metadata(pkg_info.read().decode()))
    assert {"LICENSE", "README.md", "pyproject.toml", "pulumi_karmo_roles/__init__.py"} <= names
    assert ".gitignore" not in names
    # The tests need the whole repository (.ci/, benchmarks/): they stay in the checkout.
    assert not [name for name in names if name.startswith(("tests/", ".ci/", "benchmarks/"))]
    # What the README links to is there.
    assert "docs/lifecycle.md" in names


def test_wheel_installs_and_imports_in_a_clean_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    if _pip_version() >= (22, 3):  # pip --python: no pip inside the venv, a faster test
        _run(sys.executable, "-m", "venv", "--without-pip", venv)
        _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    else:
        _run(sys.executable, "-m", "venv", venv)
        _run(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    # The dependencies (pulumi, httpx, pydantic) come from this test environment, after
    # the wheel's own files on sys.path (a .pth line appends; installing them anew would
    # cost seconds of every run): what is checked is that the wheel's modules are all
    # there and import from the venv, and that its metadata declares them.
    site_packages = Path(
        _run(
            python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).strip()
    )
    (site_packages / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = (
        "import pulumi_karmo_roles.resource, pulumi_karmo_roles._http.karmo\n"
        "import pulumi_karmo_roles._http.credentials, pulumi_karmo_roles.sandbox._server\n"
        "import importlib.metadata as m, pulumi_karmo_roles as p\n"
        "import re\n"
        "print(*sorted(re.split('[^A-Za-z0-9_.-]', r)[0]"
        " for r in m.requires('pulumi-karmo-roles') if 'extra' not in r))\n"
        "print(p.__version__, p.__file__)\n"
        "print(m.metadata('pulumi-karmo-roles')['License-Expression'])\n"
        "print(*sorted(f.name for f in m.files('pulumi-karmo-roles') if 'licenses' in str(f)))\n"
    )
    requires, version_and_path, license_expression, license_files = (
        _run(python, "-I", "-c", probe, cwd=tmp_path).strip().splitlines()
    )
    assert requires.split() == ["httpx", "pulumi", "pydantic"]
    version, path = version_and_path.split(" ")
    assert version == __version__
    assert Path(path).is_relative_to(venv)  # the installed copy, not this checkout
    assert license_expression == "Apache-2.0"
    assert license_files == "LICENSE"
    # The console script runs from the wheel alone (the sandbox is standard library).
    assert "--mint-tokens" in _run(venv / "bin" / "karmo-sandbox", "--help", cwd=tmp_path)


def test_twine_accepts_both_artifacts(wheel: Path, sdist: Path) -> None:
    if importlib.util.find_spec("twine") is None:
        pytest.skip("twine is not installed (pip install -e '.[dev]')")
    output = _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    assert output.count("PASSED") == 2
