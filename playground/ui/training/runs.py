"""Runs to compare and replay (no Qt): what each run was (its settings and graph facts), where it
started (a copy of its initial weights and the seed of its data order), and, once it is over, its
curves, thinned so that memory stays bounded however long it ran.

- :func:`run_facts` — the settings and graph facts a legend compares: optimizer, learning rate,
  batch, activation(s), loss, layer widths, features, data...
- :class:`RunRecord` — one run; :meth:`RunRecord.label` names what differed from another run.
- :func:`thin_curves` — a finished run's history as at most ``CURVE_POINTS`` points per curve.
- :class:`RunArchive` — the finished runs kept as faded curves (at most ``MAX_OLD_RUNS``, the
  oldest dropped first).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...engine import Program, get_op
from ...engine.registry import activations
from ...training import TrainConfig
from ...training.features import feature_labels
from ...training.workbench import DataSettings
from .history import MetricsHistory
from .layers import ParamGroup

__all__ = ["CURVE_POINTS", "INITIAL_BYTES", "MAX_OLD_RUNS", "RunArchive", "RunCurves",
           "RunRecord", "differences", "params_digest", "run_facts", "thin_curves"]

MAX_OLD_RUNS = 5  # finished runs kept as faded curves; the oldest goes first
CURVE_POINTS = 2000  # per-step points kept per finished run (blocks of steps averaged)
EPOCH_POINTS = 2000  # epoch-end points kept per finished run
INITIAL_BYTES = 16 * 2**20  # initial weights larger than this are not kept (no replay)
LABEL_FACTS = 3  # differences a menu entry names before "+k more"

# the facts a run is described by, in the order a legend names them
FACT_ORDER = ("optimizer", "lr", "momentum", "l2", "batch", "activation", "loss", "layers",
              "features", "data", "samples", "noise", "split", "seed", "epochs")


def run_facts(program: Program, data: DataSettings, config: TrainConfig,
              groups: Sequence[ParamGroup] = ()) -> dict[str, str]:
    """What a run trains with, each fact as the short text a legend shows (``lr 0.1``)."""
    facts = {
        "optimizer": config.optimizer,
        "lr": f"lr {config.lr:g}",
        "l2": f"L2 {config.l2:g}" if config.l2 else "no L2",
        "batch": "full batch" if config.full_batch else f"batch {config.batch_size}",
        "epochs": f"{config.epochs} epochs",
        "data": data.source,
        "seed": f"seed {data.seed}",
        "split": f"val {data.val_fraction:.0%}" + (f", test {data.test_fraction:.0%}"
                                                   if data.test_fraction else ""),
        "features": ("features " + ", ".join(feature_labels(data.features))
                     if data.features else "raw inputs"),
    }
    if config.optimizer == "momentum":
        facts["momentum"] = f"momentum {config.momentum:g}"
    if data.samples is not None:
        facts["samples"] = f"{data.samples} samples"
    if data.noise is not None:
        facts["noise"] = f"noise {data.noise:g}"
    acts = list(dict.fromkeys(n.op for n in program.nodes if n.op in _ACTIVATIONS))
    facts["activation"] = "+".join(acts) if acts else "no activation"
    loss = program.nodes[program.output]
    facts["loss"] = get_op(loss.op).label or loss.op
    widths = _widths(program, groups)
    if widths:
        facts["layers"] = widths
    return facts


_ACTIVATIONS = frozenset(activations())


def _widths(program: Program, groups: Sequence[ParamGroup]) -> str:
    """``2→16→16→2`` when every layer has a 2-D weight matrix, else ''."""
    shapes = []
    for g in groups:
        i = program.index.get(g.weight)
        value = program.values[i] if i is not None else None
        if value is None or np.ndim(value) != 2:
            return ""
        shapes.append(np.shape(value))
    if not shapes:
        return ""
    return "→".join(str(w) for w in [shapes[0][0], *(s[1] for s in shapes)])


def params_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """A fingerprint of parameter values: two runs started from the same weights share it."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def differences(old: RunRecord, new: Mapping[str, str], new_digest: str = "") -> list[str]:
    """The facts of ``old`` that differ from ``new`` (as ``old`` had them), in legend order;
    "other initial weights" when both are known and differ."""
    out = [old.facts[k] for k in FACT_ORDER
           if k in old.facts and old.facts[k] != new.get(k)]
    out += [f"{k} {old.facts[k]}" if k not in FACT_ORDER else old.facts[k]
            for k in old.facts if k not in FACT_ORDER and old.facts[k] != new.get(k)]
    if old.digest and new_digest and old.digest != new_digest:
        out.append("other initial weights")
    return out


@dataclass(frozen=True)
class RunCurves:
    """A finished run's curves, thinned: ``stride`` logged steps per point (their mean; the
    geometric mean for gradient norms), every epoch end up to ``EPOCH_POINTS``."""

    steps: np.ndarray
    epoch_pos: np.ndarray
    batch_loss: np.ndarray
    grad_norms: Mapping[str, np.ndarray]
    epoch_step: np.ndarray
    epoch_index: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_accuracy: np.ndarray
    val_accuracy: np.ndarray
    stride: int = 1
    update_ratios: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        arrays = [self.steps, self.epoch_pos, self.batch_loss, self.epoch_step, self.epoch_index,
                  self.train_loss, self.val_loss, self.train_accuracy, self.val_accuracy,
                  *self.grad_norms.values(), *self.update_ratios.values()]
        return sum(a.nbytes for a in arrays)


def _blocks(values: np.ndarray, k: int, log: bool = False) -> np.ndarray:
    """The mean of each block of ``k`` rows (NaN-aware; geometric with ``log``)."""
    values = np.asarray(values, dtype=np.float64)
    if k <= 1:
        return values.copy()
    n = values.shape[0]
    pad = (-n) % k
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(values), np.nan)
    padded = np.concatenate([values, np.full(pad, np.nan)]).reshape(-1, k)
    finite = np.isfinite(padded)
    count = finite.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(finite, padded, 0.0).sum(axis=1) / count
    out[count == 0] = np.nan
    return np.power(10.0, out) if log else out


def _every(values: np.ndarray, limit: int) -> np.ndarray:
    """At most about ``limit`` rows: every k-th, and always the last."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    if n <= limit:
        return values.copy()
    k = math.ceil(n / limit)
    keep = np.arange(0, n, k)
    if keep[-1] != n - 1:
        keep = np.append(keep, n - 1)
    return values[keep]


def thin_curves(h: MetricsHistory, points: int = CURVE_POINTS) -> RunCurves:
    """The history's curves in at most ``points`` per-step points (blocks of consecutive
    logged steps averaged) and at most ``EPOCH_POINTS`` epoch ends: a few hundred kilobytes
    whatever the run's length."""
    n = len(h)
    k = max(1, math.ceil(n / points))
    return RunCurves(
        steps=_blocks(h.step.view(), k), epoch_pos=_blocks(h.epoch_pos.view(), k),
        batch_loss=_blocks(h.batch_loss.view(), k),
        grad_norms={name: _blocks(col.view(), k, log=True) for name, col in h.grad_norms.items()},
        epoch_step=_every(h.epoch_step.view(), EPOCH_POINTS),
        epoch_index=_every(h.epoch_index.view(), EPOCH_POINTS),
        train_loss=_every(h.train_loss.view(), EPOCH_POINTS),
        val_loss=_every(h.val_loss.view(), EPOCH_POINTS),
        train_accuracy=_every(h.train_accuracy.view(), EPOCH_POINTS),
        val_accuracy=_every(h.val_accuracy.view(), EPOCH_POINTS),
        stride=k,
        update_ratios={name: _blocks(col.view(), k, log=True)
                       for name, col in h.update_ratios.items()})


@dataclass
class RunRecord:
    """One run: its number (1, 2, ... per document), facts (:func:`run_facts`), the seed of its
    data order, its layers, a copy of its initial weights (None when over ``INITIAL_BYTES``: no
    replay) and their digest; once over, its ``outcome`` and thinned ``curves``."""

    number: int
    facts: Mapping[str, str]
    seed: int
    groups: tuple[ParamGroup, ...] = ()
    initial: Mapping[str, np.ndarray] | None = None
    digest: str = ""
    replay_of: int | None = None
    outcome: str = ""  # '' while live; completed, stopped or failed
    curves: RunCurves | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, number: int, facts: Mapping[str, str], seed: int,
              initial: Mapping[str, np.ndarray], groups: Sequence[ParamGroup] = (),
              replay_of: int | None = None) -> RunRecord:
        """A run starting from ``initial`` (copied here, read-only, when small enough)."""
        size = sum(np.asarray(a).nbytes for a in initial.values())
        kept = None
        if size <= INITIAL_BYTES:
            kept = {}
            for name, a in initial.items():
                copy = np.array(a, copy=True)
                copy.setflags(write=False)
                kept[name] = copy
        return cls(number, dict(facts), int(seed), tuple(groups), kept, params_digest(initial),
                   replay_of)

    def go_on_with(self, facts: Mapping[str, str]) -> list[str]:
        """The run goes on (Train again after it stopped) with ``facts``: what changed, as the
        plots mark it (``adam → sgd``, ``batch 32 → 64``); the run's own facts say it from now
        on, so its legend names the change. The learning rate is left out of the list (the
        per-step lr column marks it) and so is the epoch count (going on is longer anyway)."""
        latest = self.extra.setdefault("latest_facts", dict(self.facts))
        changed, facts_now = [], dict(self.facts)
        for key, new in facts.items():
            last = latest.get(key)
            if last is None or last == new or key == "epochs":
                continue
            latest[key] = new
            facts_now[key] = f"{facts_now[key]} → {_after(last, new)}"
            if key != "lr":
                changed.append(f"{last} → {_after(last, new)}")
        self.facts = facts_now
        return changed

    @property
    def name(self) -> str:
        return f"run {self.number}"

    @property
    def can_replay(self) -> bool:
        return self.initial is not None

    def label(self, current: Mapping[str, str] | None, digest: str = "") -> str:
        """``run 2: lr 0.1, sgd`` — everything this run had that ``current`` has not (a legend
        shortens it to its room and shows it whole on hover); ``run 2: same settings`` when
        nothing differs; a replay says so (``run 3 (replay of run 1): lr 0.1``)."""
        name = self.name if self.replay_of is None else \
            f"{self.name} (replay of run {self.replay_of})"
        if current is None:
            return name
        diff = differences(self, current, digest)
        if not diff:
            return f"{name}: same settings"
        return f"{name}: {', '.join(diff)}"

    def describe(self, current: Mapping[str, str] | None = None, digest: str = "") -> str:
        """For a menu: the run's optimizer and learning rate, then what else differed from
        ``current`` (``adam, lr 0.1, batch 16``)."""
        main = [self.facts[k] for k in ("optimizer", "lr") if k in self.facts]
        diff = differences(self, current, digest) if current is not None else []
        extra = [d for d in diff if d not in main]
        shown = main + extra[: LABEL_FACTS]
        more = f" +{len(extra) - LABEL_FACTS} more" if len(extra) > LABEL_FACTS else ""
        return ", ".join(shown) + more


def _after(old: str, new: str) -> str:
    """``new`` without the word it shares with ``old`` (``batch 32`` → ``64``)."""
    a, b = old.split(" ", 1), new.split(" ", 1)
    return b[1] if len(a) == len(b) == 2 and a[0] == b[0] else new


class RunArchive:
    """The finished runs shown as faded curves, oldest first; ``version`` grows with every
    change so a view can tell when to redraw them."""

    def __init__(self, limit: int = MAX_OLD_RUNS) -> None:
        self.limit = limit
        self.runs: list[RunRecord] = []
        self.version = 0

    def add(self, record: RunRecord) -> None:
        self.runs.append(record)
        del self.runs[: max(0, len(self.runs) - self.limit)]
        self.version += 1

    def clear(self) -> None:
        if self.runs:
            self.runs.clear()
        self.version += 1

    def get(self, number: int) -> RunRecord | None:
        return next((r for r in self.runs if r.number == number), None)

    def __iter__(self) -> Iterator[RunRecord]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def nbytes(self) -> int:
        """Memory held: curves and initial weights."""
        total = 0
        for r in self.runs:
            total += r.curves.nbytes if r.curves is not None else 0
            total += sum(a.nbytes for a in (r.initial or {}).values())
        return total
