"""Trained parameters on disk: ``.npz`` keyed by node name, never unpickled.

Reading goes through :mod:`playground.training.weights`, which checks every array against the
program (names, shapes, dtypes, sizes, finite values) before it is used.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..engine import Program
from ..graph.files import atomic_write
from .weights import CheckpointError, WeightsFit, fit_weights, read_npz

__all__ = ["CheckpointError", "WeightsFit", "fit_weights", "load_params", "restore_params",
           "save_params", "weights_path"]


def weights_path(graph_path: str | os.PathLike[str]) -> Path:
    """Where the weights of ``graph.json`` live: ``graph.weights.npz`` beside it."""
    p = Path(graph_path)
    return p.with_name(p.stem + ".weights.npz")


def save_params(program: Program, path: str | os.PathLike[str]) -> list[Path]:
    """Write every parameter to ``path`` atomically; return stale temporaries removed."""
    buf = io.BytesIO()
    np.savez(buf, **program.param_arrays(trainable_only=False))  # type: ignore[arg-type]
    return atomic_write(path, buf.getvalue())


def load_params(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of a weights file, checked (real, finite, within the memory budget) but not
    yet against a program: prefer :func:`fit_weights` when the program is known. Raises
    :class:`CheckpointError` with one line per unusable array."""
    arrays, skipped = read_npz(path, None, np.float64)
    if skipped:
        name = Path(path).name
        raise CheckpointError([f"{name}: '{k}' skipped: {why}" for k, why in skipped.items()])
    return arrays


def restore_params(program: Program, path: str | os.PathLike[str]) -> list[str]:
    """Load weights into ``program`` only when they fit it exactly: every array a parameter of
    the right shape and every parameter present. Returns the names restored; raises
    :class:`CheckpointError` (one line per failure) and changes nothing otherwise."""
    fit = fit_weights(program, path)
    if not fit.complete:
        raise CheckpointError(fit.lines())
    fit.apply(program)
    return list(fit.taken)
