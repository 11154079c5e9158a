"""The scene mirrors the graph model: it listens to model events and creates or removes items.
User gestures (connect, move) become undo commands on the document's stack.

What an evaluation computed (values and gradients on the wires, a step-through's highlight, node
badges, the gradient-flow overlay) is drawn by its :class:`~.overlays.Overlays`
(``scene.overlays``), which the scene tells when nodes and wires come, go or move."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRect, QRectF, QTimer, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsScene,
)

from ...engine import EngineError
from ...graph import Edge, GraphModel, Node
from ..commands import StateCommand
from . import style as S
from .backdrop import BackdropItem
from .gestures import SceneGestures
from .items import NodeItem
from .overlays import Overlays
from .wires import EdgeItem


class GraphScene(SceneGestures):
    node_open_requested = Signal(str)
    problems_changed = Signal(dict)
    backdrop_rename_requested = Signal(str)

    def __init__(self, document: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.document = document
        self.model: GraphModel = document.model
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[str, EdgeItem] = {}
        self.backdrops: dict[str, BackdropItem] = {}
        self.snap = False
        self.problems: dict[str, str] = {}
        self.shapes: dict[str, Any] = {}
        self._syncing = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh_all)
        self.overlays = Overlays(self)
        self.setSceneRect(QRectF(-5000, -5000, 10000, 10000))
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        m = self.model
        m.node_added.connect(self._on_node_added)
        m.node_removed.connect(self._on_node_removed)
        m.edge_added.connect(self._on_edge_added)
        m.edge_removed.connect(self._on_edge_removed)
        m.node_moved.connect(self._on_node_moved)
        for ev in (m.param_changed, m.node_renamed, m.body_changed, m.meta_changed):
            ev.connect(self._on_changed)
        m.meta_changed.connect(self._on_meta_changed)
        self._rebuild_backdrops()
        for node in m.nodes.values():
            self._on_node_added(node, schedule=False)
        for edge in m.edges.values():
            self._on_edge_added(edge)
        self.refresh_all()

    def detach(self) -> None:
        """Stop listening to the model (before the scene is dropped)."""
        m = self.model
        for ev, cb in ((m.node_added, self._on_node_added), (m.node_removed, self._on_node_removed),
                       (m.edge_added, self._on_edge_added), (m.edge_removed, self._on_edge_removed),
                       (m.node_moved, self._on_node_moved)):
            ev.disconnect(cb)
        for ev in (m.param_changed, m.node_renamed, m.body_changed, m.meta_changed):
            ev.disconnect(self._on_changed)
        m.meta_changed.disconnect(self._on_meta_changed)

    # -- model events ----------------------------------------------------------------------
    def _on_node_added(self, node: Node, schedule: bool = True) -> None:
        item = NodeItem(self, node)
        self.nodes[node.id] = item
        self.addItem(item)
        item.refresh(node, self.model.input_ports(node), None, None)
        if schedule:
            self._refresh_timer.start()

    def _on_node_removed(self, node: Node) -> None:
        item = self.nodes.pop(node.id, None)
        if item is not None:
            self.removeItem(item)
        self.overlays.node_removed(node.id)
        self._refresh_timer.start()

    def _on_edge_added(self, edge: Edge) -> None:
        item = EdgeItem(edge.id, edge.src, edge.dst, edge.port)
        self.edges[edge.id] = item
        self.addItem(item)
        self._update_edge(item)
        self.overlays.edge_added(item)
        self._refresh_timer.start()

    def _on_edge_removed(self, edge: Edge) -> None:
        item = self.edges.pop(edge.id, None)
        if item is not None:
            if item is self._insert_target:
                self._insert_target = None
            self.removeItem(item)
        self.overlays.edge_removed(edge.id, edge.src)
        self._refresh_timer.start()

    def _on_node_moved(self, node: Node, old: Any, new: Any) -> None:
        item = self.nodes.get(node.id)
        if item is not None and (item.pos().x(), item.pos().y()) != new:
            self._syncing = True
            try:
                item.setPos(*new)
            finally:
                self._syncing = False

    def _on_changed(self, *args: Any) -> None:
        self._refresh_timer.start()

    def _on_meta_changed(self, key: str, old: Any, new: Any) -> None:
        if key == "backdrops":
            self._rebuild_backdrops()

    def _rebuild_backdrops(self) -> None:
        data = self.model.meta.get("backdrops") or []
        selected = {bid for bid, item in self.backdrops.items() if item.isSelected()}
        for item in self.backdrops.values():
            self.removeItem(item)
        self.backdrops = {}
        for entry in data if isinstance(data, list) else []:
            try:
                item = BackdropItem(self, entry)
            except (KeyError, TypeError, ValueError):
                continue  # a malformed entry from a hand-edited file is skipped, not fatal
            self.backdrops[item.backdrop_id] = item
            self.addItem(item)
            item.setSelected(item.backdrop_id in selected)

    def backdrop_data(self, replace: dict[str, dict[str, Any]] | None = None,
                      drop: set[str] | None = None) -> list[dict[str, Any]]:
        out = []
        for bid, item in self.backdrops.items():
            if drop and bid in drop:
                continue
            out.append((replace or {}).get(bid, item.to_data()))
        return out

    def backdrop_changed(self, item: BackdropItem, carried: list[str]) -> None:
        """A backdrop was moved or resized (with the nodes it carried): one undo step."""
        after = self.model.to_dict()
        after.setdefault("meta", {})["backdrops"] = self.backdrop_data()
        positions = {nid: self.nodes[nid].pos() for nid in carried if nid in self.nodes}
        for n in after["nodes"]:
            if n["id"] in positions:
                p = positions[n["id"]]
                n["position"] = [p.x(), p.y()]
        self.document.undo.push(StateCommand(self.model, after, f"Move {item.title}"))

    def selected_backdrop_ids(self) -> list[str]:
        return [i.backdrop_id for i in self.selectedItems() if isinstance(i, BackdropItem)]

    def refresh_all(self) -> None:
        """Re-read shapes and problems and update every node's text and badge."""
        self._refresh_timer.stop()
        analysis = self.model.analyse()
        self.shapes, self.problems = analysis.shapes, analysis.problems
        try:
            out = self.model.output_node()
        except EngineError:
            out = None
        for nid, item in self.nodes.items():
            node = self.model.nodes.get(nid)
            if node is None:
                continue
            item.refresh(node, self.model.input_ports(node), analysis.shapes.get(nid),
                         analysis.problems.get(nid), is_output=nid == out)
        for edge in self.edges.values():
            self._update_edge(edge)
        self.overlays.nodes_refreshed()
        self.problems_changed.emit(dict(self.problems))

    def _update_edge(self, item: EdgeItem) -> None:
        src, dst = self.nodes.get(item.src), self.nodes.get(item.dst)
        if src is None or dst is None:
            return
        item.update_path(src.port_scene_pos(None), dst.port_scene_pos(item.port))

    def node_item_moved(self, item: NodeItem) -> None:
        moved = set()
        for edge in self.edges.values():
            if edge.src == item.node_id or edge.dst == item.node_id:
                self._update_edge(edge)
                moved.add(edge.src)
        self.overlays.node_moved(item, moved)

    def node_double_clicked(self, node_id: str) -> None:
        self.node_open_requested.emit(node_id)

    # -- messages --------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        rect = QRectF(rect)
        painter.fillRect(rect, S.CANVAS_BG)
        scale = painter.worldTransform().m11()
        if scale < 0.35:
            return
        step = S.GRID
        left = int(rect.left() // step) * step
        top = int(rect.top() // step) * step
        minor: list[tuple[float, bool]] = []
        major: list[tuple[float, bool]] = []
        x = left
        while x < rect.right():
            (major if round(x / step) % 5 == 0 else minor).append((x, True))
            x += step
        y = top
        while y < rect.bottom():
            (major if round(y / step) % 5 == 0 else minor).append((y, False))
            y += step
        for lines, colour in ((minor, S.GRID_MINOR), (major, S.GRID_MAJOR)):
            painter.setPen(QPen(colour, 0))
            for v, vertical in lines:
                if vertical:
                    painter.drawLine(QPointF(v, rect.top()), QPointF(v, rect.bottom()))
                else:
                    painter.drawLine(QPointF(rect.left(), v), QPointF(rect.right(), v))

    def helpEvent(self, event: Any) -> None:
        """Tooltips of value labels and wires carry statistics: made when first hovered."""
        self.overlays.prepare_tooltip(event.scenePos())
        super().helpEvent(event)
