"""Which parameters make one layer, read from the compiled program (no Qt).

A student reads gradients per layer ("is layer 1 learning as fast as layer 3?"), not per tensor:
W1 and b1 of the dense gate z1 are one layer. :func:`param_groups` finds the layers of any
graph: each trainable parameter belongs to the gate that consumes it first (``dense`` takes W and
b at once); a gate that adds a parameter to the output of another parameter's gate (a bias added
after a ``matmul``, the primitive form of a dense layer) joins that gate's layer. Graphs that are
not layered (a neuron built from ``mul`` gates) get one group per consuming gate.

:func:`group_norms` combines per-tensor gradient norms into one norm per layer (the norm of all of
the layer's gradients as one vector: the square root of the sum of the squared tensor norms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ...engine import Program

__all__ = ["ParamGroup", "group_columns", "group_norms", "param_groups", "per_tensor_groups"]

# gates that add a parameter to a layer's output: the bias of a matmul-then-add layer
_BIAS_OPS = frozenset({"add", "sub"})


@dataclass(frozen=True)
class ParamGroup:
    """One layer: its output gate ``node`` (``z1``), its parameters (``W1``, ``b1``) and the
    largest of them (``weight``: the weight matrix, whose update/weight ratio stands for the
    layer's; a bias starts at zero, so its own ratio starts infinite)."""

    label: str  # "layer 1 (z1)"
    node: str
    params: tuple[str, ...]
    weight: str

    @property
    def detail(self) -> str:
        """``z1: W1, b1`` (for tooltips and the per-tensor view)."""
        return f"{self.node}: {', '.join(self.params)}"


def param_groups(program: Program) -> tuple[ParamGroup, ...]:
    """The layers of ``program``, in the order their gates run (see the module's doc)."""
    nodes = program.nodes
    first_consumer: dict[int, int] = {}
    for j, node in enumerate(nodes):
        for i in node.inputs:
            first_consumer.setdefault(i, j)
    root: dict[int, int] = {}  # consuming gate → the gate that heads its layer

    def head(j: int) -> int:
        while root.get(j, j) != j:
            j = root[j]
        return j

    members: dict[int, list[int]] = {}
    for p in program.trainable:
        gate = first_consumer.get(p, p)  # a parameter nothing reads is a group by itself
        members.setdefault(gate, []).append(p)
        root.setdefault(gate, gate)
    for gate in sorted(members):
        node = nodes[gate]
        if node.op in _BIAS_OPS:
            others = [i for i in node.inputs if i in root and i != gate]
            if others:
                root[gate] = head(others[0])
    layers: dict[int, list[int]] = {}
    last: dict[int, int] = {}
    for gate in sorted(members):
        h = head(gate)
        layers.setdefault(h, []).extend(members[gate])
        last[h] = max(last.get(h, gate), gate)
    out = []
    for k, h in enumerate(sorted(layers), start=1):
        params = layers[h]
        out_node = nodes[last[h]].name if last[h] not in params else nodes[params[0]].name
        weight = max(params, key=lambda i: (_size(program, i), -params.index(i)))
        out.append(ParamGroup(f"layer {k} ({out_node})", out_node,
                              tuple(nodes[i].name for i in params), nodes[weight].name))
    return tuple(out)


def _size(program: Program, i: int) -> int:
    value = program.values[i]
    if value is not None:
        return int(np.size(value))
    return int(np.prod([d or 1 for d in program.nodes[i].shape]))


def per_tensor_groups(names: Sequence[str]) -> tuple[ParamGroup, ...]:
    """One group per parameter (the per-tensor view, or a graph whose layers are unknown)."""
    return tuple(ParamGroup(name, name, (name,), name) for name in names)


def group_norms(norms: Mapping[str, np.ndarray], group: ParamGroup) -> np.ndarray:
    """The norm of the whole layer's gradient per row: sqrt(Σ‖g_i‖²) over its tensors (NaN where
    any of them has no value, so a gap stays a gap)."""
    cols = [np.asarray(norms[name], dtype=np.float64) for name in group.params if name in norms]
    if not cols:
        return np.zeros(0)
    n = min(c.shape[0] for c in cols)
    total = np.zeros(n)
    for c in cols:
        total += np.square(c[:n])
    return np.sqrt(total)


def group_columns(columns: Mapping[str, np.ndarray], groups: Sequence[ParamGroup],
                  kind: str) -> dict[str, np.ndarray]:
    """Per-layer columns from per-tensor ones: ``kind`` 'norm' combines the gradient norms
    (:func:`group_norms`); 'weight' takes the column of the layer's weight tensor (the
    update/weight ratio of its weight matrix). Groups with no column are left out."""
    out: dict[str, np.ndarray] = {}
    for g in groups:
        if kind == "norm":
            values = group_norms(columns, g)
            if values.shape[0] or any(name in columns for name in g.params):
                out[g.label] = values
        elif g.weight in columns:
            out[g.label] = np.asarray(columns[g.weight], dtype=np.float64)
    return out
