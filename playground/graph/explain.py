"""The forward and backward passes of a compiled program, as a list of steps a person can follow.

:func:`trace` runs one forward and one backward pass (``all_grads=True``: inputs get gradients
too) and returns what happened gate by gate, in the order the engine does it:

* forward: one :class:`ForwardStep` per non-source gate, in topological order, e.g.
  ``q = x + y = 1 + 2 = 3`` (sources are not steps: their values sit on their wires);
* backward: first the seed ``∂f/∂f = 1`` at the output, then, gates in reverse order, one
  :class:`BackwardStep` per differentiable input edge that needs a gradient, in port order:
  upstream ``∂f/∂q`` × local ``∂q/∂x`` = downstream, e.g. ``∂f/∂x = ∂f/∂q · ∂q/∂x = 6 · 1 = 6``.
  Where a value feeds several gates its gradient is a sum, shown as ``∂f/∂x = 2 + … = 5``.

Every number is the engine's: each contribution is the op's own vjp at the program's values, and
contributions are added in the engine's order, so every ``total`` at the end equals
``program.grads`` exactly. Scalars are shown as numbers; tensors as ``[32×64 mean 0.0123]``.
Plain Python, no Qt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Program, get_op
from ..engine import shapes as S

__all__ = ["BackwardStep", "ForwardStep", "fmt_array", "fmt_number", "trace"]


@dataclass(frozen=True)
class ForwardStep:
    index: int
    node_id: str
    name: str
    op: str
    label: str
    inputs: tuple[tuple[str, str, np.ndarray], ...]  # (port, source node name, value)
    value: np.ndarray
    text: str  # "q = x + y = 1 + 2 = 3"


@dataclass(frozen=True)
class BackwardStep:
    index: int
    node_id: str
    name: str  # the gate whose output gradient is pushed back (the output itself for the seed)
    port: str  # '' for the seed
    input_id: str
    input_name: str
    upstream: np.ndarray  # ∂L/∂(gate output)
    local: np.ndarray | None  # ∂(gate output)/∂(input), elementwise; None when not elementwise
    local_text: str  # "∂q/∂x = 1", or the op's derivative text such as "G·Wᵀ"
    downstream: np.ndarray  # this contribution (the vjp), shaped like the input
    total: np.ndarray  # ∂L/∂input so far, after this contribution
    accumulated: bool  # the input already had a contribution (shown as a sum)
    text: str  # "∂f/∂x = ∂f/∂q · ∂q/∂x = 6 · 1 = 6"


# -- formatting -------------------------------------------------------------------------------
def fmt_number(v: float) -> str:
    """4 significant digits, no ``-0``: ``3``, ``0.7311``, ``-0.1966``, ``1e-08``."""
    v = float(v)
    if v == 0:
        return "0"
    return f"{v:.4g}"


def fmt_array(a: Any) -> str:
    """A number for a single value, else ``[32×64 mean 0.0123]``."""
    arr = np.asarray(a)
    if arr.size == 1:
        return fmt_number(arr.reshape(-1)[0])
    dims = "×".join(str(d) for d in arr.shape)
    if arr.size == 0:
        return f"[{dims}]"
    mean = float(np.mean(arr))
    scale = float(np.max(np.abs(arr)))
    if abs(mean) <= 1e-12 * scale:  # rounding noise of a mean that is 0 in theory
        mean = 0.0
    return f"[{dims} mean {fmt_number(mean)}]"


def _operand(a: Any) -> str:
    """A value inside an expression: negatives in parentheses, ``2 · (-1)``."""
    text = fmt_array(a)
    return f"({text})" if text.startswith("-") else text


_UPSTREAM = re.compile(r"(?<![\w∂/])G(?![\w])")  # the upstream gradient in derivative texts
_ARG_PARENS = re.compile(r"([(,] ?)\((-[^()]*)\)")  # a negative argument needs no parentheses


def _pow_text(base: str, p: float) -> str:
    sup = {2.0: "²", 3.0: "³"}.get(float(p))
    return f"{base}{sup}" if sup else f"{base}^{fmt_number(p)}"


def _forward_expr(op: str, names: Mapping[str, str], params: Mapping[str, Any]) -> str | None:
    """The gate's formula with ``names`` (per port) filled in; None for an op not listed here."""
    variant = get_op(op).texts(params)
    if variant.expr:  # ops whose text depends on a param (a loss's reduction) say it themselves
        return _fill(variant.expr, names)
    g = names.get
    c = fmt_number(params["c"]) if "c" in params else ""
    table = {
        "add": lambda: f"{g('a')} + {g('b')}", "sub": lambda: f"{g('a')} − {g('b')}",
        "mul": lambda: f"{g('a')} · {g('b')}", "div": lambda: f"{g('a')} / {g('b')}",
        "neg": lambda: f"−{g('x')}", "add_const": lambda: f"{g('x')} + {c}",
        "mul_const": lambda: f"{c} · {g('x')}",
        "pow": lambda: _pow_text(str(g("x")), params["exponent"]),
        "exp": lambda: f"exp({g('x')})", "log": lambda: f"ln({g('x')})",
        "reciprocal": lambda: f"1/{g('x')}", "relu": lambda: f"max(0, {g('x')})",
        "leaky_relu": lambda: f"leaky_relu({g('x')})", "tanh": lambda: f"tanh({g('x')})",
        "sigmoid": lambda: f"σ({g('x')})", "softmax": lambda: f"softmax({g('x')})",
        "log_softmax": lambda: f"log_softmax({g('x')})", "matmul": lambda: f"{g('a')}·{g('b')}",
        "transpose": lambda: f"{g('x')}ᵀ", "sum": lambda: f"Σ {g('x')}",
        "mean": lambda: f"mean({g('x')})", "dense": lambda: f"{g('x')}·{g('W')} + {g('b')}",
    }
    make = table.get(op)
    return make() if make else None


# Local derivative of each op per port, with {port} and {out} standing for node names; G is the
# upstream gradient (used where the derivative is not elementwise).
_LOCAL: dict[str, dict[str, str]] = {
    "add": {"a": "1", "b": "1"}, "sub": {"a": "1", "b": "−1"},
    "mul": {"a": "{b}", "b": "{a}"}, "div": {"a": "1/{b}", "b": "−{a}/{b}²"},
    "neg": {"x": "−1"}, "add_const": {"x": "1"}, "mul_const": {"x": "{c}"},
    "exp": {"x": "exp({x})"}, "log": {"x": "1/{x}"}, "reciprocal": {"x": "−1/{x}²"},
    "relu": {"x": "1 if {x} > 0 else 0"}, "leaky_relu": {"x": "1 if {x} > 0 else α"},
    "tanh": {"x": "1 − {out}²"}, "sigmoid": {"x": "{out}·(1 − {out})"},
    "softmax": {"x": "{out}·(G − Σ G·{out})"}, "log_softmax": {"x": "G − softmax({x})·Σ G"},
    "matmul": {"a": "G·{b}ᵀ", "b": "{a}ᵀ·G"}, "transpose": {"x": "Gᵀ"},
    "sum": {"x": "G copied to every element of {x}"},
    "mean": {"x": "G/n copied to every element of {x}"},
    "dense": {"x": "G·{W}ᵀ", "W": "{x}ᵀ·G", "b": "G summed over the batch"},
}  # the losses' texts depend on their reduction: the registry's variants hold them


def _fill(template: str, names: Mapping[str, str]) -> str:
    try:
        return template.format(**names)
    except (KeyError, IndexError):
        return template


def _local_expr(op: str, port: str, names: Mapping[str, str], out: str,
                params: Mapping[str, Any], fallback: str) -> str:
    if op == "pow":
        p = float(params["exponent"])
        x = names["x"]
        return f"2·{x}" if p == 2.0 else f"{fmt_number(p)}·{_pow_text(x, p - 1)}"
    template = get_op(op).texts(params).local.get(port) or _LOCAL.get(op, {}).get(port)
    if template is None:
        return fallback or "the op's vjp"
    fill = dict(names)
    fill["out"] = out
    if "c" in params:
        fill["c"] = fmt_number(params["c"])
    try:
        return template.format(**fill)
    except (KeyError, IndexError):
        return template


def _is_elementwise(spec: Any) -> bool:
    return spec.shape in (S.same, S.elementwise)


def _copy(a: Any) -> np.ndarray:
    return np.array(a, copy=True)


# -- the trace --------------------------------------------------------------------------------
def trace(program: Program, feeds: Mapping[str, Any] | None = None
          ) -> tuple[list[ForwardStep], list[BackwardStep]]:
    """Run ``program`` forward and backward (``all_grads=True``) and return every step.

    ``feeds`` as for :meth:`Program.forward` (None keeps the inputs' current values). The program
    is left exactly as after ``program.run(feeds)``. Engine errors propagate unchanged.
    """
    program.run(feeds, all_grads=True)
    nodes, values = program.nodes, program.values
    names = [n.name for n in nodes]
    forward = _forward_steps(program)
    backward = _backward_steps(program, names, values)
    return forward, backward


def _forward_steps(program: Program) -> list[ForwardStep]:
    steps: list[ForwardStep] = []
    for i, node in enumerate(program.nodes):
        spec = node.spec
        if spec.is_source or program.values[i] is None:
            continue
        ports = spec.inputs
        ins = tuple((port, program.nodes[j].name, _copy(program.values[j]))
                    for port, j in zip(ports, node.inputs, strict=True))
        value = _copy(program.values[i])
        by_name = {p: n for p, n, _ in ins}
        by_value = {p: _operand(v) for p, _, v in ins}
        expr = _forward_expr(node.op, by_name, node.params)
        if expr is None:
            label = spec.label or node.op
            expr = f"{label}({', '.join(by_name.values())})"
            shown = f"{label}({', '.join(by_value.values())})"
        else:
            shown = _forward_expr(node.op, by_value, node.params) or expr
            shown = _ARG_PARENS.sub(r"\1\2", shown)  # exp((-1)) -> exp(-1)
        text = f"{node.name} = {expr} = {shown} = {fmt_array(value)}"
        steps.append(ForwardStep(len(steps), node.key, node.name, node.op, spec.label or node.op,
                                 ins, value, text))
    return steps


def _needs(program: Program) -> list[bool]:
    """Which nodes get a gradient with ``all_grads=True`` (the engine's backward plan rule)."""
    needs = [False] * len(program.nodes)
    for i, node in enumerate(program.nodes):
        role = node.spec.role
        if role in ("parameter", "input"):
            needs[i] = True
        elif role != "constant":
            needs[i] = any(needs[j] for j in node.inputs)
    return needs


def _backward_steps(program: Program, names: Sequence[str],
                    values: Sequence[np.ndarray | None]) -> list[BackwardStep]:
    nodes = program.nodes
    out = program.output
    f = names[out]
    seed = program.grads[out]
    assert seed is not None
    one = _copy(seed)
    steps = [BackwardStep(0, nodes[out].key, f, "", nodes[out].key, f, one, _copy(one),
                          f"∂{f}/∂{f} = 1", _copy(one), _copy(one), False, f"∂{f}/∂{f} = 1")]
    totals: dict[int, np.ndarray] = {out: seed}
    needs = _needs(program)
    for i in range(out, -1, -1):
        node = nodes[i]
        spec = node.spec
        if spec.is_source or i not in totals:
            continue
        g = totals[i]
        xs = [values[j] for j in node.inputs]
        y = values[i]
        saved = (spec.forward(xs, node.params)[1]  # type: ignore[misc,arg-type]
                 if spec.saves else None)
        port_names = {p: names[j] for p, j in zip(spec.inputs, node.inputs, strict=True)}
        vjps = spec.vjps_for([nodes[j].shape for j in node.inputs])
        for port, j, vjp in zip(spec.inputs, node.inputs, vjps, strict=True):
            if vjp is None or not needs[j]:
                continue
            down = vjp(g, y, xs, node.params, saved)
            x = values[j]
            assert x is not None and y is not None
            local = None
            same_shape = np.shape(x) == np.shape(y)
            if same_shape and (np.ndim(x) == 0 or _is_elementwise(spec)):
                local = _copy(vjp(np.ones_like(y), y, xs, node.params, saved))
            expr = _local_expr(node.op, port, port_names, node.name, node.params,
                               spec.texts(node.params).derivative)
            prev = totals.get(j)
            totals[j] = prev + down if prev is not None else down  # the engine's order and op
            steps.append(_backward_step(len(steps), node.key, node.name, port, nodes[j].key,
                                        names[j], f, g, local, expr, down, totals[j], prev,
                                        _is_elementwise(spec)))
    return steps


def _backward_step(index: int, node_id: str, gate: str, port: str, input_id: str, inp: str,
                   f: str, g: np.ndarray, local: np.ndarray | None, expr: str,
                   down: np.ndarray, total: np.ndarray, prev: np.ndarray | None,
                   elementwise: bool) -> BackwardStep:
    head = f"∂{f}/∂{inp}"
    plus = f"{fmt_array(prev)} + " if prev is not None else ""
    if local is not None:
        local_text = f"∂{gate}/∂{inp} = {expr}"
        if expr.replace("−", "-") != fmt_array(local):
            local_text += f" = {fmt_array(local)}"
        product = f"{_operand(g)} · {_operand(local)}"
        symbolic = f"∂{f}/∂{gate} · ∂{gate}/∂{inp}"
    else:
        if elementwise:  # a broadcast input: the elementwise product summed back to its shape
            expr = "G summed over the broadcast axes" if expr == "1" else \
                f"G·({expr}) summed over the broadcast axes"
        local_text = expr
        symbolic = _UPSTREAM.sub(f"∂{f}/∂{gate}", expr)
        product = ""
    if prev is None:
        middle = f" = {product}" if product else ""
        text = f"{head} = {symbolic}{middle} = {fmt_array(down)}"
    else:
        middle = f" = {plus}{product}" if product else ""
        text = (f"{head} = {plus}{symbolic}{middle} = {plus}{_operand(down)} = "
                f"{fmt_array(total)}")
    return BackwardStep(index, node_id, gate, port, input_id, inp, _copy(g), local, local_text,
                        _copy(down), _copy(total), prev is not None, text)
