"""The gradient checker itself: its error measure, that it can fail, and that it leaves a program
as it found it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from playground.engine import OpSpec, Program, ProgramNode, get_op, register
from playground.engine import shapes as S
from playground.engine.gradcheck import (
    GRADCHECK_TOLERANCE,
    GradcheckError,
    check_program,
    max_error,
    numeric_vjp_check,
    rel_error,
)
from playground.engine.registry import unregister


def test_rel_error_is_elementwise_max_with_a_floor() -> None:
    assert rel_error(2.0, 2.0) == 0.0
    assert rel_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)
    assert rel_error(-3.0, 3.0) == pytest.approx(2.0)
    # the worst element counts, not the average
    assert rel_error([1.0, 100.0, 5.0], [1.0, 100.0, 5.5]) == pytest.approx(0.5 / 5.5)
    # below the floor of 1e-8 the difference counts as absolute: 1e-15 noise on 0 passes
    assert rel_error(0.0, 1e-15) == pytest.approx(1e-7)
    assert rel_error(1e-12, 2e-12) == pytest.approx(1e-4)
    assert rel_error(np.zeros((2, 3)), np.zeros((2, 3))) == 0.0
    assert rel_error(np.array(4.0), 4.0) == 0.0
    assert rel_error(np.empty((0, 3)), np.empty((0, 3))) == 0.0


def test_rel_error_fails_loudly() -> None:
    assert rel_error([1.0, np.nan], [1.0, 1.0]) == np.inf
    assert rel_error([np.inf], [np.inf]) == np.inf
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(1, 3\) differ"):
        rel_error(np.ones(3), np.ones((1, 3)))


@pytest.fixture
def bad_square() -> Iterator[OpSpec]:
    # wrong on purpose: ∂x²/∂x = 2x, this says 3x
    spec = register(OpSpec("bad_square", ("x",), lambda xs, p: xs[0] ** 2,
                           (lambda g, y, xs, p, s: 3.0 * g * xs[0],), S.same, test_only=True))
    try:
        yield spec
    finally:
        unregister("bad_square")


@pytest.fixture
def unbroadcast_forgotten() -> Iterator[OpSpec]:
    # wrong on purpose: the gradient of b is not summed back to b's shape
    spec = register(OpSpec("bad_add", ("a", "b"), lambda xs, p: xs[0] + xs[1],
                           (lambda g, y, xs, p, s: g, lambda g, y, xs, p, s: g),
                           S.elementwise, test_only=True))
    try:
        yield spec
    finally:
        unregister("bad_add")


def test_a_vjp_of_the_wrong_shape_is_named(unbroadcast_forgotten: OpSpec) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(GradcheckError, match=r"'bad_add': vjp of input 'b' returned shape "
                                             r"\(3, 4\), the input has shape \(4,\)"):
        numeric_vjp_check(unbroadcast_forgotten, [np.ones((3, 4)), np.ones(4)], {}, rng)
    prog = Program([node("x", "input", shape=[None, 4]), node("b", "parameter", shape=[4]),
                    node("y", "bad_add", (0, 1)), node("L", "sum", (2,))], output=3)
    with pytest.raises(GradcheckError, match=r"gradient of 'b' has shape \(3, 4\), "
                                             r"its value has shape \(4,\)"):
        check_program(prog, {"x": np.ones((3, 4))})


def node(key: str, op: str, inputs: tuple[int, ...] = (), **params: Any) -> ProgramNode:
    return ProgramNode(key, key, op, get_op(op).resolve_params(params), list(inputs))


def mlp(square: str = "tanh") -> Program:
    return Program([
        node("x", "input", shape=[None, 3]),
        node("W1", "parameter", shape=[3, 4]),
        node("b1", "parameter", shape=[4], init="normal", std=0.5),
        node("h", "dense", (0, 1, 2)),
        node("a", square, (3,)),
        node("W2", "parameter", shape=[4, 2]),
        node("b2", "parameter", shape=[2], value=[0.1, -0.2]),
        node("logits", "dense", (4, 5, 6)),
        node("labels", "input", shape=[None]),
        node("loss", "softmax_cross_entropy", (7, 8)),
        node("unused", "exp", (0,)),  # not on the way to the output: checked with a random g
    ], output=9)


FEEDS = {"x": np.random.default_rng(5).standard_normal((6, 3)), "labels": [0, 1, 1, 0, 1, 0]}


def test_check_program_catches_a_wrong_vjp_in_a_program(bad_square: OpSpec) -> None:
    errors = check_program(mlp(square="bad_square"), FEEDS)
    assert errors["a"] == pytest.approx(1 / 3, rel=1e-4)  # the gate itself, locally
    for upstream in ("x", "W1", "b1"):  # and every source whose gradient flows through it
        assert errors[upstream] > 0.01, upstream
    # every other gate is right locally, even the dense whose upstream gradient is wrong
    for fine in ("h", "W2", "b2", "logits", "loss", "unused"):
        assert errors[fine] < GRADCHECK_TOLERANCE, fine
    assert max_error(errors)[1] > 0.3


def test_check_program_leaves_the_program_as_after_one_pass() -> None:
    prog = mlp()
    x = FEEDS["x"].copy()
    prog.run({**FEEDS, "x": x})
    params = prog.param_arrays(trainable_only=False)
    before = {k: v.copy() for k, v in params.items()}
    values = [None if v is None else np.array(v) for v in prog.values]
    grads = [None if g is None else np.array(g) for g in prog.grads]

    errors = check_program(prog)
    assert max_error(errors)[1] < GRADCHECK_TOLERANCE, errors
    assert "unused" in errors
    assert prog.grad("labels") is None and errors["labels"] == 0.0  # no gradient, and none due

    np.testing.assert_array_equal(x, FEEDS["x"])  # the fed array was never written to
    for name, arr in prog.param_arrays(trainable_only=False).items():
        assert arr is params[name], f"{name} was replaced (an optimizer holds that array)"
        np.testing.assert_array_equal(arr, before[name])
    for n, v, g, v0, g0 in zip(prog.nodes, prog.values, prog.grads, values, grads, strict=True):
        np.testing.assert_array_equal(v, v0, err_msg=f"value of {n.name}")
        assert (g is None) == (g0 is None), n.name
        if g is not None:
            np.testing.assert_array_equal(g, g0, err_msg=f"gradient of {n.name}")


def test_fourth_order_and_sampling() -> None:
    prog = Program([
        node("x", "input", shape=[None, 30]),
        node("W", "parameter", shape=[30, 40], init="normal", std=0.2),
        node("y", "matmul", (0, 1)),
        node("s", "sigmoid", (2,)),
        node("L", "mean", (3,)),
    ], output=4)
    x = np.random.default_rng(1).standard_normal((5, 30))
    errors = check_program(prog, {"x": x}, eps=1e-3, order=4, max_elements=25)
    assert max_error(errors)[1] < 1e-8, errors
    with pytest.raises(ValueError, match="order must be 2 or 4"):
        check_program(prog, order=3)


def test_check_program_sums_a_non_scalar_output_and_runs_in_float32() -> None:
    nodes = [node("x", "input", shape=[None, 3]), node("W", "parameter", shape=[3, 2]),
             node("y", "matmul", (0, 1)), node("a", "tanh", (2,))]
    x = np.random.default_rng(3).standard_normal((4, 3))
    errors = check_program(Program(nodes, output=3), {"x": x})
    assert set(errors) == {"x", "W", "y", "a"}
    assert max_error(errors)[1] < GRADCHECK_TOLERANCE, errors
    # float32 cannot resolve eps = 1e-6 (see the module docstring), but the check runs, keeps
    # the dtype, and a step it can resolve gives a loose agreement
    prog32 = Program(nodes, output=3, dtype=np.float32)
    errors32 = check_program(prog32, {"x": x}, eps=1e-2, order=4)
    assert max_error(errors32)[1] < 1e-2, errors32
    assert prog32.value("W").dtype == np.float32 and prog32.grad("W").dtype == np.float32
