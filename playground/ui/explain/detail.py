"""The full view of one node's value and gradient: two heatmaps with colour scales, the shape and
statistics. Opened by clicking a wire, its value label or a node while values are shown.

Vectors are drawn as 1×n, scalars as 1×1, arrays of more axes as rows of their last axis (the
same matrix view the wire thumbnails use). Both colour scales are symmetric about zero with a
diverging map (blue negative, white zero, red positive), so the sign reads at a glance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..canvas.wirelabels import as_2d, fmt_array_shape, fmt_number
from ..training.plots_base import BACKGROUND, style_plot

DIVERGING = pg.ColorMap(pos=np.array([0.0, 0.5, 1.0]),
                        color=np.array([(48, 104, 200), (247, 247, 247), (214, 72, 40)], dtype=np.ubyte))


def stats_line(a: np.ndarray | None) -> str:
    if a is None:
        return "—"
    arr = np.asarray(a, dtype=np.float64)
    if arr.size == 0:
        return f"{fmt_array_shape(arr.shape)} (empty)"
    flat = arr.reshape(-1)
    with np.errstate(all="ignore"):
        parts = [f"min {fmt_number(np.min(flat))}", f"max {fmt_number(np.max(flat))}",
                 f"mean {fmt_number(np.mean(flat))}", f"std {fmt_number(np.std(flat))}",
                 f"‖·‖ {fmt_number(np.linalg.norm(flat))}"]
    shape = "scalar" if arr.ndim == 0 else fmt_array_shape(arr.shape)
    return f"{shape} · " + " · ".join(parts)


class _Heatmap:
    """One plot with an image and its colour bar."""

    def __init__(self, layout: pg.GraphicsLayout, col: int, title: str) -> None:
        self.title = title
        self.plot: pg.PlotItem = layout.addPlot(row=0, col=col)
        style_plot(self.plot, title, None, None, grid=False)
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=DIVERGING, interactive=False,
                                   width=14)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.data: np.ndarray | None = None

    def set(self, a: np.ndarray | None, note: str = "") -> None:
        if a is None:
            self.data = None
            self.image.clear()
            self.plot.setTitle(f"{self.title}: {note or 'none'}")
            return
        m = np.nan_to_num(as_2d(a).astype(np.float64))
        self.data = m
        limit = float(np.max(np.abs(m))) if m.size else 0.0
        limit = limit if limit > 0 else 1.0
        self.image.setImage(m, autoLevels=False, levels=(-limit, limit))
        self.bar.setLevels((-limit, limit))
        self.plot.setTitle(f"{self.title} {fmt_array_shape(m.shape)}")
        self.plot.setRange(xRange=(0, m.shape[1]), yRange=(0, m.shape[0]), padding=0.02)


class ValueDetailPanel(QWidget):
    """Value and gradient of one node, as heatmaps with colour scales and statistics."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.node_id: str | None = None
        box = QVBoxLayout(self)
        box.setContentsMargins(6, 4, 6, 4)
        self.heading = QLabel("Click a wire, a value or a node to see its value and gradient here.")
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setWordWrap(True)
        box.addWidget(self.heading)
        self.stats = QLabel("")
        self.stats.setTextFormat(Qt.TextFormat.RichText)
        self.stats.setWordWrap(True)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.stats)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.graphics.setMinimumHeight(170)
        layout = self.graphics.ci
        self.value_map = _Heatmap(layout, 0, "value")
        self.grad_map = _Heatmap(layout, 1, "gradient ∂L/∂value")  # side by side: docks are wide
        box.addWidget(self.graphics, 1)

    @property
    def value_image(self) -> pg.ImageItem:
        return self.value_map.image

    @property
    def grad_image(self) -> pg.ImageItem:
        return self.grad_map.image

    def show_data(self, node_id: str, title: str, value: Any, grad: Any, where: str = "") -> None:
        self.node_id = node_id
        value = None if value is None else np.asarray(value)
        grad = None if grad is None else np.asarray(grad)
        self.heading.setText(f"<b>{title}</b>" + (f" — {where}" if where else ""))
        self.stats.setText(
            f"<span style='color:#2e8b3a'><b>value</b></span> {stats_line(value)}<br>"
            f"<span style='color:#c0392b'><b>gradient</b></span> {stats_line(grad)}")
        self.value_map.set(value, "not computed")
        self.grad_map.set(grad, "no gradient reaches this node")

    def shutdown(self) -> None:
        """Take the plots down before the application goes (pyqtgraph items destroyed by
        PySide's exit-time sweep, while Qt still lays out a dock just shown, crash)."""
        self.graphics.clear()
        self.graphics.close()

    def clear(self, text: str = "") -> None:
        self.node_id = None
        self.heading.setText(text or "No values: press Evaluate (Ctrl+E).")
        self.stats.setText("")
        self.value_map.set(None, "—")
        self.grad_map.set(None, "—")
