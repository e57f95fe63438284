"""The product is what the wheel installs: build it as a user's pip would and look inside.

The wheel is built offline (``python -m build --no-isolation``: the test extra installs
``build`` and ``setuptools``) from a copy of the checkout, through the sdist, so a file the
sdist leaves out is caught too and the checkout gets no ``build/`` folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def package_roots() -> tuple[str, ...]:
    """The folders the wheel is made of, as pyproject's [tool.setuptools.packages.find] names them."""
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    return tuple(pattern.removesuffix("*") for pattern in find["include"])


SOURCE_FOLDERS = package_roots()
_SKIPPED = ("__pycache__", ".pyc", ".pyo")


def source_files() -> set[str]:
    """Every file under the source folders, as a wheel path (``prompts/templates/answer.yaml``)."""
    found = set()
    for folder in SOURCE_FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT)
            if path.is_file() and not any(part.endswith(_SKIPPED) for part in relative.parts):
                found.add(relative.as_posix())
    return found


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The built wheel and what the build printed."""
    work = tmp_path_factory.mktemp("wheel")
    tree = work / "src"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    skip = shutil.ignore_patterns(*(f"*{s}" for s in _SKIPPED))
    for folder in SOURCE_FOLDERS:
        shutil.copytree(ROOT / folder, tree / folder, ignore=skip)
    out = work / "dist"
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [built] = out.glob("*.whl")
    return built, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(build: tuple[Path, str]) -> Path:
    return build[0]


def test_the_build_has_no_warning_about_our_metadata(build: tuple[Path, str]) -> None:
    warnings = [line for line in build[1].splitlines() if line.startswith("WARNING")]
    assert not warnings


def test_the_packages_are_the_top_level_source_folders() -> None:
    assert set(SOURCE_FOLDERS) == {"bot", "retrieval", "prompts", "config", "corpus"}


def test_the_wheel_holds_every_module_and_data_file_of_the_source_folders(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = source_files()
    assert any(name.endswith(".py") for name in expected)
    assert {"config/default.yaml", "corpus/seeds/manifest.yaml", "prompts/templates/answer.yaml"} <= expected
    missing = sorted(expected - names)
    assert not missing, f"not in the wheel: {missing}"


def test_the_wheel_installs_the_newsdesk_command_and_the_html_cleaner(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(info).decode())
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "newsdesk = bot.console:main" in entry_points
    requires = metadata.get_all("Requires-Dist") or []
    # trafilatura needs lxml's HTML cleaner, a separate project since lxml 6
    assert any(r.startswith("lxml_html_clean") for r in requires)
