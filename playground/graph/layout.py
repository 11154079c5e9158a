"""A layered left-to-right layout (Sugiyama) that knows how big nodes are and where ports sit.

:func:`layered_positions` places nodes so that data flows left to right and the canvas reads:

1. **Layers.** Every gate sits one layer right of its deepest input (longest path). A source
   (input, parameter, constant) sits in the layer just before the first gate it feeds, so a
   weight is drawn beside its gate rather than in a far-left column with a long wire back.
2. **Order within layers** (fewer wire crossings), with a lane for every wire that spans
   several layers: barycenter sweeps down and up, by *port* (a gate's inputs are stacked top
   to bottom in port order, so the node feeding ``x`` goes above the one feeding ``W``), and
   swaps of neighbours; the order with the fewest crossings, counted port by port, is kept.
3. **Coordinates.** Layers are columns as wide as their widest node, with gaps wide enough
   for the value/gradient label of the wires leaving them. Within a column, boxes keep their
   order and a minimum gap; their heights come from the size function. Each box is pulled so
   that its ports line up with the ports it is wired to (a least-squares fit, solved column by
   column with order and gap constraints, sweeping left and right); wires between gates pull
   harder than wires from sources, so the data path stays straight and weights hang below it.
4. **Wires clear nodes.** The canvas draws a wire as a cubic from the output port (right edge)
   to the input port (left edge). Every wire's curve is sampled; a node it would pass through
   (with a clearance) is pushed off it, with the nodes beyond it in its column.

Disconnected parts are laid out one below the other. Deterministic: the same document gives
the same positions. :func:`layout_problems` checks a layout (overlapping boxes, wires through
boxes, edges not going left to right) and is what the tests and Expand use. Plain Python,
no Qt.

Libraries tried (2026-12): grandalf 0.8's Sugiyama layout overlaps nodes of different heights
(probs and loss of a 2-8-8-2 Layer Stack) and cannot be given layers; igraph 1.0's
``layout_sugiyama`` takes layers and orders them fast in C, but knows neither node sizes,
ports nor our wire curves, and as the start of our port-aware sweeps it gave no fewer
crossings than the plain top-to-bottom start (tests/benchmarks/layout.py measured 57 vs 58
and 881 vs 715 on 300-node random graphs), so it is not a dependency.
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Iterable, Mapping
from typing import Any

from .geometry import NodeGeometry, SizeFn, curve_hits, label_size, node_geometry, wire_points
from .model import Edge, GraphModel, Position
from .serialize import model_from_dict, model_to_dict
from .sugiyama import STYLE, Layered, LayoutStyle

__all__ = ["LayoutStyle", "layered_positions", "layout_problems", "place_in_line", "wire_points"]




def _ports(model: GraphModel, geo: Mapping[str, NodeGeometry],
           pos: Mapping[str, Position], eid: str) -> tuple[Position, Position]:
    e = model.edges[eid]
    s, d = pos[e.src], pos[e.dst]
    gs, gd = geo[e.src], geo[e.dst]
    return (s[0] + gs.width, s[1] + gs.output), (d[0], d[1] + gd.inputs.get(e.port, gd.output))


def layout_problems(model: GraphModel, positions: Mapping[str, Position] | None = None,
                    geometry: Mapping[str, NodeGeometry] | None = None, margin: float = 8.0,
                    node_ids: Iterable[str] | None = None) -> list[str]:
    """What is wrong with ``positions`` (default: the nodes' own; empty list: nothing): two
    boxes closer than ``margin``, a wire whose drawn curve (sampled, :func:`wire_points`) comes
    within ``margin`` of a box it does not connect, a wire that does not run left to right.
    Only ``node_ids`` (default all) and the wires between them."""
    if positions is None:
        positions = {nid: n.position for nid, n in model.nodes.items()}
    geo = geometry if geometry is not None else node_geometry(model)
    ids = list(model.nodes) if node_ids is None else list(node_ids)
    keep = set(ids)
    rects = {n: (positions[n][0], positions[n][1], positions[n][0] + geo[n].width,
                 positions[n][1] + geo[n].height) for n in ids}
    names = {n: model.nodes[n].name for n in ids}
    problems = []
    by_x = sorted(ids, key=lambda n: rects[n][0])
    for i, a in enumerate(by_x):
        ra = rects[a]
        for b in by_x[i + 1:]:
            rb = rects[b]
            if rb[0] >= ra[2] + margin:
                break
            if rb[1] < ra[3] + margin and ra[1] < rb[3] + margin:
                problems.append(f"boxes of '{names[a]}' and '{names[b]}' overlap")
    lefts = [rects[n][0] for n in by_x]
    for eid, e in model.edges.items():
        if e.src not in keep or e.dst not in keep:
            continue
        pa, pb = _ports(model, geo, positions, eid)
        if pb[0] <= pa[0]:
            problems.append(f"wire '{names[e.src]}' → '{names[e.dst]}' runs right to left")
        pts = wire_points(pa, pb)
        x_lo, x_hi = min(p[0] for p in pts), max(p[0] for p in pts)
        y_lo, y_hi = min(p[1] for p in pts), max(p[1] for p in pts)
        stop = bisect.bisect_right(lefts, x_hi + margin)
        for n in by_x[:stop]:
            r = rects[n]
            if n in (e.src, e.dst) or r[2] + margin < x_lo or r[1] - margin > y_hi or \
                    r[3] + margin < y_lo:
                continue
            if curve_hits(pts, (r[0] - margin, r[1] - margin, r[2] + margin, r[3] + margin)):
                problems.append(f"wire '{names[e.src]}' → '{names[e.dst]}' passes through "
                                f"'{names[n]}'")
    return problems


# ------------------------------------------------------------------------------------------
# the layout
# ------------------------------------------------------------------------------------------

def layered_positions(model: GraphModel, size: SizeFn | None = None,
                      node_ids: Iterable[str] | None = None, origin: Position | None = None,
                      style: LayoutStyle = STYLE) -> dict[str, Position]:
    """Top-left positions for ``node_ids`` (default: every node), laid out with the wires
    between them; the result's top-left corner is ``origin`` (default: theirs now).

    ``size`` maps a node to its box (w, h) on the canvas; by default it is estimated from the
    node's texts (:func:`.geometry.node_size`). The ordering starts from the nodes' current
    top-to-bottom order, so the same document always gives the same layout."""
    ids = list(model.nodes) if node_ids is None else [n for n in model.nodes
                                                      if n in set(node_ids)]
    if not ids:
        return {}
    geo = node_geometry(model, size)
    shapes = model.analyse().shapes
    keep = set(ids)
    edges = [eid for eid, e in model.edges.items() if e.src in keep and e.dst in keep]
    out: dict[str, Position] = {}
    top = 0.0
    for comp in _components(ids, [model.edges[e] for e in edges]):
        part = Layered(model, comp, geo, shapes, style).run()
        for nid, (x, y) in part.items():
            out[nid] = (x, y + top)
        top = max(out[n][1] + geo[n].height for n in comp) + style.component_gap
    if origin is None:
        origin = (min(model.nodes[n].position[0] for n in ids),
                  min(model.nodes[n].position[1] for n in ids))
    ox, oy = float(origin[0]), float(origin[1])
    return {n: (float(round(ox + x)), float(round(oy + y))) for n, (x, y) in out.items()}


def _components(ids: list[str], edges: Iterable[Edge]) -> list[list[str]]:
    """The weakly connected parts, each in model order, ordered by their first node."""
    parent = {n: n for n in ids}
    rank = {n: k for k, n in enumerate(ids)}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for e in edges:
        a, b = find(e.src), find(e.dst)
        if a != b:
            parent[max(a, b, key=rank.__getitem__)] = min(a, b, key=rank.__getitem__)
    groups: dict[str, list[str]] = {}
    for n in ids:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())


def place_in_line(before: GraphModel, after: Mapping[str, Any], replaced: str,
                  new_ids: list[str], size: SizeFn | None = None,
                  style: LayoutStyle = STYLE) -> dict[str, Any]:
    """``after`` (a document in which node ``replaced`` of ``before`` became the chain of gates
    ``new_ids``) with the chain laid out where the node was: the first gate in its place, each
    next one a column further right with room for the wire's label, ports in line; nodes right
    of the old node move right by the room the chain needs more. When that leaves more
    overlaps or wires through nodes than ``before`` had, the whole graph is laid out instead,
    shifted so that the first gate still stands where the node stood."""
    model = model_from_dict(copy.deepcopy(dict(after)))
    geo, shapes = node_geometry(model, size), model.analyse().shapes
    old = before.nodes[replaced]
    x0, y0 = old.position
    pos = {nid: n.position for nid, n in model.nodes.items()}
    x, y = x0, y0
    for k, nid in enumerate(new_ids):
        if k:
            prev = geo[new_ids[k - 1]]
            gap = max(style.layer_gap, label_size(shapes.get(new_ids[k - 1]))[0]
                      + 2 * style.label_margin)
            into = next((e.port for e in model.edges.values()
                         if e.src == new_ids[k - 1] and e.dst == nid), None)
            x += prev.width + gap
            y += prev.output - (geo[nid].inputs.get(into, geo[nid].output) if into else 0.0)
        pos[nid] = (x, y)
    old_right = x0 + node_geometry(before, size)[replaced].width
    grow = (x + geo[new_ids[-1]].width) - old_right
    chain = set(new_ids)
    for nid, (px, py) in list(pos.items()):
        if nid not in chain and px >= old_right and grow > 0:
            pos[nid] = (px + grow, py)
    worse = len(layout_problems(model, pos, geo)) > len(layout_problems(before))
    if worse:
        pos = layered_positions(model, size, style=style)
        dx, dy = x0 - pos[new_ids[0]][0], y0 - pos[new_ids[0]][1]
        pos = {nid: (px + dx, py + dy) for nid, (px, py) in pos.items()}
    for nid, p in pos.items():
        model.move_node(nid, (float(round(p[0])), float(round(p[1]))))
    return model_to_dict(model)
