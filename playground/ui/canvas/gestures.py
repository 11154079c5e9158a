"""What a pointer does on the canvas, turned into undo commands: drag from a port to a port to
wire (refused with the reason next to the cursor), release a wire on empty canvas to pick an op,
drag nodes (one undo step per drag; dropped on a wire, an unconnected node is inserted into
it), nudge with the arrows. :class:`GraphScene` adds the mirroring of the model on top."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
)

from ...engine import EngineError
from ...graph import GraphModel
from ..commands import ConnectCommand, MoveNodesCommand, StateCommand
from . import style as S
from .items import NodeItem, PortItem
from .overlays import Overlays
from .unitmaps import UnitStrip
from .wires import EdgeItem, TempWireItem, wire_path


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



class SceneGestures(QGraphicsScene):
    """The pointer side of the graph scene (see the module's docstring)."""

    connection_refused = Signal(str)
    wire_dropped_on_empty = Signal(str, str, bool, QPointF)  # node id, port, from output, pos
    value_clicked = Signal(str)  # a node, wire or value label clicked while values are shown

    # set up by GraphScene
    document: Any
    model: GraphModel
    nodes: dict[str, NodeItem]
    edges: dict[str, EdgeItem]
    overlays: Overlays

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._insert_target: EdgeItem | None = None
        self._wire: TempWireItem | None = None
        self._wire_from: PortItem | None = None
        self._press_positions: dict[str, tuple[float, float]] = {}
        self._press_scene: QPointF | None = None
        self.message = MessageItem()
        self.addItem(self.message)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.message.hide)
        # while a run trains the graph: looking (hover, tooltips, clicks on values and unit
        # maps, selection) but no gesture that edits (moves, wires, drops, nudges)
        self.read_only = False

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
        if self.read_only:
            return
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
        if self.read_only:
            event.accept()  # nothing is grabbed, moved or wired; the release may be a click
            return
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
        if self.read_only and event.buttons() != Qt.MouseButton.NoButton:
            event.accept()
            return
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
        if self.read_only:
            self._read_only_click(event)
            return
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

    def _read_only_click(self, event: QGraphicsSceneMouseEvent) -> None:
        """A click while read-only: on unit maps it asks for them enlarged, on a value (label,
        wire, node) for its full view."""
        press, self._press_scene = self._press_scene, None
        event.accept()
        if (press is None or event.button() != Qt.MouseButton.LeftButton
                or (event.scenePos() - press).manhattanLength() >= 4):
            return
        for item in self.items(event.scenePos()):
            if isinstance(item, UnitStrip) and item.on_click is not None:
                item.on_click()
                return
        if self.overlays.has_wire_data:
            source = self.overlays.source_at(event.scenePos())
            if source is not None:
                self.value_clicked.emit(source)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.read_only:
            event.accept()  # no composite opens, no rename
            return
        super().mouseDoubleClickEvent(event)

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

