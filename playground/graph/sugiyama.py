"""The steps of :func:`.layout.layered_positions` for one connected part of a graph: layers,
order within layers (port-aware barycenter sweeps and transpositions), coordinates, wires
clear of nodes. Plain Python, no Qt."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .geometry import NodeGeometry, label_size
from .model import Edge, GraphModel, Position

SOURCE_OPS = ("input", "parameter", "constant")
Key = str | tuple[str, int]  # a node id, or (edge id, layer): the lane of a long wire


@dataclass(frozen=True)
class LayoutStyle:
    node_gap: float = 40.0  # vertical gap between boxes in a column
    layer_gap: float = 80.0  # least horizontal gap between columns
    label_margin: float = 8.0  # room left and right of a wire label in a gap
    clearance: float = 12.0  # how far a wire keeps from a node it does not touch
    lane: float = 24.0  # the height a wire passing through a column takes
    component_gap: float = 90.0  # between disconnected parts


STYLE = LayoutStyle()
SWEEPS = 60  # of the least-squares fit over all columns (it stops when settled)
ROUNDS = 40  # of pushing nodes off wires before widening gaps
PUSH = True
MAX_PUSH = 400.0  # the farthest one push moves a node
ATTEMPTS = 6  # of widening the gaps before wires that still pass through nodes
LANE_WEIGHT = 100.0  # how hard a long wire's curve is held to its lane


@dataclass
class _Seg:
    upper: Key  # left end (a node's output, or a lane)
    lower: Key  # right end
    port: str | None  # the input port at ``lower`` when it is a node
    weight: float


class Layered:
    """Lays out the nodes ``ids`` (one connected part) with their top-left corner at (0, 0)."""

    def __init__(self, model: GraphModel, ids: list[str], geo: Mapping[str, NodeGeometry],
                 shapes: Mapping[str, Any], style: LayoutStyle) -> None:
        self.model, self.ids, self.geo, self.shapes = model, ids, geo, shapes
        self.style = style
        keep = set(ids)
        self.edges = [e for e in model.edges.values() if e.src in keep and e.dst in keep]

    # -- 1. layers -----------------------------------------------------------------------
    def _assign_layers(self) -> dict[str, int]:
        keep = set(self.ids)
        order = [n for n in self.model.topological_order() if n in keep]
        preds: dict[str, list[str]] = {n: [] for n in self.ids}
        succs: dict[str, list[str]] = {n: [] for n in self.ids}
        for e in self.edges:
            preds[e.dst].append(e.src)
            succs[e.src].append(e.dst)
        layer: dict[str, int] = {}
        for n in order:
            layer[n] = 1 + max((layer[p] for p in preds[n]), default=-1)
        for n in order:  # a source goes just before the first gate it feeds
            if not preds[n] and succs[n]:
                layer[n] = min(layer[s] for s in succs[n]) - 1
        return layer

    def _build(self) -> None:
        layer = self.layer = self._assign_layers()
        depth = max(layer.values()) + 1
        geo, st = self.geo, self.style
        self.height: dict[Key, float] = {n: geo[n].height for n in self.ids}
        self.out: dict[Key, float] = {n: geo[n].output for n in self.ids}
        self.segs: list[_Seg] = []
        self.members: list[list[Key]] = [[] for _ in range(depth)]
        for n in self.ids:
            self.members[layer[n]].append(n)
        self.lanes: dict[str, list[tuple[str, int]]] = {}
        for e in self.edges:
            a, b = layer[e.src], layer[e.dst]
            lanes = [(e.id, k) for k in range(a + 1, b)]
            for lane in lanes:
                self.height[lane], self.out[lane] = st.lane, st.lane / 2
                self.members[lane[1]].append(lane)
            self.lanes[e.id] = lanes
            chain: list[Key] = [e.src, *lanes, e.dst]
            gate = self.model.nodes[e.src].op not in SOURCE_OPS
            for i in range(len(chain) - 1):
                u, v = chain[i], chain[i + 1]
                w = 8.0 if isinstance(u, tuple) and isinstance(v, tuple) else (
                    2.0 if isinstance(u, tuple) or isinstance(v, tuple) else 8.0 if gate else 1.0)
                self.segs.append(_Seg(u, v, e.port if v == e.dst else None, w))
        self.ups: dict[Key, list[_Seg]] = {k: [] for ly in self.members for k in ly}
        self.downs: dict[Key, list[_Seg]] = {k: [] for ly in self.members for k in ly}
        for s in self.segs:
            self.downs[s.upper].append(s)
            self.ups[s.lower].append(s)

    def in_offset(self, key: Key, port: str | None) -> float:
        if isinstance(key, tuple) or port is None:
            return self.out[key]
        return self.geo[key].inputs[port]

    def frac(self, key: Key, port: str | None) -> float:
        """Where ``port`` sits on ``key`` as a fraction of a slot (−0.5 … 0.5)."""
        if isinstance(key, tuple) or port is None:
            return 0.0
        ports = list(self.geo[key].inputs)
        return (ports.index(port) + 0.5) / len(ports) - 0.5

    # -- 2. order ------------------------------------------------------------------------
    def _initial_order(self) -> None:
        """Start from the current top-to-bottom order (ties: document order); a lane starts
        where its wire's source is."""
        where: dict[Key, float] = {n: self.model.nodes[n].position[1] for n in self.ids}
        for e in self.edges:
            for lane in self.lanes[e.id]:
                where[lane] = self.model.nodes[e.src].position[1]
        rank = {k: i for ly in self.members for i, k in enumerate(ly)}
        for ly in self.members:
            ly.sort(key=lambda k: (where[k], rank[k]))

    def _positions(self) -> dict[Key, int]:
        return {k: i for ly in self.members for i, k in enumerate(ly)}

    def crossings(self) -> int:
        pos = self._positions()
        total = 0
        for k in range(len(self.members) - 1):
            pairs = sorted((pos[s.upper], pos[s.lower] + self.frac(s.lower, s.port))
                           for u in self.members[k] for s in self.downs[u])
            seen: list[float] = []
            for _, key in pairs:  # inversions: earlier segments ending lower down
                total += len(seen) - bisect_left(seen, key + 1e-9)
                insort(seen, key)
        return total

    def _sweep(self, down: bool) -> None:
        ks = range(1, len(self.members)) if down else range(len(self.members) - 2, -1, -1)
        for k in ks:
            pos = self._positions()

            def key(v: Key, pos: dict[Key, int] = pos) -> float:
                near: list[float]
                if down:
                    near = [float(pos[s.upper]) for s in self.ups[v]]
                else:
                    near = [pos[s.lower] + self.frac(s.lower, s.port) for s in self.downs[v]]
                return sum(near) / len(near) if near else float(pos[v])

            self.members[k].sort(key=key)

    def _pair_crossings(self, a: Key, b: Key, pos: dict[Key, int]) -> tuple[int, int]:
        """Crossings between the wires of neighbours a and b: (a above b, b above a)."""
        ab = ba = 0
        for side in (self.ups, self.downs):
            ea = [self._far(s, side is self.ups, pos) for s in side[a]]
            eb = [self._far(s, side is self.ups, pos) for s in side[b]]
            for x in ea:
                for y in eb:
                    ab += x > y
                    ba += x < y
        return ab, ba

    def _far(self, s: _Seg, up: bool, pos: dict[Key, int]) -> float:
        return float(pos[s.upper]) if up else pos[s.lower] + self.frac(s.lower, s.port)

    def _transpose(self) -> None:
        for _ in range(4):
            improved = False
            pos = self._positions()
            for ly in self.members:
                for i in range(len(ly) - 1):
                    ab, ba = self._pair_crossings(ly[i], ly[i + 1], pos)
                    if ba < ab:
                        ly[i], ly[i + 1] = ly[i + 1], ly[i]
                        pos[ly[i]], pos[ly[i + 1]] = i, i + 1
                        improved = True
            if not improved:
                return

    def _order(self) -> None:
        self._initial_order()
        self._transpose()
        best, score = [list(ly) for ly in self.members], self.crossings()
        stale = 0
        for _ in range(12):
            if score == 0 or stale >= 3:
                break
            self._sweep(down=True)
            self._sweep(down=False)
            self._transpose()
            now = self.crossings()
            if now < score:
                best, score, stale = [list(ly) for ly in self.members], now, 0
            else:
                stale += 1
        self.members = best
        self.score = score

    # -- 3. coordinates ------------------------------------------------------------------
    def _columns(self) -> None:
        """x of each column's left edge: columns as wide as their widest node, gaps wide
        enough for the label of the wires leaving the column."""
        st, x = self.style, 0.0
        self.col_x: list[float] = []
        self.col_w: list[float] = []
        for ly in self.members:
            self.col_x.append(x)
            nodes = [k for k in ly if isinstance(k, str)]
            width = max(self.geo[n].width for n in nodes)
            self.col_w.append(width)
            labels = [label_size(self.shapes.get(n))[0] for n in nodes if self.downs[n]]
            x += width + max([st.layer_gap] + [w + 2 * st.label_margin for w in labels])
            x += self.extra.get(len(self.col_x) - 1, 0.0)

    def _gap(self, a: Key, b: Key) -> float:
        if isinstance(a, str) and isinstance(b, str):
            return self.style.node_gap
        return 0.0 if isinstance(a, tuple) and isinstance(b, tuple) else self.style.clearance

    def _prepare_pulls(self) -> None:
        """Each wire pulls its two ends into line (gate to gate harder than from a source);
        each lane of a long wire is where the drawn curve crosses its column: the fraction
        of the way from source to target port (a function of x only) at both column edges."""
        c = self.style.clearance
        self.pull: dict[str, list[tuple[str, float, float]]] = {n: [] for n in self.ids}
        for e in self.edges:
            w = 8.0 if self.model.nodes[e.src].op not in SOURCE_OPS else 1.0
            if self.layer[e.dst] - self.layer[e.src] > 1:
                w /= 2
            src, dst = self.geo[e.src], self.geo[e.dst]
            delta = src.output - dst.inputs[e.port]  # y_dst = y_src + delta when straight
            self.pull[e.src].append((e.dst, -delta, w))
            self.pull[e.dst].append((e.src, delta, w))
        self.span: dict[Key, tuple[str, float, float]] = {}  # lane -> (edge id, f_left, f_right)
        self.lanes_at: dict[str, list[tuple[Key, bool]]] = {n: [] for n in self.ids}
        for e in self.edges:
            xa = self.col_x[self.layer[e.src]] + self.geo[e.src].width
            xb = self.col_x[self.layer[e.dst]]
            for lane in self.lanes[e.id]:
                col = lane[1]
                left, right = self.col_x[col] - c, self.col_x[col] + self.col_w[col] + c
                self.span[lane] = (e.id, _fraction(xa, xb, left), _fraction(xa, xb, right))
                self.lanes_at[e.src].append((lane, True))
                self.lanes_at[e.dst].append((lane, False))

    def _ends(self, eid: str, y: dict[Key, float]) -> tuple[float, float]:
        """The y of a wire's output port and input port."""
        e = self.model.edges[eid]
        return (y[e.src] + self.geo[e.src].output, y[e.dst] + self.geo[e.dst].inputs[e.port])

    def _target(self, k: Key, y: dict[Key, float]) -> tuple[float, float]:
        """(where k's top should go, weight) minimising the layout's quadratic cost with the
        other columns held: wire ends in line, and each lane's centre on its wire's curve
        (the curve there is (1 − f)·y_out + f·y_in, f = how far along it is)."""
        lane_w = LANE_WEIGHT
        if isinstance(k, tuple):
            eid, fl, fr = self.span[k]
            ya, yb = self._ends(eid, y)
            self.height[k] = abs(yb - ya) * (fr - fl) + self.style.lane
            f = (fl + fr) / 2
            return (1 - f) * ya + f * yb - self.height[k] / 2, lane_w
        total = weight = 0.0
        for other, delta, w in self.pull[k]:
            total += w * (y[other] + delta)
            weight += w
        for lane, is_src in self.lanes_at[k]:
            eid, fl, fr = self.span[lane]
            ya, yb = self._ends(eid, y)
            centre = y[lane] + self.height[lane] / 2
            f = (fl + fr) / 2
            if is_src:  # (1 − f)·(y_k + out) + f·yb = centre
                g, want = 1 - f, (centre - f * yb) / (1 - f) - (ya - y[k])
            else:
                g, want = f, (centre - (1 - f) * ya) / f - (yb - y[k])
            total += lane_w * g * g * want
            weight += lane_w * g * g
        if weight == 0:
            return y[k], 1e-3
        return total / weight, weight

    def _fit_column(self, ly: list[Key], y: dict[Key, float]) -> None:
        """Least-squares placement of one column keeping order and gaps (pool adjacent
        violators on y − cumulative spacing)."""
        targets = [self._target(k, y) for k in ly]
        offsets, acc = [], 0.0
        for i, k in enumerate(ly):
            offsets.append(acc)
            if i + 1 < len(ly):
                acc += self.height[k] + self._gap(k, ly[i + 1])
        blocks: list[list[float]] = []  # [weighted sum, weight, count]
        for i, (t, w) in enumerate(targets):
            blocks.append([w * (t - offsets[i]), w, 1])
            while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
                s, w2, c = blocks.pop()
                blocks[-1][0] += s
                blocks[-1][1] += w2
                blocks[-1][2] += c
        i = 0
        for s, w, c in blocks:
            for _ in range(int(c)):
                y[ly[i]] = s / w + offsets[i]
                i += 1

    def _coordinates(self, start: dict[Key, float] | None = None) -> dict[Key, float]:
        self._prepare_pulls()
        if start is not None:
            y = dict(start)
        else:
            y = {}
        for ly in self.members if start is None else ():
            acc = 0.0
            for i, k in enumerate(ly):
                y[k] = acc
                if i + 1 < len(ly):
                    acc += self.height[k] + self._gap(k, ly[i + 1])
        n = len(self.members)
        for sweep in range(SWEEPS):
            before = dict(y)
            for col in range(n) if sweep % 2 == 0 else range(n - 1, -1, -1):
                self._fit_column(self.members[col], y)
            if max(abs(y[k] - before[k]) for k in y) < 0.01:
                break
        return y

    # -- 4. wires clear of nodes ---------------------------------------------------------
    def _push(self, ly: list[str], i: int, shift: float, y: dict[Key, float]) -> None:
        """Move node i of a column by ``shift``, and the nodes beyond it as far as needed."""
        y[ly[i]] += shift
        gap = self.style.node_gap
        if shift > 0:
            for j in range(i + 1, len(ly)):
                y[ly[j]] = max(y[ly[j]], y[ly[j - 1]] + self.height[ly[j - 1]] + gap)
        else:
            for j in range(i - 1, -1, -1):
                y[ly[j]] = min(y[ly[j]], y[ly[j + 1]] - self.height[ly[j]] - gap)

    def _clear_wires(self, y: dict[Key, float]) -> int:
        """Push nodes off the drawn curves of the wires they do not touch: a node whose
        middle is below the curve goes down (with the nodes below it), else up. A node
        caught between two wires keeps the way it went first, so pushes do not undo each
        other. Returns how many wires still pass through a node (0 unless it gave up).

        Within a column's x-span a wire's curve runs monotonically from one height to
        another (x and y both grow with t), so it meets a node there exactly when that
        height range meets the node's (both widened by the clearance)."""
        c = self.style.clearance
        cols = [[k for k in ly if isinstance(k, str)] for ly in self.members]
        index = {k: i for ly in cols for i, k in enumerate(ly)}
        way: dict[str, float] = {}
        frac: dict[tuple[str, float], float] = {}
        left = 0
        self.tight: set[int] = set()

        def f(e: Edge, xa: float, xb: float, x: float) -> float:
            key = (e.id, x)
            if key not in frac:
                frac[key] = _fraction(xa, xb, x)
            return frac[key]

        for _round in range(ROUNDS):
            left = 0
            asked: dict[str, set[float]] = {}
            for e in self.edges:
                ls, ld = self.layer[e.src], self.layer[e.dst]
                xa, xb = self.col_x[ls] + self.geo[e.src].width, self.col_x[ld]
                ya = y[e.src] + self.geo[e.src].output
                yb = y[e.dst] + self.geo[e.dst].inputs[e.port]
                lo, hi = min(ya, yb), max(ya, yb)
                for li in range(ls, ld + 1):
                    x0, col = self.col_x[li], cols[li]
                    for n in col:
                        h = self.height[n]
                        if n in (e.src, e.dst) or y[n] - c > hi or y[n] + h + c < lo:
                            continue
                        f0 = f(e, xa, xb, x0 - c)
                        f1 = f(e, xa, xb, x0 + self.geo[n].width + c)
                        if f0 == f1 and (f0 == 0.0 or f0 == 1.0):
                            continue  # the node is beside the wire's ends, not under it
                        near = (ya + (yb - ya) * f0, ya + (yb - ya) * f1)
                        if max(near) < y[n] - c or min(near) > y[n] + h + c:
                            continue
                        left += 1
                        self.tight.add(max(ls, li - 1))
                        mid = (near[0] + near[1]) / 2
                        down = way.get(n, 1.0 if y[n] + h / 2 >= mid else -1.0)
                        asked.setdefault(n, set()).add(down)
                        shift = (max(near) + c + 0.5 - y[n] if down > 0 else
                                 min(near) - c - 0.5 - y[n] - h)
                        if PUSH and abs(shift) <= MAX_PUSH:  # farther would tear the layout apart
                            self._push(col, index[n], shift, y)
            if not left:
                return 0
            for n, ways in asked.items():
                if len(ways) > 1:
                    way.setdefault(n, 1.0)
        return left

    def run(self) -> dict[str, Position]:
        self._build()
        self._order()
        self.extra: dict[int, float] = {}
        y: dict[Key, float] | None = None
        for _attempt in range(ATTEMPTS):  # a wire still through a node: wider gaps before it
            self._columns()
            y = self._coordinates()
            self.unclear = self._clear_wires(y)
            if not self.unclear:
                break
            for k in self.tight:
                self.extra[k] = self.extra.get(k, 0.0) + 120.0
        assert y is not None
        top = min(y[n] for n in self.ids)
        return {n: (self.col_x[self.layer[n]], y[n] - top) for n in self.ids}


def _fraction(xa: float, xb: float, x: float) -> float:
    """How far (0…1) the canvas's wire from (xa, ya) to (xb, yb) has come from ya towards yb
    where it crosses x: the curve's x and y are cubics in t with y's weights 3t² − 2t³
    (``geometry.wire_points``); t is found by bisection (x grows with t)."""
    if x <= xa:
        return 0.0
    if x >= xb:
        return 1.0
    dx = max(40.0, (xb - xa) * 0.5)
    lo, hi = 0.0, 1.0
    for _ in range(30):
        t = (lo + hi) / 2
        u = 1 - t
        at = xa + 3 * u * u * t * dx + 3 * u * t * t * (xb - xa - dx) + t * t * t * (xb - xa)
        if at < x:
            lo = t
        else:
            hi = t
    t = (lo + hi) / 2
    return 3 * t * t - 2 * t * t * t
