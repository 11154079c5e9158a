"""How each engine op is written as ONNX nodes (opset :data:`OPSET`). One entry per registry op;
a test checks that every op of the registry has one and that it reads every param the op has,
so a new op or param cannot slip through an export unnoticed.

An emitter gets the builder, the program node, its input value names and the output name, and
adds nodes whose last output is ``out`` (named after the app node, so names survive).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import ProgramNode

OPSET = 18  # pinned: Reduce* take their axes as an input from 18 on, for every reduction alike


class Builder:
    """Collects ONNX nodes and constant initializers for one graph."""

    def __init__(self, dtype: np.dtype) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.in_shapes: list[tuple[int | None, ...]] = []  # of the node being emitted
        self.final = ""  # the output name of the node being emitted (kept as it is)
        self.taken: set[str] = set()

    def fresh(self, name: str) -> str:
        out, k = name, 1
        while out in self.taken:
            k += 1
            out = f"{name}_{k}"
        self.taken.add(out)
        return out

    def node(self, op: str, inputs: list[str], out: str, name: str | None = None,
             **attrs: Any) -> str:
        if out != self.final:
            out = self.fresh(out)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=name or out, **attrs))
        return out

    def const(self, name: str, value: Any, dtype: Any = None, doc: str = "constant") -> str:
        arr = np.asarray(value, dtype=dtype or self.dtype)
        name = self.fresh(name)
        tensor = self.numpy_helper.from_array(arr, name)
        tensor.doc_string = doc
        self.initializers.append(tensor)
        return name


Emit = Callable[[Builder, ProgramNode, list[str], str], None]


@dataclass(frozen=True)
class OnnxOp:
    emit: Emit
    params: tuple[str, ...] = ()  # the op's params this emitter reads


def _simple(op: str) -> OnnxOp:
    def emit(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
        b.node(op, ins, out)
    return OnnxOp(emit)


def _with_const(op: str, param: str) -> OnnxOp:
    def emit(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
        b.node(op, [ins[0], b.const(f"{n.name}/{param}", n.params[param])], out)
    return OnnxOp(emit, (param,))


def _axis_op(op: str) -> OnnxOp:
    def emit(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
        b.node(op, ins, out, axis=int(n.params["axis"]))
    return OnnxOp(emit, ("axis",))


def _reduce(op: str) -> OnnxOp:
    def emit(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
        keep = int(bool(n.params["keepdims"]))
        if n.params["axis"] is None:
            b.node(op, ins, out, keepdims=keep)  # no axes: reduce over every axis
        else:
            axes = b.const(f"{n.name}/axes", [int(n.params["axis"])], np.int64)
            b.node(op, [ins[0], axes], out, keepdims=keep)
    return OnnxOp(emit, ("axis", "keepdims"))


def _transpose(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
    axes = n.params["axes"]
    if axes:
        rank = len(n.shape)
        b.node("Transpose", ins, out, perm=[int(a) % rank for a in axes])
    else:
        b.node("Transpose", ins, out)  # no perm: reverse the axes, like numpy


def _dense(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
    # Gemm when the bias fits the (rows, units) result, as it does for a bias of shape (units,)
    if len(n.shape) == 2:
        b.node("Gemm", ins, out)
    else:
        b.node("Add", [b.node("MatMul", ins[:2], f"{n.name}/matmul"), ins[2]], out)


def _leaky(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
    b.node("LeakyRelu", ins, out, alpha=float(n.params["alpha"]))


# ---------------------------------------------------------------- losses (optional outputs)

def _reduce_loss(b: Builder, n: ProgramNode, terms: str, out: str) -> None:
    """The loss's terms added up as its ``reduction`` says: ReduceMean, ReduceSum, or ReduceSum
    then × 0.5 (``half_sum``); no axes: over every axis, to a scalar."""
    reduction = n.params["reduction"]
    if reduction == "mean":
        b.node("ReduceMean", [terms], out, keepdims=0)
    elif reduction == "sum":
        b.node("ReduceSum", [terms], out, keepdims=0)
    else:
        total = b.node("ReduceSum", [terms], f"{n.name}/sum", keepdims=0)
        b.node("Mul", [total, b.const(f"{n.name}/half", 0.5)], out)


def _mse(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
    d = b.node("Sub", ins, f"{n.name}/diff")
    _reduce_loss(b, n, b.node("Mul", [d, d], f"{n.name}/squared"), out)


def _cross_entropy(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
    logits, target = ins
    if len(b.in_shapes[1]) == 1:  # class labels (N,), fed as numbers
        labels = b.node("Cast", [target], f"{n.name}/labels", to=7)  # INT64
        b.node("SoftmaxCrossEntropyLoss", [logits, labels], out,
               reduction=str(n.params["reduction"]))
        return
    logp = b.node("LogSoftmax", [logits], f"{n.name}/log_softmax", axis=1)
    prod = b.node("Mul", [target, logp], f"{n.name}/target_log_p")
    rows = b.node("ReduceSum", [prod, b.const(f"{n.name}/axis1", [1], np.int64)],
                  f"{n.name}/row_sums", keepdims=0)
    neg = b.node("Neg", [rows], f"{n.name}/per_row")
    _reduce_loss(b, n, neg, out)


def _bce(b: Builder, n: ProgramNode, ins: list[str], out: str) -> None:
    x, t = ins
    name = n.name
    if n.params["input"] == "logits":  # log(1 + eˣ) − t·x = relu(x) + log(1 + e^−|x|) − t·x
        soft = b.node("Add", [
            b.node("Relu", [x], f"{name}/relu"),
            b.node("Log", [b.node("Add", [
                b.node("Exp", [b.node("Neg", [b.node("Abs", [x], f"{name}/abs")], f"{name}/nabs")],
                       f"{name}/exp"), b.const(f"{name}/one", 1.0)], f"{name}/one_plus")],
                   f"{name}/log")], f"{name}/softplus")
        per = b.node("Sub", [soft, b.node("Mul", [t, x], f"{name}/tx")], f"{name}/per_item")
    else:
        eps = max(1e-12, float(np.finfo(b.dtype).eps))
        q = b.node("Clip", [x, b.const(f"{name}/lo", eps), b.const(f"{name}/hi", 1.0 - eps)],
                   f"{name}/q")
        one = b.const(f"{name}/one", 1.0)
        a = b.node("Mul", [t, b.node("Log", [q], f"{name}/log_q")], f"{name}/t_log_q")
        c = b.node("Mul", [b.node("Sub", [one, t], f"{name}/one_minus_t"),
                           b.node("Log", [b.node("Sub", [one, q], f"{name}/one_minus_q")],
                                  f"{name}/log_1mq")], f"{name}/rest")
        per = b.node("Neg", [b.node("Add", [a, c], f"{name}/sum_terms")], f"{name}/per_item")
    _reduce_loss(b, n, per, out)


ONNX_OPS: dict[str, OnnxOp] = {
    "add": _simple("Add"), "sub": _simple("Sub"), "mul": _simple("Mul"), "div": _simple("Div"),
    "neg": _simple("Neg"), "exp": _simple("Exp"), "log": _simple("Log"),
    "reciprocal": _simple("Reciprocal"), "relu": _simple("Relu"), "tanh": _simple("Tanh"),
    "sigmoid": _simple("Sigmoid"), "matmul": _simple("MatMul"),
    "add_const": _with_const("Add", "c"), "mul_const": _with_const("Mul", "c"),
    "pow": _with_const("Pow", "exponent"),
    "leaky_relu": OnnxOp(_leaky, ("alpha",)),
    "softmax": _axis_op("Softmax"), "log_softmax": _axis_op("LogSoftmax"),
    "transpose": OnnxOp(_transpose, ("axes",)),
    "sum": _reduce("ReduceSum"), "mean": _reduce("ReduceMean"),
    "dense": OnnxOp(_dense),
    "mse": OnnxOp(_mse, ("reduction",)),
    "softmax_cross_entropy": OnnxOp(_cross_entropy, ("reduction",)),
    "binary_cross_entropy": OnnxOp(_bce, ("input", "reduction")),
}
