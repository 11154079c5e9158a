"""Complex edits of a graph document as pure functions over document dicts, plus one applier.

Every edit here (paste, group, ungroup, auto layout, build an MLP) reads a live model and returns
the document dict the model should become (the :func:`serialize.model_to_dict` format), without
touching the model. :func:`apply_dict` then brings a live model to any such state through the
model's own mutators, so every change emits the model's events and a scene mirroring the model
stays in sync. An undo command is therefore just ``(before, after)``: redo applies ``after``,
undo applies ``before``, and both restore the document exactly (``to_dict()`` equality).

Plain Python, no Qt.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import errors as E
from .apply import apply_dict
from .apply import scratch_copy as _scratch
from .apply import snapshot as _snapshot
from .builders import ACTIVATIONS, LOSSES, build_mlp, parse_sizes
from .geometry import SizeFn
from .layout import layered_positions
from .model import COMPOSITE, GraphModel
from .serialize import FORMAT, VERSION, model_from_dict, model_to_dict

__all__ = [
    "ACTIVATIONS", "LOSSES", "apply_dict", "auto_layout", "build_mlp", "copy_selection",
    "duplicate", "group", "parse_sizes", "paste", "ungroup",
]

SOURCE_OPS = ("input", "parameter", "constant")


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------

def _names(model: GraphModel, ids: Iterable[str]) -> str:
    return ", ".join(f"'{model.nodes[i].name}'" for i in ids)


def _selection(model: GraphModel, node_ids: Iterable[str]) -> list[str]:
    """The selected ids in model order, each checked to exist, duplicates dropped."""
    wanted = set()
    for nid in node_ids:
        model.node(nid)  # raises UnknownNodeError
        wanted.add(nid)
    return [nid for nid in model.nodes if nid in wanted]


def _centroid(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    if not points:
        return (0.0, 0.0)
    return (math.fsum(p[0] for p in points) / len(points),
            math.fsum(p[1] for p in points) / len(points))


def _body_copy(body: GraphModel | None) -> GraphModel | None:
    return None if body is None else model_from_dict(copy.deepcopy(model_to_dict(body, top=False)))


# ------------------------------------------------------------------------------------------
# 2-3. clipboard
# ------------------------------------------------------------------------------------------

def copy_selection(model: GraphModel, node_ids: Iterable[str]) -> dict[str, Any]:
    """A clipboard document: the selected nodes (composites with their bodies) and only the
    wires between them, in the graph file format (so it can travel as JSON text)."""
    chosen = _selection(model, node_ids)
    keep = set(chosen)
    nodes = []
    for nid in chosen:
        n = model.nodes[nid]
        item: dict[str, Any] = {"id": n.id, "op": n.op, "name": n.name,
                                "params": copy.deepcopy(n.params),
                                "position": [n.position[0], n.position[1]]}
        if n.body is not None:
            item["body"] = copy.deepcopy(model_to_dict(n.body, top=False))
        nodes.append(item)
    edges = [{"id": e.id, "src": e.src, "dst": e.dst, "port": e.port}
             for e in model.edges.values() if e.src in keep and e.dst in keep]
    return {"format": FORMAT, "version": VERSION, "dtype": model.dtype, "nodes": nodes,
            "edges": edges}


def paste(model: GraphModel, clip: Mapping[str, Any],
          offset: Iterable[float] = (40.0, 40.0)) -> tuple[dict[str, Any], list[str]]:
    """The document with the clipboard's nodes added under fresh ids and unique names
    (``W1`` → ``W2``, as :meth:`GraphModel.unique_name` does), moved by ``offset``, with the
    clipboard's wires re-created. Returns ``(after, new node ids in clipboard order)``."""
    src = model_from_dict(copy.deepcopy(dict(clip)), "clipboard")
    dx, dy = (float(v) for v in offset)
    scratch = _scratch(model)
    mapping: dict[str, str] = {}
    for nid, n in src.nodes.items():
        new = scratch.new_id("n")
        scratch.add_node(n.op, scratch.unique_name(n.name), copy.deepcopy(n.params),
                         (n.position[0] + dx, n.position[1] + dy), node_id=new,
                         body=_body_copy(n.body))
        mapping[nid] = new
    for e in src.edges.values():
        scratch.connect(mapping[e.src], mapping[e.dst], e.port, edge_id=scratch.new_id("e"),
                        check_shapes=False)
    return _snapshot(scratch), list(mapping.values())


def duplicate(model: GraphModel, node_ids: Iterable[str],
              offset: Iterable[float] = (40.0, 40.0)) -> tuple[dict[str, Any], list[str]]:
    return paste(model, copy_selection(model, node_ids), offset)


# ------------------------------------------------------------------------------------------
# 4-5. group and ungroup
# ------------------------------------------------------------------------------------------

def _output_of(model: GraphModel) -> str | None:
    try:
        return model.output_node()
    except E.GraphError:
        return None


def group(model: GraphModel, node_ids: Iterable[str],
          name: str | None = None) -> tuple[dict[str, Any], str]:
    """The document with the selected nodes replaced by one composite node.

    Each distinct outside node feeding the selection becomes one port (a body input named like
    it, with its inferred shape); selected parameters and constants move inside. Selected input
    nodes stay outside, because an input inside a body *is* a port: they feed the group's port
    of the same name. Exactly one selected node may feed outside (or, when none does, end the
    selection): it is the group's output. Returns ``(after, composite id)``.
    """
    chosen = _selection(model, node_ids)
    if not chosen:
        raise E.GraphError("select the nodes to group first")
    inside = [nid for nid in chosen if model.nodes[nid].op != "input"]
    if not inside:
        raise E.GraphError("input nodes stay outside a group (an input inside a group is one of "
                           "its ports); select the nodes that compute something")
    S = set(inside)

    # wires into the selection must all be connected: a port inside could not be wired later
    for nid in inside:
        n = model.nodes[nid]
        fed = model.incoming(nid)
        missing = [p for p in model.input_ports(n) if p not in fed]
        if missing:
            raise E.GraphError(
                f"connect input {', '.join(repr(p) for p in missing)} of '{n.name}' before "
                "grouping: a group's unconnected inner input could not be wired from outside")

    _refuse_loop(model, S)

    feeding_out = [nid for nid in inside
                   if any(e.dst not in S for e in model.outgoing(nid))]
    if len(feeding_out) > 1:
        raise E.GraphError(
            f"a group can have one output; these selected nodes feed outside: "
            f"{', '.join(model.nodes[n].name for n in feeding_out)}. Add their consumers to the "
            "selection, or group fewer nodes")
    if feeding_out:
        out = feeding_out[0]
    else:
        ends = [nid for nid in inside if not model.outgoing(nid)]
        computing = [nid for nid in ends if model.nodes[nid].op not in SOURCE_OPS] or ends
        if len(computing) != 1:
            raise E.GraphError(
                "a group can have one output; these selected nodes end the selection: "
                f"{', '.join(model.nodes[n].name for n in computing)}")
        out = computing[0]

    graph_out = _output_of(model)
    if graph_out in S and graph_out != out:
        raise E.GraphError(
            f"'{model.nodes[graph_out].name}' is the graph's output and would be hidden inside "
            f"the group (whose output is '{model.nodes[out].name}'); leave it out of the selection")

    # the ports: one per distinct outside source, in the order the sources sit on the canvas
    analysis = model.analyse()
    rank = {nid: k for k, nid in enumerate(model.nodes)}
    sources = sorted({e.src for e in model.edges.values() if e.dst in S and e.src not in S},
                     key=lambda s: (model.nodes[s].position[1], model.nodes[s].position[0],
                                    rank[s]))
    for s in sources:
        if analysis.shapes.get(s) is None:
            raise E.GraphError(
                f"cannot group yet: the shape of '{model.nodes[s].name}', which feeds the "
                "selection, is not known (connect its inputs first)")

    # the body
    cx, cy = _centroid([model.nodes[n].position for n in inside])
    body = GraphModel(dtype=model.dtype)
    port_of: dict[str, str] = {}  # outer source id -> body input id
    inner: dict[str, str] = {}  # outer selected id -> body id
    left = min(model.nodes[n].position[0] for n in inside) - cx - 220.0
    last_y = -math.inf
    port_names: dict[str, str] = {}
    for s in sources:
        source = model.nodes[s]
        y = max(source.position[1] - cy, last_y + 130.0)
        last_y = y
        pname = body.unique_name(source.name)
        while any(model.nodes[n].name == pname for n in inside):
            pname = body.unique_name(pname + "_in")
        bid = body.new_id("n")
        body.add_node("input", pname,
                      {"shape": list(analysis.shapes[s] or ()), "value": None},
                      (left, y), node_id=bid)
        port_of[s] = bid
        port_names[s] = pname
    for nid in inside:
        n = model.nodes[nid]
        bid = body.new_id("n")
        body.add_node(n.op, n.name, copy.deepcopy(n.params),
                      (n.position[0] - cx, n.position[1] - cy), node_id=bid,
                      body=_body_copy(n.body))
        inner[nid] = bid
    for e in model.edges.values():
        if e.dst in S:
            src = inner[e.src] if e.src in S else port_of[e.src]
            body.connect(src, inner[e.dst], e.port, edge_id=body.new_id("e"), check_shapes=False)
    body.meta["output"] = inner[out]

    # the outer document
    scratch = _scratch(model)
    outgoing = [(e.dst, e.port) for e in model.edges.values() if e.src in S and e.dst not in S]
    for nid in inside:
        scratch.remove_node(nid)
    if name is None:
        name = scratch.unique_name("group")
    else:
        scratch.check_name(name)
    cid = scratch.new_id("n")
    scratch.add_node(COMPOSITE, name, {}, (cx, cy), node_id=cid, body=body)
    for s in sources:
        scratch.connect(s, cid, port_names[s], edge_id=scratch.new_id("e"), check_shapes=False)
    for dst, port in outgoing:
        scratch.connect(cid, dst, port, edge_id=scratch.new_id("e"), check_shapes=False)
    if graph_out == out and _output_of(scratch) != cid:
        scratch.set_meta("output", cid)
    return _snapshot(scratch), cid


def _refuse_loop(model: GraphModel, S: set[str]) -> None:
    """Raise when a path leaves the selection and comes back into it (the group would feed
    itself)."""
    out: dict[str, list[str]] = {}
    for e in model.edges.values():
        out.setdefault(e.src, []).append(e.dst)
    start = {d for s in S for d in out.get(s, ()) if d not in S}
    seen, stack = set(start), list(start)
    while stack:
        cur = stack.pop()
        for nxt in out.get(cur, ()):
            if nxt in S:
                raise E.CycleError(
                    f"grouping these would make a loop: '{model.nodes[cur].name}' depends on the "
                    f"selection and feeds '{model.nodes[nxt].name}' inside it; add "
                    f"'{model.nodes[cur].name}' (and what lies between) to the selection, or "
                    f"leave '{model.nodes[nxt].name}' out")
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)


def ungroup(model: GraphModel, composite_id: str) -> tuple[dict[str, Any], list[str]]:
    """The document with the composite replaced by its inner nodes (fresh ids, unique names,
    placed around the composite's position). Body inputs whose port is wired are dropped and
    their consumers fed by the port's outer source; a body input whose port is not wired comes
    out as a plain input node. The composite's consumers are fed by the inner output.
    Returns ``(after, new node ids in body order)``."""
    comp = model.node(composite_id)
    if comp.op != COMPOSITE or comp.body is None:
        raise E.GraphError(f"'{comp.name}' is not a group: only composite nodes can be ungrouped")
    body = comp.body
    inner_out = body.composite_output()
    fed = model.incoming(composite_id)
    consumers = [(e.dst, e.port) for e in model.outgoing(composite_id)]
    points_to_comp = False
    want = model.meta.get("output")
    if want:
        try:
            points_to_comp = model.find(want).id == composite_id
        except E.GraphError:
            points_to_comp = False

    scratch = _scratch(model)
    scratch.remove_node(composite_id)
    placed = [n.position for n in body.nodes.values()
              if not (n.op == "input" and n.name in fed)]
    bx, by = _centroid(placed)
    mapping: dict[str, str] = {}
    new_ids: list[str] = []
    for bid, n in body.nodes.items():
        if n.op == "input" and n.name in fed:
            mapping[bid] = fed[n.name].src
            continue
        nid = scratch.new_id("n")
        pos = (comp.position[0] + n.position[0] - bx, comp.position[1] + n.position[1] - by)
        scratch.add_node(n.op, scratch.unique_name(n.name), copy.deepcopy(n.params), pos,
                         node_id=nid, body=_body_copy(n.body))
        mapping[bid] = nid
        new_ids.append(nid)
    for e in body.edges.values():
        scratch.connect(mapping[e.src], mapping[e.dst], e.port, edge_id=scratch.new_id("e"),
                        check_shapes=False)
    for dst, port in consumers:
        scratch.connect(mapping[inner_out], dst, port, edge_id=scratch.new_id("e"),
                        check_shapes=False)
    if points_to_comp:
        scratch.set_meta("output", mapping[inner_out])
    return _snapshot(scratch), new_ids


# ------------------------------------------------------------------------------------------
# 6. layout
# ------------------------------------------------------------------------------------------

def auto_layout(model: GraphModel, size: SizeFn | None = None) -> dict[str, Any]:
    """The document with every node placed by the layered left-to-right layout
    (:func:`.layout.layered_positions`: layers, fewer crossings, sources beside the gate they
    feed, no overlaps, room for wire labels); positions only. ``size`` gives a node's box on
    the canvas (estimated when None). The layout keeps the graph's current top-left corner."""
    scratch = _scratch(model)
    for nid, pos in layered_positions(model, size).items():
        scratch.move_node(nid, pos)
    return _snapshot(scratch)


# ------------------------------------------------------------------------------------------
# 7. MLP builder
# ------------------------------------------------------------------------------------------


# the builders (at the end: they use the helpers above)
