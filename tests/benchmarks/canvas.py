"""Canvas speed with a 300-node graph: open time and per-frame pan/zoom cost, with and without
the minimap.

Run:  python tests/benchmarks/canvas.py [--json] [--platform offscreen|xcb] [--profile CASE]
      xvfb-run -a -s "-screen 0 1600x1000x24" python tests/benchmarks/canvas.py --platform xcb

The graph (built with GraphModel, saved to a temporary JSON file, valid shapes throughout):
eight chains ``X → (dense → tanh) × 5`` whose dense layers share weights pairwise (siamese),
merged by a tree of ``add`` gates, plus a recurrent block unrolled over 26 steps with shared
W, U, b (``h = tanh(x·W + h·U + b)``), both feeding an MSE loss — 298 nodes and 412 wires,
laid out on a grid of about 4300 × 4700 scene units around the origin.

Measured in one process with a real MainWindow at 1400 × 900:

- ``open``: from ``window.open_file(path)`` (read JSON, build the model, the scene, its items) to
  the first painted frame (``processEvents`` runs the fit and the scene's deferred refresh, then
  ``viewport().repaint()``); five times after switching to an empty graph, median. The parts
  (load, scene, first paint) are timed separately from the same runs.
- frames: 100 pan steps (``view.pan_by``) and 100 zoom steps (``view.zoom_by`` alternating 1.02
  and 0.98, so the zoom stays put), each followed by a synchronous ``viewport().repaint()``;
  median and p95 ms per frame. Once with the whole graph visible (fit: the worst case, every node
  painted) and once at zoom 1.0 on the middle of the graph; each with no minimap, with the
  MinimapWidget, with a naive minimap (a plain QGraphicsView of the same scene that lets Qt
  paint every item, to show why the MinimapWidget paints a cached thumbnail instead), and with
  a value and a gradient on every wire (no minimap; as after Evaluate, arrays of each node's
  shape set through the overlays, and the time they take to be shown and placed).
- the MinimapWidget's own costs: a refit plus thumbnail render, and one repaint of its viewport.

Targets: open < 1 s, pan/zoom <= 16 ms per frame. ``--profile open|pan_fit|zoom_fit|pan_1|zoom_1``
prints a cProfile of that case (no minimap). This is a script, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_OPEN_S = 1.0
TARGET_FRAME_MS = 16.0
WINDOW = (1400, 900)
STEPS = 100
ROUNDS = 4  # frames are measured in interleaved rounds of STEPS // ROUNDS steps
OPEN_REPEATS = 5
COL, ROW = 220.0, 125.0  # grid spacing in scene units
X0, Y0 = -2100.0, -2300.0  # the grid's top-left: the graph sits around the origin


# ----------------------------------------------------------------------------- the graph

def build_graph() -> Any:
    """~300 nodes, ~400 wires, valid shapes, laid out on a grid."""
    from playground.graph import GraphModel

    m = GraphModel()
    d = 16

    def node(op: str, name: str, col: float, row: float, **params: Any) -> str:
        return m.add_node(op, name, params or None, (X0 + col * COL, Y0 + row * ROW)).id

    # eight chains X → (dense → tanh) × 5, weights shared by pairs of chains
    chains, layers, outs = 8, 5, []
    shared: dict[tuple[int, int], tuple[str, str]] = {}  # (pair, layer) → (W, b)
    for c in range(chains):
        top = c * 3.0
        prev = node("input", f"X{c}", 0, top, shape=[None, d])
        for k in range(layers):
            col = 1 + 2 * k
            if (c // 2, k) not in shared:  # the first chain of a pair owns the parameters
                shared[c // 2, k] = (
                    node("parameter", f"W{c // 2}_{k}", col, top + 1, shape=[d, d]),
                    node("parameter", f"b{c // 2}_{k}", col, top + 2, shape=[d], init="zeros"))
            W, b = shared[c // 2, k]
            dense = node("dense", f"dense{c}_{k}", col, top)
            m.connect(prev, dense, "x")
            m.connect(W, dense, "W")
            m.connect(b, dense, "b")
            prev = node("tanh", f"tanh{c}_{k}", col + 1, top)
            m.connect(dense, prev, "x")
        outs.append((prev, 2 * layers, top))
    # a tree of adds merging the chains
    level = 0
    while len(outs) > 1:
        level += 1
        merged = []
        for i in range(0, len(outs), 2):
            (a, _, ra), (b, _, rb) = outs[i], outs[i + 1]
            s = node("add", f"merge{level}_{i // 2}", 2 * layers + level, (ra + rb) / 2)
            m.connect(a, s, "a")
            m.connect(b, s, "b")
            merged.append((s, 2 * layers + level, (ra + rb) / 2))
        outs = merged
    chains_out, _, chains_row = outs[0]
    # a recurrent block unrolled over T steps, in bands of six steps
    T, per_band, top = 26, 6, chains * 3.0 + 1
    W = node("parameter", "Wx", 0, top, shape=[d, d])
    U = node("parameter", "Uh", 0, top + 1, shape=[d, d])
    bias = node("parameter", "bh", 0, top + 2, shape=[d], init="zeros")
    h = node("input", "h0", 0, top + 3, shape=[None, d])
    for t in range(T):
        band, j = divmod(t, per_band)
        col, row = 1 + 3 * j, top + band * 2.4
        x = node("input", f"x{t}", col, row, shape=[None, d])
        xw = node("matmul", f"xW{t}", col + 1, row)
        hu = node("matmul", f"hU{t}", col, row + 1)
        s1 = node("add", f"s{t}", col + 2, row)
        s2 = node("add", f"z{t}", col + 1, row + 1)
        hn = node("tanh", f"h{t + 1}", col + 2, row + 1)
        m.connect(x, xw, "a")
        m.connect(W, xw, "b")
        m.connect(h, hu, "a")
        m.connect(U, hu, "b")
        m.connect(xw, s1, "a")
        m.connect(hu, s1, "b")
        m.connect(s1, s2, "a")
        m.connect(bias, s2, "b")
        m.connect(s2, hn, "x")
        h = hn
    final_col = 2 * layers + level + 1
    both = node("add", "both", final_col, chains_row)
    m.connect(chains_out, both, "a")
    m.connect(h, both, "b")
    y = node("input", "y", final_col, chains_row + 1.5, shape=[None, d])
    loss = node("mse", "loss", final_col + 1, chains_row)
    m.connect(both, loss, "pred")
    m.connect(y, loss, "target")
    return m


# ----------------------------------------------------------------------------- helpers

def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))
    return s[k]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"median_ms": statistics.median(ms), "p95_ms": pct(ms, 0.95), "max_ms": max(ms)}


class NaiveMinimap:
    """For comparison: a plain QGraphicsView overview that lets Qt paint every item."""

    def __init__(self, main_view: Any) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QGraphicsView

        v = QGraphicsView(main_view)
        v.setScene(main_view.scene())
        v.setInteractive(False)
        v.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        v.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        v.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        v.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        area = main_view.viewport().geometry()
        v.setGeometry(area.right() - 12 - 220, area.bottom() - 12 - 150, 220, 150)
        items = main_view.scene().nodes.values()
        rect = None
        for item in items:
            rect = item.sceneBoundingRect() if rect is None else rect.united(item.sceneBoundingRect())
        v.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.signals = [main_view.horizontalScrollBar().valueChanged,
                        main_view.verticalScrollBar().valueChanged, main_view.zoom_changed]
        for signal in self.signals:
            signal.connect(self.changed)
        v.show()
        v.raise_()
        self.view = v

    def changed(self, *_: Any) -> None:
        self.view.viewport().update()  # a real one would move its rectangle in drawForeground

    def close(self) -> None:
        for signal in self.signals:
            signal.disconnect(self.changed)
        self.view.hide()
        self.view.setScene(None)
        self.view.deleteLater()


# ----------------------------------------------------------------------------- measurements

class Bench:
    def __init__(self, path: Path) -> None:
        from PySide6.QtCore import QSettings, QStandardPaths
        from PySide6.QtWidgets import QApplication

        QStandardPaths.setTestModeEnabled(True)  # no recovery files or settings of the user's
        self.app = QApplication.instance() or QApplication([sys.argv[0]])
        from playground.ui import document
        from playground.ui.mainwindow import MainWindow

        self.tmp = Path(tempfile.mkdtemp(prefix="bp-canvas-bench-"))
        (self.tmp / "recovery").mkdir()
        document.recovery_dir = lambda: self.tmp / "recovery"  # type: ignore[assignment]
        self.path = path
        self.win = MainWindow(QSettings(str(self.tmp / "settings.ini"), QSettings.Format.IniFormat))
        self.win.ask_unsaved = lambda name: __import__(  # type: ignore[method-assign]
            "PySide6.QtWidgets", fromlist=["QMessageBox"]).QMessageBox.StandardButton.Discard
        self.win.resize(*WINDOW)
        self.win.show()
        self.flush()

    def flush(self) -> None:
        from PySide6.QtCore import QCoreApplication, QEvent

        for _ in range(3):
            self.app.processEvents()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    def close(self) -> None:
        if self.win.document is not None:
            self.win.document.forget_changes()
        self.win.close()
        self.flush()

    # -- (a) open ---------------------------------------------------------------------------
    def open_once(self) -> dict[str, float]:
        from playground.ui import document as doc_mod
        from playground.ui.canvas import scene as scene_mod

        self.win.files.new_file()
        self.flush()
        parts = {"load": 0.0, "scene": 0.0}
        open_doc, make_scene = doc_mod.Document.open, scene_mod.GraphScene.__init__

        def timed_open(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return open_doc(*a, **k)
            finally:
                parts["load"] += time.perf_counter() - t

        def timed_scene(*a: Any, **k: Any) -> None:
            t = time.perf_counter()
            try:
                make_scene(*a, **k)
            finally:
                parts["scene"] += time.perf_counter() - t

        doc_mod.Document.open = timed_open  # type: ignore[method-assign]
        scene_mod.GraphScene.__init__ = timed_scene  # type: ignore[method-assign]
        try:
            t0 = time.perf_counter()
            assert self.win.open_file(self.path)
            t1 = time.perf_counter()
            self.app.processEvents()
            self.win.view.viewport().repaint()
            t2 = time.perf_counter()
        finally:
            doc_mod.Document.open = open_doc  # type: ignore[method-assign]
            scene_mod.GraphScene.__init__ = make_scene  # type: ignore[method-assign]
        assert len(self.win.scene.nodes) == len(self.win.document.model.nodes)
        return {"total": t2 - t0, "open_file": t1 - t0, "first_paint": t2 - t1, **parts}

    def measure_open(self) -> dict[str, Any]:
        runs = [self.open_once() for _ in range(OPEN_REPEATS)]
        out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        out["runs_s"] = [r["total"] for r in runs]
        return out

    # -- (b) frames -------------------------------------------------------------------------
    def place(self, mode: str) -> None:
        view = self.win.view
        view.fit()
        if mode == "1.0":
            centre = view.mapToScene(view.viewport().rect().center())
            view.set_zoom(1.0)
            view.centerOn(centre)
        self.flush()
        view.viewport().repaint()

    def frames(self, kind: str, mode: str, steps: int = STEPS) -> list[float]:
        view = self.win.view
        self.place(mode)
        vp = view.viewport()
        times = []
        for i in range(steps):
            if kind == "pan":
                angle = 2 * math.pi * i / 25  # small circles: the graph stays in view
                dx, dy = 12 * math.cos(angle), 12 * math.sin(angle)
                step: Callable[[], None] = lambda dx=dx, dy=dy: view.pan_by(dx, dy)
            else:
                step = lambda i=i: view.zoom_by(1.02 if i % 2 == 0 else 0.98)
            t = time.perf_counter()
            step()
            vp.repaint()
            times.append(time.perf_counter() - t)
        self.app.processEvents()
        return times

    def visible_nodes(self) -> int:
        from playground.ui.canvas.items import NodeItem

        view = self.win.view
        rect = view.mapToScene(view.viewport().rect()).boundingRect()
        return sum(isinstance(i, NodeItem) for i in self.win.scene.items(rect))

    def measure_frames(self) -> dict[str, Any]:
        """Variants run in interleaved rounds (order rotating), so a noisy machine slows each
        alike; every case pools STEPS frames per variant."""
        from playground.ui.canvas.minimap import MinimapWidget

        self.win.open_file(self.path)
        self.flush()
        variants = ["none", "minimap", "naive", "labels"]
        cases = [(kind, mode) for mode in ("fit", "1.0") for kind in ("pan", "zoom")]
        pooled: dict[str, list[float]] = {}
        info: dict[str, dict[str, Any]] = {}
        results: dict[str, Any] = {}
        for r in range(ROUNDS):
            for variant in variants[r % 4:] + variants[:r % 4]:
                overlay: Any = None
                if variant == "minimap":
                    overlay = MinimapWidget(self.win.view)
                    overlay.show()
                elif variant == "naive":
                    overlay = NaiveMinimap(self.win.view)
                elif variant == "labels":
                    t = time.perf_counter()
                    self.show_labels()
                    results.setdefault("labels_show_ms", []).append(
                        (time.perf_counter() - t) * 1000)
                self.flush()
                for kind, mode in cases:
                    key = f"{kind}_{mode}_{variant}"
                    self.place(mode)
                    info[key] = {"visible_nodes": self.visible_nodes(),
                                 "zoom": round(self.win.view.zoom(), 3)}
                    pooled.setdefault(key, []).extend(self.frames(kind, mode, STEPS // ROUNDS))
                if variant == "minimap" and r == ROUNDS - 1:
                    results["minimap_costs"] = self.minimap_costs(overlay)
                if variant == "labels":
                    self.win.scene.overlays.clear_wire_data()
                if overlay is not None:
                    overlay.close()
                    if variant == "minimap":
                        overlay.setParent(None)
                        overlay.deleteLater()
                self.flush()
        for key, times in pooled.items():
            results[key] = {**summary_ms(times), **info[key]}
        if "labels_show_ms" not in results:
            results["labels_show_ms"] = []
        return results

    def show_labels(self) -> None:
        """A value and a gradient on every wire (as Evaluate shows them), without running the
        engine: arrays of each node's shape with a batch of one."""
        import numpy as np

        scene = self.win.scene
        rng = np.random.default_rng(0)
        values, grads = {}, {}
        for nid in scene.nodes:
            shape = tuple(1 if d is None else d for d in (scene.shapes.get(nid) or ()))
            values[nid] = rng.normal(size=shape)
            grads[nid] = rng.normal(size=shape)
        scene.overlays.set_wire_data(values, grads)
        scene.overlays.set_labels_visible(True)
        self.flush()

    def minimap_costs(self, mm: Any) -> dict[str, float]:
        refit, paint = [], []
        mm.show()  # measured shown (it steps aside when nodes fill every corner of the canvas)
        for _ in range(20):
            t = time.perf_counter()
            mm.refit()
            mm.viewport().repaint()  # re-renders the thumbnail
            refit.append(time.perf_counter() - t)
            t = time.perf_counter()
            mm.viewport().repaint()  # thumbnail cached
            paint.append(time.perf_counter() - t)
        return {"refit_render_ms": statistics.median(refit) * 1000,
                "repaint_ms": statistics.median(paint) * 1000}

    # -- profile ----------------------------------------------------------------------------
    def profile(self, case: str) -> str:
        self.win.open_file(self.path)
        self.flush()
        prof = cProfile.Profile()
        if case == "open":
            prof.enable()
            for _ in range(3):
                self.open_once()
            prof.disable()
        else:
            kind, mode = case.split("_")
            self.place("fit" if mode == "fit" else "1.0")
            prof.enable()
            self.frames(kind, "fit" if mode == "fit" else "1.0")
            prof.disable()
        out = []
        for key in ("tottime", "cumulative"):
            stream = __import__("io").StringIO()
            pstats.Stats(prof, stream=stream).sort_stats(key).print_stats(22)
            out.append(stream.getvalue())
        return "\n".join(out)


# ----------------------------------------------------------------------------- report

def report(res: dict[str, Any]) -> str:
    o = res["open"]
    verdict = "OK" if o["total"] < TARGET_OPEN_S else "MISSED"
    rest = o["open_file"] - o["load"] - o["scene"]
    lines = [
        (f"platform {res['platform']}, window {WINDOW[0]}x{WINDOW[1]} (canvas "
         f"{res['canvas'][0]}x{res['canvas'][1]}), graph {res['nodes']} nodes {res['edges']} "
         f"wires, Qt {res['qt']}, Python {res['python']}"),
        "",
        (f"open (median of {OPEN_REPEATS}): {o['total'] * 1000:7.1f} ms   "
         f"target < {TARGET_OPEN_S * 1000:.0f} ms   {verdict}"),
        (f"  load JSON+model {o['load'] * 1000:.1f} ms, scene+items {o['scene'] * 1000:.1f} ms, "
         f"rest of open_file {rest * 1000:.1f} ms, fit+first paint {o['first_paint'] * 1000:.1f} ms"),
        "",
        (f"ms per frame (step + synchronous repaint), {STEPS} steps per cell in {ROUNDS} "
         f"interleaved rounds; target <= {TARGET_FRAME_MS:.0f} ms"),
        (f"{'case':14s} {'nodes':>5s} {'zoom':>6s} | {'no minimap':>17s} | "
         f"{'MinimapWidget':>17s} | {'naive minimap':>17s} | {'value labels':>17s}"),
        (f"{'':14s} {'':>5s} {'':>6s} | {'median':>8s} {'p95':>8s} | {'median':>8s} {'p95':>8s} | "
         f"{'median':>8s} {'p95':>8s} | {'median':>8s} {'p95':>8s}"),
    ]
    f = res["frames"]
    for mode in ("fit", "1.0"):
        for kind in ("pan", "zoom"):
            base = f[f"{kind}_{mode}_none"]
            row = f"{kind + ' @ ' + mode:14s} {base['visible_nodes']:5d} {base['zoom']:6.3f} |"
            for variant in ("none", "minimap", "naive", "labels"):
                r = f[f"{kind}_{mode}_{variant}"]
                mark = "" if r["p95_ms"] <= TARGET_FRAME_MS else "!"
                row += f" {r['median_ms']:8.2f} {r['p95_ms']:7.2f}{mark or ' '}|"
            lines.append(row)
    c = f["minimap_costs"]
    lines += ["", (f"MinimapWidget: refit + thumbnail render {c['refit_render_ms']:.2f} ms, "
                   f"repaint from cache {c['repaint_ms']:.2f} ms"),
              (f"value labels on all {res['nodes']} nodes: shown and placed in "
               f"{statistics.median(f['labels_show_ms']):.0f} ms (median)"),
              "(! = p95 over the 16 ms target)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                    help="Qt platform plugin (offscreen, or xcb under Xvfb)")
    ap.add_argument("--profile", choices=("open", "pan_fit", "zoom_fit", "pan_1", "zoom_1"),
                    help="print a cProfile of one case instead of the benchmark")
    args = ap.parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = args.platform
    os.environ.setdefault("LANG", "C.UTF-8")

    from playground.graph import save

    model = build_graph()
    with tempfile.TemporaryDirectory(prefix="bp-canvas-graph-") as folder:
        path = Path(folder) / "graph300.json"
        save(model, path)
        bench = Bench(path)
        try:
            if args.profile:
                print(bench.profile(args.profile))
                return 0
            import PySide6

            vp = bench.win.view.viewport()
            res = {"platform": bench.app.platformName(), "canvas": [vp.width(), vp.height()],
                   "nodes": len(model.nodes),
                   "edges": len(model.edges), "qt": PySide6.__version__,
                   "python": sys.version.split()[0], "open": bench.measure_open(),
                   "frames": bench.measure_frames()}
        finally:
            bench.close()
    res["targets"] = {"open_s": TARGET_OPEN_S, "frame_ms": TARGET_FRAME_MS}
    print(json.dumps(res, indent=1) if args.json else report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
