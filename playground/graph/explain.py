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
from ..engine.formatting import brief, number, operand, render

__all__ = ["BackwardStep", "ForwardStep", "fmt_array", "fmt_number", "local_derivative",
           "trace"]


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


# -- texts ------------------------------------------------------------------------------------
# numbers as everywhere else (engine/formatting.py); the templates are the registry's
fmt_number = number
fmt_array = brief
_operand = operand
_UPSTREAM = re.compile(r"(?<![\w∂/])G(?![\w])")  # the upstream gradient in derivative texts
_ARG_PARENS = re.compile(r"([(,] ?)\((-[^()]*)\)")  # a negative argument needs no parentheses


def _forward_expr(op: str, names: Mapping[str, str], params: Mapping[str, Any]) -> str | None:
    """The gate's formula with ``names`` (per port) filled in; None when the op has none."""
    expr = get_op(op).texts(params).expr
    return render(expr, names, params) if expr else None


def _local_expr(op: str, port: str, names: Mapping[str, str], out: str,
                params: Mapping[str, Any], fallback: str) -> str:
    template = get_op(op).texts(params).local.get(port)
    if template is None:
        return fallback or "the op's vjp"
    return render(template, {**names, "out": out}, params)


def local_derivative(op: str, port: str, xs: Sequence[Any], params: Mapping[str, Any]
                     ) -> np.ndarray | None:
    """∂(output)/∂(input ``port``) elementwise at the inputs ``xs``: the op's own vjp of ones
    (the engine's numbers); None when the derivative is not elementwise (a matmul's, say) or
    the input takes no gradient."""
    spec = get_op(op)
    arrays = [np.asarray(x, dtype=np.float64) for x in xs]
    p = spec.resolve_params(params)
    if spec.forward is None:  # a source: no local derivative
        return None
    out = spec.forward(arrays, p)
    y, saved = out if spec.saves else (out, None)
    k = spec.inputs.index(port)
    vjp = spec.vjps_for([np.shape(x) for x in arrays])[k]
    x = arrays[k]
    if vjp is None or np.shape(x) != np.shape(y) or not (np.ndim(x) == 0
                                                       or _is_elementwise(spec)):
        return None
    return _copy(vjp(np.ones_like(y), y, arrays, p, saved))


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
        # arrays multiply element by element (⊙): each gradient times its own local derivative
        # (the summaries' means do not multiply: the mean of a product is not the product of
        # the means); a plain · between numbers
        times = "⊙" if np.ndim(g) or np.ndim(local) else "·"
        product = f"{_operand(g)} {times} {_operand(local)}"
        symbolic = f"∂{f}/∂{gate} {times} ∂{gate}/∂{inp}"
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
