"""The training worker thread and its GUI-side controller.

``TrainingWorker`` is a QObject moved to a QThread. Its :meth:`~TrainingWorker.run` iterates
``Trainer.steps()`` (the plain training generator) and, between two steps, reads flags the GUI
thread sets through :class:`threading.Event` objects: a queued slot would never run while the
worker loops. It hands the GUI immutable things only:

- ``metrics``: a tuple of frozen :class:`~playground.training.Metrics` records, batched and
  emitted at most ~30 times a second (a signal per step would halve the throughput), and always
  flushed before a pause, the end or a failure;
- ``snapshot``: a :class:`ViewSnapshot` computed in the worker thread every ~0.25 s and on pause,
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
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, QTimer, Signal, Slot

from ...engine import Program
from ...training import Binding, Metrics, TrainConfig, Trainer, TrainingError, predict_classes
from ...training.datasets import Split
from ...training.loop import encode_targets
from .history import MetricsBatch, ViewSnapshot

__all__ = [
    "GRID_SIZE", "SAMPLE_COUNT", "SMALL_MODEL_PARAMS", "VIEWS", "RunInfo", "SnapshotFn",
    "TrainingController", "TrainingWorker", "make_view_snapshot", "view_fields",
]

EMIT_INTERVAL = 1 / 30  # seconds between two metrics batches (at most ~30 Hz)
SNAPSHOT_INTERVAL = 0.25  # seconds between two periodic view snapshots
SNAPSHOT_BUDGET = 0.05  # periodic snapshots may take at most this share of the run's time
GRID_SIZE = 120  # decision-boundary grid: GRID_SIZE × GRID_SIZE points
GRID_MARGIN = 0.1  # of the data's span on each side
SAMPLE_COUNT = 24  # validation images shown with their predictions
LIVE_VAL_ROWS = 4096  # periodic snapshots predict at most this many validation rows
CHUNK_ROWS = 4096  # rows per forward pass when predicting many points (bounds the memory)
SMALL_MODEL_PARAMS = 200_000  # below this many parameter elements, use one BLAS thread
HEARTBEAT_MS = 20  # the GUI thread stamps TrainingWorker.gui_beat this often during a run
GUI_LAG = 0.04  # seconds: a stamp older than this means the GUI thread is behind

# what a periodic snapshot can leave out when no visible view needs it (the parameters are
# always copied: the weight histograms and the values on the wires use them)
VIEWS = frozenset({"boundary", "confusion", "samples"})
VIEWS_NEEDING_PREDICTIONS = frozenset({"confusion", "samples"})

SnapshotFn = Callable[[Program, Trainer], Mapping[str, Any]]
_FIELDS = frozenset(f.name for f in dataclasses.fields(ViewSnapshot)) - {"step", "epoch", "params"}


# ---------------------------------------------------------------- view snapshots

def _frozen(a: Any) -> Any:
    if isinstance(a, np.ndarray):
        a.setflags(write=False)
    return a


def copy_params(program: Program) -> Mapping[str, np.ndarray]:
    """Read-only copies of every parameter (trainable or not), by node name."""
    return MappingProxyType({name: _frozen(np.array(arr, copy=True)) for name, arr in
                             program.param_arrays(trainable_only=False).items() if arr is not None})


_caches: weakref.WeakKeyDictionary[Trainer, dict[str, Any]] = weakref.WeakKeyDictionary()


def _cache(trainer: Trainer) -> dict[str, Any]:
    cache = _caches.get(trainer)
    if cache is None:
        cache = _caches[trainer] = {}
    return cache


def _predict(program: Program, binding: Binding, X: np.ndarray, T: np.ndarray,
             all_values: bool = False) -> np.ndarray:
    """The prediction node's value for every row of ``X``, in chunks (``T`` is any target of the
    right length: the loss must compute, its value is not used). ``all_values`` False skips the
    display-only gates (they keep their last values)."""
    out = []
    for s in range(0, X.shape[0], CHUNK_ROWS):
        program.set_input(binding.features, X[s: s + CHUNK_ROWS])
        program.set_input(binding.target, T[s: s + CHUNK_ROWS])
        program.forward(all_values=all_values)
        out.append(np.array(program.values[binding.prediction], copy=True))
    return np.concatenate(out) if out else np.empty((0,))


def _dummy_targets(trainer: Trainer, n: int) -> np.ndarray:
    ds = trainer.split.dataset
    y = np.zeros(n, dtype=np.int64 if ds.task == "classification" else np.float64)
    return encode_targets(y, trainer.binding, ds.n_classes, trainer.program.dtype)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _class_map(pred: np.ndarray, program: Program, binding: Binding,
               n_classes: int) -> tuple[np.ndarray, bool]:
    """Per point: p(class 1) for a binary problem whose prediction reads as a probability
    (2 softmax logits, one logit or one probability column); else the predicted class."""
    loss = program.nodes[binding.loss]
    logits = loss.op == "softmax_cross_entropy" or loss.params.get("input") == "logits"
    n = pred.shape[0]
    if n_classes == 2:
        if pred.ndim == 2 and pred.shape[1] == 2:
            if loss.op == "softmax_cross_entropy":
                return _sigmoid(pred[:, 1] - pred[:, 0]), True  # softmax(z)[:, 1]
            if loss.op == "binary_cross_entropy":
                col = pred[:, 1]
                return (_sigmoid(col) if logits else np.clip(col, 0.0, 1.0)), True
        elif pred.size == n:
            col = pred.reshape(n)
            return (_sigmoid(col) if logits else np.clip(col, 0.0, 1.0)), True
    return predict_classes(pred, binding).astype(np.float64), False


def _grid_axes(X: np.ndarray, size: int) -> list[np.ndarray]:
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = hi - lo
    pad = np.where(span > 0, GRID_MARGIN * span, 0.5)
    return [np.linspace(a, b, size) for a, b in zip(lo - pad, hi + pad, strict=True)]


def view_fields(program: Program, trainer: Trainer, full: bool = True,
                views: Collection[str] | None = None) -> dict[str, Any]:
    """The default snapshot content besides the parameters (see :func:`make_view_snapshot`).
    Runs forward passes on ``program``: call it only from the thread that trains, between steps.
    ``views`` limits the work to what the visible views need (``VIEWS``; None: everything)."""
    split, b = trainer.split, trainer.binding
    ds = split.dataset
    dt = program.dtype
    out: dict[str, Any] = {}
    cache = _cache(trainer)
    have_train = trainer.X_train.shape[0] > 0
    with np.errstate(all="ignore"):
        boundary = views is None or "boundary" in views
        predictions = views is None or not VIEWS_NEEDING_PREDICTIONS.isdisjoint(views)
        if not boundary:
            pass
        elif ds.task == "classification" and ds.n_features == 2 and have_train:
            grid = cache.get("grid")
            if grid is None:  # the grid depends only on the (fixed) training data
                xs, ys = _grid_axes(trainer.X_train, GRID_SIZE)
                gx, gy = np.meshgrid(xs, ys)
                points = np.ascontiguousarray(np.column_stack([gx.ravel(), gy.ravel()]), dtype=dt)
                grid = cache["grid"] = (_frozen(xs), _frozen(ys), points,
                                        _dummy_targets(trainer, points.shape[0]))
            xs, ys, points, targets = grid
            values, probability = _class_map(_predict(program, b, points, targets), program, b,
                                             ds.n_classes)
            out["boundary"] = (xs, ys, _frozen(values.reshape(ys.shape[0], xs.shape[0])))
            out["boundary_probability"] = probability
        elif ds.task == "regression" and ds.n_features == 1 and have_train:
            curve = cache.get("curve")
            if curve is None:
                (xs,) = _grid_axes(trainer.X_train, 200)
                points = np.ascontiguousarray(xs.reshape(-1, 1), dtype=dt)
                curve = cache["curve"] = (_frozen(xs), points, _dummy_targets(trainer, 200))
            xs, points, targets = curve
            pred = _predict(program, b, points, targets, all_values=True)
            out["extra"] = {"curve": (xs, _frozen(pred.reshape(pred.shape[0], -1)[:, 0]))}
        n_val = trainer.X_val.shape[0]
        if ds.task == "classification" and n_val and predictions:
            rows = n_val if full else min(n_val, LIVE_VAL_ROWS)
            # the last forward pass runs every gate: the wires then show the validation set
            pred = _predict(program, b, trainer.X_val[:rows], trainer.T_val[:rows], all_values=True)
            val_pred = _frozen(predict_classes(pred, b).astype(np.int64))
            out["val_true"] = _frozen(np.array(split.y_val[:rows]))
            out["val_pred"] = val_pred
            if ds.image_shape is not None:
                k = min(SAMPLE_COUNT, rows)
                idx = split.val_index[:k]
                out["samples"] = _frozen(np.array(ds.X[idx]).reshape(k, *ds.image_shape))
                out["sample_true"] = _frozen(np.array(ds.y[idx]))
                out["sample_pred"] = _frozen(val_pred[:k].copy())
    return out


def make_view_snapshot(program: Program, trainer: Trainer, step: int, epoch: int,
                       full: bool = True, views: Collection[str] | None = None) -> ViewSnapshot:
    """Everything the views need, as copies, computed in the training thread between steps:

    - ``params``: read-only copies of every parameter array;
    - 2-D classification: ``boundary`` = (xs, ys, values (len(ys), len(xs))) over a
      ``GRID_SIZE``² grid covering the standardised training data (+10% margin); the values are
      p(class 1) when ``boundary_probability`` (binary: two softmax logits, one logit or one
      probability column), else the predicted class;
    - classification: ``val_true``/``val_pred`` for a confusion matrix (a periodic snapshot,
      ``full=False``, uses the first ``LIVE_VAL_ROWS`` validation rows; ``full=True`` all);
    - image datasets (digits): the first ``SAMPLE_COUNT`` validation images in raw feature
      units, shaped ``image_shape``, with true and predicted labels;
    - 1-feature regression: ``extra["curve"]`` = (x, prediction) over the standardised range.

    ``views`` (see ``VIEWS``) leaves out what no visible view shows (None: everything).

    The forward passes leave the program's values on the last set predicted (the validation
    set); nothing needs restoring, as the trainer sets its inputs before every step."""
    fields = view_fields(program, trainer, full, views)
    fields["extra"] = MappingProxyType(dict(fields.get("extra") or {}))
    return ViewSnapshot(step, epoch, params=copy_params(program), **fields)


def _snapshot_from(fields: Mapping[str, Any], program: Program, step: int,
                   epoch: int) -> ViewSnapshot:
    known = {k: v for k, v in fields.items() if k in _FIELDS and k != "extra"}
    extra = dict(fields.get("extra") or {})
    extra.update({k: v for k, v in fields.items() if k not in _FIELDS})
    return ViewSnapshot(step, epoch, params=copy_params(program), extra=MappingProxyType(extra),
                        **known)


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
                 snapshot_fn: SnapshotFn | None = None, emit_interval: float = EMIT_INTERVAL,
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
        self._mode = "run"  # 'run', 'step' (pause after one step) or 'epoch' (after an epoch end)
        self._lr_request: tuple[int, float] | None = None  # (sequence number, lr), set atomically
        self._lr_seen: tuple[int, float] | None = None
        self._lr_seq = 0
        self._pending: list[Metrics] = []
        self._full_at = -1  # step of the last full snapshot, -1 when the last one was not full
        # perf_counter() of the GUI thread's last heartbeat (TrainingController stamps it every
        # HEARTBEAT_MS): a float store is atomic, and the worker only reads it
        self.gui_beat = time.perf_counter()
        # the views a periodic snapshot must serve (see VIEWS; None: all), set by the GUI
        # thread with one store; pause, end and failure snapshots always have everything
        self.views: frozenset[str] | None = None

    # -- called from the GUI thread -----------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request_pause(self) -> None:
        self._mode = "run"
        self._pause.set()

    def request_resume(self, mode: str = "run") -> None:
        self._mode = mode
        self._pause.clear()
        self._wake.set()

    def request_lr(self, lr: float) -> None:
        self._lr_seq += 1
        self._lr_request = (self._lr_seq, float(lr))  # one atomic store, read once per step
        self._wake.set()  # a paused worker applies it at once and reports lr_changed

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
            if app is None or thread is not app.thread():  # never quit the GUI thread's loop
                thread.quit()  # exec() of the worker's thread returns as soon as run() does

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
        steps: Iterator[Metrics] = trainer.steps()
        now = clock()
        next_emit, next_snap = now + emit_every, now + self.snapshot_interval
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
                    continue  # look at the stop flag again
                if self._lr_request is not self._lr_seen:
                    self._apply_lr()
                m = next(steps, None)
                if m is None:
                    break
                pending.append(m)
                now = clock()
                if now - self.gui_beat > GUI_LAG:
                    # the GUI thread is behind: every Python callback it makes (each paint
                    # method, each slot) needs the GIL, and a busy worker hands it over only
                    # every switch interval. sleep(0) releases it for ~80 µs, so hand it over
                    # each step until the heartbeat is on time again (while the GUI keeps up
                    # this costs nothing: an unconditional sleep(0) would cost ~40% of a
                    # small model's steps)
                    time.sleep(0)
                    self.info.gui_yields += 1
                mode = self._mode
                if mode != "run" and (mode == "step" or m.epoch_end):
                    last = (m.epoch_end and m.epoch >= cfg.epochs) or (
                        cfg.max_steps is not None and m.step >= cfg.max_steps)
                    if not last:  # the generator is done after the last step: finish instead
                        self._mode = "run"
                        pause.set()
                if now >= next_emit:
                    self._flush()
                    next_emit = now + emit_every
                if now >= next_snap:
                    cost = self._emit_snapshot(full=False)
                    # never spend more than SNAPSHOT_BUDGET of the time on periodic snapshots
                    # (an interval <= 0 means after every step: for tests and debugging)
                    if self.snapshot_interval > 0:
                        next_snap = clock() + max(self.snapshot_interval, cost / SNAPSHOT_BUDGET)
        finally:
            steps.close()
        self._flush()
        self._final_snapshot()
        return "completed"

    def _pause_here(self) -> None:
        self._flush()
        self._emit_snapshot(full=True)
        self._blocked.set()  # before paused_at: when the GUI hears it, the worker is blocked
        self.paused_at.emit(self.trainer.step_count)
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
            batch = MetricsBatch.of(self._pending)
            self._pending.clear()
            self.info.emits += 1
            self.metrics.emit(batch)

    def _emit_snapshot(self, full: bool) -> float:
        t0 = time.perf_counter()
        tr = self.trainer
        step = tr.step_count
        epoch = math.ceil(step / max(1, self._steps_per_epoch())) if step else 0
        if self.snapshot_fn is None:
            snap = make_view_snapshot(self.program, tr, step, epoch, full,
                                      None if full else self.views)
        else:
            snap = _snapshot_from(self.snapshot_fn(self.program, tr), self.program, step, epoch)
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
        self._views: frozenset[str] | None = None
        self._beat = QTimer(self)  # the heartbeat that tells the worker the GUI keeps up
        self._beat.setTimerType(Qt.TimerType.PreciseTimer)
        self._beat.setInterval(HEARTBEAT_MS)
        self._beat.timeout.connect(self._on_beat)
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
              snapshot_fn: SnapshotFn | None = None, emit_interval: float = EMIT_INTERVAL,
              snapshot_interval: float = SNAPSHOT_INTERVAL) -> None:
        """Start a run in a new thread (it re-initialises the parameters when
        ``config.reinit``). With ``start_paused`` the worker pauses before the first step and
        emits ``paused_at(0)``."""
        if self._thread is not None:
            raise RuntimeError("a training run is live: stop it before starting another")
        worker = TrainingWorker(program, split, config, binding, start_paused=start_paused,
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
        thread.finished.connect(worker.deleteLater)  # runs in the thread as it ends
        self._thread, self._worker = thread, worker
        self._trainer, self._info = worker.trainer, worker.info
        worker.gui_beat = time.perf_counter()
        worker.views = self._views
        self._beat.start()
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

    def set_views(self, views: Collection[str] | None) -> None:
        """Periodic snapshots compute only what these views (see ``VIEWS``) show; None: all.
        Applies from the next snapshot, and to the next runs."""
        self._views = None if views is None else frozenset(views)
        if self._worker is not None:
            self._worker.views = self._views

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
    @Slot()
    def _on_beat(self) -> None:
        worker = self._worker
        if worker is not None:
            worker.gui_beat = time.perf_counter()

    @Slot(object)
    def _on_metrics(self, batch: object) -> None:
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
        self._beat.stop()
        if thread is None:
            return
        # run() has returned and quit() the loop: the thread is ending by itself. Wait for it
        # BEFORE dropping the worker's last Python reference: the thread deletes the worker
        # (deleteLater) as it ends, and a wrapper freed here at the same moment would delete it
        # a second time.
        if not thread.wait(10_000):  # pragma: no cover - would mean a hung Qt thread
            thread.finished.connect(thread.deleteLater)
            self._zombie = (thread, worker)  # keep both until it ends; never terminate()
            self._worker = None
            return
        self._worker = None
        del worker
        thread.deleteLater()
