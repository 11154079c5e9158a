"""What the live views need from a training run, computed in the training thread between two
steps and handed over as copies: :func:`make_view_snapshot` (parameters, a decision-boundary grid,
validation predictions, sample images). No Qt here."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from ...engine import Program
from ...training import Binding, Trainer, predict_classes
from ...training.loop import encode_targets
from .history import ViewSnapshot
from .live_data import live_canvas, plane_grid

__all__ = ["GRID_SIZE", "SAMPLE_COUNT", "VIEWS", "SnapshotFn", "copy_params", "make_view_snapshot",
           "snapshot_from", "view_fields"]

GRID_SIZE = 120  # decision-boundary grid: GRID_SIZE × GRID_SIZE points
GRID_MARGIN = 0.1  # of the data's span on each side
SAMPLE_COUNT = 24  # validation images shown with their predictions
LIVE_VAL_ROWS = 4096  # periodic snapshots predict at most this many validation rows
CHUNK_ROWS = 4096  # rows per forward pass when predicting many points (bounds the memory)

# what a periodic snapshot can leave out when no visible view needs it (the parameters are
# always copied: the weight histograms and the values on the wires use them)
VIEWS = frozenset({"boundary", "confusion", "samples", "canvas"})
VIEWS_NEEDING_PREDICTIONS = frozenset({"confusion", "samples"})

SnapshotFn = Callable[[Program, Trainer], Mapping[str, Any]]
_FIELDS = frozenset(f.name for f in dataclasses.fields(ViewSnapshot)) - {"step", "epoch", "params"}


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
                views: Collection[str] | None = None, wires: bool = True) -> dict[str, Any]:
    """The default snapshot content besides the parameters (see :func:`make_view_snapshot`).
    Runs forward passes on ``program``: call it only from the thread that trains, between steps.
    ``views`` limits the work to what the visible views need (``VIEWS``; None: everything);
    without ``wires`` the canvas gets its unit maps only (see :func:`.live_data.live_canvas`)."""
    split, b = trainer.split, trainer.binding
    ds = split.dataset
    dt = program.dtype
    out: dict[str, Any] = {}
    cache = _cache(trainer)
    have_train = trainer.X_train.shape[0] > 0
    if views is None or "canvas" in views:
        # first: it reads the last training batch's state (the passes below overwrite values)
        out["canvas"] = live_canvas(program, trainer, wires)
    with np.errstate(all="ignore"):
        boundary = views is None or "boundary" in views
        predictions = views is None or not VIEWS_NEEDING_PREDICTIONS.isdisjoint(views)
        if not boundary:
            pass
        elif ds.task == "classification" and have_train and (
                grid := plane_grid(trainer, program, GRID_SIZE, GRID_MARGIN)) is not None:
            # over the plane the data lies in (raw x1, x2 when the inputs are derived features)
            xs, ys = grid["xs"], grid["ys"]
            values, probability = _class_map(_predict(program, b, grid["X"], grid["T"]), program,
                                             b, ds.n_classes)
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
                       full: bool = True, views: Collection[str] | None = None,
                       wires: bool = True) -> ViewSnapshot:
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

    ``views`` (see ``VIEWS``) leaves out what no visible view shows (None: everything);
    ``wires`` False leaves the numbers on the canvas's wires out (they change once a second).

    The forward passes leave the program's values on the last set predicted (the validation
    set); nothing needs restoring, as the trainer sets its inputs before every step."""
    fields = view_fields(program, trainer, full, views, wires)
    fields["extra"] = MappingProxyType(dict(fields.get("extra") or {}))
    return ViewSnapshot(step, epoch, params=copy_params(program), **fields)


def snapshot_from(fields: Mapping[str, Any], program: Program, step: int,
                   epoch: int) -> ViewSnapshot:
    known = {k: v for k, v in fields.items() if k in _FIELDS and k != "extra"}
    extra = dict(fields.get("extra") or {})
    extra.update({k: v for k, v in fields.items() if k not in _FIELDS})
    return ViewSnapshot(step, epoch, params=copy_params(program), extra=MappingProxyType(extra),
                        **known)
