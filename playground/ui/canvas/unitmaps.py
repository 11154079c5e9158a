"""Pictures of what a node's units do, drawn under the node during training.

For data with two inputs, :class:`UnitStrip` shows TensorFlow Playground's thumbnails: each
unit's output over the input plane (orange below the middle of its range, white at it, blue
above: the colours of the two classes), a few units per node and a "+k more" tile for the rest;
for other data, a histogram of the node's outputs on the batch. A click asks for the enlarged
view (``on_click``). The canvas draws what it is given: the pictures come ready as arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsSceneMouseEvent,
    QGraphicsTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from . import style as S
from .heatmaps import rgb_image, two_sided_lut
from .nativebounds import NativeBoundsItem
from .paintclock import timed

__all__ = ["MAP_LUT", "TILE", "UnitStrip", "map_image", "map_rgb", "mosaic", "rgb_images"]

TILE = 44.0  # px in the scene, one unit's map, at 100% zoom and above
MIN_SCREEN_TILE = 24.0  # zoomed out, a map keeps at least this many pixels on screen
MAX_TILE = 2.5 * TILE  # (up to this size in the scene)
MORE_TEXT = (0.34, 0.22)  # the "+k" and "more" of the last tile, in pixels per tile width
GAP = 4.0
ROWS = 2  # rows of maps at most (above the node, where the layouts leave room)
HIST_H = 40.0
BORDER = QColor(255, 255, 255, 70)
MORE_BG = QColor(16, 18, 22, 220)


# orange (low) – white (middle) – blue (high), TensorFlow Playground's
MAP_LUT = two_sided_lut((245, 147, 34), (246, 246, 246), (8, 119, 189))


def map_rgb(m: np.ndarray, lo: float, hi: float, centred: bool) -> np.ndarray:
    """(..., rows, cols, 3) colours: ``centred`` scales symmetrically about 0 (white at 0, the
    extremes at ±max(|lo|, |hi|)), else linearly from ``lo`` (orange) to ``hi`` (blue)."""
    m = np.asarray(m, dtype=np.float32)
    if not np.isfinite(m).all():
        m = np.nan_to_num(m, nan=0.0, posinf=hi, neginf=lo)
    if centred:
        scale = max(abs(lo), abs(hi)) or 1.0
        t = m * np.float32(127.5 / scale) + np.float32(127.5)
    else:
        span = (hi - lo) or 1.0
        t = (m - np.float32(lo)) * np.float32(255.0 / span)
    # the LUT's entry: 0 for the low end (orange), 255 for the high end (blue). Looked up with
    # take over a pointer-sized index: indexing with a uint8 array made NumPy convert the index
    # first, 3x slower (~90 µs a node of 16 units at 32 x 32, 5.5 times a second, in the
    # training thread)
    idx = np.clip(np.rint(t), 0, 255).astype(np.intp)
    return np.take(MAP_LUT, idx, axis=0)


def map_image(m: np.ndarray, lo: float, hi: float, centred: bool) -> QImage:
    """A unit's map as an image, the plane's y axis pointing up (row 0 of ``m`` is the lowest
    y, drawn at the bottom)."""
    return map_images(np.asarray(m)[None], lo, hi, centred)[0]


def map_images(maps: np.ndarray, lo: float, hi: float, centred: bool) -> list[QImage]:
    """Several units' maps (units, rows, cols) as images, coloured in one pass (a live run
    redraws them several times a second: one numpy pass per node, not per unit)."""
    rgb = np.ascontiguousarray(map_rgb(maps, lo, hi, centred)[:, ::-1])
    return [image.copy() for image in rgb_images(rgb)]


def rgb_images(rgb: np.ndarray) -> list[QImage]:
    """Images over the rows of ``rgb`` (units, rows, cols, 3) uint8, row 0 at the top, without
    copying: keep ``rgb`` alive as long as they are drawn."""
    return [rgb_image(rgb[k]) for k in range(rgb.shape[0])]


class UnitStrip(NativeBoundsItem):
    """Unit maps or a histogram under a node (a child item: it moves with the node).

    The maps are drawn by Qt's own items, children of the strip (a pixmap per tile, one path of
    frames, the "+k more" tile): a live run sends new maps several times a second, and a
    ``paint`` in Python would be a call into the interpreter at every repaint, taking the lock
    the training thread holds. The strip itself paints (in Python) only a histogram."""

    def __init__(self, parent: QGraphicsItem, body: Callable[[], QRectF]) -> None:
        super().__init__(parent)
        self._body = body  # the node's body rectangle (the strip sits under it)
        self.images: list[QImage] = []
        self.units = 0  # the node's units (maps shown: len(images); the rest are "+k more")
        self.hist: tuple[np.ndarray, float, float] | None = None  # counts, low, high
        self.on_click: Callable[[], None] | None = None
        self.tile = TILE  # scene size of one map (larger when the canvas is zoomed out)
        self._rect = QRectF()
        self._laid_on = QRectF()  # the node body the strip was last laid out on
        self._pixels: np.ndarray | None = None  # the coloured maps the images point into
        self._own_images: list[QImage] = []  # images over _pixels
        self._tiles: list[QRectF] = []  # where each image is drawn (see relayout)
        self._frames = QPainterPath()
        self._tile_items: list[QGraphicsPixmapItem] = []
        self._tile_pixmaps: list[QPixmap] = []  # each tile's pixmap, refilled with new maps
        self._frame_item = QGraphicsPathItem(self)
        self._frame_item.setPen(QPen(BORDER, 1.0))
        self._frame_item.setZValue(1)  # over the tiles
        self._more_box = QGraphicsPathItem(self)
        self._more_box.setPen(QPen(BORDER, 1.0))
        self._more_box.setBrush(QBrush(MORE_BG))
        self._more_text = QGraphicsTextItem(self._more_box)
        self._more_text.setDefaultTextColor(S.TEXT)
        self._more_text.setFont(_font())
        self._more_text.document().setDocumentMargin(0)
        for child in (self._frame_item, self._more_box, self._more_text):
            child.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks reach the strip
        self.setZValue(0.6)  # over wires and value labels, under other nodes
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAcceptHoverEvents(True)
        self.relayout()

    # -- content --------------------------------------------------------------------------------
    def set_zoom(self, zoom: float) -> bool:
        """The canvas zoom: zoomed out, the maps grow in the scene so that on screen each keeps
        about MIN_SCREEN_TILE pixels (in 1.25× steps). True when the size changed (the caller
        shows the maps again: how many fit depends on it)."""
        tile = TILE
        if zoom > 0 and zoom * TILE < MIN_SCREEN_TILE:
            k = math.ceil(math.log(MIN_SCREEN_TILE / (zoom * TILE), 1.25) - 1e-9)
            tile = min(MAX_TILE, TILE * 1.25 ** k)
        if tile == self.tile:
            return False
        self.tile = tile
        self.relayout()
        return True

    def per_row(self) -> int:
        """How many tiles fit the node's width."""
        width = self._body().width()
        return max(1, int((width + GAP) // (self.tile + GAP)))

    def fits(self) -> int:
        """How many tiles the strip has room for (the last one may be "+k more")."""
        return self.per_row() * ROWS

    def set_maps(self, maps: Sequence[np.ndarray], units: int, lo: float, hi: float,
                 centred: bool, tip: str = "", rgb: np.ndarray | None = None) -> None:
        """Show the first maps that fit (the last tile says "+k more" when ``units`` are more).
        ``rgb``: the maps already coloured (see :func:`map_rgb`, rows top-down), as a live run
        sends them."""
        room = self.fits()
        shown = units if units <= room else room - 1
        if shown <= 0:
            images, self._pixels, self._own_images = [], None, []
        elif rgb is not None:
            images = self._images_over(rgb[:shown])
        else:
            images = map_images(np.asarray(maps)[:shown], lo, hi, centred)
            self._pixels, self._own_images = None, []
        # a live run sends new maps several times a second: the strip's place and size change
        # only with the number of tiles (each move would re-index it in the scene)
        same = self.hist is None and len(images) == len(self.images) and units == self.units
        self.images, self.units, self.hist = images, units, None
        if tip != self.toolTip():
            self.setToolTip(tip)
        if not same or self._body() != self._laid_on:
            self.relayout()
        # the tiles' pixmaps are refilled in place: no Qt value is made per tile (each new one
        # hands the interpreter lock to a training thread waiting for it)
        for item, pixmap, image in zip(self._tile_items, self._tile_pixmaps, self.images):
            pixmap.convertFromImage(image)
            item.setPixmap(pixmap)

    def _images_over(self, rgb: np.ndarray) -> list[QImage]:
        """Images of ``rgb`` (units, rows, cols, 3) drawn from the strip's own pixels: a live
        run's next maps of the same size are copied into them, the images stay."""
        if self._pixels is None or self._pixels.shape != rgb.shape:
            self._pixels = np.array(rgb, dtype=np.uint8, order="C")  # (its own copy)
            self._own_images = rgb_images(self._pixels)
        else:
            np.copyto(self._pixels, rgb)
        return self._own_images

    def set_histogram(self, counts: np.ndarray, lo: float, hi: float, tip: str = "") -> None:
        self.images, self.units, self._pixels, self._own_images = [], 0, None, []
        self.hist = (np.asarray(counts, dtype=np.float64), float(lo), float(hi))
        self.setToolTip(tip)
        self.relayout()
        self.update()

    @property
    def more(self) -> int:
        """Units not drawn (the "+k more" tile)."""
        return max(0, self.units - len(self.images))

    def tile_rect(self, k: int) -> QRectF:
        row, col = divmod(k, self.per_row())
        t = self.tile
        return QRectF(col * (t + GAP), row * (t + GAP), t, t)

    def relayout(self) -> None:
        """Sit just above the node's body (the layouts keep the room above a layer's nodes
        free; parameters sit below), as wide as it at most."""
        self.prepareGeometryChange()
        body = self._body()
        self._laid_on = QRectF(body)
        if self.hist is not None:
            self._rect = QRectF(0, 0, body.width(), HIST_H + 14)
        else:
            tiles = len(self.images) + (1 if self.more else 0)
            per = self.per_row()
            rows = max(1, -(-tiles // per))
            cols = min(tiles, per)
            t = self.tile
            self._rect = QRectF(0, 0, max(0.0, cols * (t + GAP) - GAP), rows * (t + GAP) - GAP)
        # the tiles' places and their frames, drawn with every new set of maps (a live run's
        # several a second): one path for the frames rather than a rectangle per tile
        self._tiles = [self.tile_rect(k) for k in range(len(self.images))]
        self._frames = QPainterPath()
        for r in self._tiles:
            self._frames.addRect(r)
        self._layout_children()
        self.set_bounds(self._rect.adjusted(-1, -1, 1, 1))
        self.setPos(body.left(), body.top() - GAP - self._rect.height())

    def _layout_children(self) -> None:
        """The tiles, their frames and the "+k more" tile as Qt items (maps), or nothing but the
        strip's own paint (a histogram)."""
        maps = self.hist is None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, maps)
        tiles = self._tile_items
        while len(tiles) < len(self._tiles):  # (kept when fewer are shown: at most fits())
            item = QGraphicsPixmapItem(self)
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            tiles.append(item)
            self._tile_pixmaps.append(QPixmap())
        for k, item in enumerate(tiles):
            item.setVisible(k < len(self._tiles))
        for item, r, image in zip(tiles, self._tiles, self.images):
            item.setPos(r.topLeft())
            item.setScale(r.width() / max(image.width(), 1))
        self._frame_item.setPath(self._frames)
        self._frame_item.setVisible(maps)
        more = self.more if maps else 0
        self._more_box.setVisible(more > 0)
        if more:
            r = self.tile_rect(len(self.images))
            box = QPainterPath()
            box.addRoundedRect(r, 3, 3)
            self._more_box.setPath(box)
            text = self._more_text
            # sized with the tile (which keeps >= MIN_SCREEN_TILE px on screen), not a fixed
            # point size: "+13" stays readable at the zoom an example opens at (at 38% the
            # 8-pt text was 4 px tall on screen)
            big, small = (max(1, round(f * r.width())) for f in MORE_TEXT)
            text.setHtml(f"<div align='center'><span style='font-size:{big}px; "
                         f"font-weight:bold'>+{more}</span><br>"
                         f"<span style='font-size:{small}px'>more</span></div>")
            text.setTextWidth(r.width())
            text.setPos(r.left(), r.center().y() - text.boundingRect().height() / 2)

    # -- QGraphicsItem --------------------------------------------------------------------------
    def scene_rect(self) -> QRectF:
        return self.mapRectToScene(self._rect)

    @timed
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self.hist is not None:  # (the maps are the children's: see the class text)
            painter.setPen(QPen(BORDER, 1.0))
            self._paint_hist(painter)

    def _paint_hist(self, painter: QPainter) -> None:
        assert self.hist is not None
        counts, lo, hi = self.hist
        w = self._rect.width()
        painter.setBrush(QBrush(MORE_BG))
        painter.drawRoundedRect(QRectF(0, 0, w, HIST_H), 3, 3)
        top = float(counts.max()) if counts.size else 0.0
        if top > 0:
            n = counts.shape[0]
            bw = (w - 4) / n
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor("#8fb6e8")))
            for k, c in enumerate(counts):
                h = (HIST_H - 4) * math.sqrt(c / top)  # square root: a few values still show
                painter.drawRect(QRectF(2 + k * bw, HIST_H - 2 - h, max(bw - 0.5, 0.5), h))
        painter.setPen(QPen(S.TEXT_DIM))
        painter.setFont(_font())
        painter.drawText(QRectF(0, HIST_H, w, 14), Qt.AlignmentFlag.AlignLeft, _num(lo))
        painter.drawText(QRectF(0, HIST_H, w, 14), Qt.AlignmentFlag.AlignRight, _num(hi))

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.on_click is not None:
            self.on_click()
            event.accept()
            return
        super().mousePressEvent(event)

    def hoverEnterEvent(self, event: Any) -> None:
        super().hoverEnterEvent(event)


def _num(v: float) -> str:
    return f"{v:.3g}"


_FONT: QFont | None = None


def _font() -> QFont:
    global _FONT
    if _FONT is None:
        _FONT = S.font(8)
    return _FONT


def mosaic(maps: np.ndarray, lo: float, hi: float, centred: bool, names: tuple[str, str],
           scale: int = 4, columns: int | None = None) -> QImage:
    """Every unit's map in a grid, each ``scale`` × enlarged and numbered (unit 0, 1, ...),
    with the plane's axis names: the enlarged view of a node's units."""
    units = int(maps.shape[0])
    size = int(maps.shape[1]) * scale
    cols = columns or max(1, math.ceil(math.sqrt(units * 1.6)))
    rows = max(1, math.ceil(units / cols))
    pad, head = 10, 18
    image = QImage(cols * (size + pad) + pad, rows * (size + pad + head) + pad + 18,
                   QImage.Format.Format_RGB32)
    image.fill(QColor("#24262b"))
    p = QPainter(image)
    p.setFont(S.font(9))
    for u in range(units):
        r, c = divmod(u, cols)
        x = pad + c * (size + pad)
        y = pad + r * (size + pad + head)
        p.setPen(QPen(S.TEXT_DIM))
        p.drawText(QRectF(x, y, size, head - 2), Qt.AlignmentFlag.AlignLeft, f"unit {u}")
        p.drawImage(QRectF(x, y + head, size, size), map_image(maps[u], lo, hi, centred))
        p.setPen(QPen(BORDER, 1.0))
        p.drawRect(QRectF(x, y + head, size, size))
    p.setPen(QPen(S.TEXT_DIM))
    p.drawText(QRectF(pad, image.height() - 20, image.width() - 2 * pad, 18),
               Qt.AlignmentFlag.AlignLeft,
               f"each square: the input plane, {names[0]} → right, {names[1]} ↑ up;  "
               f"orange {lo:.3g} · white {'0' if centred else f'{(lo + hi) / 2:.3g}'} · "
               f"blue {hi:.3g}")
    p.end()
    return image
