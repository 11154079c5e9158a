"""The full view of one node's value and gradient: two heatmaps with colour scales, the shape and
statistics. Opened by clicking a wire, its value label or a node while values are shown.

Vectors are drawn as 1×n, scalars as 1×1, arrays of more axes as rows of their last axis (the
same matrix view the wire thumbnails use). Both colour scales are symmetric about zero with a
diverging map (blue negative, white zero, red positive), so the sign reads at a glance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QScrollArea, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from ...engine.digest import Digest, digest, matrix_shape
from ...engine.formatting import number as fmt_number
from ..canvas.wirelabels import as_2d, fmt_array_shape
from ..plotstyle import BACKGROUND, style_plot

if TYPE_CHECKING:
    from ..services import WindowServices
    from ..session import Session
    from .evaluate import Evaluator

DIVERGING = pg.ColorMap(pos=np.array([0.0, 0.5, 1.0]),
                        color=np.array([(48, 104, 200), (247, 247, 247), (214, 72, 40)], dtype=np.ubyte))


def stats_line(a: np.ndarray | Digest | None) -> str:
    if a is None:
        return "—"
    d = digest(a)
    if d.size == 0:
        return f"{fmt_array_shape(d.shape)} (empty)"
    parts = [f"min {fmt_number(d.min)}", f"max {fmt_number(d.max)}",
             f"mean {fmt_number(d.mean)}", f"std {fmt_number(d.std)}",
             f"‖·‖ {fmt_number(d.norm)}"]
    shape = "scalar" if d.ndim == 0 else fmt_array_shape(d.shape)
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

    def set(self, a: np.ndarray | Digest | None, note: str = "") -> None:
        if a is None:
            self.data = None
            self.image.clear()
            self.plot.setTitle(f"{self.title}: {note or 'none'}")
            return
        if isinstance(a, Digest):  # a live run's wire: its block means
            m = a.grid
            whole = matrix_shape(a.shape)
            title = f"{self.title} {fmt_array_shape(a.shape)}" + (
                f", in {m.shape[0]}×{m.shape[1]} block means" if m.shape != whole else "")
        else:
            m = np.nan_to_num(as_2d(a).astype(np.float64))
            title = f"{self.title} {fmt_array_shape(m.shape)}"
        self.data = m
        limit = float(np.max(np.abs(m))) if m.size else 0.0
        limit = limit if limit > 0 else 1.0
        self.image.setImage(m, autoLevels=False, levels=(-limit, limit))
        self.bar.setLevels((-limit, limit))
        self.plot.setTitle(title)
        self.plot.setRange(xRange=(0, m.shape[1]), yRange=(0, m.shape[0]), padding=0.02)


class FitPicture(QLabel):
    """An image shown whole: shrunk (smoothly, keeping its proportions) to the room it has,
    never enlarged past its own size; a wider or floating dock shows it larger."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setMinimumSize(1, 1)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image = QImage()
        self._shown: tuple[int, int, int] | None = None  # (image key, width, height) drawn

    def set_image(self, image: QImage) -> None:
        self.image = image
        self._shown = None
        self._fit()

    def _fit(self) -> None:
        if self.image.isNull():
            self.clear()
            return
        room = self.contentsRect().size()
        size = self.image.size()
        if size.width() > room.width() or size.height() > room.height():
            size = size.scaled(room, Qt.AspectRatioMode.KeepAspectRatio)
        key = (self.image.cacheKey(), size.width(), size.height())
        if key == self._shown or size.width() < 1 or size.height() < 1:
            return
        self._shown = key
        scaled = self.image if size == self.image.size() else self.image.scaled(
            size, Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(QPixmap.fromImage(scaled))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()


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
        # or a picture (a node's unit maps during training), shrunk to fit the dock whole
        self.picture = FitPicture()
        self.picture_scroll = QScrollArea()
        self.picture_scroll.setWidget(self.picture)
        self.picture_scroll.setWidgetResizable(True)
        self.picture_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.graphics)
        self.pages.addWidget(self.picture_scroll)
        box.addWidget(self.pages, 1)
        self.picture_key: str | None = None  # what the picture shows (e.g. 'maps:n8')

    @property
    def value_image(self) -> pg.ImageItem:
        return self.value_map.image

    @property
    def grad_image(self) -> pg.ImageItem:
        return self.grad_map.image

    def show_picture(self, key: str, title: str, image: QImage, caption: str = "") -> None:
        """Show ``image`` (e.g. every unit's map of a node) instead of the heatmaps; ``key``
        names what it shows, so its owner can refresh it while it is in view."""
        self.picture_key = key
        self.node_id = None
        self.heading.setText(f"<b>{title}</b>")
        self.stats.setText(caption)
        self.picture.set_image(image)
        self.pages.setCurrentWidget(self.picture_scroll)

    def show_data(self, node_id: str, title: str, value: Any, grad: Any, where: str = "") -> None:
        self.pages.setCurrentWidget(self.graphics)
        self.picture_key = None
        self.node_id = node_id
        value = None if value is None or isinstance(value, Digest) else np.asarray(value)
        grad = None if grad is None or isinstance(grad, Digest) else np.asarray(grad)
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
        self.pages.setCurrentWidget(self.graphics)
        self.picture_key = None
        self.node_id = None
        self.heading.setText(text or "No values: press Evaluate (Ctrl+E).")
        self.stats.setText("")
        self.value_map.set(None, "—")
        self.grad_map.set(None, "—")


class ValueDetail(QObject):
    """Fills the Values dock from the overlays' wire data: the node clicked, and again whenever
    the wires change while the dock shows it."""

    def __init__(self, session: Session, services: WindowServices, evaluator: Evaluator,
                 panel: ValueDetailPanel) -> None:
        super().__init__(panel)
        self.session, self.services, self.evaluator, self.panel = (session, services, evaluator,
                                                                   panel)
        session.canvas_changed.connect(self._on_canvas)
        if session.scene is not None:
            self._on_canvas(session.scene)

    def _on_canvas(self, scene: Any) -> None:
        scene.value_clicked.connect(self.show_detail)
        scene.overlays.changed.connect(self.refresh)
        if self.panel.isVisible():
            self.panel.clear()

    def show_detail(self, node_id: str) -> None:
        self.services.show_dock("values")
        self.fill(node_id)

    def show_selected(self) -> None:
        ids = self.session.selected_node_ids()
        if ids:
            self.show_detail(ids[0])
        else:
            self.services.show_dock("values")

    def fill(self, node_id: str) -> None:
        scene, doc = self.session.scene, self.session.document
        if scene is None or doc is None or node_id not in doc.model.nodes:
            self.panel.clear()
            return
        node = doc.model.nodes[node_id]
        ov = scene.overlays
        value, grad = ov.wire_values.get(node_id), ov.wire_grads.get(node_id)
        if value is None and grad is None:
            error = self.evaluator.last_error
            self.panel.clear(f"<b>{node.name}</b>: {error}" if error else
                             f"<b>{node.name}</b>: no values yet — press Evaluate (Ctrl+E).")
            self.panel.node_id = node_id
            return
        ev = self.evaluator.evaluation
        self.panel.show_data(node_id, f"{node.name} ({node.op})", value, grad,
                             ev.note if ev is not None else "")

    def refresh(self) -> None:
        try:
            if self.panel.isVisible() and self.panel.node_id is not None:
                self.fill(self.panel.node_id)
        except RuntimeError:  # the panel or the scene is being destroyed
            pass
