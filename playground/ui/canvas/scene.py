"""The scene mirrors the graph model: it listens to model events and creates or removes items.
User gestures (connect, move) become undo commands on the document's stack.

What an evaluation computed (values and gradients on the wires, a step-through's highlight, node
badges, the gradient-flow overlay) is drawn by its :class:`~.overlays.Overlays`
(``scene.overlays``), which the scene tells when nodes and wires come, go or move."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
)

from ...engine import EngineError
from ...graph import Edge, GraphModel, Node
from ..commands import ConnectCommand, MoveNodesCommand, StateCommand
from . import style as S
from .backdrop import BackdropItem
from .items import EdgeItem, NodeItem, PortItem, TempWireItem, wire_path
from .overlays import Overlays


class MessageItem(QGraphicsRectItem):
    """A short message next to the cursor (why a wire was refused)."""

    def __init__(self) -> None:
        super().__init__()
        self.text = QGraphicsSimpleTextItem(self)
        self.text.setBrush(QBrush(QColor("white")))
        self.text.setFont(S.font(9))
        self.setBrush(QBrush(QColor(150, 30, 36, 235)))
        self.setPen(QPen(QColor("#ff9b9b"), 1))
        self.setZValue(50)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.hide()

    def show_text(self, text: str, pos: QPointF) -> None:
        self.text.setText(_wrap(text, 60))
        br = self.text.boundingRect()
        self.text.setPos(6, 4)
        self.setRect(QRectF(0, 0, br.width() + 12, br.height() + 8))
        self.setPos(pos + QPointF(14, 14))
        self.show()


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        lines.append(line)
    return "\n".join(lines)


class GraphScene(QGraphicsScene):
    connection_refused = Signal(str)
    wire_dropped_on_empty = Signal(str, str, bool, QPointF)  # node id, port, from output, scene pos
    node_open_requested = Signal(str)
    problems_changed = Signal(dict)
    backdrop_rename_requested = Signal(str)
    value_clicked = Signal(str)  # a node, wire or value label clicked while values are shown

    def __init__(self, document: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.document = document
        self.model: GraphModel = document.model
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[str, EdgeItem] = {}
        self.backdrops: dict[str, BackdropItem] = {}
        self._insert_target: EdgeItem | None = None
        self.snap = False
        self.problems: dict[str, str] = {}
        self.shapes: dict[str, Any] = {}
        self._wire: TempWireItem | None = None
        self._wire_from: PortItem | None = None
        self._press_positions: dict[str, tuple[float, float]] = {}
        self._syncing = False
        self.message = MessageItem()
        self.addItem(self.message)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.message.hide)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh_all)
        self._press_scene: QPointF | None = None
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
        for item in self.edges.values():
            self._update_edge(item)
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
    def show_message(self, text: str, pos: QPointF, msecs: int = 3500) -> None:
        self.message.show_text(text, pos)
        self._message_timer.start(msecs)
        self.connection_refused.emit(text)

    # -- selection helpers -----------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edge_ids(self) -> list[str]:
        return [i.edge_id for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def nudge_selection(self, dx: float, dy: float) -> None:
        moves = {}
        for nid in self.selected_node_ids():
            old = self.model.nodes[nid].position
            moves[nid] = (old, (old[0] + dx, old[1] + dy))
        if moves:
            self.document.undo.push(MoveNodesCommand(self.model, moves, "Nudge"))

    def port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
                               Qt.SortOrder.DescendingOrder):
            if isinstance(item, PortItem):
                return item
        # generous hit area: the nearest port within 14 px
        best, best_d = None, 14.0
        for node in self.nodes.values():
            for port in [*node.inputs.values(), node.output]:
                if port is None:
                    continue
                d = (port.scenePos() - pos).manhattanLength()
                if d < best_d:
                    best, best_d = port, d
        return best

    # -- connecting ------------------------------------------------------------------------
    def try_connect(self, src: str, dst: str, port: str) -> str | None:
        """Push a connect command; return the reason it was refused, or None."""
        try:
            cmd = ConnectCommand(self.model, src, dst, port)
        except EngineError as exc:
            return str(exc)
        self.document.undo.push(cmd)
        return None

    def _endpoints(self, a: PortItem, b: PortItem) -> tuple[str, str, str] | None:
        if a.is_output == b.is_output:
            return None
        out, inp = (a, b) if a.is_output else (b, a)
        return out.node_id, inp.node_id, inp.name

    def _check(self, a: PortItem, b: PortItem | None) -> str | None:
        if b is None:
            return None
        ends = self._endpoints(a, b)
        if ends is None:
            return "connect an output (right) to an input (left)"
        try:
            self.model.check_connect(*ends)
        except EngineError as exc:
            return str(exc)
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._press_scene = event.scenePos() if event.button() == Qt.MouseButton.LeftButton else None
        if event.button() == Qt.MouseButton.LeftButton:
            port = self.port_at(event.scenePos())
            if port is not None:
                self._wire_from = port
                self._wire = TempWireItem()
                self.addItem(self._wire)
                self._update_temp_wire(event.scenePos(), None)
                event.accept()
                return
        super().mousePressEvent(event)
        self._press_positions = {nid: self.model.nodes[nid].position
                                 for nid in self.selected_node_ids() if nid in self.model.nodes}

    def _update_temp_wire(self, pos: QPointF, target: PortItem | None) -> None:
        assert self._wire is not None and self._wire_from is not None
        start = self._wire_from.scenePos()
        end = target.scenePos() if target is not None else pos
        self._wire.setPath(wire_path(start, end) if self._wire_from.is_output else wire_path(end, start))

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None and self._wire_from is not None:
            target = self.port_at(event.scenePos())
            if target is self._wire_from or (target is not None and target.node_id == self._wire_from.node_id
                                              and target.is_output == self._wire_from.is_output):
                target = None
            reason = self._check(self._wire_from, target)
            self._wire.set_state(None if target is None else reason is None)
            self._update_temp_wire(event.scenePos(), target if reason is None else None)
            if reason:
                self.message.show_text(reason, event.scenePos())
            else:
                self.message.hide()
            event.accept()
            return
        super().mouseMoveEvent(event)
        if isinstance(self.mouseGrabberItem(), NodeItem) and len(self._press_positions) == 1:
            self._highlight_insert_target(next(iter(self._press_positions)))

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None and self._wire_from is not None:
            start = self._wire_from
            self.removeItem(self._wire)
            self._wire, self._wire_from = None, None
            self.message.hide()
            target = self.port_at(event.scenePos())
            if target is None or target is start:
                if target is None:
                    self.wire_dropped_on_empty.emit(start.node_id, start.name, start.is_output,
                                                    event.scenePos())
                event.accept()
                return
            ends = self._endpoints(start, target)
            reason = "connect an output (right) to an input (left)" if ends is None else self.try_connect(*ends)
            if reason:
                self.show_message(reason, event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self._finish_move()
        press, self._press_scene = self._press_scene, None
        if (press is not None and event.button() == Qt.MouseButton.LeftButton
                and (event.scenePos() - press).manhattanLength() < 4
                and self.overlays.has_wire_data):
            source = self.overlays.source_at(event.scenePos())
            if source is not None:
                self.value_clicked.emit(source)

    def _highlight_insert_target(self, nid: str) -> None:
        target = None
        item = self.nodes.get(nid)
        if item is not None and not any(nid in (e.src, e.dst) for e in self.edges.values()):
            centre = item.sceneBoundingRect().center()
            for candidate in self.items(QRectF(centre.x() - 6, centre.y() - 6, 12, 12)):
                if isinstance(candidate, EdgeItem):
                    target = candidate
                    break
        if target is not self._insert_target:
            if self._insert_target is not None:
                self._insert_target.set_highlight(False)
            if target is not None:
                target.set_highlight(True)
            self._insert_target = target

    def insert_on_wire(self, nid: str, edge_id: str, position: tuple[float, float]) -> str | None:
        """Put an unconnected node into a wire (and at ``position``) as one undo step; return
        the reason when it does not fit."""
        edge = self.model.edges[edge_id]
        trial = self.model.copy()
        try:
            trial.move_node(nid, position)
            trial.disconnect(edge_id)
            ports = trial.input_ports(nid)
            if not ports:
                return f"'{trial.nodes[nid].name}' has no input to take the wire"
            trial.connect(edge.src, nid, ports[0])
            trial.connect(nid, edge.dst, edge.port)
        except EngineError as exc:
            return str(exc)
        name = self.model.nodes[nid].name
        self.document.undo.push(StateCommand(self.model, trial.to_dict(), f"Insert {name} into a wire"))
        return None

    def _finish_move(self) -> None:
        target, self._insert_target = self._insert_target, None
        if target is not None:
            target.set_highlight(False)
            nid = next(iter(self._press_positions))
            item = self.nodes.get(nid)
            self._press_positions = {}
            if item is not None and target.edge_id in self.model.edges:
                reason = self.insert_on_wire(nid, target.edge_id, (item.pos().x(), item.pos().y()))
                if reason is None:
                    return
                self.show_message(reason, item.sceneBoundingRect().center())
                self._press_positions = {nid: self.model.nodes[nid].position}
        moves = {}
        for nid, old in self._press_positions.items():
            item = self.nodes.get(nid)
            if item is None:
                continue
            new = (item.pos().x(), item.pos().y())
            if new != old:
                moves[nid] = (old, new)
        self._press_positions = {}
        if moves:
            self.document.undo.push(MoveNodesCommand(self.model, moves))

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, S.CANVAS_BG)
        scale = painter.worldTransform().m11()
        if scale < 0.35:
            return
        step = S.GRID
        left = int(rect.left() // step) * step
        top = int(rect.top() // step) * step
        minor, major = [], []
        x = left
        while x < rect.right():
            (major if int(round(x / step)) % 5 == 0 else minor).append((x, True))
            x += step
        y = top
        while y < rect.bottom():
            (major if int(round(y / step)) % 5 == 0 else minor).append((y, False))
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
