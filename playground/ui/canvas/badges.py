"""Badges on a node (gradient check, health): small rounded tags drawn at a fixed size on
screen, whatever the canvas's zoom, so 'saturated 13%' stays readable at the zoom an example
opens at."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetricsF,
    QPainter,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from . import style as S
from .nativebounds import NativeBoundsItem
from .paintclock import timed

if TYPE_CHECKING:
    from .items import NodeItem

_BADGE_FONT: Any = None


class BadgeItem(NativeBoundsItem):
    """A node's badges (gradient check, health ...): small pills under its bottom-left corner,
    drawn at a fixed size on screen (``ItemIgnoresTransformations``), so that "saturated 11%"
    stays readable however far the canvas is zoomed out."""

    FONT_PT = 8.5
    H = 17.0

    def __init__(self, node: NodeItem) -> None:
        super().__init__(node)
        self.node = node
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(3)
        self._rects: list[QRectF] = []
        self._bounds = QRectF()

    def relayout(self) -> None:
        """Pills for ``node.badges`` from the left; the item sits at the node's bottom-left."""
        self.prepareGeometryChange()
        fm = QFontMetricsF(_badge_font())
        x, rects = 0.0, []
        for text, _colour in self.node.badges.values():
            w = self.H + (fm.horizontalAdvance(text) + 8 if text else 0)
            rects.append(QRectF(x, 0, w, self.H))
            x += w + 4
        self._rects = rects
        self._bounds = QRectF(0, 0, max(0.0, x - 4), self.H).adjusted(-1, -1, 1, 1)
        self.set_bounds(self._bounds)
        r = self.node.body_rect()
        self.setPos(r.left() + 6, r.bottom() - 4)
        self.setVisible(bool(rects))
        self.update()

    def rects(self) -> list[QRectF]:
        """Where each badge is drawn, relative to the scene (their size is in screen pixels)."""
        return [self.mapRectToScene(r) for r in self._rects]

    def screen_rects(self, view: Any) -> list[QRectF]:
        """Where each badge is drawn in ``view``'s viewport, in pixels."""
        t = self.deviceTransform(view.viewportTransform())
        return [t.mapRect(r) for r in self._rects]

    @timed
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(_badge_font())
        h = self.H
        for rect, (text, colour) in zip(self._rects, self.node.badges.values(), strict=False):
            c = QColor(colour or "#cccccc")
            painter.setPen(QPen(c, 1.2))
            painter.setBrush(QBrush(QColor(20, 22, 26, 240)))
            painter.drawRoundedRect(rect, h / 2, h / 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(c))
            painter.drawEllipse(QPointF(rect.left() + h / 2, rect.center().y()), 4.5, 4.5)
            if text:
                painter.setPen(QPen(S.TEXT))
                painter.drawText(QRectF(rect.left() + h, rect.top(), rect.width() - h - 3,
                                        rect.height()), Qt.AlignmentFlag.AlignCenter, text)


def _badge_font() -> Any:
    global _BADGE_FONT
    if _BADGE_FONT is None:
        _BADGE_FONT = S.font(BadgeItem.FONT_PT, bold=True)
    return _BADGE_FONT
