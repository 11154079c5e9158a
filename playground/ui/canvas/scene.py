"""The scene mirrors the graph model: it listens to model events and creates or removes items.
User gestures (connect, move) become undo commands on the document's stack.

It also shows what an evaluation computed (the explain tools drive it; it never runs the engine):
values and gradients on the wires (:meth:`GraphScene.set_wire_data`), a step-through's highlight,
node badges and the gradient-flow overlay."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
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
from .wirelabels import LabelPlacer, RectGrid, WireLabelItem

FLOW_MIN_W, FLOW_MAX_W = 1.5, 8.0
# gradient-flow colour ramp, weak → strong
FLOW_RAMP = ((0.0, QColor("#3a5f8f")), (0.45, QColor("#5aa0d8")), (0.75, QColor("#ffd166")),
             (1.0, QColor("#ff6b3d")))


def flow_colour(t: float) -> QColor:
    t = min(max(t, 0.0), 1.0)
    for (t0, c0), (t1, c1) in itertools.pairwise(FLOW_RAMP):
        if t <= t1:
            f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            return QColor(round(c0.red() + (c1.red() - c0.red()) * f),
                          round(c0.green() + (c1.green() - c0.green()) * f),
                          round(c0.blue() + (c1.blue() - c0.blue()) * f))
    return QColor(FLOW_RAMP[-1][1])


def flow_widths(magnitudes: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """Per source: (width in px, ramp position 0..1) from mean |gradient| on a log scale.
    Zero or non-finite magnitudes get the thinnest wire."""
    logs = {k: math.log10(v) for k, v in magnitudes.items()
            if v is not None and math.isfinite(v) and v > 0}
    out: dict[str, tuple[float, float]] = {}
    if logs:
        lo, hi = min(logs.values()), max(logs.values())
        span = hi - lo
    for k in magnitudes:
        if k not in logs:
            out[k] = (FLOW_MIN_W, 0.0)
            continue
        t = 0.5 if span < 1e-12 else (logs[k] - lo) / span
        out[k] = (FLOW_MIN_W + t * (FLOW_MAX_W - FLOW_MIN_W), t)
    return out


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
    wire_data_changed = Signal()

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
        # values and gradients on the wires (keyed by source node id), badges, overlays
        self.wire_values: dict[str, np.ndarray] = {}
        self.wire_grads: dict[str, np.ndarray] = {}
        self.wire_labels: dict[str, WireLabelItem] = {}
        self._labels_visible = True
        self._flow: dict[str, float] | None = None
        self._flow_style: dict[str, tuple[float, float]] = {}
        self._step_nodes: set[str] = set()
        self._step_edges: set[str] = set()
        self._press_scene: QPointF | None = None
        self._relayout: set[str] | None = set()  # sources to re-place; None: all
        self._layout_key: tuple[frozenset[str], frozenset[str]] | None = None
        self._layout_timer = QTimer(self)
        self._layout_timer.setSingleShot(True)
        self._layout_timer.setInterval(0)
        self._layout_timer.timeout.connect(self._layout_pending)
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
        self._step_nodes.discard(node.id)
        had_value = self.wire_values.pop(node.id, None) is not None
        had_grad = self.wire_grads.pop(node.id, None) is not None
        if had_value or had_grad:
            self._sync_labels()
        self._refresh_timer.start()

    def _on_edge_added(self, edge: Edge) -> None:
        item = EdgeItem(edge.id, edge.src, edge.dst, edge.port)
        self.edges[edge.id] = item
        self.addItem(item)
        self._update_edge(item)
        self._apply_flow_to(item)
        if edge.src in self.wire_values or edge.src in self.wire_grads:
            self._sync_labels()
        self._refresh_timer.start()

    def _on_edge_removed(self, edge: Edge) -> None:
        item = self.edges.pop(edge.id, None)
        if item is not None:
            if item is self._insert_target:
                self._insert_target = None
            self.removeItem(item)
        self._step_edges.discard(edge.id)
        if edge.src in self.wire_labels:
            self._sync_labels()
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
        if self.wire_labels:  # node sizes may have changed: re-place the labels now in the way
            self._schedule_layout(self._labels_needing_place())
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
        if self.wire_labels:
            moved.add(item.node_id)
            body = item.mapRectToScene(item.body_rect())
            moved |= {src for src, label in self.wire_labels.items()
                      if label.label_scene_rect().intersects(body)}
            self._schedule_layout(moved)

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
                and (event.scenePos() - press).manhattanLength() < 4 and self.has_wire_data):
            source = self.source_at(event.scenePos())
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

    # -- values and gradients on the wires ---------------------------------------------------
    @property
    def has_wire_data(self) -> bool:
        return bool(self.wire_values or self.wire_grads)

    @property
    def labels_visible(self) -> bool:
        return self._labels_visible

    def set_wire_data(self, values: Mapping[str, np.ndarray | None],
                      grads: Mapping[str, np.ndarray | None]) -> None:
        """Show each source node's value and gradient on its wires (keyed by document node id;
        a node missing from a map, or None, shows nothing for that part). Arrays are copied."""
        self.wire_values = {k: np.array(v, copy=True) for k, v in values.items()
                            if v is not None and k in self.nodes}
        self.wire_grads = {k: np.array(g, copy=True) for k, g in grads.items()
                           if g is not None and k in self.nodes}
        self._sync_labels(layout_now=True)
        self.wire_data_changed.emit()

    def clear_wire_data(self) -> None:
        self.wire_values, self.wire_grads = {}, {}
        self._sync_labels(layout_now=True)
        self.wire_data_changed.emit()

    def set_labels_visible(self, on: bool) -> None:
        self._labels_visible = bool(on)
        for label in self.wire_labels.values():
            label.set_shown(self._labels_visible)

    def _sync_labels(self, layout_now: bool = False) -> None:
        """One label per source node with data, sinks included; removed when data goes."""
        outgoing: dict[str, int] = {}
        for edge in self.edges.values():
            outgoing[edge.src] = outgoing.get(edge.src, 0) + 1
        wanted = [nid for nid in self.nodes if nid in self.wire_values or nid in self.wire_grads]
        for nid in list(self.wire_labels):
            if nid not in wanted:
                self.removeItem(self.wire_labels.pop(nid))
        for nid in wanted:
            label = self.wire_labels.get(nid)
            if label is None:
                label = self.wire_labels[nid] = WireLabelItem(nid)
                label.set_shown(self._labels_visible)
                self.addItem(label)
            node = self.model.nodes.get(nid)
            label.set_data(self.wire_values.get(nid), self.wire_grads.get(nid),
                           outgoing.get(nid, 0), node.name if node is not None else nid)
        for edge in self.edges.values():
            if edge.toolTip():
                edge.setToolTip("")  # set again on hover (helpEvent), from the new numbers
        key = (frozenset(self.edges), frozenset(self.wire_labels))
        todo = None if key != self._layout_key else self._labels_needing_place()
        if layout_now:
            self._layout_timer.stop()
            pending, self._relayout = self._relayout, set()
            if todo is not None and pending is not None:
                todo |= pending
            self.layout_labels(todo)
        else:
            self._schedule_layout(todo)

    def _labels_needing_place(self) -> set[str]:
        """Labels that are new, grew, have no spot, or now overlap a node, their own wire or
        another label (the others keep their places)."""
        if not self.wire_labels:
            return set()
        bodies = RectGrid()
        for item in self.nodes.values():
            bodies.add(item.mapRectToScene(item.body_rect()))
        placed = RectGrid()
        out = set()
        for src, label in self.wire_labels.items():
            if label.needs_place or not label.placed:
                out.add(src)
                continue
            r = label.label_scene_rect()
            edge = self.edges.get(label.edge_id) if label.edge_id is not None else None
            if (bodies.hits(r) or placed.hits(r) or (label.edge_id is not None and edge is None)
                    or (edge is not None and edge.src != src)
                    or (edge is not None and edge.shape().intersects(r))):
                out.add(src)
                continue
            placed.add(r)
        return out

    def _schedule_layout(self, sources: set[str] | None) -> None:
        if sources is None or self._relayout is None:
            self._relayout = None
        else:
            self._relayout |= sources
        self._layout_timer.start()

    def _layout_pending(self) -> None:
        todo, self._relayout = self._relayout, set()
        if todo is None or todo:
            self.layout_labels(todo)

    def layout_labels(self, sources: Iterable[str] | None = None) -> None:
        """Place the labels of ``sources`` (None: all) clear of nodes, wires and each other;
        the other labels stay where they are."""
        sources = None if sources is None else set(sources)
        if not self.wire_labels or (sources is not None and not sources):
            return
        by_src: dict[str, list[EdgeItem]] = {}
        for edge in self.edges.values():
            by_src.setdefault(edge.src, []).append(edge)
        strokes = {eid: e.shape() for eid, e in self.edges.items()}
        bodies = [item.mapRectToScene(item.body_rect()) for item in self.nodes.values()]
        placer = LabelPlacer(bodies, strokes)
        if sources is None:
            todo = list(self.wire_labels)
            self._layout_key = (frozenset(self.edges), frozenset(self.wire_labels))
        else:
            wanted = sources
            todo = [s for s in self.wire_labels if s in wanted]
            for src, label in self.wire_labels.items():
                if src not in wanted and label.placed:
                    placer.add_fixed(label.label_scene_rect())

        def key(src: str) -> tuple[float, float]:
            p = self.nodes[src].pos()
            return (p.x(), p.y())

        for src in sorted(todo, key=key):
            label = self.wire_labels[src]
            edges = by_src.get(src, [])
            # the wire with the most room first
            edges.sort(key=lambda e: -(e.path().boundingRect().width()))
            wires = [(e.edge_id, e.path(), strokes[e.edge_id]) for e in edges]
            port = self.nodes[src].port_scene_pos(None)
            found, compact = placer.place(label.full_size(), label.chip_size(), wires, port)
            if found is None:
                label.place(None)
            else:
                rect, anchor, eid, leader = found
                label.place(rect, anchor, eid, leader, compact)

    def helpEvent(self, event: Any) -> None:
        """Tooltips of value labels and wires carry statistics: made when first hovered."""
        if self.wire_labels:
            for item in self.items(event.scenePos(), Qt.ItemSelectionMode.IntersectsItemShape,
                                   Qt.SortOrder.DescendingOrder):
                if isinstance(item, WireLabelItem):
                    item.setToolTip(item.tooltip_html)
                    break
                if isinstance(item, EdgeItem):
                    label = self.wire_labels.get(item.src)
                    item.setToolTip(label.tooltip_html if label is not None else "")
                    break
                if isinstance(item, (NodeItem, PortItem)):
                    break
        super().helpEvent(event)

    def tooltip_for(self, item: Any) -> str:
        """The value tooltip a label or wire shows on hover ('' when it has none)."""
        if isinstance(item, WireLabelItem):
            return item.tooltip_html
        if isinstance(item, EdgeItem):
            label = self.wire_labels.get(item.src)
            return label.tooltip_html if label is not None else ""
        return ""

    def wire_label_for_edge(self, edge_id: str) -> WireLabelItem | None:
        """The label showing the data of ``edge_id``'s source (it sits on one of its wires)."""
        edge = self.edges.get(edge_id)
        return None if edge is None else self.wire_labels.get(edge.src)

    def source_at(self, pos: QPointF) -> str | None:
        """The node whose data a click at ``pos`` asks for: a value label's, a wire's source,
        or a node."""
        for item in self.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
                               Qt.SortOrder.DescendingOrder):
            if isinstance(item, WireLabelItem):
                if item.isVisible() and item.label_scene_rect().contains(pos):
                    return item.source_id
                continue
            if isinstance(item, PortItem):
                return item.node_id
            if isinstance(item, NodeItem):
                return item.node_id
            if isinstance(item, EdgeItem):
                return item.src
        return None

    # -- step-through, badges, gradient flow ---------------------------------------------------
    def set_step_highlight(self, node_ids: Iterable[str], edge_ids: Iterable[str],
                           phase: str | None) -> None:
        """Glow the gates ``node_ids`` and colour the wires ``edge_ids`` (green 'forward', red
        'backward'); phase None clears every highlight."""
        for nid in self._step_nodes:
            if nid in self.nodes:
                self.nodes[nid].set_step_phase(None)
        for eid in self._step_edges:
            if eid in self.edges:
                self.edges[eid].set_step_phase(None)
        if phase is None:
            self._step_nodes, self._step_edges = set(), set()
            return
        self._step_nodes = {n for n in node_ids if n in self.nodes}
        self._step_edges = {e for e in edge_ids if e in self.edges}
        for nid in self._step_nodes:
            self.nodes[nid].set_step_phase(phase)
        for eid in self._step_edges:
            self.edges[eid].set_step_phase(phase)

    @property
    def step_highlight(self) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset(self._step_nodes), frozenset(self._step_edges)

    def set_node_badge(self, node_id: str, kind: str | None, text: str | None = "",
                       colour: str = "", detail: str = "") -> None:
        """Add or replace the ``kind`` badge of a node (bottom left: e.g. 'gradient check',
        'health'; kinds coexist, the tooltip lists them with ``detail``). ``kind`` None clears
        every badge of the node; ``text`` None clears just that kind."""
        item = self.nodes.get(node_id)
        if item is None:
            return
        if kind is None:
            for k in list(item.badges):
                item.set_badge(k, None)
            return
        item.set_badge(kind, text, colour, detail)

    def clear_node_badges(self, kind: str) -> None:
        """Remove the ``kind`` badge from every node."""
        for item in self.nodes.values():
            item.set_badge(kind, None)

    def node_badges(self, node_id: str) -> dict[str, tuple[str, str]]:
        item = self.nodes.get(node_id)
        return {} if item is None else dict(item.badges)

    def set_flow_overlay(self, widths: Mapping[str, float] | None) -> None:
        """Gradient-flow overlay: ``widths`` maps source node ids to the mean |gradient| through
        their wires; wire width (1.5..8 px, log scale) and colour follow it. None turns it off."""
        self._flow = None if widths is None else dict(widths)
        wired = {e.src for e in self.edges.values()}  # the scale spans the wires drawn
        self._flow_style = {} if widths is None else flow_widths(
            {k: v for k, v in self._flow.items() if k in wired})
        for edge in self.edges.values():
            self._apply_flow_to(edge)

    @property
    def flow_overlay(self) -> dict[str, float] | None:
        return None if self._flow is None else dict(self._flow)

    def _apply_flow_to(self, edge: EdgeItem) -> None:
        style = self._flow_style.get(edge.src) if self._flow is not None else None
        if style is None:
            if self._flow is not None:
                edge.set_flow(FLOW_MIN_W, QColor("#555a63"))  # no gradient reaches this wire
            else:
                edge.set_flow(None)
            return
        width, t = style
        edge.set_flow(width, flow_colour(t))
