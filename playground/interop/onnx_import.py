"""Import an MLP-class ONNX model onto the canvas as a :class:`GraphModel`.

Initializers become parameter nodes (scalars fold into ``+c``, ``×c`` and ``xᵖ`` gates), graph
inputs become input nodes with a batch axis where the size is symbolic, and each supported ONNX
node becomes one gate (Gemm: a dense gate, or matmul, scale and add when it has alpha/beta).
Anything else is refused by name. The result is laid out with ``auto_layout``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import EngineError
from ..graph import GraphModel
from ..graph.edit import auto_layout
from .onnx_read import (
    OnnxImportError,
    attributes,
    check_model_limits,
    graph_input,
    opset_of,
    read_model,
    to_array,
)

SUPPORTED = ("MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Neg", "Relu", "LeakyRelu", "Sigmoid",
             "Tanh", "Softmax", "LogSoftmax", "Exp", "Log", "Reciprocal", "Pow", "Transpose",
             "ReduceSum", "ReduceMean", "Identity", "Flatten", "Constant")
_UNARY = {"Neg": "neg", "Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Exp": "exp",
          "Log": "log", "Reciprocal": "reciprocal"}
_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}


def import_onnx(path: str | os.PathLike[str]) -> GraphModel:
    """Read ``path`` and return the graph; raise :class:`OnnxImportError` (one line) on any
    problem. Nothing else is raised for a bad file."""
    proto = read_model(path)
    try:
        return Importer(proto).run()
    except OnnxImportError as exc:
        raise OnnxImportError(f"{Path(path).name}: {exc}") from None
    except EngineError as exc:  # a value the graph refuses (a param out of bounds, a shape)
        raise OnnxImportError(f"{Path(path).name}: {exc}") from None
    except RecursionError:
        raise OnnxImportError(f"{Path(path).name}: the model is nested too deeply") from None


class Importer:
    def __init__(self, proto: Any) -> None:
        check_model_limits(proto)
        self.proto = proto
        self.graph = proto.graph
        self.opset = opset_of(proto)
        self.model = GraphModel()
        self.values: dict[str, str] = {}  # ONNX value name → id of the node producing it
        self.consts: dict[str, np.ndarray] = {}  # initializers and Constant outputs, by name
        self.docs: dict[str, str] = {}
        self.uses: dict[str, int] = {}

    # -- the walk ------------------------------------------------------------------------------
    def run(self) -> GraphModel:
        g = self.graph
        for t in g.initializer:
            if t.name in self.consts:
                raise OnnxImportError(f"two initializers are named '{t.name}'")
            self.consts[t.name] = to_array(t, f"initializer '{t.name}'")
            self.docs[t.name] = t.doc_string
        floats = [a.dtype for a in self.consts.values() if a.dtype.kind == "f"]
        inputs = [graph_input(vi) for vi in g.input if vi.name not in self.consts]
        double = any(d == np.float64 for d in floats) or any(i.elem == 11 for i in inputs)
        self.model.dtype = "float64" if double or not (floats or inputs) else "float32"
        for spec in inputs:
            node = self.model.add_node("input", self._name(spec.name), {"shape": spec.shape})
            self.values[spec.name] = node.id
        order = self._order()
        for n in order:
            for name in n.input:
                self.uses[name] = self.uses.get(name, 0) + 1
        losses = self._squared_errors(order)
        absorbed = {id(m) for parts, _ in losses.values() for m in parts[:-1]}
        for n in order:
            if id(n) in losses:
                self._mse(*losses[id(n)])
            elif id(n) not in absorbed:
                self._node(n)
        outputs = []
        for o in g.output:
            if o.name not in self.values:
                raise OnnxImportError(f"output '{o.name}' is not computed by any node")
            outputs.append(self.model.nodes[self.values[o.name]].name)
        trains = [name for name in outputs if self.model.by_name(name).op == "mse"]
        self.model.meta = {"title": g.name or "Imported ONNX model",
                           "description": (g.doc_string or self.proto.doc_string)[:2000],
                           "output": trains[0] if len(trains) == 1 else outputs[0],
                           "imported_from": "onnx"}
        problems = self.model.analyse().problems
        if problems:
            raise OnnxImportError(f"the imported graph does not fit together: "
                                  f"{next(iter(problems.values()))}")
        for item in auto_layout(self.model)["nodes"]:
            self.model.move_node(item["id"], item["position"])
        return self.model

    def _order(self) -> list[Any]:
        """The nodes in dependency order; refuse reads of missing values and loops."""
        nodes = list(self.graph.node)
        producer: dict[str, int] = {}
        for k, n in enumerate(nodes):
            for out in n.output:
                if out in producer or out in self.values or out in self.consts:
                    raise OnnxImportError(f"the value '{out}' is produced twice")
                if out:
                    producer[out] = k
        deps: list[set[int]] = []
        for n in nodes:
            mine = set()
            for name in n.input:
                if not name:
                    continue
                if name in producer:
                    mine.add(producer[name])
                elif name not in self.values and name not in self.consts:
                    raise OnnxImportError(
                        f"node '{n.name or n.op_type}' ({n.op_type}) reads '{name}', which no "
                        "node, graph input or initializer provides (a missing initializer?)")
            deps.append(mine)
        done: list[int] = []
        state = [0] * len(nodes)  # 0 new, 1 waiting, 2 done
        for start in range(len(nodes)):
            stack = [(start, iter(sorted(deps[start])))]
            if state[start]:
                continue
            state[start] = 1
            while stack:
                k, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[k] = 2
                    done.append(k)
                    stack.pop()
                elif state[nxt] == 1:
                    loop = [nodes[j].name or nodes[j].op_type for j, _ in stack]
                    raise OnnxImportError(f"the graph has a loop through {', '.join(loop[-5:])}")
                elif state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, iter(sorted(deps[nxt]))))
        return [nodes[k] for k in done]

    # -- helpers ---------------------------------------------------------------------------------
    def _name(self, base: str) -> str:
        return self.model.unique_name(base or "node")

    def _add(self, op: str, base: str, ins: dict[str, str], params: dict[str, Any] | None = None) -> str:
        node = self.model.add_node(op, self._name(base), params or {})
        for port, src in ins.items():
            self.model.connect(src, node.id, port, check_shapes=False)
        return node.id

    def _data(self, name: str, what: str) -> str:
        """The node id for value ``name`` used as data (initializers become parameters)."""
        if name in self.values:
            return self.values[name]
        arr = self.consts[name]
        if arr.dtype.kind != "f":
            raise OnnxImportError(f"{what} uses the integer tensor '{name}' as data")
        doc = self.docs.get(name, "")
        if doc == "constant" or (arr.ndim == 0 and not doc.startswith("parameter")):
            nid = self._add("constant", name, {}, {"value": arr.tolist()})
        else:
            nid = self._add("parameter", name, {}, {
                "shape": list(arr.shape), "init": "zeros", "value": arr.tolist(),
                "trainable": doc != "parameter (not trainable)"})
        self.values[name] = nid
        return nid

    def _scalar(self, name: str) -> float | None:
        arr = self.consts.get(name) if name not in self.values else None
        if arr is None or arr.size != 1 or arr.dtype.kind != "f":
            return None
        if self.docs.get(name, "").startswith("parameter"):
            return None
        return float(arr.reshape(()))

    def _rank(self, nid: str) -> int | None:
        shape = self.model.analyse().shapes.get(nid)
        return None if shape is None else len(shape)

    # -- a squared-error loss ------------------------------------------------------------------
    def _squared_errors(self, order: list[Any]) -> dict[int, tuple[list[Any], str]]:
        """The squared-error losses written as this app's export writes them: Sub, Mul(d, d),
        then ReduceMean (``mean``), ReduceSum (``sum``) or ReduceSum and Mul by 0.5
        (``half_sum``), over every axis to a scalar, with nothing else reading the steps
        between. By the id of the last node: (the nodes, first to last; the reduction)."""
        readers: dict[str, list[Any]] = {}
        for n in order:
            for name in dict.fromkeys(n.input):  # Mul(d, d) reads d once
                readers.setdefault(name, []).append(n)
        outputs = {o.name for o in self.graph.output}

        def only_reader(name: str) -> Any:
            users = readers.get(name, [])
            return users[0] if len(users) == 1 and name not in outputs else None

        found: dict[int, tuple[list[Any], str]] = {}
        for n in order:
            if n.op_type != "Sub" or len(n.input) != 2 or len(n.output) != 1:
                continue
            sq = only_reader(n.output[0])
            if sq is None or sq.op_type != "Mul" or list(sq.input) != [n.output[0]] * 2:
                continue
            red = only_reader(sq.output[0])
            a = attributes(red) if red is not None else {}
            if red is None or red.op_type not in ("ReduceMean", "ReduceSum") \
                    or [i for i in red.input[1:] if i] or "axes" in a \
                    or a.get("keepdims", 1) != 0 or a.get("noop_with_empty_axes", 0):
                continue
            parts, reduction = [n, sq, red], "mean" if red.op_type == "ReduceMean" else "sum"
            half = only_reader(red.output[0]) if reduction == "sum" else None
            if half is not None and half.op_type == "Mul" and len(half.input) == 2:
                other = half.input[1] if half.input[0] == red.output[0] else half.input[0]
                if self._scalar(other) == 0.5:
                    parts, reduction = [*parts, half], "half_sum"
            found[id(parts[-1])] = (parts, reduction)
        return found

    def _mse(self, parts: list[Any], reduction: str) -> None:
        """One mse gate for the steps ``parts`` (see :meth:`_squared_errors`), when prediction
        and target have the same shape; else the steps one gate each, as they are."""
        from ..engine import shapes

        sub, last = parts[0], parts[-1]
        label = f"node '{last.name or last.output[0]}' ({last.op_type})"
        pred, target = (self._data(name, label) for name in sub.input)
        found = self.model.analyse().shapes
        pred_shape, target_shape = found.get(pred), found.get(target)
        try:
            if pred_shape is None or target_shape is None:
                raise EngineError("shapes unknown")
            shapes.loss_pair([pred_shape, target_shape], {})
        except EngineError:
            for n in parts:
                self._node(n)
            return
        base = last.name.strip("/") or last.output[0]
        self.values[last.output[0]] = self._add("mse", base, {"pred": pred, "target": target},
                                                {"reduction": reduction})

    # -- one node ------------------------------------------------------------------------------
    def _node(self, n: Any) -> None:
        op = n.op_type
        label = f"node '{n.name or (n.output[0] if n.output else op)}' ({op})"
        if n.domain not in ("", "ai.onnx") or op not in SUPPORTED:
            where = f" from domain '{n.domain}'" if n.domain not in ("", "ai.onnx") else ""
            raise OnnxImportError(f"{label}: the op '{op}'{where} is not supported (this app "
                                  f"imports {', '.join(SUPPORTED)})")
        if len(n.output) != 1 or not n.output[0]:
            raise OnnxImportError(f"{label}: expected exactly one output")
        base = n.name.strip("/") or n.output[0]
        handler: Callable[[Any, str, str, dict[str, Any]], str | None] = getattr(
            self, f"_op_{op}", self._op_simple)
        try:
            result = handler(n, base, label, attributes(n))
        except (IndexError, KeyError) as exc:  # an input or constant the op needs is missing
            raise OnnxImportError(f"{label}: malformed, an input it needs is missing "
                                  f"({type(exc).__name__} {exc})") from None
        if result is not None:
            self.values[n.output[0]] = result

    def _op_Constant(self, n: Any, base: str, label: str, a: dict[str, Any]) -> None:
        if "value" in a and isinstance(a["value"], np.ndarray):
            arr = a["value"]
        elif "value_float" in a:
            arr = np.asarray(a["value_float"], dtype=np.float32)
        elif "value_floats" in a:
            arr = np.asarray(a["value_floats"], dtype=np.float32)
        elif "value_int" in a:
            arr = np.asarray(a["value_int"], dtype=np.int64)
        elif "value_ints" in a:
            arr = np.asarray(a["value_ints"], dtype=np.int64)
        else:
            raise OnnxImportError(f"{label}: only numeric constants are supported")
        self.consts[n.output[0]] = arr
        self.docs[n.output[0]] = "constant"

    def _op_Identity(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        return self._data(n.input[0], label)

    def _op_Flatten(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        src = self._data(n.input[0], label)
        rank = self._rank(src)
        axis = a.get("axis", 1)
        if rank is None or not (rank == 2 and axis in (1, -1)):
            raise OnnxImportError(f"{label}: Flatten is imported only where it changes nothing "
                                  f"(a 2-D input and axis 1); here the input has rank {rank} "
                                  f"and axis is {axis}")
        return src

    def _op_simple(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        op = n.op_type
        if op in _UNARY:
            return self._add(_UNARY[op], base, {"x": self._data(n.input[0], label)})
        x, y = n.input[0], n.input[1]
        if op in ("Add", "Mul", "Sub"):
            for first, second in ((x, y), (y, x)):
                c = self._scalar(second)
                if c is None or (op == "Sub" and second == x):
                    continue
                kind = "mul_const" if op == "Mul" else "add_const"
                c = -c if op == "Sub" else c
                return self._add(kind, base, {"x": self._data(first, label)}, {"c": c})
        return self._add(_BINARY[op], base, {"a": self._data(x, label), "b": self._data(y, label)})

    def _op_MatMul(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        return self._add("matmul", base, {"a": self._data(n.input[0], label),
                                          "b": self._data(n.input[1], label)})

    def _transposed(self, name: str, base: str, label: str) -> str:
        """``name`` transposed: an initializer used only here is stored transposed (a layout
        change, not a new value); anything else gets a transpose gate."""
        arr = self.consts.get(name) if name not in self.values else None
        if arr is not None and arr.ndim == 2 and self.uses.get(name, 0) == 1:
            self.consts[name] = np.ascontiguousarray(arr.T)
            return self._data(name, label)
        return self._add("transpose", f"{base}_T", {"x": self._data(name, label)}, {"axes": []})

    def _op_Gemm(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
        A = (self._transposed(n.input[0], f"{base}_A", label) if a.get("transA", 0)
             else self._data(n.input[0], label))
        B = (self._transposed(n.input[1], base, label) if a.get("transB", 0)
             else self._data(n.input[1], label))
        has_c = len(n.input) > 2 and bool(n.input[2])
        if alpha == 1.0 and beta == 1.0 and has_c:
            return self._add("dense", base, {"x": A, "W": B, "b": self._data(n.input[2], label)})
        y = self._add("matmul", f"{base}_AB" if has_c or alpha != 1.0 else base, {"a": A, "b": B})
        if alpha != 1.0:
            y = self._add("mul_const", f"{base}_alpha" if has_c else base, {"x": y}, {"c": alpha})
        if not has_c:
            return y
        c = self._data(n.input[2], label)
        if beta != 1.0:
            c = self._add("mul_const", f"{base}_beta", {"x": c}, {"c": beta})
        return self._add("add", base, {"a": y, "b": c})

    def _op_Pow(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        e = self._scalar(n.input[1])
        if e is None:
            raise OnnxImportError(f"{label}: the exponent must be one constant number")
        return self._add("pow", base, {"x": self._data(n.input[0], label)}, {"exponent": e})

    def _op_LeakyRelu(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        return self._add("leaky_relu", base, {"x": self._data(n.input[0], label)},
                         {"alpha": a.get("alpha", 0.01)})

    def _softmax(self, n: Any, base: str, label: str, a: dict[str, Any], op: str) -> str:
        src = self._data(n.input[0], label)
        axis = a.get("axis", -1 if self.opset >= 13 else 1)
        if self.opset < 13:  # before 13 the op flattened from ``axis``: the same only on the last
            rank = self._rank(src)
            if rank is None or axis % rank != rank - 1:
                raise OnnxImportError(f"{label}: before opset 13 Softmax flattens the axes from "
                                      f"{axis}; the app imports it only over the last axis")
            axis = -1
        return self._add(op, base, {"x": src}, {"axis": axis})

    def _op_Softmax(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        return self._softmax(n, base, label, a, "softmax")

    def _op_LogSoftmax(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        return self._softmax(n, base, label, a, "log_softmax")

    def _op_Transpose(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        return self._add("transpose", base, {"x": self._data(n.input[0], label)},
                         {"axes": a.get("perm", [])})

    def _reduce(self, n: Any, base: str, label: str, a: dict[str, Any], op: str,
                axes_input_from: int) -> str:
        src = self._data(n.input[0], label)
        if self.opset >= axes_input_from:
            name = n.input[1] if len(n.input) > 1 else ""
            if name and (name in self.values or name not in self.consts):
                raise OnnxImportError(f"{label}: the axes must be a constant")
            axes = [int(v) for v in self.consts[name].reshape(-1)] if name else []
        else:
            axes = list(a.get("axes", []))
        if not axes and a.get("noop_with_empty_axes", 0):
            return src
        rank = self._rank(src)
        if len(axes) > 1 and (rank is None or sorted(x % rank for x in axes) != list(range(rank))):
            raise OnnxImportError(f"{label}: reduces over axes {axes}; the app reduces one axis "
                                  "or all of them")
        axis = axes[0] if len(axes) == 1 else None
        return self._add(op, base, {"x": src}, {"axis": axis, "keepdims": bool(a.get("keepdims", 1))})

    def _op_ReduceSum(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        return self._reduce(n, base, label, a, "sum", 13)

    def _op_ReduceMean(self, n: Any, base: str, label: str, a: dict[str, Any]) -> str:
        return self._reduce(n, base, label, a, "mean", 18)
