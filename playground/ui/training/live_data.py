"""What the canvas shows of a live run, computed in the training thread between two steps and
handed over as small immutable records (no Qt here):

- the value and gradient of every wire on the last training batch, as
  :class:`~playground.engine.digest.Digest` records (fixed size whatever the model: statistics,
  first numbers, mean |x| for the gradient-flow overlay and a block-mean heatmap), from one
  forward and backward pass with every gate
  over that batch and the weights as they are now;
- a :class:`~playground.graph.health.Health` verdict per gate (live badges: saturated σ/tanh,
  dead ReLUs, vanishing or exploding gradients, with their fraction);
- for data with two inputs (or two raw inputs and derived features, x1·x2, sin x1 ...): each
  hidden and output unit's output over a coarse grid of the input plane (TensorFlow
  Playground's thumbnails), from one forward pass over the grid points;
- for other data: a histogram of each of those nodes' outputs on the batch.

:func:`live_canvas` runs the passes on the training program itself; call it only from the thread
that trains, between two steps (the trainer sets its inputs again before every step).
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ...engine import Program
from ...engine.digest import Digest
from ...engine.registry import activations
from ...graph.health import Health, health_by_index
from ...training import Trainer
from ...training.datasets import Split
from ...training.loop import encode_targets
from ..canvas.heatmaps import live_digest
from ..canvas.unitmaps import map_rgb

__all__ = ["HIST_BINS", "MAP_GRID", "MAP_NODES", "WIRES_INTERVAL", "Histogram", "LiveCanvas", "UnitMaps",
           "live_canvas", "map_nodes", "plane_grid", "plane_of", "plane_points"]

MAP_GRID = 32  # unit maps: MAP_GRID × MAP_GRID points over the input plane
# seconds between two updates of the numbers on the wires during a live run (the unit
# maps are updated several times a second; numbers changing faster cannot be read)
WIRES_INTERVAL = 1.0
MAP_NODES = 12  # at most this many nodes get unit maps or histograms
MAP_ELEMENTS = 1_000_000  # and the maps hold at most this many numbers in all
HIST_BINS = 24
PLANE_MARGIN = 0.1  # of the data's span on each side of the map grid
# the range of bounded outputs, so that a unit's colours mean the same over time
FIXED_RANGE = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "softmax": (0.0, 1.0),
               "hard_sigmoid": (0.0, 1.0)}


@dataclass(frozen=True)
class UnitMaps:
    """One node's output over the input plane: ``maps[u]`` is unit u's value at the grid point
    (row j = ys[j], column i = xs[i]); ``lo``..``hi`` the colour range (fixed for bounded
    activations, else the maps' own)."""

    maps: np.ndarray  # (units, MAP_GRID, MAP_GRID) float32
    lo: float
    hi: float
    centred: bool  # a diverging scale about 0 (tanh, unbounded) rather than lo..hi (σ, softmax)
    # the maps coloured, (units, MAP_GRID, MAP_GRID, 3) uint8 with the plane's y pointing up
    # (row 0 at the top): made by the training thread, so the canvas only wraps them in images
    rgb: np.ndarray | None = None


@dataclass(frozen=True)
class Histogram:
    """A node's outputs on the batch: ``counts`` per bin between ``edges``."""

    counts: np.ndarray
    edges: np.ndarray
    units: int


@dataclass(frozen=True)
class LiveCanvas:
    rows: int  # samples in the batch the values and gradients are of
    values: Mapping[int, Digest] = field(default_factory=dict)  # by program node index
    grads: Mapping[int, Digest] = field(default_factory=dict)
    health: Mapping[int, Health] = field(default_factory=dict)
    maps: Mapping[int, UnitMaps] = field(default_factory=dict)
    plane: tuple[np.ndarray, np.ndarray] | None = None  # (xs, ys) of the map grid
    plane_names: tuple[str, str] = ("x1", "x2")
    histograms: Mapping[int, Histogram] = field(default_factory=dict)
    seconds: float = 0.0
    # with the wires' numbers (values, grads, health)? A periodic snapshot carries them once a
    # WIRES_INTERVAL only: the unit maps between need no pass over the batch
    wires: bool = True


# ------------------------------------------------------------------------- which nodes

GRADIENT_KINDS = ("vanishing", "exploding")


def fold_into_gates(program: Program, health: Mapping[int, Health]) -> dict[int, Health]:
    """The badges a layer needs: a parameter whose gradient vanishes (or explodes) as that of
    every gate it feeds does says so through those gates' badges (``z1``'s names ``W1`` and
    ``b1``), not with a badge of its own. A badged parameter, a gate and its activation stacked
    at the zoom an example opens at covered each other and the nodes around them."""
    out = dict(health)
    consumers: dict[int, list[int]] = {}
    for j, node in enumerate(program.nodes):
        for i in node.inputs:
            consumers.setdefault(i, []).append(j)
    folded: dict[int, list[str]] = {}
    for i, h in health.items():
        users = consumers.get(i, [])
        if (h.kind in GRADIENT_KINDS and program.nodes[i].spec.role == "parameter" and users
                and all(health.get(j) is not None and health[j].kind == h.kind for j in users)):
            del out[i]
            for j in users:
                folded.setdefault(j, []).append(program.nodes[i].name)
    for j, names in folded.items():
        also = " and ".join(names) if len(names) <= 2 else ", ".join(names)
        out[j] = dataclasses.replace(
            out[j], explanation=f"{out[j].explanation} The same holds for {also}, which feed it.")
    return out


def map_nodes(program: Program, features: int) -> list[int]:
    """The nodes that get unit maps (or histograms): per-sample outputs ``(N, units)`` that
    depend on the features input ``features`` — hidden layers and outputs — except inputs,
    parameters, losses and pre-activations (a node whose every consumer is an elementwise
    activation: the activation shows the same units). At most ``MAP_NODES``, the last ones
    (nearest the output) kept when there are more."""
    acts = set(activations())
    consumers: dict[int, list[int]] = {}
    for j, node in enumerate(program.nodes):
        for i in node.inputs:
            consumers.setdefault(i, []).append(j)
    reach = {features}
    for j, node in enumerate(program.nodes):  # program order is topological
        if any(i in reach for i in node.inputs):
            reach.add(j)
    out = []
    for i, node in enumerate(program.nodes):
        if i not in reach or node.spec.role in ("input", "parameter", "constant", "loss"):
            continue
        shape = node.shape
        if len(shape) != 2 or shape[0] is not None or not isinstance(shape[1], int):
            continue
        users = consumers.get(i, [])
        if users and all(program.nodes[j].op in acts for j in users):
            continue
        out.append(i)
    return out[-MAP_NODES:]


# ------------------------------------------------------------------------- the input plane

_caches: weakref.WeakKeyDictionary[Trainer, dict[Any, Any]] = weakref.WeakKeyDictionary()


def plane_points(split: Split) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray],
                                         tuple[str, str]] | None:
    """The 2-D plane the data lives in, or None: (the training points in its coordinates, the
    map from plane points to the network's inputs, the axis names). Raw units when the inputs
    are derived features (x1·x2, sin x1 ... of two raw columns), else the inputs themselves
    (standardised when the run standardises)."""
    ds = split.dataset
    names = tuple(ds.feature_names[:2]) if len(ds.feature_names) >= 2 else ("x1", "x2")
    axes = (str(names[0]), str(names[1]))
    if split.features and ds.n_features == 2:
        return np.asarray(ds.X[split.train_index], dtype=np.float64), split.transform, axes
    if split.n_inputs == 2:
        return np.asarray(split.X_train, dtype=np.float64), lambda P: P, axes
    return None


def plane_of(trainer: Trainer) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray],
                                       tuple[str, str]] | None:
    """:func:`plane_points` of the trainer's data."""
    return plane_points(trainer.split)


def plane_grid(trainer: Trainer, program: Program, size: int,
               margin: float = PLANE_MARGIN) -> dict[str, Any] | None:
    """A ``size`` × ``size`` grid over the plane (cached per trainer and size): its axes
    ``xs``, ``ys``, the network's inputs ``X`` for its points (row-major: y outer, x inner) and
    dummy targets ``T`` (the loss must compute; its value is not used); None when the data is
    not 2-D."""
    cache = _caches.setdefault(trainer, {})
    key = ("grid", size, margin)
    if key in cache:
        return cache[key]
    found = plane_of(trainer)
    grid = None
    if found is not None and found[0].shape[0]:
        points, to_inputs, names = found
        lo, hi = points.min(axis=0), points.max(axis=0)
        pad = np.where(hi > lo, margin * (hi - lo), 0.5)
        xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], size)
        ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], size)
        gx, gy = np.meshgrid(xs, ys)
        plane = np.column_stack([gx.ravel(), gy.ravel()])
        X = np.ascontiguousarray(to_inputs(plane), dtype=program.dtype)
        ds = trainer.split.dataset
        y = np.zeros(X.shape[0], dtype=np.int64 if ds.task == "classification" else np.float64)
        T = encode_targets(y, trainer.binding, ds.n_classes, program.dtype)
        xs.setflags(write=False)
        ys.setflags(write=False)
        grid = {"xs": xs, "ys": ys, "X": X, "T": T, "names": names}
    cache[key] = grid
    return grid


def _nodes(trainer: Trainer, program: Program) -> list[int]:
    cache = _caches.setdefault(trainer, {})
    if "nodes" not in cache:
        cache["nodes"] = map_nodes(program, program.index[trainer.binding.features])
    return cache["nodes"]


# ------------------------------------------------------------------------- one snapshot

def _range(op: str, a: np.ndarray) -> tuple[float, float, bool]:
    fixed = FIXED_RANGE.get(op)
    if fixed is not None:
        return fixed[0], fixed[1], op == "tanh"
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return -1.0, 1.0, True
    m = float(np.max(np.abs(finite)))
    if op == "relu" or float(finite.min()) >= 0:
        return 0.0, m if m > 0 else 1.0, False
    return -(m if m > 0 else 1.0), (m if m > 0 else 1.0), True


def live_canvas(program: Program, trainer: Trainer, wires: bool = True) -> LiveCanvas:
    """The canvas's view of the run now (see the module text). Leaves the program's values on
    the map grid (or the batch); the trainer sets its inputs before the next step. Without
    ``wires`` only the unit maps (or histograms) are made: no backward pass over the batch, no
    digests of its values and gradients, no health check."""
    import time

    t0 = time.perf_counter()
    b = trainer.binding
    idx = trainer.last_batch
    if idx is None:
        idx = trainer.next_batch()
    if idx is None or len(idx) == 0:
        return LiveCanvas(0)
    rows = len(idx)
    with np.errstate(all="ignore"):
        program.set_input(b.features, trainer.X_train[idx])
        program.set_input(b.target, trainer.T_train[idx])
        nodes = _nodes(trainer, program)
        grid = plane_grid(trainer, program, MAP_GRID)
        values: dict[int, Digest] = {}
        grads: dict[int, Digest] = {}
        health: dict[int, Health] = {}
        if wires:
            program.forward(all_values=True)
            program.backward(all_grads=True)
            # with the wire labels' thumbnails, made here rather than in the GUI thread
            values = {i: live_digest(v) for i, v in enumerate(program.values) if v is not None}
            grads = {i: live_digest(g) for i, g in enumerate(program.grads) if g is not None}
            health = fold_into_gates(program, health_by_index(program))
        elif grid is None:  # the histograms are of the batch's values
            program.forward(all_values=True)
        maps: dict[int, UnitMaps] = {}
        hists: dict[int, Histogram] = {}
        if grid is not None:
            units = sum(int(program.nodes[i].shape[1] or 0) for i in nodes)
            if units * MAP_GRID * MAP_GRID <= MAP_ELEMENTS:
                program.set_input(b.features, grid["X"])
                program.set_input(b.target, grid["T"])
                program.forward(all_values=True)
                for i in nodes:
                    v = program.values[i]
                    if v is None or v.ndim != 2:
                        continue
                    lo, hi, centred = _range(program.nodes[i].op, v)
                    m = np.ascontiguousarray(v.T.reshape(v.shape[1], MAP_GRID, MAP_GRID),
                                             dtype=np.float32)
                    m.setflags(write=False)
                    rgb = np.ascontiguousarray(map_rgb(m, lo, hi, centred)[:, ::-1])
                    rgb.setflags(write=False)
                    maps[i] = UnitMaps(m, lo, hi, centred, rgb)
        else:
            for i in nodes:
                v = program.values[i]
                if v is None or v.size == 0:
                    continue
                lo, hi, _c = _range(program.nodes[i].op, v)
                a = np.asarray(v, dtype=np.float64).reshape(-1)
                a = a[np.isfinite(a)]
                if lo == hi or not (math.isfinite(lo) and math.isfinite(hi)):
                    lo, hi = lo - 0.5, hi + 0.5
                counts, edges = np.histogram(np.clip(a, lo, hi), bins=HIST_BINS, range=(lo, hi))
                hists[i] = Histogram(counts, edges, int(v.shape[-1]) if v.ndim else 1)
    return LiveCanvas(
        rows, MappingProxyType(values), MappingProxyType(grads), MappingProxyType(health), MappingProxyType(maps),
        None if grid is None else (grid["xs"], grid["ys"]),
        ("x1", "x2") if grid is None else grid["names"], MappingProxyType(hists),
        time.perf_counter() - t0, wires)
