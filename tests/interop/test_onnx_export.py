"""ONNX export: the checker passes and the model computes the app's numbers on every example."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import OpSpec, ops, register, shapes, unregister
from playground.graph import GraphModel
from playground.interop import ExportError, export, prepare
from playground.interop.onnx_export import build_model, has_onnxruntime, parity
from playground.interop.onnx_ops import ONNX_OPS
from tests.interop.interop_helpers import (
    EXAMPLE_NAMES,
    TRAINABLE,
    composite_digits,
    example,
    require,
)

TOL = {"float64": 1e-10, "float32": 1e-5}


def _load(path):
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    return model


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_reference_evaluator_equals_the_app_on_every_example(tmp_path, name, dtype):
    model = example(name, dtype)
    report = export(model, "onnx", tmp_path / "m.onnx")
    proto = _load(tmp_path / "m.onnx")
    job = prepare(model)
    assert report.max_difference is not None and report.max_difference <= TOL[dtype]
    assert parity(proto, job.program, job.feeds) <= TOL[dtype]
    assert report.checked_with.startswith("onnx.reference")
    want_elem = 11 if dtype == "float64" else 1
    assert all(t.data_type == want_elem for t in proto.graph.initializer if t.dims)


@pytest.mark.parametrize("name", TRAINABLE)
def test_losses_export_on_request_and_match(tmp_path, name):
    export(example(name), "onnx", tmp_path / "m.onnx", with_loss=True)
    proto = _load(tmp_path / "m.onnx")
    job = prepare(example(name))
    assert "loss" in [o.name for o in proto.graph.output]
    assert "y" in [i.name for i in proto.graph.input]
    assert parity(proto, job.program, job.feeds) <= 1e-10


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_onnxruntime_agrees_too(name):
    require("onnxruntime")
    job = prepare(example(name))
    proto = build_model(job.program, job.arrays, with_loss=True)
    assert parity(proto, job.program, job.feeds, "onnxruntime") <= 1e-10


def test_names_batch_axis_and_weights_survive(tmp_path):
    model = example("digits_mlp")
    weights = {"W1": np.full((64, 64), 0.25), "b2": np.arange(10.0)}
    export(model, "onnx", tmp_path / "d.onnx", weights=weights)
    proto = _load(tmp_path / "d.onnx")
    from onnx import numpy_helper

    names = {n.name for n in proto.graph.node}
    assert {"z1", "h1", "z2", "probs"} <= names
    (x,) = proto.graph.input
    assert x.name == "X" and x.type.tensor_type.shape.dim[0].dim_param == "N"
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    assert np.array_equal(inits["W1"], weights["W1"]) and np.array_equal(inits["b2"], weights["b2"])
    assert [o.name for o in proto.graph.output] == ["probs"]


def test_composites_are_inlined_with_their_path_as_name(tmp_path):
    report = export(composite_digits(), "onnx", tmp_path / "c.onnx")
    proto = _load(tmp_path / "c.onnx")
    assert report.max_difference is not None and report.max_difference <= 1e-10
    assert "hidden/act/h1" in {n.name for n in proto.graph.node}
    assert "hidden/W1" in {t.name for t in proto.graph.initializer}


def test_an_op_onnx_cannot_express_is_refused_by_node_and_op(tmp_path):
    register(OpSpec("cube_test", ("x",), lambda xs, p: xs[0] ** 3,
                    (lambda g, y, xs, p, s: 3 * g * xs[0] ** 2,), shapes.same, test_only=True))
    try:
        m = GraphModel()
        x = m.add_node("input", "x", {"shape": [], "value": 2.0})
        c = m.add_node("cube_test", "cubed")
        m.connect(x.id, c.id, "x")
        with pytest.raises(ExportError, match="'cubed'.*'cube_test'") as info:
            export(m, "onnx", tmp_path / "x.onnx")
        assert info.value.node == "cubed" and info.value.op == "cube_test"
        assert not (tmp_path / "x.onnx").exists()
    finally:
        unregister("cube_test")


def test_every_registry_op_has_an_onnx_translation_reading_all_its_params():
    for spec in ops():
        if spec.is_source:
            continue
        assert spec.name in ONNX_OPS, f"op '{spec.name}' has no ONNX translation"
        missing = {p.name for p in spec.params} - set(ONNX_OPS[spec.name].params)
        assert not missing, f"the ONNX translation of '{spec.name}' ignores {missing}"


def test_every_op_exports_and_matches(tmp_path):
    """One graph per op with params off their defaults, against the app."""
    cases = {
        "leaky_relu": {"alpha": 0.2}, "softmax": {"axis": 0}, "log_softmax": {"axis": 1},
        "transpose": {"axes": [1, 0]}, "sum": {"axis": 1, "keepdims": True},
        "mean": {"axis": None}, "pow": {"exponent": 3.0}, "add_const": {"c": 0.5},
        "mul_const": {"c": 2.5},
    }
    rng = np.random.default_rng(1)
    for spec in ops():
        if spec.is_source or spec.role == "loss":
            continue
        m = GraphModel()
        ins = []
        for port in spec.inputs:
            shape = [4, 4] if spec.name in ("matmul", "dense") or port != "b" else [4]
            if spec.name == "dense" and port == "b":
                shape = [4]
            value = rng.uniform(0.5, 1.5, size=shape).tolist()
            ins.append(m.add_node("input", f"in_{port}", {"shape": shape, "value": value}))
        node = m.add_node(spec.name, "out", cases.get(spec.name, {}))
        for port, src in zip(spec.inputs, ins, strict=True):
            m.connect(src.id, node.id, port)
        report = export(m, "onnx", tmp_path / f"{spec.name}.onnx")
        assert report.max_difference is not None and report.max_difference <= 1e-12, spec.name


def get_reductions(op: str) -> tuple[str, ...]:
    """The reductions a loss op offers, from the registry (mean, sum; mse also half_sum)."""
    from playground.engine import get_op

    return get_op(op).param("reduction").choices


LOSS_CASES = [
    ("mse", {}, [[0.5, -1.0], [2.0, 0.0]]),
    ("softmax_cross_entropy", {}, [1.0, 0.0]),
    ("softmax_cross_entropy", {}, [[0.0, 1.0], [1.0, 0.0]]),
    ("binary_cross_entropy", {"input": "logits"}, [[1.0, 0.0], [0.0, 1.0]]),
    ("binary_cross_entropy", {"input": "probabilities"}, [[1.0, 0.0], [0.0, 1.0]]),
]


@pytest.mark.parametrize("loss, params, target", [
    (loss, {**params, "reduction": r}, target) for loss, params, target in LOSS_CASES
    for r in get_reductions(loss)])
def test_every_loss_exports_on_request_and_matches(tmp_path, loss, params, target):
    m = GraphModel()
    pred = [[0.3, 0.6], [0.9, 0.2]] if params.get("input") == "probabilities" else \
        [[0.3, -2.0], [40.0, 0.2]]
    x = m.add_node("input", "x", {"shape": [None, 2], "value": pred})
    t = m.add_node("input", "t", {"shape": [None] + ([2] if np.ndim(target) == 2 else []),
                                  "value": target})
    node = m.add_node(loss, "L", params)
    ports = get_ports(loss)
    m.connect(x.id, node.id, ports[0])
    m.connect(t.id, node.id, ports[1])
    m.meta["output"] = "L"
    proto_path = tmp_path / "l.onnx"
    report = export(m, "onnx", proto_path, with_loss=True)
    proto = _load(proto_path)
    assert "L" in [o.name for o in proto.graph.output]
    assert report.max_difference is not None and report.max_difference <= 1e-10
    assert report.checked_with.endswith("onnxruntime") or not has_onnxruntime()
    ops = [n.op_type for n in proto.graph.node]
    if params["reduction"] == "mean":
        assert "ReduceSum" not in ops[-1:] and "Mul" not in ops[-1:]
    elif loss != "softmax_cross_entropy" or len(np.shape(target)) == 2:
        assert "ReduceMean" not in ops and ("Mul" if params["reduction"] == "half_sum"
                                           else "ReduceSum") == ops[-1]


def get_ports(op: str) -> tuple[str, ...]:
    from playground.engine import get_op

    return get_op(op).inputs
