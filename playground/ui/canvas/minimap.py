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

import math
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
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

from . import style as S

SIZE = QSize(220, 150)  # preferred size; smaller when the canvas is small
CORNER_GAP = 12  # px between the minimap and the canvas's corner
CORNERS = ("bottom_right", "bottom_left", "top_right", "top_left")  # in order of preference
COLLAPSE_BOX = 16  # px: the "–" button in the minimap's top-right corner
RADIUS = 8.0
REFRESH_MS = 50  # content changes are coalesced: at most one re-render per interval
MIN_MARGIN = 40.0  # scene units around the content (or 4 % of its size, if larger)

BG = QColor(22, 24, 28, 190)
BORDER = QColor(255, 255, 255, 70)
OUTSIDE_SHADE = QColor(0, 0, 0, 90)
VIEW_FILL = QColor(120, 180, 255, 38)
VIEW_EDGE = QColor(140, 195, 255, 230)
EDGE_LINE = QColor(S.WIRE.red(), S.WIRE.green(), S.WIRE.blue(), 120)
COLLAPSE_BG = QColor(255, 255, 255, 40)
COLLAPSE_FG = QColor(255, 255, 255, 200)


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
        area = self._main.viewport().geometry()
        w = max(60, min(SIZE.width(), (area.width() - 2 * CORNER_GAP) // 2))
        h = max(40, min(SIZE.height(), round(w * SIZE.height() / SIZE.width()),
                        (area.height() - 2 * CORNER_GAP) // 2))
        return QSize(w, h)

    def corner_rect(self, corner: str) -> QRect:
        """Where the minimap goes in ``corner`` (the main view's coordinates)."""
        area = self._main.viewport().geometry()  # in the main view's coordinates
        size = self._size()
        w, h = size.width(), size.height()
        left = area.left() + CORNER_GAP if corner.endswith("left") else \
            area.right() + 1 - CORNER_GAP - w
        top = area.top() + CORNER_GAP if corner.startswith("top") else \
            area.bottom() + 1 - CORNER_GAP - h
        return QRect(left, top, w, h)

    def covers_content(self, rect: QRect) -> bool:
        """Whether ``rect`` (main view coordinates) lies over a node or a shown value label."""
        scene = self._main.scene()
        nodes = getattr(scene, "nodes", None)
        if scene is None or not nodes:
            return False
        vp = self._main.viewport()
        local = rect.translated(-vp.geometry().topLeft()).adjusted(-4, -4, 4, 4)
        area = self._main.mapToScene(local)
        labels = getattr(getattr(scene, "overlays", None), "wire_labels", {})
        node_items = set(nodes.values())
        label_items = set(labels.values())
        for item in scene.items(area, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
            if item in node_items or (item in label_items and item.isVisible()):
                return True
        return False

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
            self._draw_outline(painter, view, bounds)
        elif not self._view_rect.isEmpty():
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._draw_off_map_arrow(painter, bounds, view.center())
        box = self.collapse_rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(COLLAPSE_BG))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QPen(COLLAPSE_FG, 1.6))
        c = box.center()
        painter.drawLine(QPointF(c.x() - 4, c.y()), QPointF(c.x() + 4, c.y()))
        painter.restore()

    def _draw_outline(self, painter: QPainter, view: QRectF, bounds: QRectF) -> None:
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

    def _frame_path(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(self.viewport().rect()).adjusted(0.5, 0.5, -0.5, -0.5),
                            RADIUS, RADIUS)
        return path

    def _draw_off_map_arrow(self, painter: QPainter, bounds: QRectF, target: QPointF) -> None:
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

    def _ensure_thumbnails(self) -> None:
        vp = self.viewport()
        dpr = vp.devicePixelRatioF()
        t = self.viewportTransform()
        key = (vp.width(), vp.height(), dpr, (t.m11(), t.m22(), t.dx(), t.dy()))
        if self._thumb is None or self._thumb_dirty or key != self._thumb_key:
            self._thumb, self._shaded = self._render_thumbnails(dpr)
            self._thumb_key, self._thumb_dirty = key, False

    def _render_thumbnails(self, dpr: float) -> tuple[QPixmap, QPixmap]:
        """The content drawn once, in two finishes: lit (inside the view rectangle) and shaded."""
        vp = self.viewport()
        base = QPixmap(QSize(max(1, round(vp.width() * dpr)), max(1, round(vp.height() * dpr))))
        base.setDevicePixelRatio(dpr)
        base.fill(Qt.GlobalColor.transparent)
        frame = self._frame_path()
        p = QPainter(base)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillPath(frame, BG)
        p.setClipPath(frame)
        scene = self.scene()
        if scene is not None:
            self._paint_content(p, scene)
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

    def _paint_content(self, p: QPainter, scene: QGraphicsScene) -> None:
        t = self.viewportTransform()
        p.setTransform(t)
        scale = t.m11()
        nodes = getattr(scene, "nodes", None)
        if nodes is None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(S.NODE_BODY.lighter(140)))
            for item in self._content_items():
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
