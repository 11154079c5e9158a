"""Gradient checks: every vjp against central differences. NumPy only.

Two levels:

* :func:`numeric_vjp_check` checks one op (an :class:`OpSpec`) at given input values: for every
  differentiable input it compares the op's vjp with (a) the full elementwise central-difference
  gradient of ``<g, f(x)>`` for a random upstream gradient ``g`` and (b) a random-direction
  check ``<vjp(g), d>`` against ``(<g, f(x + eps d)> - <g, f(x - eps d)>) / (2 eps)``
  (the test of HIPS/autograd ``autograd/test_util.py``).
* :func:`check_program` checks a compiled :class:`Program` end to end: the gradient of the output
  with respect to every input and parameter by central differences, plus a local check of every
  gate's own vjps at its current inputs with its actual upstream gradient.

Errors are relative (:func:`rel_error`); a correct gradient in float64 scores 1e-7 or less
(the op table in tests/engine/test_ops.py: worst 1e-7, a saturated sigmoid), a wrong one 1e-2
or more, and :data:`GRADCHECK_TOLERANCE` sits between them.

Precision: central differences with ``eps = 1e-6`` need float64. In float32 a step of 1e-6 is
about eight units in the last place of a value near 1 and the errors come out of order 1;
the checks run in whatever dtype they are given (``check_program`` uses the program's dtype), so
only float64 results can be compared with :data:`GRADCHECK_TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .program import Program
from .registry import EngineError, OpSpec

GRADCHECK_TOLERANCE = 1e-6
"""Largest relative error (see :func:`rel_error`) a float64 gradient check accepts."""

REL_ERROR_FLOOR = 1e-8
"""Denominator floor of :func:`rel_error`: below it a difference counts as absolute."""

DEFAULT_MAX_ELEMENTS = 200
""":func:`check_program` differentiates at most this many (seeded, random) elements per array."""

ROUNDING_ULPS = 64
"""How many units in the last place of ``|F|`` a finite difference of F is taken to be off by:
a difference quotient cannot resolve ``ROUNDING_ULPS · eps_dtype · |F| / step`` (see
:func:`check_program`)."""


class GradcheckError(EngineError, ValueError):
    """A check that cannot be made: a vjp or gradient of the wrong shape, a bad ``order``."""


def rel_error(a: Any, b: Any, noise: float = 0.0) -> float:
    """Largest elementwise relative error between ``a`` and ``b``.

    ``max_i |a_i - b_i| / max(|a_i|, |b_i|, 1e-8)``: scale-free for ordinary values, and an
    absolute error (over 1e-8) where both are tiny, so a gradient that is 0 in theory and 1e-15
    in practice still passes. ``a`` and ``b`` must have the same shape (a scalar and a 0-d array
    count as the same). Empty arrays give 0.0; any NaN or infinity gives ``inf`` (so a check
    written ``err < tol`` fails on it). ``noise``: the part of each difference a numerical
    estimate cannot resolve; differences up to it count as none.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes {a.shape} and {b.shape} differ")
    if a.size == 0:
        return 0.0
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    denom = np.maximum(np.maximum(np.abs(a), np.abs(b)), REL_ERROR_FLOOR)
    diff = np.abs(a - b) if noise <= 0 else np.maximum(np.abs(a - b) - noise, 0.0)
    return float(np.max(diff / denom))


class VjpError(NamedTuple):
    """Relative errors of one input's vjp: full elementwise gradient, and random direction."""

    elementwise: float
    direction: float

    @property
    def worst(self) -> float:
        return max(self.elementwise, self.direction)


def _evaluate(spec: OpSpec, xs: Sequence[np.ndarray], p: Mapping[str, Any]) -> tuple[Any, Any]:
    assert spec.forward is not None
    out = spec.forward(xs, p)
    return out if spec.saves else (out, None)


def _noise(dtype: Any, scale: float, eps: float) -> float:
    """What a difference quotient with step ``eps`` of values of size ``scale`` cannot resolve."""
    kind = np.dtype(dtype)
    unit = float(np.finfo(kind).eps) if kind.kind == "f" else float(np.finfo(np.float64).eps)
    return ROUNDING_ULPS * unit * scale / eps


def _sample(size: int, max_elements: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_elements is None or size <= max_elements:
        return np.arange(size)
    return np.sort(rng.choice(size, max_elements, replace=False))


def _check_order(order: int) -> None:
    if order not in (2, 4):
        raise GradcheckError(f"order must be 2 or 4, got {order!r}")


Difference = Callable[[np.ndarray, np.ndarray], float]


def _directional(diff: Difference, x: np.ndarray, direction: np.ndarray, eps: float,
                 order: int) -> tuple[float, np.ndarray]:
    """Central-difference derivative of F at ``x`` along ``direction``, where
    ``diff(a, b) = F(a) - F(b)``; and the direction the step really took in x's dtype.

    order 2: (F(x + εd) − F(x − εd)) / 2ε, with d the rounded step ((x + εd) − (x − εd)) / 2ε.
    order 4: (8 (F(x + εd) − F(x − εd)) − (F(x + 2εd) − F(x − 2εd))) / 12ε, error O(ε⁴).
    """
    plus, minus = x + eps * direction, x - eps * direction
    first = diff(plus, minus) / (2.0 * eps)
    if order == 2:
        return first, (plus - minus) / (2.0 * eps)
    second = diff(x + 2.0 * eps * direction, x - 2.0 * eps * direction) / (4.0 * eps)
    return (4.0 * first - second) / 3.0, direction


def _elementwise(diff: Difference, x: np.ndarray, idx: np.ndarray, eps: float,
                 order: int) -> np.ndarray:
    """Central-difference gradient of F at the flat indices ``idx`` of ``x``. The step is
    ``eps`` for elements up to 1 in size and ``eps·|x|`` above (a step of 1e-6 is lost in
    rounding on 2**63); a non-finite element gives NaN (so its error is infinite)."""
    numeric = np.empty(idx.size)
    unit = np.zeros_like(x)
    flat_unit = unit.reshape(-1)
    flat_x = x.reshape(-1)
    for n, flat in enumerate(idx):
        flat_unit[flat] = max(1.0, abs(float(flat_x[flat])))
        with np.errstate(all="ignore"):
            estimate, taken = _directional(diff, x, unit, eps, order)
        step = float(taken.reshape(-1)[flat])
        numeric[n] = estimate / step if step != 0 and np.isfinite(step) else np.nan
        flat_unit[flat] = 0
    return numeric


def _working_copy(x: Any, differentiable: bool) -> np.ndarray:
    arr = np.array(x, copy=True)
    if differentiable and arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


def _vjp_errors(spec: OpSpec, xs: Sequence[Any], p: Mapping[str, Any], rng: np.random.Generator,
                eps: float, g: Any, max_elements: int | None, order: int,
                missing_as_zero: bool = False) -> list[VjpError | None]:
    """The work of :func:`vjp_errors` with params already resolved (as a Program holds them).
    With ``missing_as_zero`` an input without a vjp is checked as if its gradient were 0, so
    a gate that drops a gradient the output depends on is caught."""
    if spec.forward is None:
        raise GradcheckError(f"op '{spec.name}' is a source ({spec.role}); it has no vjp to check")
    _check_order(order)
    vjp_fns = [(lambda g, y, xs, p, s, k=k: np.zeros(np.shape(xs[k]))) if v is None and
               missing_as_zero else v for k, v in enumerate(spec.vjps)]
    work = [_working_copy(x, vjp is not None) for x, vjp in zip(xs, vjp_fns, strict=True)]
    with np.errstate(all="ignore"):
        y, saved = _evaluate(spec, work, p)
        y = np.array(y, copy=True)  # forward may return a view of an input we are about to move
        if g is None:
            dtype = y.dtype if y.dtype.kind == "f" else np.float64
            g = rng.standard_normal(y.shape).astype(dtype)
        g = np.asarray(g)
        if g.shape != y.shape:
            raise GradcheckError(f"op '{spec.name}': upstream gradient has shape {g.shape}, "
                             f"the output has shape {y.shape}")
        # every vjp first, at the unperturbed point; copies, since a vjp may return a view
        vjps = [None if vjp is None else np.array(vjp(g, y, work, p, saved), copy=True)
                for vjp in vjp_fns]
        out: list[VjpError | None] = []
        for k, analytic in enumerate(vjps):
            if analytic is None:
                out.append(None)
                continue
            x = work[k]
            if analytic.shape != x.shape:
                raise GradcheckError(
                    f"op '{spec.name}': vjp of input '{spec.inputs[k]}' returned shape "
                    f"{analytic.shape}, the input has shape {x.shape} (missing unbroadcast?)"
                )

            scale = [0.0]  # Σ |g·y| over the outputs a move reached: their rounding noise

            def diff(plus: np.ndarray, minus: np.ndarray, k: int = k,
                     scale: list[float] = scale) -> float:
                """<g, f(.., plus, ..) − f(.., minus, ..)> with input k moved."""
                xk = work[k]
                work[k] = plus
                yp = np.array(_evaluate(spec, work, p)[0], copy=True)
                work[k] = minus
                ym = np.array(_evaluate(spec, work, p)[0], copy=True)
                work[k] = xk
                # outputs the move does not reach are bitwise equal and cancel exactly here
                moved = yp != ym
                size = np.abs(g[moved]) * np.maximum(np.abs(yp[moved]), np.abs(ym[moved]))
                scale[0] = max(scale[0], float(np.sum(size)))
                return float(np.sum(g * (yp - ym)))

            # (a) elementwise central differences of <g, f(x)>
            idx = _sample(x.size, max_elements, rng)
            numeric = _elementwise(diff, x, idx, eps, order)
            elementwise = rel_error(analytic.reshape(-1)[idx], numeric,
                                    _noise(x.dtype, scale[0], eps))
            # (b) one random direction d: <vjp(g), d> against the directional difference
            scale[0] = 0.0
            d = rng.standard_normal(x.shape).astype(x.dtype)
            rhs, d = _directional(diff, x, d, eps, order)
            out.append(VjpError(elementwise, rel_error(float(np.sum(analytic * d)), rhs,
                                                       _noise(x.dtype, scale[0], eps))))
    return out


def vjp_errors(spec: OpSpec, xs: Sequence[Any], params: Mapping[str, Any] | None,
               rng: np.random.Generator, eps: float = 1e-6, *, g: Any = None,
               max_elements: int | None = None, order: int = 2) -> list[VjpError | None]:
    """Both errors of every input's vjp (``None`` for a non-differentiable input).

    ``params`` are resolved with ``spec.resolve_params``. ``g`` is the upstream gradient (shaped
    like the output); by default a standard normal draw from ``rng``. ``max_elements`` caps how
    many elements of each input the elementwise check differentiates (a seeded sample from
    ``rng``); by default all. ``order`` 2 is the plain central difference, 4 the fourth-order
    stencil (see :func:`check_program`). Inputs are copied, never modified. Raises
    :class:`GradcheckError` when a vjp returns the wrong shape.
    """
    p = spec.resolve_params(params)
    return _vjp_errors(spec, xs, p, rng, eps, g, max_elements, order)


def numeric_vjp_check(spec: OpSpec, xs: Sequence[Any], params: Mapping[str, Any] | None,
                      rng: np.random.Generator, eps: float = 1e-6, *, g: Any = None,
                      max_elements: int | None = None, order: int = 2) -> list[float | None]:
    """Per input of ``spec``: the worse of the elementwise and the random-direction relative
    error of its vjp (see :func:`vjp_errors`), or ``None`` for a non-differentiable input."""
    errors = vjp_errors(spec, xs, params, rng, eps, g=g, max_elements=max_elements, order=order)
    return [None if e is None else e.worst for e in errors]


def _source_error(program: Program, i: int, grad: np.ndarray, eps: float, order: int,
                  max_elements: int | None, rng: np.random.Generator) -> float:
    """Central differences of sum(output) over elements of source ``i`` against ``grad``."""
    node = program.nodes[i]
    x = np.array(program.values[i], dtype=program.dtype, copy=True)
    grad = np.asarray(grad)
    if grad.shape != x.shape:
        raise GradcheckError(f"gradient of '{node.name}' has shape {grad.shape}, "
                         f"its value has shape {x.shape}")

    scale = 0.0  # the largest |F| seen: the differences' rounding noise is relative to it

    def diff(plus: np.ndarray, minus: np.ndarray) -> float:
        nonlocal scale
        # moved copies only: the caller's and the optimizer's arrays stay put
        program.values[i] = plus
        up = float(np.sum(program.forward()))
        program.values[i] = minus
        down = float(np.sum(program.forward()))
        scale = max(scale, abs(up), abs(down))
        return up - down

    idx = _sample(x.size, max_elements, rng)
    numeric = _elementwise(diff, x, idx, eps, order)
    return rel_error(grad.reshape(-1)[idx], numeric, _noise(program.dtype, scale, eps))


def check_program(program: Program, feeds: Mapping[str, Any] | None = None, eps: float = 1e-6,
                  *, order: int = 2, max_elements: int | None = DEFAULT_MAX_ELEMENTS,
                  seed: int = 0) -> dict[str, float]:
    """Largest relative error per node of ``program`` (keyed by node name; by key when two
    nodes share a name).

    * Inputs and parameters: ``program.grad`` against central differences of the output (summed
      when it is not a scalar, as ``backward`` seeds it with ones) over each element, at most
      ``max_elements`` random elements per array (seeded by ``seed``). A source the output
      depends on is checked even when it got no gradient (as 0: a dropped gradient fails);
      sources the output does not depend on, and constants, are not listed.
    * Every other node: its own vjps at its current input values with its actual upstream
      gradient (a random one when nothing flows back to it), as :func:`numeric_vjp_check`; an
      input without a vjp counts as getting 0.

    ``order=2`` is the plain central difference with step ``eps``. Its rounding error is about
    ``1e-16 · |output| / eps`` absolute, so at ``eps=1e-6`` an element whose true gradient is
    under ~1e-4 can score over 1e-6 although it is right (measured on the small MLP of
    tests/engine/test_program.py: 2 of 40 seeds, worst 3.7e-6 on a gradient of 1.9e-5).
    ``order=4`` uses the fourth-order stencil; with ``eps=1e-3`` it scored under 2e-9 on the
    same 40 seeds, for twice the forward passes. A source's differences within that rounding
    noise (``ROUNDING_ULPS`` units in the last place of ``|output|``, over ``eps``) count as
    none: a saturated σ output has true gradients of 1e-14 that no difference quotient of an
    output of size 1 can resolve, and the relative error's floor of 1e-8 would otherwise turn
    their noise into errors of 1e-5 (the digits_tutorial example).

    Runs ``forward(feeds)`` and ``backward(all_grads=True)`` first, and leaves the program as
    after exactly that pass: input and parameter arrays are the same objects with the same
    contents, values and gradients recomputed. Works in the program's dtype: float64 is needed
    for errors near 1e-9 (float32 cannot resolve a step of 1e-6).
    """
    _check_order(order)
    rng = np.random.default_rng(seed)
    program.forward(feeds)
    program.backward(all_grads=True)
    nodes = program.nodes
    values = list(program.values)
    grads = list(program.grads)
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.name] = counts.get(node.name, 0) + 1
    sources = sorted(program.inputs + program.parameters)
    reach = program._ancestors(program.output)
    result: dict[str, float] = {}
    try:
        for i, node in enumerate(nodes):
            label = node.name if counts[node.name] == 1 else node.key
            if node.spec.is_source:
                # a source the output depends on is checked even when no gradient reached it
                # (as 0 then): a gate that drops a gradient must not go unnoticed
                if i in sources and (grads[i] is not None or reach[i]):
                    grad = grads[i]
                    if grad is None:
                        grad = np.zeros(np.shape(values[i]))  # type: ignore[arg-type]
                    result[label] = _source_error(program, i, grad, eps, order,
                                                  max_elements, rng)
                    program.values[i] = values[i]
                continue
            xs = [values[j] for j in node.inputs]
            errs = _vjp_errors(node.spec, xs, node.params, rng, eps, grads[i], max_elements,
                               order, missing_as_zero=True)
            checked = [e.worst for e in errs if e is not None]
            if checked:
                result[label] = max(checked)
    finally:
        for i in sources:
            program.values[i] = values[i]
        program.forward()
        program.backward(all_grads=True)
    return result


def max_error(errors: Mapping[str, float]) -> tuple[str, float]:
    """The node with the largest error in a :func:`check_program` result, and that error."""
    if not errors:
        return "", 0.0
    name = max(errors, key=lambda k: errors[k])
    return name, errors[name]
