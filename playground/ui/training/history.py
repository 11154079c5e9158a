"""What the live views read: a growing history of metric records and the latest view snapshot.

No Qt here: the worker thread hands over immutable batches of records; the GUI thread appends
them and the plots redraw from these arrays on a timer (never one redraw per step).

The per-step columns are bounded: past ``MAX_STEP_ROWS`` rows the older ones are thinned to every
2nd, 4th, 8th... step (the first and the newest rows are kept whole), so memory and redraw cost stay
flat over a run of millions of steps. Epoch rows are never thinned."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...training import Metrics

MAX_STEP_ROWS = 16_384  # per-step rows kept; when full, the older ones are thinned 2:1

class _Column:
    """A float64 array that grows by doubling; ``view()`` is the filled part."""

    __slots__ = ("_data", "n")

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.full(capacity, np.nan)
        self.n = 0

    def append(self, value: float | None) -> None:
        if self.n == self._data.shape[0]:
            grown = np.full(2 * self._data.shape[0], np.nan)
            grown[: self.n] = self._data
            self._data = grown
        self._data[self.n] = np.nan if value is None else value
        self.n += 1

    def extend(self, values: np.ndarray | list[float | None]) -> None:
        """Append many values at once (None → NaN)."""
        need = self.n + len(values)
        if need > self._data.shape[0]:
            capacity = self._data.shape[0]
            while capacity < need:
                capacity *= 2
            grown = np.full(capacity, np.nan)
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        self._data[self.n: need] = np.asarray(values, dtype=np.float64)
        self.n = need

    def keep(self, rows: np.ndarray) -> None:
        """Keep only ``rows`` (sorted indices), in a new buffer: a plot may still hold a view
        of the old one."""
        kept = self._data[: self.n][rows]
        data = np.full(self._data.shape[0], np.nan)
        data[: kept.shape[0]] = kept
        self._data, self.n = data, kept.shape[0]

    def view(self) -> np.ndarray:
        return self._data[: self.n]


class MetricsHistory:
    """Per-step columns (step, epoch, batch loss, lr, elapsed, grad norm and update/weight ratio
    per parameter) and per-epoch columns (train/val loss and accuracy), plus the steps at which
    the learning rate changed. ``version`` grows with every append, so a plot can skip a redraw
    when nothing is new. ``len()`` is the number of per-step rows kept (see ``MAX_STEP_ROWS``).

    A run that goes on from where the last one stopped (:meth:`continue_run`) is appended after
    it: its steps, epochs and elapsed times are shifted past the last ones, so the curves go on.
    ``last`` is the newest record as the trainer made it (numbered within its own run);
    ``total_steps`` counts the steps of every run shown."""

    def __init__(self, max_step_rows: int = MAX_STEP_ROWS) -> None:
        self.max_step_rows = max_step_rows
        self.clear()

    def clear(self) -> None:
        self.step, self.epoch, self.batch_loss = _Column(), _Column(), _Column()
        self.lr, self.elapsed = _Column(), _Column()
        self.grad_norms: dict[str, _Column] = {}
        self.update_ratios: dict[str, _Column] = {}
        self.epoch_step, self.epoch_index = _Column(64), _Column(64)
        self.train_loss, self.val_loss = _Column(64), _Column(64)
        self.train_accuracy, self.val_accuracy = _Column(64), _Column(64)
        self.lr_changes: list[tuple[int, float]] = []  # (first step with the new lr, lr)
        # (first step under the new settings, what changed): a run continued with another
        # optimizer, batch size, L2 ... (mark_change)
        self.setting_changes: list[tuple[int, str]] = []
        self.epoch_pos = _Column()  # each step as a fractional epoch (see append)
        self.version = 0
        self.stride = 1  # older rows are kept only at steps that are multiples of this
        self.last: Metrics | None = None
        # added to the step, epoch and elapsed of the current run's records (continue_run)
        self.offsets = (0, 0, 0.0)
        self.runs = 0  # runs appended after the first

    @property
    def total_steps(self) -> int:
        return int(self.step.view()[-1]) if self.step.n else 0

    def continue_run(self) -> None:
        """The next records come from a run that goes on from the last one's weights: number
        them after it (a stopped run's unfinished epoch counts as one)."""
        if self.step.n == 0:
            return
        self.offsets = (self.total_steps, int(self.epoch.view()[-1]), float(self.elapsed.view()[-1]))
        self.runs += 1
        self.version += 1

    def mark_change(self, text: str) -> None:
        """The steps from the next one on train with other settings (``adam → sgd``)."""
        self.setting_changes.append((self.total_steps + 1, text))
        self.version += 1

    def changes(self) -> list[tuple[int, str]]:
        """Every change a plot marks, by step: learning rates and other settings together
        (``lr → 0.01, adam → sgd`` when both changed at the same step)."""
        marks: dict[int, list[str]] = {}
        for step, lr in self.lr_changes:
            marks.setdefault(step, []).append(f"lr → {lr:g}")
        for step, text in self.setting_changes:
            marks.setdefault(step, []).append(text)
        return [(step, ", ".join(texts)) for step, texts in sorted(marks.items())]

    def __len__(self) -> int:
        return self.step.n

    def append(self, records: Iterable[Metrics]) -> None:
        """Append a batch of records: a :class:`MetricsBatch` from the worker (its columns are
        already built, in the training thread) or any iterable of Metrics."""
        cols = records.columns if isinstance(records, MetricsBatch) else None
        if cols is None:
            cols = BatchColumns.of(tuple(records))
        n = cols.rows
        if n:
            limit = self.max_step_rows
            if self.step.n + n > limit and self.step.n > limit // 2:
                self._thin()
            scalars = cols.scalars
            if self.offsets != (0, 0, 0.0):
                scalars = scalars + np.array([self.offsets[0], self.offsets[1], 0.0, 0.0,
                                              self.offsets[2]])
            lrs = scalars[:, 3]
            before = np.concatenate(([self.last.lr if self.last is not None else lrs[0]], lrs[:-1]))
            for i in np.flatnonzero(lrs != before):
                self.lr_changes.append((int(scalars[i, 0]), float(lrs[i])))
            rows_before = self.step.n
            for j, col in enumerate((self.step, self.epoch, self.batch_loss, self.lr, self.elapsed)):
                col.extend(scalars[:, j])
            # step k of an epoch of N steps sits at epoch - 1 + k/N (from the run's own numbers)
            per = float(cols.last.steps_per_epoch) if cols.last is not None else 0.0
            if per > 0:
                self.epoch_pos.extend(scalars[:, 1] - 1 + ((cols.scalars[:, 0] - 1) % per + 1) / per)
            else:
                self.epoch_pos.extend(scalars[:, 1])
            _extend_table(self.grad_norms, cols.grad_names, cols.grad_norms, rows_before)
            _extend_table(self.update_ratios, cols.update_names, cols.update_ratios, rows_before)
            if cols.epochs.shape[0]:
                epochs = cols.epochs + np.array([self.offsets[0], self.offsets[1], 0, 0, 0, 0])
                for j, col in enumerate((self.epoch_step, self.epoch_index, self.train_loss,
                                         self.val_loss, self.train_accuracy, self.val_accuracy)):
                    col.extend(epochs[:, j])
            self.last = cols.last
        self.version += 1

    def _thin(self) -> None:
        """Make room in the per-step columns: keep the rows whose step is a multiple of a stride
        (a power of two, never smaller than the last one, so old steps stay evenly spread over
        the whole run), the first row (the initial loss) and the newest quarter of the limit
        whole; the smallest such stride that leaves at most half of the limit."""
        steps = self.step.view()
        recent = max(0, steps.shape[0] - self.max_step_rows // 4)
        stride = self.stride
        while True:
            keep = np.mod(steps, stride) == 0
            keep[0] = True
            keep[recent:] = True
            if np.count_nonzero(keep) <= self.max_step_rows // 2 or stride >= 2**40:
                break
            stride *= 2
        self.stride = stride
        rows = np.flatnonzero(keep)
        for col in (self.step, self.epoch, self.batch_loss, self.lr, self.elapsed, self.epoch_pos,
                    *self.grad_norms.values(), *self.update_ratios.values()):
            col.keep(rows[rows < col.n])

    def steps_per_second(self, window: int = 200, seconds: float = 3.0) -> float:
        """Recent training speed from the elapsed times of the last ``window`` rows, or of those
        of the last ``seconds`` if fewer (a run slowed down to 2 steps a second says so within
        seconds, not after 200 steps); counted by their step numbers: older rows may be
        thinned."""
        n = self.step.n
        if n < 2:
            return 0.0
        t, s = self.elapsed.view(), self.step.view()
        recent = n - int(np.searchsorted(t, t[n - 1] - seconds, side="left"))
        k = max(1, min(window, n - 1, recent))
        dt = t[n - 1] - t[n - 1 - k]
        return float(s[n - 1] - s[n - 1 - k]) / dt if dt > 0 else 0.0


def _extend_table(columns: dict[str, _Column], names: tuple[str, ...], table: np.ndarray,
                  rows_before: int) -> None:
    """Extend per-parameter columns from a (rows, len(names)) table; a parameter that appears
    late is padded with NaN before, one that is missing gets NaN."""
    for name in names:
        if name not in columns:
            columns[name] = _Column()
            columns[name].extend(np.full(rows_before, np.nan))
    index = {name: j for j, name in enumerate(names)}
    missing = np.full(table.shape[0], np.nan)
    for name, col in columns.items():
        j = index.get(name)
        col.extend(table[:, j] if j is not None else missing)


@dataclass(frozen=True)
class BatchColumns:
    """The numbers of a batch of Metrics records as arrays, so that appending them to the
    history costs a few array copies (the worker thread builds them before it emits)."""

    rows: int
    scalars: np.ndarray  # (rows, 5): step, epoch, batch loss, lr, elapsed
    grad_names: tuple[str, ...]
    grad_norms: np.ndarray  # (rows, len(grad_names))
    update_names: tuple[str, ...]
    update_ratios: np.ndarray
    epochs: np.ndarray  # (epoch ends, 6): step, epoch, train/val loss, train/val accuracy
    last: Metrics | None

    @classmethod
    def of(cls, batch: tuple[Metrics, ...]) -> BatchColumns:
        n = len(batch)
        scalars = np.array([(m.step, m.epoch, m.batch_loss, m.lr, m.elapsed) for m in batch],
                           dtype=np.float64).reshape(n, 5)
        grad_names, grads = _table([m.grad_norms for m in batch])
        update_names, updates = _table([m.update_ratios for m in batch])
        epochs = np.array([(m.step, m.epoch, m.train_loss, m.val_loss, m.train_accuracy,
                            m.val_accuracy) for m in batch if m.epoch_end],
                          dtype=np.float64).reshape(-1, 6)
        return cls(n, scalars, grad_names, grads, update_names, updates, epochs,
                   batch[-1] if batch else None)


def _table(maps: list[Mapping[str, float]]) -> tuple[tuple[str, ...], np.ndarray]:
    """(names, (len(maps), len(names)) values) from per-record mappings; NaN where missing."""
    if not maps:
        return (), np.zeros((0, 0))
    names = tuple(maps[0])
    if all(len(mp) == len(names) for mp in maps):
        get = operator.itemgetter(*names) if names else None
        try:  # the usual case: every record has the same parameters
            rows = [get(mp) for mp in maps] if get is not None else [()] * len(maps)
            return names, np.array(rows, dtype=np.float64).reshape(len(maps), len(names))
        except KeyError:
            pass
    seen: dict[str, None] = {}
    for mp in maps:
        seen.update(dict.fromkeys(mp))
    names = tuple(seen)
    return names, np.array([[mp.get(k, np.nan) for k in names] for mp in maps],
                           dtype=np.float64).reshape(len(maps), len(names))


class MetricsBatch(tuple[Metrics, ...]):
    """A tuple of Metrics records that also carries them as :class:`BatchColumns`, built once
    in the thread that made the records (``MetricsBatch.of(records)``)."""

    columns: BatchColumns | None = None
    seq: int = 0  # the worker numbers its batches 1, 2, ...; the GUI acknowledges them

    @classmethod
    def of(cls, records: Iterable[Metrics], seq: int = 0) -> MetricsBatch:
        batch = cls(records)
        batch.columns = BatchColumns.of(tuple(batch))
        batch.seq = seq
        return batch


def window_mean(values: np.ndarray, k: int, log: bool = False) -> np.ndarray:
    """At each row, the mean of the finite values in a window of ``k`` rows centred on it (NaN
    where it holds none), so the smoothed curve does not lag behind the data; with ``log``, the
    geometric mean of the positive ones (what a log axis shows as the middle). Near the start
    the window shrinks evenly on both sides (row i averages rows 0..2i), so the curve starts
    at the first value and follows a run's steep first drop instead of lying flat under it;
    at the newest end it keeps the rows before (a steady trailing mean while the run goes on).
    Vectorised with cumulative sums: about the cost of a copy."""
    values = np.asarray(values, dtype=np.float64)
    if k <= 1 or values.size == 0:
        return values
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(values), np.nan)
    finite = np.isfinite(values)
    total = np.concatenate(([0.0], np.cumsum(np.where(finite, values, 0.0))))
    count = np.concatenate(([0], np.cumsum(finite)))
    i = np.arange(values.size)
    start = np.maximum(i - (k - 1) // 2, 0)
    end = np.minimum(i + 1 + np.minimum(k // 2, i), values.size)
    n = count[end] - count[start]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (total[end] - total[start]) / n
    out[n == 0] = np.nan
    return np.power(10.0, out) if log else out


@dataclass(frozen=True)
class ViewSnapshot:
    """Copies made in the worker thread between steps, for the views that need arrays: the
    parameter values (weight histograms, wires), a decision-boundary grid for 2-D data,
    validation predictions (confusion matrix) and predictions for a few sample images."""

    step: int
    epoch: int
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    boundary: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # xs (W,), ys (H,), class (H, W) or p(class 1)
    boundary_probability: bool = False  # True when boundary[2] is p(class 1) in [0, 1]
    val_true: np.ndarray | None = None
    val_pred: np.ndarray | None = None
    samples: np.ndarray | None = None  # (k, h, w) images
    sample_true: np.ndarray | None = None
    sample_pred: np.ndarray | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    canvas: Any = None  # a live_data.LiveCanvas: what the canvas shows of the run
