"""Export a compiled program to ONNX: the inference graph from the inputs to what the network
predicts (losses too when asked), parameters as initializers, node names kept, a symbolic batch
dimension ``N``; checked with ``onnx.checker.check_model(full_check=True)``, and compared with
the app's own forward pass by ``onnx.reference.ReferenceEvaluator`` (and onnxruntime when it is
installed)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import __version__
from ..engine import Program
from .common import ExportError, ancestors, inference_outputs, loss_nodes, max_difference
from .onnx_ops import ONNX_OPS, OPSET, Builder

IR_VERSION = 8  # the IR that opset 18 came with: readable by every runtime that reads opset 18
_ELEM = {np.dtype(np.float64): 11, np.dtype(np.float32): 1}  # TensorProto.DOUBLE, FLOAT


def output_indices(program: Program, with_loss: bool = False) -> list[int]:
    outs = inference_outputs(program)
    if with_loss:
        outs += [i for i in loss_nodes(program) if i not in outs]
    return outs


def _value_info(helper: Any, name: str, dtype: np.dtype, shape: tuple[int | None, ...]) -> Any:
    dims: list[int | str] = ["N" if d is None else int(d) for d in shape]
    return helper.make_tensor_value_info(name, _ELEM[dtype], dims)


def build_model(program: Program, arrays: Mapping[str, np.ndarray], with_loss: bool = False,
                title: str = "", description: str = "") -> Any:
    """The ONNX ModelProto for ``program`` with ``arrays`` (parameter values by node name)."""
    from onnx import checker, helper

    dtype = program.dtype
    outs = output_indices(program, with_loss)
    need = ancestors(program, outs)
    b = Builder(dtype)
    b.taken = {n.name for n in program.nodes}
    names = {i: n.name for i, n in enumerate(program.nodes)}
    inputs = []
    for i, node in enumerate(program.nodes):
        if not need[i]:
            continue
        role = node.spec.role
        if role == "input":
            inputs.append(_value_info(helper, node.name, dtype, node.shape))
        elif role == "parameter":
            trainable = node.params.get("trainable", True)
            b.taken.discard(node.name)
            b.const(node.name, arrays[node.name],
                    doc="parameter" if trainable else "parameter (not trainable)")
        elif role == "constant":
            b.taken.discard(node.name)
            b.const(node.name, node.params["value"])
        else:
            op = ONNX_OPS.get(node.op)
            if op is None:
                raise ExportError(f"node '{node.name}' uses op '{node.op}', which ONNX export "
                                  "cannot express", node.name, node.op)
            b.in_shapes = [program.nodes[j].shape for j in node.inputs]
            b.final = node.name
            op.emit(b, node, [names[j] for j in node.inputs], node.name)
    outputs = [_value_info(helper, names[i], dtype, program.nodes[i].shape) for i in outs]
    graph = helper.make_graph(b.nodes, (title or "backprop_playground")[:200], inputs, outputs,
                              initializer=b.initializers, doc_string=description)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="backprop-playground", producer_version=__version__,
                              ir_version=IR_VERSION)
    try:
        checker.check_model(model, full_check=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises several types; any means a bug here
        raise ExportError(f"the ONNX model failed onnx.checker: {_first_line(exc)}") from None
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def app_outputs(program: Program, feeds: Mapping[str, np.ndarray],
                outs: list[int]) -> dict[str, np.ndarray]:
    program.forward(dict(feeds))
    return {program.nodes[i].name: np.array(program.values[i]) for i in outs}


def onnx_feeds(model: Any, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {vi.name: np.asarray(feeds[vi.name]) for vi in model.graph.input}


def run_reference(model: Any, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    names = [o.name for o in model.graph.output]
    results = ReferenceEvaluator(model).run(None, onnx_feeds(model, feeds))
    return dict(zip(names, results, strict=True))


def run_onnxruntime(model: Any, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    return dict(zip(names, session.run(names, onnx_feeds(model, feeds)), strict=True))


def parity(model: Any, program: Program, feeds: Mapping[str, np.ndarray],
           runtime: str = "reference") -> float:
    """Largest difference between the ONNX model's outputs and the app's forward values."""
    index = {n.name: i for i, n in enumerate(program.nodes)}
    outs = [index[o.name] for o in model.graph.output]
    want = app_outputs(program, feeds, outs)
    got = run_reference(model, feeds) if runtime == "reference" else run_onnxruntime(model, feeds)
    return max((max_difference(got[k], want[k]) for k in want), default=0.0)


def has_onnxruntime() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None
