"""Where value labels go: clear of nodes, of every wire's stroke and of each other, close to
their own wire, readable at the zoom shown. Plain geometry over scene rectangles and paths; the
overlays hand it what is in the way and place each label where it says."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QPainterPath

GAP = 4.0  # between a label and what it must clear (the label item pads by the same)

class RectGrid:
    """Rectangles (with a payload) hashed on a coarse grid for quick overlap queries."""

    CELL = 128.0

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple[QRectF, Any]]] = {}

    def _keys(self, r: QRectF) -> Iterable[tuple[int, int]]:
        c = self.CELL
        i0, i1 = math.floor(r.left() / c), math.floor(r.right() / c)
        j0, j1 = math.floor(r.top() / c), math.floor(r.bottom() / c)
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                yield i, j

    def add(self, r: QRectF, payload: Any = None) -> None:
        for k in self._keys(r):
            self.cells.setdefault(k, []).append((r, payload))

    def hits(self, r: QRectF) -> bool:
        cells = self.cells
        for k in self._keys(r):
            for other, _ in cells.get(k, ()):
                if other.intersects(r):
                    return True
        return False

    def payloads(self, r: QRectF) -> set[Any]:
        out = set()
        cells = self.cells
        for k in self._keys(r):
            for other, payload in cells.get(k, ()):
                if other.intersects(r):
                    out.add(payload)
        return out


Placement = tuple[QRectF, QPointF, "str | None", bool]


class LabelPlacer:
    """Finds a spot for each label against the nodes, the wires and the labels placed so far.

    ``nodes`` are the scene rectangles of the node bodies; ``wires`` maps edge ids to their
    stroke outlines (scene coordinates); ``scale`` is how much larger than their scene size the
    labels are drawn (zoomed out: :func:`.wirelabels.label_style`), which widens the gaps kept
    around them alike. Tiers, first that succeeds: the full label at a spot along one of its
    wires (above or below the curve, lifted clear of it) touching no label, node or wire; the
    nearest such spot around the wire's middle (with a leader line); the same two for the
    compact chip; the full label, then the chip, at the free spot crossing the fewest wires;
    the chip at the nearest free spot further out (a leader joins it to its wire); the chip
    at its first spot. A label is never left out: values and gradients never vanish."""

    BUDGET_S = 0.15  # after this long placing, the searches around a wire stop (see _quick)
    MARGIN = 3.0  # clearance kept around labels and nodes
    TS = (0.5, 0.38, 0.62, 0.26, 0.74, 0.15, 0.85)
    RINGS = 8  # the search around a wire's middle: rings 14 px apart
    FAR_RINGS = 24  # the last resort's search
    RING_STEP = 14.0

    def __init__(self, nodes: Iterable[QRectF], wires: dict[str, QPainterPath],
                 scale: float = 1.0) -> None:
        self.scale = scale
        self.started = time.perf_counter()
        self.margin = self.MARGIN * scale
        self.gap = GAP * scale
        self.ring_step = self.RING_STEP * scale
        self.grid = RectGrid()  # placed labels
        self.node_grid = RectGrid()
        for r in nodes:
            self.node_grid.add(r)
        self.wires = wires
        self.wire_grid = RectGrid()
        for eid, stroke in wires.items():
            self.wire_grid.add(stroke.boundingRect(), eid)

    def add_fixed(self, rect: QRectF) -> None:
        self.grid.add(rect)

    def _blocked(self, r: QRectF) -> bool:
        m = self.margin
        grown = r.adjusted(-m, -m, m, m)
        return self.grid.hits(grown) or self.node_grid.hits(grown)

    def _crossings(self, r: QRectF) -> int:
        n = 0
        for eid in self.wire_grid.payloads(r):
            if self.wires[eid].intersects(r):
                n += 1
        return n

    @staticmethod
    def _clear_of(stroke: QPainterPath, r: QRectF, dy: float) -> QRectF:
        """Move ``r`` by ``dy`` steps until it clears ``stroke`` (at most 15 steps)."""
        for _ in range(15):
            if not stroke.intersects(r):
                return r
            r = r.translated(0, dy)
        return r

    def place(self, full: tuple[float, float], chip: tuple[float, float] | None,
              wires: Sequence[tuple[str, QPainterPath, QPainterPath]],
              port: QPointF | None) -> tuple[Placement | None, bool]:
        """((rect, anchor, edge id, leader) or None, compact) for a label whose full size is
        ``full`` and compact size ``chip``, on one of ``wires`` ((edge id, path, stroke)) or,
        for a sink, beside its output ``port``."""
        sizes = [(full, False)] + ([(chip, True)] if chip is not None else [])
        best: list[tuple[int, QRectF, QPointF, str | None, bool] | None] = []
        for size, compact in sizes:
            first: tuple[QRectF, QPointF, str | None] | None = None
            fallback: tuple[int, QRectF, QPointF, str | None, bool] | None = None
            for cand, anchor, eid in self._candidates(size, wires, port):
                if first is None:
                    first = (cand, anchor, eid)
                if self._blocked(cand):
                    continue
                crossings = self._crossings(cand)
                if crossings == 0:
                    return self._take(cand, anchor, eid, False), compact
                if fallback is None or crossings < fallback[0]:
                    fallback = (crossings, cand, anchor, eid, False)
            if first is None:
                best.append(None)
                continue
            near = None if self._quick() else self._search_near(first[0], first[1])
            if near is not None:
                crossings, rect = near
                if crossings == 0:
                    return self._take(rect, first[1], first[2], True), compact
                if fallback is None or crossings < fallback[0]:
                    fallback = (crossings, rect, first[1], first[2], True)
            best.append(fallback)
        for found, (_size, compact) in zip(best, sizes, strict=True):
            if found is not None:
                _c, rect, anchor, eid, leader = found
                return self._take(rect, anchor, eid, leader), compact
        # crowded (zoomed far out): the smallest form, further away, then anywhere
        size, compact = sizes[-1]
        for cand, anchor, eid in self._candidates(size, wires, port):
            far = None if self._quick() else self._search_near(cand, anchor, self.FAR_RINGS)
            if far is not None:
                return self._take(far[1], anchor, eid, True), compact
            return self._take(cand, anchor, eid, False), compact
        return None, False

    def _quick(self) -> bool:
        """Placing has taken BUDGET_S already (hundreds of labels, zoomed far out): the rest
        skip the searches around their wire and take the best spot along it, so that a zoom
        step or a Fit never stalls the canvas; they may overlap where the canvas is full."""
        return time.perf_counter() - self.started > self.BUDGET_S

    def _take(self, r: QRectF, anchor: QPointF, eid: str | None, leader: bool) -> Placement:
        self.grid.add(r)
        if leader:
            dist = QLineF(r.center(), anchor).length()
            leader = dist > max(r.width(), r.height()) / 2 + 10
        return r, anchor, eid, leader

    def _candidates(self, size: tuple[float, float],
                    wires: Sequence[tuple[str, QPainterPath, QPainterPath]],
                    port: QPointF | None) -> Iterable[tuple[QRectF, QPointF, str | None]]:
        w, h = size
        gap, step = self.gap, 4.0 * min(self.scale, 2.0)
        if port is not None and not wires:
            for dy in (-h / 2, -h - gap, gap, -2 * h, h):
                yield QRectF(port.x() + 12 * self.scale, port.y() + dy, w, h), port, None
            return
        for t in self.TS:
            for eid, path, stroke in wires:
                p = path.pointAtPercent(t)
                above = QRectF(p.x() - w / 2, p.y() - gap - h, w, h)
                yield self._clear_of(stroke, above, -step), p, eid
                below = QRectF(p.x() - w / 2, p.y() + gap, w, h)
                yield self._clear_of(stroke, below, step), p, eid
        # beside the ends: just right of the source's port, just left of the input port
        for eid, path, stroke in wires:
            a, b = path.pointAtPercent(0.0), path.pointAtPercent(1.0)
            for x0, p in ((a.x() + 10, a), (b.x() - 10 - w, b)):
                yield self._clear_of(stroke, QRectF(x0, p.y() - gap - h, w, h), -step), p, eid
                yield self._clear_of(stroke, QRectF(x0, p.y() + gap, w, h), step), p, eid

    def _search_near(self, rect: QRectF, anchor: QPointF, rings: int | None = None
                     ) -> tuple[int, QRectF] | None:
        """The best free spot (no label, no node; fewest wires, then nearest) on rings around
        ``rect``; stops at the first ring with a spot that crosses no wire."""
        best: tuple[int, float, QRectF] | None = None
        for ring in range(1, (rings or self.RINGS) + 1):
            d = ring * self.ring_step
            k = 8 + 4 * (ring // 2)
            for i in range(k):
                a = 2 * math.pi * i / k
                r = rect.translated(d * 1.6 * math.cos(a), d * math.sin(a))
                if self._blocked(r):
                    continue
                score = (self._crossings(r), QLineF(r.center(), anchor).length())
                if best is None or score < best[:2]:
                    best = (score[0], score[1], r)
            if best is not None and best[0] == 0:
                break
        return None if best is None else (best[0], best[2])
