"""The canvas during a run: alive, not grey and silent.

:class:`LiveCanvas` draws what the worker's snapshots carry (:mod:`.live_data`) onto the scene's
overlays while a run trains the graph (the graph itself stays locked):

- every wire's value and gradient on the last training batch (owner ``"training"``): a label
  with the numbers, a heatmap for tensors, the full statistics on hover, the whole picture in
  the Values dock on a click;
- the gradient-flow overlay: wire colour and width follow mean |∂L/∂x| (its legend sits in the
  canvas's corner);
- live health badges: saturated σ/tanh units, dead ReLUs, vanishing or exploding gradients,
  with the fraction (:mod:`playground.graph.health`, the same verdicts as Check Health);
- unit maps under hidden and output nodes for 2-D data (each unit's output over the input
  plane, "+k more", a click shows them all in the Values dock), histograms for other data.

Updates are paced: each takes GUI-thread time (and the GIL the training thread needs), so they
come at most as often as keeps that work under ``BUDGET`` of the time, and every step in slow
motion (at 30 steps a second or fewer). What the last snapshot showed stays after the run, until
the graph is edited or the run is Reset.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QImage

from ...graph.compile import program_ids
from ..canvas.style import HEALTH_COLOURS
from ..canvas.unitmaps import mosaic
from .live_data import LiveCanvas as LiveData
from .worker import every_step

if TYPE_CHECKING:
    from ..canvas.overlays import Overlays
    from ..services import WindowServices
    from ..session import Session

OWNER = "training"  # the overlays' wire owner while a run shows its values
HEALTH_KIND = "health"  # the same badge kind as Check Health: one health badge per node
BUDGET = 0.04  # the share of the GUI thread's time the live canvas may take
MAX_GAP = 1.0  # but update at least once a second
# the unit maps follow every update; the numbers on the wires, the flow and the badges (slower
# to draw, and unreadable when they change faster) come once a WIRES_INTERVAL with the
# snapshots that carry them (the worker makes them: .live_data.LiveCanvas.wires), and every
# step in slow motion


class LiveCanvas(QObject):
    applied = Signal()  # the canvas shows a new snapshot

    def __init__(self, session: Session, services: WindowServices, view: Any = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.services, self.view = session, services, view
        self.enabled = True
        self.data: LiveData | None = None  # what the canvas shows now
        self.shown_at: deque[float] = deque(maxlen=64)  # perf_counter() of recent updates
        self.show_picture: Callable[[str, str, QImage, str], None] | None = None
        self.picture_shown: Callable[[], str | None] | None = None  # key the Values dock shows
        self._pending: LiveData | None = None
        self._ids: dict[str, int] | None = None  # document node id → program index
        self._ours = False  # the canvas shows a run's data (flow, badges, maps are ours)
        self._gap = 0.0  # seconds between two updates (from their cost)
        self._cost: float | None = None  # average GUI-thread seconds an update takes
        self._first = True  # the next update is the run's first (it builds the items)
        self._last = 0.0
        self._paint_seen = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._apply_pending)
        self._model: Any = None
        runner = session.runner
        runner.started.connect(self._on_started)
        runner.snapshot_arrived.connect(self._on_snapshot)
        # the snapshot a pause sends comes just before paused_at: show it at once, so a paused
        # run's canvas is the paused state (not the one before it, waiting on the pacing timer)
        runner.controller.paused_at.connect(self._on_paused)
        runner.cleared.connect(self.clear)
        session.canvas_changed.connect(self._on_canvas)
        session.document_changed.connect(self._on_document)
        if session.document is not None:
            self._on_document(session.document)
        self.action = QAction("&Live Canvas During Training", self)
        self.action.setCheckable(True)
        self.action.setChecked(True)
        self.action.setStatusTip("While a run trains: values and gradients on the wires, "
                                 "gradient flow, health badges and unit maps, updated live")
        self.action.toggled.connect(self.set_enabled)
        self._ask_views()

    # -- switching ------------------------------------------------------------------------------
    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        if self.action.isChecked() != self.enabled:
            self.action.setChecked(self.enabled)
        self._ask_views()
        if not self.enabled:
            self.session.runner.controller.set_snapshot_pace(0.0)  # the plots' pace only
            self.clear()

    def _ask_views(self) -> None:
        self.session.runner.controller.set_views(
            frozenset({"canvas"}) if self.enabled else frozenset(), source="canvas")

    def _overlays(self) -> Overlays | None:
        scene = self.session.scene
        return None if scene is None else scene.overlays

    # -- the run --------------------------------------------------------------------------------
    def _on_started(self) -> None:
        self._ids = None
        self._gap, self._last, self._cost = 0.0, 0.0, None
        self._first = True
        self.shown_at.clear()

    def _on_snapshot(self, snap: Any) -> None:
        data = getattr(snap, "canvas", None)
        if data is None or not self.enabled:
            return
        old = self._pending
        if old is not None and old.wires and not data.wires:  # keep the numbers not yet shown
            data = dataclasses.replace(data, rows=old.rows, values=old.values, grads=old.grads,
                                       health=old.health, wires=True)
        self._pending = data
        rate = self.session.runner.controller.rate
        if every_step(rate):
            self._timer.stop()
            self._apply_pending()  # slow motion: every step, none merged with the next
            return
        if self._timer.isActive():
            return
        wait = self._gap - (time.perf_counter() - self._last)
        if wait <= 0:  # (the training thread paces its snapshots by the gap: the usual case)
            self._apply_pending()  # now, not from a timer: one wake-up of this thread fewer
            return
        self._timer.start(round(1000 * wait))

    def _on_paused(self, _step: int) -> None:
        if self._pending is not None:
            self._timer.stop()
            self._apply_pending()

    def _apply_pending(self) -> None:
        data, self._pending = self._pending, None
        if data is None:
            return
        t0 = time.thread_time()
        self.show(data, data.wires)
        cost = time.thread_time() - t0
        painted = 0.0
        if self.view is not None:  # the canvas's repaints since the last update count too
            seen = getattr(self.view, "paint_seconds", 0.0)
            painted, self._paint_seen = max(0.0, seen - self._paint_seen), seen
        # the time between updates follows their average cost (the numbers' once-a-second
        # update costs more than the unit maps' between them). The run's first update builds
        # the strips and labels: a one-off that would hold the pace down for seconds
        if self._first:
            self._first = False
        else:
            self._cost = (cost + painted) if self._cost is None else \
                0.6 * self._cost + 0.4 * (cost + painted)
            self._gap = min(MAX_GAP, self._cost / BUDGET)
            # snapshots the canvas would replace unseen cost the training thread for nothing
            self.session.runner.controller.set_snapshot_pace(self._gap)
        self._last = time.perf_counter()
        self.shown_at.append(self._last)

    def updates_per_second(self) -> float:
        """How often the canvas was updated lately."""
        t = self.shown_at
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    # -- drawing --------------------------------------------------------------------------------
    def _mapping(self) -> dict[str, int]:
        if self._ids is None:
            s = self.session
            program, doc = s.compiled, s.document
            if program is None or doc is None:
                return {}
            try:
                _model, prefix = s.evaluation_model()
            except Exception:  # noqa: BLE001 - no graph: nothing to map
                return {}
            self._ids = program_ids(doc.model, program, prefix)
        return self._ids

    def show(self, data: LiveData, wires: bool = True) -> None:
        """Draw ``data`` on the canvas now: the unit maps, and with ``wires`` the values on the
        wires, the gradient flow and the health badges too."""
        ov = self._overlays()
        if ov is None:
            return
        ids = self._mapping()
        program = self.session.compiled
        self.data = data
        self._ours = True
        names = data.plane_names
        for nid, i in ids.items():
            node = program.nodes[i] if program is not None and i < len(program.nodes) else None
            label = node.name if node is not None else nid
            m = data.maps.get(i)
            if m is not None:
                units = int(m.maps.shape[0])
                ov.set_unit_maps(nid, m.maps, units, m.lo, m.hi, m.centred,
                                 f"<b>{label}</b>: each of its {units} unit{'s' if units != 1 else ''} "
                                 f"over the input plane ({names[0]} → right, {names[1]} ↑), "
                                 "orange low, white middle, blue high. Click to see them all.",
                                 m.rgb)
                self._wire_click(ov, nid)
                continue
            hist = data.histograms.get(i)
            if hist is not None:
                ov.set_unit_histogram(nid, hist.counts, float(hist.edges[0]),
                                      float(hist.edges[-1]),
                                      f"<b>{label}</b>: its {hist.units} output"
                                      f"{'s' if hist.units != 1 else ''} per sample over the "
                                      f"batch of {data.rows}, as a histogram (bar height: the "
                                      "square root of the count)")
        # after the maps: the labels are placed clear of them (a snapshot without the wires'
        # numbers leaves them as they are)
        if data.wires and (wires or ov.owner != OWNER):
            self._show_wires(ov, data, ids)
        self._refresh_picture()
        self.applied.emit()

    def _show_wires(self, ov: Overlays, data: LiveData, ids: dict[str, int]) -> None:
        values = {nid: data.values.get(i) for nid, i in ids.items()}
        grads = {nid: data.grads.get(i) for nid, i in ids.items()}
        ov.set_wire_data(values, grads, OWNER, still=ov.owner == OWNER)
        ov.set_labels_visible(True)
        ov.set_flow_overlay({nid: g.mean_abs for nid, g in grads.items() if g is not None})
        for nid, i in ids.items():
            h = data.health.get(i)
            if h is not None and h.kind != "ok":
                ov.set_node_badge(nid, HEALTH_KIND, h.badge, HEALTH_COLOURS[h.level],
                                  detail=h.explanation)
            else:
                ov.set_node_badge(nid, HEALTH_KIND, None)

    def _wire_click(self, ov: Overlays, nid: str) -> None:
        strip = ov.strips.get(nid)
        if strip is not None and strip.on_click is None:
            def click(nid: str = nid) -> None:
                self.show_maps(nid)

            strip.on_click = click

    # -- the enlarged unit maps --------------------------------------------------------------------
    def maps_picture(self, nid: str) -> tuple[str, QImage, str] | None:
        """(title, every unit's map, caption) of node ``nid`` from the data shown."""
        data, ids = self.data, self._mapping()
        i = ids.get(nid)
        if data is None or i is None or i not in data.maps:
            return None
        m = data.maps[i]
        doc = self.session.document
        name = doc.model.nodes[nid].name if doc is not None and nid in doc.model.nodes else nid
        units = int(m.maps.shape[0])
        title = f"{name}: {units} unit{'s' if units != 1 else ''} over the input plane"
        return title, mosaic(m.maps, m.lo, m.hi, m.centred, data.plane_names), (
            "What each unit outputs for every point of the plane the data lies in, as the "
            "network is now. Updated live while training.")

    def show_maps(self, nid: str) -> bool:
        """Every unit's map of ``nid`` in the Values dock (kept up to date while shown)."""
        found = self.maps_picture(nid)
        if found is None or self.show_picture is None:
            return False
        self.services.show_dock("values")
        title, image, caption = found
        self.show_picture(f"maps:{nid}", title, image, caption)
        return True

    def _refresh_picture(self) -> None:
        key = self.picture_shown() if self.picture_shown is not None else None
        if key and key.startswith("maps:") and self.show_picture is not None:
            nid = key.split(":", 1)[1]
            found = self.maps_picture(nid)
            if found is not None:
                self.show_picture(key, *found)

    # -- leaving --------------------------------------------------------------------------------
    def clear(self) -> None:
        """Take the run's drawing off the canvas (an edit, Reset, or switched off)."""
        self._timer.stop()
        self._pending = None
        self.data = None
        ov = self._overlays()
        if ov is None or not self._ours:
            return
        self._ours = False
        ov.release(OWNER)
        ov.set_flow_overlay(None)
        ov.clear_node_badges(HEALTH_KIND)
        ov.clear_unit_strips()

    def _on_canvas(self, _scene: Any) -> None:
        self._ids = None
        self._ours = False  # a new scene: nothing of ours on it
        self.data = None

    def _on_document(self, doc: Any) -> None:
        if self._model is not None:
            self._listen(self._model, False)
        self._model = doc.model
        self._listen(doc.model, True)

    def _listen(self, model: Any, on: bool) -> None:
        for name in ("node_added", "node_removed", "edge_added", "edge_removed", "param_changed",
                     "node_renamed", "body_changed"):
            event = getattr(model, name)
            try:
                (event.connect if on else event.disconnect)(self._on_model_changed)
            except (KeyError, ValueError):
                pass

    def _on_model_changed(self, *_: Any) -> None:
        if not self.session.locked:
            self.clear()  # what was drawn is of a graph that is no more
