"""The op registry: every op is declared once, here, and everything else reads it.

An :class:`OpSpec` carries what the engine, the graph document, the palette, the inspector,
the docs and the gradient-check tests need: name, input ports, forward, one vector-Jacobian
product per input (``vjp(g, y, xs, p, saved) -> gradient``, already summed back to the input's
shape), a shape rule, editable params and display metadata.

Shapes are tuples whose entries are ``int`` or ``None``; ``None`` is the batch dimension (any size).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Shape = tuple[int | None, ...]
Forward = Callable[[Sequence[np.ndarray], Mapping[str, Any]], Any]
Vjp = Callable[..., np.ndarray]
ShapeRule = Callable[[Sequence[Shape], Mapping[str, Any]], Shape]


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class ShapeError(EngineError, ValueError):
    """A shape rule refused its input shapes; the message says which and why."""


class UnknownOpError(EngineError, KeyError):
    """An op name that is not in the registry."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown op {quoted(self.name)} (known ops: {', '.join(sorted(REGISTRY))})"


def quoted(text: object, limit: int = 60) -> str:
    """``'text'`` for a message: control characters (a line break) shown as escapes, lone
    surrogates as escapes too, and cut to ``limit`` characters, so a message stays one line."""
    s = text if isinstance(text, str) else repr(text)
    s = "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)
    return "'" + (s if len(s) <= limit else s[: limit - 1] + "…") + "'"


class ParamError(EngineError, ValueError):
    """A param value outside its kind, choices or bounds."""


@dataclass(frozen=True)
class Param:
    """One editable setting of an op (the inspector builds a widget from it).

    kind: ``float``, ``int``, ``bool``, ``choice``, ``shape`` (list of ints, ``None`` = batch),
    ``ints`` (list of ints, may be empty), ``axis`` (int or None), ``array`` (number or nested list,
    may be None), ``str``.
    """

    name: str
    kind: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this param's kind, or raise :class:`ParamError`."""
        try:
            out = _COERCE[self.kind](value, self)
        except ParamError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ParamError(f"param '{self.name}' expects {self.kind}, got {value!r}") from exc
        if isinstance(out, (int, float)) and not isinstance(out, bool):
            if self.minimum is not None and out < self.minimum:
                raise ParamError(f"param '{self.name}' must be >= {self.minimum}, got {out}")
            if self.maximum is not None and out > self.maximum:
                raise ParamError(f"param '{self.name}' must be <= {self.maximum}, got {out}")
        return out


MAX_DIM = 1_000_000
MAX_ELEMENTS = 50_000_000


def _coerce_shape(value: Any, param: Param) -> list[int | None]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ParamError(f"param '{param.name}' expects a list of sizes, got {value!r}")
    dims: list[int | None] = []
    for d in value:
        if d is None:
            dims.append(None)
            continue
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= d <= MAX_DIM:
            raise ParamError(
                f"param '{param.name}': each size must be a whole number from 1 to {MAX_DIM} "
                f"or null for the batch, got {d!r}"
            )
        dims.append(int(d))
    if len(dims) > 6:
        raise ParamError(f"param '{param.name}': at most 6 dimensions, got {len(dims)}")
    total = int(np.prod([d for d in dims if d is not None], dtype=np.float64))
    if total > MAX_ELEMENTS:
        raise ParamError(f"param '{param.name}': {dims} has {total} elements, over {MAX_ELEMENTS}")
    return dims


def _coerce_array(value: Any, param: Param) -> Any:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.size > MAX_ELEMENTS:
        raise ParamError(f"param '{param.name}': too many values ({arr.size})")
    return arr.tolist()


def _coerce_choice(value: Any, param: Param) -> str:
    if value not in param.choices:
        raise ParamError(f"param '{param.name}' must be one of {', '.join(param.choices)}; got {value!r}")
    return str(value)


def _coerce_int(value: Any, param: Param) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ParamError(f"param '{param.name}' expects a whole number, got {value!r}")
    return int(value)


def _coerce_axis(value: Any, param: Param) -> int | None:
    return None if value is None else _coerce_int(value, param)


def _coerce_float(value: Any, param: Param) -> float:
    if isinstance(value, bool):
        raise ParamError(f"param '{param.name}' expects a number, got {value!r}")
    out = float(value)
    if not np.isfinite(out):
        raise ParamError(f"param '{param.name}' must be finite, got {value!r}")
    return out


def _coerce_bool(value: Any, param: Param) -> bool:
    if not isinstance(value, bool):
        raise ParamError(f"param '{param.name}' expects true or false, got {value!r}")
    return value


def _coerce_ints(value: Any, param: Param) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ParamError(f"param '{param.name}' expects a list of whole numbers, got {value!r}")
    return [_coerce_int(v, param) for v in value]


_COERCE: dict[str, Callable[[Any, Param], Any]] = {
    "float": _coerce_float,
    "int": _coerce_int,
    "bool": _coerce_bool,
    "choice": _coerce_choice,
    "shape": _coerce_shape,
    "ints": _coerce_ints,
    "axis": _coerce_axis,
    "array": _coerce_array,
    "str": lambda v, p: str(v),
}


@dataclass(frozen=True)
class Variant:
    """The texts of an op for one value of its ``variant_param`` (e.g. a loss's reduction).
    ``expr`` and ``local`` are templates with ``{port}`` standing for the node feeding that
    port and ``G`` for the upstream gradient, as the step-through and the Math card write them."""

    formula: str
    derivative: str
    expr: str = ""
    local: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OpSpec:
    """Everything about one op. ``role`` is ``input``, ``constant``, ``parameter`` (sources whose
    value comes from outside the forward pass), ``op`` or ``loss``."""

    name: str
    inputs: tuple[str, ...]
    forward: Forward | None
    vjps: tuple[Vjp | None, ...]
    shape: ShapeRule
    params: tuple[Param, ...] = ()
    label: str = ""
    category: str = "Math"
    colour: str = "#6c8ebf"
    formula: str = ""
    derivative: str = ""
    # templates the step-through and the Math card fill with node names or numbers
    # (formatting.render): the expression, e.g. "{a} + {b}", and the local derivative per input,
    # e.g. {"a": "1", "b": "1"}; G stands for the upstream gradient where it is not elementwise
    expr: str = ""
    local: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""
    role: str = "op"
    saves: bool = False  # forward returns (out, saved); saved is handed to every vjp
    fused_of: tuple[str, ...] = ()  # the primitive gates this op fuses (granularity)
    test_only: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    variant_param: str = ""  # a choice param whose value changes the texts below
    variants: Mapping[str, Variant] = field(default_factory=dict)
    # which inputs take a gradient for given input shapes (default: every input with a vjp);
    # e.g. class labels (N,) take none, one-hot or soft targets (N, C) do
    grad_inputs: Callable[[Sequence[Shape]], Sequence[bool]] | None = None

    @property
    def is_source(self) -> bool:
        return self.role in ("input", "constant", "parameter")

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ParamError(f"op '{self.name}' has no param '{name}'")

    def texts(self, params: Mapping[str, Any] | None = None) -> Variant:
        """Formula, derivative and templates for these params (the variant they choose, else
        the op's own ``formula`` and ``derivative``)."""
        if self.variant_param:
            value = (params or {}).get(self.variant_param, self.param(self.variant_param).default)
            if value in self.variants:
                return self.variants[value]
        return Variant(self.formula, self.derivative, self.expr, self.local)
    def vjps_for(self, shapes: Sequence[Shape]) -> tuple[Vjp | None, ...]:
        """The vjps that apply to inputs of these shapes: ``None`` where an input takes none."""
        if self.grad_inputs is None:
            return self.vjps
        takes = self.grad_inputs(shapes)
        return tuple(v if t else None for v, t in zip(self.vjps, takes, strict=True))

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve_params(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with ``given``, every value coerced; unknown names are refused."""
        out = self.defaults()
        for key, value in (given or {}).items():
            out[key] = self.param(key).coerce(value)
        return out


REGISTRY: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in REGISTRY:
        raise EngineError(f"op '{spec.name}' is registered twice")
    if not spec.is_source and len(spec.vjps) != len(spec.inputs):
        raise EngineError(f"op '{spec.name}' needs one vjp per input")
    if spec.variants and not set(spec.variants) <= set(spec.param(spec.variant_param).choices):
        raise EngineError(f"op '{spec.name}': every variant must be a choice of "
                          f"'{spec.variant_param}'")
    REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def get_op(name: str) -> OpSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownOpError(name) from None


def ops(include_test_only: bool = False) -> list[OpSpec]:
    return [s for s in REGISTRY.values() if include_test_only or not s.test_only]


def activations() -> list[str]:
    """The elementwise activation gates (what a hidden layer may use), in registry order."""
    return [s.name for s in ops() if s.category == "Activations" and s.inputs == ("x",)
            and not any(p.name == "axis" for p in s.params)]


def losses(task: str | None = None) -> list[str]:
    """The loss gates (for ``task`` 'classification' or 'regression' only, when given)."""
    return [s.name for s in ops() if s.role == "loss"
            and (task is None or s.extra.get("task") == task)]


def categories() -> dict[str, list[OpSpec]]:
    out: dict[str, list[OpSpec]] = {}
    for spec in ops():
        out.setdefault(spec.category, []).append(spec)
    return out


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` back to ``shape`` over the axes broadcasting stretched."""
    if g.shape == shape:
        return g
    if g.ndim == len(shape) + 1 and g.shape[1:] == shape:  # the common bias case
        return g.sum(axis=0)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def fmt_shape(shape: Shape) -> str:
    """A shape as everywhere else: ``(N, 64)`` (see :mod:`.formatting`)."""
    from .formatting import shape as written

    return written(shape)
