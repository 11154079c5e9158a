"""The canvas view: zoom about the cursor, pan (middle drag or Space + drag), rubber band,
palette drops, keyboard nudging."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from .items import NodeItem
from .scene import GraphScene

OP_MIME = "application/x-backprop-playground-op"


class GraphView(QGraphicsView):
    op_dropped = Signal(str, QPointF)  # op name, scene position
    quick_add_requested = Signal(QPointF)  # scene position
    zoom_changed = Signal(float)

    MIN_ZOOM, MAX_ZOOM = 0.1, 4.0

    def __init__(self, scene: GraphScene | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        if scene is not None:
            self.setScene(scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        # the grid behind the graph changes only when the view moves: drawn once, then blitted
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._panning = False
        self._space = False
        self._pan_start = QPointF()
        self.paint_seconds = 0.0

    def graph_scene(self) -> GraphScene:
        return self.scene()  # type: ignore[return-value]

    @property
    def editable(self) -> bool:
        """False while the scene is read-only (a run trains the graph): no drops, no Quick Add."""
        scene = self.scene()
        return scene is not None and not getattr(scene, "read_only", False)

    def paintEvent(self, event: Any) -> None:
        t0 = time.thread_time()
        super().paintEvent(event)
        # the GUI thread's CPU time painting the canvas (a live run paces its updates by it)
        self.paint_seconds += time.thread_time() - t0

    # -- zoom ------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor_under_mouse: bool = False) -> None:
        factor = min(self.MAX_ZOOM, max(self.MIN_ZOOM, factor))
        if not anchor_under_mouse:
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        s = factor / self.zoom()
        self.scale(s, s)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.zoom_changed.emit(self.zoom())

    def zoom_by(self, step: float, anchor_under_mouse: bool = False) -> None:
        self.set_zoom(self.zoom() * step, anchor_under_mouse)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta == 0:
            return
        self.zoom_by(1.0015 ** delta, anchor_under_mouse=True)
        event.accept()

    def fit(self, margin: float = 40.0) -> None:
        """Show every node and every value label on the wires (zoom at most 150%)."""
        scene = self.graph_scene()
        items = list(scene.nodes.values())
        if not items:
            self.resetTransform()
            self.centerOn(0, 0)
            return
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        # the values on the wires too: the output's label sits beside its port, past the nodes
        for label in scene.overlays.wire_labels.values():
            if label.isVisible():
                rect = rect.united(label.label_scene_rect())
        rect = rect.adjusted(-margin, -margin, margin, margin)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.5:
            self.set_zoom(1.5)
            self.centerOn(rect.center())
        elif self.zoom() < self.MIN_ZOOM:
            self.set_zoom(self.MIN_ZOOM)
            self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom())

    # -- panning ---------------------------------------------------------------------------
    def mousePressEvent(self, event: Any) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                self._space and event.button() == Qt.MouseButton.LeftButton):
            self._panning = True
            self._pan_start = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: Any) -> None:
        if self._panning:
            delta = event.position() - self._pan_start
            self._pan_start = event.position()
            self.pan_by(-delta.x(), -delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def pan_by(self, dx: float, dy: float) -> None:
        """Pan by (dx, dy) viewport pixels."""
        z = self.zoom()
        center = self.mapToScene(self.viewport().rect().center())
        self.centerOn(center + QPointF(dx / z, dy / z))

    def mouseReleaseEvent(self, event: Any) -> None:
        if self._panning and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._panning = False
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: Any) -> None:
        item = self.itemAt(event.position().toPoint())
        if item is None and self.editable:
            self.quick_add_requested.emit(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # -- keyboard --------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if key == Qt.Key.Key_Tab and self.editable:
            self.quick_add_requested.emit(self.cursor_scene_pos())
            event.accept()
            return
        arrows: dict[int, tuple[int, int]] = {
            Qt.Key.Key_Left.value: (-1, 0), Qt.Key.Key_Right.value: (1, 0),
            Qt.Key.Key_Up.value: (0, -1), Qt.Key.Key_Down.value: (0, 1)}
        if key in arrows and self.graph_scene().selected_node_ids():
            step = 1 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 10
            dx, dy = arrows[key]
            self.graph_scene().nudge_selection(dx * step, dy * step)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setCursor(Qt.CursorShape.ArrowCursor)
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:  # keep Tab for quick-add
        return False

    def cursor_scene_pos(self) -> QPointF:
        from PySide6.QtGui import QCursor

        local = self.viewport().mapFromGlobal(QCursor.pos())
        if not self.viewport().rect().contains(local):
            local = self.viewport().rect().center()
        return self.mapToScene(local)

    # -- drops from the palette ------------------------------------------------------------
    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(OP_MIME) and self.editable:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(OP_MIME) and self.editable:
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(OP_MIME) and self.editable:
            op = bytes(event.mimeData().data(OP_MIME).data()).decode("utf-8")
            pos = self.mapToScene(event.position().toPoint())
            event.acceptProposedAction()
            self.op_dropped.emit(op, pos)
            return
        super().dropEvent(event)

    def node_item_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.graph_scene().items(pos):
            if isinstance(item, NodeItem):
                return item
        return None
