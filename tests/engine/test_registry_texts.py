"""The registry is the only place that knows an op: every op carries the expression and the
local derivative per input that the step-through and the Math card write; fused gates carry the
primitive form Expand builds; the builders' activation and loss lists are read from it."""

from __future__ import annotations

import pytest

from playground.engine import get_op, ops
from playground.engine.formatting import render
from playground.engine.registry import activations, losses
from playground.graph.edit import ACTIVATIONS, LOSSES


@pytest.mark.parametrize("spec", [s for s in ops() if not s.is_source], ids=lambda s: s.name)
def test_every_op_has_an_expression_and_a_local_derivative_per_input(spec):
    variants = list(spec.variants.values()) or [spec.texts({})]
    for texts in variants:
        assert texts.expr and set(texts.local) == set(spec.inputs), spec.name
        names = {p: f"n{k}" for k, p in enumerate(spec.inputs)}
        written = render(texts.expr, names, spec.defaults())
        assert "{" not in written and all(n in written for n in names.values()), written
        for rule in texts.local.values():
            assert "{" not in render(rule, {**names, "out": "y"}, spec.defaults()), rule


@pytest.mark.parametrize("spec", [s for s in ops() if s.fused_of], ids=lambda s: s.name)
def test_a_fused_gate_carries_the_primitive_form_it_fuses(spec):
    form = spec.extra["expansion"]
    assert tuple(op for op, _params, _name in form["gates"]) == spec.fused_of
    ports = {port for port in form["inputs"].values()}
    assert ports == set(spec.inputs)
    for k, port in form["inputs"]:
        assert port in get_op(form["gates"][k][0]).inputs


def test_builders_read_activations_and_losses_from_the_registry():
    assert set(ACTIVATIONS) == set(activations()) == {"relu", "leaky_relu", "tanh", "sigmoid"}
    assert set(LOSSES) - {"none"} == {s.name for s in ops() if s.role == "loss"}
    assert set(losses("classification")) == {"softmax_cross_entropy", "binary_cross_entropy"}
