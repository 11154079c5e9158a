"""The training worker thread and its GUI-side controller.

``TrainingWorker`` is a QObject moved to a QThread. Its :meth:`~TrainingWorker.run` iterates
``Trainer.steps()`` (the plain training generator) and, between two steps, reads flags the GUI
thread sets through :class:`threading.Event` objects: a queued slot would never run while the
worker loops. It hands the GUI immutable things only:

- ``metrics``: a tuple of frozen :class:`~playground.training.Metrics` records, batched and
  emitted at most 8 times a second (a signal per step would halve the throughput), and always
  flushed before a pause, the end or a failure;
- ``snapshot``: a :class:`ViewSnapshot` computed in the worker thread every ~0.18 s and on pause,
  end and failure: copies of the parameters plus what the views need (decision-boundary grid,
  validation predictions for a confusion matrix, a few sample images with their predictions).

``TrainingController`` lives in the GUI thread, owns the QThread and the worker, and re-emits
the worker's signals there. Threading rules (ARCHITECTURE.md §5 and §9):

- while a run is live and not paused, the GUI never touches the program's arrays or the trainer;
  it works on the copies it receives;
- while :attr:`TrainingController.paused` is True the worker is blocked on an event and will
  stay blocked until the GUI thread itself calls ``resume``/``step_once``/``step_epoch``/``stop``,
  so the GUI may read (not resize) program values, gradients and parameters then;
- the thread is never terminated: ``stop`` sets an event, wakes a paused worker and waits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import time
import traceback
from collections.abc import Generator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from ...engine import Program
from ...training import Binding, Metrics, TrainConfig, Trainer, TrainingError
from ...training.datasets import Split
from .history import MetricsBatch
from .live_data import WIRES_INTERVAL
from .snapshots import (
    GRID_SIZE,
    SAMPLE_COUNT,
    VIEWS,
    SnapshotFn,
    make_view_snapshot,
    snapshot_from,
    view_fields,
)
from .stepgate import STEP_GATE

__all__ = [
    "GRID_SIZE", "SAMPLE_COUNT", "SMALL_MODEL_PARAMS", "VIEWS", "RunInfo", "SnapshotFn",
    "TrainingWorker", "make_view_snapshot", "view_fields",
]

# seconds between two metrics batches: 4 a second, the rate at which the run bar and the
# progress show them (each batch costs the training thread a wake-up of the GUI thread and the
# GIL for the slots that handle it: at 8 a second the window ran ~1.5% slower)
EMIT_INTERVAL = 1 / 4
# seconds between two periodic view snapshots (~5.5 a second: the unit maps are asked to
# refresh at least 5 times a second, and each refresh costs the training thread GIL time)
SNAPSHOT_INTERVAL = 0.175
# at this many steps a second or fewer (slow motion) every step is shown: its metrics and a
# snapshot go out after it
EVERY_STEP_RATE = 30.0


def every_step(rate: float | None) -> bool:
    """A run at ``rate`` steps a second (None: as fast as possible) is in slow motion: each of
    its steps is shown (metrics, canvas, plots, run bar)."""
    return rate is not None and rate <= EVERY_STEP_RATE
MAX_BEHIND = 0.5  # seconds: a paced run this far behind its schedule starts a new one
# periodic snapshots may take at most this share of the run's time (a large model's snapshot
# costs tens of milliseconds: its canvas then updates a couple of times a second)
SNAPSHOT_BUDGET = 0.03
SMALL_MODEL_PARAMS = 200_000  # below this many parameter elements, use one BLAS thread
# seconds: a metrics batch still unhandled by the GUI thread this long after it was sent means
# the GUI thread is behind (it handles one within milliseconds when it gets the GIL)
GUI_LAG = 0.125

# ---------------------------------------------------------------- the worker

@dataclass
class RunInfo:
    """Plain facts about one run, readable from the GUI thread after it ends."""

    reason: str = ""  # 'completed', 'stopped' or 'failed' once finished
    message: str = ""  # the failure message
    node: str = ""  # the node a TrainingError named
    last_traceback: str = ""  # of an unexpected exception
    steps: int = 0
    emits: int = 0  # metrics batches emitted
    snapshots: int = 0
    snapshot_seconds: float = 0.0  # total time spent computing snapshots
    snapshot_max: float = 0.0
    blas_limited: bool = False
    gui_yields: int = 0  # steps after which the worker handed the GIL to a lagging GUI thread
    seconds: float = 0.0  # wall time of run()
    cpu_seconds: float = 0.0  # CPU time of the training thread in run() (less: it waited)


class TrainingWorker(QObject):
    """Runs one training run in the thread it was moved to. Build it in the GUI thread (the
    :class:`Trainer` is made here, so a graph that cannot train raises :class:`TrainingError`
    at once), move it to a QThread, connect ``QThread.started`` to :meth:`run`.

    The ``request_*`` methods are the only ones the GUI thread calls while it runs."""

    metrics = Signal(object)  # MetricsBatch: a tuple[Metrics, ...] with columns
    snapshot = Signal(object)  # ViewSnapshot
    paused_at = Signal(int)  # steps done when the worker blocked
    resumed = Signal()
    lr_changed = Signal(int, float)  # (first step with the new lr, lr)
    failed = Signal(str, str)  # (message, node or '')
    finished = Signal(str)  # 'completed', 'stopped' or 'failed'; always the last signal

    def __init__(self, program: Program, split: Split, config: TrainConfig,
                 binding: Binding | None = None, *, start_paused: bool = False,
                 mode: str = "run", snapshot_fn: SnapshotFn | None = None, emit_interval: float = EMIT_INTERVAL,
                 snapshot_interval: float = SNAPSHOT_INTERVAL) -> None:
        super().__init__()
        self.program = program
        self.trainer = Trainer(program, split, config, binding)
        self.snapshot_fn = snapshot_fn
        self.emit_interval = float(emit_interval)
        self.snapshot_interval = float(snapshot_interval)
        self.info = RunInfo()
        self.last_traceback = ""
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._wake = threading.Event()
        self._blocked = threading.Event()
        if start_paused:
            self._pause.set()
        if mode not in ("run", "step", "epoch"):
            raise ValueError(f"unknown run mode {mode!r}")
        # 'run', 'step' (pause after one step) or 'epoch' (after an epoch end)
        self._mode = mode
        # steps a second (None: as fast as possible), one store by the GUI thread
        self.rate: float | None = None
        self._lr_request: tuple[int, float] | None = None  # (sequence number, lr), set atomically
        self._lr_seen: tuple[int, float] | None = None
        self._lr_seq = 0
        self._pending: list[Metrics] = []
        self._full_at = -1  # step of the last full snapshot, -1 when the last one was not full
        self._wires_at = -math.inf  # perf_counter() of the last snapshot with the wires' numbers
        # the number of the last metrics batch the GUI thread has handled (TrainingController
        # stores it, one atomic int store; the worker only reads it): batches are numbered
        # from 1, so ``sent - acked`` is how many wait in the GUI's queue
        self.acked = 0
        self._sent = 0
        self._sent_at: dict[int, float] = {}  # perf_counter() when each unhandled batch was sent
        # the views a periodic snapshot must serve (see VIEWS; None: all), set by the GUI
        # thread with one store; pause, end and failure snapshots always have everything
        self.views: frozenset[str] | None = None
        # seconds the GUI takes between two canvas updates (it paces them by their cost), one
        # store by the GUI thread: periodic snapshots come no faster (one the GUI would only
        # replace by the next before showing it costs the training thread for nothing)
        self.gui_interval = 0.0

    # -- called from the GUI thread -----------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request_pause(self) -> None:
        self._mode = "run"
        self._pause.set()
        self._wake.set()  # a slow-motion worker waiting for its next step pauses at once

    def request_resume(self, mode: str = "run") -> None:
        self._mode = mode
        self._pause.clear()
        self._wake.set()

    def request_lr(self, lr: float) -> None:
        self._lr_seq += 1
        self._lr_request = (self._lr_seq, float(lr))  # one atomic store, read once per step
        self._wake.set()  # a paused worker applies it at once and reports lr_changed

    def request_rate(self, rate: float | None) -> None:
        """Run at ``rate`` steps a second (None: as fast as possible), from the next step on."""
        self.rate = None if rate is None else float(rate)
        self._wake.set()  # a worker waiting for its next step looks at the new rate

    @property
    def is_paused(self) -> bool:
        """Blocked, and staying blocked until the GUI thread changes a flag."""
        return self._blocked.is_set() and self._pause.is_set() and not self._stop.is_set()

    # -- the worker thread --------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        info = self.info
        t0, cpu0 = time.perf_counter(), time.thread_time()
        reason = "failed"
        try:
            with self._blas_limits():
                reason = self._loop()
        except TrainingError as exc:
            info.message, info.node = str(exc), exc.node or ""
            self._flush()
            self._snapshot_quietly()
            self.failed.emit(info.message, info.node)
        except Exception as exc:  # noqa: BLE001 - a bug or broken op: report it, app lives on
            info.last_traceback = self.last_traceback = traceback.format_exc()
            info.message = f"unexpected error: {exc}"
            self._flush()
            self._snapshot_quietly()
            self.failed.emit(info.message, "")
        finally:
            info.reason = reason
            info.steps = self.trainer.step_count
            info.seconds = time.perf_counter() - t0
            info.cpu_seconds = time.thread_time() - cpu0
            self.finished.emit(reason)
            thread = QThread.currentThread()
            app = QCoreApplication.instance()
            if app is not None and thread is not app.thread():
                # hand the worker back to the GUI thread, which deletes it (no Qt object is
                # destroyed off the GUI thread), then end this thread's event loop: exec()
                # returns as soon as run() does
                self.moveToThread(app.thread())
                thread.quit()
            elif app is None:
                thread.quit()

    def _blas_limits(self) -> contextlib.AbstractContextManager[Any]:
        size = sum(int(a.size) for a in self.program.param_arrays(trainable_only=False).values()
                   if a is not None)
        if size >= SMALL_MODEL_PARAMS:
            return contextlib.nullcontext()
        from threadpoolctl import threadpool_limits

        self.info.blas_limited = True
        return threadpool_limits(1)

    def _loop(self) -> str:
        trainer = self.trainer
        cfg = trainer.config
        stop, pause, pending = self._stop, self._pause, self._pending
        clock = time.perf_counter
        emit_every = self.emit_interval
        steps: Generator[Metrics, None, None] = trainer.steps()
        now = clock()
        next_emit, next_snap = now + emit_every, now + self.snapshot_interval
        pace: tuple[float, float] | None = None  # (rate, time the next step is due)
        gate_pass = STEP_GATE.pass_through
        try:
            while True:
                if stop.is_set():
                    self._flush()
                    self._final_snapshot()
                    return "stopped"
                if pause.is_set():
                    self._pause_here()
                    now = clock()
                    next_emit, next_snap = now + emit_every, now + self.snapshot_interval
                    pace = None
                    continue  # look at the stop flag again
                rate = self.rate
                if rate is not None and rate > 0:
                    if pace is None or pace[0] != rate:
                        pace = (rate, clock())  # a new schedule: this step is due now
                    if not self._wait_until(pace[1]):
                        continue  # woken: stop, pause or a new rate
                    due = pace[1] + 1.0 / rate
                    # far behind (a slow step, a busy machine): start a new schedule rather
                    # than rush to catch up
                    pace = (rate, due if clock() - due < MAX_BEHIND else clock())
                else:
                    pace = None
                if self._lr_request is not self._lr_seen:
                    self._apply_lr()
                gate_pass()  # a live plot's burst in the GUI thread: wait for its end here
                m = next(steps, None)
                if m is None:
                    break
                pending.append(m)
                now = clock()
                if (self._sent != self.acked
                        and now - self._sent_at.get(self.acked + 1, now) >= GUI_LAG):
                    # the GUI thread is behind (its next batch waits unhandled):
                    # every Python callback it makes (each paint method, each slot) needs the
                    # GIL, and a busy worker hands it over only every switch interval.
                    # sleep(0) releases it for ~80 µs, so hand it over each step until the GUI
                    # has caught up (while it keeps up this costs nothing: an unconditional
                    # sleep(0) would cost ~40% of a small model's steps). The GUI needs no
                    # timer of its own for this: its acknowledgements come with the batches
                    # it handles anyway, and every wake-up of the GUI thread costs the worker
                    # ~0.1 ms of handing the GIL back and forth
                    time.sleep(0)
                    self.info.gui_yields += 1
                mode = self._mode
                if mode != "run" and (mode == "step" or m.epoch_end):
                    last = (m.epoch_end and m.epoch >= cfg.epochs) or (
                        cfg.max_steps is not None and m.step >= cfg.max_steps)
                    if not last:  # the generator is done after the last step: finish instead
                        self._mode = "run"
                        pause.set()
                if every_step(rate) and not pause.is_set():
                    # slow motion: every step is shown (a pause shows it anyway)
                    self._flush()
                    self._emit_snapshot(full=False)
                    now = clock()
                    next_emit, next_snap = now + emit_every, now + self.snapshot_interval
                    continue
                if now >= next_emit:
                    self._flush()
                    next_emit = now + emit_every
                if now >= next_snap:
                    cost = self._emit_snapshot(full=False)
                    # never spend more than SNAPSHOT_BUDGET of the time on periodic snapshots
                    # (an interval <= 0 means after every step: for tests and debugging)
                    if self.snapshot_interval > 0:
                        next_snap = clock() + max(self.snapshot_interval, cost / SNAPSHOT_BUDGET,
                                                  self.gui_interval)
        finally:
            steps.close()
        self._flush()
        self._final_snapshot()
        return "completed"

    def _wait_until(self, due: float) -> bool:
        """Wait until ``due`` (perf_counter time); False when woken first by a request (stop,
        pause, resume, a new rate or learning rate): the caller looks at the flags again."""
        while True:
            left = due - time.perf_counter()
            if left <= 0:
                return True
            if self._wake.wait(left):
                self._wake.clear()
                return False

    def _pause_here(self) -> None:
        self._flush()
        self._emit_snapshot(full=True)
        self._blocked.set()  # before paused_at: when the GUI hears it, the worker is blocked
        self.paused_at.emit(self.trainer.step_count)
        t0 = time.perf_counter()
        try:
            while True:
                self._wake.clear()
                if self._lr_request is not self._lr_seen:
                    self._apply_lr()
                if self._stop.is_set() or not self._pause.is_set():
                    break
                self._wake.wait()
        finally:
            self._blocked.clear()
            # the steps/s and time left count training, not the pause
            self.trainer.paused_seconds += time.perf_counter() - t0
        if not self._stop.is_set():
            self.resumed.emit()

    def _apply_lr(self) -> None:
        request = self._lr_request
        self._lr_seen = request
        if request is None:
            return
        self.trainer.lr = request[1]
        self.lr_changed.emit(self.trainer.step_count + 1, self.trainer.lr)

    def _flush(self) -> None:
        if self._pending:
            # the records and, built here rather than in the GUI thread, their columns
            self._sent += 1
            sent_at, acked = self._sent_at, self.acked
            for seq in [seq for seq in sent_at if seq <= acked]:
                del sent_at[seq]
            sent_at[self._sent] = time.perf_counter()
            batch = MetricsBatch.of(self._pending, self._sent)
            self._pending.clear()
            self.info.emits += 1
            self.metrics.emit(batch)

    def _emit_snapshot(self, full: bool) -> float:
        t0 = time.perf_counter()
        tr = self.trainer
        step = tr.step_count
        epoch = math.ceil(step / max(1, self._steps_per_epoch())) if step else 0
        if self.snapshot_fn is None:
            # the numbers on the wires once a WIRES_INTERVAL (and at a pause, the end, and
            # every step in slow motion): the unit maps between need no pass over the batch
            rate = self.rate
            wires = (full or every_step(rate)
                     or t0 - self._wires_at >= WIRES_INTERVAL)
            if wires:
                self._wires_at = t0
            snap = make_view_snapshot(self.program, tr, step, epoch, full,
                                      None if full else self.views, wires)
        else:
            snap = snapshot_from(self.snapshot_fn(self.program, tr), self.program, step, epoch)
        cost = time.perf_counter() - t0
        snap = dataclasses.replace(snap, extra=MappingProxyType({**snap.extra, "seconds": cost}))
        info = self.info
        info.snapshots += 1
        info.snapshot_seconds += cost
        info.snapshot_max = max(info.snapshot_max, cost)
        self._full_at = step if full else -1
        self.snapshot.emit(snap)
        return cost

    def _final_snapshot(self) -> None:
        """A full snapshot for the end, unless the last one already shows this step in full
        (stopped while paused)."""
        if self._full_at != self.trainer.step_count:
            self._emit_snapshot(full=True)

    def _steps_per_epoch(self) -> int:
        n = self.trainer.X_train.shape[0]
        return max(1, math.ceil(n / self.trainer.config.batch_size))

    def _snapshot_quietly(self) -> None:
        """After a failure: a last snapshot if one can be made (the state may be broken)."""
        with contextlib.suppress(Exception):
            self._emit_snapshot(full=True)


# ---------------------------------------------------------------- the GUI-side controller

