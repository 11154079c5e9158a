"""A small, fixed-size stand-in for an array of any size: what a display needs of it.

A live training run hands the window the value and gradient of every wire several times a
second. Copying the arrays themselves would cost the training thread time in proportion to the
model (a 256 × 2048 batch is 4 MB a wire); a :class:`Digest` is made in one pass over the array
and holds only its shape, statistics, first few numbers and a block-mean picture of at most
``rows`` × ``cols`` cells, whatever the array's size. Everything that shows an array on the
canvas (text, tooltip, heatmap) works from a digest. NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GRID_COLS", "GRID_ROWS", "HEAD", "Digest", "as_matrix", "block_mean", "digest",
           "matrix_shape"]

GRID_ROWS, GRID_COLS = 12, 24  # the heatmap a wire label draws
HEAD = 6  # first numbers kept for the tooltip


def as_matrix(a: np.ndarray) -> np.ndarray:
    """A matrix view for display: scalar 1×1, vector 1×n, more axes (rows of the last)."""
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 2:
        return a
    return a.reshape(-1, a.shape[-1])


def matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """The shape :func:`as_matrix` gives an array of ``shape``."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (1, int(shape[0]))
    rows = 1
    for d in shape[:-1]:
        rows *= int(d)
    return (rows, int(shape[-1]))


def block_mean(m: np.ndarray, axis: int, n: int) -> np.ndarray:
    """``m`` reduced along ``axis`` to at most ``n`` entries, each the mean of a block."""
    size = m.shape[axis]
    if size <= n:
        return m
    starts = np.linspace(0, size, n + 1).astype(np.int64)[:-1]
    counts = np.diff(np.append(starts, size))
    sums = np.add.reduceat(m, starts, axis=axis)
    shape = [1, 1]
    shape[axis] = n
    return sums / counts.reshape(shape)


@dataclass(frozen=True)
class Digest:
    """Shape, statistics, the first numbers and a block-mean heatmap grid of an array."""

    shape: tuple[int, ...]
    mean: float
    std: float
    min: float
    max: float
    norm: float
    mean_abs: float  # mean |x|: what the gradient-flow overlay draws
    head: np.ndarray  # the first HEAD numbers, flattened (float64)
    grid: np.ndarray  # block means of as_matrix(array), at most GRID_ROWS × GRID_COLS (float64)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= int(d)
        return n

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def scalar(self) -> float:
        """The value of a one-element array."""
        return float(self.head[0]) if self.head.size else float("nan")


def digest(a: Any, rows: int = GRID_ROWS, cols: int = GRID_COLS) -> Digest:
    """The :class:`Digest` of ``a`` (any array-like; integers and booleans are read as floats).
    Non-finite entries count in the statistics as NumPy counts them (a NaN makes the mean NaN)
    and are drawn as 0 in the grid."""
    if isinstance(a, Digest):
        return a
    arr = np.asarray(a)
    if arr.dtype.kind not in "fc":
        arr = arr.astype(np.float64)
    if arr.dtype.kind == "c":
        arr = np.abs(arr)
    flat = arr.reshape(-1)
    head = np.array(flat[:HEAD], dtype=np.float64)
    if flat.size == 0:
        nan = float("nan")
        return Digest(tuple(arr.shape), nan, nan, nan, nan, 0.0, 0.0, head, np.zeros((0, 0)))
    with np.errstate(all="ignore"):  # few NumPy calls: digests are made many times a second
        f64 = flat.astype(np.float64, copy=False)
        n = f64.shape[0]
        total = float(f64.sum())
        mean = total / n
        d = f64 - mean
        std = math.sqrt(float(np.dot(d, d)) / n) if math.isfinite(mean) else float("nan")
        lo, hi = float(f64.min()), float(f64.max())
        norm = math.sqrt(float(np.dot(f64, f64)))
        mean_abs = float(np.abs(f64, out=d).sum()) / n  # d's buffer again: one allocation
        m = as_matrix(arr.reshape(arr.shape).astype(np.float64, copy=False))
        if not math.isfinite(total):
            m = np.nan_to_num(m, nan=0.0, posinf=0.0, neginf=0.0)
        grid = block_mean(block_mean(m, 0, rows), 1, cols)
    return Digest(tuple(int(d) for d in arr.shape), mean, std, lo, hi, norm, mean_abs, head,
                  np.array(grid, dtype=np.float64))
