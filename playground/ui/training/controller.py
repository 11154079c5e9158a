"""The GUI-side controller of a training run: owns the worker thread, re-emits its signals in the
GUI thread, stops it safely (never terminates it). See worker.py for the threading rules."""

from __future__ import annotations

import math
from collections.abc import Collection

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal, Slot

from ...engine import Program
from ...training import Binding, TrainConfig, Trainer, TrainingError
from ...training.datasets import Split
from .. import collector
from .snapshots import SnapshotFn
from .worker import EMIT_INTERVAL, SNAPSHOT_INTERVAL, RunInfo, TrainingWorker


class TrainingController(QObject):
    """Owns the training thread; lives in the GUI thread and re-emits the worker's signals there.

    ``start`` raises :class:`TrainingError` (nothing started) when the graph cannot train on the
    data, and ``RuntimeError`` while a run is live. ``stop`` is safe at any time. ``finished`` is
    emitted exactly once per run, last, when the thread is already gone: a slot connected to it
    may start the next run. While :attr:`paused` is True the worker is blocked and the GUI may
    read the program's arrays; otherwise, while :attr:`running`, it uses only the copies it gets.
    """

    metrics = Signal(object)  # tuple[Metrics, ...]
    snapshot = Signal(object)  # ViewSnapshot
    paused_at = Signal(int)
    resumed = Signal()
    lr_changed = Signal(int, float)
    failed = Signal(str, str)
    finished = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._trainer: Trainer | None = None
        self._info: RunInfo | None = None
        self._views: dict[str, frozenset[str] | None] = {}  # what each kind of view wants
        self._rate: float | None = None  # steps a second; None: as fast as possible
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_about_to_quit)

    # -- state ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A run is live (training or paused)."""
        return self._thread is not None

    @property
    def paused(self) -> bool:
        """The worker is blocked until the GUI resumes, steps or stops it."""
        return self._worker is not None and self._worker.is_paused

    @property
    def trainer(self) -> Trainer | None:
        """The current or last run's trainer. Read its state only while paused or after the run."""
        return self._trainer

    @property
    def info(self) -> RunInfo | None:
        """Facts about the current or last run (reason, failure, snapshot timings)."""
        return self._info

    @property
    def last_traceback(self) -> str:
        return self._info.last_traceback if self._info is not None else ""

    # -- commands -------------------------------------------------------------------------------
    def start(self, program: Program, split: Split, config: TrainConfig,
              binding: Binding | None = None, start_paused: bool = False, *,
              mode: str = "run", snapshot_fn: SnapshotFn | None = None,
              emit_interval: float = EMIT_INTERVAL,
              snapshot_interval: float = SNAPSHOT_INTERVAL, launch: bool = True) -> None:
        """Start a run in a new thread (it re-initialises the parameters when
        ``config.reinit``). With ``start_paused`` the worker pauses before the first step and
        emits ``paused_at(0)``. ``mode`` 'step' or 'epoch' runs one step or one epoch, then
        pauses (a first Step: no pause before it, so no ``paused_at(0)`` either).

        With ``launch=False`` the run is made (and :attr:`running`) but its thread waits for
        :meth:`launch`: the GUI can do its start-of-run work (plots, canvas, menus) first
        instead of taking the interpreter lock from the first steps."""
        if self._thread is not None:
            raise RuntimeError("a training run is live: stop it before starting another")
        collector.install()  # the collector must never run on the training thread
        worker = TrainingWorker(program, split, config, binding, start_paused=start_paused,
                                mode=mode,
                                snapshot_fn=snapshot_fn, emit_interval=emit_interval,
                                snapshot_interval=snapshot_interval)
        thread = QThread(self)
        thread.setObjectName("training")
        worker.moveToThread(thread)
        worker.metrics.connect(self._on_metrics)
        worker.snapshot.connect(self._on_snapshot)
        worker.paused_at.connect(self._on_paused_at)
        worker.resumed.connect(self._on_resumed)
        worker.lr_changed.connect(self._on_lr_changed)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        thread.started.connect(worker.run)
        self._thread, self._worker = thread, worker
        self._trainer, self._info = worker.trainer, worker.info
        worker.views = self.views
        worker.rate = self._rate
        if launch:
            self.launch()

    def launch(self) -> None:
        """Start the thread of a run made with ``start(..., launch=False)`` (no-op otherwise)."""
        thread = self._thread
        if thread is not None and not thread.isRunning() and not thread.isFinished():
            collector.pace(training=True)
            thread.start()

    def pause(self) -> None:
        if self._worker is not None:
            self._worker.request_pause()

    def resume(self) -> None:
        if self._worker is not None:
            self._worker.request_resume("run")

    def step_once(self) -> None:
        """Run exactly one minibatch step, then pause (``paused_at(step)``)."""
        if self._worker is not None:
            self._worker.request_resume("step")

    def step_epoch(self) -> None:
        """Run until the next epoch end, then pause."""
        if self._worker is not None:
            self._worker.request_resume("epoch")

    def set_views(self, views: Collection[str] | None, source: str = "plots") -> None:
        """Periodic snapshots compute only what the views (see ``VIEWS``) on screen show: each
        ``source`` (the plots, the canvas) says what it needs, None meaning everything. Applies
        from the next snapshot, and to the next runs."""
        self._views[source] = None if views is None else frozenset(views)
        if self._worker is not None:
            self._worker.views = self.views

    @property
    def views(self) -> frozenset[str] | None:
        """What periodic snapshots carry: the union of what every source asked for."""
        wanted: frozenset[str] = frozenset()
        for views in self._views.values():
            if views is None:
                return None
            wanted |= views
        return wanted if self._views else None

    @property
    def rate(self) -> float | None:
        return self._rate

    def set_snapshot_pace(self, seconds: float) -> None:
        """The live canvas shows a snapshot at most every ``seconds`` (its updates' cost sets
        that): the worker's periodic snapshots come no faster during this run."""
        if self._worker is not None and math.isfinite(seconds):
            self._worker.gui_interval = max(0.0, float(seconds))

    def set_rate(self, rate: float | None) -> None:
        """Train at ``rate`` steps a second (slow motion: at 30 or fewer every step is shown), or
        as fast as possible (None). Applies from the next step, and to the next runs."""
        if rate is not None and not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"a training speed must be a positive number of steps a second, "
                             f"not {rate!r}")
        self._rate = None if rate is None else float(rate)
        if self._worker is not None:
            self._worker.request_rate(self._rate)

    def set_lr(self, lr: float) -> None:
        """Use ``lr`` from the next step on; the worker answers with ``lr_changed(step, lr)``."""
        lr = float(lr)
        if not (math.isfinite(lr) and lr > 0):
            raise TrainingError(f"the learning rate must be a positive number, got {lr}")
        if self._worker is not None:
            self._worker.request_lr(lr)

    def stop(self, wait_ms: int = 5000) -> bool:
        """Stop the run and wait up to ``wait_ms`` for its thread to end. True when no thread is
        left (also when nothing ran). The run's last signals (``metrics``, ``snapshot``,
        ``finished``) are delivered before this returns. False if the thread is still inside a
        step after ``wait_ms``: it stops after that step and cleans up when it does."""
        thread, worker = self._thread, self._worker
        if thread is None or worker is None:
            return True
        worker.request_stop()
        if not thread.wait(int(wait_ms)):
            return False
        # deliver what the worker queued for us (last metrics, snapshot, finished) now, in order
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        if self._thread is thread:  # not expected: the worker always emits finished
            self._cleanup()
            self.finished.emit(self._info.reason if self._info and self._info.reason else "stopped")
        return True

    # -- worker signals, delivered in the GUI thread ----------------------------------------------
    @Slot(object)
    def _on_metrics(self, batch: object) -> None:
        worker = self._worker
        if worker is not None:  # the GUI keeps up: it has handled this batch (one int store)
            worker.acked = getattr(batch, "seq", worker.acked)
        self.metrics.emit(batch)

    @Slot(object)
    def _on_snapshot(self, snap: object) -> None:
        self.snapshot.emit(snap)

    @Slot(int)
    def _on_paused_at(self, step: int) -> None:
        self.paused_at.emit(step)

    @Slot()
    def _on_resumed(self) -> None:
        self.resumed.emit()

    @Slot(int, float)
    def _on_lr_changed(self, step: int, lr: float) -> None:
        self.lr_changed.emit(step, lr)

    @Slot(str, str)
    def _on_failed(self, message: str, node: str) -> None:
        self.failed.emit(message, node)

    @Slot(str)
    def _on_finished(self, reason: str) -> None:
        self._cleanup()
        self.finished.emit(reason)

    @Slot()
    def _on_about_to_quit(self) -> None:
        self.stop()

    def _cleanup(self) -> None:
        thread, worker = self._thread, self._worker
        self._thread = None
        collector.pace(training=False)
        if thread is None:
            return
        # run() has handed the worker back to this thread and quit() the loop: the thread is
        # ending by itself. Wait for it, then drop the worker here: it is deleted in the GUI
        # thread, like every Qt object.
        if not thread.wait(10_000):  # pragma: no cover - would mean a hung Qt thread
            thread.finished.connect(thread.deleteLater)
            self._zombie = (thread, worker)  # keep both until it ends; never terminate()
            self._worker = None
            return
        self._worker = None
        if worker is not None:
            worker.deleteLater()
        del worker
        thread.deleteLater()
