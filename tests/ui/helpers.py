"""Small helpers shared by the UI tests: a graph by node names, plots that have settled, paint
events counted."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject


class PaintCounter(QObject):
    """Install on a widget (``widget.installEventFilter(counter)``): ``count`` is the number of
    Paint events it received since."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def ids_by_name(win) -> dict[str, str]:
    return {n.name: nid for nid, n in win.document.model.nodes.items()}


def select(win, *names: str) -> None:
    by = ids_by_name(win)
    win.scene.clearSelection()
    for name in names:
        win.scene.nodes[by[name]].setSelected(True)


def settled(qtbot, plot):
    """Wait until ``plot``'s view has fitted what was drawn (pyqtgraph does it just before a
    paint); returns its view box."""
    vb = plot.plot.getViewBox()
    viewport = plot.graphics.viewport()

    def fitted() -> bool:
        viewport.repaint()  # pyqtgraph fits the range just before it paints
        return not vb._autoRangeNeedsUpdate and vb.height() > 0

    qtbot.waitUntil(fitted)
    return vb
