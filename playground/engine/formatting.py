"""How numbers, shapes and arrays are written, everywhere: wire labels, step-through, Math card,
CLI, messages. NumPy only.

- :func:`number` — a value with ``digits`` significant digits: ``3``, ``0.7311``, ``-0.1966``,
  ``1e-08``, ``nan``, ``inf`` (never ``-0``);
- :func:`plain` — a value as people write it in an equation: ``3``, ``0.73``, ``-0.20``, ``1.2e-05``;
- :func:`shape` — a shape with ``N`` for the batch dimension: ``(N, 64)``, ``(3,)``, ``()``;
- :func:`brief` — a scalar as :func:`number`, a tensor as ``[32×64 mean 0.0123]``;
- :func:`operand` — :func:`brief` inside an expression: negatives in parentheses;
- :func:`summary` — what a wire shows: a scalar as a number, a tensor as ``(32,64) μ0.12 ‖3.4‖``;
- :func:`listing` — a whole array on one line for the command line;
- :func:`render` — an op's expression or local-derivative template (from the registry) with
  names or numbers filled in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .digest import Digest

__all__ = ["brief", "listing", "number", "operand", "plain", "power", "render", "shape",
           "summary"]


def _float(x: Any) -> float:
    return float(np.asarray(x).reshape(-1)[0]) if np.ndim(x) else float(x)


def number(x: Any, digits: int = 4) -> str:
    """``digits`` significant digits; ``nan``, ``inf``, ``-inf``; zero is ``0`` (no ``-0``)."""
    v = _float(x)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}"


def plain(x: Any) -> str:
    """As people write it: ``3``, ``0.73``, ``-0.20``, ``1.2e-05``; ``∞`` and ``−∞``."""
    v = _float(x)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("∞" if v > 0 else "−∞")
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    if 0.01 <= abs(v) < 1000:
        return f"{v:.2f}"
    return f"{v:.3g}"


def shape(dims: Sequence[int | None], compact: bool = False) -> str:
    """``(N, 64)``: ``N`` is the batch dimension (any size); ``(3,)`` for one dimension;
    ``compact`` leaves out the spaces (``(32,64)``, where room is short: wire labels)."""
    inner = ("," if compact else ", ").join("N" if d is None else str(d) for d in dims)
    return f"({inner},)" if len(dims) == 1 else f"({inner})"


def _dims(arr: np.ndarray, sep: str) -> str:
    return sep.join(str(d) for d in arr.shape)


def brief(a: Any) -> str:
    """A number for a single value, else ``[32×64 mean 0.0123]``."""
    arr = np.asarray(a)
    if arr.size == 1:
        return number(arr.reshape(-1)[0])
    dims = _dims(arr, "×")
    if arr.size == 0:
        return f"[{dims}]"
    with np.errstate(all="ignore"):
        mean = float(np.mean(arr))
        scale = float(np.max(np.abs(arr)))
    if abs(mean) <= 1e-12 * scale:  # rounding noise of a mean that is 0 in theory
        mean = 0.0
    return f"[{dims} mean {number(mean)}]"


def operand(a: Any) -> str:
    """A value inside an expression: negatives in parentheses, ``2 · (-1)``."""
    text = brief(a)
    return f"({text})" if text.startswith("-") else text


def summary(a: Any) -> str:
    """What a wire shows: a scalar as a number, a tensor as shape, mean μ and norm ‖·‖.
    ``a`` may be a :class:`~.digest.Digest` of the array."""
    if isinstance(a, Digest):
        if a.size == 1:
            return number(a.scalar())
        dims = shape(a.shape, compact=True)
        return f"{dims} empty" if a.size == 0 else \
            f"{dims} μ{number(a.mean, 2)} ‖{number(a.norm, 2)}‖"
    arr = np.asarray(a)
    if arr.dtype.kind not in "fc":
        arr = arr.astype(np.float64)
    if arr.size == 1:
        return number(arr.reshape(-1)[0])
    dims = shape(arr.shape, compact=True)
    if arr.size == 0:
        return f"{dims} empty"
    with np.errstate(all="ignore"):
        mean, norm = float(np.mean(arr)), float(np.linalg.norm(arr.reshape(-1)))
    return f"{dims} μ{number(mean, 2)} ‖{number(norm, 2)}‖"


def listing(a: Any, precision: int = 4) -> str:
    """A whole value on one line (the command line): ``0.7311`` or ``[[1, 2], [3, 4]]``
    (``precision`` digits after the point for the elements of an array)."""
    if a is None:
        return "—"
    arr = np.asarray(a)
    if arr.ndim == 0:
        return f"{arr.item():.6g}"
    text = np.array2string(arr, precision=precision, threshold=12, edgeitems=2,
                           separator=", ")
    return re.sub(r" +([,\]])", r"\1", " ".join(text.split()))  # no padding before , or ]


_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")


def power(base: str, p: float) -> str:
    """``base`` to the power ``p``: ``q²``, ``x³``, ``x^2.5``; ``x`` for 1, ``1`` for 0."""
    p = float(p)
    if p == 1:
        return base
    if p == 0:
        return "1"
    if p.is_integer() and abs(p) < 10:
        return base + str(int(p)).translate(_SUPERSCRIPT)
    return f"{base}^{number(p)}"


_FIELD = re.compile(r"\{(\w+)(?:\^(\w+|\d+(?:\.\d+)?)(-1)?)?\}")


def render(template: str, names: Mapping[str, str], params: Mapping[str, Any] | None = None
           ) -> str:
    """Fill an op's template: ``{port}`` and ``{out}`` take ``names`` (node names, or numbers
    already written with :func:`operand`), ``{param}`` the param's value, ``{x^exponent}`` and
    ``{x^2}`` a power of ``x`` (``{x^exponent-1}``: one less). Unknown fields stay as written."""
    params = params or {}

    def fill(m: re.Match[str]) -> str:
        key, exp, minus = m.group(1), m.group(2), m.group(3)
        if key in names:
            text = names[key]
        elif key in params and isinstance(params[key], (int, float)):
            text = number(params[key])
        else:
            return m.group(0)
        if exp is None:
            return text
        p = float(exp) if exp[0].isdigit() else params.get(exp)
        if not isinstance(p, (int, float)):
            return m.group(0)
        p = float(p) - (1 if minus else 0)
        if p != 1 and text.startswith("(") is False and any(c in text for c in " +−-·/"):
            text = f"({text})"
        return power(text, p)

    return _FIELD.sub(fill, template)
