"""What the live views read: a growing history of metric records and the latest view snapshot.

No Qt here: the worker thread hands over immutable batches of records; the GUI thread appends
them and the plots redraw from these arrays on a timer (never one redraw per step).

The per-step columns are bounded: past ``MAX_STEP_ROWS`` rows the older ones are thinned to every
2nd, 4th, 8th... step (the first and the newest rows are kept whole), so memory and redraw cost stay
flat over a run of millions of steps. Epoch rows are never thinned."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...training import Metrics, PerParam

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


STEP_SCALARS = ("step", "epoch", "batch_loss", "lr", "elapsed", "epoch_pos")


class _StepColumns:
    """The per-step columns in one (columns, capacity) float64 array that grows by doubling, so
    a batch of rows is appended with one copy (a column per array cost a copy, and a release of
    the interpreter lock the training thread waits for, per column). ``names`` orders the
    columns: STEP_SCALARS, then ``g:<parameter>`` (gradient norms) and ``u:<parameter>``
    (update/weight ratios)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.names: list[str] = list(STEP_SCALARS)
        self.index = {name: j for j, name in enumerate(self.names)}
        self.data = np.full((len(self.names), capacity), np.nan)
        self.n = 0

    def column(self, name: str) -> _BlockColumn:
        """The column ``name`` (added, NaN in the rows so far, if new)."""
        if name not in self.index:
            self.index[name] = len(self.names)
            self.names.append(name)
            self.data = np.concatenate(
                [self.data, np.full((1, self.data.shape[1]), np.nan)])
        return _BlockColumn(self, self.index[name])

    def extend(self, table: np.ndarray) -> None:
        """Append ``table``: (len(names), rows), in the order of ``names``."""
        need = self.n + table.shape[1]
        if need > self.data.shape[1]:
            capacity = self.data.shape[1]
            while capacity < need:
                capacity *= 2
            grown = np.empty((self.data.shape[0], capacity))  # only [:, :n] is ever read
            grown[:, : self.n] = self.data[:, : self.n]
            self.data = grown
        self.data[:, self.n: need] = table
        self.n = need

    def keep(self, rows: np.ndarray) -> None:
        """Keep only ``rows`` (sorted indices), in a new buffer: a plot may still hold a view
        of the old one."""
        data = np.empty_like(self.data)
        data[:, : rows.shape[0]] = self.data[:, rows]
        self.data, self.n = data, rows.shape[0]


class _BlockColumn:
    """One column of a :class:`_StepColumns`, read as a ``_Column`` is: ``view()``, ``n``."""

    __slots__ = ("_block", "_j")

    def __init__(self, block: _StepColumns, j: int) -> None:
        self._block, self._j = block, j

    @property
    def n(self) -> int:
        return self._block.n

    @property
    def _data(self) -> np.ndarray:  # the whole buffer row (memory accounting)
        return self._block.data[self._j]

    def view(self) -> np.ndarray:
        return self._block.data[self._j, : self._block.n]


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
        self._steps = _StepColumns()
        column = self._steps.column
        self.step, self.epoch, self.batch_loss = column("step"), column("epoch"), column("batch_loss")
        self.lr, self.elapsed = column("lr"), column("elapsed")
        self.epoch_pos = column("epoch_pos")  # each step as a fractional epoch (see append)
        self.grad_norms: dict[str, _BlockColumn] = {}
        self.update_ratios: dict[str, _BlockColumn] = {}
        self.epoch_step, self.epoch_index = _Column(64), _Column(64)
        self.train_loss, self.val_loss = _Column(64), _Column(64)
        self.train_accuracy, self.val_accuracy = _Column(64), _Column(64)
        self.lr_changes: list[tuple[int, float]] = []  # (first step with the new lr, lr)
        # (first step under the new settings, what changed): a run continued with another
        # optimizer, batch size, L2 ... (mark_change)
        self.setting_changes: list[tuple[int, str]] = []
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
            table = cols.table
            lrs = table[3]
            before = np.concatenate(([self.last.lr if self.last is not None else lrs[0]], lrs[:-1]))
            changed = np.flatnonzero(lrs != before)
            rows_before = self.step.n
            self._extend_steps(cols)
            if self.offsets != (0, 0, 0.0):
                # a continued run: its steps, epochs and times go on after the last run's
                step, epoch, _, _, elapsed, epoch_pos = range(len(STEP_SCALARS))
                block = self._steps.data[:, rows_before: rows_before + n]
                block[[step, epoch, elapsed, epoch_pos]] += np.array(
                    [self.offsets[0], self.offsets[1], self.offsets[2], self.offsets[1]])[:, None]
            steps = self.step.view()[rows_before:]
            for i in changed:
                self.lr_changes.append((int(steps[i]), float(lrs[i])))
            if cols.epochs.shape[0]:
                epochs = cols.epochs + np.array([self.offsets[0], self.offsets[1], 0, 0, 0, 0])
                for j, col in enumerate((self.epoch_step, self.epoch_index, self.train_loss,
                                         self.val_loss, self.train_accuracy, self.val_accuracy)):
                    col.extend(epochs[:, j])
            self.last = cols.last
        self.version += 1

    def _extend_steps(self, cols: BatchColumns) -> None:
        """Append a batch's per-step table: one copy when its columns are the history's (the
        usual case); else matched by name (a parameter that appears late gets NaN before, one
        that is missing NaN)."""
        block = self._steps
        names = cols.names
        if names != tuple(block.names):
            for name in names:
                if name not in block.index:  # a parameter seen for the first time
                    kind, param = name.split(":", 1)
                    (self.grad_norms if kind == "g" else self.update_ratios)[param] = \
                        block.column(name)
            if names != tuple(block.names):  # some of the history's parameters are missing
                table = np.full((len(block.names), cols.rows), np.nan)
                table[[block.index[name] for name in names]] = cols.table
                block.extend(table)
                return
        block.extend(cols.table)

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
        self._steps.keep(np.flatnonzero(keep))

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


@dataclass(frozen=True)
class BatchColumns:
    """The numbers of a batch of Metrics records as arrays, so that appending them to the
    history costs one array copy (the worker thread builds them before it emits)."""

    rows: int
    # (columns, rows): STEP_SCALARS (step, epoch, batch loss, lr, elapsed, the step as a
    # fractional epoch), then a gradient norm per parameter, then an update/weight ratio per
    # parameter; the rows of ``names``
    table: np.ndarray
    names: tuple[str, ...]
    epochs: np.ndarray  # (epoch ends, 6): step, epoch, train/val loss, train/val accuracy
    last: Metrics | None

    @property
    def scalars(self) -> np.ndarray:
        """(rows, 5): step, epoch, batch loss, lr, elapsed."""
        return self.table[:5].T

    @classmethod
    def of(cls, batch: tuple[Metrics, ...]) -> BatchColumns:
        # built in the training thread, 4 times a second: few Python steps per record
        n = len(batch)
        grad_names, grads = _table(list(map(_GRADS, batch)))
        update_names, updates = _table(list(map(_UPDATES, batch)))
        k = len(STEP_SCALARS)
        table = np.empty((k + len(grad_names) + len(update_names), n))
        table[:5] = _rows(_SCALARS, batch, 5).T
        # step s of an epoch of N steps sits at epoch - 1 + ((s - 1) mod N + 1) / N (from the
        # run's own numbers: the last step of epoch e at e, where its epoch point is drawn)
        per = float(batch[-1].steps_per_epoch) if n else 0.0
        table[5] = table[1] - 1 + ((table[0] - 1) % per + 1) / per if per > 0 else table[1]
        table[k: k + len(grad_names)] = grads.T
        table[k + len(grad_names):] = updates.T
        epochs = np.array([(m.step, m.epoch, m.train_loss, m.val_loss, m.train_accuracy,
                            m.val_accuracy) for m in batch if m.epoch_end],
                          dtype=np.float64).reshape(-1, 6)
        names = (STEP_SCALARS + tuple(f"g:{p}" for p in grad_names)
                 + tuple(f"u:{p}" for p in update_names))
        return cls(n, table, names, epochs, batch[-1] if batch else None)


_SCALARS = operator.attrgetter("step", "epoch", "batch_loss", "lr", "elapsed")
_GRADS = operator.attrgetter("grad_norms")
_UPDATES = operator.attrgetter("update_ratios")
_ROW = operator.attrgetter("row")


def _rows(get: Callable[[Any], tuple[float, ...]], items: Sequence[Any], k: int) -> np.ndarray:
    """(len(items), k) float64 from ``get(item)``, a tuple of k numbers each (None → NaN)."""
    n = len(items)
    try:
        return np.fromiter(itertools.chain.from_iterable(map(get, items)), dtype=np.float64,
                           count=n * k).reshape(n, k)
    except TypeError:  # a None among them
        return np.array(list(map(get, items)), dtype=np.float64).reshape(n, k)


def _table(maps: list[Mapping[str, float]]) -> tuple[tuple[str, ...], np.ndarray]:
    """(names, (len(maps), len(names)) values) from per-record mappings; NaN where missing."""
    if not maps:
        return (), np.zeros((0, 0))
    first = maps[0]
    if isinstance(first, PerParam):  # the trainer's records: one shared names tuple
        names = first.names
        if all(isinstance(mp, PerParam) and mp.names is names for mp in maps):
            return names, _rows(_ROW, maps, len(names))
    names = tuple(first)
    if not names:
        if not any(map(len, maps)):
            return (), np.zeros((len(maps), 0))
    elif set(map(len, maps)) == {len(names)}:
        get = operator.itemgetter(*names) if len(names) > 1 else lambda mp: (mp[names[0]],)
        try:  # the usual case: every record has the same parameters
            return names, _rows(get, maps, len(names))
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
