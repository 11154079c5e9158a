"""What the step-through shows for a position: the panel's text (plain and rich) and what goes
on the canvas (the values and gradients known so far, the gates and wires to highlight). Plain
functions over the traced steps; the panel only displays their results."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ...engine import Program
from ...engine.formatting import brief as fmt_array
from ...graph import GraphModel
from ...graph.explain import BackwardStep, ForwardStep

FORWARD_COLOUR = "#4caf50"
BACKWARD_COLOUR = "#e5534b"
MUTED = "#767e88"


class StepText(NamedTuple):
    status: str  # the short line beside the buttons
    plain: str  # everything, as plain text (tests, screen readers)
    rich: str  # the panel's rich text


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def outer_id(key: str) -> str:
    """The top-level document node of a program key (``"c/n2"`` → ``"c"``)."""
    return key.split("/", 1)[0]


def idle_text(forward: int | None, backward: int = 0) -> StepText:
    """Before the first step (``forward`` None: nothing traced yet)."""
    if forward is not None:
        status = f"Ready: {forward} forward step{'s' if forward != 1 else ''}, {backward} backward"
        plain = ("Press Step ▶ (or the Right arrow) to compute the first gate. The forward pass "
                 "computes each gate's output from its inputs; the backward pass then sends the "
                 "gradient from the output back to every input: downstream = upstream × local.")
    else:
        status = ""
        plain = ("Step through the forward and backward pass of this graph, one gate at a time. "
                 "Press Step ▶ (or the Right arrow) to begin.")
    return StepText(status, plain, f"<p style='font-size:14px; color:{MUTED}'>{_e(plain)}</p>")


def forward_text(step: ForwardStep, n: int) -> StepText:
    ins = ", ".join(f"{name} = {fmt_array(v)}" for _p, name, v in step.inputs)
    out = f"{step.name} = {fmt_array(step.value)}"
    head = f"Forward step {step.index + 1} of {n}: the {step.label} gate '{step.name}'"
    lines = [head, step.text, f"inputs: {ins}", f"output: {out}"]
    last = step.index == n - 1
    if last:
        lines.append("The forward pass is done. Step on to send the gradient back.")
    rich = (f"<div style='color:{FORWARD_COLOUR}; font-size:13px; font-weight:bold'>{_e(head)}"
            f"</div><div style='font-size:24px; margin:8px 0'>{_e(step.text)}</div>"
            f"<table style='font-size:15px' cellspacing='0' cellpadding='3'>"
            f"<tr><td style='color:{MUTED}'>inputs</td><td>{_e(ins)}</td></tr>"
            f"<tr><td style='color:{MUTED}'>output</td><td><b>{_e(out)}</b></td></tr></table>"
            + (f"<p style='font-size:13px'>{_e(lines[-1])}</p>" if last else ""))
    return StepText(f"Forward {step.index + 1} of {n}", "\n".join(lines), rich)


def backward_text(step: BackwardStep, n: int, output: str) -> StepText:
    """``output``: the name of the node the pass runs toward (f in ∂f/∂x)."""
    f = output
    status = f"Backward {step.index + 1} of {n}"
    if not step.port:
        head = f"Backward step 1 of {n}: the seed"
        note = (f"The gradient of the output with respect to itself is 1 (∂{f}/∂{f} = 1): "
                "backprop starts here and walks the gates in reverse.")
        rich = (f"<div style='color:{BACKWARD_COLOUR}; font-size:13px; font-weight:bold'>"
                f"{_e(head)}</div><div style='font-size:24px; margin:8px 0'>{_e(step.text)}</div>"
                f"<p style='font-size:14px'>{_e(note)}</p>")
        return StepText(status, f"{head}\n{step.text}\n{note}", rich)
    gate, inp = step.name, step.input_name
    head = (f"Backward step {step.index + 1} of {n}: gate '{gate}' sends the gradient to its "
            f"input '{inp}' (port {step.port})")
    up, down = fmt_array(step.upstream), fmt_array(step.downstream)
    if step.local is not None:
        local = fmt_array(step.local)
        rule = step.local_text.removesuffix(f" = {local}")  # "∂q/∂x = 1" → "∂q/∂x" and 1
    else:  # not elementwise: the rule is the product itself (G·Wᵀ ...)
        local, rule = "", f"∂{gate}/∂{inp}: {step.local_text}"
    rows = [("upstream", f"∂{f}/∂{gate}", up), ("× local", rule, local),
            ("= downstream", f"contribution to ∂{f}/∂{inp}", down)]
    lines = [head, step.text, *(f"{a}: {b} = {c}" if c and not b.endswith(f"= {c}")
                                else f"{a}: {b}" for a, b, c in rows)]
    extra = ""
    if step.accumulated:
        prev = np.asarray(step.total) - np.asarray(step.downstream)
        acc = (f"'{inp}' feeds several gates, so its gradient is a sum: ∂{f}/∂{inp} = "
               f"{fmt_array(prev)} + {fmt_array(step.downstream)} = {fmt_array(step.total)}")
        lines.append(acc)
        extra = f"<p style='font-size:15px'><b>Σ</b> {_e(acc)}</p>"
    else:
        lines.append(f"∂{f}/∂{inp} so far: {fmt_array(step.total)}")
    table = "".join(
        f"<tr><td style='color:{MUTED}'>{_e(a)}</td><td>{_e(b)}</td>"
        f"<td style='font-size:{15 if c.startswith('[') else 18}px'><b>{_e(c)}</b></td></tr>"
        for a, b, c in rows)
    rich = (f"<div style='color:{BACKWARD_COLOUR}; font-size:13px; font-weight:bold'>{_e(head)}"
            f"</div><div style='font-size:24px; margin:8px 0'>{_e(step.text)}</div>"
            f"<table style='font-size:15px' cellspacing='0' cellpadding='3'>{table}</table>"
            f"{extra}")
    return StepText(status, "\n".join(lines), rich)


# -- the canvas ---------------------------------------------------------------------------------
def wire_data(program: Program, model: GraphModel, forward: Sequence[ForwardStep],
              backward: Sequence[BackwardStep], position: int
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Values (and gradients) by top-level document node id, up to step ``position``."""
    nf = len(forward)
    done = {i for i, n in enumerate(program.nodes) if n.spec.is_source}
    for s in forward[:min(position, nf - 1) + 1]:
        done.add(program.index[s.node_id])
    totals: dict[int, np.ndarray] = {}
    if position >= nf:
        for b in backward[:position - nf + 1]:
            totals[program.index[b.input_id]] = b.total
    values: dict[str, np.ndarray] = {}
    grads: dict[str, np.ndarray] = {}
    for nid in model.nodes:
        i = program.index.get(nid)
        if i is None:
            continue
        value = program.values[i]
        if i in done and value is not None:
            values[nid] = np.asarray(value)
        if i in totals:
            grads[nid] = totals[i]
    return values, grads


def _edges_into(model: GraphModel, dst: str, src: str | None = None, port: str | None = None
                ) -> list[str]:
    return [e.id for e in model.edges.values()
            if e.dst == dst and (src is None or e.src == src) and (port is None or e.port == port)]


def highlight_for(model: GraphModel, step: ForwardStep | BackwardStep
                  ) -> tuple[list[str], list[str]]:
    """The gate that glows and the wires that light up for ``step``."""
    gate = outer_id(step.node_id)
    if isinstance(step, ForwardStep):
        return [gate], _edges_into(model, gate)
    if not step.port:  # the seed
        return [gate], []
    src = outer_id(step.input_id)
    if src == gate:  # a wire inside a composite: the composite glows
        return [gate], []
    inner = "/" in step.node_id
    return [gate], _edges_into(model, gate, src, None if inner else step.port)
