"""Every op of the engine, each declared once.

Each vjp has the signature ``vjp(g, y, xs, p, saved)``: upstream gradient ``g`` (shaped like the
output ``y``), the input arrays ``xs``, the resolved params ``p`` and what the forward saved.
It returns the gradient for its input, already summed back to that input's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import shapes as S
from .registry import OpSpec, Param, ShapeError, Variant, register, unbroadcast

# Category colours (palette and node headers).
SOURCE, MATH, ACT, LOSS, LAYER = "#4c9a5b", "#4a7fb5", "#c07a2c", "#b8434a", "#7d5ba6"
ARRAY = "#5b8c8c"


def _src_shape(shapes: Any, p: Mapping[str, Any]) -> tuple[int | None, ...]:
    return tuple(p["shape"])


def _const_shape(shapes: Any, p: Mapping[str, Any]) -> tuple[int | None, ...]:
    return tuple(np.shape(p["value"]))


register(OpSpec(
    "input", (), None, (), _src_shape,
    params=(
        # [] by default: an input placed by hand is one number you type in; inputs that data
        # feeds are made with their batch shape (Layer Stack, examples, ONNX import, files)
        Param("shape", "shape", [], doc="sizes; [] is one number, null is the batch dimension"),
        Param("value", "array", None, doc="value used by Evaluate when nothing is fed"),
    ),
    label="Input", category="Sources", colour=SOURCE, role="input",
    formula="x (fed from data or typed in)", derivative="∂L/∂x is reported, not used",
    doc="A value fed from outside: a data column, a label, or a number you type.",
))
register(OpSpec(
    "constant", (), None, (), _const_shape,
    params=(Param("value", "array", 1.0, doc="a number or nested list"),),
    label="Constant", category="Sources", colour=SOURCE, role="constant",
    formula="c", derivative="—", doc="A fixed value.",
))
register(OpSpec(
    "parameter", (), None, (), _src_shape,
    params=(
        Param("shape", "shape", [1], doc="sizes of the weight array"),
        Param("init", "choice", "glorot_uniform",
              choices=("glorot_uniform", "glorot_normal", "he_normal", "normal", "zeros", "ones")),
        Param("std", "float", 0.01, minimum=0.0, doc="standard deviation for init 'normal'"),
        Param("value", "array", None, doc="explicit initial value (overrides init)"),
        Param("trainable", "bool", True),
    ),
    label="Parameter", category="Sources", colour=SOURCE, role="parameter",
    formula="W (learned)", derivative="∂L/∂W drives the update W ← W − η·∂L/∂W",
    doc="A weight array learned by training.",
))


def _binary(name: str, label: str, fwd: Any, va: Any, vb: Any, formula: str, deriv: str) -> None:
    register(OpSpec(name, ("a", "b"), fwd, (va, vb), S.elementwise, label=label, category="Math",
                    colour=MATH, formula=formula, derivative=deriv))


# ∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1
_binary("add", "+", lambda xs, p: xs[0] + xs[1],
        lambda g, y, xs, p, s: unbroadcast(g, xs[0].shape),
        lambda g, y, xs, p, s: unbroadcast(g, xs[1].shape),
        "a + b", "∂/∂a = 1, ∂/∂b = 1")
# ∂(a−b)/∂a = 1, ∂(a−b)/∂b = −1
_binary("sub", "−", lambda xs, p: xs[0] - xs[1],
        lambda g, y, xs, p, s: unbroadcast(g, xs[0].shape),
        lambda g, y, xs, p, s: unbroadcast(-g, xs[1].shape),
        "a − b", "∂/∂a = 1, ∂/∂b = −1")
# ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
_binary("mul", "×", lambda xs, p: xs[0] * xs[1],
        lambda g, y, xs, p, s: unbroadcast(g * xs[1], xs[0].shape),
        lambda g, y, xs, p, s: unbroadcast(g * xs[0], xs[1].shape),
        "a · b", "∂/∂a = b, ∂/∂b = a")
# ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²
_binary("div", "÷", lambda xs, p: xs[0] / xs[1],
        lambda g, y, xs, p, s: unbroadcast(g / xs[1], xs[0].shape),
        lambda g, y, xs, p, s: unbroadcast(-g * xs[0] / (xs[1] * xs[1]), xs[1].shape),
        "a / b", "∂/∂a = 1/b, ∂/∂b = −a/b²")


def _unary(name: str, label: str, fwd: Any, vjp: Any, formula: str, deriv: str,
           category: str = "Math", params: tuple[Param, ...] = (), colour: str = MATH,
           doc: str = "", fused_of: tuple[str, ...] = ()) -> None:
    register(OpSpec(name, ("x",), fwd, (vjp,), S.same, params=params, label=label,
                    category=category, colour=colour, formula=formula, derivative=deriv, doc=doc,
                    fused_of=fused_of))


# ∂(−x)/∂x = −1
_unary("neg", "−x", lambda xs, p: -xs[0], lambda g, y, xs, p, s: -g, "−x", "−1")
# ∂(x + c)/∂x = 1
_unary("add_const", "+c", lambda xs, p: xs[0] + p["c"], lambda g, y, xs, p, s: g, "x + c", "1",
       params=(Param("c", "float", 1.0),))
# ∂(c·x)/∂x = c
_unary("mul_const", "×c", lambda xs, p: xs[0] * p["c"], lambda g, y, xs, p, s: g * p["c"],
       "c · x", "c", params=(Param("c", "float", -1.0),))
# ∂(xᵖ)/∂x = p·xᵖ⁻¹
_unary("pow", "xᵖ", lambda xs, p: xs[0] ** p["exponent"],
       lambda g, y, xs, p, s: g * p["exponent"] * xs[0] ** (p["exponent"] - 1),
       "xᵖ", "p · xᵖ⁻¹", params=(Param("exponent", "float", 2.0),))
# ∂eˣ/∂x = eˣ
_unary("exp", "exp", lambda xs, p: np.exp(xs[0]), lambda g, y, xs, p, s: g * y, "eˣ", "eˣ")
# ∂ln x/∂x = 1/x
_unary("log", "log", lambda xs, p: np.log(xs[0]), lambda g, y, xs, p, s: g / xs[0], "ln x", "1/x")
# ∂(1/x)/∂x = −1/x²
_unary("reciprocal", "1/x", lambda xs, p: 1.0 / xs[0], lambda g, y, xs, p, s: -g * y * y,
       "1/x", "−1/x²")
# ∂relu/∂x = 1 where x > 0, else 0
_unary("relu", "ReLU", lambda xs, p: np.maximum(xs[0], 0), lambda g, y, xs, p, s: g * (xs[0] > 0),
       "max(0, x)", "1 if x > 0 else 0", category="Activations", colour=ACT)
# ∂leaky/∂x = 1 where x > 0, else α
_unary("leaky_relu", "Leaky ReLU", lambda xs, p: np.where(xs[0] > 0, xs[0], p["alpha"] * xs[0]),
       lambda g, y, xs, p, s: np.where(xs[0] > 0, g, p["alpha"] * g),
       "x if x > 0 else α·x", "1 if x > 0 else α", category="Activations", colour=ACT,
       params=(Param("alpha", "float", 0.01, minimum=0.0, maximum=1.0),))
# ∂tanh/∂x = 1 − tanh²
_unary("tanh", "tanh", lambda xs, p: np.tanh(xs[0]), lambda g, y, xs, p, s: g * (1.0 - y * y),
       "tanh x", "1 − tanh²x", category="Activations", colour=ACT)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 0.5·tanh(x/2) + 0.5: stable for large |x|, exactly 1/(1+e^-x) up to rounding. (In place,
    # 1/(1+e⁻ˣ) is ~15% faster on arrays, exp being cheaper than tanh, but it rounds twice near
    # σ = 1: central differences at x ≈ 10 then miss σ' by 2e-6, over the checks' tolerance.)
    # x * 0.5, not np.multiply(x, 0.5): on a NumPy scalar that ufunc call took ~0.6 µs, as long
    # as the three gates that fusing saves; the operator takes the scalar's fast path.
    y = x * 0.5
    if type(y) is not np.ndarray:  # a 0-d input gives a NumPy scalar
        return 0.5 * np.tanh(y) + 0.5
    np.tanh(y, out=y)
    y *= 0.5
    y += 0.5
    return y


def _sigmoid_vjp(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    d = 1.0 - y
    d *= y
    d *= g
    return d


# ∂σ/∂x = σ(1 − σ)
_unary("sigmoid", "σ", lambda xs, p: _sigmoid(xs[0]), _sigmoid_vjp,
       "σ(x) = 1 / (1 + e⁻ˣ)", "σ(x)·(1 − σ(x))", category="Activations", colour=ACT,
       doc="One gate for the chain −x → exp → +1 → 1/x: same gradient, fewer steps.",
       fused_of=("neg", "exp", "add_const", "reciprocal"))


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


_AXIS = (Param("axis", "int", -1),)
# ∂softmax/∂x · g = y ⊙ (g − Σ g⊙y)
register(OpSpec(
    "softmax", ("x",), lambda xs, p: _softmax(xs[0], p["axis"]),
    (lambda g, y, xs, p, s: y * (g - (g * y).sum(axis=p["axis"], keepdims=True)),),
    S.along_axis, params=_AXIS, label="softmax", category="Activations", colour=ACT,
    formula="eˣⁱ / Σⱼ eˣʲ", derivative="yᵢ(δᵢⱼ − yⱼ)",
))
# ∂logsoftmax/∂x · g = g − softmax(x) · Σ g
register(OpSpec(
    "log_softmax", ("x",), lambda xs, p: _log_softmax(xs[0], p["axis"]),
    (lambda g, y, xs, p, s: g - np.exp(y) * g.sum(axis=p["axis"], keepdims=True),),
    S.along_axis, params=_AXIS, label="log softmax", category="Activations", colour=ACT,
    formula="xᵢ − log Σⱼ eˣʲ", derivative="δᵢⱼ − softmax(x)ⱼ",
))

# ∂(A·B)/∂A = g·Bᵀ, ∂(A·B)/∂B = Aᵀ·g
register(OpSpec(
    "matmul", ("a", "b"), lambda xs, p: xs[0] @ xs[1],
    (lambda g, y, xs, p, s: g @ xs[1].T, lambda g, y, xs, p, s: xs[0].T @ g),
    S.matmul, label="matmul", category="Math", colour=MATH,
    formula="A · B", derivative="∂/∂A = G·Bᵀ, ∂/∂B = Aᵀ·G",
))


def _transpose_axes(x: np.ndarray, p: Mapping[str, Any]) -> list[int] | None:
    return p["axes"] or None


# ∂(xᵀ)/∂x: transpose g back with the inverse permutation
register(OpSpec(
    "transpose", ("x",), lambda xs, p: np.transpose(xs[0], _transpose_axes(xs[0], p)),
    (lambda g, y, xs, p, s: np.transpose(
        g, np.argsort(np.mod(p["axes"], g.ndim)) if p["axes"] else None),),
    S.transpose, params=(Param("axes", "ints", [], doc="permutation; empty reverses the axes"),),
    label="transpose", category="Array", colour=ARRAY, formula="xᵀ", derivative="Gᵀ",
))

_REDUCE = (Param("axis", "axis", None, doc="axis to reduce; null for all"),
           Param("keepdims", "bool", False))


def _expand(g: np.ndarray, x: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    if not p["keepdims"] and p["axis"] is not None:
        g = np.expand_dims(g, p["axis"])
    return np.broadcast_to(g, x.shape)


# ∂Σx/∂x = 1 for every element
register(OpSpec(
    "sum", ("x",), lambda xs, p: np.sum(xs[0], axis=p["axis"], keepdims=p["keepdims"]),
    (lambda g, y, xs, p, s: np.array(_expand(g, xs[0], p)),),
    S.reduce, params=_REDUCE, label="Σ", category="Array", colour=ARRAY,
    formula="Σ x", derivative="1",
))
# ∂mean(x)/∂x = 1/n
register(OpSpec(
    "mean", ("x",), lambda xs, p: np.mean(xs[0], axis=p["axis"], keepdims=p["keepdims"]),
    (lambda g, y, xs, p, s: _expand(g, xs[0], p) * (g.size / xs[0].size),),
    S.reduce, params=_REDUCE, label="mean", category="Array", colour=ARRAY,
    formula="(1/n) Σ x", derivative="1/n",
))

# ∂dense/∂x = G·Wᵀ, ∂dense/∂W = xᵀ·G, ∂dense/∂b = Σ_batch G
def _dense(xs: Any, p: Any) -> np.ndarray:
    y = xs[0] @ xs[1]
    try:
        y += xs[2]  # in place: y is a fresh array
    except (ValueError, TypeError):  # a bias that broadcasts to a larger shape, or a 0-d result
        y = y + xs[2]
    return y


def _dense_g(g: np.ndarray, xs: Any) -> np.ndarray:
    """The upstream gradient summed back to x·W's shape (a bias may enlarge the output)."""
    return unbroadcast(g, (xs[0].shape[0], xs[1].shape[1]))


register(OpSpec(
    "dense", ("x", "W", "b"), _dense,
    (lambda g, y, xs, p, s: _dense_g(g, xs) @ xs[1].T,
     lambda g, y, xs, p, s: xs[0].T @ _dense_g(g, xs),
     lambda g, y, xs, p, s: unbroadcast(g, xs[2].shape)),
    S.dense, label="dense", category="Layers", colour=LAYER,
    formula="x · W + b", derivative="∂/∂x = G·Wᵀ, ∂/∂W = xᵀ·G, ∂/∂b = Σ G",
    doc="Fused matmul + add: the same gradients as the two gates, one step.",
    fused_of=("matmul", "add"),
))


# How a loss adds up its terms: "mean" (over all n terms; what a file without the param means),
# "sum", and "half_sum" (½·Σ, the tutorials' ½(ŷ − y)², whose gradient is just ŷ − y).
_REDUCTION = Param("reduction", "choice", "mean", choices=("mean", "sum"),
                   doc="mean over the terms, or their sum")
_MSE_REDUCTION = Param("reduction", "choice", "mean", choices=("mean", "sum", "half_sum"),
                       doc="mean over the terms, their sum, or ½ of their sum")


def _mse(xs: Any, p: Any) -> np.ndarray:
    if p["reduction"] == "mean":
        return np.mean((xs[0] - xs[1]) ** 2)
    total = np.sum((xs[0] - xs[1]) ** 2)
    return total * 0.5 if p["reduction"] == "half_sum" else total


# ∂mse/∂pred = 2(pred − target)/n (mean), 2(pred − target) (sum), pred − target (half_sum)
def _mse_vjp(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    if p["reduction"] == "mean":
        return g * (2.0 / xs[0].size) * (xs[0] - xs[1])
    return g * (2.0 if p["reduction"] == "sum" else 1.0) * (xs[0] - xs[1])


_MSE_LOCAL = "({pred} − {target})"
register(OpSpec(
    "mse", ("pred", "target"), _mse,
    (_mse_vjp, lambda g, y, xs, p, s: -_mse_vjp(g, y, xs, p, s)),
    S.loss_pair, params=(_MSE_REDUCTION,), label="MSE loss", category="Losses", colour=LOSS,
    role="loss", formula="(1/n) Σ (pred − target)²", derivative="2(pred − target)/n",
    variant_param="reduction", variants={
        "mean": Variant("(1/n) Σ (pred − target)²", "2(pred − target)/n",
                        "mse({pred}, {target})",
                        {"pred": f"2·{_MSE_LOCAL}/n·G", "target": f"−2·{_MSE_LOCAL}/n·G"}),
        "sum": Variant("Σ (pred − target)²", "2(pred − target)", "Σ({pred} − {target})²",
                       {"pred": f"2·{_MSE_LOCAL}·G", "target": f"−2·{_MSE_LOCAL}·G"}),
        "half_sum": Variant("½ Σ (pred − target)²", "pred − target", "½·Σ({pred} − {target})²",
                            {"pred": f"{_MSE_LOCAL}·G", "target": f"−{_MSE_LOCAL}·G"}),
    },
))


def _terms(p: Any, n: int) -> int:
    """What a mean divides by: ``n`` for the mean reduction, 1 for the sum."""
    return n if p["reduction"] == "mean" else 1


def _labels(t: np.ndarray, classes: int) -> np.ndarray:
    """Integer class labels from a float array (rounded to the nearest whole number, so the
    loss is flat around each label), checked against the number of classes."""
    rounded = np.rint(t)
    if rounded.size and not np.all(np.abs(t - rounded) <= _LABEL_SLACK):
        bad = t.reshape(-1)[np.argmax(np.abs(t - rounded).reshape(-1) > _LABEL_SLACK)]
        raise ShapeError(f"class label {float(bad):g} is not a whole number; class labels are "
                         "0, 1, 2, ... (use one-hot or soft targets of shape (N, classes) otherwise)")
    if rounded.size and (rounded.min() < 0 or rounded.max() >= classes):
        bad = rounded.max() if rounded.max() >= classes else rounded.min()
        raise ShapeError(f"class label {bad:g} is outside 0..{classes - 1}: the logits have "
                         f"{classes} columns, one per class")
    return rounded.astype(np.intp)


_LABEL_SLACK = 0.01  # a label may be off a whole number by this much (rounding, a numeric check)


def _ce_forward(xs: Any, p: Any) -> tuple[np.ndarray, Any]:
    logits, t = xs
    n = _terms(p, logits.shape[0])
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    if t.ndim == 2:  # one-hot (or soft) targets
        loss = -(t * (z - np.log(s))).sum() / n
        e /= s
        return np.asarray(loss, dtype=logits.dtype), (e, None, t)
    labels = _labels(t, logits.shape[1])
    rows = np.arange(logits.shape[0])
    loss = (np.log(s).sum() - z[rows, labels].sum()) / n
    e /= s
    return np.asarray(loss, dtype=logits.dtype), (e, rows, labels)


# ∂CE/∂logits = (softmax(logits)·Σ_c t − t)/N (mean; = (softmax − onehot)/N when rows sum to
# 1), the same without /N for the sum
def _ce_vjp(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    probs, rows, labels = s
    if rows is None:
        return ((probs * labels.sum(axis=1, keepdims=True) - labels)
                * (g / _terms(p, xs[0].shape[0])))
    d = probs.copy()
    d[rows, labels] -= 1.0
    d *= g / _terms(p, xs[0].shape[0])
    return d


# ∂CE/∂t = −log softmax(logits)/N (mean; without /N for the sum) for one-hot or soft targets;
# class labels take no gradient (grad_inputs), and 0 is their derivative anyway: the loss is
# flat around each whole number
def _ce_vjp_target(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    logits, t = xs
    if t.ndim == 1:
        return np.zeros(t.shape, dtype=np.result_type(g, logits))
    z = logits - logits.max(axis=1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
    z *= -g / _terms(p, logits.shape[0])
    return z


register(OpSpec(
    "softmax_cross_entropy", ("logits", "target"), _ce_forward, (_ce_vjp, _ce_vjp_target),
    S.cross_entropy, params=(_REDUCTION,), label="softmax CE loss", category="Losses",
    colour=LOSS, role="loss", saves=True, grad_inputs=lambda shapes: (True, len(shapes[1]) == 2),
    formula="−(1/N) Σ log softmax(logits)[target]",
    derivative="(softmax(logits) − onehot(target)) / N",
    doc="Softmax and cross-entropy in one stable gate; target is class labels (N,) or one-hot.",
    variant_param="reduction", variants={
        "mean": Variant("−(1/N) Σ log softmax(logits)[target]",
                        "(softmax(logits) − onehot(target)) / N", "CE({logits}, {target})",
                        {"logits": "(softmax({logits}) − onehot({target}))/N·G"}),
        "sum": Variant("−Σ log softmax(logits)[target]", "softmax(logits) − onehot(target)",
                       "Σ CE({logits}, {target})",
                       {"logits": "(softmax({logits}) − onehot({target}))·G"}),
    },
))

_EPS = 1e-12


def _clip_prob(x: np.ndarray) -> np.ndarray:
    # keep probabilities off 0 and 1 by at least the dtype's resolution (float32 rounds 1 − 1e-12 to 1)
    eps = max(_EPS, float(np.finfo(x.dtype).eps)) if x.dtype.kind == "f" else _EPS
    return np.clip(x, eps, 1.0 - eps)


def _bce_forward(xs: Any, p: Any) -> np.ndarray:
    x, t = xs
    reduce = np.mean if p["reduction"] == "mean" else np.sum
    if p["input"] == "logits":
        # log(1+e^x) − t·x, computed stably
        return reduce(np.logaddexp(0.0, x) - t * x)
    q = _clip_prob(x)
    return -reduce(t * np.log(q) + (1.0 - t) * np.log(1.0 - q))


# ∂BCE/∂x = (σ(x) − t)/n for logits, (q − t)/(q(1 − q))/n for probabilities q (no /n: sum)
def _bce_vjp(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    x, t = xs
    if p["input"] == "logits":
        return g * (_sigmoid(x) - t) / _terms(p, x.size)
    q = _clip_prob(x)
    return g * (q - t) / (q * (1.0 - q)) / _terms(p, x.size)


# ∂BCE/∂t = −x/n for logits, log((1−q)/q)/n for probabilities (no /n: sum)
def _bce_vjp_target(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    x, _ = xs
    if p["input"] == "logits":
        return -g * x / _terms(p, x.size)
    q = _clip_prob(x)
    return g * np.log((1.0 - q) / q) / _terms(p, x.size)


register(OpSpec(
    "binary_cross_entropy", ("pred", "target"), _bce_forward, (_bce_vjp, _bce_vjp_target),
    S.loss_pair, label="binary CE loss", category="Losses", colour=LOSS, role="loss",
    params=(Param("input", "choice", "probabilities", choices=("probabilities", "logits")),
            _REDUCTION),
    formula="−(1/n) Σ t·log q + (1−t)·log(1−q)", derivative="(q − t) / (q(1 − q)) / n",
    variant_param="reduction", variants={
        "mean": Variant("−(1/n) Σ t·log q + (1−t)·log(1−q)", "(q − t) / (q(1 − q)) / n",
                        "BCE({pred}, {target})",
                        {"pred": "(q − {target})/(q(1 − q))/n·G, q = {pred}",
                         "target": "log((1 − q)/q)/n·G, q = {pred}"}),
        "sum": Variant("−Σ t·log q + (1−t)·log(1−q)", "(q − t) / (q(1 − q))",
                       "Σ BCE({pred}, {target})",
                       {"pred": "(q − {target})/(q(1 − q))·G, q = {pred}",
                        "target": "log((1 − q)/q)·G, q = {pred}"}),
    },
))

