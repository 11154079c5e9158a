"""Training inside the real window: throughput against headless, GUI responsiveness, memory.

Run:  python tests/benchmarks/training_ui.py [--json] [--platform offscreen|xcb] [--quick]
      xvfb-run -a -s "-screen 0 1600x1000x24" python tests/benchmarks/training_ui.py --platform xcb
      (--example moons|digits|wide, --rounds N, --kinds bare,hidden,silent,Loss,...,
       --skip throughput,probe,slowmo,memory)

Everything runs in one process with the real ``MainWindow`` (a temporary QSettings ini file,
``QStandardPaths.setTestModeEnabled(True)``) at 1400 × 900, shown, and the real training worker
thread. The graph is the bundled ``moons_mlp`` example (2 → 16 tanh → 16 tanh → 2, Adam,
lr 0.01, batch 32, seed 0) on 20,000 two-moons samples (14,000 train / 6,000 validation, 438
steps per epoch: ~120 µs steps, nearly all of it holding the GIL, the hardest case for a GUI
sharing the interpreter), or with ``--example digits`` the ``digits_mlp`` example (64 → 64 →
10) on scikit-learn's digits; set through the Training panel's widgets;
``sys.setswitchinterval(0.001)`` as ``playground.ui.app.main`` sets it.

1. Throughput. The same program/data/config is trained (a) headless: ``playground.training.train``
   iterated in the main thread with no event processing, under the same one-thread BLAS limit the
   worker uses for small models (ARCHITECTURE.md §9), on a freshly compiled program; and (b) in
   the window: ``TrainingPanel.start(reinit=True)``, waiting for ``controller.finished`` in a
   QEventLoop, with the Plots dock shown, its redraw timer running, and the visible tab set to
   Loss, Gradients or Boundary, and the canvas alive (the live canvas on, as by default: values
   and gradients on the wires, gradient flow, health badges, unit maps). References: ``bare`` =
   a TrainingController alone (no window), ``hidden`` = the window with the Plots dock hidden,
   ``silent`` = the Loss tab with the live canvas switched off. Named figures:
   ``throughput_ratio_canvas_alive`` (Loss tab, canvas alive; target >= 0.95 with ``--example
   wide``, >= 0.90 on moons), ``throughput_ratio_canvas_silent``, ``throughput_alive_over_silent``
   and ``canvas_updates_per_s`` (how often the unit maps were redrawn; target >= 5). Steps per second = last record's step / its ``elapsed`` (the
   trainer's clock: thread start-up and the final full snapshot are outside it, the worker's
   emits and periodic snapshots inside). Headless and window runs are interleaved in rounds (the
   order rotates per round): a headless run before and after every window run, whose ratio is
   taken against the geometric mean of those two (``--reference round``: one headless run per
   round, as before; the reference was then up to six runs away); the median of ROUNDS (9) rounds
   reported, with a distribution-free 95% interval for it (``throughput_ratio_<kind>_interval``:
   low, high, confidence; single rounds spread ±4% on a shared 2-core machine, so a 5-round
   median moves by a few percent between runs). Target >= 0.95
   (the Loss tab with the canvas alive: TARGET_ALIVE, 0.90 on moons).
   ``worker_switches_per_s_<kind>``: the training thread's voluntary context switches a second
   (from /proc, Linux), nearly all of them waits for the interpreter lock the GUI thread took: a
   steadier gauge of the GUI's interference than the ratio for A/B comparisons.
   A window run longer than 20 s is stopped (its steps/s is then that of a shorter run). Also a
   noise-robust estimate: headless CPU per step ÷ the process's CPU per step in the window run.
2. Responsiveness. A 10 ms ``Qt.PreciseTimer`` in the GUI thread records its lateness (actual
   interval − 10 ms) during one extra run per tab (probe runs are separate, so the probe does not
   tax the throughput runs), and for 2 s while idle as a baseline. p50/p99/max; target p99 <= 50 ms.
2b. Slow motion. Runs of SLOW_SECONDS at 2, 10 and 30 steps a second (the speed control): the
   achieved rate on the trainer's own clock, (last step - first step) / (their elapsed
   difference), and how many canvas updates each step got. Target: within 5% of the rate asked.
3. Memory. One long run in the window (100,000 steps; 20,000 with ``--quick``). At 1k, 10k, ...
   steps the GUI thread visits every enabled tab once (so each plot holds its data as a user who
   looked at it would leave it), then reads VmRSS from /proc/self/status, the history's array
   bytes, the arrays the plots hold apart from the history, scene item counts and Python object
   counts. After the run: RSS after gc and after ``malloc_trim(0)``. Target: RSS(100k)/RSS(1k)
   <= 1.05.

The machine is shared and noisy: medians of interleaved rounds. This is a script, not a test; it
prints and exits 0.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

TARGET_RATIO = 0.95
# interleaved throughput rounds (--rounds): single rounds spread ±4% on a shared 2-core machine;
# with 9 the median's 95% interval spans the 2nd to the 8th round (5: the whole range, at 94%)
ROUNDS = 9
# the targets for the Loss tab with the canvas alive: 0.95 where BLAS dominates the step
# (wide), 0.90 on moons (~120 µs steps, nearly all of them holding the GIL)
TARGET_ALIVE = {"moons": 0.90, "digits": 0.95, "wide": 0.95}
TARGET_P99_MS = 50.0
TARGET_RSS_RATIO = 1.05
PROBE_MS = 10
WINDOW = (1400, 900)
# --example: the graph, its dataset, samples (None: the dataset's own), epochs, tabs to measure
SETUPS = {
    # 438 steps/epoch → 26,280 steps of ~120 µs: a worst case for sharing the GIL
    "moons": ("moons_mlp", "moons", 20_000, 60, ("Loss", "Gradients", "Boundary")),
    # the 64-hidden-unit digits network: 40 steps/epoch of ~0.5 ms
    "digits": ("digits_mlp", "digits", None, 150, ("Loss", "Gradients", "Samples")),
    # digits_mlp with 2,048 hidden units and batch 256: ~5 ms steps, mostly in BLAS (which
    # releases the GIL): what a heavier model sees
    "wide": ("digits_mlp", "digits", None, 400, ("Loss", "Gradients", "Samples")),
}
WIDE_HIDDEN, WIDE_BATCH = 2048, 256
EXAMPLE, DATASET, SAMPLES, EPOCHS, TABS = SETUPS["moons"]
ARGS_EXAMPLE = "moons"
CHECKPOINTS = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
SLOW_RATES = (2, 10, 30)  # slow-motion speeds measured (steps a second)
SLOW_SECONDS = 6.0  # each slow-motion run lasts this long
TARGET_SLOW_ERROR = 0.05
TARGET_CANVAS_UPDATES = 5.0  # unit maps refreshed at least this often a second at full speed


# ----------------------------------------------------------------------------- helpers

def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return math.nan


def malloc_trim() -> bool:
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def git_commit() -> str:
    """The checked-out commit (+ "-dirty" when tracked files differ), to tell what was measured."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("-dirty" if dirty else "")


def probe_timer_into(lateness: list[float]) -> Any:
    """A PROBE_MS precise timer (not started) that appends each tick's lateness in ms."""
    from PySide6.QtCore import Qt, QTimer

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(PROBE_MS)
    last = [0.0]

    def tick() -> None:
        now = time.perf_counter()
        if last[0]:
            lateness.append((now - last[0]) * 1000.0 - PROBE_MS)
        last[0] = now

    timer.timeout.connect(tick)
    return timer


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    return float(np.percentile(np.asarray(values), q))


def median(values: list[float]) -> float:
    values = [v for v in values if math.isfinite(v)]
    return statistics.median(values) if values else math.nan


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """A distribution-free confidence interval for the median of the rounds (order statistics:
    the k-th smallest and k-th largest value, k the largest with P(Binomial(n, 1/2) < k) at most
    (1 - level) / 2), and the confidence it actually has. With few rounds the narrowest possible
    interval is the whole range (5 rounds: min..max, 94%). The rounds' spread on a shared
    machine is several percent, so a median alone can sit either side of a target by chance."""
    xs = sorted(v for v in values if math.isfinite(v))
    n = len(xs)
    if n == 0:
        return math.nan, math.nan, math.nan
    tail = lambda k: sum(math.comb(n, i) for i in range(k)) / 2 ** n  # P(X < k)
    k = 1
    while k + 1 <= (n + 1) // 2 and tail(k + 1) <= (1 - level) / 2:
        k += 1
    return xs[k - 1], xs[n - k], 1 - 2 * tail(k)


def _owner(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def history_columns(history: Any) -> list[Any]:
    cols = [getattr(history, k) for k in ("step", "epoch", "batch_loss", "lr", "elapsed",
                                          "epoch_step", "epoch_index", "train_loss", "val_loss",
                                          "train_accuracy", "val_accuracy")]
    cols += list(history.grad_norms.values()) + list(history.update_ratios.values())
    return cols


def history_bytes(history: Any) -> tuple[int, int]:
    """(allocated bytes of the history's column buffers, bytes actually filled)."""
    cols = history_columns(history)
    buffers = {id(_owner(c._data)): _owner(c._data).nbytes for c in cols}  # per-step: one block
    return (sum(buffers.values()), sum(c.n * c._data.itemsize for c in cols))


def plot_arrays(plots: Any, history: Any) -> tuple[int, int]:
    """Bytes of the distinct NumPy buffers the history plots' curves hold that are not the
    history's current column buffers (old buffers kept alive, log/positive copies, caches);
    and the number of such buffers."""
    current = {id(_owner(c._data)) for c in history_columns(history)}
    seen: dict[int, int] = {}

    def visit(a: Any) -> None:
        if isinstance(a, np.ndarray):
            o = _owner(a)
            if id(o) not in current:
                seen[id(o)] = o.nbytes

    for name in ("Loss", "Accuracy", "Gradients", "Updates"):
        for item in plots.plots[name].plot.listDataItems():
            visit(getattr(item, "xData", None))
            visit(getattr(item, "yData", None))
            for ds in ("_dataset", "_datasetMapped", "_datasetDisplay"):
                d = getattr(item, ds, None)
                if d is not None:
                    visit(getattr(d, "x", None))
                    visit(getattr(d, "y", None))
            curve = getattr(item, "curve", None)
            if curve is not None:
                visit(getattr(curve, "xData", None))
                visit(getattr(curve, "yData", None))
            scatter = getattr(item, "scatter", None)
            if scatter is not None:
                visit(getattr(scatter, "data", None))
    return sum(seen.values()), len(seen)


def scene_items(plots: Any) -> dict[str, int]:
    return {name: len(p.graphics.scene().items()) for name, p in plots.plots.items()
            if getattr(p, "graphics", None) is not None and p.graphics.scene() is not None}


# ----------------------------------------------------------------------------- the bench

class ThreadSwitches:
    """The training thread's voluntary context switches a second, read from
    /proc/self/task/TID/status at every metrics batch, the first and the last reading counted
    (Linux; NaN elsewhere).
    Each is the thread blocking, nearly always on the interpreter lock the GUI thread took: a
    steadier measure of the GUI's interference than the throughput ratio on a noisy machine."""

    def __init__(self) -> None:
        self.tid: str | None = None
        self.fd: int | None = None  # the thread's status file, kept open: one read a sample
        self.first: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None

    def _find(self) -> str | None:
        try:
            for tid in os.listdir("/proc/self/task"):
                with open(f"/proc/self/task/{tid}/comm", encoding="ascii") as f:
                    if f.read().strip() == "training":
                        return tid
        except OSError:
            return None
        return None

    def sample(self, _batch: Any = None) -> None:
        """At each metrics batch, in the GUI thread: one pread of the kept file (opening it
        each time cost the GUI thread more than the numbers it measures)."""
        if self.fd is None:
            self.tid = self._find()
            if self.tid is None:
                return
            try:
                self.fd = os.open(f"/proc/self/task/{self.tid}/status", os.O_RDONLY)
            except OSError:
                return
        try:
            text = os.pread(self.fd, 4096, 0).decode("ascii")
        except OSError:  # the thread has ended
            return
        key = "voluntary_ctxt_switches:"
        at = text.find(key)
        if at < 0:
            return
        n = int(text[at + len(key):].split(None, 1)[0])
        reading = (time.perf_counter(), n)
        if self.first is None:
            self.first = reading
        self.last = reading

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def per_second(self) -> float:
        if self.first is None or self.last is None or self.last[0] <= self.first[0]:
            return math.nan
        return (self.last[1] - self.first[1]) / (self.last[0] - self.first[0])


def reference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The headless reference of a window run between two headless runs: the geometric mean of
    their steps a second, the mean of their CPU seconds a step (as ``cpu`` over one step)."""
    return {"sps": math.sqrt(before["sps"] * after["sps"]), "steps": 1,
            "cpu": (before["cpu"] / before["steps"] + after["cpu"] / after["steps"]) / 2}


class Bench:
    def __init__(self, platform: str, quick: bool, rounds: int, wide: bool = False) -> None:
        self.wide = wide
        os.environ["QT_QPA_PLATFORM"] = platform
        os.environ.setdefault("LANG", "C.UTF-8")
        from PySide6.QtCore import QSettings, QStandardPaths
        from PySide6.QtWidgets import QApplication

        QStandardPaths.setTestModeEnabled(True)
        self.app = QApplication.instance() or QApplication([sys.argv[0], "-platform", platform])
        self.platform = platform
        self.quick = quick
        self.rounds = rounds
        self.tmp = tempfile.TemporaryDirectory(prefix="training_ui_bench_")
        from playground.ui.mainwindow import MainWindow

        settings = QSettings(str(Path(self.tmp.name) / "settings.ini"), QSettings.Format.IniFormat)
        self.win = MainWindow(settings)
        self.win.resize(*WINDOW)
        self.win.show()
        self.pump(0.3)
        if self.wide:
            opened = self.win.open_file(self._wide_graph())
        else:
            opened = self.win.open_example(EXAMPLE)
        if not opened:
            raise RuntimeError(f"cannot open the {EXAMPLE} example")
        self.pump(0.2)
        self.panel = self.win.training
        self.plots = self.win.plots
        p = self.panel
        if p.dataset.current_key() != DATASET:
            raise RuntimeError(f"{EXAMPLE} opened with dataset {p.dataset.current_key()!r}")
        if SAMPLES is not None:
            p.samples.setValue(SAMPLES)
        if wide:
            p.batch.setValue(WIDE_BATCH)
        self.session = self.win.session
        self.runner = self.session.runner
        self.live = self.win.live
        p.commit()
        self.train_rows = self.session.split().X_train.shape[0]
        p.epochs.setValue(EPOCHS // 2 if quick else EPOCHS)
        self.run_cap_s = 20.0  # a window run longer than this is stopped (see window_run)

    def _wide_graph(self) -> Path:
        """digits_mlp with WIDE_HIDDEN hidden units, written to the temporary directory."""
        from playground.resources import example_path

        doc = json.loads(Path(example_path(EXAMPLE)).read_text(encoding="utf-8"))
        shapes = {"W1": [64, WIDE_HIDDEN], "b1": [WIDE_HIDDEN], "W2": [WIDE_HIDDEN, 10]}
        nodes = doc["nodes"] if isinstance(doc["nodes"], list) else doc["nodes"].values()
        for node in nodes:
            if node.get("name") in shapes:
                node["params"]["shape"] = shapes[node["name"]]
        path = Path(self.tmp.name) / "digits_wide.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        return path

    def pump(self, seconds: float = 0.0) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        if seconds <= 0:
            self.app.processEvents()
            return
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    # -- the two kinds of run ------------------------------------------------------------
    def headless(self) -> dict[str, float]:
        """The panel's own split/config on a freshly compiled program, in this thread."""
        from threadpoolctl import threadpool_limits

        from playground.graph import compile_graph
        from playground.training import bind, train
        from playground.ui.training.worker import SMALL_MODEL_PARAMS

        self.panel.commit()
        program = compile_graph(self.session.root.model)
        data = self.session.split()
        config = self.session.run_config(reinit=True)
        binding = bind(program, data)
        size = sum(int(a.size) for a in program.param_arrays(trainable_only=False).values()
                   if a is not None)
        gc.collect()
        last = None
        cpu0 = time.thread_time()
        t0 = time.perf_counter()
        with threadpool_limits(1 if size < SMALL_MODEL_PARAMS else None):
            for m in train(program, data, config, binding):
                last = m
        wall = time.perf_counter() - t0
        assert last is not None
        return {"steps": last.step, "elapsed": last.elapsed, "sps": last.step / last.elapsed,
                "wall": wall, "cpu": time.thread_time() - cpu0,
                "final_loss": last.batch_loss}

    def window_run(self, tab: str, probe: bool = False,
                   on_metrics: Callable[[Any], None] | None = None,
                   timeout_s: float = 600.0, hide_plots: bool = False,
                   canvas: bool = True, rate: float | None = None) -> dict[str, Any]:
        """One run in the window with ``tab`` visible (``hide_plots``: the Plots dock hidden).
        A run longer than ``timeout_s`` is stopped: its steps/s is then that of a shorter run
        (the per-step plots cost more as the history grows, so it flatters the run)."""
        from PySide6.QtCore import QEventLoop, QTimer

        p, plots = self.panel, self.plots
        controller = self.runner.controller
        self.live.set_enabled(canvas)  # the canvas alive: values, flow, badges, unit maps
        controller.set_rate(rate)
        updates0 = len(self.live.shown_at)
        applied = [0]
        count = lambda: applied.__setitem__(0, applied[0] + 1)
        self.live.applied.connect(count)
        gc.collect()
        self.pump()
        loop = QEventLoop()
        reasons: list[str] = []

        def finished(reason: str) -> None:
            reasons.append(reason)
            loop.quit()

        controller.finished.connect(finished)
        switches = ThreadSwitches()
        controller.metrics.connect(switches.sample)
        if on_metrics is not None:
            controller.metrics.connect(on_metrics)  # after the runner's slot: history is fed
        lateness: list[float] = []
        probe_timer = probe_timer_into(lateness) if probe else None
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(lambda: (reasons.append("timeout"), controller.stop()))
        redraws0 = plots.plots[tab].redraws
        t0 = time.perf_counter()
        if not p.start(reinit=True):
            raise RuntimeError(f"the panel did not start: {p.status.text()}")
        start_s = time.perf_counter() - t0  # Train pressed → the thread launched
        cpu0, proc0 = time.thread_time(), time.process_time()  # after building the data
        i = plots.TAB_NAMES.index(tab)
        if not plots.tabs.isTabEnabled(i):
            raise RuntimeError(f"tab {tab} is disabled")
        plots.tabs.setCurrentIndex(i)
        if hide_plots:
            self.win.docks["plots"].hide()
        if probe_timer is not None:
            probe_timer.start()
        guard.start(int(min(timeout_s, self.run_cap_s if on_metrics is None else timeout_s) * 1000))
        loop.exec()
        wall = time.perf_counter() - t0
        guard.stop()
        if probe_timer is not None:
            probe_timer.stop()
        gui_cpu = time.thread_time() - cpu0
        proc_cpu = time.process_time() - proc0
        controller.finished.disconnect(finished)
        controller.metrics.disconnect(switches.sample)
        switches.close()
        if on_metrics is not None:
            controller.metrics.disconnect(on_metrics)
        self.live.applied.disconnect(count)
        self.pump()
        info = controller.info
        last = self.runner.history.last
        first = self.runner.history.step.view()[:1]
        if not reasons or reasons[0] not in ("completed", "timeout") or last is None:
            raise RuntimeError(f"the run did not complete: {reasons} {info}")
        visible = plots.isVisible() and self.win.docks["plots"].isVisible()
        if hide_plots:
            self.win.docks["plots"].show()
        elapsed = self.runner.history.elapsed.view()
        paced = ((last.step - int(first[0])) / (float(elapsed[-1]) - float(elapsed[0]))
                 if first.size and elapsed.size > 1 and elapsed[-1] > elapsed[0] else math.nan)
        controller.set_rate(None)
        self.live.set_enabled(True)
        return {"steps": last.step, "elapsed": last.elapsed, "sps": last.step / last.elapsed,
                "wall": wall, "gui_cpu": gui_cpu, "proc_cpu": proc_cpu,
                "plots_visible": visible, "tab": plots.TAB_NAMES[plots.tabs.currentIndex()],
                "emits": info.emits, "snapshots": info.snapshots,
                "snapshot_s": info.snapshot_seconds, "snapshot_max": info.snapshot_max,
                "lateness": lateness, "final_loss": last.batch_loss,
                "stopped_early": reasons[0] == "timeout", "redraw_interval_ms": plots.timer.interval(),
                "redraws": plots.plots[tab].redraws - redraws0, "gui_yields": info.gui_yields,
                "worker_cpu": info.cpu_seconds, "worker_wall": info.seconds,
                "canvas_updates": applied[0], "canvas_on": canvas, "paced_sps": paced,
                "canvas_shown": len(self.live.shown_at) - updates0,
                "worker_switches_per_s": switches.per_second(), "start_s": start_s}

    def idle_lateness(self, seconds: float = 2.0) -> list[float]:
        lateness: list[float] = []
        t = probe_timer_into(lateness)
        t.start()
        self.pump(seconds)
        t.stop()
        return lateness

    # -- 1 + 2 ----------------------------------------------------------------------------
    def bare(self) -> dict[str, Any]:
        """The worker thread alone: a TrainingController outside the window (no panel, no
        plots; the GUI thread only keeps the last batch), same program/data/config."""
        from PySide6.QtCore import QEventLoop

        from playground.graph import compile_graph
        from playground.training import bind
        from playground.ui.training.controller import TrainingController

        self.panel.commit()
        program = compile_graph(self.session.root.model)
        data = self.session.split()
        controller = TrainingController()
        controller.set_views(frozenset())  # no view is on screen: periodic snapshots are empty
        last: list[Any] = [None]
        controller.metrics.connect(lambda batch: last.__setitem__(0, batch[-1]))
        switches = ThreadSwitches()
        controller.metrics.connect(switches.sample)
        loop = QEventLoop()
        controller.finished.connect(lambda _reason: loop.quit())
        gc.collect()
        config, binding = self.session.run_config(reinit=True), bind(program, data)
        cpu0, proc0 = time.thread_time(), time.process_time()
        t0 = time.perf_counter()
        controller.start(program, data, config, binding)
        loop.exec()
        wall = time.perf_counter() - t0
        proc_cpu = time.process_time() - proc0
        m = last[0]
        info = controller.info
        controller.deleteLater()
        switches.close()
        return {"steps": m.step, "elapsed": m.elapsed, "sps": m.step / m.elapsed, "wall": wall,
                "worker_cpu": info.cpu_seconds, "worker_wall": info.seconds,
                "gui_cpu": time.thread_time() - cpu0, "proc_cpu": proc_cpu,
                "snapshot_s": info.snapshot_seconds,
                "redraws": 0, "stopped_early": False, "plots_visible": False, "tab": "",
                "worker_switches_per_s": switches.per_second()}

    def run_kind(self, kind: str, probe: bool = False) -> dict[str, Any]:
        """'headless', 'bare' (the worker alone), 'hidden' (window, Plots dock hidden) or a tab
        name."""
        if kind == "headless":
            return self.headless()
        if kind == "bare":
            return self.bare()
        if kind == "hidden":
            return self.window_run("Loss", probe=probe, hide_plots=True)
        if kind == "silent":
            return self.window_run("Loss", probe=probe, canvas=False)
        return self.window_run(kind, probe=probe)

    def throughput(self, kinds: list[str], log: Callable[[str], None],
                   bracket: bool = True) -> dict[str, Any]:
        """Rounds of one run of each kind. ``bracket``: a headless run before and after every
        window run, each window run compared with the geometric mean of the two around it (the
        machine's speed drifts over seconds: a reference taken up to six runs away spreads the
        ratios and, where the runs between leave the process slower, lowers them); else one
        headless run per round, as before. ``refs[k]``: the reference of each run of kind k."""
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        refs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds if k != "headless"}
        ratios: dict[str, list[float]] = {k: [] for k in kinds if k != "headless"}
        self.headless()  # warm-up (imports, caches), not counted
        self.window_run("Loss")
        window = [k for k in kinds if k != "headless"]
        last: dict[str, Any] | None = None
        for r in range(self.rounds):
            if bracket:
                shift = (r * 3) % max(1, len(window))
                order = window[shift:] + window[:shift]
                if last is None:
                    last = self.headless()
                    runs["headless"].append(last)
                for k in order:
                    got = self.run_kind(k)
                    after = self.headless()
                    runs[k].append(got)
                    runs["headless"].append(after)
                    refs[k].append(reference(last, after))
                    last = after
            else:
                shift = (r * 3) % len(kinds)
                got_all = {k: self.run_kind(k) for k in kinds[shift:] + kinds[:shift]}
                for k in kinds:
                    runs[k].append(got_all[k])
                for k in window:
                    refs[k].append(got_all["headless"])
            for k, values in ratios.items():
                values.append(runs[k][-1]["sps"] / refs[k][-1]["sps"])
            log(f"  round {r + 1}/{self.rounds}: "
                + ", ".join(f"{k} {runs[k][-1]['sps']:,.0f} / {refs[k][-1]['sps']:,.0f} "
                            f"({ratios[k][-1]:.3f}"
                            f"{', stopped at ' + format(runs[k][-1]['steps'], ',') if runs[k][-1].get('stopped_early') else ''})"
                            for k in ratios))
        return {"runs": runs, "ratios": ratios, "refs": refs}

    def responsiveness(self, kinds: list[str], log: Callable[[str], None]) -> dict[str, Any]:
        idle = self.idle_lateness(2.0)
        per_kind = {}
        for k in kinds:
            res = self.run_kind(k, probe=True)
            per_kind[k] = res
            lat = res["lateness"]
            log(f"  probe, {k}: {len(lat)} ticks, p50 {percentile(lat, 50):.1f} ms, "
                f"p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms "
                f"({res['sps']:,.0f} steps/s with the probe"
                f"{', stopped early' if res['stopped_early'] else ''})")
        return {"idle": idle, "per_kind": per_kind}

    # -- 3 ----------------------------------------------------------------------------------
    def visit_tabs(self) -> None:
        plots = self.plots
        current = plots.tabs.currentIndex()
        for i in range(len(plots.TAB_NAMES)):
            if plots.tabs.isTabEnabled(i):
                plots.tabs.setCurrentIndex(i)  # currentChanged → redraw of that tab
                plots.redraw()
                self.app.processEvents()  # paint it
        plots.tabs.setCurrentIndex(current)
        plots.redraw()
        self.app.processEvents()

    def memory(self, total_steps: int, log: Callable[[str], None], label: str) -> dict[str, Any]:
        p = self.panel
        spe = math.ceil(self.train_rows / p.batch.value())
        saved_epochs = p.epochs.value()
        p.epochs.setValue(math.ceil(total_steps / spe))
        marks = [c for c in CHECKPOINTS if c <= total_steps]
        points: list[dict[str, Any]] = []
        types_at: dict[int, collections.Counter[str]] = {}

        busy = [False]

        def on_metrics(batch: Any) -> None:
            if busy[0] or not batch:  # visit_tabs() processes events: a nested delivery
                return
            n = batch[-1].step  # not len(history): the history thins its rows
            busy[0] = True
            try:
                check(n)
            finally:
                busy[0] = False

        def check(n: int) -> None:
            while marks and n >= marks[0]:
                mark = marks.pop(0)
                t0 = time.perf_counter()
                self.visit_tabs()
                alloc, filled = history_bytes(self.runner.history)
                held, buffers = plot_arrays(self.plots, self.runner.history)
                gc.collect()
                objects = gc.get_objects()
                if mark in (1_000, total_steps):
                    types_at[mark] = collections.Counter(type(o).__name__ for o in objects)
                points.append({"mark": mark, "steps": n, "rss_mb": rss_mb(),
                               "history_alloc": alloc, "history_filled": filled,
                               "plot_held": held, "plot_buffers": buffers,
                               "objects": len(objects), "items": scene_items(self.plots),
                               "lr_lines": len(self.plots.loss.lr_lines),
                               "pause_ms": 1000 * (time.perf_counter() - t0)})
                del objects

        try:
            res = self.window_run("Loss", on_metrics=on_metrics, timeout_s=900)
        finally:
            p.epochs.setValue(saved_epochs)
        self.visit_tabs()
        end = {"rss_mb": rss_mb(), "history": history_bytes(self.runner.history)}
        gc.collect()
        end["rss_gc_mb"] = rss_mb()
        end["trimmed"] = malloc_trim()
        end["rss_trim_mb"] = rss_mb()
        growth = []
        if len(types_at) == 2:
            a, b = types_at[1_000], types_at[total_steps]
            growth = sorted(((k, b[k] - a[k]) for k in set(a) | set(b) if b[k] - a[k]),
                            key=lambda kv: -abs(kv[1]))[:8]
        for pt in points:
            log(f"  [{label}] {pt['steps']:>7,} steps: RSS {pt['rss_mb']:7.1f} MB, history "
                f"{pt['history_alloc'] / 1e6:6.2f} MB alloc ({pt['history_filled'] / 1e6:5.2f} "
                f"filled), plots hold {pt['plot_held'] / 1e6:5.2f} MB in {pt['plot_buffers']} "
                f"buffers, {pt['objects']:,} objects")
        return {"points": points, "end": end, "run": res, "type_growth": growth,
                "total_steps": total_steps}


KIND_LABELS = {"bare": "worker thread alone (no window)", "hidden": "window, Plots dock hidden",
               "silent": "window, Loss tab, canvas silent (live canvas off)",
               **{t: f"window, {t} tab" for setup in SETUPS.values() for t in setup[4]}}


def kind_key(kind: str) -> str:
    if kind == "hidden":
        return "plots_hidden"
    if kind == "bare":
        return "worker_alone"
    if kind == "silent":
        return "canvas_silent"
    return f"{kind.lower()}_tab"


def summarise_memory(mem: dict[str, Any], prefix: str) -> dict[str, Any]:
    pts = {pt["mark"]: pt for pt in mem["points"]}
    lo, hi = pts.get(1_000), pts.get(mem["total_steps"])
    if lo is None or hi is None:
        return {}
    d_rss = hi["rss_mb"] - lo["rss_mb"]
    d_hist = (hi["history_alloc"] - lo["history_alloc"]) / 2**20
    d_plot = (hi["plot_held"] - lo["plot_held"]) / 2**20
    k = f"{hi['mark'] // 1000}k"
    return {
        f"{prefix}rss_1k_mb": round(lo["rss_mb"], 1),
        f"{prefix}rss_{k}_mb": round(hi["rss_mb"], 1),
        f"{prefix}rss_ratio_{k}_vs_1k": round(hi["rss_mb"] / lo["rss_mb"], 4),
        f"{prefix}rss_growth_mb": round(d_rss, 1),
        f"{prefix}history_growth_mb": round(d_hist, 2),
        f"{prefix}history_bytes_per_step": round(hi["history_filled"] / max(hi["steps"], 1), 1),
        f"{prefix}plot_held_growth_mb": round(d_plot, 2),
        f"{prefix}unexplained_growth_mb": round(d_rss - d_hist - d_plot, 1),
        f"{prefix}rss_ratio_{k}_vs_1k_without_history":
            round((hi["rss_mb"] - d_hist) / lo["rss_mb"], 4),
        f"{prefix}rss_end_after_gc_trim_mb": round(mem["end"]["rss_trim_mb"], 1),
        f"{prefix}objects_growth": hi["objects"] - lo["objects"],
        f"{prefix}scene_items_growth": sum(hi["items"].values()) - sum(lo["items"].values()),
        f"{prefix}run_sps": round(mem["run"]["sps"], 0),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object of named figures")
    ap.add_argument("--example", default="moons", choices=tuple(SETUPS),
                    help="moons: moons_mlp on 20,000 samples (default); digits: digits_mlp; "
                         f"wide: digits_mlp with {WIDE_HIDDEN:,} hidden units, batch {WIDE_BATCH}")
    ap.add_argument("--batch", type=int, default=None, help="batch size (default: the example's)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per run (default: the setup's)")
    ap.add_argument("--platform", default="offscreen", choices=("offscreen", "xcb"))
    ap.add_argument("--quick", action="store_true",
                    help="shorter runs (30 epochs), 2 rounds, memory to 20,000 steps")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved throughput rounds")
    ap.add_argument("--switch-interval", type=float, default=0.001,
                    help="sys.setswitchinterval, as playground.ui.app.main sets it (default 0.001)")
    ap.add_argument("--redraw-budget", type=float, default=None,
                    help="override playground.ui.training.plots.REDRAW_BUDGET (to tune it)")
    ap.add_argument("--reference", default="bracket", choices=("bracket", "round"),
                    help="bracket (default): a headless run before and after every window run, "
                         "the ratio against their geometric mean; round: one headless run per "
                         "round (the reference up to six runs away)")
    ap.add_argument("--kinds", default="", help="throughput kinds to run (default all): "
                                                "bare,hidden,Loss,Gradients,Boundary")
    ap.add_argument("--skip", default="",
                    help="comma list of parts to skip: throughput,probe,slowmo,memory")
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    global EXAMPLE, DATASET, SAMPLES, EPOCHS, TABS, ARGS_EXAMPLE
    EXAMPLE, DATASET, SAMPLES, EPOCHS, TABS = SETUPS[args.example]
    ARGS_EXAMPLE = args.example
    rounds = args.rounds or (2 if args.quick else ROUNDS)
    total_steps = 20_000 if args.quick else 100_000

    def log(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    sys.setswitchinterval(args.switch_interval)
    from playground.ui.training import plots as plots_module

    if args.redraw_budget is not None:
        plots_module.REDRAW_BUDGET = args.redraw_budget
    bench = Bench(args.platform, args.quick, rounds, wide=args.example == "wide")
    if args.batch is not None:
        bench.panel.batch.setValue(args.batch)
    if args.epochs is not None:
        bench.panel.epochs.setValue(args.epochs)
    figures: dict[str, Any] = {"platform": args.platform, "quick": args.quick,
                               "example": EXAMPLE, "samples": SAMPLES, "epochs": bench.panel.epochs.value(),
                               "rounds": rounds, "switch_interval": sys.getswitchinterval(),
                               "commit": git_commit(), "redraw_budget": plots_module.REDRAW_BUDGET}
    log(f"{EXAMPLE}, {bench.train_rows:,} training rows, {bench.panel.epochs.value()} epochs, batch "
        f"{bench.panel.batch.value()}, platform {args.platform}, {os.cpu_count()} CPUs, "
        f"commit {figures['commit']}")

    kinds = ["headless", "bare", "hidden", "silent", *TABS]
    if args.kinds:
        kinds = ["headless", *(k for k in args.kinds.split(",") if k and k != "headless")]
    if "throughput" not in skip:
        log("1. throughput (interleaved rounds)")
        tp = bench.throughput(kinds, log, bracket=args.reference == "bracket")
        figures["reference"] = args.reference
        hl = tp["runs"]["headless"]
        figures["headless_sps"] = round(median([r["sps"] for r in hl]), 0)
        for k in kinds[1:]:
            key = kind_key(k)
            w = tp["runs"][k]
            figures[f"window_sps_{key}"] = round(median([r["sps"] for r in w]), 0)
            figures[f"throughput_ratio_{key}"] = round(median(tp["ratios"][k]), 4)
            figures[f"throughput_ratio_{key}_rounds"] = [round(x, 4) for x in tp["ratios"][k]]
            lo, hi, conf = median_interval(tp["ratios"][k])
            figures[f"throughput_ratio_{key}_interval"] = [round(lo, 4), round(hi, 4), round(conf, 3)]
            figures[f"gui_cpu_share_{key}"] = round(median([r["gui_cpu"] / r["wall"] for r in w]), 4)
            # noise-robust estimate: headless CPU per step ÷ the whole process's CPU per step
            # (as if every GUI-thread CPU second held the GIL and stalled the worker)
            figures[f"cpu_ratio_{key}"] = round(median(
                [(h["cpu"] / h["steps"]) / (r["proc_cpu"] / r["steps"]) for h, r in zip(tp["refs"][k], w, strict=True)]), 4)
            figures[f"snapshot_share_{key}"] = round(median([r["snapshot_s"] / r["elapsed"] for r in w]), 4)
            figures[f"redraws_per_s_{key}"] = round(median([r["redraws"] / r["wall"] for r in w]), 1)
            # the training thread's CPU time / its wall time (below 1: it waited for the GIL
            # or the CPU), and its CPU time per step ÷ headless (above 1: each step got slower)
            figures[f"worker_cpu_share_{key}"] = round(median(
                [r["worker_cpu"] / r["worker_wall"] for r in w]), 4)
            figures[f"worker_cpu_per_step_vs_headless_{key}"] = round(median(
                [(r["worker_cpu"] / r["steps"]) / (h["cpu"] / h["steps"]) for h, r in zip(tp["refs"][k], w, strict=True)]), 4)
            figures[f"gui_yield_share_{key}"] = round(median(
                [r.get("gui_yields", 0) / r["steps"] for r in w]), 4)
            # the training thread blocking (nearly always on the lock the GUI thread took)
            figures[f"worker_switches_per_s_{key}"] = round(median(
                [r.get("worker_switches_per_s", math.nan) for r in w]), 1)
            if k != "bare":  # how long Train takes to start a run (old runs kept: up to 5)
                figures[f"start_ms_{key}"] = round(1000 * median([r["start_s"] for r in w]), 1)
            if k not in ("bare", "hidden", "silent"):  # the canvas is alive in these
                figures[f"canvas_updates_per_s_{key}"] = round(median(
                    [r["canvas_updates"] / r["wall"] for r in w]), 2)
            if any(r["stopped_early"] for r in w):
                figures[f"stopped_early_{key}"] = [r["steps"] for r in w if r["stopped_early"]]
            if k in TABS and not all(r["plots_visible"] and r["tab"] == k for r in w):
                figures[f"warning_{key}"] = "the plots were not visible on this tab during a run"
        if all(k in kinds for k in TABS):
            figures["throughput_ratio_min_tab"] = min(
                figures[f"throughput_ratio_{kind_key(k)}"] for k in TABS)
        if "Loss" in kinds:
            # the named figures: the canvas alive (values, flow, badges, unit maps) with
            # the Loss tab visible, and the same window with the live canvas switched off
            figures["throughput_ratio_canvas_alive"] = figures["throughput_ratio_loss_tab"]
            figures["target_canvas_alive"] = TARGET_ALIVE[ARGS_EXAMPLE]
            figures["canvas_updates_per_s"] = figures["canvas_updates_per_s_loss_tab"]
            if "silent" in kinds:
                figures["throughput_alive_over_silent"] = round(median(
                    [a["sps"] / b["sps"] for a, b in zip(tp["runs"]["Loss"], tp["runs"]["silent"],
                                                         strict=True)]), 4)

    if "probe" not in skip:
        log("2. responsiveness (10 ms probe timer in the GUI thread)")
        rs = bench.responsiveness(list(TABS), log)
        pooled = [x for k in TABS for x in rs["per_kind"][k]["lateness"]]
        figures["timer_lateness_p50_ms"] = round(percentile(pooled, 50), 2)
        figures["timer_lateness_p99_ms"] = round(percentile(pooled, 99), 2)
        figures["timer_lateness_max_ms"] = round(max(pooled), 2)
        for k in TABS:
            lat = rs["per_kind"][k]["lateness"]
            figures[f"timer_lateness_p99_ms_{kind_key(k)}"] = round(percentile(lat, 99), 2)
            figures[f"timer_lateness_max_ms_{kind_key(k)}"] = round(max(lat), 2)
            figures[f"probe_run_sps_{kind_key(k)}"] = round(rs["per_kind"][k]["sps"], 0)
        figures["timer_lateness_idle_p99_ms"] = round(percentile(rs["idle"], 99), 2)
        figures["timer_lateness_idle_max_ms"] = round(max(rs["idle"]), 2)

    if "slowmo" not in skip:
        log("2b. slow motion: the achieved rate at N steps a second (the trainer's own clock)")
        for n in SLOW_RATES:
            res = bench.window_run("Loss", rate=float(n), timeout_s=SLOW_SECONDS)
            got = res["paced_sps"]
            figures[f"slow_motion_rate_{n}"] = round(got, 3)
            figures[f"slow_motion_error_{n}"] = round(abs(got / n - 1.0), 4)
            figures[f"slow_motion_canvas_updates_per_step_{n}"] = round(
                res["canvas_updates"] / max(res["steps"], 1), 3)
            log(f"  {n} steps/s asked: {got:.3f} achieved over {res['steps']} steps "
                f"({100 * abs(got / n - 1):.2f}% off); canvas updates per step "
                f"{res['canvas_updates'] / max(res['steps'], 1):.2f}")
        figures["slow_motion_error_max"] = max(figures[f"slow_motion_error_{n}"]
                                               for n in SLOW_RATES)

    if "memory" not in skip:
        log(f"3. memory: one run of {total_steps:,} steps, plots on")
        mem = bench.memory(total_steps, log, "memory")
        figures.update(summarise_memory(mem, ""))
        figures["type_growth_top"] = [f"{k}:{v:+d}" for k, v in mem["type_growth"]]
        figures["lr_lines_end"] = mem["points"][-1]["lr_lines"] if mem["points"] else None

    bench.runner.stop()
    bench.win.document.forget_changes()  # trained: it would ask to save
    bench.win.close()
    bench.app.processEvents()

    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures)
    return 0


def print_table(f: dict[str, Any]) -> None:
    def row(name: str, value: Any, target: str = "", ok: bool | None = None) -> None:
        mark = "" if ok is None else ("  ok" if ok else "  MISSED")
        print(f"  {name:<58} {value!s:>14}  {target}{mark}")

    print()
    print(f"Training UI benchmark ({f['platform']}{', quick' if f['quick'] else ''}, "
          f"commit {f.get('commit', '')})")
    if "headless_sps" in f:
        print("Throughput (median of interleaved rounds; steps/s = step / the records' elapsed)")
        row("headless (train() in the main thread, 1 BLAS thread)", f"{f['headless_sps']:,.0f}")
        for k in ["bare", "hidden", *TABS]:
            key = kind_key(k)
            if f"throughput_ratio_{key}" not in f:
                continue
            r = f[f"throughput_ratio_{key}"]
            target = TARGET_ALIVE[ARGS_EXAMPLE] if k == "Loss" else TARGET_RATIO
            ok = r >= target if k in TABS else None
            row(f"{KIND_LABELS.get(k, k)}: steps/s", f"{f[f'window_sps_{key}']:,.0f}")
            row("  ratio window/headless", f"{r:.3f}", f">= {target}", ok)
            row("  rounds", " ".join(f"{x:.3f}" for x in f[f"throughput_ratio_{key}_rounds"]))
            lo, hi, conf = f[f"throughput_ratio_{key}_interval"]
            row(f"  the median lies in ({conf:.0%} confidence, order statistics)", f"{lo:.3f}..{hi:.3f}")
            row("  CPU-based estimate (headless CPU/step ÷ process CPU/step)", f"{f[f'cpu_ratio_{key}']:.3f}")
            row("  GUI thread CPU / wall; redraws/s",
                f"{f[f'gui_cpu_share_{key}']:.3f}; {f[f'redraws_per_s_{key}']:.1f}")
            row("  worker snapshot time / run time", f"{f[f'snapshot_share_{key}']:.3f}")
            row("  training thread CPU / wall; its CPU per step ÷ headless",
                f"{f[f'worker_cpu_share_{key}']:.3f}; {f[f'worker_cpu_per_step_vs_headless_{key}']:.3f}")
            row("  steps after which the worker yielded to a lagging GUI", f"{f[f'gui_yield_share_{key}']:.3f}")
            row("  training thread's voluntary context switches a second",
                f"{f[f'worker_switches_per_s_{key}']:.0f}")
            if f"start_ms_{key}" in f:
                row("  Train pressed → run launched (ms)", f"{f[f'start_ms_{key}']:.1f}")
            if f"stopped_early_{key}" in f:
                row("  stopped early (20 s cap) at steps", str(f[f"stopped_early_{key}"]))
    if "canvas_updates_per_s" in f:
        print("The canvas alive (values, flow, badges, unit maps), Loss tab visible, full speed")
        r = f["throughput_ratio_canvas_alive"]
        target = TARGET_ALIVE[ARGS_EXAMPLE]
        row("throughput ratio window/headless, canvas alive", f"{r:.3f}", f">= {target}",
            r >= target)
        if "throughput_ratio_loss_tab_interval" in f:
            lo, hi, conf = f["throughput_ratio_loss_tab_interval"]
            row(f"  the median lies in ({conf:.0%} confidence)", f"{lo:.3f}..{hi:.3f}")
        if "throughput_ratio_canvas_silent" in f:
            row("throughput ratio window/headless, canvas silent",
                f"{f['throughput_ratio_canvas_silent']:.3f}")
            row("  alive ÷ silent (same rounds)", f"{f['throughput_alive_over_silent']:.3f}")
        u = f["canvas_updates_per_s"]
        if DATASET == "moons":  # the target is the unit maps' (2-D data): others get histograms
            row("canvas (unit map) updates per second", f"{u:.1f}", f">= {TARGET_CANVAS_UPDATES}",
                u >= TARGET_CANVAS_UPDATES)
        else:
            row("canvas (histogram) updates per second (no target: no unit maps)", f"{u:.1f}")
    if "slow_motion_error_max" in f:
        print("Slow motion (achieved rate on the trainer's clock)")
        for n in SLOW_RATES:
            e = f[f"slow_motion_error_{n}"]
            row(f"{n} steps/s asked: achieved", f"{f[f'slow_motion_rate_{n}']:.3f}",
                f"within {TARGET_SLOW_ERROR:.0%}", e <= TARGET_SLOW_ERROR)
            row("  canvas updates per step", f"{f[f'slow_motion_canvas_updates_per_step_{n}']:.2f}")
    if "timer_lateness_p99_ms" in f:
        print("GUI responsiveness (10 ms timer lateness during runs with plots on)")
        row("idle p99 / max (ms)", f"{f['timer_lateness_idle_p99_ms']:.1f} / {f['timer_lateness_idle_max_ms']:.1f}")
        row("training: p50 / max (ms)", f"{f['timer_lateness_p50_ms']:.1f} / {f['timer_lateness_max_ms']:.1f}")
        p99 = f["timer_lateness_p99_ms"]
        row("training: p99 (ms), 3 tabs pooled", f"{p99:.1f}", f"<= {TARGET_P99_MS}", p99 <= TARGET_P99_MS)
        for k in TABS:
            key = kind_key(k)
            row(f"  {KIND_LABELS[k]} p99 / max (ms)",
                f"{f[f'timer_lateness_p99_ms_{key}']:.1f} / {f[f'timer_lateness_max_ms_{key}']:.1f}")
    keys = [k for k in f if k.startswith("rss_ratio_") and not k.endswith("_history")]
    if keys:
        print("Memory")
        big = keys[0].split("_")[-3]
        r = f[keys[0]]
        row("RSS after 1k steps (MB)", f["rss_1k_mb"])
        row(f"RSS after {big} steps (MB)", f[f"rss_{big}_mb"])
        row(f"RSS ratio {big}/1k", f"{r:.4f}", f"<= {TARGET_RSS_RATIO}", r <= TARGET_RSS_RATIO)
        row("  growth (MB)", f["rss_growth_mb"])
        row("  of which history arrays (MB)", f["history_growth_mb"])
        row("  of which arrays held by the plots (MB)", f["plot_held_growth_mb"])
        row("  unexplained (MB)", f["unexplained_growth_mb"])
        row("  history bytes per step (filled)", f["history_bytes_per_step"])
        row("  Python objects growth", f["objects_growth"])
        row("  scene items growth", f["scene_items_growth"])
        row("  RSS at the end after gc + malloc_trim (MB)", f["rss_end_after_gc_trim_mb"])
        row("  steps/s of this run", f"{f['run_sps']:,.0f}")
    if f.get("type_growth_top"):
        print("  object types that grew 1k → end: " + ", ".join(f["type_growth_top"]))


if __name__ == "__main__":
    sys.exit(main())
