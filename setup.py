"""Copy resources/ into the package (playground/_resources) when building a wheel.

All metadata lives in pyproject.toml; this file only adds the build step. An editable install
(``pip install -e .``) skips the copy: ``playground.resources`` finds ../resources in a checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
RESOURCES = ROOT / "resources"
SKIP = {"screenshots"}  # README pictures: not needed at run time


class build_py_with_resources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "playground" / "_resources"
        if target.exists():
            shutil.rmtree(target)  # no stale files from an earlier build
        for src in sorted(RESOURCES.iterdir()):
            if not src.is_dir() or src.name in SKIP or src.name.startswith("."):
                continue
            shutil.copytree(src, target / src.name, symlinks=False,
                            ignore=shutil.ignore_patterns(".*", "__pycache__", "*~"))
        if not (target / "examples").is_dir():
            raise SystemExit("build: resources/examples is missing; is this a full source tree?")


setup(cmdclass={"build_py": build_py_with_resources})
