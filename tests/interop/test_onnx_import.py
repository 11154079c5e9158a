"""ONNX import: every supported op, Gemm's attributes, refusals by name, round trips."""

from __future__ import annotations

import numpy as np
import pytest

from playground.graph import compile_graph
from playground.interop import OnnxImportError, export, import_onnx, prepare
from playground.interop.common import max_difference
from playground.interop.onnx_export import build_model, run_reference
from playground.interop.onnx_import import SUPPORTED
from tests.interop.interop_helpers import EXAMPLE_NAMES, composite_digits, example

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(7)


def make(nodes, inputs, outputs, inits=(), opset=18, path=None):
    graph = helper.make_graph(nodes, "t", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    if path is not None:
        onnx.save(model, str(path))
    return model


def vi(name, shape, elem=TensorProto.DOUBLE):
    return helper.make_tensor_value_info(name, elem, shape)


def init(name, arr, dtype=np.float64):
    return numpy_helper.from_array(np.asarray(arr, dtype=dtype), name)


def app_vs_reference(tmp_path, model, feeds):
    """Import ``model`` and compare the app's forward with onnx.reference on ``feeds``."""
    from onnx.reference import ReferenceEvaluator

    onnx.save(model, str(tmp_path / "m.onnx"))
    graph = import_onnx(tmp_path / "m.onnx")
    want = ReferenceEvaluator(model).run(None, feeds)[0]
    program = compile_graph(graph)
    got = program.forward({k: v for k, v in feeds.items()})
    return graph, max_difference(got, want)


@pytest.mark.parametrize("name", EXAMPLE_NAMES + ["composite"])
def test_export_import_export_round_trips_to_the_same_values(tmp_path, name):
    model = composite_digits() if name == "composite" else example(name)
    export(model, "onnx", tmp_path / "a.onnx")
    graph = import_onnx(tmp_path / "a.onnx")
    export(graph, "onnx", tmp_path / "b.onnx")
    a, b = onnx.load(str(tmp_path / "a.onnx")), onnx.load(str(tmp_path / "b.onnx"))
    feeds = prepare(model).feeds
    ra = run_reference(a, feeds)
    rb = run_reference(b, {k: v for k, v in feeds.items() if k in {i.name for i in b.graph.input}})
    assert ra.keys() == rb.keys()
    assert all(np.array_equal(ra[k], rb[k]) for k in ra)
    # a composite's inner names ("hidden/W1") come back flat ("hidden_W1"): names cannot hold "/"
    wa = {t.name.replace("/", "_"): numpy_helper.to_array(t) for t in a.graph.initializer}
    wb = {t.name.replace("/", "_"): numpy_helper.to_array(t) for t in b.graph.initializer}
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)
    positions = {n.position for n in graph.nodes.values()}
    assert len(positions) == len(graph.nodes), "auto_layout gave every node its own place"


@pytest.mark.parametrize("attrs", [
    {}, {"transB": 1}, {"transA": 1}, {"alpha": 0.5, "beta": 2.0, "transB": 1}, {"alpha": 3.0},
])
@pytest.mark.parametrize("with_c", [True, False])
def test_gemm_attributes(tmp_path, attrs, with_c):
    a_shape = [3, "N"] if attrs.get("transA") else ["N", 3]
    b = RNG.standard_normal((4, 3) if attrs.get("transB") else (3, 4))
    inputs = ["A", "B"] + (["C"] if with_c else [])
    inits = [init("B", b)] + ([init("C", RNG.standard_normal(4))] if with_c else [])
    model = make([helper.make_node("Gemm", inputs, ["Y"], name="fc", **attrs)],
                 [vi("A", a_shape)], [vi("Y", ["N", 4])], inits)
    x = RNG.standard_normal((3, 5) if attrs.get("transA") else (5, 3))
    graph, diff = app_vs_reference(tmp_path, model, {"A": x})
    assert diff <= 1e-12
    ops = sorted(n.op for n in graph.nodes.values())
    if attrs.get("alpha", 1) == 1 and attrs.get("beta", 1) == 1 and with_c:
        assert "dense" in ops


UNARY = ["Neg", "Relu", "Sigmoid", "Tanh", "Exp", "Reciprocal", "Identity"]


@pytest.mark.parametrize("op", UNARY + ["Log", "LeakyRelu", "Softmax", "LogSoftmax", "Flatten"])
def test_unary_ops(tmp_path, op):
    attrs = {"alpha": 0.3} if op == "LeakyRelu" else {"axis": 0} if "Softmax" in op else {}
    model = make([helper.make_node(op, ["x"], ["y"], name="g", **attrs)],
                 [vi("x", ["N", 3])], [vi("y", ["N", 3])])
    x = RNG.uniform(0.5, 2.0, (4, 3)) * (1 if op == "Log" else RNG.choice([-1, 1], (4, 3)))
    _, diff = app_vs_reference(tmp_path, model, {"x": x})
    assert diff <= 1e-12


@pytest.mark.parametrize("op, other", [
    (op, other) for op in ("Add", "Sub", "Mul", "Div", "MatMul")
    for other in ("input", "weights", "scalar", "scalar_first")
    if op != "MatMul" or not other.startswith("scalar")])  # matmul takes matrices
def test_binary_ops(tmp_path, op, other):
    shape_b = [3, 3] if op == "MatMul" else [3]
    inputs, inits = [vi("x", ["N", 3])], []
    names = ["x", "b"]
    if other == "input":
        inputs.append(vi("b", shape_b))
    elif other == "weights":
        inits.append(init("b", RNG.uniform(1, 2, shape_b)))
    else:
        inits.append(init("b", 1.75))
        if other == "scalar_first":
            names = ["b", "x"]
    model = make([helper.make_node(op, names, ["y"], name="g")], inputs, [vi("y", ["N", 3])], inits)
    feeds = {"x": RNG.uniform(1, 2, (4, 3))}
    if other == "input":
        feeds["b"] = RNG.uniform(1, 2, shape_b)
    graph, diff = app_vs_reference(tmp_path, model, feeds)
    assert diff <= 1e-12
    if other == "scalar" and op in ("Add", "Sub", "Mul"):
        assert {n.op for n in graph.nodes.values()} & {"add_const", "mul_const"}


@pytest.mark.parametrize("op, opset, axes, keep", [
    ("ReduceSum", 18, [1], 1), ("ReduceSum", 13, [0], 0), ("ReduceMean", 18, None, 0),
    ("ReduceMean", 13, [1], 0), ("ReduceSum", 11, [1], 0), ("ReduceMean", 18, [0, 1], 1),
])
def test_reductions_in_old_and_new_opsets(tmp_path, op, opset, axes, keep):
    inits, ins, attrs = [], ["x"], {"keepdims": keep}
    axes_as_input = opset >= (13 if op == "ReduceSum" else 18)
    if axes is not None and axes_as_input:
        inits.append(init("axes", axes, np.int64))
        ins.append("axes")
    elif axes is not None:
        attrs["axes"] = axes
    model = make([helper.make_node(op, ins, ["y"], name="r", **attrs)], [vi("x", [4, 3])],
                 [vi("y", None)], inits, opset=opset)
    _, diff = app_vs_reference(tmp_path, model, {"x": RNG.standard_normal((4, 3))})
    assert diff <= 1e-12


def test_pow_transpose_and_constant_nodes(tmp_path):
    nodes = [helper.make_node("Constant", [], ["e"], value=numpy_helper.from_array(np.array(3.0))),
             helper.make_node("Pow", ["x", "e"], ["p"], name="cube"),
             helper.make_node("Transpose", ["p"], ["y"], name="t", perm=[1, 0])]
    model = make(nodes, [vi("x", ["N", 3])], [vi("y", [3, "N"])])
    graph, diff = app_vs_reference(tmp_path, model, {"x": RNG.standard_normal((4, 3))})
    assert diff <= 1e-12 and graph.by_name("cube").params["exponent"] == 3.0


def test_float32_models_import_as_float32_graphs(tmp_path):
    model = make([helper.make_node("Relu", ["x"], ["y"], name="r")],
                 [vi("x", ["N", 2], TensorProto.FLOAT)], [vi("y", ["N", 2], TensorProto.FLOAT)])
    onnx.save(model, str(tmp_path / "f.onnx"))
    assert import_onnx(tmp_path / "f.onnx").dtype == "float32"


@pytest.mark.parametrize("op, attrs, shape, why", [
    ("Conv", {}, ["N", 3], "'Conv' is not supported"),
    ("Flatten", {"axis": 1}, ["N", 3, 2], "Flatten is imported only where it changes nothing"),
    ("Softmax", {"axis": 0}, ["N", 3], "only over the last axis"),
])
def test_refusals_name_the_node_and_op(tmp_path, op, attrs, shape, why):
    opset = 11 if op == "Softmax" else 18
    model = make([helper.make_node(op, ["x"], ["y"], name="bad_node", **attrs)],
                 [vi("x", shape)], [vi("y", None)], opset=opset, path=tmp_path / "m.onnx")
    assert model is not None
    with pytest.raises(OnnxImportError, match=why) as info:
        import_onnx(tmp_path / "m.onnx")
    assert "bad_node" in str(info.value) and "\n" not in str(info.value)


def test_the_supported_list_is_the_issue_list_plus_constant():
    issue = ["MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Neg", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Exp", "Log", "Reciprocal", "Pow", "Transpose", "ReduceSum", "ReduceMean", "Identity", "Flatten"]
    assert set(SUPPORTED) == set(issue) | {"Constant"}


def test_model_built_by_hand_matches_its_export(tmp_path):
    """An imported graph exports again with the initializers it was given."""
    w = RNG.standard_normal((3, 2))
    model = make([helper.make_node("MatMul", ["x", "W"], ["z"], name="z"),
                  helper.make_node("Sigmoid", ["z"], ["a"], name="a")],
                 [vi("x", ["N", 3])], [vi("a", ["N", 2])], [init("W", w)], path=tmp_path / "m.onnx")
    graph = import_onnx(tmp_path / "m.onnx")
    job = prepare(graph)
    proto = build_model(job.program, job.arrays)
    again = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    assert model is not None and np.array_equal(again["W"], w)


@pytest.mark.parametrize("name, reduction", [
    ("tutorial_2_2_1", "half_sum"), ("sine_regression", "mean"), ("sine_regression", "sum")])
def test_squared_error_losses_round_trip_as_mse_gates(tmp_path, name, reduction):
    """Sub, Mul(d, d), ReduceSum and Mul by 0.5 (or ReduceMean, or ReduceSum alone) come back
    as one mse gate with its reduction, the graph's output, so the imported graph trains; the
    model exported again is the same model."""
    model = example(name)
    loss = model.by_name("loss")
    model.set_param(loss.id, "reduction", reduction)
    export(model, "onnx", tmp_path / "a.onnx", with_loss=True)
    a = onnx.load(str(tmp_path / "a.onnx"))
    ops = [n.op_type for n in a.graph.node]
    assert ("ReduceSum" in ops) == (reduction != "mean") and ("Mul" in ops[-1:]) == (
        reduction == "half_sum")
    graph = import_onnx(tmp_path / "a.onnx")
    (mse,) = [n for n in graph.nodes.values() if n.op == "mse"]
    assert mse.name == "loss" and mse.params["reduction"] == reduction
    assert graph.meta["output"] == "loss"
    export(graph, "onnx", tmp_path / "b.onnx", with_loss=True)
    b = onnx.load(str(tmp_path / "b.onnx"))
    assert [n.op_type for n in b.graph.node] == ops
    feeds = prepare(model).feeds
    ra, rb = run_reference(a, feeds), run_reference(b, feeds)
    assert ra.keys() == rb.keys() and "loss" in ra
    assert all(np.array_equal(ra[k], rb[k]) for k in ra)
    job = prepare(graph)  # the imported graph computes the same loss in the app
    job.program.set_params(job.arrays)
    assert float(job.program.forward(feeds)) == pytest.approx(float(ra["loss"]), abs=1e-15)


def test_a_squared_error_of_different_shapes_stays_primitive_gates(tmp_path):
    """Sub broadcasting a (3,) target over (N, 3) predictions is not an mse: gates, as written."""
    nodes = [helper.make_node("Sub", ["x", "t"], ["d"], name="diff"),
             helper.make_node("Mul", ["d", "d"], ["sq"], name="sq"),
             helper.make_node("ReduceSum", ["sq"], ["s"], name="total", keepdims=0),
             helper.make_node("Mul", ["s", "half"], ["L"], name="L")]
    model = make(nodes, [vi("x", ["N", 3]), vi("t", [3])], [vi("L", [])], [init("half", 0.5)])
    feeds = {"x": RNG.standard_normal((4, 3)), "t": RNG.standard_normal(3)}
    graph, diff = app_vs_reference(tmp_path, model, feeds)
    assert diff <= 1e-12
    assert sorted(n.op for n in graph.nodes.values() if n.op not in ("input",)) == [
        "mul", "mul_const", "sub", "sum"]
