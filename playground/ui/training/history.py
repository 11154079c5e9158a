"""What the live views read: a growing history of metric records and the latest view snapshot.

No Qt here: the worker thread hands over immutable batches of records; the GUI thread appends
them and the plots redraw from these arrays on a timer (never one redraw per step)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...training import Metrics


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

    def view(self) -> np.ndarray:
        return self._data[: self.n]


class MetricsHistory:
    """Per-step columns (step, epoch, batch loss, lr, elapsed, grad norm and update/weight ratio
    per parameter) and per-epoch columns (train/val loss and accuracy), plus the steps at which
    the learning rate changed. ``version`` grows with every append, so a plot can skip a redraw
    when nothing is new."""

    def __init__(self) -> None:
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
        self.version = 0
        self.last: Metrics | None = None

    def __len__(self) -> int:
        return self.step.n

    def append(self, records: Iterable[Metrics]) -> None:
        for m in records:
            if self.last is not None and m.lr != self.last.lr:
                self.lr_changes.append((m.step, m.lr))
            self.step.append(m.step)
            self.epoch.append(m.epoch)
            self.batch_loss.append(m.batch_loss)
            self.lr.append(m.lr)
            self.elapsed.append(m.elapsed)
            _append_map(self.grad_norms, m.grad_norms, self.step.n)
            _append_map(self.update_ratios, m.update_ratios, self.step.n)
            if m.epoch_end:
                self.epoch_step.append(m.step)
                self.epoch_index.append(m.epoch)
                self.train_loss.append(m.train_loss)
                self.val_loss.append(m.val_loss)
                self.train_accuracy.append(m.train_accuracy)
                self.val_accuracy.append(m.val_accuracy)
            self.last = m
        self.version += 1

    def steps_per_second(self, window: int = 200) -> float:
        """Recent training speed from the elapsed times of the last ``window`` steps."""
        n = self.step.n
        if n < 2:
            return 0.0
        k = min(window, n - 1)
        t = self.elapsed.view()
        dt = t[n - 1] - t[n - 1 - k]
        return k / dt if dt > 0 else 0.0


def _append_map(columns: dict[str, _Column], values: Mapping[str, float], length: int) -> None:
    for name, value in values.items():
        col = columns.get(name)
        if col is None:
            col = columns[name] = _Column()
            for _ in range(length - 1):  # a parameter that appeared late: pad with NaN
                col.append(None)
        col.append(value)


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
