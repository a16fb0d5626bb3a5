"""The set-up machinery: scripts/setup_env.sh finds Python 3.10 or says how to get it; .ci/run runs
the README's test command.

The script is run from a throw-away copy of ``scripts/`` and ``pyproject.toml`` (so no real venv
is touched) with a fake ``bin`` folder first on PATH; no test here installs anything.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "setup_env.sh"
CI_RUN = ROOT / ".ci" / "run"
BASH = shutil.which("bash")

pytestmark = pytest.mark.skipif(BASH is None or sys.platform == "win32", reason="needs bash (POSIX)")


def _fake_tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the project's set-up files and an environment whose PATH starts with fake Pythons.

    ``python3.10`` imitates a pyenv shim with no version chosen (exists, exits 127), ``python3``
    and ``python`` are another Python version; pyenv's root points nowhere.
    """
    root = tmp_path / "project"
    shutil.copytree(ROOT / "scripts", root / "scripts")
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    _fake_tool(fake_bin, "python3.10", "echo 'pyenv: python3.10: command not found' >&2; exit 127")
    _fake_tool(fake_bin, "python3", "exit 1")
    _fake_tool(fake_bin, "python", "exit 1")
    _fake_tool(fake_bin, "pyenv", "exit 1")
    _fake_tool(fake_bin, "uv", "exit 1")
    env = {
        "PATH": f"{fake_bin}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "LC_ALL": "C",
    }
    return root, env


def _bash(code: str, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def test_scripts_parse() -> None:
    for script in (SCRIPT, CI_RUN):
        result = subprocess.run([BASH, "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr


def test_ci_run_calls_the_readme_test_command() -> None:
    assert os.access(CI_RUN, os.X_OK), ".ci/run must be executable"
    text = CI_RUN.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    assert "make test" in text
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_a_failing_python310_shim_is_skipped(sandbox: tuple[Path, dict[str, str]]) -> None:
    root, env = sandbox
    result = _bash('source scripts/setup_env.sh; find_python310 || echo "none found"', root, env)
    assert result.returncode == 0, result.stderr
    found = result.stdout.strip().splitlines()[-1]
    if found != "none found":  # this machine has a real 3.10 outside the fake bin: it must be that one
        assert not found.startswith(str(root.parent / "bin")), found
        version = subprocess.run(
            [found, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        assert version.stdout.strip() == "(3, 10)"


def test_no_python310_gives_install_instructions(sandbox: tuple[Path, dict[str, str]]) -> None:
    root, env = sandbox
    result = _bash("source scripts/setup_env.sh; find_python310() { return 1; }; main", root, env)
    assert result.returncode != 0
    assert "Python 3.10 was not found" in result.stderr
    assert "pyenv install 3.10" in result.stderr
    assert "PYTHON=" in result.stderr
    assert not (root / ".venv").exists()


def test_python_override_must_be_310(sandbox: tuple[Path, dict[str, str]]) -> None:
    root, env = sandbox
    env = {**env, "PYTHON": str(root.parent / "bin" / "python3")}
    result = subprocess.run(
        [BASH, str(root / "scripts" / "setup_env.sh")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert "is not a working Python 3.10 interpreter" in result.stderr
    assert not (root / ".venv").exists()
