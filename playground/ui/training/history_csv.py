"""The numbers behind the history plots, shaped as CSV tables (no Qt): one row per logged step
and per epoch end, blank cells where a column has no value there, numbers to full precision.
The plots choose the columns; this module lines them up and writes them."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .history import MetricsHistory, window_mean

Column = tuple[str, np.ndarray]


def on_rows(rows: np.ndarray, steps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` (one per sorted ``steps``) placed on ``rows`` (sorted steps); NaN elsewhere."""
    out = np.full(rows.shape[0], np.nan)
    if steps.shape[0]:
        i = np.minimum(np.searchsorted(steps, rows), steps.shape[0] - 1)
        hit = steps[i] == rows
        out[hit] = values[i[hit]]
    return out


def cell(value: float) -> str:
    """A CSV cell: the number to full precision, blank when there is none."""
    return f"{value:.17g}" if math.isfinite(value) else ("" if math.isnan(value) else repr(value))


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write_columns(path: Path, columns: Sequence[Column]) -> None:
    """A CSV file with one column per (name, values); all columns have the same length."""
    write_rows(path, [name for name, _ in columns],
               ([cell(v) for v in row] for row in zip(*(values for _, values in columns),
                                                      strict=True)))


def step_columns(h: MetricsHistory, extra: Sequence[Column] = ()) -> list[Column]:
    """Step and epoch of every logged step, then ``extra`` per-step columns."""
    return [("step", h.step.view()), ("epoch", h.epoch.view()), *extra]


def loss_columns(h: MetricsHistory, smooth: int = 1) -> list[Column]:
    """One row per logged step and per epoch end (older steps may be thinned, epoch ends
    never): step, epoch, lr, batch loss (and its mean over ``smooth`` steps when > 1), and the
    epoch's train and validation loss on its last step."""
    steps, ends = h.step.view(), h.epoch_step.view()
    rows = np.union1d(steps, ends)
    epoch = on_rows(rows, steps, h.epoch.view())
    at_end = on_rows(rows, ends, h.epoch_index.view())
    epoch = np.where(np.isnan(epoch), at_end, epoch)
    columns = [("step", rows), ("epoch", epoch), ("lr", on_rows(rows, steps, h.lr.view())),
               ("batch_loss", on_rows(rows, steps, h.batch_loss.view()))]
    if smooth > 1:
        columns.append((f"batch_loss_mean_{smooth}",
                        on_rows(rows, steps, window_mean(h.batch_loss.view(), smooth))))
    columns += [("train_loss_epoch", on_rows(rows, ends, h.train_loss.view())),
                ("val_loss_epoch", on_rows(rows, ends, h.val_loss.view()))]
    return columns


def accuracy_columns(h: MetricsHistory) -> list[Column]:
    """One row per epoch: epoch, its last step, train and validation accuracy (%)."""
    return [("epoch", h.epoch_index.view()), ("step", h.epoch_step.view()),
            ("train_accuracy_percent", 100.0 * h.train_accuracy.view()),
            ("val_accuracy_percent", 100.0 * h.val_accuracy.view())]
