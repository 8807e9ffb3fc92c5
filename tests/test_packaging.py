"""Packaging: the wheel carries every code package and, as package data, the presets, the page's
template and its static files; an installed wheel serves the page without the source tree."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: data packages and the top-level directories they are installed from
DATA = {"app.scenarios": "scenarios", "app.static": "static", "app.templates": "templates"}


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_code_package_is_listed_for_the_wheel() -> None:
    setup = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    listed = set(setup["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("app", "simcore")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found - listed == set(), "code packages missing from [tool.setuptools] packages"
    assert listed - found == set(DATA), "listed packages that are neither code nor data"
    assert setup["package-dir"] == DATA


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*pip, "-w", str(out), str(ROOT)], check=True, capture_output=True, timeout=120)
    (whl,) = out.glob("zonescope-*.whl")
    return whl


def test_wheel_holds_presets_templates_and_static_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package, top in DATA.items():
        for f in (ROOT / top).rglob("*"):
            if f.is_file() and "__pycache__" not in f.parts:
                inside = "/".join((*package.split("."), *f.relative_to(ROOT / top).parts))
                assert inside in names, f"{f.relative_to(ROOT)} is not in the wheel"


def test_installed_wheel_serves_the_page_without_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
    probe = (
        "import app, sys; from pathlib import Path\n"
        f"assert Path(app.__file__).is_relative_to({str(target)!r}), app.__file__\n"
        "from fastapi.testclient import TestClient\n"
        "from app.main import create_app\n"
        "from app.presets import preset_names\n"
        "assert 'default' in preset_names()\n"
        "c = TestClient(create_app())\n"
        "assert c.get('/').status_code == 200\n"
        "assert c.get('/static/js/main.js').status_code == 200\n"
        "assert c.get('/static/css/zonescope.css').status_code == 200\n"
    )
    # isolated mode, the wheel's files first on the path, run from elsewhere: nothing comes from the
    # checkout (the probe asserts where `app` was imported from)
    code = f"import sys; sys.path.insert(0, {str(target)!r})\n" + probe
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
