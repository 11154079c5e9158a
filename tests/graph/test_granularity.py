"""Fuse and expand: same values and gradients to 1e-12, exact undo, and the comparison."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from playground.graph import GraphError, GraphModel, compile_graph, load
from playground.graph.edit import apply_dict, ungroup
from playground.graph.granularity import compare, expand, find_fusable, fuse, sample_feeds
from playground.graph.library import sigmoid_chain

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
TOL = 1e-12


def example(name: str) -> GraphModel:
    return load(EXAMPLES / f"{name}.json")


def run(model: GraphModel, feeds: dict | None = None, params: dict | None = None):
    program = compile_graph(model)
    program.init_params(0)
    if params:
        program.set_params(params, strict=False)
    program.run(feeds)
    return program


def assert_same_numbers(a: GraphModel, b: GraphModel, feeds: dict | None = None) -> int:
    """Every node name of ``b`` also in ``a`` has the same value and gradient (to TOL);
    returns how many nodes were compared."""
    pa = run(a, feeds)
    pb = run(b, feeds, pa.param_arrays(False))
    names = {n.name for n in pb.nodes} & {n.name for n in pa.nodes}
    for name in names:
        np.testing.assert_allclose(pb.value(name), pa.value(name), rtol=0, atol=TOL,
                                   err_msg=f"value of {name}")
        ga, gb = pa.grad(name), pb.grad(name)
        assert (ga is None) == (gb is None), name
        if ga is not None:
            np.testing.assert_allclose(gb, ga, rtol=0, atol=TOL, err_msg=f"gradient of {name}")
    return len(names)


def apply(model: GraphModel, after: dict) -> dict:
    before = copy.deepcopy(model.to_dict())
    apply_dict(model, after)
    return before


def test_the_sigmoid_chain_of_the_neuron_is_found():
    m = example("sigmoid_neuron")
    (f,) = find_fusable(m)
    assert f.kind == "sigmoid" and f.node_ids == ("n18", "n20", "n22", "n24")
    assert "σ" in f.description
    assert find_fusable(m, ["n18", "n20", "n22"]) == []  # the whole chain must be selected
    assert find_fusable(m, ["n18", "n20", "n22", "n24", "n1"]) == [f]
    assert find_fusable(example("sigmoid_neuron_fused")) == []
    assert find_fusable(example("digits_mlp")) == []  # already dense


def test_fusing_the_neuron_gives_the_fused_example():
    m = example("sigmoid_neuron")
    (f,) = find_fusable(m)
    before = apply(m, fuse(m, f)[0])
    fused = example("sigmoid_neuron_fused")
    assert sorted(n.name for n in m.nodes.values()) == sorted(n.name for n in fused.nodes.values())
    node = m.by_name("f")
    first = example("sigmoid_neuron").by_name("neg").position
    assert node.op == "sigmoid" and node.position == first  # the first gate's place
    assert assert_same_numbers(fused, m) == len(fused.nodes)
    pa, pb = run(m), run(fused)
    assert sum(not n.spec.is_source for n in pa.nodes) == 5
    np.testing.assert_array_equal(pa.grad("w0"), pb.grad("w0"))
    apply_dict(m, before)  # undo
    assert m.to_dict() == example("sigmoid_neuron").to_dict()


def test_expanding_the_fused_neuron_gives_the_primitive_gates_and_fuses_back():
    m = example("sigmoid_neuron_fused")
    original = copy.deepcopy(m.to_dict())
    after, ids = expand(m, "n18")
    before = apply(m, after)
    assert [m.nodes[i].op for i in ids] == ["neg", "exp", "add_const", "reciprocal"]
    was = example("sigmoid_neuron_fused").by_name("f").position
    assert m.nodes[ids[-1]].name == "f" and m.nodes[ids[0]].position == was
    assert assert_same_numbers(example("sigmoid_neuron"), m) == 13
    # and back: fusing the new chain restores every value and gradient
    (f,) = find_fusable(m)
    assert f.node_ids == tuple(ids)
    before2 = apply(m, fuse(m, f)[0])
    assert assert_same_numbers(example("sigmoid_neuron_fused"), m) == 10
    assert m.by_name("f").position == was
    apply_dict(m, before2)
    apply_dict(m, before)
    assert m.to_dict() == original


def test_digits_dense_layers_expand_and_fuse_with_the_same_gradients():
    m = example("digits_mlp")
    original = copy.deepcopy(m.to_dict())
    feeds = sample_feeds(m, compile_graph(m), batch=9, seed=3)
    undo = []
    for dense in ("z1", "z2"):
        after, ids = expand(m, m.by_name(dense).id)
        undo.append(apply(m, after))
        assert [m.nodes[i].op for i in ids] == ["matmul", "add"]
        assert m.nodes[ids[1]].name == dense
    assert sum(n.op == "dense" for n in m.nodes.values()) == 0
    assert assert_same_numbers(example("digits_mlp"), m, feeds) == 11
    fusions = find_fusable(m)
    assert [f.kind for f in fusions] == ["dense", "dense"]
    for f in fusions:
        undo.append(apply(m, fuse(m, f)[0]))
    assert sorted(n.op for n in m.nodes.values()) == sorted(
        n.op for n in example("digits_mlp").nodes.values())
    assert assert_same_numbers(example("digits_mlp"), m, feeds) == 11
    for before in reversed(undo):
        apply_dict(m, before)
    assert m.to_dict() == original


def test_the_output_follows_a_fused_or_expanded_node_named_by_id():
    m = example("sigmoid_neuron")
    m.meta["output"] = "n24"
    after, new = fuse(m, find_fusable(m)[0])
    fused = GraphModel.from_dict(after)
    assert fused.meta["output"] == new and fused.output_node() == new
    after, ids = expand(fused, new)
    assert GraphModel.from_dict(after).meta["output"] == ids[-1]


def test_composites_expand_like_ungroup():
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 0.5})
    g = m.add_node("composite", "sig", body=sigmoid_chain())
    m.connect(x.id, g.id, "x")
    assert expand(m, g.id) == ungroup(m, g.id)


def chain_model(c: float = 1.0, extra_use: bool = False) -> GraphModel:
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 0.3})
    prev = x
    for op, params in (("neg", {}), ("exp", {}), ("add_const", {"c": c}), ("reciprocal", {})):
        node = m.add_node(op, op, params)
        m.connect(prev.id, node.id, "x")
        prev = node
    if extra_use:
        other = m.add_node("tanh", "other")
        m.connect(m.by_name("exp").id, other.id, "x")
        m.meta["output"] = prev.id
    return m


def test_chains_that_are_not_a_sigmoid_are_not_fused():
    assert [f.kind for f in find_fusable(chain_model())] == ["sigmoid"]
    assert find_fusable(chain_model(c=2.0)) == []
    assert find_fusable(chain_model(extra_use=True)) == []  # exp also feeds another gate
    m = chain_model()
    m.meta["output"] = m.by_name("exp").id  # fusing would hide the output
    assert find_fusable(m) == []


def test_an_add_of_two_matrices_is_not_a_dense():
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [None, 3]})
    w = m.add_node("parameter", "W", {"shape": [3, 2]})
    other = m.add_node("input", "o", {"shape": [None, 2]})
    b = m.add_node("parameter", "b", {"shape": [1, 2]})
    mm = m.add_node("matmul", "mm")
    add = m.add_node("add", "s")
    m.connect(x.id, mm.id, "a")
    m.connect(w.id, mm.id, "b")
    m.connect(other.id, add.id, "a")
    m.connect(mm.id, add.id, "b")
    assert find_fusable(m) == []
    m.remove_node(other.id)
    m.connect(b.id, add.id, "a")  # a (1, k) bias on the left also counts
    (f,) = find_fusable(m)
    assert f.kind == "dense" and f.node_ids == (mm.id, add.id)
    feeds = {"x": np.arange(12.0).reshape(4, 3) / 7}
    after, new = fuse(m, f)
    fused = GraphModel.from_dict(after)
    assert fused.nodes[new].op == "dense"
    assert assert_same_numbers(m, fused, feeds) >= 4


def test_stale_fusions_and_plain_gates_are_refused():
    m = example("sigmoid_neuron")
    (f,) = find_fusable(m)
    m.set_param("n22", "c", 2.0)
    with pytest.raises(GraphError, match="no longer be fused"):
        fuse(m, f)
    with pytest.raises(GraphError, match="cannot be expanded"):
        expand(m, "n6")


def test_compare_primitive_and_fused_neuron():
    c = compare(example("sigmoid_neuron"), example("sigmoid_neuron_fused"), budget=0.05,
                labels=("the primitive form", "the fused form"))
    assert (c.gates_a, c.gates_b) == (8, 5)
    assert c.max_grad_diff < TOL
    assert 0 < c.seconds_a < 1e-2 and 0 < c.seconds_b < 1e-2
    assert c.speedup == pytest.approx(c.seconds_a / c.seconds_b)
    # the timing's structure, not its numbers: rounds side by side, an interval around the ratio
    assert c.rounds >= 15
    assert 0 < c.ratio_low <= c.ratio <= c.ratio_high < math.inf
    assert c.batch is None  # single numbers: nothing to batch
    assert c.labels == ("the primitive form", "the fused form")
    assert "the fused form" in c.verdict.lower() and "the primitive form" in c.verdict.lower()
    assert f"over {c.rounds} rounds" in c.verdict


def test_compare_expanded_digits_and_a_graph_that_really_differs():
    d = example("digits_mlp")
    e = GraphModel.from_dict(expand(d, "n4")[0])
    c = compare(d, e, budget=0.05)
    assert (c.gates_a, c.gates_b) == (5, 6) and c.max_grad_diff < TOL
    assert c.seconds_a > 0 and c.seconds_b > 0
    assert c.batch == d.meta["training"]["batch_size"]  # timed on the graph's training batch
    assert compare(d, e, budget=0.01, batch=7).batch == 7
    feeds = sample_feeds(d, compile_graph(d), batch=5)
    assert compare(d, e, feeds=feeds, budget=0.01).batch == 5
    other = example("sigmoid_neuron")
    other.set_param("n22", "c", 1.5)  # not a sigmoid any more: the gradients differ
    assert compare(example("sigmoid_neuron"), other).max_grad_diff > 1e-3


def test_sample_feeds_gives_class_labels_in_range():
    m = example("digits_mlp")
    feeds = sample_feeds(m, compile_graph(m), batch=50)
    assert feeds["X"].shape == (50, 64)
    y = feeds["y"]
    assert y.shape == (50,) and set(np.unique(y)) <= set(range(10)) and len(np.unique(y)) > 3
