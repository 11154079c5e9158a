"""What a graph document's structure says: whether a wire may be added, the order to run the
nodes in, which node is the output, and the shape and problems of every node. Functions over a
:class:`~.model.GraphModel` (its methods of the same names call them). Plain Python, no Qt."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..engine.registry import EngineError, get_op, quoted
from . import errors as E

if TYPE_CHECKING:
    from .model import Analysis, GraphModel

def check_connect(model: GraphModel, src: str, dst: str, port: str, check_shapes: bool = True) -> None:
    """Raise the reason ``src → dst.port`` cannot be connected; return when it can."""
    from .model import Edge, _json_shape  # local: model imports this module
    s, d = model.node(src), model.node(dst)
    if src == dst:
        raise E.SameNodeError(f"'{s.name}' cannot feed itself")
    ports = model.input_ports(d)
    if port not in ports:
        have = ", ".join(ports) if ports else "none: it is a source"
        raise E.UnknownPortError(f"'{d.name}' has no input '{port}' (inputs: {have})")
    taken = model.edge_into(dst, port)
    if taken is not None:
        raise E.InputTakenError(
            f"input '{port}' of '{d.name}' is already fed by '{model.nodes[taken.src].name}': "
            "remove that wire first"
        )
    if model._reaches(dst, src):
        raise E.CycleError(
            f"connecting '{s.name}' to '{d.name}' would make a loop: '{s.name}' already "
            f"depends on '{d.name}'"
        )
    if not check_shapes:
        return
    before = model.analyse().problems
    probe = Edge("__probe__", src, dst, port)
    model.edges[probe.id] = probe
    try:
        after = model.analyse().problems
    finally:
        del model.edges[probe.id]
    for nid, msg in after.items():
        if "not connected" not in msg and before.get(nid) != msg:
            from .inputs import fitting_input_shape  # an input placed by hand is a number

            shape = fitting_input_shape(model, src, dst, port)
            hint = "" if shape is None else (
                f"; to feed data through '{s.name}' give it shape {_json_shape(shape)}")
            raise E.ConnectionShapeError(f"shapes do not fit: {msg}{hint}", src, shape)

def reaches(model: GraphModel, start: str, target: str) -> bool:
    out: dict[str, list[str]] = {}
    for e in model.edges.values():
        out.setdefault(e.src, []).append(e.dst)
    stack, seen = [start], {start}
    while stack:
        cur = stack.pop()
        if cur == target:
            return True
        for nxt in out.get(cur, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False

def topological_order(model: GraphModel) -> list[str]:
    """Node ids so that every node comes after its inputs (stable: insertion order).
    O((nodes + wires) log nodes): Kahn's algorithm on integer ranks with a heap."""
    ids = list(model.nodes)
    rank = {nid: k for k, nid in enumerate(ids)}
    indeg = [0] * len(ids)
    out: list[list[int]] = [[] for _ in ids]
    forward = True
    for e in model.edges.values():
        s, d = rank[e.src], rank[e.dst]
        indeg[d] += 1
        out[s].append(d)
        forward = forward and s < d
    if forward:  # every wire runs forward in insertion order: that order is the answer
        return ids
    ready = [k for k, n in enumerate(indeg) if n == 0]  # ascending: already a heap
    order: list[str] = []
    pop, push = heapq.heappop, heapq.heappush
    while ready:
        k = pop(ready)
        order.append(ids[k])
        for j in out[k]:
            indeg[j] -= 1
            if not indeg[j]:
                push(ready, j)
    if len(order) != len(ids):
        done = set(order)
        stuck = [model.nodes[n].name for n in ids if n not in done]
        raise E.CycleError(f"the graph has a loop through {', '.join(stuck)}")
    return order

def sinks(model: GraphModel) -> list[str]:
    used = {e.src for e in model.edges.values()}
    return [nid for nid, n in model.nodes.items() if nid not in used and n.op not in
            ("input", "constant", "parameter")]

def output_node(model: GraphModel) -> str:
    """The node a pass runs toward: ``meta['output']``, else the only loss, else the only sink."""
    from .model import COMPOSITE  # local: model imports this module
    want = model.meta.get("output")
    if want:
        if isinstance(want, str) and (want in model.nodes or
                                      any(n.name == want for n in model.nodes.values())):
            return model.find(want).id
        raise E.CompileError(
            f"the output is set to {quoted(want)}, which is not a node of this graph; "
            "set another one with 'Set as output'", ())
    losses = [nid for nid, n in model.nodes.items()
              if n.op != COMPOSITE and get_op(n.op).role == "loss"]
    if len(losses) == 1:
        return losses[0]
    sinks = model.sinks()
    if len(sinks) == 1:
        return sinks[0]
    if not model.nodes:
        raise E.CompileError("the graph is empty: add nodes from the Palette, or open an "
                             "example (File ▸ Open Example)", ())
    names = ", ".join(model.nodes[s].name for s in (losses or sinks)) or "none"
    raise E.CompileError(
        f"cannot tell which node is the output (candidates: {names}); "
        "set one with 'Set as output'", tuple(losses or sinks))

def composite_output(model: GraphModel) -> str:
    try:
        return model.output_node()
    except E.CompileError as exc:
        raise E.GraphError(f"a composite body needs one output: {exc}") from None

def analyse(model: GraphModel, input_shapes: Mapping[str, Any] | None = None, *,
            order: list[str] | None = None) -> Analysis:
    """Shapes and problems per node. ``input_shapes`` overrides input nodes (by id);
    ``order`` is this model's :meth:`topological_order` when the caller has it already."""
    from .compile import node_shape  # local: compile imports this module
    from .model import Analysis, Edge  # local: model imports this module

    result = Analysis()
    try:
        order = order if order is not None else model.topological_order()
    except E.CycleError as exc:
        for nid in model.nodes:
            result.problems[nid] = str(exc)
            result.shapes[nid] = None
        return result
    into: dict[str, dict[str, Edge]] = {}
    for e in model.edges.values():
        into.setdefault(e.dst, {})[e.port] = e
    for nid in order:
        node = model.nodes[nid]
        incoming = into.get(nid, {})
        try:
            ports = model.input_ports(node)
        except EngineError as exc:
            result.problems[nid], result.shapes[nid] = str(exc), None
            continue
        missing = [p for p in ports if p not in incoming]
        if missing:
            result.problems[nid] = (
                f"input {', '.join(repr(m) for m in missing)} of '{node.name}' is not connected: "
                "drag a wire from another node's output to it"
            )
            result.shapes[nid] = None
            continue
        in_shapes = [result.shapes[incoming[p].src] for p in ports]
        if any(s is None for s in in_shapes):
            result.shapes[nid] = None
            continue
        if input_shapes and nid in input_shapes:
            result.shapes[nid] = tuple(input_shapes[nid])
            continue
        try:
            result.shapes[nid] = node_shape(node, in_shapes)  # type: ignore[arg-type]
        except EngineError as exc:
            result.problems[nid] = f"{node.name}: {exc}" if not str(exc).startswith(node.name) else str(exc)
            result.shapes[nid] = None
    return result
