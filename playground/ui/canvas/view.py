"""The canvas view: zoom about the cursor, pan (middle drag or Space + drag), rubber band,
palette drops, keyboard nudging."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEasingCurve, QPointF, QRectF, Qt, QTimer, QVariantAnimation, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QTransform, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from ...graph.geometry import label_size
from . import style as S
from .items import NodeItem
from .paintclock import PaintClock
from .scene import GraphScene
from .wirelabels import label_style, line_height

OP_MIME = "application/x-backprop-playground-op"
REFIT_CHANGE = 0.1  # a fitted view refits when its width or height changes by this share


class GraphView(QGraphicsView):
    op_dropped = Signal(str, QPointF)  # op name, scene position
    quick_add_requested = Signal(QPointF)  # scene position
    zoom_changed = Signal(float)

    MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
    REVEAL_MS = 250  # how long the canvas glides to a step-through's gate

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
        self._glide: QVariantAnimation | None = None
        self._hint = False
        self.fitted = False  # the view is as Fit left it (no pan or zoom since)
        self._refit_pending = False
        self._outer = self.size()  # the widget's size the view last fitted to

    def graph_scene(self) -> GraphScene:
        return self.scene()  # type: ignore[return-value]

    @property
    def editable(self) -> bool:
        """False while the scene is read-only (a run trains the graph): no drops, no Quick Add."""
        scene = self.scene()
        return scene is not None and not getattr(scene, "read_only", False)

    @property
    def paint_seconds(self) -> float:
        """GUI-thread CPU time spent so far in the canvas items' Python paint methods (see
        paintclock.py: the view has no Python paintEvent, so Qt renders without the GIL)."""
        return PaintClock.seconds

    # -- zoom ------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor_under_mouse: bool = False) -> None:
        factor = min(self.MAX_ZOOM, max(self.MIN_ZOOM, factor))
        self.fitted = False
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
        old = self.scene()
        if isinstance(old, GraphScene):
            for event in (old.model.node_added, old.model.node_removed):
                event.disconnect(self._check_hint)
        super().setScene(scene)
        if isinstance(scene, GraphScene):
            scene.overlays.set_view_zoom(self.zoom(), layout_now=True)
            # the hint hears of nodes coming and going from the model (after the scene, which
            # listened first). Not from the scene's ``changed``: a slot on it would be called
            # at every change of anything drawn (a live run's several a second) and it makes
            # Qt send every change through that signal rather than straight to the views
            for event in (scene.model.node_added, scene.model.node_removed):
                event.connect(self._check_hint)
            scene.overlays.changed.connect(self._on_values_changed)
        self._hint = self.showing_hint

    def resizeEvent(self, event: Any) -> None:
        """A view that Fit left as it was stays fitted when the canvas changes size (a docked
        panel shown or hidden, the window resized, Presentation): refit once it settled."""
        super().resizeEvent(event)
        # only a real change of the widget's own size: scroll bars coming and going (a node
        # dragged to the edge) resize only the viewport, and a status bar growing a line moves
        # the canvas by a few per cent; neither may refit under the user's hand
        old, new = self._outer, self.size()
        if (abs(new.width() - old.width()) < REFIT_CHANGE * max(old.width(), 1)
                and abs(new.height() - old.height()) < REFIT_CHANGE * max(old.height(), 1)):
            return
        self._outer = new
        if self.fitted and not self._refit_pending:
            self._refit_pending = True
            QTimer.singleShot(0, self._refit_after_resize)

    def _refit_after_resize(self) -> None:
        self._refit_pending = False
        if self.fitted and isinstance(self.scene(), GraphScene):
            self.fit()

    def _on_values_changed(self) -> None:
        """Values came onto the wires: a view that Fit left as it was fits them too (after
        they are placed), so that no number lands outside the canvas."""
        if self.fitted:
            QTimer.singleShot(0, self._refit_for_values)

    def _refit_for_values(self) -> None:
        scene = self.scene()
        if not self.fitted or not isinstance(scene, GraphScene):
            return
        shown = self.visible_scene_rect()
        if any(label.isVisible() and not shown.contains(label.label_scene_rect())
               for label in scene.overlays.wire_labels.values()):
            self.fit()

    def _check_hint(self, *_: Any) -> None:
        """The first node came or the last went: the hint over the whole canvas changes."""
        if self.showing_hint != self._hint:
            self._hint = self.showing_hint
            self.viewport().update()

    def zoom_by(self, step: float, anchor_under_mouse: bool = False) -> None:
        self.set_zoom(self.zoom() * step, anchor_under_mouse)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.stop_glide()
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
        labels = [label for label in scene.overlays.wire_labels.values() if label.isVisible()]
        grown = margin
        placed = QRectF()  # labels placed beyond the estimate, with a margin
        for _ in range(3):
            # the zoom that shows the nodes and the room their labels take at that zoom (an
            # estimate: placing hundreds of labels for every trial zoom would stall)
            z = self.zoom()
            for _ in range(4):
                rect = nodes.united(self._label_room(scene, nodes, z)).adjusted(
                    -grown, -grown, grown, grown).united(placed)
                z_new = self._zoom_for(rect)
                if abs(z_new - z) < 1e-4:
                    break
                z = z_new
            self._fit_rect(rect)
            scene.overlays.set_view_zoom(self.zoom(), layout_now=True)
            need = QRectF(rect)
            for label in labels:
                need = need.united(label.label_scene_rect().adjusted(-grown, -grown, grown, grown))
            shown = self.visible_scene_rect().adjusted(-1, -1, 1, 1)
            if shown.contains(need) or self.zoom() <= self.MIN_ZOOM:
                break
            placed = need
        self.fitted = True
        self._outer = self.size()
        self.zoom_changed.emit(self.zoom())

    def _zoom_for(self, rect: QRectF) -> float:
        vp = self.viewport().rect()
        if rect.isEmpty() or vp.width() < 2 or vp.height() < 2:
            return self.zoom()
        z = min(vp.width() / rect.width(), vp.height() / rect.height())
        return min(1.5, max(self.MIN_ZOOM, z))

    def _fit_rect(self, rect: QRectF) -> None:
        vp = self.viewport().rect()
        if rect.isEmpty() or vp.width() < 2 or vp.height() < 2:
            return
        self.setTransform(QTransform.fromScale(self._zoom_for(rect), self._zoom_for(rect)))
        self.centerOn(rect.center())

    def _label_room(self, scene: GraphScene, nodes: QRectF, zoom: float) -> QRectF:
        """``nodes`` grown by the room value labels take at the edges at ``zoom``: a label's
        height above and below, the output's label right of it."""
        scale, short = label_style(zoom)
        right = 0.0
        used = {e.src for e in scene.edges.values()}
        for nid in scene.nodes:
            if nid not in used:  # a sink: its label sits beside its output port
                w = label_size(scene.shapes.get(nid))[0] * (0.7 if short else 1.0)
                right = max(right, w + 14)
        h = (2 * line_height() + 6) * scale
        return nodes.adjusted(0, -h, right * scale, h)

    # -- following the step-through -----------------------------------------------------
    def reveal(self, node_ids: list[str], edge_ids: list[str] | None = None,
               margin: float = 24.0) -> None:
        """Bring these nodes and wires, and the value labels of what they carry, into view with
        the least move (a short glide of REVEAL_MS), zooming out only when they do not fit.
        Nothing moves when they are in view already."""
        scene = self.graph_scene()
        rect = QRectF()
        sources = set()
        for nid in node_ids:
            node = scene.nodes.get(nid)
            if node is not None:
                rect = rect.united(node.sceneBoundingRect())
                sources.add(nid)
        for eid in edge_ids or []:
            edge = scene.edges.get(eid)
            if edge is not None:
                rect = rect.united(edge.sceneBoundingRect())
                sources.add(edge.src)
        for src in sources:
            label = scene.overlays.wire_labels.get(src)
            if label is not None and label.isVisible():
                rect = rect.united(label.label_scene_rect())
        vp = self.viewport().rect()
        if rect.isEmpty() or vp.width() < 2 or vp.height() < 2:
            return
        z = self.zoom()
        want = rect.adjusted(-margin / z, -margin / z, margin / z, margin / z)
        shown = self.visible_scene_rect()
        slack = 2 / z  # scrolling lands on whole pixels
        if shown.adjusted(-slack, -slack, slack, slack).contains(want):
            return
        if want.width() * z > vp.width() or want.height() * z > vp.height():
            z = max(self.MIN_ZOOM, min(vp.width() / want.width(), vp.height() / want.height()))
            shown = QRectF(0, 0, vp.width() / z, vp.height() / z)
            shown.moveCenter(self.visible_scene_rect().center())
        hw, hh = vp.width() / (2 * z), vp.height() / (2 * z)
        c = shown.center()
        centre = QPointF(min(max(c.x(), want.right() - hw), want.left() + hw),
                         min(max(c.y(), want.bottom() - hh), want.top() + hh))
        self.glide_to(centre, z)

    def glide_to(self, centre: QPointF, zoom: float) -> None:
        """Move to ``centre`` at ``zoom`` in a short animation (at once when REVEAL_MS is 0)."""
        self.stop_glide()
        self.fitted = False
        start_c = self.visible_scene_rect().center()
        start_z = self.zoom()
        if self.REVEAL_MS <= 0:
            self._show_at(centre, zoom)
            self._zoomed()
            return
        anim = QVariantAnimation(self)
        anim.setStartValue(0.0)
        anim.setEndValue(1.0)
        anim.setDuration(self.REVEAL_MS)
        anim.setEasingCurve(QEasingCurve.Type.InOutCubic)

        def step(t: Any) -> None:
            t = float(t)
            z = start_z * (zoom / start_z) ** t
            self._show_at(start_c + (centre - start_c) * t, z)

        def done() -> None:
            self._show_at(centre, zoom)
            self._zoomed()

        anim.valueChanged.connect(step)
        anim.finished.connect(done)
        self._glide = anim
        anim.start(QVariantAnimation.DeletionPolicy.DeleteWhenStopped)

    def stop_glide(self) -> None:
        anim, self._glide = self._glide, None
        if anim is not None:
            try:
                anim.stop()
            except RuntimeError:  # finished and deleted already
                pass

    @property
    def gliding(self) -> bool:
        anim = self._glide
        try:
            return anim is not None and anim.state() == QVariantAnimation.State.Running
        except RuntimeError:
            return False

    def _show_at(self, centre: QPointF, zoom: float) -> None:
        if abs(zoom - self.zoom()) > 1e-9:
            self.setTransform(QTransform.fromScale(zoom, zoom))
        self.centerOn(centre)

    def visible_scene_rect(self) -> QRectF:
        """The part of the scene the canvas shows."""
        return self.mapToScene(self.viewport().rect()).boundingRect()

    # -- the empty canvas ----------------------------------------------------------------
    EMPTY_HINT = ("Drag an op from the Palette onto the canvas,\n"
                  "or press Tab (or double-click here) to search for one by name.\n\n"
                  "New here? Help ▸ Getting Started (F1) opens the first lesson.")

    def drawForeground(self, painter: QPainter, rect: QRectF | Any) -> None:
        """On an empty graph: how to add the first node."""
        super().drawForeground(painter, rect)
        scene = self.scene()
        if not isinstance(scene, GraphScene) or scene.nodes:
            return
        painter.save()
        painter.resetTransform()
        box = QRectF(self.viewport().rect()).adjusted(24, 24, -24, -24)
        painter.setPen(S.TEXT_DIM)
        painter.setFont(S.font(12))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                         self.EMPTY_HINT)
        painter.restore()

    @property
    def showing_hint(self) -> bool:
        scene = self.scene()
        return isinstance(scene, GraphScene) and not scene.nodes

    # -- panning ---------------------------------------------------------------------------
    def mousePressEvent(self, event: Any) -> None:
        self.stop_glide()
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
        self.fitted = False
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
