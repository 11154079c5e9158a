"""Comment boxes (backdrops): a titled rectangle behind nodes that carries them when moved.

Backdrops are part of the document (``meta['backdrops']``: id, title, rect, colour) so they are
saved, and every change is an undo step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QStyleOptionGraphicsItem, QWidget

from . import style as S
from .paintclock import timed

if TYPE_CHECKING:
    from .scene import GraphScene

HANDLE = 14.0
TITLE_H = 26.0
COLOURS = ("#4a6fa5", "#5b8c5a", "#a5744a", "#8a5aa5", "#a54a5a")


class BackdropItem(QGraphicsRectItem):
    def __init__(self, scene: GraphScene, data: dict[str, Any]) -> None:
        super().__init__()
        self._scene = scene
        self.backdrop_id = str(data["id"])
        self.title = str(data.get("title", "Comment"))
        self.colour = QColor(str(data.get("colour", COLOURS[0])))
        x, y, w, h = (float(v) for v in data["rect"])
        self.setPos(x, y)
        self.setRect(QRectF(0, 0, w, h))
        self.setZValue(-10)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self._carried: dict[str, QPointF] = {}
        self._resizing = False
        self._press_rect = QRectF()
        self.setToolTip("Comment box: drag its title to move it with its nodes; drag the corner to "
                        "resize; double-click the title to rename")

    def scene_rect(self) -> QRectF:
        return self.mapRectToScene(self.rect())

    def to_data(self) -> dict[str, Any]:
        r = self.scene_rect()
        return {"id": self.backdrop_id, "title": self.title, "colour": self.colour.name(),
                "rect": [r.x(), r.y(), r.width(), r.height()]}

    @timed
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        r = self.rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(self.colour)
        fill.setAlpha(45)
        border = S.NODE_SELECTED if self.isSelected() else self.colour.lighter(120)
        painter.setPen(QPen(border, 1.5))
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(r, 8, 8)
        head = QColor(self.colour)
        head.setAlpha(160)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(head))
        painter.drawRoundedRect(QRectF(r.left(), r.top(), r.width(), TITLE_H), 8, 8)
        painter.setPen(QPen(S.TEXT))
        painter.setFont(S.font(10.5, bold=True))
        painter.drawText(QRectF(r.left() + 10, r.top(), r.width() - 20, TITLE_H),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.title)
        painter.setPen(QPen(self.colour.lighter(140), 1.5))
        br = r.bottomRight()
        for k in (4, 8, 12):
            painter.drawLine(QPointF(br.x() - k, br.y() - 2), QPointF(br.x() - 2, br.y() - k))

    def _in_handle(self, pos: QPointF) -> bool:
        r = self.rect()
        return pos.x() > r.right() - HANDLE and pos.y() > r.bottom() - HANDLE

    def mousePressEvent(self, event: Any) -> None:
        self._press_rect = self.scene_rect()
        if self._in_handle(event.pos()):
            self._resizing = True
            event.accept()
            return
        if event.pos().y() > TITLE_H:
            # only the title bar drags the box; clicks in the body select/rubber-band as usual
            event.ignore()
            return
        inside = self.scene_rect()
        self._carried = {nid: item.pos() for nid, item in self._scene.nodes.items()
                         if inside.contains(item.sceneBoundingRect())}
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: Any) -> None:
        if self._resizing:
            p = event.pos()
            self.prepareGeometryChange()
            self.setRect(QRectF(0, 0, max(120.0, p.x()), max(TITLE_H + 30, p.y())))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged and self._carried:
            delta = self.scene_rect().topLeft() - self._press_rect.topLeft()
            for nid, start in self._carried.items():
                item = self._scene.nodes.get(nid)
                if item is not None and not item.isSelected():
                    item.setPos(start + delta)
        return super().itemChange(change, value)

    def mouseReleaseEvent(self, event: Any) -> None:
        super().mouseReleaseEvent(event)
        carried, self._carried = self._carried, {}
        self._resizing = False
        if self.scene_rect() != self._press_rect:
            self._scene.backdrop_changed(self, list(carried))

    def mouseDoubleClickEvent(self, event: Any) -> None:
        if event.pos().y() <= TITLE_H:
            self._scene.backdrop_rename_requested.emit(self.backdrop_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)
