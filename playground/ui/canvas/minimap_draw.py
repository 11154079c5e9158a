"""How the minimap is drawn: its thumbnails of the graph (one box per node, one line per wire,
backdrops tinted) rendered into pixmaps, the outline of the canvas's visible area kept inside the
rounded frame, and the arrow towards a place outside the map. Painting only: the widget
(minimap.py) decides when."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
    QTransform,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from . import style as S

RADIUS = 8.0
BG = QColor(22, 24, 28, 190)
BORDER = QColor(255, 255, 255, 70)
OUTSIDE_SHADE = QColor(0, 0, 0, 90)
VIEW_FILL = QColor(120, 180, 255, 38)
VIEW_EDGE = QColor(140, 195, 255, 230)
EDGE_LINE = QColor(S.WIRE.red(), S.WIRE.green(), S.WIRE.blue(), 120)

COLLAPSE_BG = QColor(255, 255, 255, 40)
COLLAPSE_FG = QColor(255, 255, 255, 200)


def draw_collapse_box(painter: QPainter, box: QRectF) -> None:
    """The "–" button in the minimap's top-right corner."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(COLLAPSE_BG))
    painter.drawRoundedRect(box, 4, 4)
    painter.setPen(QPen(COLLAPSE_FG, 1.6))
    c = box.center()
    painter.drawLine(QPointF(c.x() - 4, c.y()), QPointF(c.x() + 4, c.y()))


def draw_outline(painter: QPainter, view: QRectF, bounds: QRectF) -> None:
    """The sides of ``view`` that lie inside the minimap, kept inside its rounded corners."""
    w, h = bounds.width(), bounds.height()

    def inset(d: float) -> float:  # how far a rounded corner cuts in at distance d
        d = min(d, RADIUS)
        return RADIUS - (RADIUS * RADIUS - (RADIUS - d) ** 2) ** 0.5 + 1

    x0, x1 = math.floor(view.left()) + 0.5, math.ceil(view.right()) - 0.5
    y0, y1 = math.floor(view.top()) + 0.5, math.ceil(view.bottom()) - 0.5
    for x in (x0, x1):
        if 1 <= x <= w - 1:
            e = inset(min(x, w - x))
            top, bottom = max(y0, e), min(y1, h - e)
            if top < bottom:
                painter.drawLine(QPointF(x, top), QPointF(x, bottom))
    for y in (y0, y1):
        if 1 <= y <= h - 1:
            e = inset(min(y, h - y))
            left, right = max(x0, e), min(x1, w - e)
            if left < right:
                painter.drawLine(QPointF(left, y), QPointF(right, y))

def frame_path(rect: QRectF) -> QPainterPath:
    """The minimap's rounded outline inside ``rect`` (its viewport)."""
    path = QPainterPath()
    path.addRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), RADIUS, RADIUS)
    return path

def draw_off_map_arrow(painter: QPainter, bounds: QRectF, target: QPointF) -> None:
    """The canvas shows a place outside the minimap: point towards it from the border."""
    c = bounds.center()
    d = target - c
    if d.isNull():
        return
    inset = bounds.adjusted(10, 10, -10, -10)
    kx = (inset.width() / 2) / abs(d.x()) if d.x() else float("inf")
    ky = (inset.height() / 2) / abs(d.y()) if d.y() else float("inf")
    k = min(kx, ky)
    tip = c + d * k
    length = (d.x() ** 2 + d.y() ** 2) ** 0.5
    u = QPointF(d.x() / length, d.y() / length)
    n = QPointF(-u.y(), u.x())
    arrow = QPolygonF([tip, tip - u * 9 + n * 5, tip - u * 9 - n * 5])
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(VIEW_EDGE))
    painter.drawPolygon(arrow)


def render_thumbnails(size: QSize, dpr: float, transform: QTransform,
                      scene: QGraphicsScene | None,
                      fallback: Callable[[], list[QGraphicsItem]]) -> tuple[QPixmap, QPixmap]:
    """The content drawn once, in two finishes: lit (inside the view rectangle) and shaded.
    ``size``: the viewport's; ``transform``: scene to viewport; ``fallback``: the items to draw
    as plain boxes on a scene that is not a graph scene."""
    base = QPixmap(QSize(max(1, round(size.width() * dpr)), max(1, round(size.height() * dpr))))
    base.setDevicePixelRatio(dpr)
    base.fill(Qt.GlobalColor.transparent)
    frame = frame_path(QRectF(0, 0, size.width(), size.height()))
    p = QPainter(base)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.fillPath(frame, BG)
    p.setClipPath(frame)
    if scene is not None:
        paint_content(p, scene, transform, fallback)
    p.end()
    out = []
    for tint in (VIEW_FILL, OUTSIDE_SHADE):
        pix = base.copy()
        pix.setDevicePixelRatio(dpr)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillPath(frame, tint)
        p.setPen(QPen(BORDER, 1))
        p.drawPath(frame)
        p.end()
        out.append(pix)
    return out[0], out[1]

def paint_content(p: QPainter, scene: QGraphicsScene, t: QTransform,
                  fallback: Callable[[], list[QGraphicsItem]]) -> None:
    """One coloured box per node, a thin line per wire, backdrops as tinted boxes; selected
    nodes and nodes with a problem outlined."""
    p.setTransform(t)
    scale = t.m11()
    nodes = getattr(scene, "nodes", None)
    if nodes is None:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(S.NODE_BODY.lighter(140)))
        for item in fallback():
            p.drawRect(item.sceneBoundingRect())
        return
    for item in getattr(scene, "backdrops", {}).values():
        colour = QColor(getattr(item, "colour", S.NODE_BODY))
        colour.setAlpha(55)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(colour))
        p.drawRect(item.sceneBoundingRect())
    wire = QPen(EDGE_LINE, 1.0)
    wire.setCosmetic(True)
    p.setPen(wire)
    p.setBrush(Qt.BrushStyle.NoBrush)
    for edge in getattr(scene, "edges", {}).values():
        path = edge.path()
        if not edge.pos().isNull():
            path = path.translated(edge.pos())
        p.drawPath(path)
    radius = 3.0 / scale if scale > 0 else 0.0
    selected = QPen(S.NODE_SELECTED, 2.0)
    selected.setCosmetic(True)
    problem = QPen(S.ERROR, 1.5)
    problem.setCosmetic(True)
    brushes: dict[tuple[int, str], QBrush] = {}  # (rgba, state) → brush, made once
    no_pen = Qt.PenStyle.NoPen
    for item in nodes.values():
        body = item.body_rect() if hasattr(item, "body_rect") else item.boundingRect()
        r = body.translated(item.pos())
        colour = getattr(item, "colour", S.NODE_BODY)
        state = ("selected" if item.isSelected()
                 else "problem" if getattr(item, "problem", None) else "")
        brush = brushes.get((colour.rgba(), state))
        if brush is None:
            shade = (colour.lighter(135) if state == "selected"
                     else colour.darker(120) if state == "problem" else colour)
            brush = brushes[colour.rgba(), state] = QBrush(shade)
        p.setPen(selected if state == "selected" else problem if state == "problem" else no_pen)
        p.setBrush(brush)
        p.drawRoundedRect(r, radius, radius)
