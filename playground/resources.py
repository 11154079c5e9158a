"""Find bundled resources (examples, lessons, icons) from a source checkout, an installed wheel
or a frozen bundle alike."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path


@cache
def resource_root() -> Path:
    here = Path(__file__).resolve().parent
    candidates = [
        here / "_resources",  # installed wheel (resources/ copied into the package)
        here.parent / "resources",  # source checkout
    ]
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.insert(0, Path(frozen) / "playground" / "_resources")
    for c in candidates:
        if (c / "examples").is_dir():
            return c
    raise FileNotFoundError("the bundled resources are missing (looked in: "
                            + ", ".join(str(c) for c in candidates) + ")")


def examples_dir() -> Path:
    return resource_root() / "examples"


def example_names() -> list[str]:
    return sorted(p.stem for p in examples_dir().glob("*.json"))


def example_path(name: str) -> Path:
    return examples_dir() / f"{name}.json"
