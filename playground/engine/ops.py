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
from .registry import OpSpec, Param, register, unbroadcast

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


def _binary(name: str, label: str, fwd: Any, va: Any, vb: Any, formula: str, deriv: str,
            expr: str, local_a: str, local_b: str) -> None:
    register(OpSpec(name, ("a", "b"), fwd, (va, vb), S.elementwise, label=label, category="Math",
                    colour=MATH, formula=formula, derivative=deriv, expr=expr,
                    local={"a": local_a, "b": local_b}))


# ∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1
_binary("add", "+", lambda xs, p: xs[0] + xs[1],
        lambda g, y, xs, p, s: unbroadcast(g, xs[0].shape),
        lambda g, y, xs, p, s: unbroadcast(g, xs[1].shape),
        "a + b", "∂/∂a = 1, ∂/∂b = 1", "{a} + {b}", "1", "1")
# ∂(a−b)/∂a = 1, ∂(a−b)/∂b = −1
_binary("sub", "−", lambda xs, p: xs[0] - xs[1],
        lambda g, y, xs, p, s: unbroadcast(g, xs[0].shape),
        lambda g, y, xs, p, s: unbroadcast(-g, xs[1].shape),
        "a − b", "∂/∂a = 1, ∂/∂b = −1", "{a} − {b}", "1", "−1")
# ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
_binary("mul", "×", lambda xs, p: xs[0] * xs[1],
        lambda g, y, xs, p, s: unbroadcast(g * xs[1], xs[0].shape),
        lambda g, y, xs, p, s: unbroadcast(g * xs[0], xs[1].shape),
        "a · b", "∂/∂a = b, ∂/∂b = a", "{a} · {b}", "{b}", "{a}")
# ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²
_binary("div", "÷", lambda xs, p: xs[0] / xs[1],
        lambda g, y, xs, p, s: unbroadcast(g / xs[1], xs[0].shape),
        lambda g, y, xs, p, s: unbroadcast(-g * xs[0] / (xs[1] * xs[1]), xs[1].shape),
        "a / b", "∂/∂a = 1/b, ∂/∂b = −a/b²", "{a} / {b}", "1/{b}", "−{a}/{b^2}")


def _unary(name: str, label: str, fwd: Any, vjp: Any, formula: str, deriv: str,
           expr: str, local: str, category: str = "Math", params: tuple[Param, ...] = (),
           colour: str = MATH, doc: str = "", fused_of: tuple[str, ...] = (),
           extra: Mapping[str, Any] | None = None) -> None:
    register(OpSpec(name, ("x",), fwd, (vjp,), S.same, params=params, label=label,
                    category=category, colour=colour, formula=formula, derivative=deriv, doc=doc,
                    fused_of=fused_of, expr=expr, local={"x": local}, extra=extra or {}))


# ∂(−x)/∂x = −1
_unary("neg", "−x", lambda xs, p: -xs[0], lambda g, y, xs, p, s: -g, "−x", "−1", "−{x}", "−1")
# ∂(x + c)/∂x = 1
_unary("add_const", "+c", lambda xs, p: xs[0] + p["c"], lambda g, y, xs, p, s: g, "x + c", "1",
       "{x} + {c}", "1", params=(Param("c", "float", 1.0),))
# ∂(c·x)/∂x = c
_unary("mul_const", "×c", lambda xs, p: xs[0] * p["c"], lambda g, y, xs, p, s: g * p["c"],
       "c · x", "c", "{c} · {x}", "{c}", params=(Param("c", "float", -1.0),))
# ∂(xᵖ)/∂x = p·xᵖ⁻¹
_unary("pow", "xᵖ", lambda xs, p: xs[0] ** p["exponent"],
       lambda g, y, xs, p, s: g * p["exponent"] * xs[0] ** (p["exponent"] - 1),
       "xᵖ", "p · xᵖ⁻¹", "{x^exponent}", "{exponent}·{x^exponent-1}",
       params=(Param("exponent", "float", 2.0),))
# ∂eˣ/∂x = eˣ
_unary("exp", "exp", lambda xs, p: np.exp(xs[0]), lambda g, y, xs, p, s: g * y, "eˣ", "eˣ",
       "exp({x})", "exp({x})")
# ∂ln x/∂x = 1/x
_unary("log", "log", lambda xs, p: np.log(xs[0]), lambda g, y, xs, p, s: g / xs[0], "ln x", "1/x",
       "ln({x})", "1/{x}")
# ∂(1/x)/∂x = −1/x²
_unary("reciprocal", "1/x", lambda xs, p: 1.0 / xs[0], lambda g, y, xs, p, s: -g * y * y,
       "1/x", "−1/x²", "1/{x}", "−1/{x^2}")
# ∂relu/∂x = 1 where x > 0, else 0
_unary("relu", "ReLU", lambda xs, p: np.maximum(xs[0], 0), lambda g, y, xs, p, s: g * (xs[0] > 0),
       "max(0, x)", "1 if x > 0 else 0", "max(0, {x})", "1 if {x} > 0 else 0",
       category="Activations", colour=ACT)
# ∂leaky/∂x = 1 where x > 0, else α
_unary("leaky_relu", "Leaky ReLU", lambda xs, p: np.where(xs[0] > 0, xs[0], p["alpha"] * xs[0]),
       lambda g, y, xs, p, s: np.where(xs[0] > 0, g, p["alpha"] * g),
       "x if x > 0 else α·x", "1 if x > 0 else α", "leaky_relu({x})",
       "1 if {x} > 0 else {alpha}", category="Activations", colour=ACT,
       params=(Param("alpha", "float", 0.01, minimum=0.0, maximum=1.0),))
# ∂tanh/∂x = 1 − tanh²
_unary("tanh", "tanh", lambda xs, p: np.tanh(xs[0]), lambda g, y, xs, p, s: g * (1.0 - y * y),
       "tanh x", "1 − tanh²x", "tanh({x})", "1 − {out^2}", category="Activations", colour=ACT,
       extra={"flat_outside": (-0.98, 0.98)})  # where it saturates (the health check reads it)


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
       "σ(x) = 1 / (1 + e⁻ˣ)", "σ(x)·(1 − σ(x))", "σ({x})", "{out}·(1 − {out})",
       category="Activations", colour=ACT,
       doc="One gate for the chain −x → exp → +1 → 1/x: same gradient, fewer steps.",
       fused_of=("neg", "exp", "add_const", "reciprocal"),
       # the primitive form Expand builds and Fuse recognises: the gates (op, params, name; the
       # last keeps the fused node's name), where the fused gate's inputs go, the chain between
       # them (from gate, to gate, port)
       extra={"flat_outside": (0.02, 0.98),  # where σ saturates (the health check reads it)
              "expansion": {"gates": (("neg", {}, "neg"), ("exp", {}, "exp"),
                                      ("add_const", {"c": 1.0}, "plus1"), ("reciprocal", {}, "")),
                            "inputs": {(0, "x"): "x"},
                            "chain": ((0, 1, "x"), (1, 2, "x"), (2, 3, "x"))}})


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
    expr="softmax({x})", local={"x": "{out}·(G − Σ G·{out})"},
))
# ∂logsoftmax/∂x · g = g − softmax(x) · Σ g
register(OpSpec(
    "log_softmax", ("x",), lambda xs, p: _log_softmax(xs[0], p["axis"]),
    (lambda g, y, xs, p, s: g - np.exp(y) * g.sum(axis=p["axis"], keepdims=True),),
    S.along_axis, params=_AXIS, label="log softmax", category="Activations", colour=ACT,
    formula="xᵢ − log Σⱼ eˣʲ", derivative="δᵢⱼ − softmax(x)ⱼ",
    expr="log_softmax({x})", local={"x": "G − softmax({x})·Σ G"},
))

# ∂(A·B)/∂A = g·Bᵀ, ∂(A·B)/∂B = Aᵀ·g
register(OpSpec(
    "matmul", ("a", "b"), lambda xs, p: xs[0] @ xs[1],
    (lambda g, y, xs, p, s: g @ xs[1].T, lambda g, y, xs, p, s: xs[0].T @ g),
    S.matmul, label="matmul", category="Math", colour=MATH,
    formula="A · B", derivative="∂/∂A = G·Bᵀ, ∂/∂B = Aᵀ·G",
    expr="{a}·{b}", local={"a": "G·{b}ᵀ", "b": "{a}ᵀ·G"},
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
    expr="{x}ᵀ", local={"x": "Gᵀ"},
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
    expr="Σ {x}", local={"x": "G copied to every element of {x}"},
))
# ∂mean(x)/∂x = 1/n
register(OpSpec(
    "mean", ("x",), lambda xs, p: np.mean(xs[0], axis=p["axis"], keepdims=p["keepdims"]),
    (lambda g, y, xs, p, s: _expand(g, xs[0], p) * (g.size / xs[0].size),),
    S.reduce, params=_REDUCE, label="mean", category="Array", colour=ARRAY,
    formula="(1/n) Σ x", derivative="1/n",
    expr="mean({x})", local={"x": "G/n copied to every element of {x}"},
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
    expr="{x}·{W} + {b}", local={"x": "G·{W}ᵀ", "W": "{x}ᵀ·G", "b": "G summed over the batch"},
    doc="Fused matmul + add: the same gradients as the two gates, one step.",
    fused_of=("matmul", "add"),
    extra={"expansion": {"gates": (("matmul", {}, "{name}_matmul"), ("add", {}, "")),
                         "inputs": {(0, "a"): "x", (0, "b"): "W", (1, "b"): "b"},
                         "chain": ((0, 1, "a"),)}},
))
