"""The Math card reads everything it writes from the op registry: every op renders its formula
with names and numbers and one local derivative per input, with no fallback text."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import get_op, ops
from playground.graph import GraphModel
from playground.graph.explain import local_derivative
from playground.ui.explain.mathcard import val
from playground.ui.document import Document
from tests.ui.helpers import select

RNG = np.random.default_rng(0)
MATRIX = {"a": (2, 3), "b": (3, 2)}


def _inputs(op: str) -> dict[str, np.ndarray]:
    """Values each input of ``op`` can take (positive where a log or a root needs it)."""
    spec = get_op(op)
    if op in ("matmul",):
        return {p: RNG.uniform(0.5, 1.5, MATRIX[p]) for p in spec.inputs}
    if op == "dense":
        return {"x": RNG.uniform(0.5, 1.5, (2, 3)), "W": RNG.uniform(0.5, 1.5, (3, 2)),
                "b": RNG.uniform(0.5, 1.5, (2,))}
    if op in ("softmax", "log_softmax", "transpose", "sum", "mean"):
        return {"x": RNG.uniform(0.5, 1.5, (2, 3))}
    if op == "softmax_cross_entropy":
        return {"logits": RNG.normal(size=(2, 3)), "target": np.array([0.0, 2.0])}
    if op == "binary_cross_entropy":
        return {"pred": np.array([[0.3], [0.8]]), "target": np.array([[0.0], [1.0]])}
    if op == "mse":
        return {"pred": np.array([[0.5], [1.5]]), "target": np.array([[1.0], [1.0]])}
    return {p: np.array(0.7 + 0.6 * k) for k, p in enumerate(spec.inputs)}  # scalars


@pytest.mark.parametrize("op", [s.name for s in ops() if not s.is_source])
def test_the_math_card_of_every_op_comes_from_the_registry(window, op):
    spec = get_op(op)
    model = GraphModel()
    values = _inputs(op)
    ids = {}
    for k, (port, value) in enumerate(values.items()):
        shape = list(np.shape(value))
        ids[port] = model.add_node("input", f"i{k}", {"shape": shape, "value": value.tolist()},
                                   (0, 100 * k)).id
    gate = model.add_node(op, "g", {}, (300, 0)).id
    for port in spec.inputs:
        model.connect(ids[port], gate, port)
    window.session.set_root(Document(model))
    select(window, "g")
    text = window.math_card.text()
    lines = text.splitlines()
    assert lines[1].startswith("g = ") and lines[1].count("=") >= 2, text  # formula = value
    params = model.nodes[gate].params
    for k, port in enumerate(spec.inputs):
        line = next(ln for ln in lines if ln.startswith(f"∂g/∂i{k}"))
        assert "see the op" not in line and line.startswith(f"∂g/∂i{k} = "), text
        local = local_derivative(op, port, [values[p] for p in spec.inputs], params)
        if local is not None:  # elementwise: the engine's value ends the line
            assert line.endswith(f"= {val(local)}"), line
