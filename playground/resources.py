"""Find bundled resources (examples, lessons, icons, desktop files) from a source checkout, an
installed wheel or a frozen bundle alike.

- installed wheel: ``playground/_resources`` (setup.py copies resources/ into the package);
- source checkout (and editable installs): ``resources/`` beside the package;
- PyInstaller bundle: ``sys._MEIPASS/playground/_resources`` (packaging/playground.spec).
"""

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


def lessons_dir() -> Path:
    """Lessons, when this build has them (the folder may not exist)."""
    return resource_root() / "lessons"


def icons_dir() -> Path:
    return resource_root() / "icons"


def icon_path(size: int | None = None) -> Path:
    """The app icon: the SVG, or the PNG rendered at ``size`` pixels."""
    if size is None:
        return icons_dir() / "backprop-playground.svg"
    return icons_dir() / "hicolor" / f"{size}x{size}" / "apps" / "backprop-playground.png"


def desktop_dir() -> Path:
    """The freedesktop .desktop file and AppStream metainfo."""
    return resource_root() / "desktop"
