"""Where the canvas's corner panels (the minimap, the gradient-flow legend) may sit: the corners
of the canvas, and whether a corner is over a node, a value label or the other panel (none of
them covers one)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QWidget

CORNER_GAP = 12  # px between the minimap and the canvas's corner
CORNERS = ("bottom_right", "bottom_left", "top_right", "top_left")  # in order of preference


def corner_rect(view: QGraphicsView, size: QSize, corner: str) -> QRect:
    """Where a box of ``size`` goes in ``corner`` of ``view``'s viewport (the view's
    coordinates)."""
    area = view.viewport().geometry()  # in the view's coordinates
    w, h = size.width(), size.height()
    left = area.left() + CORNER_GAP if corner.endswith("left") else \
        area.right() + 1 - CORNER_GAP - w
    top = area.top() + CORNER_GAP if corner.startswith("top") else \
        area.bottom() + 1 - CORNER_GAP - h
    return QRect(left, top, w, h)

def content_under(view: QGraphicsView, rect: QRect) -> list[QGraphicsItem]:
    """The nodes and shown value labels of ``view``'s scene under ``rect`` (``view``'s
    coordinates)."""
    scene = view.scene()
    nodes = getattr(scene, "nodes", None)
    if scene is None or not nodes:
        return []
    vp = view.viewport()
    local = rect.translated(-vp.geometry().topLeft()).adjusted(-4, -4, 4, 4)
    area = view.mapToScene(local)
    labels = getattr(getattr(scene, "overlays", None), "wire_labels", {})
    node_items = set(nodes.values())
    label_items = set(labels.values())
    return [item for item in scene.items(area, Qt.ItemSelectionMode.IntersectsItemBoundingRect)
            if item in node_items or (item in label_items and item.isVisible())]


def covers_content(view: QGraphicsView, rect: QRect) -> bool:
    """Whether ``rect`` (``view``'s coordinates) lies over a node or a shown value label of
    its scene."""
    return bool(content_under(view, rect))


CORNER_PANELS = ("minimap", "flow_legend")  # object names of the panels that share the corners


def covers_panel(view: QGraphicsView, rect: QRect, me: QWidget) -> bool:
    """Whether ``rect`` (``view``'s coordinates) overlaps another shown corner panel."""
    for child in view.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
        if (child is not me and child.objectName() in CORNER_PANELS and child.isVisible()
                and child.geometry().intersects(rect)):
            return True
    return False


def minimap_size(area: QSize, preferred: QSize) -> QSize:
    """The minimap's size on a canvas viewport of ``area``: ``preferred``, smaller on a small
    canvas (at most half of it each way), never below 60 × 40."""
    w = max(60, min(preferred.width(), (area.width() - 2 * CORNER_GAP) // 2))
    h = max(40, min(preferred.height(), round(w * preferred.height() / preferred.width()),
                    (area.height() - 2 * CORNER_GAP) // 2))
    return QSize(w, h)
