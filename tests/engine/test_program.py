"""Compiled programs built directly from ProgramNodes: forward, backward, feeds, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from playground.engine import (
    FeedError,
    NonFiniteError,
    Program,
    ProgramNode,
    ShapeError,
    get_op,
    infer_shapes,
)
from playground.engine.gradcheck import GRADCHECK_TOLERANCE, check_program


def node(key: str, op: str, inputs: tuple[int, ...] = (), **params: Any) -> ProgramNode:
    """A ProgramNode named ``key`` with its params resolved as the graph layer does."""
    return ProgramNode(key, key, op, get_op(op).resolve_params(params), list(inputs))


def squared_sum() -> Program:
    # f = (x + y)²
    return Program([
        node("x", "input", shape=[]),
        node("y", "input", shape=[]),
        node("s", "add", (0, 1)),
        node("f", "pow", (2,), exponent=2.0),
    ], output=3)


def test_squared_sum_value_and_gradients() -> None:
    prog = squared_sum()
    assert prog.run({"x": 1.0, "y": 2.0}) == 9.0
    assert prog.grad("x") == 6.0  # ∂f/∂x = 2(x + y)
    assert prog.grad("y") == 6.0
    assert prog.grad("s") == 6.0
    assert prog.grad("f") == 1.0
    assert prog.value("s") == 3.0


def test_gradients_accumulate_where_a_value_feeds_two_gates() -> None:
    # f = x·x + x: x feeds mul twice and add once, ∂f/∂x = 2x + 1
    prog = Program([
        node("x", "input", shape=[None]),
        node("xx", "mul", (0, 0)),
        node("f", "add", (1, 0)),
        node("total", "sum", (2,)),
    ], output=3)
    x = np.array([3.0, -0.5, 2.0])
    assert prog.run({"x": x}) == pytest.approx(np.sum(x * x + x))
    np.testing.assert_allclose(prog.grad("x"), 2 * x + 1)
    # a second pass starts from fresh gradients instead of adding to the last ones
    prog.run({"x": x})
    np.testing.assert_allclose(prog.grad("x"), 2 * x + 1)


def linear_model(trainable_b: bool = True) -> Program:
    return Program([
        node("x", "input", shape=[None, 2]),
        node("W", "parameter", shape=[2, 1], value=[[0.5], [-1.0]]),
        node("b", "parameter", shape=[1], value=[0.25], trainable=trainable_b),
        node("y", "dense", (0, 1, 2)),
        node("t", "input", shape=[None, 1]),
        node("loss", "mse", (3, 4)),
    ], output=5)


def test_all_grads_false_skips_inputs_but_keeps_parameter_grads() -> None:
    prog = linear_model(trainable_b=False)
    feeds = {"x": [[1.0, 2.0], [3.0, -1.0]], "t": [[0.0], [1.0]]}
    prog.run(feeds, all_grads=True)
    full = {k: prog.grad(k) for k in ("x", "W", "b", "t")}
    assert all(g is not None for g in full.values())
    prog.run(feeds, all_grads=False)
    assert prog.grad("x") is None and prog.grad("t") is None
    assert prog.grad("b") is None  # not trainable: training does not need it
    np.testing.assert_array_equal(prog.grad("W"), full["W"])


def test_float32_program_keeps_float32() -> None:
    prog = Program([
        node("x", "input", shape=[None, 3]),
        node("W", "parameter", shape=[3, 2]),
        node("b", "parameter", shape=[2], init="normal", std=0.1),
        node("h", "dense", (0, 1, 2)),
        node("a", "leaky_relu", (3,)),
        node("s", "sigmoid", (4,)),
        node("t", "input", shape=[None, 2]),
        node("loss", "mse", (5, 6)),
    ], output=7, dtype=np.float32)
    rng = np.random.default_rng(0)
    prog.run({"x": rng.standard_normal((4, 3)), "t": rng.uniform(size=(4, 2))})
    for n, value, grad in zip(prog.nodes, prog.values, prog.grads, strict=True):
        assert np.asarray(value).dtype == np.float32, f"value of {n.name}"
        assert grad is None or np.asarray(grad).dtype == np.float32, f"gradient of {n.name}"


def test_feed_errors_name_the_input() -> None:
    prog = linear_model()
    good = {"x": np.zeros((4, 2)), "t": np.zeros((4, 1))}
    prog.forward(good)
    with pytest.raises(FeedError, match=r"^input 'x' takes shape \(N, 2\), 2 numbers per "
                                        r"sample; the value has shape \(4, 3\)$") as info:
        prog.forward({**good, "x": np.zeros((4, 3))})
    assert info.value.inputs == ("x",)
    with pytest.raises(FeedError, match=r"input 'x' takes shape \(N, 2\), .* the value has "
                                        r"shape \(4,\)"):
        prog.forward({**good, "x": np.zeros(4)})
    with pytest.raises(FeedError, match=r"no input named 'z'"):
        prog.forward({**good, "z": 1.0})
    with pytest.raises(FeedError, match=r"^input 't' has no value: feed it") as info:
        prog.forward({"x": good["x"]})
    assert info.value.inputs == ("t",)
    with pytest.raises(FeedError, match=r"input 'x': 'abc' is not a number"):
        prog.forward({**good, "x": "abc"})


def test_every_input_without_a_value_is_named_at_once() -> None:
    prog = squared_sum()
    with pytest.raises(FeedError, match=r"^inputs 'x', 'y' have no value: feed them") as info:
        prog.forward()
    assert info.value.inputs == ("x", "y")
    with pytest.raises(FeedError, match=r"^input 'y' has no value") as info:
        prog.forward({"x": 1.0})
    assert info.value.inputs == ("y",)


@pytest.mark.parametrize("value, words", [
    ([1.0, 2.0], ("input 'x' is a scalar (one number); [1, 2] has 2 values: to type 2 numbers "
                 "give 'x' shape [2]")),
    ([[1.0, 2.0], [3.0, 4.0]], "input 'x' is a scalar (one number); the value has shape (2, 2)"),
])
def test_a_value_that_does_not_fit_a_scalar_input_says_why(value, words) -> None:
    with pytest.raises(FeedError) as info:
        squared_sum().forward({"x": value, "y": 1.0})
    assert str(info.value) == words and info.value.inputs == ("x",)


def test_input_value_param_is_used_when_nothing_is_fed() -> None:
    prog = Program([node("x", "input", shape=[2], value=[1.0, 2.0]),
                    node("s", "sum", (0,))], output=1)
    assert prog.run() == 3.0


def test_first_non_finite_names_the_node() -> None:
    prog = Program([
        node("x", "input", shape=[], value=-1.0),
        node("ln", "log", (0,)),
        node("twice", "mul_const", (1,), c=2.0),
    ], output=2)
    prog.forward()
    assert prog.first_non_finite("forward") == 1  # the log, not the gate after it
    with pytest.raises(NonFiniteError, match=r"node 'ln' \(log\) produced a non-finite value "
                                             r"at step 7 from finite x") as info:
        prog.raise_non_finite("forward", step=7)
    assert (info.value.node, info.value.node_id, info.value.phase) == ("ln", "ln", "forward")
    prog.forward({"x": 2.0})
    assert prog.first_non_finite("forward") is None
    prog.raise_non_finite("forward")  # finite: no error


def test_shape_error_names_the_node() -> None:
    nodes = [node("x", "input", shape=[None, 3]),
             node("W", "parameter", shape=[3, 2]),
             node("b", "parameter", shape=[3]),
             node("layer1", "dense", (0, 1, 2))]
    with pytest.raises(ShapeError, match=r"^layer1 \(dense\): dense: bias \(3,\)"):
        infer_shapes(nodes)
    with pytest.raises(ShapeError, match=r"layer1"):
        Program(nodes, output=3)


def test_parameters_initialise_from_a_seed() -> None:
    prog = linear_model()
    prog.nodes[1].params["value"] = None
    prog.init_params(3)
    first = prog.value("W").copy()
    prog.init_params(3)
    np.testing.assert_array_equal(prog.value("W"), first)
    prog.init_params(4)
    assert not np.array_equal(prog.value("W"), first)
    np.testing.assert_array_equal(prog.value("b"), [0.25])  # an explicit value wins


# -- granularity: a fused gate and its primitive chain give the same gradients --------------------
def test_fused_sigmoid_matches_its_primitive_chain() -> None:
    assert get_op("sigmoid").fused_of == ("neg", "exp", "add_const", "reciprocal")
    x = np.random.default_rng(1).standard_normal((4, 3)) * 3
    fused = Program([node("x", "input", shape=[None, 3]), node("s", "sigmoid", (0,)),
                     node("L", "sum", (1,))], output=2)
    chain = Program([node("x", "input", shape=[None, 3]), node("n", "neg", (0,)),
                     node("e", "exp", (1,)), node("p", "add_const", (2,), c=1.0),
                     node("s", "reciprocal", (3,)), node("L", "sum", (4,))], output=5)
    assert fused.run({"x": x}) == pytest.approx(chain.run({"x": x}), rel=1e-12)
    np.testing.assert_allclose(fused.value("s"), chain.value("s"), rtol=1e-12)
    np.testing.assert_allclose(fused.grad("x"), chain.grad("x"), rtol=1e-12)


def test_fused_sigmoid_matches_its_chain_on_single_numbers() -> None:
    # gates on 0-d arrays give NumPy scalars: the σ gate's scalar path and the output's seed
    fused = Program([node("x", "input", shape=[]), node("w", "input", shape=[]),
                     node("z", "mul", (0, 1)), node("s", "sigmoid", (2,))], output=3)
    chain = Program([node("x", "input", shape=[]), node("w", "input", shape=[]),
                     node("z", "mul", (0, 1)), node("n", "neg", (2,)), node("e", "exp", (3,)),
                     node("p", "add_const", (4,), c=1.0), node("s", "reciprocal", (5,))],
                    output=6)
    for x in (-40.0, -3.0, 0.0, 0.5, 40.0):
        feeds = {"x": x, "w": 1.5}
        assert fused.run(feeds) == pytest.approx(chain.run(feeds), rel=1e-12, abs=1e-15)
        assert type(fused.value("z")) is np.float64  # what mul of two 0-d arrays gives
        seed = fused.grad("s")
        assert type(seed) is np.ndarray and seed.shape == () and seed == 1.0
        assert fused.grad("x") == pytest.approx(chain.grad("x"), rel=1e-9, abs=1e-15)
        assert fused.grad("w") == pytest.approx(chain.grad("w"), rel=1e-9, abs=1e-15)


def test_fused_dense_matches_matmul_plus_add() -> None:
    assert get_op("dense").fused_of == ("matmul", "add")
    rng = np.random.default_rng(2)
    W, b = rng.standard_normal((3, 2)).tolist(), rng.standard_normal(2).tolist()
    head = [node("x", "input", shape=[None, 3]), node("W", "parameter", shape=[3, 2], value=W),
            node("b", "parameter", shape=[2], value=b)]
    fused = Program([*head, node("y", "dense", (0, 1, 2)), node("L", "sum", (3,))], output=4)
    prims = Program([*head, node("m", "matmul", (0, 1)), node("y", "add", (3, 2)),
                     node("L", "sum", (4,))], output=5)
    x = rng.standard_normal((5, 3))
    assert fused.run({"x": x}) == pytest.approx(prims.run({"x": x}), rel=1e-12)
    for key in ("x", "W", "b", "y"):
        np.testing.assert_allclose(fused.grad(key), prims.grad(key), rtol=1e-12, err_msg=key)


# -- whole-program gradient check ----------------------------------------------------------------
def mlp(hidden: int = 5, classes: int = 3) -> Program:
    # x (N,3) → dense → tanh → dense → softmax cross-entropy with class labels
    return Program([
        node("x", "input", shape=[None, 3]),
        node("W1", "parameter", shape=[3, hidden]),
        node("b1", "parameter", shape=[hidden], init="normal", std=0.5),
        node("h", "dense", (0, 1, 2)),
        node("a", "tanh", (3,)),
        node("W2", "parameter", shape=[hidden, classes]),
        node("b2", "parameter", shape=[classes], init="normal", std=0.5),
        node("logits", "dense", (4, 5, 6)),
        node("labels", "input", shape=[None]),
        node("loss", "softmax_cross_entropy", (7, 8)),
    ], output=9)


def test_check_program_on_an_mlp() -> None:
    prog = mlp()
    prog.init_params(7)
    rng = np.random.default_rng(7)
    feeds = {"x": rng.standard_normal((8, 3)), "labels": rng.integers(0, 3, 8)}
    errors = check_program(prog, feeds)
    # every node the output depends on; class labels take no gradient, and are checked to need
    # none (the loss is flat around whole-number labels)
    assert set(errors) == {n.name for n in prog.nodes}
    assert prog.grad("labels") is None and errors["labels"] == 0.0
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < GRADCHECK_TOLERANCE, f"{worst}: {errors[worst]:.3g} ({errors})"


def test_forward_of_the_loss_ancestors_only_matches_a_full_pass(examples_dir):
    from playground.graph import compile_graph, load

    program = compile_graph(load(examples_dir / "digits_mlp.json"))
    rng = np.random.default_rng(0)
    feeds = {"X": rng.normal(size=(5, 64)), "y": rng.integers(0, 10, size=5).astype(float)}
    full = float(program.forward(feeds))
    program.backward(all_grads=False)
    grads = {k: program.grad(k).copy() for k in ("W1", "b1", "W2", "b2")}
    probs_before = program.value("probs").copy()
    feeds2 = {"X": rng.normal(size=(5, 64)), "y": feeds["y"]}
    program.feed(feeds2)
    partial = float(program.forward(all_values=False))
    np.testing.assert_array_equal(program.value("probs"), probs_before)  # display node not rerun
    program.feed(feeds)
    assert float(program.forward(all_values=False)) == full
    program.backward(all_grads=False)
    for k, g in grads.items():
        np.testing.assert_array_equal(program.grad(k), g)
    assert partial != full


def test_a_traceback_inside_a_pass_shows_the_generated_line_with_the_gates_name() -> None:
    import traceback

    from playground.engine import OpSpec, register, unregister
    from playground.engine import shapes as S

    def boom(xs, p):
        raise ValueError("boom")

    register(OpSpec("test_boom", ("x",), boom, (lambda g, y, xs, p, s: g,), S.same,
                    test_only=True))
    try:
        program = Program([node("x", "input", shape=[], value=1.0),
                           node("the_gate", "test_boom", (0,))], output=1)
        with pytest.raises(ValueError) as info:
            program.run(None)
        text = "".join(traceback.format_exception(info.value))
        assert "v1 = f1([values[0]], p1)  # the_gate (test_boom)" in text
    finally:
        unregister("test_boom")
