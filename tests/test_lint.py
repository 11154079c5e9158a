"""Lint and types are part of the test run: ruff and mypy are clean on playground/ (their
configuration is in pyproject.toml; mypy relaxes nothing but the imports of untyped packages)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=600)


def test_ruff_is_clean_on_playground() -> None:
    result = _run("ruff", "check", "--no-cache", "playground")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_mypy_is_clean_on_playground() -> None:
    result = _run("mypy", "--no-incremental", "--config-file", str(ROOT / "pyproject.toml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout
