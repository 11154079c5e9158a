"""Values and gradients on the wires: the text, the heatmap thumbnails and the label item.

Each source node with data gets one :class:`WireLabelItem`: its forward value (green) and the
gradient of the output with respect to it (red, marked ∇), the total over all the wires it feeds.
Every wire from a source carries the same value and gradient, so a source with several wires
shows one label, on the wire where it fits best, with a "×3" hint. A node that feeds nothing (the
loss, a display-only softmax) shows its label beside its output port.

Scalars are numbers with 4 significant digits; tensors are their shape, mean and norm
("(1,64) μ0.12 ‖3.4‖") with a 24×12 px heatmap (block means, a diverging colour map scaled to
the largest magnitude). The tooltip has min/max/mean/std and the first few numbers.

Placement (:class:`~.labelplacer.LabelPlacer`): candidate spots at the middle of each wire and then further
along it, above and below the curve and lifted until they clear it; a spot must not overlap
another label or a node, and should cross no wire. When no spot along the wires is free, the
nearest free spot around the wire's middle is taken and a thin dotted leader joins the label to
its wire; when even that fails the label is stacked above the others, so labels never overlap.
Below zoom 0.5 labels paint nothing (too small to read, and cheaper).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from ...engine.digest import Digest, as_matrix, digest
from ...engine.formatting import number as fmt_number
from ...engine.formatting import shape as fmt_shape
from ...engine.formatting import summary
from . import style as S

LOD_LABELS = 0.5  # below this zoom the labels paint nothing
THUMB_W, THUMB_H = 24, 12
VALUE_COLOUR = QColor("#8ee08e")
GRAD_COLOUR = QColor("#ff8f85")
HINT_COLOUR = QColor("#c9ced6")
LABEL_BG = QColor(16, 18, 22, 232)
LABEL_BORDER = QColor(255, 255, 255, 46)
LEADER = QColor(220, 224, 230, 150)
FONT_PT = 8.5
PAD_X, PAD_Y = 5.0, 2.0
GRAD_MARK = "∇ "


# ----------------------------------------------------------------------------- text

def fmt_array_shape(dims: Sequence[int]) -> str:
    """A shape where room is short: ``(32,64)``."""
    return fmt_shape(dims, compact=True)


def _as_float(a: Any) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "fc":
        arr = arr.astype(np.float64)
    return arr


def is_scalar(a: Any) -> bool:
    return (a.size if isinstance(a, Digest) else int(np.size(a))) == 1


def stats_html(a: Any, title: str, colour: QColor) -> str:
    """Tooltip block: shape, min/max/mean/std and the first few numbers (``a`` an array or its
    :class:`~playground.engine.digest.Digest`)."""
    d = digest(a)
    head = f"<b style='color:{colour.name()}'>{html.escape(title)}</b>"
    if d.size == 1:
        return f"{head} {fmt_number(d.scalar(), 6)}"
    if d.size == 0:
        return f"{head} {fmt_array_shape(d.shape)} (empty)"
    stats = (f"min {fmt_number(d.min)} · max {fmt_number(d.max)} · "
             f"mean {fmt_number(d.mean)} · std {fmt_number(d.std)} · "
             f"‖·‖ {fmt_number(d.norm)}")
    first = ", ".join(fmt_number(v) for v in d.head) + (", …" if d.size > d.head.size else "")
    return f"{head} {fmt_array_shape(d.shape)}<br>{stats}<br>[{first}]"


# ----------------------------------------------------------------------------- heatmaps

def as_2d(a: Any) -> np.ndarray:
    """A matrix view for display: scalar 1×1, vector 1×n, more axes (rows of the last)."""
    return as_matrix(_as_float(a))


def _diverging_lut() -> np.ndarray:
    """256 RGB entries: blue (negative) – dark grey (zero) – orange (positive)."""
    neg, mid, pos = (np.array(c, dtype=np.float64) for c in ((86, 150, 255), (52, 55, 62),
                                                            (255, 140, 60)))
    t = np.linspace(-1.0, 1.0, 256)[:, None]
    lut = np.where(t < 0, mid + (neg - mid) * (-t), mid + (pos - mid) * t)
    return np.clip(np.round(lut), 0, 255).astype(np.uint8)


LUT = _diverging_lut()


def heatmap_rgb(m: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(rows, cols, 3) uint8 colours of ``m`` in the diverging map, symmetric about zero
    (NaN and infinities drawn as zero). Few NumPy calls: live runs draw many of these."""
    m = np.asarray(m, dtype=np.float64)
    if m.size and not np.isfinite(m).all():
        m = np.nan_to_num(m, nan=0.0, posinf=0.0, neginf=0.0)
    if scale is None:
        scale = float(np.abs(m).max()) if m.size else 0.0
    if scale <= 0:
        scale = 1.0
    idx = np.rint(m * (127.5 / scale) + 127.5).astype(np.intp)
    np.clip(idx, 0, 255, out=idx)
    return LUT[idx]


def thumbnail(a: Any) -> QImage:
    """A heatmap of ``a`` (an array or its digest) as block means of at most THUMB_W × THUMB_H
    cells."""
    rgb = np.ascontiguousarray(heatmap_rgb(digest(a, THUMB_H, THUMB_W).grid))
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: rgb is freed after this returns


# ----------------------------------------------------------------------------- the item

class WireLabelItem(QGraphicsItem):
    """The value (green) and gradient (red) of one source node, on one of its wires.

    Where the full label does not fit it shrinks to a chip (a tensor's heatmap, or a scalar's
    value); where not even that fits it stays hidden (``placed`` False) and the wire's tooltip
    still has the numbers."""

    def __init__(self, source_id: str) -> None:
        super().__init__()
        self.source_id = source_id
        self.value_text = ""  # summary(value), '' when there is no value
        self.grad_text = ""  # summary(grad), '' when there is no gradient
        self.count = 1  # wires this source feeds (the label sits on one of them)
        self.anchor = QPointF()  # scene point on the wire the label belongs to
        self.edge_id: str | None = None  # the wire it sits on (None: beside a sink's port)
        self.compact = False
        self.placed = False
        self.needs_place = True  # new, or grown past its spot: the scene places it again
        self._tip: tuple[Any, Any, int, str] | None = None
        self._tip_html: str | None = None
        self._lines: list[tuple[str, QColor, QImage | None]] = []
        self._header = ""
        self._chip: tuple[str, QColor, QImage | None] | None = None
        self._full_size = (0.0, 0.0)
        self._chip_size = (0.0, 0.0)
        self._leader: QLineF | None = None
        self._rect = QRectF()
        self._bounds = QRectF()
        self._shown = True
        self.setZValue(0.5)  # over the wires, under the nodes
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks reach what is below

    # -- content ---------------------------------------------------------------------------
    def set_data(self, value: np.ndarray | Digest | None, grad: np.ndarray | Digest | None,
                 count: int, name: str = "") -> None:
        """Show ``value`` and ``grad`` (arrays, or their digests: a live run's wires)."""
        value = None if value is None else digest(value, THUMB_H, THUMB_W)
        grad = None if grad is None else digest(grad, THUMB_H, THUMB_W)
        self.prepareGeometryChange()
        self.count = count
        self.value_text = "" if value is None else summary(value)
        self.grad_text = "" if grad is None else summary(grad)
        tensor = any(a is not None and not is_scalar(a) for a in (value, grad))
        hint = f"×{count}" if count > 1 else ""
        self._lines = []
        self._header = ""
        if tensor:
            ref = value if value is not None else grad
            self._header = fmt_array_shape(ref.shape if ref is not None else ()) + (f"  {hint}" if hint else "")
            for arr, colour, mark in ((value, VALUE_COLOUR, ""), (grad, GRAD_COLOUR, GRAD_MARK)):
                if arr is not None:
                    text = summary(arr)
                    if not is_scalar(arr) and text.startswith("("):
                        text = text.split(" ", 1)[1] if " " in text else text
                    self._lines.append((mark + text, colour,
                                        None if is_scalar(arr) else thumbnail(arr)))
            thumb = next((t for _x, _c, t in self._lines if t is not None), None)
            self._chip = ("", VALUE_COLOUR, thumb)
        else:
            if value is not None:
                self._lines.append((self.value_text + (f"   {hint}" if hint else ""),
                                    VALUE_COLOUR, None))
            if grad is not None:
                self._lines.append((GRAD_MARK + self.grad_text, GRAD_COLOUR, None))
            if value is None and hint:
                self._header = hint
            self._chip = ((self.value_text, VALUE_COLOUR, None) if value is not None else
                          (GRAD_MARK + self.grad_text, GRAD_COLOUR, None) if grad is not None else None)
        fm = _metrics()
        lh = line_height()
        width = fm.horizontalAdvance(self._header) if self._header else 0.0
        for text, _colour, thumb in self._lines:
            width = max(width, fm.horizontalAdvance(text) + (THUMB_W + 4 if thumb is not None else 0))
        rows = len(self._lines) + (1 if self._header else 0)
        self._full_size = (math.ceil(width + 2 * PAD_X), math.ceil(rows * lh + 2 * PAD_Y))
        if self._chip is not None:
            text, _colour, thumb = self._chip
            cw = THUMB_W if thumb is not None else fm.horizontalAdvance(text)
            self._chip_size = (math.ceil(cw + 6), math.ceil(lh + 2))
        self._tip, self._tip_html = (value, grad, count, name), None  # made on hover
        # new numbers keep the label where it is as long as they fit its spot (no jumping)
        size = self.size()
        if self.placed and size[0] <= self._rect.width() and size[1] <= self._rect.height():
            self.prepareGeometryChange()
            self._rect = QRectF(0, 0, *size)
            self.needs_place = False
        else:
            self._rect = QRectF(0, 0, *size)
            self.needs_place = True
        self._update_bounds()
        self.update()

    @property
    def tooltip_html(self) -> str:
        """Min/max/mean/std and the first numbers of the value and the gradient (built the
        first time it is asked for: the scene sets it as the tooltip on hover)."""
        if self._tip_html is None:
            if self._tip is None:
                return ""
            value, grad, count, name = self._tip
            tip = [f"<b>{html.escape(name)}</b>" + (f" — feeds {count} wires" if count > 1 else "")]
            if value is not None:
                tip.append(stats_html(value, "value", VALUE_COLOUR))
            if grad is not None:
                what = "gradient ∂L/∂(this output)" + (", total over its wires" if count > 1 else "")
                tip.append(stats_html(grad, what, GRAD_COLOUR))
            if value is not None or grad is not None:
                tip.append("<i>click for the full view</i>")
            self._tip_html = "<br>".join(tip)
        return self._tip_html

    def size(self) -> tuple[float, float]:
        return self._chip_size if self.compact else self._full_size

    def full_size(self) -> tuple[float, float]:
        return self._full_size

    def chip_size(self) -> tuple[float, float] | None:
        return self._chip_size if self._chip is not None else None

    def place(self, rect: QRectF | None, anchor: QPointF | None = None, edge_id: str | None = None,
              leader: bool = False, compact: bool = False) -> None:
        """Put the label at ``rect`` (scene); with ``leader`` draw a dotted line to ``anchor``.
        ``rect`` None: no room anywhere, the label stays hidden."""
        self.prepareGeometryChange()
        self.placed = rect is not None
        self.needs_place = False
        self.compact = compact
        self.edge_id = edge_id
        self.anchor = QPointF(anchor) if anchor is not None else QPointF()
        self._leader = None
        if rect is not None:
            self.setPos(rect.topLeft())
            self._rect = QRectF(0, 0, rect.width(), rect.height())
            if leader and anchor is not None:
                local = anchor - rect.topLeft()
                start = QPointF(min(max(local.x(), 0.0), rect.width()),
                                min(max(local.y(), 0.0), rect.height()))
                self._leader = QLineF(start, local)
        self._update_bounds()
        self.setVisible(self._shown and self.placed)
        self.update()

    def set_shown(self, on: bool) -> None:
        """The user's 'show values' switch (a label with no room stays hidden regardless)."""
        self._shown = bool(on)
        self.setVisible(self._shown and self.placed)

    def label_scene_rect(self) -> QRectF:
        """The label's box in scene coordinates (without the leader line)."""
        return self._rect.translated(self.pos())

    @property
    def has_leader(self) -> bool:
        return self._leader is not None

    def _update_bounds(self) -> None:
        r = QRectF(self._rect)
        if self._leader is not None:
            p = self._leader.p2()
            r = r.united(QRectF(p.x() - 3, p.y() - 3, 6, 6))
        self._bounds = r.adjusted(-1, -1, 1, 1)

    # -- QGraphicsItem ---------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform()) < LOD_LABELS:
            return
        r = self._rect
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._leader is not None:
            painter.setPen(LEADER_PEN)
            painter.drawLine(self._leader)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(LEADER_BRUSH)
            painter.drawEllipse(self._leader.p2(), 2.2, 2.2)
        painter.setPen(BORDER_PEN)
        painter.setBrush(BG_BRUSH)
        painter.drawRoundedRect(r, 4, 4)
        painter.setFont(_label_font())
        lh = line_height()
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        if self.compact:
            if self._chip is not None:
                text, colour, thumb = self._chip
                if thumb is not None:
                    painter.drawImage(QRectF(r.left() + 3, r.center().y() - THUMB_H / 2, THUMB_W,
                                             THUMB_H), thumb)
                else:
                    painter.setPen(QPen(colour))
                    painter.drawText(r.adjusted(3, 0, -3, 0), align, text)
            return
        y = r.top() + PAD_Y
        x0 = r.left() + PAD_X
        if self._header:
            painter.setPen(QPen(HINT_COLOUR))
            painter.drawText(QRectF(x0, y, r.width() - 2 * PAD_X, lh), align, self._header)
            y += lh
        for text, colour, thumb in self._lines:
            x = x0
            if thumb is not None:
                painter.drawImage(QRectF(x, y + (lh - THUMB_H) / 2, THUMB_W, THUMB_H), thumb)
                x += THUMB_W + 4
            painter.setPen(QPen(colour))
            painter.drawText(QRectF(x, y, r.right() - x, lh), align, text)
            y += lh


LEADER_PEN = QPen(LEADER, 1.0, Qt.PenStyle.DotLine)
LEADER_BRUSH = QBrush(LEADER)
BORDER_PEN = QPen(LABEL_BORDER, 1.0)
BG_BRUSH = QBrush(LABEL_BG)
_FONT: Any = None


def _label_font() -> Any:
    global _FONT
    if _FONT is None:
        _FONT = S.font(FONT_PT)
    return _FONT


_LINE_H: float | None = None
_METRICS: QFontMetricsF | None = None


def _metrics() -> QFontMetricsF:
    global _METRICS
    if _METRICS is None:
        _METRICS = QFontMetricsF(S.font(FONT_PT))
    return _METRICS


def line_height() -> float:
    global _LINE_H
    if _LINE_H is None:
        _LINE_H = max(math.ceil(QFontMetricsF(S.font(FONT_PT)).height()), THUMB_H + 1)
    return _LINE_H


# ----------------------------------------------------------------------------- placement
