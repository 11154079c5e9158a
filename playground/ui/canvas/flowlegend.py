"""The gradient-flow overlay's legend: a small panel in a free corner of the canvas (bottom-left
unless a node, a value label or the minimap is there) saying what
a wire's colour and width mean (mean |∂L/∂x| through it, on a log scale from the weakest to the
strongest wire drawn), shown whenever the overlay is on."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFontMetricsF,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QGraphicsView, QWidget

from . import style as S
from .flow import FLOW_MAX_W, FLOW_MIN_W, FLOW_RAMP
from .minimap_corners import content_under, corner_rect, covers_content, covers_panel

LEGEND_CORNERS = ("bottom_left", "top_left", "bottom_right", "top_right")  # in order of preference
TITLE = "gradient flow: mean |∂L/∂x| per wire"
BG = QColor(16, 18, 22, 225)
# the labels on the wires give norms, the ramp a mean: the tooltip says which is which
NOTE = ("The labels on the wires give norms: ‖x‖ = √(Σx²) of the value over the batch, "
        "∇‖x‖ the same of its gradient.")


def _num(v: float) -> str:
    if v == 0 or not math.isfinite(v):
        return "0"
    return f"{v:.1e}".replace("e-0", "e-").replace("e+0", "e")


class FlowLegend(QWidget):
    """Child of a canvas view; ``set_range((lo, hi))`` shows it, ``set_range(None)`` hides it.
    ``note`` is a second line (e.g. what batch the wires show)."""

    def __init__(self, view: QWidget) -> None:
        super().__init__(view)
        self.setObjectName("flow_legend")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, False)
        self.setToolTip("Gradient flow: each wire's colour and width follow the mean |∂L/∂x| "
                        "of the value it carries, on a log scale from the weakest wire drawn "
                        "(thin, blue) to the strongest (thick, orange). Grey: no gradient "
                        "reaches it. " + NOTE)
        self.range: tuple[float, float] | None = None
        self.corner: str | None = None
        self.note = ""
        self.hide()
        view.installEventFilter(self)
        if isinstance(view, QGraphicsView):  # the nodes move under it: look for a corner again
            for bar in (view.horizontalScrollBar(), view.verticalScrollBar()):
                bar.valueChanged.connect(self._schedule_place)
            zoomed = getattr(view, "zoom_changed", None)
            if zoomed is not None:
                zoomed.connect(self._schedule_place)
        self._place_pending = False
        # (size key, picture, where the weakest and the strongest go): see paintEvent
        self._static: tuple[Any, QPixmap, QRectF, QRectF] | None = None
        self._small = S.font(8.5)

    def _schedule_place(self, *_: Any) -> None:
        if self.isVisible() and not self._place_pending:
            self._place_pending = True
            QTimer.singleShot(0, self, self._placed_later)

    def _placed_later(self) -> None:
        self._place_pending = False
        if self.isVisible():
            self._place()

    def set_range(self, value: tuple[float, float] | None, note: str | None = None) -> None:
        self.range = value
        if note is not None:
            self.note = note
        shown = self.isVisible()
        self.setVisible(value is not None)
        if value is not None:
            if not shown:
                self._place()
            else:
                # the run's labels move as their numbers change: a label that came under the
                # legend sends it to a free corner (it keeps its corner while that stays free;
                # at most one look an event-loop turn, however often the range is set)
                self._schedule_place()
            self.update()

    def _size(self) -> tuple[int, int]:
        fm = QFontMetricsF(S.font(9, bold=True))
        lines = 3 if self.note else 2
        width = max(230.0, fm.horizontalAdvance(TITLE) + 24,
                    QFontMetricsF(S.font(8.5)).horizontalAdvance(self.note) + 24)
        return math.ceil(width), math.ceil(lines * fm.height() + 30)

    def _place(self) -> None:
        parent = self.parentWidget()
        if not isinstance(parent, QGraphicsView):
            return
        w, h = self._size()
        size = QSize(w, h)
        # a corner over no node, value label or minimap: the current one while it stays free,
        # else the first free one in LEGEND_CORNERS; bottom-left when every corner is taken
        order = [c for c in (self.corner, *LEGEND_CORNERS) if c is not None]
        for corner in dict.fromkeys(order):
            rect = corner_rect(parent, size, corner)
            if not (covers_content(parent, rect) or covers_panel(parent, rect, self)):
                break
        else:  # every corner is taken (zoomed in): the one over the fewest nodes and values
            def covered(c: str) -> tuple[bool, int]:
                r = corner_rect(parent, size, c)
                return covers_panel(parent, r, self), len(content_under(parent, r))
            corner = min(LEGEND_CORNERS, key=covered)
            rect = corner_rect(parent, size, corner)
        self.corner = corner
        if rect != self.geometry():
            self.setGeometry(rect)
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            # after the view has laid out its viewport for the new size (now it has the old)
            self._schedule_place()
        return False

    def paintEvent(self, event: Any) -> None:
        # the panel, the title and the ramp come from a picture made once per size; only the
        # two numbers are drawn here (a live run repaints the legend every second, and each Qt
        # value made in a paint hands the interpreter lock to the training thread)
        key = (self.width(), self.height(), self.note, self.devicePixelRatioF())
        if self._static is None or self._static[0] != key:
            self._static = (key, *self._draw_static())
        _key, picture, lo_rect, hi_rect = self._static
        p = QPainter(self)
        p.drawPixmap(0, 0, picture)
        p.setFont(self._small)
        p.setPen(S.TEXT_DIM)
        lo, hi = self.range or (0.0, 0.0)
        p.drawText(lo_rect, Qt.AlignmentFlag.AlignLeft, _num(lo) if hi > 0 else "no gradient")
        if hi > 0:
            p.drawText(hi_rect, Qt.AlignmentFlag.AlignRight, _num(hi))
        p.end()

    def _draw_static(self) -> tuple[QPixmap, QRectF, QRectF]:
        """The legend without its numbers, and where the weakest and strongest go."""
        ratio = self.devicePixelRatioF()
        picture = QPixmap(max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio)))
        picture.setDevicePixelRatio(ratio)
        picture.fill(Qt.GlobalColor.transparent)
        p = QPainter(picture)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QPen(QColor(255, 255, 255, 50), 1.0))
        p.setBrush(BG)
        p.drawRoundedRect(r, 6, 6)
        bold, small = S.font(9, bold=True), S.font(8.5)
        lh = QFontMetricsF(bold).height()
        x0, y = 10.0, 6.0
        p.setFont(bold)
        p.setPen(S.TEXT)
        p.drawText(QRectF(x0, y, r.width() - 20, lh), Qt.AlignmentFlag.AlignLeft, TITLE)
        y += lh + 4
        # the ramp: a wedge from thin to thick, coloured weak → strong
        bar = QRectF(x0 + 34, y, r.width() - 2 * x0 - 68, FLOW_MAX_W + 2)
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for t, c in FLOW_RAMP:
            grad.setColorAt(t, c)
        wedge = QPainterPath(QPointF(bar.left(), bar.center().y() - FLOW_MIN_W / 2))
        wedge.lineTo(bar.right(), bar.center().y() - FLOW_MAX_W / 2)
        wedge.lineTo(bar.right(), bar.center().y() + FLOW_MAX_W / 2)
        wedge.lineTo(bar.left(), bar.center().y() + FLOW_MIN_W / 2)
        wedge.closeSubpath()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(grad)
        p.drawPath(wedge)
        p.setFont(small)
        p.setPen(S.TEXT_DIM)
        p.drawText(QRectF(x0 - 4, y - 4, 38, bar.height() + 8),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "weak")
        p.drawText(QRectF(bar.right() + 4, y - 4, 40, bar.height() + 8),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "strong")
        y += bar.height() + 2
        lo_rect = QRectF(bar.left() - 20, y, 100, lh)
        hi_rect = QRectF(bar.right() - 80, y, 100, lh)
        if self.note:
            y += lh
            p.drawText(QRectF(x0, y, r.width() - 20, lh), Qt.AlignmentFlag.AlignLeft, self.note)
        p.end()
        return picture, lo_rect, hi_rect
