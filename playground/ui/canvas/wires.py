"""Wires on the canvas: the curve from an output port to an input port, the wire item (selection,
insert-target highlight, step-through phase, gradient-flow width and colour) and the wire being
dragged."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import (
    QColor,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
)

from . import style as S
from .items import phase_colour


def wire_path(a: QPointF, b: QPointF) -> QPainterPath:
    """A smooth cubic from an output (a) to an input (b)."""
    dx = max(40.0, abs(b.x() - a.x()) * 0.5)
    path = QPainterPath(a)
    path.cubicTo(QPointF(a.x() + dx, a.y()), QPointF(b.x() - dx, b.y()), b)
    return path


class EdgeItem(QGraphicsPathItem):
    """A wire from a node's output to another node's input port."""

    def __init__(self, edge_id: str, src: str, dst: str, port: str) -> None:
        super().__init__()
        self.edge_id, self.src, self.dst, self.port = edge_id, src, dst, port
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(0)
        self.setAcceptHoverEvents(True)
        self._hover = False
        self._highlight = False
        self.step_phase: str | None = None
        self.flow: tuple[float, QColor] | None = None  # gradient-flow overlay: width, colour
        self._stroke: QPainterPath | None = None
        self._apply_pen()

    def set_highlight(self, on: bool) -> None:
        self._highlight = on
        self._apply_pen()

    def set_step_phase(self, phase: str | None) -> None:
        """Draw the wire green ('forward') or red ('backward') for a step-through; None clears."""
        if phase != self.step_phase:
            self.step_phase = phase
            self._apply_pen()

    def set_flow(self, width: float | None, colour: QColor | None = None) -> None:
        """The gradient-flow overlay's width and colour (None: the normal pen)."""
        flow = None if width is None else (float(width), colour if colour is not None else S.WIRE)
        if flow == self.flow:
            return  # a live run sets the same style again and again: no repaint
        self.flow = flow
        self._apply_pen()

    @property
    def flow_width(self) -> float | None:
        return None if self.flow is None else self.flow[0]

    def _apply_pen(self) -> None:
        step = phase_colour(self.step_phase)
        if self._highlight or step is not None:
            pen = QPen(step if step is not None else S.WIRE_OK,
                       max(4.0, self.flow[0] if self.flow else 0.0))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            self.setPen(pen)
            return
        if self.flow is not None:
            width, colour = self.flow
            if self.isSelected():
                colour = S.WIRE_SELECTED
            elif self._hover:
                colour = colour.lighter(125)
        else:
            colour = S.WIRE_SELECTED if self.isSelected() else (S.WIRE.lighter(130) if self._hover else S.WIRE)
            width = 2.6 if self.isSelected() or self._hover else 2.0
        pen = QPen(colour, width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.setPen(pen)

    def update_path(self, a: QPointF, b: QPointF) -> None:
        self._stroke = None
        self.setPath(wire_path(a, b))

    def shape(self) -> QPainterPath:
        """The hit area: a 12 px band around the curve (cached until the wire moves)."""
        if self._stroke is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(12)
            self._stroke = stroker.createStroke(self.path())
        return self._stroke

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._apply_pen()
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event: Any) -> None:
        self._hover = True
        self._apply_pen()

    def hoverLeaveEvent(self, event: Any) -> None:
        self._hover = False
        self._apply_pen()


class TempWireItem(QGraphicsPathItem):
    """The wire following the cursor while connecting."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(5)
        self.set_state(None)

    def set_state(self, ok: bool | None) -> None:
        colour = S.WIRE if ok is None else (S.WIRE_OK if ok else S.WIRE_BAD)
        pen = QPen(colour, 2.4, Qt.PenStyle.DashLine if ok is None else Qt.PenStyle.SolidLine)
        self.setPen(pen)
