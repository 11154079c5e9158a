"""Does a value fit an input's shape? If not, why, in words a student can act on. NumPy only.

Used where a value meets an input: the graph refuses a typed value that does not fit
(:meth:`playground.graph.GraphModel.set_param`), a program refuses such a feed
(:class:`playground.engine.FeedError`), and both say the same thing::

    input 'x' is a scalar (one number); [1, 2] has 2 values: to type 2 numbers give 'x' shape [2]
    input 'x' takes shape (N, 1), one number per sample; 1 is a single number: to type one
    number give 'x' shape []
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .registry import fmt_shape

__all__ = ["fits", "misfit", "shape_words", "value_words"]

MAX_VALUE_TEXT = 24  # characters of a value quoted in a message


def fits(shape: Sequence[int | None], dims: Sequence[int]) -> bool:
    """Whether an array of shape ``dims`` fits ``shape`` (None: any size, the batch)."""
    return len(dims) == len(shape) and all(w is None or w == d
                                           for w, d in zip(shape, dims, strict=True))


def shape_words(shape: Sequence[int | None]) -> str:
    """``is a scalar (one number)``, ``takes shape (N, 1), one number per sample``, ..."""
    shape = tuple(shape)
    if not shape:
        return "is a scalar (one number)"
    if shape == (None,):
        return "takes shape (N,), one number per sample"
    if len(shape) == 1:
        return f"takes {shape[0]} number{'s' if shape[0] != 1 else ''}, shape {fmt_shape(shape)}"
    if len(shape) == 2 and shape[0] is None and shape[1] is not None:
        per = "one number" if shape[1] == 1 else f"{shape[1]} numbers"
        return f"takes shape {fmt_shape(shape)}, {per} per sample"
    return f"takes shape {fmt_shape(shape)}"


def value_words(value: Any, count: bool = True) -> str:
    """``1 is a single number``, ``[1, 2] has 2 values`` (with ``count``), else ``the value has
    shape (4, 3)``."""
    arr = np.asarray(value)
    text = _short(value)
    if arr.ndim == 0:
        return f"{text} is a single number" if text else "the value is a single number"
    if arr.ndim == 1 and text and count:
        return f"{text} has {arr.size} value{'s' if arr.size != 1 else ''}"
    return f"the value has shape {fmt_shape(arr.shape)}"


def misfit(name: str, shape: Sequence[int | None], value: Any) -> str | None:
    """Why ``value`` cannot be the value of input ``name`` of ``shape``, or None if it fits."""
    arr = np.asarray(value)
    if fits(shape, arr.shape):
        return None
    text = f"input '{name}' {shape_words(shape)}; {value_words(value, len(shape) <= 1)}"
    if arr.ndim == 0 and tuple(shape) != ():
        text += f": to type one number give '{name}' shape []"
    elif arr.ndim == 1 and None not in shape and len(shape) <= 1:
        text += f": to type {arr.size} numbers give '{name}' shape [{arr.size}]"
    return text


def _short(value: Any) -> str:
    """The value as a person typed it (``1``, ``[1, 2]``), or '' when that would be long."""
    try:
        plain = np.asarray(value, dtype=float).tolist()
    except (TypeError, ValueError):
        return ""
    text = json.dumps(_tidy(plain))
    return text if len(text) <= MAX_VALUE_TEXT else ""


def _tidy(v: Any) -> Any:
    if isinstance(v, list):
        return [_tidy(x) for x in v]
    if isinstance(v, float) and math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    return v
