"""Each engine op as a line of plain NumPy: the forward expression and, per input, the backward
expression *upstream × local* (before summing back over broadcast axes, which the generator adds
from the static shapes). The arithmetic is the engine's own (playground/engine/ops.py), in the
same order where rounding could tell, so an exported script reproduces the app's numbers.
A test checks that every registry op has an entry here that reads every param of the op.

Templates use ``{x}``-style names for the inputs (the op's port names), ``{y}`` for the gate's
output, ``{g}`` for the upstream gradient and ``{p[name]}`` for params.
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


def _ce_bwd(p: Mapping[str, Any]) -> str:
    target = "one_hot({target}, {logits}.shape[1])" if p["_target_rank"] == 1 else "{target}"
    return f"(softmax({{logits}}, axis=1) - {target}) * ({{g}} / {{logits}}.shape[0])"


def _bce_fwd(p: Mapping[str, Any]) -> str:
    if p["input"] == "logits":  # log(1 + eˣ) − t·x, computed stably
        return "np.mean(np.logaddexp(0.0, {pred}) - {target} * {pred})"
    return ("-np.mean({target} * np.log(clip_prob({pred})) "
            "+ (1.0 - {target}) * np.log(1.0 - clip_prob({pred})))")


def _bce_bwd(p: Mapping[str, Any]) -> str:
    if p["input"] == "logits":
        return "{g} * (sigmoid({pred}) - {target}) / {pred}.size"
    return ("{g} * (clip_prob({pred}) - {target}) "
            "/ (clip_prob({pred}) * (1.0 - clip_prob({pred}))) / {pred}.size")


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
    "mse": NumpyOp("np.mean(({pred} - {target}) ** 2)",
                   ("{g} * (2.0 / {pred}.size) * ({pred} - {target})",
                    "-({g} * (2.0 / {pred}.size) * ({pred} - {target}))")),
    "softmax_cross_entropy": NumpyOp("softmax_cross_entropy({logits}, {target})", (_ce_bwd, None),
                                     helpers=("softmax_cross_entropy", "softmax", "one_hot")),
    "binary_cross_entropy": NumpyOp(_bce_fwd, (_bce_bwd, None), ("input",),
                                    helpers=("sigmoid", "clip_prob")),
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
    "softmax_cross_entropy": '''def softmax_cross_entropy(logits, target):
    """−(1/N) Σ log softmax(logits)[target]; target: class labels (N,) or one-hot rows (N, C)."""
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    s = np.exp(z).sum(axis=1, keepdims=True)
    if target.ndim == 2:
        return -(target * (z - np.log(s))).sum() / n
    return (np.log(s).sum() - z[np.arange(n), target.astype(int)].sum()) / n''',
    "clip_prob": '''def clip_prob(q):
    """Probabilities kept off 0 and 1 (by at least the dtype's resolution), as the app does."""
    eps = max(1e-12, float(np.finfo(q.dtype).eps))
    return np.clip(q, eps, 1.0 - eps)''',
}
