"""How big the main window is and where it goes, from the screen it opens on.

- A first start takes about 90 % of the screen's available area (what the desktop's panels
  leave), centred: 1229 × 691 on a 1366 × 768 laptop or projector, 1728 × 972 on a 1920 × 1080
  desktop. Never less than :data:`MIN_SIZE` unless the screen itself is smaller.
- A saved geometry (from a bigger screen, a second monitor now unplugged) is clamped to the
  screen the window opens on: made no larger than its available area, and moved inside it.
- The docks share the window by proportion, within bounds that keep their contents readable:
  the canvas keeps most of it, and at 1280 × 720 the lesson's buttons, the step-through and the
  status bar all stay on screen.

Plain arithmetic on QRect/QSize (no widgets), so tests can check it for any screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QSize

SCREEN_SHARE = 0.9
MIN_SIZE = QSize(900, 600)


def initial_geometry(available: QRect, share: float = SCREEN_SHARE) -> QRect:
    """The window's first geometry on a screen whose available area is ``available``."""
    w = max(min(MIN_SIZE.width(), available.width()), round(available.width() * share))
    h = max(min(MIN_SIZE.height(), available.height()), round(available.height() * share))
    w, h = min(w, available.width()), min(h, available.height())
    rect = QRect(0, 0, w, h)
    rect.moveCenter(available.center())
    return rect


def clamp_geometry(geometry: QRect, available: QRect, frame: QSize | None = None) -> QRect:
    """``geometry`` (the window's client area) made to fit ``available`` with its window
    frame (``frame``: the extra width and height the title bar and borders take)."""
    fw, fh = (frame.width(), frame.height()) if frame is not None else (0, 0)
    w = max(1, min(geometry.width(), available.width() - fw))
    h = max(1, min(geometry.height(), available.height() - fh))
    x = min(max(geometry.x(), available.left()), available.right() + 1 - w - fw)
    y = min(max(geometry.y(), available.top()), available.bottom() + 1 - h - fh)
    return QRect(QPoint(x, y), QSize(w, h))


@dataclass(frozen=True)
class DockSizes:
    """Pixel sizes of the dock areas for one window size."""

    left: int  # the Palette/Training column's width
    right: int  # the Inspector/Math column's width
    bottom: int  # the lesson / step-through row's height
    right_top: int  # the Inspector's height (the Math card takes the rest)


def _between(v: float, low: int, high: int) -> int:
    return round(min(max(v, low), high))


def dock_sizes(size: QSize) -> DockSizes:
    """Dock sizes for a window of ``size``: proportional, within readable bounds."""
    w, h = size.width(), size.height()
    right_h = h - 135  # menu bar, the two toolbar rows (the run bar is the second) and status bar
    # the left column holds the Training panel (tabbed with the Palette): its form's width
    return DockSizes(left=_between(0.2 * w, 250, 360), right=_between(0.2 * w, 250, 340),
                     bottom=_between(0.33 * h, 200, 320),
                     right_top=_between(0.62 * right_h, 300, 600))
