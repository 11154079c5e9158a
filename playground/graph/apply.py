"""Bring a live graph to any document state through its own mutators.

Every complex edit (paste, group, ungroup, auto layout, build an MLP: :mod:`playground.graph.edit`)
returns the document dict the model should become; :func:`apply_dict` (``GraphModel.apply``) then
walks the model there with ``add_node``, ``connect``, ``set_param``... so every change emits its
event and a scene mirroring the model stays in sync. An undo command is just ``(before, after)``.
Plain Python, no Qt; it uses the model's public API only.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .model import COMPOSITE, GraphModel
from .serialize import model_from_dict


def apply_dict(model: GraphModel, target: Mapping[str, Any]) -> None:
    """Bring ``model`` to the document ``target`` through the model's mutators.

    Diffs by id: wires that are gone or changed are removed, nodes that are gone or whose op,
    body (or composite params) changed are removed; kept nodes get ``set_param`` per changed key,
    renames (swaps and name cycles go through a temporary name) and moves; then new nodes and
    wires are added with their ids, and meta/dtype changes are applied. ``target`` is checked
    first (a :class:`FileFormatError` leaves the model untouched). Afterwards
    ``model.to_dict() == model_from_dict(target).to_dict()``, node and wire order included.
    """
    goal = model_from_dict(copy.deepcopy(dict(target)), "target")
    want = goal.to_dict()
    want_nodes = {n["id"]: n for n in want["nodes"]}
    want_edges = {e["id"]: e for e in want["edges"]}
    have = model.to_dict()
    have_nodes = {n["id"]: n for n in have["nodes"]}

    def same_kind(h: Mapping[str, Any], w: Mapping[str, Any]) -> bool:
        if h["op"] != w["op"] or h.get("body") != w.get("body"):
            return False
        if h["op"] == COMPOSITE:
            return bool(h["params"] == w["params"])
        return set(h["params"]) == set(w["params"])

    kept = {nid for nid, h in have_nodes.items()
            if nid in want_nodes and same_kind(h, want_nodes[nid])}

    # wires: gone, changed, or touching a node about to be removed
    for eid, e in list(model.edges.items()):
        w = want_edges.get(eid)
        if (w is None or (w["src"], w["dst"], w["port"]) != (e.src, e.dst, e.port)
                or e.src not in kept or e.dst not in kept):
            model.disconnect(eid)
    for nid in [nid for nid in model.nodes if nid not in kept]:
        model.remove_node(nid)

    # kept nodes: params, names, positions
    for nid in model.nodes:
        node, w = model.nodes[nid], want_nodes[nid]
        if node.op != COMPOSITE:
            for key, value in w["params"].items():
                if node.params.get(key) != value:
                    model.set_param(nid, key, copy.deepcopy(value), check_shapes=False)
    _rename_all(model, {nid: want_nodes[nid]["name"] for nid in model.nodes})
    for nid in list(model.nodes):
        model.move_node(nid, want_nodes[nid]["position"])

    # new nodes, then new wires, in the target's order
    for nid, w in want_nodes.items():
        if nid in model.nodes:
            continue
        body = goal.nodes[nid].body
        model.add_node(w["op"], w["name"], copy.deepcopy(w["params"]), w["position"],
                       node_id=nid, body=body)
    for eid, w in want_edges.items():
        if eid not in model.edges:
            model.connect(w["src"], w["dst"], w["port"], edge_id=eid, check_shapes=False)

    # document settings
    model.set_dtype(want["dtype"])
    want_meta = want.get("meta", {})
    for key in [k for k in model.meta if k not in want_meta]:
        model.set_meta(key, None)
    for key, value in want_meta.items():
        if key not in model.meta or model.meta[key] != value:
            model.set_meta(key, copy.deepcopy(value))

    # order is not a change anyone observes, but files, ports of bodies and the stable
    # topological order read it: make it the target's exactly (no event)
    model.reorder(want_nodes, want_edges)
    model.reserve_ids([*want_nodes, *want_edges])


def _rename_all(model: GraphModel, names: Mapping[str, str]) -> None:
    """Rename nodes to ``names`` (id → name), parking a node under a temporary name when the
    names it and others want form a cycle (a swap ``a ↔ b``)."""
    pending = {nid: name for nid, name in names.items() if model.nodes[nid].name != name}
    if not pending:
        return
    owner = {n.name: nid for nid, n in model.nodes.items()}
    avoid = set(owner) | set(names.values())
    k = 0
    while pending:
        progress = False
        for nid, name in list(pending.items()):
            if name in owner and owner[name] != nid:
                continue
            old = model.nodes[nid].name
            model.rename(nid, name)
            del owner[old]
            owner[name] = nid
            del pending[nid]
            progress = True
        if progress:
            continue
        nid = next(iter(pending))  # every wanted name is held by another pending node: a cycle
        old = model.nodes[nid].name
        while True:
            k += 1
            temp = f"{old}_swap{k}"
            if temp not in avoid:
                break
        avoid.add(temp)
        model.rename(nid, temp)
        del owner[old]
        owner[temp] = nid


def scratch_copy(model: GraphModel) -> GraphModel:
    """An independent copy of ``model`` whose ``new_id`` never hands out an id the live model
    uses (or used, as far as its ids tell), so edits computed on it map 1:1 onto the model."""
    scratch = model_from_dict(copy.deepcopy(model.to_dict()))
    scratch.reserve_ids([*model.nodes, *model.edges], model.id_floor)
    return scratch


def snapshot(model: GraphModel) -> dict[str, Any]:
    """``model.to_dict()`` sharing no mutable object with the model (safe to keep for undo)."""
    return copy.deepcopy(model.to_dict())
