"""The layer rules of ARCHITECTURE.md §1, enforced by import-linter contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run([sys.executable, "-m", "importlinter.cli", "--config", str(ROOT / "pyproject.toml")],
                            cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0 and "No module named importlinter.cli" in result.stderr:
        result = subprocess.run(["lint-imports", "--config", str(ROOT / "pyproject.toml")],
                                cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower() or "0 broken" in result.stdout.lower()


def test_core_imports_without_qt_or_sklearn() -> None:
    code = (
        "import sys, playground.engine, playground.graph, playground.training, playground.cli\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'sklearn')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
