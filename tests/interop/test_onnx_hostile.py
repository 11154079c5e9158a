"""Hostile ONNX files: refused with one typed line, never a traceback or a huge allocation."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from conftest import ROOT

from playground.interop import OnnxImportError, export, import_onnx
from tests.interop.interop_helpers import example

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper


def save(tmp_path, nodes, inputs, outputs, inits=(), name="m.onnx", opset=18):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


def vi(name, shape, elem=TensorProto.DOUBLE):
    return helper.make_tensor_value_info(name, elem, shape)


def huge_tensor(name, dims):
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.DOUBLE
    t.dims.extend(dims)
    return t


def gemm_model(tmp_path, w_tensor):
    return save(tmp_path, [helper.make_node("Gemm", ["x", "W"], ["y"], name="fc")],
                [vi("x", ["N", 3])], [vi("y", ["N", 4])], [w_tensor])


def _valid(tmp_path):
    export(example("moons_mlp"), "onnx", tmp_path / "ok.onnx", check=False)
    return (tmp_path / "ok.onnx").read_bytes()


def case_truncated(tmp_path):
    data = _valid(tmp_path)
    (tmp_path / "m.onnx").write_bytes(data[: len(data) // 2])
    return tmp_path / "m.onnx", "truncated or damaged"


def case_garbage(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"\x00\xff" * 100 + b"not onnx")
    return tmp_path / "m.onnx", "not an ONNX model"


def case_empty(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"")
    return tmp_path / "m.onnx", "not an ONNX model"


def case_unknown_op(tmp_path):
    return save(tmp_path, [helper.make_node("Conv", ["x", "x"], ["y"], name="conv1")],
                [vi("x", ["N", 3])], [vi("y", None)]), "'Conv' is not supported"


def case_custom_domain(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"], name="r", domain="com.evil")
    return save(tmp_path, [node], [vi("x", ["N", 3])], [vi("y", None)]), "domain 'com.evil'"


def case_cycle(tmp_path):
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["b"], name="second")]
    return save(tmp_path, nodes, [vi("x", [2])], [vi("b", [2])]), "loop through"


def case_missing_initializer(tmp_path):
    return save(tmp_path, [helper.make_node("Gemm", ["x", "W", "c"], ["y"], name="fc")],
                [vi("x", ["N", 3])], [vi("y", None)]), "reads 'W', which no node"


def case_absurd_initializer(tmp_path):
    return gemm_model(tmp_path, huge_tensor("W", [10**6, 10**6])), "has 1000000000000 numbers"


def case_absurd_dimension(tmp_path):
    return gemm_model(tmp_path, huge_tensor("W", [3, 10**12])), "unusable shape"


def case_negative_dimension(tmp_path):
    return gemm_model(tmp_path, huge_tensor("W", [3, -4])), "unusable shape"


def case_lying_dims(tmp_path):
    t = numpy_helper.from_array(np.ones((3, 4)), "W")
    del t.dims[:]
    t.dims.extend([300, 400])
    return gemm_model(tmp_path, t), "the file is damaged"


def case_absurd_input(tmp_path):
    return save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], name="r")],
                [vi("x", ["N", 10**9])], [vi("y", None)]), "unusable size 1000000000"


def case_external_data(tmp_path):
    t = huge_tensor("W", [3, 4])
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    return gemm_model(tmp_path, t), "external data"


def case_nan_weights(tmp_path):
    return gemm_model(tmp_path, numpy_helper.from_array(np.full((3, 4), np.nan), "W")), "NaN"


def case_int_input(tmp_path):
    return save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], name="r")],
                [vi("x", ["N", 3], TensorProto.INT64)], [vi("y", None)]), "int64 numbers"


def case_string_tensor(tmp_path):
    t = helper.make_tensor("W", TensorProto.STRING, [1], [b"x"])
    return gemm_model(tmp_path, t), "string numbers"


def case_bad_gemm_shapes(tmp_path):
    w = numpy_helper.from_array(np.ones((5, 4)), "W")
    return gemm_model(tmp_path, w), "does not fit together"


def case_missing_operand(tmp_path):
    return save(tmp_path, [helper.make_node("Add", ["x"], ["y"], name="half_add")],
                [vi("x", [2])], [vi("y", [2])]), "half_add' (Add): malformed"


def case_tensor_exponent(tmp_path):
    return save(tmp_path, [helper.make_node("Pow", ["x", "x"], ["y"], name="p")],
                [vi("x", [2])], [vi("y", [2])]), "exponent must be one constant"


def case_too_many_nodes(tmp_path):
    nodes = [helper.make_node("Identity", [f"v{k}"], [f"v{k + 1}"], name=f"i{k}")
             for k in range(6000)]
    return save(tmp_path, nodes, [vi("v0", [2])], [vi("v6000", [2])]), "at most 5000"


def case_future_opset(tmp_path):
    return save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], name="r")],
                [vi("x", [2])], [vi("y", [2])], opset=999), "opset 999"


def case_missing_file(tmp_path):
    return tmp_path / "nope.onnx", "no such file"


def case_folder(tmp_path):
    return tmp_path, "is a folder"


CASES = [v for k, v in sorted(globals().items()) if k.startswith("case_")]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__[5:] for c in CASES])
def test_refused_with_one_clear_line_and_no_big_allocation(tmp_path, case):
    path, why = case(tmp_path)
    tracemalloc.start()
    try:
        with pytest.raises(OnnxImportError) as info:
            import_onnx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert why in message and "\n" not in message and len(message) < 400, message
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB allocated while refusing {path.name}"


def test_the_command_line_prints_one_line_and_no_traceback(tmp_path):
    path, _ = case_truncated(tmp_path)
    result = subprocess.run([sys.executable, "-m", "playground", "import", str(path),
                             str(tmp_path / "g.json")], check=False, cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("error: m.onnx: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and not (tmp_path / "g.json").exists()
