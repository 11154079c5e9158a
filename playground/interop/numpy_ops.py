"""Each engine op as a line of plain NumPy: the forward expression and, per input, the backward
expression *upstream × local* (before summing back over broadcast axes, which the generator adds
from the static shapes). The arithmetic is the engine's own (playground/engine/ops.py), in the
same order where rounding could tell, so an exported script reproduces the app's numbers.
A test checks that every registry op has an entry here that reads every param of the op.

Templates use ``{x}``-style names for the inputs (the op's port names), ``{y}`` for the gate's
output, ``{g}`` for the upstream gradient and ``{p[name]}`` for params. A loss also gives its
``seeded`` form: the local derivative alone, for the gate where the chain rule starts (its
upstream is ∂L/∂L = 1, so leaving it out changes no bit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Text = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class NumpyOp:
    forward: str | Text  # an expression
    backward: tuple[str | Text | None, ...]  # per input port; None: no gradient flows there
    params: tuple[str, ...] = ()
    sum_back: tuple[str, ...] = ()  # ports whose gradient is summed back after broadcasting
    helpers: tuple[str, ...] = ()  # helper functions the expressions call
    seeded: tuple[str | Text | None, ...] = ()  # backward where the upstream is the seed 1


def _bin(fwd: str, da: str, db: str) -> NumpyOp:
    return NumpyOp(fwd, (da, db), sum_back=("a", "b"))


def _axis(p: Mapping[str, Any]) -> str:
    return f"axis={p['axis']}"


def _reduce_fwd(fn: str) -> Text:
    def text(p: Mapping[str, Any]) -> str:
        if p["axis"] is None and not p["keepdims"]:
            return f"np.{fn}({{x}})"
        return f"np.{fn}({{x}}, axis={p['axis']}, keepdims={bool(p['keepdims'])})"
    return text


def _expand(p: Mapping[str, Any]) -> str:
    """The upstream gradient given back the reduced axis (``_expand`` in ops.py)."""
    if not p["keepdims"] and p["axis"] is not None:
        return f"np.broadcast_to(np.expand_dims({{g}}, {p['axis']}), {{x}}.shape)"
    return "np.broadcast_to({g}, {x}.shape)"


def _transpose_fwd(p: Mapping[str, Any]) -> str:
    return f"np.transpose({{x}}, {list(p['axes'])})" if p["axes"] else "np.transpose({x})"


def _transpose_bwd(p: Mapping[str, Any]) -> str:
    if not p["axes"]:
        return "np.transpose({g})"
    return f"np.transpose({{g}}, np.argsort(np.mod({list(p['axes'])}, {{g}}.ndim)))"


# ---------------------------------------------------------------- losses, by reduction
# Each backward is "upstream × local" in the engine's order; ``_seeded`` drops the upstream
# where it is the seed 1 (×1 is exact, so the numbers stay the engine's).

def _g(p: Mapping[str, Any]) -> str:
    return "" if p.get("_seeded") else "{g} * "


def _mse_fwd(p: Mapping[str, Any]) -> str:
    if p["reduction"] == "mean":
        return "np.mean(({pred} - {target}) ** 2)"
    total = "np.sum(({pred} - {target}) ** 2)"
    return f"{total} * 0.5" if p["reduction"] == "half_sum" else total


def _mse_bwd(p: Mapping[str, Any]) -> str:
    local = {"mean": "(2.0 / {pred}.size) * ({pred} - {target})",
             "sum": "2.0 * ({pred} - {target})",
             "half_sum": "({pred} - {target})"}[p["reduction"]]
    return _g(p) + local


def _mse_bwd_target(p: Mapping[str, Any]) -> str:
    text = _mse_bwd(p)
    return "-" + text if text == "({pred} - {target})" else f"-({text})"


def _ce_fwd(p: Mapping[str, Any]) -> str:
    if p["reduction"] == "mean":
        return "softmax_cross_entropy({logits}, {target})"
    return f"softmax_cross_entropy({{logits}}, {{target}}, reduction={p['reduction']!r})"


def _ce_bwd(p: Mapping[str, Any]) -> str:
    target = "one_hot({target}, {logits}.shape[1])" if p["_target_rank"] == 1 else "{target}"
    diff = f"(softmax({{logits}}, axis=1) - {target})"
    if p["reduction"] == "sum":
        return diff if p.get("_seeded") else f"{diff} * {{g}}"
    upstream = "1.0" if p.get("_seeded") else "{g}"
    return f"{diff} * ({upstream} / {{logits}}.shape[0])"


def _bce_fwd(p: Mapping[str, Any]) -> str:
    reduce = "np.mean" if p["reduction"] == "mean" else "np.sum"
    if p["input"] == "logits":  # log(1 + eˣ) − t·x, computed stably
        return f"{reduce}(np.logaddexp(0.0, {{pred}}) - {{target}} * {{pred}})"
    return (f"-{reduce}({{target}} * np.log(clip_prob({{pred}})) "
            "+ (1.0 - {target}) * np.log(1.0 - clip_prob({pred})))")


def _bce_bwd(p: Mapping[str, Any]) -> str:
    per = "/ {pred}.size" if p["reduction"] == "mean" else ""
    if p["input"] == "logits":
        text = f"{_g(p)}(sigmoid({{pred}}) - {{target}}) {per}"
    else:
        text = (f"{_g(p)}(clip_prob({{pred}}) - {{target}}) "
                f"/ (clip_prob({{pred}}) * (1.0 - clip_prob({{pred}}))) {per}")
    return text.strip()


def _seeded(fn: Text) -> Text:
    return lambda p: fn({**p, "_seeded": True})


NUMPY_OPS: dict[str, NumpyOp] = {
    "add": _bin("{a} + {b}", "{g}", "{g}"),
    "sub": _bin("{a} - {b}", "{g}", "-{g}"),
    "mul": _bin("{a} * {b}", "{g} * {b}", "{g} * {a}"),
    "div": _bin("{a} / {b}", "{g} / {b}", "-{g} * {a} / ({b} * {b})"),
    "neg": NumpyOp("-{x}", ("-{g}",)),
    "add_const": NumpyOp(lambda p: f"{{x}} + {p['c']!r}", ("{g}",), ("c",)),
    "mul_const": NumpyOp(lambda p: f"{{x}} * {p['c']!r}", (lambda p: f"{{g}} * {p['c']!r}",),
                         ("c",)),
    "pow": NumpyOp(lambda p: f"{{x}} ** {p['exponent']!r}",
                   (lambda p: f"{{g}} * {p['exponent']!r} * {{x}} ** {p['exponent'] - 1!r}",),
                   ("exponent",)),
    "exp": NumpyOp("np.exp({x})", ("{g} * {y}",)),
    "log": NumpyOp("np.log({x})", ("{g} / {x}",)),
    "reciprocal": NumpyOp("1.0 / {x}", ("-{g} * {y} * {y}",)),
    "relu": NumpyOp("np.maximum({x}, 0)", ("{g} * ({x} > 0)",)),
    "leaky_relu": NumpyOp(lambda p: f"np.where({{x}} > 0, {{x}}, {p['alpha']!r} * {{x}})",
                          (lambda p: f"np.where({{x}} > 0, {{g}}, {p['alpha']!r} * {{g}})",),
                          ("alpha",)),
    "tanh": NumpyOp("np.tanh({x})", ("{g} * (1.0 - {y} * {y})",)),
    "sigmoid": NumpyOp("sigmoid({x})", ("{g} * {y} * (1.0 - {y})",), helpers=("sigmoid",)),
    "softmax": NumpyOp(lambda p: f"softmax({{x}}, {_axis(p)})",
                       (lambda p: f"{{y}} * ({{g}} - ({{g}} * {{y}}).sum({_axis(p)}, "
                                  "keepdims=True))",), ("axis",), helpers=("softmax",)),
    "log_softmax": NumpyOp(lambda p: f"log_softmax({{x}}, {_axis(p)})",
                           (lambda p: f"{{g}} - np.exp({{y}}) * {{g}}.sum({_axis(p)}, "
                                      "keepdims=True)",), ("axis",), helpers=("log_softmax",)),
    "matmul": NumpyOp("{a} @ {b}", ("{g} @ {b}.T", "{a}.T @ {g}")),
    "transpose": NumpyOp(_transpose_fwd, (_transpose_bwd,), ("axes",)),
    "sum": NumpyOp(_reduce_fwd("sum"), (lambda p: f"np.array({_expand(p)})",),
                   ("axis", "keepdims")),
    "mean": NumpyOp(_reduce_fwd("mean"), (lambda p: f"{_expand(p)} * ({{g}}.size / {{x}}.size)",),
                    ("axis", "keepdims")),
    "dense": NumpyOp("{x} @ {W} + {b}", ("{g} @ {W}.T", "{x}.T @ {g}", "{g}"), sum_back=("b",)),
    "mse": NumpyOp(_mse_fwd, (_mse_bwd, _mse_bwd_target), ("reduction",),
                   seeded=(_seeded(_mse_bwd), _seeded(_mse_bwd_target))),
    "softmax_cross_entropy": NumpyOp(_ce_fwd, (_ce_bwd, None), ("reduction",),
                                     helpers=("softmax_cross_entropy", "softmax", "one_hot"),
                                     seeded=(_seeded(_ce_bwd), None)),
    "binary_cross_entropy": NumpyOp(_bce_fwd, (_bce_bwd, None), ("input", "reduction"),
                                    helpers=("sigmoid", "clip_prob"),
                                    seeded=(_seeded(_bce_bwd), None)),
}

# The helper functions a script defines, each the engine's own computation.
HELPERS: dict[str, str] = {
    "sigmoid": '''def sigmoid(x):
    """σ(x) = 1 / (1 + e⁻ˣ), written as 0.5·tanh(x/2) + 0.5 so that large |x| cannot overflow."""
    return 0.5 * np.tanh(0.5 * x) + 0.5''',
    "softmax": '''def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))  # shifting by the max changes nothing but overflow
    return e / e.sum(axis=axis, keepdims=True)''',
    "log_softmax": '''def log_softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))''',
    "one_hot": '''def one_hot(labels, classes):
    out = np.zeros((labels.shape[0], classes), dtype=DTYPE)
    out[np.arange(labels.shape[0]), labels.astype(int)] = 1.0
    return out''',
    "softmax_cross_entropy": '''def softmax_cross_entropy(logits, target, reduction="mean"):
    """−(1/N) Σ log softmax(logits)[target] (the "sum" reduction: without the 1/N);
    target: class labels (N,) or one-hot rows (N, C)."""
    rows = logits.shape[0]
    n = rows if reduction == "mean" else 1
    z = logits - logits.max(axis=1, keepdims=True)
    s = np.exp(z).sum(axis=1, keepdims=True)
    if target.ndim == 2:
        return -(target * (z - np.log(s))).sum() / n
    return (np.log(s).sum() - z[np.arange(rows), target.astype(int)].sum()) / n''',
    "clip_prob": '''def clip_prob(q):
    """Probabilities kept off 0 and 1 (by at least the dtype's resolution), as the app does."""
    eps = max(1e-12, float(np.finfo(q.dtype).eps))
    return np.clip(q, eps, 1.0 - eps)''',
}
