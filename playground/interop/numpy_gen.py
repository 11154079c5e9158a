"""Turn a compiled program into NumPy lines, gate by gate: the forward lines in the engine's order
and the backward lines in reverse, each ``d_input = upstream × local`` with the local derivative
from the registry as a comment, and ``d_x = d_x + …`` where a value feeds several gates.
The script and the notebook exporters arrange these lines; this module only writes them."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engine import Program, ProgramNode
from ..engine.registry import OpSpec, Shape
from .common import ancestors, python_names, unsupported
from .numpy_ops import NUMPY_OPS, NumpyOp

RESERVED = frozenset({"np", "p", "v", "data", "DTYPE", "math", "json", "argparse", "Path",
                      "forward", "backward", "predict", "train", "evaluate", "main", "Optimizer",
                      "load_arrays", "softmax", "log_softmax", "sigmoid", "one_hot", "clip_prob",
                      "softmax_cross_entropy", "targets", "one_pass", "ARRAYS", "EPOCHS",
                      "BATCH_SIZE", "LR", "L2", "MOMENTUM", "SEED", "STANDARDIZE", "N_CLASSES",
                      "THRESHOLD", "PARTS", "FULL_BATCH", "FROZEN", "DERIVED_FEATURES",
                      "load_data", "batches", "prepare_inputs", "derive_features"}
                     | set(dir(builtins)))


@dataclass
class Gate:
    """The lines of one gate: ``lines`` (forward or backward) and what a reader is told."""

    index: int
    name: str
    var: str
    spec: OpSpec
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # backward: per input, its local derivative


def local_text(spec: OpSpec, port: str, params: Mapping[str, Any] | None = None) -> str:
    """The registry's local derivative for ``port`` (of the variant ``params`` choose, e.g. a
    loss's reduction): the ``∂/∂port = …`` part when the text has one per input
    (``∂/∂x = G·Wᵀ, ∂/∂W = xᵀ·G``), else the whole text."""
    derivative = spec.texts(params).derivative
    for part in (s.strip() for s in derivative.split(",")):
        head, _, tail = part.partition("=")
        if head.strip().lower() == f"∂/∂{port}".lower():
            return tail.strip()
    return derivative


def seeded_text(spec: OpSpec, port: str, params: Mapping[str, Any],
                names: Mapping[str, str]) -> tuple[str, str] | None:
    """For the gate where the chain rule starts (upstream 1): the registry's expression and
    ``port``'s local derivative written with the names of the nodes feeding it
    (``½·Σ(output − y)²``, ``(output − y)``), or None when the registry has no such text."""
    texts = spec.texts(params)
    if not texts.expr or port not in texts.local:
        return None
    try:  # G, the upstream gradient, is 1 here
        return texts.expr.format(**names), texts.local[port].format(**names).replace("·G", "")
    except (KeyError, IndexError, ValueError):  # a template this module cannot fill
        return None


def _fill(template: Any, params: Mapping[str, Any]) -> str:
    return template(params) if callable(template) else str(template)


def _is_name(expr: str) -> bool:
    return expr.replace("_", "a").isalnum()


def sum_back(expr: str, have: Shape, want: Shape) -> tuple[str, str]:
    """``expr`` (shaped like ``have``) summed back to ``want`` over the broadcast axes, and a note
    saying so; the static counterpart of the engine's ``unbroadcast``."""
    if tuple(have) == tuple(want):
        return expr, ""
    extra = len(have) - len(want)
    base = expr if _is_name(expr) else f"({expr})"
    if extra > 0:
        axes = tuple(range(extra))
        base = f"{base}.sum(axis={axes[0] if extra == 1 else axes})"
    keep = tuple(k for k, d in enumerate(want) if d == 1 and have[k + extra] != 1)
    if keep:
        base = f"{base}.sum(axis={keep[0] if len(keep) == 1 else keep}, keepdims=True)"
    if want == () and extra == 0:
        base = f"{base}.sum()"
    return base, "summed over the axes it was broadcast along"


class Generator:
    """NumPy lines for ``program``; ``trainable_only`` as in training (only the gradients that
    reach trainable parameters), else every input's and parameter's gradient (one pass)."""

    def __init__(self, program: Program, trainable_only: bool) -> None:
        self.program = program
        self.names = python_names(program, RESERVED)
        self.trainable_only = trainable_only
        for node in program.nodes:
            if not node.spec.is_source and node.op not in NUMPY_OPS:
                raise unsupported(node, "NumPy")

    def params_of(self, node: ProgramNode) -> dict[str, Any]:
        p = dict(node.params)
        if node.op == "softmax_cross_entropy":
            p["_target_rank"] = len(self.program.nodes[node.inputs[1]].shape)
        return p

    def _subst(self, node: ProgramNode, template: Any, g: str = "") -> str:
        text = _fill(template, self.params_of(node))
        ports = {port: self.names[j] for port, j in zip(node.spec.inputs, node.inputs, strict=True)}
        return text.format(g=g, y=self.names[self.program.index[node.key]], **ports)

    def helpers(self) -> list[str]:
        seen: list[str] = []
        for node in self.program.nodes:
            for h in NUMPY_OPS[node.op].helpers if node.op in NUMPY_OPS else ():
                if h not in seen:
                    seen.append(h)
        return seen

    def forward_gates(self, targets: list[int]) -> list[Gate]:
        """The gates ``targets`` depend on, in the engine's order."""
        need = ancestors(self.program, targets)
        gates = []
        for i, node in enumerate(self.program.nodes):
            if not need[i] or node.spec.is_source:
                continue
            expr = self._subst(node, NUMPY_OPS[node.op].forward)
            what = node.spec.texts(node.params).formula or node.spec.label
            gate = Gate(i, node.name, self.names[i], node.spec,
                        [f"{self.names[i]} = {expr}  # {node.op}: {what}"])
            gates.append(gate)
        return gates

    def needs_grad(self) -> list[bool]:
        """Which nodes need a gradient (the engine's ``_backward_plan``)."""
        nodes = self.program.nodes
        needs = [False] * len(nodes)
        for i, node in enumerate(nodes):
            role = node.spec.role
            if role == "parameter":
                needs[i] = not self.trainable_only or bool(node.params.get("trainable", True))
            elif role == "input":
                needs[i] = not self.trainable_only
            elif role != "constant":
                needs[i] = any(needs[j] for j in node.inputs)
        return needs

    def backward_gates(self) -> tuple[list[Gate], list[int]]:
        """The backward lines, gate by gate from the output, and the nodes given a gradient."""
        prog = self.program
        out = prog.output
        needs = self.needs_grad()
        reach = ancestors(prog, [out])
        has = {out}
        gates: list[Gate] = []
        for i in range(out, -1, -1):
            node = prog.nodes[i]
            if not reach[i] or node.spec.is_source or not needs[i] or i not in has:
                continue
            op: NumpyOp = NUMPY_OPS[node.op]
            gate = Gate(i, node.name, self.names[i], node.spec)
            upstream = f"d_{self.names[i]}"
            seeded = i == out and bool(op.seeded)  # the chain rule starts here: upstream 1
            names = {port: prog.nodes[j].name for port, j in zip(node.spec.inputs, node.inputs,
                                                                  strict=True)}
            templates = op.seeded if seeded else op.backward
            for port, j, template in zip(node.spec.inputs, node.inputs, templates, strict=True):
                if template is None or not needs[j]:
                    continue
                expr = self._subst(node, template, upstream)
                note = ""
                if port in op.sum_back:
                    expr, note = sum_back(expr, node.shape, prog.nodes[j].shape)
                local = local_text(node.spec, port, node.params)
                target = f"d_{self.names[j]}"
                comment = f"  # upstream × local ({local})" + (f", {note}" if note else "")
                texts = seeded_text(node.spec, port, node.params, names) if seeded else None
                if texts is not None:
                    local = texts[1]
                    comment = f"  # {node.name} = {texts[0]}: ∂{node.name}/∂{names[port]} = {local}"
                if j in has:  # never in place: the first contribution may be another's array
                    gate.lines.append(f"{target} = {target} + {expr}{comment}; "
                                      f"{prog.nodes[j].name} feeds several gates: add up")
                else:
                    gate.lines.append(f"{target} = {expr}{comment}")
                gate.notes.append(f"∂{node.name}/∂{prog.nodes[j].name} = {local}")
                has.add(j)
            if gate.lines:
                gates.append(gate)
        return gates, sorted(has)
