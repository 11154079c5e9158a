"""Shape rules shared by the op definitions. ``None`` is the batch dimension."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .registry import Shape, ShapeError, fmt_shape


def broadcast(a: Shape, b: Shape) -> Shape:
    """NumPy broadcasting with ``None`` (batch) allowed to meet 1 or another ``None``."""
    out: list[int | None] = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x == y:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        else:
            raise ShapeError(
                f"shapes {fmt_shape(a)} and {fmt_shape(b)} do not broadcast: "
                f"size {_d(x)} meets size {_d(y)} (sizes must be equal, or one of them 1)"
            )
    return tuple(reversed(out))


def _d(x: int | None) -> str:
    return "N (batch)" if x is None else str(x)


def same(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    return shapes[0]


def elementwise(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    out = shapes[0]
    for s in shapes[1:]:
        out = broadcast(out, s)
    return out


def scalar(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    return ()


def matmul(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    a, b = shapes
    if len(a) != 2 or len(b) != 2:
        raise ShapeError(
            f"matmul needs two matrices (2-D), got {fmt_shape(a)} and {fmt_shape(b)}; "
            "give vectors a batch or feature axis"
        )
    if a[1] != b[0] or a[1] is None:
        raise ShapeError(
            f"matmul {fmt_shape(a)} · {fmt_shape(b)}: the inner sizes {_d(a[1])} and {_d(b[0])} "
            "must be equal (columns of the left = rows of the right)"
        )
    return (a[0], b[1])


def dense(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    x, w, b = shapes
    out = matmul((x, w), p)
    try:
        return broadcast(out, b)
    except ShapeError:
        raise ShapeError(
            f"dense: bias {fmt_shape(b)} does not fit the output {fmt_shape(out)}; "
            f"use a bias of shape ({_d(out[-1])},)"
        ) from None


def _axis(shape: Shape, axis: int | None) -> int | None:
    if axis is None:
        return None
    if not -len(shape) <= axis < len(shape):
        raise ShapeError(f"axis {axis} is out of range for shape {fmt_shape(shape)}")
    return axis % len(shape)


def reduce(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    (s,) = shapes
    axis = _axis(s, p.get("axis"))
    if axis is None:
        return tuple(1 for _ in s) if p.get("keepdims") else ()
    if p.get("keepdims"):
        return s[:axis] + (1,) + s[axis + 1 :]
    return s[:axis] + s[axis + 1 :]


def along_axis(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    (s,) = shapes
    if not s:
        raise ShapeError("softmax needs at least one axis; got a scalar")
    _axis(s, p.get("axis", -1))
    return s


def transpose(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    (s,) = shapes
    axes = p.get("axes") or list(reversed(range(len(s))))
    n = len(s)
    if any(not -n <= a < n for a in axes) or sorted(a % n for a in axes) != list(range(n)):
        raise ShapeError(f"transpose axes {axes} are not a permutation of the {n} axes of {fmt_shape(s)}")
    return tuple(s[a] for a in axes)


def loss_pair(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    pred, target = shapes
    if len(pred) != len(target) or any(
        a is not None and b is not None and a != b for a, b in zip(pred, target, strict=False)
    ):
        raise ShapeError(
            f"prediction {fmt_shape(pred)} and target {fmt_shape(target)} must have the same shape"
        )
    return ()


def cross_entropy(shapes: Sequence[Shape], p: Mapping[str, Any]) -> Shape:
    logits, target = shapes
    if len(logits) != 2:
        raise ShapeError(f"cross-entropy needs logits of shape (N, classes), got {fmt_shape(logits)}")
    if len(target) == 1:
        if target[0] is not None and logits[0] is not None and target[0] != logits[0]:
            raise ShapeError(f"{target[0]} class labels for {logits[0]} rows of logits")
        return ()
    if len(target) == 2:
        return loss_pair(shapes, p)
    raise ShapeError(
        f"cross-entropy target must be class labels (N,) or one-hot (N, classes), got {fmt_shape(target)}"
    )
