"""Ops and programs at their edges: 0-d parameters, biases that enlarge the output, targets the
graph computes, labels that are not whole numbers, and a gradient check that misses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from playground.engine import OpSpec, Program, ProgramNode, ShapeError, get_op, register
from playground.engine.gradcheck import GRADCHECK_TOLERANCE, check_program
from playground.engine.registry import unregister


def node(key: str, op: str, inputs: tuple[int, ...] = (), **params: Any) -> ProgramNode:
    return ProgramNode(key, key, op, get_op(op).resolve_params(params), list(inputs))


@pytest.mark.parametrize("params", [{"init": "glorot_uniform"}, {"init": "zeros"},
                                    {"value": 0.25}, {"init": "normal", "std": 2.0}])
def test_a_0d_parameter_stays_0d_and_serves_as_a_target(params: dict[str, Any]) -> None:
    prog = Program([node("p", "input", shape=[], value=1.5),
                    node("w", "parameter", shape=[], **params),
                    node("L", "mse", (0, 1))], output=2)
    for seed in (0, 1):
        prog.init_params(seed)
        assert prog.value("w").shape == ()
    w = float(prog.value("w"))
    assert prog.run() == pytest.approx((1.5 - w) ** 2)
    assert prog.grad("w").shape == () and prog.grad("p").shape == ()
    assert float(prog.grad("w")) == pytest.approx(-2 * (1.5 - w))
    errors = check_program(prog)
    assert set(errors) == {"p", "w", "L"} and max(errors.values()) < GRADCHECK_TOLERANCE


def test_a_0d_parameter_takes_a_0d_value_from_set_params() -> None:
    prog = Program([node("w", "parameter", shape=[]), node("L", "exp", (0,))], output=1)
    prog.set_params({"w": np.float64(0.5)})
    assert prog.value("w").shape == () and prog.run() == pytest.approx(np.exp(0.5))


@pytest.mark.parametrize(("x", "W", "b"), [((1, 2), (2, 3), (4, 3)), ((3, 2), (2, 4), (2, 3, 4)),
                                          ((1, 1), (1, 1), (5, 1, 1))])
def test_dense_with_a_bias_that_enlarges_the_output(x: tuple[int, ...], W: tuple[int, ...],
                                                    b: tuple[int, ...]) -> None:
    prog = Program([node("x", "input", shape=list(x)), node("W", "parameter", shape=list(W)),
                    node("b", "parameter", shape=list(b), init="normal", std=1.0),
                    node("y", "dense", (0, 1, 2)), node("L", "sum", (3,))], output=4)
    rng = np.random.default_rng(3)
    xv = rng.standard_normal(x)
    prog.run({"x": xv})
    # the same network built from its primitive gates, by hand
    Wv, bv = prog.value("W"), prog.value("b")
    expect = xv @ Wv + bv
    np.testing.assert_allclose(prog.value("y"), expect)
    reps = np.prod(expect.shape) // (x[0] * W[1])  # how often each x·W element is counted
    np.testing.assert_allclose(prog.grad("x"), reps * np.ones((x[0], W[1])) @ Wv.T)
    np.testing.assert_allclose(prog.grad("W"), reps * xv.T @ np.ones((x[0], W[1])))
    for name, shape in (("x", x), ("W", W), ("b", b)):
        assert prog.grad(name).shape == shape, name
    errors = check_program(prog, {"x": xv})
    assert max(errors.values()) < GRADCHECK_TOLERANCE, errors


def soft_target_program(op: str = "softmax_cross_entropy") -> Program:
    # loss = CE(logits, softmax(s)): the target is computed by the graph
    return Program([node("logits", "input", shape=[None, 3]), node("s", "input", shape=[None, 3]),
                    node("t", "softmax", (1,)), node("L", op, (0, 2))], output=3)


def test_a_target_computed_by_the_graph_gets_its_gradient() -> None:
    rng = np.random.default_rng(0)
    feeds = {"logits": rng.standard_normal((4, 3)), "s": rng.standard_normal((4, 3))}
    prog = soft_target_program()
    prog.run(feeds)
    assert prog.grad("s") is not None and prog.grad("s").shape == (4, 3)
    errors = check_program(prog, feeds)
    assert set(errors) == {"logits", "s", "t", "L"}
    assert max(errors.values()) < GRADCHECK_TOLERANCE, errors


@pytest.fixture
def ce_without_target_grad() -> Iterator[OpSpec]:
    ce = get_op("softmax_cross_entropy")
    spec = register(OpSpec("ce_no_target", ce.inputs, ce.forward, (ce.vjps[0], None), ce.shape,
                           params=ce.params, saves=True, role="loss", test_only=True))
    try:
        yield spec
    finally:
        unregister("ce_no_target")


def test_check_notices_an_input_that_gets_no_gradient(ce_without_target_grad: OpSpec) -> None:
    rng = np.random.default_rng(1)
    feeds = {"logits": rng.standard_normal((4, 3)), "s": rng.standard_normal((4, 3))}
    prog = soft_target_program("ce_no_target")
    errors = check_program(prog, feeds)
    assert prog.grad("s") is None
    assert errors["s"] >= 0.5  # the output depends on s, yet no gradient reached it
    assert errors["L"] >= 0.5  # the gate that dropped it is named too
    assert errors["logits"] < GRADCHECK_TOLERANCE and errors["t"] < GRADCHECK_TOLERANCE


def test_soft_targets_that_do_not_sum_to_one() -> None:
    rng = np.random.default_rng(2)
    logits, t = rng.standard_normal((5, 3)), rng.uniform(0, 2, (5, 3))
    prog = Program([node("z", "input", shape=[None, 3]), node("t", "input", shape=[None, 3]),
                    node("L", "softmax_cross_entropy", (0, 1))], output=2)
    prog.run({"z": logits, "t": t})
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert float(prog.value("L")) == pytest.approx(-(t * logp).sum() / 5)
    p = np.exp(logp)
    np.testing.assert_allclose(prog.grad("z"), (p * t.sum(axis=1, keepdims=True) - t) / 5)
    np.testing.assert_allclose(prog.grad("t"), -logp / 5)


@pytest.mark.parametrize(("labels", "message"), [
    ([0.0, 1.5], r"class label 1\.5 is not a whole number"),
    ([0.0, 3.0], r"class label 3 is outside 0\.\.2: the logits have 3 columns"),
    ([-1.0, 0.0], r"class label -1 is outside 0\.\.2"),
])
def test_class_labels_must_be_whole_numbers_in_range(labels: list[float], message: str) -> None:
    prog = Program([node("z", "input", shape=[None, 3]), node("y", "input", shape=[None]),
                    node("L", "softmax_cross_entropy", (0, 1))], output=2)
    with pytest.raises(ShapeError, match=message):
        prog.run({"z": np.zeros((2, 3)), "y": labels})


def test_labels_a_rounding_step_off_a_whole_number_count_as_that_class() -> None:
    prog = Program([node("z", "input", shape=[None, 3]), node("y", "input", shape=[None]),
                    node("L", "softmax_cross_entropy", (0, 1))], output=2)
    z = np.array([[1.0, 2.0, 3.0]])
    exact = prog.run({"z": z, "y": [2.0]})
    assert prog.run({"z": z, "y": [2.0 - 1e-9]}) == exact == prog.run({"z": z, "y": [2 + 1e-9]})


@pytest.mark.parametrize("x", [2.0**63, -1e200, 1e-300])
def test_check_takes_a_step_that_is_not_lost_in_rounding(x: float) -> None:
    # x · w with x = 2**63: a step of 1e-6 on x is lost entirely (x + 1e-6 == x)
    prog = Program([node("x", "input", shape=[], value=x), node("w", "input", shape=[],
                                                                 value=0.5),
                    node("f", "mul", (0, 1))], output=2)
    errors = check_program(prog)
    assert set(errors) == {"x", "w", "f"}
    assert errors["x"] < GRADCHECK_TOLERANCE and errors["f"] < GRADCHECK_TOLERANCE


def test_check_reports_a_non_finite_value_as_an_infinite_error() -> None:
    prog = Program([node("x", "input", shape=[], value=1.0), node("f", "exp", (0,))], output=1)
    errors = check_program(prog, {"x": np.inf})
    assert errors["x"] == np.inf
