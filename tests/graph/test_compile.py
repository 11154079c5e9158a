"""Compiling documents into programs: values, gradients, partial graphs, composites, dtypes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from playground.engine import Program
from playground.graph import (
    COMPOSITE,
    CompileError,
    GraphModel,
    compile_graph,
    graph_values,
    load,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
SIGMOID_INPUTS = ("w0", "x0", "w1", "x1", "w2")


def close(a: Any, b: Any, tol: float = 1e-12) -> bool:
    """|a − b| ≤ tol · max(1, |b|) elementwise, same shape."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b))))


def numeric_grad(f: Callable[[Mapping[str, Any]], float], feeds: Mapping[str, Any], key: str,
                 eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f`` with respect to ``feeds[key]``."""
    base = {k: np.array(v, dtype=np.float64) for k, v in feeds.items()}
    x = base[key]
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        hi = f(base)
        x[idx] = old - eps
        lo = f(base)
        x[idx] = old
        out[idx] = (hi - lo) / (2 * eps)
    return out


def chain(m: GraphModel, src: str, ops: list[tuple[str, dict[str, Any]]]) -> str:
    """Append unary gates after ``src``; return the last id."""
    cur = src
    for op, params in ops:
        n = m.add_node(op, params=params)
        m.connect(cur, n.id, "x")
        cur = n.id
    return cur


SIGMOID_CHAIN = [("neg", {}), ("exp", {}), ("add_const", {"c": 1.0}), ("reciprocal", {})]


def sigmoid_body() -> GraphModel:
    """σ from primitive gates: input 'x' → neg → exp → add_const(c=1) → reciprocal."""
    b = GraphModel()
    x = b.add_node("input", "x", {"shape": []})
    chain(b, x.id, SIGMOID_CHAIN)
    return b


def wrap(body: GraphModel) -> GraphModel:
    """A body whose only gate is a composite of ``body`` (one level of nesting more)."""
    outer = GraphModel()
    x = outer.add_node("input", "x", {"shape": []})
    g = outer.add_node(COMPOSITE, "inner", body=body)
    outer.connect(x.id, g.id, "x")
    return outer


def neuron_with(body: GraphModel) -> tuple[GraphModel, str]:
    """sigmoid_neuron_fused with its sigmoid gate replaced by a composite of ``body``."""
    m = load(EXAMPLES / "sigmoid_neuron_fused.json")
    f = m.by_name("f")
    z = m.incoming(f.id)["x"].src
    m.remove_node(f.id)
    g = m.add_node(COMPOSITE, "f", body=body, position=f.position)
    m.connect(z, g.id, "x")
    return m, g.id


def random_neuron_feeds(rng: np.random.Generator) -> dict[str, float]:
    return {k: float(rng.normal(scale=2.0)) for k in SIGMOID_INPUTS}


# -- values and gradients ------------------------------------------------------------------------

def square_of_sum() -> GraphModel:
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 1.0})
    y = m.add_node("input", "y", {"shape": [], "value": 2.0})
    q = m.add_node("add", "q")
    f = m.add_node("pow", "f", {"exponent": 2.0})
    m.connect(x.id, q.id, "a")
    m.connect(y.id, q.id, "b")
    m.connect(q.id, f.id, "x")
    return m


def test_square_of_sum_value_and_gradients() -> None:
    m = square_of_sum()
    p = compile_graph(m)
    assert p.run() == 9.0  # (1 + 2)²
    assert p.grad("x") == 6.0 and p.grad("y") == 6.0  # 2(x + y)
    assert p.grad("q") == 6.0 and p.grad("f") == 1.0
    assert p.value("q") == 3.0
    # the example file is the same graph
    ex = compile_graph(load(EXAMPLES / "square_of_sum.json"))
    assert ex.run() == 9.0 and ex.grad("x") == 6.0 and ex.grad("y") == 6.0


def test_square_of_sum_matches_the_analytic_gradient_at_random_points() -> None:
    p = compile_graph(square_of_sum())
    rng = np.random.default_rng(1)
    for _ in range(20):
        x, y = rng.normal(scale=3.0, size=2)
        assert p.run({"x": x, "y": y}) == pytest.approx((x + y) ** 2, rel=1e-14)
        assert close(p.grad("x"), 2 * (x + y)) and close(p.grad("y"), 2 * (x + y))


def test_gradients_accumulate_where_a_value_feeds_two_gates() -> None:
    # f = (x·y)·(x + y): x and y each feed two gates
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [None]})
    y = m.add_node("input", "y", {"shape": [None]})
    a = m.add_node("mul", "a")
    b = m.add_node("add", "b")
    f = m.add_node("mul", "f")
    s = m.add_node("sum", "s")
    for src, dst, port in ((x, a, "a"), (y, a, "b"), (x, b, "a"), (y, b, "b"), (a, f, "a"),
                           (b, f, "b"), (f, s, "x")):
        m.connect(src.id, dst.id, port)
    p = compile_graph(m)
    rng = np.random.default_rng(2)
    feeds = {"x": rng.normal(size=5), "y": rng.normal(size=5)}
    xv, yv = feeds["x"], feeds["y"]
    for _ in range(2):  # a second pass starts from fresh gradients
        p.run(feeds)
        assert close(p.grad("x"), yv * (xv + yv) + xv * yv)
        assert close(p.grad("y"), xv * (xv + yv) + xv * yv)

    def total(fd: Mapping[str, Any]) -> float:
        return float(p.forward(fd))

    num = numeric_grad(total, feeds, "x")
    p.run(feeds)
    assert close(p.grad("x"), num, 1e-7)


def test_a_value_fed_twice_into_one_gate() -> None:
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 3.0})
    sq = m.add_node("mul", "sq")
    m.connect(x.id, sq.id, "a")
    m.connect(x.id, sq.id, "b")
    p = compile_graph(m)
    assert p.run() == 9.0
    assert p.grad("x") == 6.0


def test_compile_does_not_change_the_document_and_the_program_is_independent_of_it() -> None:
    m = square_of_sum()
    before = m.to_dict()
    p = compile_graph(m)
    assert m.to_dict() == before
    m.set_param(m.by_name("f").id, "exponent", 3.0)
    assert p.run() == 9.0  # the program keeps the params it was compiled with
    assert compile_graph(m).run() == 27.0


def test_output_can_be_chosen_by_name_or_meta() -> None:
    m = square_of_sum()
    assert compile_graph(m, output="q").run() == 3.0
    m.set_meta("output", "q")
    assert compile_graph(m).run() == 3.0


# -- partial graphs ------------------------------------------------------------------------------

def partial_graph() -> tuple[GraphModel, dict[str, str]]:
    """f = exp(x) (the output) + a valid side branch, and a dangling add with one input."""
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [3], "value": [0.5, -1.0, 2.0]})
    f = m.add_node("exp", "f")
    side = m.add_node("tanh", "side")
    broken = m.add_node("add", "broken")
    after = m.add_node("neg", "after")
    m.connect(x.id, f.id, "x")
    m.connect(x.id, side.id, "x")
    m.connect(x.id, broken.id, "a")
    m.connect(broken.id, after.id, "x")
    total = m.add_node("sum", "total")
    m.connect(f.id, total.id, "x")
    m.set_meta("output", "total")
    return m, {n.name: n.id for n in m.nodes.values()}


def test_partial_graph_evaluates_its_valid_nodes_and_leaves_out_the_broken_ones() -> None:
    m, n = partial_graph()
    p = compile_graph(m)
    x = np.array([0.5, -1.0, 2.0])
    assert p.run() == pytest.approx(np.exp(x).sum(), rel=1e-15)
    assert close(p.value(n["side"]), np.tanh(x))  # not on the output's path, still computed
    assert close(p.grad(n["x"]), np.exp(x))
    for name in ("broken", "after"):
        assert n[name] not in p.index
        assert name not in p.index
    values = graph_values(m, p)
    assert set(values) == {n["x"], n["f"], n["side"], n["total"]}
    assert close(values[n["f"]][0], np.exp(x))
    # fixing the graph brings the broken nodes in
    m.connect(n["side"], n["broken"], "b")
    p = compile_graph(m)
    p.run()
    assert close(p.value(n["after"]), -(x + np.tanh(x)))


def test_compiling_toward_a_node_with_an_unconnected_input_raises_listing_the_node() -> None:
    m, n = partial_graph()
    for target in ("broken", "after"):
        with pytest.raises(CompileError) as info:
            compile_graph(m, output=target)
        assert info.value.node_ids == (n["broken"],)
        assert "'b'" in str(info.value) and "broken" in str(info.value)


def test_compile_error_lists_every_node_at_fault() -> None:
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [None, 3]})
    w = m.add_node("parameter", "W", {"shape": [3, 2]})
    mm = m.add_node("matmul", "mm")
    half = m.add_node("add", "half")
    out = m.add_node("add", "out")
    m.connect(x.id, mm.id, "a")
    m.connect(w.id, mm.id, "b")
    m.connect(mm.id, out.id, "a")
    m.connect(half.id, out.id, "b")
    m.set_param(w.id, "shape", [4, 2])  # now mm cannot work either
    with pytest.raises(CompileError) as info:
        compile_graph(m)
    assert set(info.value.node_ids) == {mm.id, half.id}
    msg = str(info.value)
    assert "(N, 3)" in msg and "(4, 2)" in msg and "not connected" in msg


# -- composites ----------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [1, 2, 3])
def test_sigmoid_composite_matches_the_fused_gate(depth: int) -> None:
    body = sigmoid_body()
    for _ in range(depth - 1):
        body = wrap(body)
    m, gid = neuron_with(body)
    fused = compile_graph(load(EXAMPLES / "sigmoid_neuron_fused.json"))
    prog = compile_graph(m)
    rng = np.random.default_rng(depth)
    for _ in range(20):
        feeds = random_neuron_feeds(rng)
        v, vf = prog.run(feeds), fused.run(feeds)
        z = feeds["w0"] * feeds["x0"] + feeds["w1"] * feeds["x1"] + feeds["w2"]
        assert close(vf, 1.0 / (1.0 + np.exp(-z)))
        assert close(v, vf)
        for key in SIGMOID_INPUTS + ("w0x0", "w1x1", "sum01", "z"):
            assert close(prog.grad(key), fused.grad(key)), key
        # the composite's value and gradient are readable by its outer id and name
        assert close(prog.value(gid), vf) and close(prog.value("f"), vf)
        assert prog.grad(gid) == 1.0
        assert close(graph_values(m, prog)[gid][0], vf)


def test_composite_inner_gates_are_keyed_under_the_outer_id() -> None:
    m, gid = neuron_with(wrap(sigmoid_body()))
    p = compile_graph(m)
    p.run()
    inner = [node for node in p.nodes if node.key.startswith(gid + "/")]
    assert [node.op for node in inner] == [op for op, _ in SIGMOID_CHAIN]
    assert all(node.key.count("/") == 2 for node in inner)  # outer/inner/gate
    assert [node.name for node in inner] == [  # default names: q, f, g, r (graph/naming.py)
        f"f/inner/{name}" for name in ("q", "f", "g", "r")]
    # the composite's inner input is an alias of the value feeding it, not a copy
    assert p.index["f/inner/x"] == p.index["z"]
    assert close(p.value("f/inner/f"), np.exp(-p.value("z")))


def test_composite_shape_follows_its_inputs() -> None:
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [None, 4]})
    g = m.add_node(COMPOSITE, "g", body=sigmoid_body())  # body input declared as a scalar
    m.connect(x.id, g.id, "x")
    assert m.analyse().shapes[g.id] == (None, 4)
    p = compile_graph(m)
    xv = np.random.default_rng(3).normal(size=(5, 4))
    assert close(p.forward({"x": xv}), 1.0 / (1.0 + np.exp(-xv)))


def dense_act_body(activation: str, fused_dense: bool) -> GraphModel:
    """Ports x, W, b → (dense | matmul + add) → activation."""
    b = GraphModel()
    x = b.add_node("input", "x", {"shape": [None, 1]})
    w = b.add_node("input", "W", {"shape": [1, 1]})
    bias = b.add_node("input", "b", {"shape": [1]})
    if fused_dense:
        d = b.add_node("dense", "z")
        for src, port in ((x, "x"), (w, "W"), (bias, "b")):
            b.connect(src.id, d.id, port)
        last = d.id
    else:
        mm = b.add_node("matmul", "xW")
        add = b.add_node("add", "z")
        b.connect(x.id, mm.id, "a")
        b.connect(w.id, mm.id, "b")
        b.connect(mm.id, add.id, "a")
        b.connect(bias.id, add.id, "b")
        last = add.id
    chain(b, last, [(activation, {})])
    return b


def layer_graph(body: GraphModel | None, activation: str = "tanh") -> GraphModel:
    """X(N,4) → layer(W(4,3), b(3)) → mse against T(N,3); the layer is a composite or gates."""
    m = GraphModel()
    x = m.add_node("input", "X", {"shape": [None, 4]})
    w = m.add_node("parameter", "W", {"shape": [4, 3]})
    b = m.add_node("parameter", "b", {"shape": [3], "init": "normal", "std": 0.5})
    t = m.add_node("input", "T", {"shape": [None, 3]})
    if body is not None:
        layer = m.add_node(COMPOSITE, "layer", body=body)
        assert m.input_ports(layer) == ("x", "W", "b")
        for src, port in ((x, "x"), (w, "W"), (b, "b")):
            m.connect(src.id, layer.id, port)
        out = layer.id
    else:
        d = m.add_node("dense", "layer_z")
        for src, port in ((x, "x"), (w, "W"), (b, "b")):
            m.connect(src.id, d.id, port)
        out = chain(m, d.id, [(activation, {})])
        m.rename(out, "layer")
    loss = m.add_node("mse", "loss")
    m.connect(out, loss.id, "pred")
    m.connect(t.id, loss.id, "target")
    return m


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("fused_dense", [True, False])
def test_dense_layer_composite_matches_the_flat_graph(activation: str, fused_dense: bool) -> None:
    ref = compile_graph(layer_graph(None, activation))
    m = layer_graph(dense_act_body(activation, fused_dense), activation)
    prog = compile_graph(m)
    assert m.analyse().shapes[m.by_name("layer").id] == (None, 3)
    rng = np.random.default_rng(4)
    for _ in range(5):
        ref.init_params(rng)
        prog.set_params(ref.param_arrays())
        feeds = {"X": rng.normal(size=(6, 4)), "T": rng.normal(size=(6, 3))}
        assert close(prog.run(feeds), ref.run(feeds))
        for key in ("X", "W", "b", "T", "layer"):
            assert close(prog.grad(key), ref.grad(key)), key
        assert close(prog.value("layer"), ref.value("layer"))


def test_composite_gradient_matches_central_differences() -> None:
    m = layer_graph(dense_act_body("sigmoid", fused_dense=False), "sigmoid")
    p = compile_graph(m)
    rng = np.random.default_rng(5)
    feeds = {"X": rng.normal(size=(3, 4)), "T": rng.normal(size=(3, 3))}
    p.run(feeds)
    num = numeric_grad(lambda fd: float(p.forward(fd)), feeds, "X")
    p.run(feeds)
    assert close(p.grad("X"), num, 1e-7)


def test_composite_with_a_parameter_inside_trains_that_parameter() -> None:
    body = GraphModel()
    x = body.add_node("input", "x", {"shape": [None, 2]})
    w = body.add_node("parameter", "W", {"shape": [2, 1], "value": [[2.0], [-1.0]]})
    mm = body.add_node("matmul", "xW")
    body.connect(x.id, mm.id, "a")
    body.connect(w.id, mm.id, "b")
    m = GraphModel()
    xin = m.add_node("input", "X", {"shape": [None, 2]})
    g = m.add_node(COMPOSITE, "cell", body=body)
    s = m.add_node("sum", "s")
    m.connect(xin.id, g.id, "x")
    m.connect(g.id, s.id, "x")
    p = compile_graph(m)
    assert list(p.param_arrays()) == ["cell/W"]
    xv = np.array([[1.0, 2.0], [3.0, 5.0]])
    assert p.run({"X": xv}) == pytest.approx(float((xv @ [[2.0], [-1.0]]).sum()))
    assert close(p.grad("cell/W"), xv.sum(axis=0).reshape(2, 1))


def test_two_uses_of_one_body_are_independent_copies_in_the_program() -> None:
    body = sigmoid_body()
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 0.3})
    a = m.add_node(COMPOSITE, "s1", body=body)
    b = m.add_node(COMPOSITE, "s2", body=body)
    out = m.add_node("mul", "out")
    m.connect(x.id, a.id, "x")
    m.connect(a.id, b.id, "x")
    m.connect(a.id, out.id, "a")
    m.connect(b.id, out.id, "b")
    p = compile_graph(m)
    s1 = 1 / (1 + np.exp(-0.3))
    s2 = 1 / (1 + np.exp(-s1))
    assert close(p.run(), s1 * s2)
    # d/dx [σ(x)·σ(σ(x))] = σ'(x)·σ(σ(x)) + σ(x)·σ'(σ(x))·σ'(x)
    ds1 = s1 * (1 - s1)
    assert close(p.grad("x"), ds1 * s2 + s1 * s2 * (1 - s2) * ds1)
    assert p.index[a.id] != p.index[b.id]


def test_broken_composite_body_is_reported_and_not_compiled() -> None:
    body = sigmoid_body()
    extra = body.add_node("add", "dangling")  # a second gate with free inputs inside
    body.connect(body.by_name("x").id, extra.id, "a")
    body.set_meta("output", "r")  # the reciprocal gate's default name
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 1.0})
    g = m.add_node(COMPOSITE, "g", body=body)
    m.connect(x.id, g.id, "x")
    problems = m.analyse().problems
    assert "inside 'g'" in problems[g.id] and "dangling" in problems[g.id]
    with pytest.raises(CompileError) as info:
        compile_graph(m)
    assert info.value.node_ids == (g.id,)


# -- dtypes --------------------------------------------------------------------------------------

def _all_arrays(p: Program) -> list[np.ndarray]:
    return [np.asarray(a) for a in list(p.values) + list(p.grads) if a is not None]


@pytest.mark.parametrize("how", ["model", "argument"])
def test_float32_graphs_run_in_float32(how: str) -> None:
    m, _ = neuron_with(wrap(sigmoid_body()))
    m.add_node(COMPOSITE, "spare", body=sigmoid_body())  # a dangling composite: left out
    m.set_meta("output", "f")
    m64 = compile_graph(m)
    if how == "model":
        m.dtype = "float32"
        p = compile_graph(m)
    else:
        p = compile_graph(m, dtype="float32")
    assert p.dtype == np.float32
    rng = np.random.default_rng(6)
    feeds = random_neuron_feeds(rng)
    v = p.run(feeds)
    v64 = m64.run(feeds)
    arrays = _all_arrays(p)
    assert arrays and all(a.dtype == np.float32 for a in arrays)
    assert abs(v - v64) <= 1e-6
    for key in SIGMOID_INPUTS:
        assert abs(float(p.grad(key)) - float(m64.grad(key))) <= 1e-5


def test_float32_layer_composite_runs_in_float32() -> None:
    m = layer_graph(dense_act_body("tanh", fused_dense=False))
    p = compile_graph(m, dtype="float32")
    rng = np.random.default_rng(7)
    p.run({"X": rng.normal(size=(4, 4)), "T": rng.normal(size=(4, 3))})
    arrays = _all_arrays(p)
    assert len(arrays) >= 2 * len(p.nodes) - 1
    assert all(a.dtype == np.float32 for a in arrays)


def test_a_parameter_value_of_the_wrong_size_is_a_compile_error_not_a_crash() -> None:
    m = GraphModel()
    w = m.add_node("parameter", "W", {"shape": [2, 2], "value": [1.0, 2.0, 3.0]})
    s = m.add_node("sum", "s")
    m.connect(w.id, s.id, "x")
    with pytest.raises(CompileError) as info:
        compile_graph(m)
    assert info.value.node_ids == (w.id,)
    assert "W" in str(info.value) and "(2, 2)" in str(info.value)
    m.set_param(w.id, "value", [1.0, 2.0, 3.0, 4.0])  # a flat list of the right size is fine
    p = compile_graph(m)
    assert p.run() == 10.0
    assert close(p.value("W"), [[1.0, 2.0], [3.0, 4.0]])
