"""Undo commands. Each one calls the graph model and nothing else; the scene mirrors the model.

Simple edits (add, connect, move, param) call one mutator each way. Complex edits (delete a
selection, paste, group, ungroup, auto-layout, insert a layer stack) store the document before
and after and bring the model from one to the other with ``GraphModel.apply``, which goes
through the model's mutators so every change still emits its event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtGui import QUndoCommand

from ..graph import GraphModel

Position = tuple[float, float]


class AddNodeCommand(QUndoCommand):
    def __init__(self, model: GraphModel, op: str, position: Position, name: str | None = None,
                 params: Mapping[str, Any] | None = None, body: GraphModel | None = None) -> None:
        self.model = model
        # validate now so a refused node never lands on the stack
        self.node_id = model.new_id("n")
        self.name = name or model.default_name(op)  # short names: x, y, q, f, h1, W ...
        self.op, self.position, self.params = op, position, dict(params or {})
        self.body_dict = body.to_dict() if body is not None else None
        super().__init__(f"Add {self.name}")

    def redo(self) -> None:
        body = GraphModel.from_dict(self.body_dict) if self.body_dict is not None else None
        self.model.add_node(self.op, self.name, self.params, self.position, node_id=self.node_id,
                            body=body)

    def undo(self) -> None:
        self.model.remove_node(self.node_id)


class ConnectCommand(QUndoCommand):
    def __init__(self, model: GraphModel, src: str, dst: str, port: str) -> None:
        model.check_connect(src, dst, port)  # raises the reason; nothing is pushed
        self.model, self.src, self.dst, self.port = model, src, dst, port
        self.edge_id = model.new_id("e")
        super().__init__(f"Connect {model.nodes[src].name} → {model.nodes[dst].name}.{port}")

    def redo(self) -> None:
        self.model.connect(self.src, self.dst, self.port, edge_id=self.edge_id, check_shapes=False)

    def undo(self) -> None:
        self.model.disconnect(self.edge_id)


class MoveNodesCommand(QUndoCommand):
    """One drag = one step: ``moves`` maps node id → (old, new) position."""

    def __init__(self, model: GraphModel, moves: Mapping[str, tuple[Position, Position]],
                 text: str = "") -> None:
        self.model, self.moves = model, dict(moves)
        names = [model.nodes[i].name for i in self.moves]
        super().__init__(text or (f"Move {names[0]}" if len(names) == 1 else f"Move {len(names)} nodes"))

    def redo(self) -> None:
        for nid, (_, new) in self.moves.items():
            self.model.move_node(nid, new)

    def undo(self) -> None:
        for nid, (old, _) in self.moves.items():
            self.model.move_node(nid, old)


class SetParamCommand(QUndoCommand):
    def __init__(self, model: GraphModel, node_id: str, key: str, value: Any) -> None:
        node = model.node(node_id)
        # checked now (kind, range, and a typed value against its input's shape): a refused
        # value raises the reason and never lands on the stack
        self.new = model.check_param(node_id, key, value)
        self.model, self.node_id, self.key, self.old = model, node_id, key, node.params.get(key)
        super().__init__(f"Set {node.name}.{key}")

    def redo(self) -> None:
        self.model.set_param(self.node_id, self.key, self.new, check_shapes=False)

    def undo(self) -> None:
        self.model.set_param(self.node_id, self.key, self.old, check_shapes=False)


class RenameCommand(QUndoCommand):
    def __init__(self, model: GraphModel, node_id: str, name: str) -> None:
        model.check_name(name, node_id)
        self.model, self.node_id = model, node_id
        self.old, self.new = model.node(node_id).name, name
        super().__init__(f"Rename {self.old} → {name}")

    def redo(self) -> None:
        self.model.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.model.rename(self.node_id, self.old)


class StateCommand(QUndoCommand):
    """A complex edit stored as the document before and after."""

    def __init__(self, model: GraphModel, after: Mapping[str, Any], text: str,
                 before: Mapping[str, Any] | None = None) -> None:
        self.model = model
        self.before = dict(before) if before is not None else model.to_dict()
        self.after = dict(after)
        super().__init__(text)

    def redo(self) -> None:
        self.model.apply(self.after)

    def undo(self) -> None:
        self.model.apply(self.before)


def remove_command(model: GraphModel, node_ids: list[str], edge_ids: list[str]) -> StateCommand:
    """Delete nodes (with their wires) and wires as one step."""
    data = model.to_dict()
    gone = set(node_ids)
    data["nodes"] = [n for n in data["nodes"] if n["id"] not in gone]
    data["edges"] = [e for e in data["edges"]
                     if e["id"] not in set(edge_ids) and e["src"] not in gone and e["dst"] not in gone]
    names = [model.nodes[i].name for i in node_ids]
    n = len(node_ids) + len(edge_ids)
    text = f"Delete {names[0]}" if len(node_ids) == 1 and not edge_ids else f"Delete {n} items"
    return StateCommand(model, data, text)
