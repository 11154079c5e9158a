"""Trained parameters on disk: ``.npz`` keyed by node name, loaded with ``allow_pickle=False``."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from ..engine import Program
from ..graph.serialize import atomic_write


class CheckpointError(ValueError):
    """A weights file that cannot be read or does not fit the graph."""


def weights_path(graph_path: str | os.PathLike[str]) -> Path:
    """Where the weights of ``graph.json`` live: ``graph.weights.npz`` beside it."""
    p = Path(graph_path)
    return p.with_name(p.stem + ".weights.npz")


def save_params(program: Program, path: str | os.PathLike[str]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **{name: arr for name, arr in program.param_arrays(trainable_only=False).items()})
    atomic_write(path, buf.getvalue())


def load_params(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.array(data[k]) for k in data.files}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"{Path(path).name}: not a weights file ({exc})") from None


def restore_params(program: Program, path: str | os.PathLike[str]) -> list[str]:
    """Load weights into ``program``; return the names restored. Shapes must match."""
    arrays = load_params(path)
    try:
        program.set_params(arrays, strict=False)
    except ValueError as exc:
        raise CheckpointError(f"{Path(path).name}: {exc}") from None
    known = set(program.param_arrays(trainable_only=False))
    return [k for k in arrays if k in known]
