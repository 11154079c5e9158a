"""Render resources/icons/backprop-playground.svg to the PNG sizes desktops use.

    python packaging/render_icons.py [--check]

Writes resources/icons/hicolor/<N>x<N>/apps/backprop-playground.png for N in SIZES with QtSvg.
The PNGs are committed; run this again after editing the SVG. ``--check`` only reports which
PNGs are missing or have the wrong size (exit 1 if any).
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SVG = ICONS / "backprop-playground.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return ICONS / "hicolor" / f"{size}x{size}" / "apps" / "backprop-playground.png"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def check() -> list[str]:
    bad = []
    for n in SIZES:
        p = png_path(n)
        if not p.is_file():
            bad.append(f"missing {p.relative_to(ROOT)}")
        elif png_size(p) != (n, n):
            bad.append(f"{p.relative_to(ROOT)} is {png_size(p)}, not {n}x{n}")
    return bad


def render() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SVG}")
    for n in SIZES:
        img = QImage(n, n, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(Qt.GlobalColor.transparent)
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(p)
        p.end()
        out = png_path(n)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not img.save(str(out), "PNG"):
            raise SystemExit(f"cannot write {out}")
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        problems = check()
        print("\n".join(problems) or f"icons ok: {', '.join(map(str, SIZES))}")
        sys.exit(1 if problems else 0)
    render()
