"""Loss reductions: mean (the default, what a file without the param means), sum and ½·sum.

The gradient checks of every reduction are cases in tests/engine/test_ops.py; here: the values
against hand-written NumPy, the factor between the reductions, and the texts each one shows.
"""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import ParamError, get_op
from playground.graph import compile_graph, loads
from playground.graph.explain import trace

RNG = np.random.default_rng(7)
PRED, TARGET = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
LOGITS, LABELS = RNG.normal(size=(5, 4)), RNG.integers(0, 4, size=5)


def run(op: str, xs: list[np.ndarray], **params: object) -> tuple[float, list[np.ndarray]]:
    spec = get_op(op)
    p = spec.resolve_params(params)
    out = spec.forward(xs, p)
    y, saved = out if spec.saves else (out, None)
    g = np.ones_like(y)
    grads = [vjp(g, y, xs, p, saved) for vjp in spec.vjps if vjp is not None]
    return float(y), grads


def test_mse_reductions_are_mean_sum_and_half_sum():
    d = PRED - TARGET
    mean, (g_mean, _) = run("mse", [PRED, TARGET])
    total, (g_sum, _) = run("mse", [PRED, TARGET], reduction="sum")
    half, (g_half, gt_half) = run("mse", [PRED, TARGET], reduction="half_sum")
    assert mean == pytest.approx(np.mean(d ** 2), rel=1e-14)
    assert total == pytest.approx(np.sum(d ** 2), rel=1e-14)
    assert half == pytest.approx(0.5 * np.sum(d ** 2), rel=1e-14)
    # the tutorials' ½(ŷ − y)²: its gradient is ŷ − y, with no factor at all
    np.testing.assert_allclose(g_half, d, rtol=1e-14)
    np.testing.assert_allclose(gt_half, -d, rtol=1e-14)
    np.testing.assert_allclose(g_sum, 2 * d, rtol=1e-14)
    np.testing.assert_allclose(g_mean, 2 * d / d.size, rtol=1e-14)


def test_cross_entropy_sum_is_n_times_the_mean():
    n = LOGITS.shape[0]
    mean, (g_mean, _) = run("softmax_cross_entropy", [LOGITS, LABELS])
    total, (g_sum, _) = run("softmax_cross_entropy", [LOGITS, LABELS], reduction="sum")
    assert total == pytest.approx(n * mean, rel=1e-13)
    np.testing.assert_allclose(g_sum, n * g_mean, rtol=1e-13)
    q, t = 1 / (1 + np.exp(-PRED)), (TARGET > 0).astype(float)
    bmean, (b_mean, _) = run("binary_cross_entropy", [q, t])
    bsum, (b_sum, _) = run("binary_cross_entropy", [q, t], reduction="sum")
    assert bsum == pytest.approx(q.size * bmean, rel=1e-13)
    np.testing.assert_allclose(b_sum, q.size * b_mean, rtol=1e-13)


def test_an_unknown_reduction_is_refused():
    with pytest.raises(ParamError, match="must be one of mean, sum, half_sum"):
        get_op("mse").resolve_params({"reduction": "median"})
    with pytest.raises(ParamError, match="must be one of mean, sum"):
        get_op("softmax_cross_entropy").resolve_params({"reduction": "half_sum"})


FILE = """{"format": "backprop-playground/graph", "version": 1, "nodes": [
 {"id": "a", "op": "input", "name": "p", "params": {"shape": [2], "value": [1.0, 3.0]}},
 {"id": "b", "op": "input", "name": "t", "params": {"shape": [2], "value": [0.0, 0.0]}},
 {"id": "c", "op": "mse", "name": "loss", "params": %s}],
 "edges": [{"id": "e1", "src": "a", "dst": "c", "port": "pred"},
           {"id": "e2", "src": "b", "dst": "c", "port": "target"}]}"""


@pytest.mark.parametrize("params, value, grad", [
    ("{}", 5.0, [1.0, 3.0]),  # a file written before reductions existed: the mean, as then
    ('{"reduction": "mean"}', 5.0, [1.0, 3.0]),
    ('{"reduction": "sum"}', 10.0, [2.0, 6.0]),
    ('{"reduction": "half_sum"}', 5.0, [1.0, 3.0]),
])
def test_files_keep_their_meaning(params: str, value: float, grad: list[float]):
    program = compile_graph(loads(FILE % params))
    assert program.run() == value
    np.testing.assert_array_equal(program.grad("p"), grad)


def test_each_reduction_has_its_own_texts_in_the_registry_and_the_steps():
    spec = get_op("mse")
    assert spec.texts({}).formula == spec.formula == "(1/n) Σ (pred − target)²"
    assert spec.texts({"reduction": "half_sum"}).formula == "½ Σ (pred − target)²"
    assert spec.texts({"reduction": "half_sum"}).derivative == "pred − target"
    assert spec.texts({"reduction": "sum"}).derivative == "2(pred − target)"
    ce = get_op("softmax_cross_entropy")
    assert "/ N" not in ce.texts({"reduction": "sum"}).derivative
    assert get_op("add").texts({}).formula == "a + b"  # an op without variants: its own texts
    program = compile_graph(loads(FILE % '{"reduction": "half_sum"}'))
    forward, backward = trace(program)
    assert forward[-1].text == "loss = ½·Σ(p − t)² = ½·Σ([2 mean 2] − [2 mean 0])² = 5"
    assert backward[1].text == "∂loss/∂p = (p − t)·∂loss/∂loss = [2 mean 2]"
    program = compile_graph(loads(FILE % "{}"))
    forward, backward = trace(program)
    assert forward[-1].text.startswith("loss = mse(p, t) = ")
    assert backward[1].text.startswith("∂loss/∂p = 2·(p − t)/n·∂loss/∂loss")
