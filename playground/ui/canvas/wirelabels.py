"""Values and gradients on the wires: their text and the label item (thumbnails: heatmaps.py).

Each source node with data gets one :class:`WireLabelItem`: its forward value (green) and the
gradient of the output with respect to it (red, marked ∇), the total over all the wires it feeds.
Every wire from a source carries the same value and gradient, so a source with several wires
shows one label, on the wire where it fits best, with a "×3" hint. A node that feeds nothing (the
loss, a display-only softmax) shows its label beside its output port.

Scalars are numbers with 4 significant digits; tensors are their shape, mean and norm
("(1,64) μ0.12 ‖3.4‖") with a 24×12 px heatmap (block means, a diverging colour map scaled to
the largest magnitude). The tooltip has min/max/mean/std and the first few numbers.

Readable at any zoom: from READABLE_ZOOM (85 %) up a label is drawn at its scene size. Zoomed
further out it keeps (at least) that size on screen: the item is scaled up in the scene by
:func:`label_style`'s factor, and its text shortens (3 digits; a tensor's heatmaps and norms
without the shape line) so that it still fits between the shrinking nodes. Values and
gradients never vanish; only the user's "show values" switch hides them.

Placement (:class:`~.labelplacer.LabelPlacer`): candidate spots at the middle of each wire and
then further along it, above and below the curve and lifted until they clear it; a spot must
not overlap another label or a node, and should cross no wire. When no spot along the wires is
free, the nearest free spot around the wire's middle is taken and a thin dotted leader joins
the label to its wire; then the same for the one-line chip; as a last resort the nearest free
spot further away, with a leader.
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
from ..glossary import legend_html
from . import style as S
from .heatmaps import THUMB_H, THUMB_W, rgb_image, thumbnail_rgb
from .nativebounds import NativeBoundsItem
from .paintclock import timed

READABLE_ZOOM = 0.85  # below this zoom labels keep their on-screen size and shorten
SCALE_STEP = 1.25  # ... in steps of this factor (see label_style)
CHIP_GAP = 4.0
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


# ----------------------------------------------------------------------------- zoom

def label_style(zoom: float) -> tuple[float, bool]:
    """(scale, short) of the labels at canvas ``zoom``. From READABLE_ZOOM up they are drawn
    at their scene size, in full. Below it they are drawn ``scale`` times larger in the scene,
    so that on screen they keep at least the size they have at READABLE_ZOOM, and their text
    is shortened. The scale goes in steps of SCALE_STEP (on screen they vary between 1× and
    1.25× that size): labels are placed again only when a step is crossed, not on every wheel
    notch."""
    if not zoom > 0 or zoom >= READABLE_ZOOM:
        return 1.0, False
    k = max(1, math.ceil(math.log(READABLE_ZOOM / zoom, SCALE_STEP) - 1e-9))
    return SCALE_STEP ** k, True


Line = tuple[str, QColor, "QImage | None"]


def _short_number(a: Any) -> str:
    return fmt_number(digest(a).scalar(), 3)


def _norm_text(a: Any) -> str:
    d = digest(a)
    return "empty" if d.size == 0 else f"‖{fmt_number(d.norm, 2)}‖"


# ----------------------------------------------------------------------------- the item

class WireLabelItem(NativeBoundsItem):
    """The value (green) and gradient (red) of one source node, on one of its wires.

    Three forms, all with the value and the gradient: *full* (a scalar's numbers with 4
    digits; a tensor's shape, μ and ‖·‖ with heatmaps), *short* (zoomed out: 3 digits; a
    tensor's heatmaps and norms) and the *chip* (where not even that fits: one line, the
    numbers or the two heatmaps side by side). Zoomed out the item is scaled up
    (:func:`label_style`) so that it keeps a readable size on screen; sizes handed to the
    placer are scene sizes, with that scale."""

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
        self.short = False  # the zoomed-out form (see label_style)
        self._tip: tuple[Any, Any, int, str] | None = None
        self._tip_html: str | None = None
        self._lines: list[Line] = []
        self._header = ""
        self._short_lines: list[Line] = []
        self._chip: list[Line] = []
        self._full_size = (0.0, 0.0)
        self._short_size = (0.0, 0.0)
        self._chip_size = (0.0, 0.0)
        self._leader: QLineF | None = None
        self._leader_end = QPointF()
        # the thumbnails' pixels and their images, refilled with new numbers (a live run's
        # labels change every second: no image is made or dropped then)
        self._pixels: list[np.ndarray] = []
        self._images: list[QImage] = []
        self._rect = QRectF()  # in label units (scene units / scale)
        self._scene_rect: QRectF | None = None  # label_scene_rect(), until it moves
        self._grow = 0.0  # room kept for longer numbers (label units), once it outgrew a spot
        self._bounds = QRectF()
        self._shown = True
        self.setZValue(0.5)  # over the wires, under the nodes
        # repainted from a pixmap unless its numbers changed: the unit maps beside it are
        # redrawn several times a second during a run, the numbers once a second
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks reach what is below

    # -- content ---------------------------------------------------------------------------
    def set_data(self, value: np.ndarray | Digest | None, grad: np.ndarray | Digest | None,
                 count: int, name: str = "") -> None:
        """Show ``value`` and ``grad`` (arrays, or their digests: a live run's wires)."""
        value = None if value is None else digest(value, THUMB_H, THUMB_W)
        grad = None if grad is None else digest(grad, THUMB_H, THUMB_W)
        self.count = count
        self.value_text = "" if value is None else summary(value)
        self.grad_text = "" if grad is None else summary(grad)
        tensor = any(a is not None and not is_scalar(a) for a in (value, grad))
        hint = f"×{count}" if count > 1 else ""
        self._lines, self._short_lines, self._chip = [], [], []
        self._header = ""
        parts = [(a, c, m) for a, c, m in ((value, VALUE_COLOUR, ""), (grad, GRAD_COLOUR, GRAD_MARK))
                 if a is not None]
        if tensor:
            ref = value if value is not None else grad
            self._header = fmt_array_shape(ref.shape if ref is not None else ()) + (f"  {hint}" if hint else "")
            for k, (arr, colour, mark) in enumerate(parts):
                thumb = None if is_scalar(arr) else self._thumb(k, arr)
                text = summary(arr)
                if not is_scalar(arr) and text.startswith("("):
                    text = text.split(" ", 1)[1] if " " in text else text
                self._lines.append((mark + text, colour, thumb))
                short = _short_number(arr) if is_scalar(arr) else _norm_text(arr)
                extra = f"  {hint}" if hint and k == 0 else ""
                self._short_lines.append((mark.strip() + short + extra, colour, thumb))
                self._chip.append(("" if thumb is not None else mark.strip() + short, colour, thumb))
        else:
            for k, (arr, colour, mark) in enumerate(parts):
                extra = hint if hint and k == 0 and value is not None else ""
                self._lines.append((mark + summary(arr) + (f"   {extra}" if extra else ""),
                                    colour, None))
                self._short_lines.append((mark.strip() + _short_number(arr)
                                          + (f"  {extra}" if extra else ""), colour, None))
                self._chip.append((mark.strip() + _short_number(arr), colour, None))
            if value is None and hint:
                self._header = hint
        fm = _label_metrics()
        lh = line_height()

        def block(header: str, lines: list[Line]) -> tuple[float, float]:
            width = fm.horizontalAdvance(header) if header else 0.0
            for text, _colour, thumb in lines:
                width = max(width, fm.horizontalAdvance(text)
                            + (THUMB_W + (4 if text else 0) if thumb is not None else 0))
            rows = len(lines) + (1 if header else 0)
            return math.ceil(width + 2 * PAD_X), math.ceil(rows * lh + 2 * PAD_Y)

        self._full_size = block(self._header, self._lines)
        self._short_size = block("", self._short_lines)
        chip_w = sum((THUMB_W if thumb is not None else fm.horizontalAdvance(text))
                     for text, _c, thumb in self._chip) + CHIP_GAP * max(0, len(self._chip) - 1)
        self._chip_size = (math.ceil(chip_w + 6), math.ceil(lh + 2))
        self._tip, self._tip_html = (value, grad, count, name), None  # made on hover
        # new numbers keep the label where it is, and its box as it was, as long as they fit
        # (numbers that change every step must not make the label jump or its box flicker);
        # a label that outgrows its spot is placed again with room for two more digits
        w, h = self._size(self.compact)
        if self.placed and w <= self._rect.width() and h <= self._rect.height():
            self.needs_place = False
            self.update()  # same box: only the pixels change
            return
        self.prepareGeometryChange()
        self._scene_rect = None
        if self.placed:
            self._grow = fm.horizontalAdvance("00")
            self._rect = QRectF(0, 0, w + self._grow, h)
            self.needs_place = True
        else:
            self._rect = QRectF(0, 0, w, h)
            self.needs_place = True
        self._update_bounds()
        self.update()

    def _thumb(self, k: int, a: Any) -> QImage:
        """The ``k``-th thumbnail (0 the value's, 1 the gradient's) showing ``a``."""
        while len(self._pixels) <= k:
            self._pixels.append(np.zeros((THUMB_H, THUMB_W, 3), np.uint8))
            self._images.append(rgb_image(self._pixels[-1]))
        np.copyto(self._pixels[k], thumbnail_rgb(a))
        return self._images[k]

    def set_style(self, scale: float, short: bool) -> None:
        """Draw ``scale`` times the scene size, in the short form or in full (the canvas's zoom
        decides: :func:`label_style`). The label needs placing again."""
        if scale == self.scale() and short == self.short:
            return
        self.prepareGeometryChange()
        self.setScale(scale)
        self.short = short
        self._scene_rect = None
        self._rect = QRectF(0, 0, *self._size(self.compact))
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
                tip.append(stats_html(value, "value (forward pass)", VALUE_COLOUR))
            if grad is not None:
                what = ("∇ gradient ∂L/∂(this output): how much the output L changes per unit "
                        "change here" + (", total over its wires" if count > 1 else ""))
                tip.append(stats_html(grad, what, GRAD_COLOUR))
            if value is not None and not is_scalar(value):
                tip.append("<span style='color:gray; font-size:small'>heatmap: blue negative, "
                           "orange positive</span>" + legend_html("N μ ‖"))
            if value is not None or grad is not None:
                tip.append("<i>click for the full view</i>")
            self._tip_html = "<br>".join(tip)
        return self._tip_html

    def _size(self, compact: bool) -> tuple[float, float]:
        """Size in label units (the item's own coordinates) of the form shown."""
        if compact:
            return self._chip_size
        return self._short_size if self.short else self._full_size

    def size(self) -> tuple[float, float]:
        """Scene size of the form shown."""
        w, h = self._size(self.compact)
        s = self.scale()
        return w * s, h * s

    def full_size(self) -> tuple[float, float]:
        """Scene size of the label when it is not a chip (full, or short when zoomed out), with
        the room kept for longer numbers."""
        w, h = self._size(False)
        s = self.scale()
        return (w + self._grow) * s, h * s

    def chip_size(self) -> tuple[float, float] | None:
        if not self._chip:
            return None
        s = self.scale()
        return (self._chip_size[0] + self._grow) * s, self._chip_size[1] * s

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
        self._scene_rect = None
        if rect is not None:
            s = self.scale()
            self.setPos(rect.topLeft())
            self._rect = QRectF(0, 0, rect.width() / s, rect.height() / s)
            if leader and anchor is not None:
                local = (anchor - rect.topLeft()) / s
                start = QPointF(min(max(local.x(), 0.0), self._rect.width()),
                                min(max(local.y(), 0.0), self._rect.height()))
                self._leader = QLineF(start, local)
                self._leader_end = local
        self._update_bounds()
        self.setVisible(self._shown and self.placed)
        self.update()

    def set_shown(self, on: bool) -> None:
        """The user's 'show values' switch (a label with no room stays hidden regardless)."""
        self._shown = bool(on)
        self.setVisible(self._shown and self.placed)

    def label_scene_rect(self) -> QRectF:
        """The label's box in scene coordinates (without the leader line). Do not change it:
        it is kept until the label moves (a live run asks for it every second)."""
        if self._scene_rect is None:
            s = self.scale()
            r = self._rect
            p = self.pos()
            self._scene_rect = QRectF(p.x(), p.y(), r.width() * s, r.height() * s)
        return self._scene_rect

    @property
    def has_leader(self) -> bool:
        return self._leader is not None

    def _update_bounds(self) -> None:
        r = QRectF(self._rect)
        if self._leader is not None:
            p = self._leader.p2()
            r = r.united(QRectF(p.x() - 3, p.y() - 3, 6, 6))
        self._bounds = r.adjusted(-1, -1, 1, 1)
        self.set_bounds(self._bounds)

    # -- QGraphicsItem ---------------------------------------------------------------------
    @timed
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        # no Qt value (rectangle, point, pen) is made here: each new one hands the interpreter
        # lock to a training thread waiting for it (the labels repaint with every live update)
        r = self._rect
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._leader is not None:
            painter.setPen(LEADER_PEN)
            painter.drawLine(self._leader)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(LEADER_BRUSH)
            painter.drawEllipse(self._leader_end, 2.2, 2.2)
        painter.setPen(BORDER_PEN)
        painter.setBrush(BG_BRUSH)
        painter.drawRoundedRect(r, 4, 4)
        painter.setFont(_label_font())
        lh = line_height()
        if self.compact:
            x = r.left() + 3
            top = r.top() + (r.height() - lh) / 2  # the one line, centred
            for text, colour, thumb in self._chip:
                if thumb is not None:
                    painter.drawImage(round(x), round(top + (lh - THUMB_H) / 2), thumb)
                    x += THUMB_W + CHIP_GAP
                else:
                    painter.setPen(colour)
                    painter.drawText(round(x), round(top + _baseline()), text)
                    x += _label_metrics().horizontalAdvance(text) + CHIP_GAP
            return
        y = r.top() + PAD_Y
        x0 = r.left() + PAD_X
        header, lines = ("", self._short_lines) if self.short else (self._header, self._lines)
        if header:
            painter.setPen(HINT_COLOUR)
            painter.drawText(round(x0), round(y + _baseline()), header)
            y += lh
        for text, colour, thumb in lines:
            x = x0
            if thumb is not None:
                painter.drawImage(round(x), round(y + (lh - THUMB_H) / 2), thumb)
                x += THUMB_W + 4
            if text:
                painter.setPen(colour)
                painter.drawText(round(x), round(y + _baseline()), text)
            y += lh


LEADER_PEN = QPen(LEADER, 1.0, Qt.PenStyle.DotLine)
LEADER_BRUSH = QBrush(LEADER)
BORDER_PEN = QPen(LABEL_BORDER, 1.0)
BG_BRUSH = QBrush(LABEL_BG)
_FONT: Any = None
_METRICS: QFontMetricsF | None = None


def _label_font() -> Any:
    global _FONT
    if _FONT is None:
        _FONT = S.font(FONT_PT)
    return _FONT


def _label_metrics() -> QFontMetricsF:
    global _METRICS
    if _METRICS is None:
        _METRICS = QFontMetricsF(_label_font())
    return _METRICS


_LINE_H: float | None = None
_BASELINE: float | None = None


def _baseline() -> float:
    """From the top of a line to the text's baseline, the text centred in the line."""
    global _BASELINE
    if _BASELINE is None:
        fm = _label_metrics()
        _BASELINE = (line_height() - fm.height()) / 2 + fm.ascent()
    return _BASELINE


def line_height() -> float:
    global _LINE_H
    if _LINE_H is None:
        _LINE_H = max(math.ceil(QFontMetricsF(S.font(FONT_PT)).height()), THUMB_H + 1)
    return _LINE_H
