"""The canvas view: zoom about the cursor, pan (middle drag or Space + drag), rubber band,
palette drops, keyboard nudging."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QTransform, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from ...graph.geometry import label_size
from .items import NodeItem
from .scene import GraphScene
from .wirelabels import label_style, line_height

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

    def graph_scene(self) -> GraphScene:
        return self.scene()  # type: ignore[return-value]

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
        self._zoomed()

    def _zoomed(self, layout_now: bool = False) -> None:
        """Tell the overlays (zoomed out, value labels keep their size on screen) and the
        listeners (the status bar, the minimap)."""
        scene = self.scene()
        if isinstance(scene, GraphScene):
            scene.overlays.set_view_zoom(self.zoom(), layout_now)
        self.zoom_changed.emit(self.zoom())

    def setScene(self, scene: Any) -> None:
        super().setScene(scene)
        if isinstance(scene, GraphScene):
            scene.overlays.set_view_zoom(self.zoom(), layout_now=True)

    def zoom_by(self, step: float, anchor_under_mouse: bool = False) -> None:
        self.set_zoom(self.zoom() * step, anchor_under_mouse)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta == 0:
            return
        self.zoom_by(1.0015 ** delta, anchor_under_mouse=True)
        event.accept()

    def fit(self, margin: float = 16.0) -> None:
        """Show every node, every value label on the wires and room for the labels an
        evaluation would put at the edges (the output's beside its port, right of the nodes),
        at most at 150 %. Zoomed out the labels keep their size on screen, so the room they
        need depends on the zoom: a few rounds find a zoom at which everything fits."""
        scene = self.graph_scene()
        items = list(scene.nodes.values())
        if not items:
            self.resetTransform()
            self.centerOn(0, 0)
            self._zoomed(layout_now=True)
            return
        nodes = QRectF()
        for item in items:
            nodes = nodes.united(item.sceneBoundingRect())
        rect = nodes
        for _ in range(4):
            self._fit_rect(rect.adjusted(-margin, -margin, margin, margin))
            scene.overlays.set_view_zoom(self.zoom(), layout_now=True)
            need = nodes.united(self._label_room(scene, nodes))
            for label in scene.overlays.wire_labels.values():
                if label.isVisible():
                    need = need.united(label.label_scene_rect())
            need = need.adjusted(-margin, -margin, margin, margin)
            if self.visible_scene_rect().adjusted(-1, -1, 1, 1).contains(need) or \
                    self.zoom() <= self.MIN_ZOOM:
                break
            rect = need
        self.zoom_changed.emit(self.zoom())

    def _fit_rect(self, rect: QRectF) -> None:
        vp = self.viewport().rect()
        if rect.isEmpty() or vp.width() < 2 or vp.height() < 2:
            return
        z = min(vp.width() / rect.width(), vp.height() / rect.height())
        z = min(1.5, max(self.MIN_ZOOM, z))
        self.setTransform(QTransform.fromScale(z, z))
        self.centerOn(rect.center())

    def _label_room(self, scene: GraphScene, nodes: QRectF) -> QRectF:
        """``nodes`` grown by the room value labels take at the edges at the zoom shown: a
        label's height above and below, the output's label right of it."""
        scale, short = label_style(self.zoom())
        right = 0.0
        used = {e.src for e in scene.edges.values()}
        for nid in scene.nodes:
            if nid not in used:  # a sink: its label sits beside its output port
                w = label_size(scene.shapes.get(nid))[0] * (0.7 if short else 1.0)
                right = max(right, w + 14)
        h = (2 * line_height() + 6) * scale
        return nodes.adjusted(0, -h, right * scale, h)

    def visible_scene_rect(self) -> QRectF:
        """The part of the scene the canvas shows."""
        return self.mapToScene(self.viewport().rect()).boundingRect()

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
        if item is None:
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
        if key == Qt.Key.Key_Tab:
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
        if event.mimeData().hasFormat(OP_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(OP_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(OP_MIME):
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
