"""Export the canvas as PNG or SVG."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from .canvas.scene import GraphScene
from .canvas.view import GraphView


def content_rect(scene: GraphScene, margin: float = 30.0) -> QRectF:
    rect = QRectF()
    for item in [*scene.nodes.values(), *scene.edges.values()]:
        rect = rect.united(item.sceneBoundingRect())
    for label in scene.overlays.wire_labels.values():
        if label.isVisible():
            rect = rect.united(label.label_scene_rect())
    if rect.isNull():
        rect = QRectF(0, 0, 400, 300)
    return rect.adjusted(-margin, -margin, margin, margin)


def export_scene(scene: GraphScene, path: str, fmt: str, scale: float = 2.0) -> None:
    selected = scene.selectedItems()
    for item in selected:
        item.setSelected(False)
    scene.message.hide()
    # the values on the wires in full, at their scene size (on screen they may be drawn larger
    # and shorter, for the zoom shown); placed back for the canvas afterwards
    canvas = next((v for v in scene.views() if isinstance(v, GraphView)), None)
    zoom = canvas.zoom() if canvas is not None else 1.0
    scene.overlays.set_view_zoom(1.0, layout_now=True)
    source = content_rect(scene)
    try:
        if fmt == "svg":
            gen = QSvgGenerator()
            gen.setFileName(path)
            gen.setSize(QSize(int(source.width()), int(source.height())))
            gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
            gen.setTitle("Backprop Playground graph")
            painter = QPainter(gen)
            scene.render(painter, QRectF(0, 0, source.width(), source.height()), source)
            painter.end()
        else:
            image = QImage(int(source.width() * scale), int(source.height() * scale),
                           QImage.Format.Format_ARGB32)
            image.fill(Qt.GlobalColor.transparent)
            painter = QPainter(image)
            painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
            scene.render(painter, QRectF(0, 0, image.width(), image.height()), source)
            painter.end()
            if not image.save(path):
                raise OSError(f"could not write {path}")
    finally:
        scene.overlays.set_view_zoom(zoom, layout_now=True)
        for item in selected:
            item.setSelected(True)
