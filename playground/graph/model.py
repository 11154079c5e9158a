"""The editable graph document: nodes, named ports, edges, events. Plain Python, no Qt.

Every mutator validates first, raises a typed error a user can act on, and only then mutates
and emits exactly one event.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.feeds import misfit
from ..engine.registry import ParamError, get_op, quoted
from . import errors as E
from . import structure
from .events import Event
from .saveable import saveable_problem

COMPOSITE = "composite"
Position = tuple[float, float]
_SUFFIX = re.compile(r"(\d+)$")
_NAME_RE = re.compile(r"^[^\s/=,\[\]{}\"']([^/=\[\]{}\"']*[^\s/=\[\]{}\"'])?$")


@dataclass
class Node:
    id: str
    op: str
    name: str
    params: dict[str, Any]
    position: Position = (0.0, 0.0)
    body: GraphModel | None = None  # composites only


@dataclass(frozen=True)
class Edge:
    id: str
    src: str
    dst: str
    port: str


@dataclass
class Analysis:
    """Shapes and problems of every node, from the document alone (no arrays)."""

    shapes: dict[str, tuple[int | None, ...] | None] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


class GraphModel:
    EVENTS = ("node_added", "node_removed", "edge_added", "edge_removed", "param_changed",
              "node_renamed", "node_moved", "body_changed", "meta_changed")

    def __init__(self, dtype: str = "float64") -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: dict[str, Edge] = {}
        self.dtype = dtype
        self.meta: dict[str, Any] = {}
        self._counter = 0
        # goes up with every event: caches of compiled programs, evaluations and math cards are
        # keyed on it (never on an undo index, which repeats after an undo and a new edit)
        self.revision = 0
        self._names: dict[str, str] = {}  # name -> id, kept by add_node, remove_node, rename
        for name in self.EVENTS:
            setattr(self, name, Event(name, self._touch))
        self.node_added: Event
        self.node_removed: Event
        self.edge_added: Event
        self.edge_removed: Event
        self.param_changed: Event
        self.node_renamed: Event
        self.node_moved: Event
        self.body_changed: Event
        self.meta_changed: Event

    def _touch(self) -> None:
        self.revision += 1

    # -- ids and names ----------------------------------------------------------------------
    @property
    def id_floor(self) -> int:
        """New ids are numbered above this."""
        return self._counter

    def reserve_ids(self, ids: Iterable[str], floor: int = 0) -> None:
        """Never hand out an id numbered at or below ``floor`` or the largest number in ``ids``
        (ids that a copy of this graph, an undo state or a file used)."""
        best = max(self._counter, floor)
        for i in ids:
            m = _SUFFIX.search(i)
            if m:
                best = max(best, int(m.group(1)))
        self._counter = best

    def new_id(self, prefix: str = "n") -> str:
        while True:
            self._counter += 1
            candidate = f"{prefix}{self._counter}"
            if candidate not in self.nodes and candidate not in self.edges:
                return candidate

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise E.UnknownNodeError(f"no node with id '{node_id}' in this graph") from None

    def _named(self, name: str) -> Node | None:
        """The node called ``name``, in O(1): the name index is rebuilt when the nodes were
        changed around the mutators."""
        if len(self._names) != len(self.nodes):
            self._names = {n.name: nid for nid, n in self.nodes.items()}
        node = self.nodes.get(self._names.get(name, ""))
        return node if node is not None and node.name == name else None

    def by_name(self, name: str) -> Node:
        node = self._named(name)
        if node is None:
            raise E.UnknownNodeError(f"no node named {quoted(name)} in this graph")
        return node

    def find(self, key: str) -> Node:
        """A node by id or by name."""
        return self.nodes[key] if key in self.nodes else self.by_name(key)

    def unique_name(self, base: str) -> str:
        taken = {n.name for n in self.nodes.values()}
        base = re.sub(r"[\s/=,\[\]{}\"']+", "_", base).strip("_") or "node"
        if base not in taken:
            return base
        stem = re.sub(r"\d+$", "", base) or base
        k = 1
        while f"{stem}{k}" in taken:
            k += 1
        return f"{stem}{k}"

    def default_name(self, op: str) -> str:
        """A short free name for a new ``op`` node (x, y, z; q, f, g; W; h1; z1; loss: see
        :mod:`.naming`). :meth:`add_node` uses it when no name is given."""
        from .naming import default_name

        return default_name(self, op)

    def check_name(self, name: str, node_id: str | None = None) -> None:
        if (not isinstance(name, str) or not _NAME_RE.match(name)
                or any(unicodedata.category(c) in ("Cc", "Cs") for c in name)):
            raise E.NameError_(
                f"{quoted(name)} is not a usable node name: use letters, digits and _ "
                "(no spaces at the ends, no / = , brackets or quotes)"
            )
        other = self._named(name)
        if other is not None and other.id != node_id:
            raise E.NameError_(f"the name '{name}' is already used by another node")

    # -- ports ------------------------------------------------------------------------------
    def input_ports(self, node: Node | str) -> tuple[str, ...]:
        node = self.node(node) if isinstance(node, str) else node
        if node.op == COMPOSITE:
            assert node.body is not None
            return tuple(n.name for n in node.body.nodes.values() if n.op == "input")
        return get_op(node.op).inputs

    def incoming(self, node_id: str) -> dict[str, Edge]:
        return {e.port: e for e in self.edges.values() if e.dst == node_id}

    def outgoing(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges.values() if e.src == node_id]

    def edge_into(self, node_id: str, port: str) -> Edge | None:
        for e in self.edges.values():
            if e.dst == node_id and e.port == port:
                return e
        return None

    # -- mutators ---------------------------------------------------------------------------
    def add_node(self, op: str, name: str | None = None, params: Mapping[str, Any] | None = None,
                 position: Iterable[float] = (0.0, 0.0), node_id: str | None = None,
                 body: GraphModel | None = None) -> Node:
        if op == COMPOSITE:
            if body is None:
                raise E.GraphError("a composite node needs a body graph")
            resolved = dict(params or {})
            self._check_body(body)
            body.composite_output()  # raises when the body has no single output
        else:
            spec = get_op(op)  # raises UnknownOpError
            try:
                resolved = spec.resolve_params(params)
                for key, value in resolved.items():
                    _check_finite(spec.param(key).kind, key, value)
            except ParamError as exc:
                raise E.GraphError(f"{spec.label or op}: {exc}") from None
        if node_id is None:
            node_id = self.new_id("n")
        elif node_id in self.nodes or node_id in self.edges:
            raise E.GraphError(f"the id '{node_id}' is already used in this graph")
        if name is None:
            name = self.default_name(op)
        self.check_name(name)
        pos = _position(position)
        node = Node(node_id, op, name, resolved, pos, body)
        self._names[name] = node_id  # check_name synced the index
        self.nodes[node_id] = node
        self.node_added.emit(node)
        return node

    def remove_node(self, node_id: str) -> Node:
        node = self.node(node_id)
        for e in [e for e in self.edges.values() if node_id in (e.src, e.dst)]:
            self.disconnect(e.id)
        del self.nodes[node_id]
        if self._names.get(node.name) == node_id:
            del self._names[node.name]
        self.node_removed.emit(node)
        return node

    def check_connect(self, src: str, dst: str, port: str, check_shapes: bool = True) -> None:
        """Raise the reason ``src → dst.port`` cannot be connected; return when it can."""
        structure.check_connect(self, src, dst, port, check_shapes)

    def connect(self, src: str, dst: str, port: str, edge_id: str | None = None,
                check_shapes: bool = True) -> Edge:
        """Wire ``src``'s output to input ``port`` of ``dst``. ``check_shapes=False`` still refuses
        structural faults (cycle, taken input, unknown port) but lets a shape mismatch through, to
        be shown as a problem on the node (used when restoring a document state)."""
        self.check_connect(src, dst, port, check_shapes)
        if edge_id is None:
            edge_id = self.new_id("e")
        elif edge_id in self.edges or edge_id in self.nodes:
            raise E.GraphError(f"the id '{edge_id}' is already used in this graph")
        edge = Edge(edge_id, src, dst, port)
        self.edges[edge_id] = edge
        self.edge_added.emit(edge)
        return edge

    def disconnect(self, edge_id: str) -> Edge:
        try:
            edge = self.edges.pop(edge_id)
        except KeyError:
            raise E.GraphError(f"no wire with id '{edge_id}' in this graph") from None
        self.edge_removed.emit(edge)
        return edge

    def check_param(self, node_id: str, key: str, value: Any, check_shapes: bool = True) -> Any:
        """The value :meth:`set_param` would store, or the typed error saying why it refuses:
        :class:`~.errors.InputValueError` for a typed value that does not fit the input's shape
        (``input 'x' is a scalar (one number); [1, 2] has 2 values: ...``)."""
        node = self.node(node_id)
        if node.op == COMPOSITE:
            raise E.GraphError("a composite node has no params of its own: open it to edit inside")
        spec = get_op(node.op)
        try:
            new = spec.param(key).coerce(value)
            _check_finite(spec.param(key).kind, key, new)
        except ParamError as exc:
            raise E.GraphError(f"{node.name}: {exc}") from None
        if check_shapes and spec.role == "input" and key == "value" and new is not None:
            problem = misfit(node.name, node.params["shape"], new)
            if problem is not None:
                raise E.InputValueError(problem, node.name)
        return new

    def set_param(self, node_id: str, key: str, value: Any, check_shapes: bool = True) -> None:
        """Set one param. ``check_shapes=False`` still refuses a value of the wrong kind but lets
        a typed value that does not fit its input's shape through (restoring a document state,
        as :meth:`connect` does with shapes; running it then names the input)."""
        node = self.node(node_id)
        new = self.check_param(node_id, key, value, check_shapes)
        old = node.params.get(key)
        if old == new:
            return
        node.params[key] = new
        self.param_changed.emit(node, key, old, new)

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        if node.name == name:
            return
        self.check_name(name, node_id)
        old, node.name = node.name, name
        self._names.pop(old, None)
        self._names[name] = node_id
        self.node_renamed.emit(node, old, name)

    def move_node(self, node_id: str, position: Iterable[float]) -> None:
        node = self.node(node_id)
        new = _position(position)
        if new == node.position:
            return
        old, node.position = node.position, new
        self.node_moved.emit(node, old, new)

    def set_body(self, node_id: str, body: GraphModel) -> None:
        node = self.node(node_id)
        if node.op != COMPOSITE:
            raise E.GraphError(f"'{node.name}' is not a composite node")
        self._check_body(body)
        body.composite_output()
        ports = {n.name for n in body.nodes.values() if n.op == "input"}
        for port in self.incoming(node_id):
            if port not in ports:
                raise E.UnknownPortError(
                    f"the new body of '{node.name}' has no input '{port}', which is wired: "
                    "remove that wire first or keep an input node with that name")
        old, node.body = node.body, body
        self.body_changed.emit(node, old, body)

    def set_dtype(self, dtype: str) -> None:
        """The float type programs compile to (emits ``meta_changed('dtype', old, new)``)."""
        if dtype not in ("float64", "float32"):
            raise E.GraphError(f"dtype must be float64 or float32, not {dtype!r}")
        if dtype == self.dtype:
            return
        old, self.dtype = self.dtype, dtype
        self.meta_changed.emit("dtype", old, dtype)

    def reorder(self, node_ids: Iterable[str], edge_ids: Iterable[str]) -> None:
        """Put nodes and wires in this order (files and the stable topological order read it).
        Both must list exactly the ids there are. No event, but a new revision."""
        nodes, edges = list(node_ids), list(edge_ids)
        if sorted(nodes) != sorted(self.nodes) or sorted(edges) != sorted(self.edges):
            raise E.GraphError("reorder must list every node and wire exactly once")
        if nodes == list(self.nodes) and edges == list(self.edges):
            return
        self.nodes = {nid: self.nodes[nid] for nid in nodes}
        self.edges = {eid: self.edges[eid] for eid in edges}
        self._touch()

    def apply(self, target: Mapping[str, Any]) -> None:
        """Become the document ``target`` (a :func:`serialize.model_to_dict` dict) through the
        mutators, so every change emits its event: see :func:`playground.graph.apply.apply_dict`.
        Undo commands are ``(before, after)`` pairs applied with this."""
        from .apply import apply_dict  # local: apply imports this module

        apply_dict(self, target)

    def set_meta(self, key: str, value: Any) -> None:
        """Set (or with None remove) one entry of the document's metadata. Refused with a
        GraphError when the value could not be saved as JSON (see :func:`saveable_problem`)."""
        problem = saveable_problem({key: value}, "meta")
        if problem:
            raise E.GraphError(f"cannot set {problem}")
        old = self.meta.get(key)
        if value is None:
            self.meta.pop(key, None)
        else:
            self.meta[key] = value
        self.meta_changed.emit(key, old, value)

    def _check_body(self, body: GraphModel) -> None:
        stack, seen = [body], set()
        while stack:
            cur = stack.pop()
            if cur is self:
                raise E.CycleError("a composite cannot contain the graph it is placed in")
            if id(cur) not in seen:
                seen.add(id(cur))
                stack.extend(n.body for n in cur.nodes.values() if n.body is not None)

    # -- structure --------------------------------------------------------------------------
    def _reaches(self, start: str, target: str) -> bool:
        return structure.reaches(self, start, target)

    def topological_order(self) -> list[str]:
        """Node ids so that every node comes after its inputs (stable: insertion order)."""
        return structure.topological_order(self)

    def sinks(self) -> list[str]:
        return structure.sinks(self)

    def output_node(self) -> str:
        """The node a pass runs toward: ``meta['output']``, else the only loss, else the only sink."""
        return structure.output_node(self)

    def composite_output(self) -> str:
        return structure.composite_output(self)

    def analyse(self, input_shapes: Mapping[str, Any] | None = None, **options: Any) -> Analysis:
        """Shapes and problems per node (see :func:`.structure.analyse`)."""
        return structure.analyse(self, input_shapes, **options)

    # -- copying ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        from .serialize import model_to_dict

        return model_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GraphModel:
        from .serialize import model_from_dict

        return model_from_dict(data)

    def copy(self) -> GraphModel:
        return GraphModel.from_dict(self.to_dict())


def _json_shape(shape: Iterable[int | None]) -> str:
    return "[" + ", ".join("null" if d is None else str(d) for d in shape) + "]"


def _position(position: Iterable[float]) -> Position:
    try:
        x, y = (float(v) for v in position)
    except (TypeError, ValueError, OverflowError):
        raise E.GraphError(f"a position is two numbers (x, y), got {position!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise E.GraphError(f"a position is two finite numbers (x, y), got {position!r}")
    return (x, y)


def _check_finite(kind: str, key: str, value: Any) -> None:
    """Refuse NaN or infinite numbers in an array param (they cannot be saved as JSON)."""
    if kind == "array" and value is not None and not np.all(np.isfinite(np.asarray(value, float))):
        raise ParamError(f"param '{key}' must hold finite numbers (no NaN or infinity)")

