"""A base for the canvas's own items whose bounding rectangle Qt reads without Python.

Qt asks an item for its ``boundingRect`` many times per frame (culling, the scene's index, its
pixmap cache): about 800 times a second during a live run on moons. A Python override is a call
into Python each time, and each needs the interpreter lock the training thread holds, so the GUI
waits and the trainer is interrupted. A :class:`QGraphicsRectItem` answers from C++: these items
keep their bounds in its rectangle (``set_bounds``) and only paint in Python — and nodes, with
their pixmap cache, not even that unless they change.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem


class NativeBoundsItem(QGraphicsRectItem):
    """``boundingRect()`` is the rectangle given to :meth:`set_bounds` (no pen, no brush: the
    subclass paints)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setPen(Qt.PenStyle.NoPen)
        self.setBrush(Qt.BrushStyle.NoBrush)

    def set_bounds(self, rect: QRectF) -> None:
        self.setRect(rect)  # prepares the geometry change itself when it differs
