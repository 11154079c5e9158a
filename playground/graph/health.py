"""Gradient health: is each node's gradient usable for learning, and if not, why not.

:func:`gradient_health` reads the values and gradients of a program's last pass and gives every
parameter and every gate a :class:`Health` verdict with a one- or two-sentence explanation a
student can act on:

* ``exploding``: gradient norm over :data:`EXPLODING` (or not a finite number);
* ``dead_relu``: a ReLU's units whose pre-activation is ≤ 0 for every sample of the batch (they
  output 0 and pass no gradient back);
* ``saturated_sigmoid``: a σ gate's outputs below 0.02 or above 0.98;
* ``saturated_tanh``: a tanh gate's outputs with |y| > 0.98;
* ``vanishing``: gradient norm under :data:`VANISHING`;
* ``ok`` otherwise.

Dead and saturated units are reported with their fraction: from :data:`NOTICE_FRACTION` (one in
twenty) at ``level`` "notice" — worth knowing, as the lessons point out (after training about one
h1 value in ten of the digits network is saturated) — and from :data:`FLAG_FRACTION` (half) at
level "problem". Exploding and vanishing gradients are always problems. The causes (dead,
saturated) are reported before the symptom (vanishing). :func:`mean_abs_grad`
gives the mean |gradient| per node output (per wire) for a gradient-flow overlay.
Plain Python and NumPy, no Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine import Program, get_op

__all__ = ["EXPLODING", "FLAG_FRACTION", "NOTICE_FRACTION", "VANISHING", "Health",
           "dead_fraction", "gradient_health", "health_by_index", "mean_abs_grad",
           "saturated_fraction"]

VANISHING = 1e-7
EXPLODING = 1e3
FLAG_FRACTION = 0.5  # this share of dead or saturated units is a problem
NOTICE_FRACTION = 0.05  # from this share on, dead or saturated units are pointed out
SIGMOID_LOW, SIGMOID_HIGH = get_op("sigmoid").extra["flat_outside"]  # for the texts below
TANH_LIMIT = get_op("tanh").extra["flat_outside"][1]


@dataclass(frozen=True)
class Health:
    kind: str  # ok, vanishing, exploding, dead_relu, saturated_sigmoid, saturated_tanh
    value: float  # the gradient norm, or the flagged fraction (0..1) for dead/saturated units
    explanation: str
    level: str = "problem"  # 'ok', 'notice' (a few dead/saturated units) or 'problem'

    @property
    def badge(self) -> str:
        """A few words for a badge on the node: ``saturated 11%``, ``vanishing ‖g‖ 3e-09``."""
        if self.kind in ("dead_relu", "saturated_sigmoid", "saturated_tanh"):
            word = "dead" if self.kind == "dead_relu" else "saturated"
            return f"{word} {_pct(self.value)}"
        if self.kind in ("vanishing", "exploding"):
            return f"{self.kind} ‖g‖ {self.value:.1g}"
        return ""


def _norm(g: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.0f}%"


def _has_batch(program: Program, i: int) -> bool:
    shape = program.nodes[i].shape
    return len(shape) > 0 and shape[0] is None


def dead_fraction(program: Program, relu: int) -> float:
    """Fraction of a ReLU's units whose input is ≤ 0 for every sample of the batch."""
    src = program.nodes[relu].inputs[0]
    x = program.values[src]
    if x is None or np.size(x) == 0:
        return 0.0
    x = np.asarray(x)
    dead = np.all(x <= 0, axis=0) if _has_batch(program, src) and x.ndim > 0 else (x <= 0)
    return float(np.mean(dead))


def saturated_fraction(program: Program, i: int) -> float:
    """Fraction of a σ (outside 0.02..0.98) or tanh (|y| > 0.98) gate's outputs that are flat."""
    y = program.values[i]
    if y is None or np.size(y) == 0:
        return 0.0
    y = np.asarray(y)
    low, high = program.nodes[i].spec.extra["flat_outside"]  # the registry says where
    return float(np.mean((y < low) | (y > high)))


def _level(fraction: float) -> str | None:
    return ("problem" if fraction >= FLAG_FRACTION else
            "notice" if fraction >= NOTICE_FRACTION else None)


def _cause(program: Program, i: int) -> Health | None:
    node = program.nodes[i]
    name = node.name
    if node.op == "relu":
        frac = dead_fraction(program, i)
        level = _level(frac)
        if level is not None:
            return Health("dead_relu", frac, (
                f"{_pct(frac)} of {name}'s units are dead: their input is ≤ 0 for every sample, "
                "so they output 0 and pass no gradient back, and the weights before them stop "
                "learning. A smaller learning rate, He initialisation, a small positive bias or "
                "Leaky ReLU can bring them back."), level)
    elif node.op == "sigmoid":
        frac = saturated_fraction(program, i)
        level = _level(frac)
        if level is not None:
            return Health("saturated_sigmoid", frac, (
                f"{_pct(frac)} of {name}'s outputs are below {SIGMOID_LOW} or above "
                f"{SIGMOID_HIGH}, where σ is flat: its local derivative σ(1−σ) is under 0.02 "
                "there, so almost no gradient gets back through it. Smaller initial weights or "
                "standardised inputs keep σ in its steep middle."), level)
    elif node.op == "tanh":
        frac = saturated_fraction(program, i)
        level = _level(frac)
        if level is not None:
            return Health("saturated_tanh", frac, (
                f"{_pct(frac)} of {name}'s outputs have |y| > {TANH_LIMIT}, where tanh is flat: "
                "its local derivative 1 − y² is under 0.04 there, so little gradient gets back "
                "through it. Smaller initial weights or standardised inputs help."), level)
    return None


def _verdict(program: Program, i: int) -> Health:
    node = program.nodes[i]
    name = node.name
    g = program.grads[i]
    if g is not None:
        norm = _norm(g)
        if not math.isfinite(norm):
            return Health("exploding", norm, (
                f"The gradient of {name} is not a finite number (NaN or infinity): one update "
                "with it ruins the weights. Lower the learning rate or use a numerically stable "
                "op (e.g. softmax cross-entropy on logits)."))
        if norm > EXPLODING:
            return Health("exploding", norm, (
                f"The gradient of {name} is huge (norm {norm:.3g}, over {EXPLODING:g}). One "
                "update step with it moves the weights so far that the loss can jump up or turn "
                "into NaN: lower the learning rate, use smaller initial weights or clip "
                "gradients."))
    cause = _cause(program, i)
    if cause is not None:
        return cause
    if g is None:
        return Health("ok", 0.0, f"No gradient reaches {name}: it does not feed the output.",
                      "ok")
    if norm < VANISHING:
        return Health("vanishing", norm, (
            f"The gradient of {name} has almost vanished (norm {norm:.2g}, under "
            f"{VANISHING:g}), so its updates barely move anything and it hardly learns. "
            "Gradients shrink like this when they pass back through many small weights or flat "
            "activations."))
    extra = ""
    if "flat_outside" in node.spec.extra:  # a bounded activation (σ, tanh): it can saturate
        extra = f" {_pct(saturated_fraction(program, i))} of its outputs are saturated."
    elif node.op == "relu":
        extra = f" {_pct(dead_fraction(program, i))} of its units are dead on this batch."
    return Health("ok", norm, f"The gradient of {name} looks healthy (norm {norm:.3g}).{extra}",
                  "ok")


def health_by_index(program: Program) -> dict[int, Health]:
    """A :class:`Health` per parameter and gate that has a value, keyed by program node index,
    from the last pass's values and gradients (nothing is run)."""
    out: dict[int, Health] = {}
    for i, node in enumerate(program.nodes):
        if node.spec.role in ("input", "constant") or program.values[i] is None:
            continue
        out[i] = _verdict(program, i)
    return out


def gradient_health(program: Program) -> dict[str, Health]:
    """A :class:`Health` per parameter and gate, keyed by node name, from the last pass's values
    and gradients (when the program has none yet, it runs one pass first)."""
    if all(g is None for g in program.grads):
        program.run()
    return {program.nodes[i].name: h for i, h in health_by_index(program).items()}


def mean_abs_grad(program: Program) -> dict[str, float]:
    """Mean |gradient| of every node output that has one, keyed by program node id (``n3``,
    ``n7/n2``), plus the ids that stand for another node's output (a composite's id, a bound
    input inside a composite), so a wire can look up the id of the node it leaves."""
    out: dict[str, float] = {}
    for node, g in zip(program.nodes, program.grads, strict=True):
        if g is not None:
            out[node.key] = float(np.mean(np.abs(g))) if np.size(g) else 0.0
    names = {n.name for n in program.nodes}
    for key, i in program.index.items():
        if key not in out and key not in names and program.grads[i] is not None:
            out[key] = out[program.nodes[i].key]
    return out
