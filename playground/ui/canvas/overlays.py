"""Everything drawn over the graph that is not the graph itself, for one scene: values and
gradients on the wires (one owner at a time), the gradient-flow overlay, a step-through's
highlight and node badges. The explain tools and the training view drive it; the scene tells it
when nodes and wires come, go or move. It never runs the engine.

One owner writes the wire data at a time (``owner``: 'evaluate', 'stepper', 'training', ...):
whoever sets data takes the wires, and the others hear ``owner_changed`` and let go.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor

from ...engine.digest import Digest
from .flow import FLOW_MIN_W, flow_colour, flow_widths
from .items import NodeItem, PortItem
from .labelplacer import LabelPlacer, RectGrid
from .unitmaps import UnitStrip
from .wirelabels import WireLabelItem, label_style
from .wires import EdgeItem

if TYPE_CHECKING:
    from .scene import GraphScene

class Overlays(QObject):
    """The overlays of one :class:`GraphScene` (``scene.overlays``)."""

    changed = Signal()  # the wire data changed (set, cleared, or a source node went away)
    owner_changed = Signal(str)  # who writes the wire data now ('' when nobody)
    flow_changed = Signal(object)  # (weakest, strongest) mean |gradient| drawn, or None: off

    def __init__(self, scene: GraphScene) -> None:
        super().__init__(scene)
        self.scene = scene
        self.owner = ""
        # values and gradients on the wires (keyed by source node id), labels, overlays
        self.wire_values: dict[str, np.ndarray] = {}
        self.wire_grads: dict[str, np.ndarray] = {}
        self.wire_labels: dict[str, WireLabelItem] = {}
        self._labels_visible = True
        self._label_style = (1.0, False)  # (scale, short): the canvas zoom decides
        self.zoom = 1.0  # the canvas's zoom, as the view last said
        self._flow: dict[str, float] | None = None
        self._flow_style: dict[str, tuple[float, float]] = {}
        self.strips: dict[str, UnitStrip] = {}  # unit maps or histograms under nodes
        self._step_nodes: set[str] = set()
        self._step_edges: set[str] = set()
        self._relayout: set[str] | None = set()  # sources to re-place; None: all
        self._layout_key: tuple[frozenset[str], frozenset[str]] | None = None
        self._layout_timer = QTimer(self)
        self._layout_timer.setSingleShot(True)
        self._layout_timer.setInterval(0)
        self._layout_timer.timeout.connect(self._layout_pending)

    # -- what the scene tells us ----------------------------------------------------------------
    def node_removed(self, node_id: str) -> None:
        self._step_nodes.discard(node_id)
        self.strips.pop(node_id, None)  # a child of the node's item: gone with it
        had_value = self.wire_values.pop(node_id, None) is not None
        had_grad = self.wire_grads.pop(node_id, None) is not None
        if had_value or had_grad:
            self._sync_labels()

    def edge_added(self, item: EdgeItem) -> None:
        self._apply_flow_to(item)
        if item.src in self.wire_values or item.src in self.wire_grads:
            self._sync_labels()

    def edge_removed(self, edge_id: str, src: str) -> None:
        self._step_edges.discard(edge_id)
        if src in self.wire_labels:
            self._sync_labels()

    def node_moved(self, item: NodeItem, moved: set[str]) -> None:
        """``item`` moved and the wires of ``moved`` sources with it: re-place their labels and
        any label the node now covers."""
        if not self.wire_labels:
            return
        moved = set(moved) | {item.node_id}
        body = item.mapRectToScene(item.body_rect())
        strip = self.strips.get(item.node_id)
        if strip is not None:
            body = body.united(strip.scene_rect())
        moved |= {src for src, label in self.wire_labels.items()
                  if label.label_scene_rect().intersects(body)}
        self._schedule_layout(moved)

    def nodes_refreshed(self) -> None:
        """Node sizes may have changed: re-place the labels now in the way."""
        for strip in self.strips.values():
            strip.relayout()
        if self.wire_labels:
            self._schedule_layout(self._labels_needing_place())

    # -- values and gradients on the wires ---------------------------------------------------
    @property
    def has_wire_data(self) -> bool:
        return bool(self.wire_values or self.wire_grads)

    @property
    def has_arrays(self) -> bool:
        """Wire data as whole arrays (Evaluate, the step-through), not a live run's digests."""
        return self.has_wire_data and not any(
            isinstance(a, Digest) for a in (*self.wire_values.values(), *self.wire_grads.values()))

    @property
    def labels_visible(self) -> bool:
        return self._labels_visible

    def set_wire_data(self, values: Mapping[str, np.ndarray | Digest | None],
                      grads: Mapping[str, np.ndarray | Digest | None], owner: str = "evaluate",
                      still: bool = False) -> None:
        """Show each source node's value and gradient on its wires (keyed by document node id;
        a node missing from a map, or None, shows nothing for that part). Arrays are copied.
        ``owner`` takes the wires: the previous owner hears ``owner_changed``. ``still``: the
        graph has not moved since the last call (a live run: the graph is locked), so only labels
        that outgrew their spot are placed again (the others are not checked for overlaps)."""
        self.wire_values = {k: _kept(v) for k, v in values.items()
                            if v is not None and k in self.scene.nodes}
        self.wire_grads = {k: _kept(g) for k, g in grads.items()
                           if g is not None and k in self.scene.nodes}
        self._sync_labels(layout_now=True, still=still)
        self._set_owner(owner)
        self.changed.emit()

    def clear_wire_data(self, owner: str | None = None) -> None:
        """Blank wires. With ``owner``, only when that owner has them (else nothing happens)."""
        if owner is not None and self.owner not in ("", owner):
            return
        self.wire_values, self.wire_grads = {}, {}
        self._sync_labels(layout_now=True)
        self._set_owner("")
        self.changed.emit()

    def release(self, owner: str) -> None:
        """``owner`` is done with the wires: blank them and say nobody has them, so that the
        owner before (Evaluate) can take them back."""
        if self.owner == owner:
            self.clear_wire_data()

    def _set_owner(self, owner: str) -> None:
        if owner != self.owner:
            self.owner = owner
            self.owner_changed.emit(owner)

    def set_view_zoom(self, zoom: float, layout_now: bool = False) -> None:
        """The canvas's zoom: zoomed out, labels keep a readable size on screen (drawn larger in
        the scene, shortened: :func:`.wirelabels.label_style`) and are placed again."""
        self.zoom = zoom
        resized = [strip.set_zoom(zoom) for strip in self.strips.values()]
        if any(resized):  # its next maps fill the new size (a live run sends them)
            self.nodes_refreshed()  # labels now in the way move
        style = label_style(zoom)
        if style == self._label_style:
            return
        self._label_style = style
        for label in self.wire_labels.values():
            label.set_style(*style)
        if not self.wire_labels:
            return
        if layout_now:
            self._layout_timer.stop()
            self._relayout = set()
            self.layout_labels(None)
        else:
            self._schedule_layout(None)

    def set_labels_visible(self, on: bool) -> None:
        self._labels_visible = bool(on)
        for label in self.wire_labels.values():
            label.set_shown(self._labels_visible)

    def _sync_labels(self, layout_now: bool = False, still: bool = False) -> None:
        """One label per source node with data, sinks included; removed when data goes."""
        outgoing: dict[str, int] = {}
        for edge in self.scene.edges.values():
            outgoing[edge.src] = outgoing.get(edge.src, 0) + 1
        wanted = [nid for nid in self.scene.nodes if nid in self.wire_values or nid in self.wire_grads]
        for nid in list(self.wire_labels):
            if nid not in wanted:
                self.scene.removeItem(self.wire_labels.pop(nid))
        for nid in wanted:
            label = self.wire_labels.get(nid)
            if label is None:
                label = self.wire_labels[nid] = WireLabelItem(nid)
                label.set_style(*self._label_style)
                label.set_shown(self._labels_visible)
                self.scene.addItem(label)
            node = self.scene.model.nodes.get(nid)
            label.set_data(self.wire_values.get(nid), self.wire_grads.get(nid),
                           outgoing.get(nid, 0), node.name if node is not None else nid)
        for edge in self.scene.edges.values():
            if edge.toolTip():
                edge.setToolTip("")  # set again on hover (helpEvent), from the new numbers
        key = (frozenset(self.scene.edges), frozenset(self.wire_labels))
        if key != self._layout_key:
            todo: set[str] | None = None
        elif still:
            todo = {src for src, label in self.wire_labels.items() if label.needs_place}
        else:
            todo = self._labels_needing_place()
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
        for rect in self._obstacles():
            bodies.add(rect)
        placed = RectGrid()
        out = set()
        for src, label in self.wire_labels.items():
            if label.needs_place or not label.placed:
                out.add(src)
                continue
            r = label.label_scene_rect()
            edge = self.scene.edges.get(label.edge_id) if label.edge_id is not None else None
            if (bodies.hits(r) or placed.hits(r) or (label.edge_id is not None and edge is None)
                    or (edge is not None and edge.src != src)
                    or (edge is not None and edge.shape().intersects(r))):
                out.add(src)
                continue
            placed.add(r)
        return out

    def _obstacles(self) -> list[Any]:
        """What a label must not cover: node bodies and the unit maps under them."""
        rects = [item.mapRectToScene(item.body_rect()) for item in self.scene.nodes.values()]
        rects += [strip.scene_rect() for strip in self.strips.values() if strip.isVisible()]
        return rects

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
        for edge in self.scene.edges.values():
            by_src.setdefault(edge.src, []).append(edge)
        strokes = {eid: e.shape() for eid, e in self.scene.edges.items()}
        placer = LabelPlacer(self._obstacles(), strokes, self._label_style[0])
        if sources is None:
            todo = list(self.wire_labels)
            self._layout_key = (frozenset(self.scene.edges), frozenset(self.wire_labels))
        else:
            wanted = sources
            todo = [s for s in self.wire_labels if s in wanted]
            for src, label in self.wire_labels.items():
                if src not in wanted and label.placed:
                    placer.add_fixed(label.label_scene_rect())

        def key(src: str) -> tuple[float, float]:
            p = self.scene.nodes[src].pos()
            return (p.x(), p.y())

        for src in sorted(todo, key=key):
            label = self.wire_labels[src]
            edges = by_src.get(src, [])
            # the wire with the most room first
            edges.sort(key=lambda e: -(e.path().boundingRect().width()))
            wires = [(e.edge_id, e.path(), strokes[e.edge_id]) for e in edges]
            port = self.scene.nodes[src].port_scene_pos(None)
            found, compact = placer.place(label.full_size(), label.chip_size(), wires, port)
            if found is None:
                label.place(None)
            else:
                rect, anchor, eid, leader = found
                label.place(rect, anchor, eid, leader, compact)

    def prepare_tooltip(self, pos: QPointF) -> None:
        """Before a tooltip shows at ``pos``: a value label or wire gets its statistics."""
        if not self.wire_labels:
            return
        for item in self.scene.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
                                     Qt.SortOrder.DescendingOrder):
            if isinstance(item, WireLabelItem):
                item.setToolTip(item.tooltip_html)
                return
            if isinstance(item, EdgeItem):
                label = self.wire_labels.get(item.src)
                item.setToolTip(label.tooltip_html if label is not None else "")
                return
            if isinstance(item, (NodeItem, PortItem)):
                return

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
        edge = self.scene.edges.get(edge_id)
        return None if edge is None else self.wire_labels.get(edge.src)

    def source_at(self, pos: QPointF) -> str | None:
        """The node whose data a click at ``pos`` asks for: a value label's, a wire's source,
        or a node."""
        for item in self.scene.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
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
            if nid in self.scene.nodes:
                self.scene.nodes[nid].set_step_phase(None)
        for eid in self._step_edges:
            if eid in self.scene.edges:
                self.scene.edges[eid].set_step_phase(None)
        if phase is None:
            self._step_nodes, self._step_edges = set(), set()
            return
        self._step_nodes = {n for n in node_ids if n in self.scene.nodes}
        self._step_edges = {e for e in edge_ids if e in self.scene.edges}
        for nid in self._step_nodes:
            self.scene.nodes[nid].set_step_phase(phase)
        for eid in self._step_edges:
            self.scene.edges[eid].set_step_phase(phase)

    @property
    def step_highlight(self) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset(self._step_nodes), frozenset(self._step_edges)

    def set_node_badge(self, node_id: str, kind: str | None, text: str | None = "",
                       colour: str = "", detail: str = "") -> None:
        """Add or replace the ``kind`` badge of a node (bottom left: e.g. 'gradient check',
        'health'; kinds coexist, the tooltip lists them with ``detail``). ``kind`` None clears
        every badge of the node; ``text`` None clears just that kind."""
        item = self.scene.nodes.get(node_id)
        if item is None:
            return
        if kind is None:
            for k in list(item.badges):
                item.set_badge(k, None)
            return
        item.set_badge(kind, text, colour, detail)

    def clear_node_badges(self, kind: str) -> None:
        """Remove the ``kind`` badge from every node."""
        for item in self.scene.nodes.values():
            item.set_badge(kind, None)

    def node_badges(self, node_id: str) -> dict[str, tuple[str, str]]:
        item = self.scene.nodes.get(node_id)
        return {} if item is None else dict(item.badges)

    def set_flow_overlay(self, widths: Mapping[str, float] | None) -> None:
        """Gradient-flow overlay: ``widths`` maps source node ids to the mean |gradient| through
        their wires; wire width (1.5..8 px, log scale) and colour follow it. None turns it off."""
        self._flow = None if widths is None else dict(widths)
        wired = {e.src for e in self.scene.edges.values()}  # the scale spans the wires drawn
        drawn = {} if widths is None else {k: v for k, v in widths.items() if k in wired}
        self._flow_style = {} if widths is None else flow_widths(drawn)
        for edge in self.scene.edges.values():
            self._apply_flow_to(edge)
        self.flow_changed.emit(self.flow_range)

    @property
    def flow_range(self) -> tuple[float, float] | None:
        """The weakest and strongest positive mean |gradient| the wires show (None: overlay off;
        (0, 0) when no wire has a gradient)."""
        if self._flow is None:
            return None
        wired = {e.src for e in self.scene.edges.values()}
        mags = [v for k, v in self._flow.items()
                if k in wired and v is not None and math.isfinite(v) and v > 0]
        return (min(mags), max(mags)) if mags else (0.0, 0.0)

    @property
    def flow_overlay(self) -> dict[str, float] | None:
        return None if self._flow is None else dict(self._flow)

    def _apply_flow_to(self, edge: EdgeItem) -> None:
        style = self._flow_style.get(edge.src) if self._flow is not None else None
        if style is None:
            if self._flow is not None:
                edge.set_flow(FLOW_MIN_W, NO_FLOW_COLOUR)  # no gradient reaches this wire
            else:
                edge.set_flow(None)
            return
        width, t = style
        edge.set_flow(width, flow_colour(t))

    # -- unit maps and histograms under nodes ------------------------------------------------
    def strip_for(self, node_id: str) -> UnitStrip | None:
        """The strip under ``node_id`` (made on first use; None when the node is not shown)."""
        strip = self.strips.get(node_id)
        if strip is None:
            item = self.scene.nodes.get(node_id)
            if item is None:
                return None
            strip = self.strips[node_id] = UnitStrip(item, item.body_rect)
            strip.set_zoom(self.zoom)
        return strip

    def set_unit_maps(self, node_id: str, maps: Any, units: int, lo: float, hi: float,
                      centred: bool, tip: str = "", rgb: Any = None) -> None:
        """Each of ``node_id``'s units over the input plane, under the node (see UnitStrip)."""
        strip = self.strip_for(node_id)
        if strip is not None:
            new = not strip.images and strip.hist is None
            strip.set_maps(maps, units, lo, hi, centred, tip, rgb)
            if new:
                self.nodes_refreshed()  # labels now in the way move

    def set_unit_histogram(self, node_id: str, counts: Any, lo: float, hi: float,
                           tip: str = "") -> None:
        strip = self.strip_for(node_id)
        if strip is not None:
            new = not strip.images and strip.hist is None
            strip.set_histogram(counts, lo, hi, tip)
            if new:
                self.nodes_refreshed()

    def clear_unit_strips(self) -> None:
        for strip in self.strips.values():
            scene = strip.scene()
            if scene is not None:
                scene.removeItem(strip)
        self.strips.clear()


NO_FLOW_COLOUR = QColor("#555a63")  # a wire no gradient reaches


def _kept(a: Any) -> Any:
    """A digest as it is (immutable), an array as a copy."""
    return a if isinstance(a, Digest) else np.array(a, copy=True)
