"""The minimap: a small overview of the whole graph in a corner of the canvas that has no node
and no value label under it.

When it shows: only while part of the graph is outside the canvas (when the canvas shows all
of it, the canvas is the overview). Where: the bottom-right corner first, else another corner
that is free (it stays in the corner it has while that one stays free, so it does not jump
around while you pan); when nodes or values fill every corner it steps aside (hidden) until a
corner frees up. So it never covers a node. ``set_wanted(False)`` (its ``–`` button, View ▸
Minimap, the status bar's Minimap button) collapses it; ``wanted_changed`` says so.

It is a QGraphicsView on the canvas's own scene (so ``mapToScene``/``mapFromScene`` give the
overview's geometry), but it never lets Qt paint the scene's items: a full ``NodeItem.paint`` per
node (rounded bodies, four text runs) at 5 % scale is wasted work and, with a few hundred nodes,
costs milliseconds on every repaint. Instead the minimap keeps a thumbnail of the content (one
coloured box per node, one thin line per wire, backdrops as tinted boxes; selected nodes outlined)
in two cached pixmaps, lit and shaded, and re-renders them only when the content changed,
coalesced on a timer. On a pan or zoom of the canvas only the rectangle of the canvas's visible
area moves: ``drawBackground`` blits the shaded pixmap, ``drawForeground`` the lit part inside the
rectangle and a 1 px outline (about 0.6 ms; a re-render is about 4 ms for 300 nodes).

The viewport update mode is ``NoViewportUpdate``: the scene never dirties the minimap, so item
changes (hover, selection, drags) cost the canvas nothing extra for the second view. The minimap
learns about content changes from the model's events, the scene's selection and live drags on the
canvas, and repaints itself.

Interaction: click or drag in the minimap to move the canvas there (dragging the highlighted
rectangle keeps the point you grabbed under the cursor); the wheel zooms the canvas about the point
under the cursor; hovering a node shows its tooltip. When the canvas looks at a place outside the
minimap, an arrow on the minimap's border points there.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QToolButton,
    QWidget,
)

from .minimap_corners import CORNERS, corner_rect, covers_content, covers_panel, minimap_size
from .minimap_draw import (
    VIEW_EDGE,
    draw_collapse_box,
    draw_off_map_arrow,
    draw_outline,
    render_thumbnails,
)

SIZE = QSize(220, 150)  # preferred size; smaller when the canvas is small
COLLAPSE_BOX = 16  # px: the "–" button in the minimap's top-right corner
REFRESH_MS = 50  # content changes are coalesced: at most one re-render per interval
MIN_MARGIN = 40.0  # scene units around the content (or 4 % of its size, if larger)



class MinimapWidget(QGraphicsView):
    """An overview of ``main_view``'s scene, overlaid on a free corner of ``main_view``.

    Public API: ``set_scene(scene)``, ``refit()``, ``content_rect()``,
    ``viewport_rect_in_scene()``, ``centre_main_view_at(scene_pos)``, ``set_wanted(on)``,
    ``wanted``, ``corner``, ``blocked``; ``show()``/``hide()``.
    """

    wanted_changed = Signal(bool)  # the user collapsed or opened it
    blocked_changed = Signal(bool)  # wanted, but no corner is free (it is hidden meanwhile)

    def __init__(self, main_view: QGraphicsView, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else main_view)
        self._main = main_view
        self.wanted = True  # the user's choice; shown when wanted and a corner is free
        self.corner = CORNERS[0]
        self.blocked = False
        self._placing = False
        self._content = QRectF()  # the nodes' bounding rectangle (scene), kept by refit
        self._model: Any = None
        self._thumb: QPixmap | None = None  # the content, lit
        self._shaded: QPixmap | None = None  # the content, shaded
        self._thumb_key: tuple[int, int, float, tuple[float, ...]] | None = None
        self._thumb_dirty = True
        self._fitted = QRectF()
        self._view_rect = QRectF()
        self._dragging = False
        self._drag_moved = False
        self._drag_offset = QPointF()
        self._press_pos = QPointF()

        # -- look and behaviour of the view itself --------------------------------------------
        self.setObjectName("minimap")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setInteractive(False)  # no events reach the scene's items
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.NoViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)  # the thumbnail is the cache
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAcceptDrops(False)
        self.setStyleSheet("QGraphicsView#minimap { background: transparent; border: none; }")
        vp = self.viewport()
        vp.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        vp.setAcceptDrops(False)
        vp.setAutoFillBackground(False)
        vp.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        vp.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        vp.setMouseTracking(True)
        vp.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Minimap: click or drag to move the canvas, wheel to zoom")
        self.resize(SIZE)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._on_timer)

        # -- follow the main view -----------------------------------------------------------
        for bar in (main_view.horizontalScrollBar(), main_view.verticalScrollBar()):
            bar.valueChanged.connect(self._on_main_view_changed)
            bar.rangeChanged.connect(self._on_main_view_changed)
        zoom_changed = getattr(main_view, "zoom_changed", None)
        if zoom_changed is not None:
            zoom_changed.connect(self._on_main_view_changed)
        main_view.installEventFilter(self)
        main_view.viewport().installEventFilter(self)

        self.set_scene(main_view.scene())
        self._reposition()
        self.raise_()

    def set_wanted(self, on: bool) -> None:
        """Open (True) or collapse (False) the minimap: the user's choice. Open, it shows in a
        free corner; collapsed, only the window's Minimap button is left."""
        on = bool(on)
        changed = on != self.wanted
        self.wanted = on
        self.update_placement()
        if changed:
            self.wanted_changed.emit(on)

    # -- public API ------------------------------------------------------------------------
    def main_view(self) -> QGraphicsView:
        return self._main

    def set_scene(self, scene: QGraphicsScene | None) -> None:
        """Show ``scene`` (the main view's scene); the minimap also notices a replaced scene by
        itself the next time the main view pans, zooms or repaints."""
        old = self.scene()
        if old is not None and shiboken6.isValid(old) and old is not scene:
            for signal in (old.selectionChanged, old.destroyed):
                try:
                    signal.disconnect(self._schedule)
                except (RuntimeError, TypeError):
                    pass
        self._listen_to_model(getattr(scene, "model", None))
        if scene is not old:
            self.setScene(scene)
            if scene is not None:
                scene.selectionChanged.connect(self._schedule)
                scene.destroyed.connect(self._schedule)
        self.refit()

    def refit(self) -> None:
        """Fit the content now and re-render the thumbnail on the next paint."""
        self._timer.stop()
        if self._main.scene() is not self.scene():
            self.set_scene(self._main.scene())  # calls refit again
            return
        rect = self.content_rect()
        self._content = self._bare_content()
        if rect.isEmpty():  # nothing to show: frame what the main view sees
            rect = self._main_view_rect().adjusted(-MIN_MARGIN, -MIN_MARGIN, MIN_MARGIN, MIN_MARGIN)
        if rect != self._fitted:
            self._fitted = rect
            self.setSceneRect(rect)
            self._fit_transform()
        self._view_rect = self._main_view_rect()
        self._thumb_dirty = True
        self.viewport().update()

    def _bare_content(self) -> QRectF:
        rect = QRectF()
        for item in self._content_items():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    @property
    def needed(self) -> bool:
        """Part of the graph lies outside the canvas (else the canvas is the overview)."""
        return not self._content.isEmpty() and not self._main_view_rect().contains(self._content)

    def content_rect(self) -> QRectF:
        """The scene rectangle the minimap fits: every node (and backdrop), plus a margin.
        Empty when the scene has no nodes."""
        rect = self._bare_content()
        if rect.isEmpty():
            return QRectF()
        m = max(MIN_MARGIN, 0.04 * max(rect.width(), rect.height()))
        return rect.adjusted(-m, -m, m, m)

    def viewport_rect_in_scene(self) -> QRectF:
        """The highlighted rectangle: the part of the scene the main view shows, as tracked from
        the main view's scroll bars, zoom and size."""
        return QRectF(self._view_rect)

    def centre_main_view_at(self, scene_pos: QPointF) -> None:
        self._main.centerOn(QPointF(scene_pos))

    # -- geometry --------------------------------------------------------------------------
    def _main_view_rect(self) -> QRectF:
        vp = self._main.viewport()
        return self._main.mapToScene(vp.rect()).boundingRect()

    def _fit_transform(self) -> None:
        rect, vp = self._fitted, self.viewport().rect()
        if rect.isEmpty() or vp.width() < 4 or vp.height() < 4:
            return
        pad = 6.0  # px inside the rounded frame
        s = min((vp.width() - 2 * pad) / rect.width(), (vp.height() - 2 * pad) / rect.height())
        self.setTransform(QTransform.fromScale(s, s))
        self.centerOn(rect.center())

    def _scene_at(self, pos: QPointF) -> QPointF:
        inverse, _ok = self.viewportTransform().inverted()
        return inverse.map(QPointF(pos))

    def _size(self) -> QSize:
        return minimap_size(self._main.viewport().geometry().size(), SIZE)

    def corner_rect(self, corner: str) -> QRect:
        """Where the minimap goes in ``corner`` (the main view's coordinates)."""
        return corner_rect(self._main, self._size(), corner)

    def covers_content(self, rect: QRect) -> bool:
        """Whether ``rect`` (main view coordinates) lies over a node or a shown value label."""
        return covers_content(self._main, rect) or covers_panel(self._main, rect, self)

    def free_corner(self) -> str | None:
        """The corner to use: the current one while it stays free, else the first free one in
        the order of :data:`CORNERS`; None when nodes or values are under every corner."""
        for corner in (self.corner, *[c for c in CORNERS if c != self.corner]):
            if not self.covers_content(self.corner_rect(corner)):
                return corner
        return None

    def update_placement(self) -> None:
        """Show the minimap in a free corner when it is wanted and needed, else hide it."""
        if self._placing:
            return
        self._placing = True
        try:
            if self._main.scene() is not self.scene():
                self.set_scene(self._main.scene())
            needed = self.wanted and self.needed
            corner = self.free_corner() if needed else None
            blocked = needed and corner is None
            if corner is not None:
                self.corner = corner
                geo = self.corner_rect(corner)
                if geo != self.geometry():
                    self.setGeometry(geo)
                if not self.isVisible():
                    self.show()
                self.raise_()
            elif self.isVisible():
                self.hide()
            if blocked != self.blocked:
                self.blocked = blocked
                self.blocked_changed.emit(blocked)
        finally:
            self._placing = False

    def _reposition(self) -> None:
        """Keep the size and corner (the main view was resized or shown)."""
        geo = self.corner_rect(self.corner)
        if geo != self.geometry():
            self.setGeometry(geo)
        self.raise_()

    # -- change tracking -------------------------------------------------------------------
    def _content_items(self) -> list[QGraphicsItem]:
        scene = self.scene()
        if scene is None:
            return []
        nodes = getattr(scene, "nodes", None)
        if nodes is None:  # a plain QGraphicsScene: every top-level item
            return [i for i in scene.items() if i.parentItem() is None and i.isVisible()]
        return [*nodes.values(), *getattr(scene, "backdrops", {}).values()]

    def _listen_to_model(self, model: Any) -> None:
        if model is self._model:
            return
        for m, hook in ((self._model, "disconnect"), (model, "connect")):
            if m is None:
                continue
            for name in getattr(m, "EVENTS", ()):
                event = getattr(m, name, None)
                if event is not None:
                    getattr(event, hook)(self._on_model_event)
        self._model = model

    def _on_model_event(self, *args: Any) -> None:
        if not shiboken6.isValid(self):  # the widget is gone; the model outlived it
            self._listen_to_model(None)
            return
        self._schedule()

    def _schedule(self, *args: Any) -> None:
        """Coalesce content changes: the first change starts the timer, later ones ride on it."""
        if not self._timer.isActive():
            self._timer.start()

    def _on_timer(self) -> None:
        if self.isVisible():  # a hidden minimap does no work; showEvent refits
            self.refit()
        else:
            self._content = self._bare_content()
        self.update_placement()  # nodes may have come under its corner (or left it)

    def _on_main_view_changed(self, *args: Any) -> None:
        if self._main.scene() is not self.scene():
            self._schedule()
        rect = self._main_view_rect()
        if rect != self._view_rect:
            self._view_rect = rect
            if self.wanted:
                self.update_placement()  # panned or zoomed: is its corner still free?
            if self.isVisible():
                self.viewport().update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        et = event.type()
        if watched is self._main:
            if et == QEvent.Type.Show:
                self._reposition()
                self.update_placement()
        elif et == QEvent.Type.Paint:
            # catch-all: a replaced scene or a transform change nobody signalled
            self._on_main_view_changed()
        elif et == QEvent.Type.Resize:
            # the viewport, laid out after the main view's own Resize: its geometry is final
            self._reposition()
            self._on_main_view_changed()
            self.update_placement()
        elif et == QEvent.Type.MouseMove and isinstance(event, QMouseEvent) and event.buttons():
            scene = self._main.scene()
            if scene is not None and scene.mouseGrabberItem() is not None:
                self._schedule()  # an item is being dragged on the canvas
        return False

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._reposition()
        self.refit()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_transform()
        self._thumb_dirty = True

    # -- interaction -----------------------------------------------------------------------
    def collapse_rect(self) -> QRectF:
        """The "–" button (viewport coordinates) that collapses the minimap."""
        vp = self.viewport().rect()
        return QRectF(vp.right() - COLLAPSE_BOX - 3, vp.top() + 3, COLLAPSE_BOX, COLLAPSE_BOX)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        event.accept()
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self.collapse_rect().contains(event.position()):
            self.set_wanted(False)
            return
        pos = self._scene_at(event.position())
        self._dragging, self._drag_moved = True, False
        self._press_pos = event.position()
        if self._view_rect.contains(pos):  # grab the rectangle where it was taken
            self._drag_offset = self._view_rect.center() - pos
        else:  # jump there, then drag from the centre
            self._drag_offset = QPointF()
            self.centre_main_view_at(pos)
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        event.accept()
        pos = self._scene_at(event.position())
        if not self._dragging:
            on_button = self.collapse_rect().contains(event.position())
            inside = self._view_rect.contains(pos)
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor if on_button else
                                      Qt.CursorShape.OpenHandCursor if inside
                                      else Qt.CursorShape.PointingHandCursor)
            self.viewport().setToolTip("Collapse the minimap (View ▸ Minimap, or the Minimap "
                                       "button in the status bar, opens it again)" if on_button
                                       else "")
            return
        if not self._drag_moved and (event.position() - self._press_pos).manhattanLength() < 2:
            return
        self._drag_moved = True
        self.centre_main_view_at(pos + self._drag_offset)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        event.accept()
        if event.button() != Qt.MouseButton.LeftButton or not self._dragging:
            return
        self._dragging = False
        pos = self._scene_at(event.position())
        if self._drag_moved:
            self.centre_main_view_at(pos + self._drag_offset)
        else:  # a click: centre there, also inside the rectangle
            self.centre_main_view_at(pos)
        self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom the main view; the scene point under the cursor stays where it is on the canvas
        when the canvas shows it, otherwise the canvas zooms about its centre."""
        event.accept()
        delta = event.angleDelta().y() or event.angleDelta().x()
        zoom_by = getattr(self._main, "zoom_by", None)
        if delta == 0 or zoom_by is None:
            return
        pos = self._scene_at(event.position())
        anchored = self._view_rect.contains(pos)
        before = self._main.mapFromScene(pos)
        zoom_by(1.0015 ** delta)
        if anchored:
            after = self._main.mapFromScene(pos)
            z = self._main.transform().m11()
            centre = self._main.mapToScene(self._main.viewport().rect().center())
            self._main.centerOn(centre + QPointF(after.x() - before.x(), after.y() - before.y()) / z)

    def contextMenuEvent(self, event: Any) -> None:
        event.accept()

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        """Cached thumbnails plus the view rectangle; the scene's items are never painted here."""
        painter = QPainter(self.viewport())
        painter.setTransform(self.viewportTransform())
        inverse, _ok = self.viewportTransform().inverted()
        rect = inverse.mapRect(QRectF(event.rect()))
        self.drawBackground(painter, rect)
        self.drawForeground(painter, rect)
        painter.end()

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        """The whole content, shaded (the part the main view shows is lifted in the foreground)."""
        self._ensure_thumbnails()
        assert self._shaded is not None
        painter.save()
        painter.resetTransform()
        painter.drawPixmap(0, 0, self._shaded)
        painter.restore()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        """The main view's rectangle: the unshaded thumbnail inside it, a 1 px outline."""
        assert self._thumb is not None
        bounds = QRectF(self.viewport().rect())
        view = self.viewportTransform().mapRect(self._view_rect)
        shown = view.intersected(bounds)
        painter.save()
        painter.resetTransform()
        if not shown.isEmpty():
            dpr = self._thumb.devicePixelRatio()
            source = QRectF(shown.x() * dpr, shown.y() * dpr, shown.width() * dpr,
                            shown.height() * dpr)
            painter.drawPixmap(shown, self._thumb, source)
            painter.setPen(QPen(VIEW_EDGE, 1))
            draw_outline(painter, view, bounds)
        elif not self._view_rect.isEmpty():
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            draw_off_map_arrow(painter, bounds, view.center())
        draw_collapse_box(painter, self.collapse_rect())
        painter.restore()

    def _ensure_thumbnails(self) -> None:
        vp = self.viewport()
        dpr = vp.devicePixelRatioF()
        t = self.viewportTransform()
        key = (vp.width(), vp.height(), dpr, (t.m11(), t.m22(), t.dx(), t.dy()))
        if self._thumb is None or self._thumb_dirty or key != self._thumb_key:
            self._thumb, self._shaded = render_thumbnails(
                vp.size(), dpr, t, self.scene(), self._content_items)
            self._thumb_key, self._thumb_dirty = key, False

class MinimapButton(QToolButton):
    """The collapsed minimap: a button (the window puts it in the status bar, where it covers
    nothing) that opens and collapses it; its tooltip says when the minimap has stepped aside
    because nodes fill every corner."""

    def __init__(self, minimap: MinimapWidget, action: QAction,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("minimap_button")
        self.setDefaultAction(action)
        self.setAutoRaise(True)
        self.setText("Minimap")
        self._tip = action.statusTip()
        minimap.blocked_changed.connect(self.on_blocked)
        self.on_blocked(minimap.blocked)

    def on_blocked(self, blocked: bool) -> None:
        self.setToolTip("The minimap steps aside while nodes or values fill every corner of "
                        "the canvas: pan or zoom out to bring it back" if blocked else self._tip)
