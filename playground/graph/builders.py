"""Builders of whole structures: a multilayer perceptron from "64, 32"-style sizes (Insert ▸ Layer
Stack), laid out left to right. Like every complex edit, they return the document the model should
become. Plain Python, no Qt."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..engine.registry import MAX_DIM, activations, losses
from . import errors as E
from .apply import scratch_copy as _scratch
from .apply import snapshot as _snapshot
from .layout import layered_positions
from .model import GraphModel

ACTIVATIONS = tuple(activations())  # from the registry: the elementwise activations
LOSSES = (*losses(), "none")


def parse_sizes(text: str) -> list[int]:
    """Layer sizes from text such as ``"64, 32"`` (commas and/or spaces); blank means none."""
    parts = [p for p in re.split(r"[\s,;]+", str(text).strip()) if p]
    sizes = []
    for p in parts:
        if not re.fullmatch(r"\+?\d+", p) or not 1 <= int(p) <= MAX_DIM:
            raise E.GraphError(
                f"'{p}' is not a layer size: write whole numbers from 1 to {MAX_DIM} separated "
                "by commas, e.g. 64, 32")
        sizes.append(int(p))
    return sizes


def _width(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DIM:
        raise E.GraphError(f"{what} must be a whole number from 1 to {MAX_DIM}, got {value!r}")
    return value


def build_mlp(model: GraphModel, input_width: int, hidden: Sequence[int], activation: str,
              output_width: int, loss: str, origin: Iterable[float] = (0.0, 0.0),
              prefix: str = "") -> tuple[dict[str, Any], list[str]]:
    """The document with a whole multilayer perceptron added, laid out by the layered layout
    with its top-left corner at ``origin`` (each W and b just before its dense gate): input ``X`` (N, input_width); per hidden layer ``W_k`` (glorot_uniform, he_normal
    for ReLU-like activations), ``b_k`` (zeros), dense ``z_k`` and activation ``h_k``; an output
    dense layer; then per ``loss``: softmax CE (labels ``y`` (N,), ``loss``, softmax ``probs``),
    MSE (``y`` (N, output_width), ``loss``), binary CE (``y`` (N, output_width), sigmoid
    ``probs``, ``loss``) or none. Names get ``prefix`` and are made unique in the model.
    Returns ``(after, new node ids in creation order)``."""
    input_width = _width(input_width, "the input width")
    output_width = _width(output_width, "the output width")
    sizes = [_width(h, "a hidden layer size") for h in hidden]
    if activation not in ACTIVATIONS:
        raise E.GraphError(f"unknown activation {activation!r} (choose from "
                           f"{', '.join(ACTIVATIONS)})")
    if loss not in LOSSES:
        raise E.GraphError(f"unknown loss {loss!r} (choose from {', '.join(LOSSES)})")
    if loss == "softmax_cross_entropy" and output_width < 2:
        raise E.GraphError("softmax cross-entropy needs at least 2 outputs (one per class); "
                           "for one output use binary cross-entropy")
    ox, oy = (float(v) for v in origin)
    sx, sy = 220.0, 130.0
    scratch = _scratch(model)
    ids: list[str] = []

    def add(op: str, base: str, params: Mapping[str, Any], x: float, y: float) -> str:
        nid = scratch.new_id("n")
        scratch.add_node(op, scratch.unique_name(prefix + base), params, (x, y), node_id=nid)
        ids.append(nid)
        return nid

    def wire(src: str, dst: str, port: str) -> None:
        scratch.connect(src, dst, port, edge_id=scratch.new_id("e"), check_shapes=False)

    init = "he_normal" if activation in ("relu", "leaky_relu") else "glorot_uniform"
    x = add("input", "X", {"shape": [None, input_width]}, ox, oy)
    prev, prev_width, col = x, input_width, 1.0
    widths = [*sizes, output_width]
    for k, width in enumerate(widths, start=1):
        last = k == len(widths)
        dense_x = ox + col * sx
        w = add("parameter", f"W{k}",
                {"shape": [prev_width, width], "init": "glorot_uniform" if last else init},
                dense_x - sx / 2, oy + 1.2 * sy)
        b = add("parameter", f"b{k}", {"shape": [width], "init": "zeros"},
                dense_x - sx / 2, oy + 2.4 * sy)
        z = add("dense", f"z{k}", {}, dense_x, oy)
        wire(prev, z, "x")
        wire(w, z, "W")
        wire(b, z, "b")
        prev, prev_width = z, width
        col += 1.0
        if not last:
            h = add(activation, f"h{k}", {}, ox + col * sx, oy)
            wire(z, h, "x")
            prev = h
            col += 1.0
    end_x = ox + (col - 1.0) * sx  # the output dense layer's column
    if loss == "softmax_cross_entropy":
        probs = add("softmax", "probs", {}, end_x + sx, oy - sy)
        wire(prev, probs, "x")
        y = add("input", "y", {"shape": [None]}, end_x + sx, oy + sy)
        out = add("softmax_cross_entropy", "loss", {}, end_x + 2 * sx, oy)
        wire(prev, out, "logits")
        wire(y, out, "target")
    elif loss == "mse":
        y = add("input", "y", {"shape": [None, output_width]}, end_x + sx, oy + sy)
        out = add("mse", "loss", {}, end_x + 2 * sx, oy)
        wire(prev, out, "pred")
        wire(y, out, "target")
    elif loss == "binary_cross_entropy":
        probs = add("sigmoid", "probs", {}, end_x + sx, oy)
        wire(prev, probs, "x")
        y = add("input", "y", {"shape": [None, output_width]}, end_x + sx, oy + sy)
        out = add("binary_cross_entropy", "loss", {"input": "probabilities"}, end_x + 2 * sx, oy)
        wire(probs, out, "pred")
        wire(y, out, "target")
    for nid, pos in layered_positions(scratch, node_ids=ids, origin=(ox, oy)).items():
        scratch.move_node(nid, pos)
    return _snapshot(scratch), ids


def with_input_width(model: GraphModel, input_id: str, width: int
                     ) -> tuple[dict[str, Any], list[str]]:
    """The document with input ``input_id`` taking ``width`` features per sample (the last
    entry of its shape), and every parameter that multiplies it directly resized to match: the
    ``W`` of a dense gate fed by it (its rows), the right operand of a matmul. For feature inputs
    (x1², x1·x2, sin x1 ...): the network's first layer follows the chosen inputs. Returns
    ``(after, names of the nodes changed)``; the other parameters keep their shapes."""
    width = _width(width, "the number of input features")
    node = model.node(input_id)
    if node.op != "input":
        raise E.GraphError(f"'{node.name}' is not an input node")
    shape = list(node.params.get("shape") or [])
    if not shape:
        raise E.GraphError(f"input '{node.name}' has no feature axis: give it shape (N, k)")
    scratch = _scratch(model)
    changed: list[str] = []
    if shape[-1] != width:
        scratch.set_param(input_id, "shape", [*shape[:-1], width], check_shapes=False)
        changed.append(node.name)
    feeds = {(e.dst, e.port) for e in model.edges.values() if e.src == input_id}
    for e in model.edges.values():
        user = model.nodes[e.dst]
        weight = ((user.op == "dense" and e.port == "W" and (e.dst, "x") in feeds)
                  or (user.op == "matmul" and e.port == "b" and (e.dst, "a") in feeds))
        param = model.nodes[e.src]
        if not weight or param.op != "parameter":
            continue
        pshape = list(param.params.get("shape") or [])
        if len(pshape) == 2 and pshape[0] != width:
            scratch.set_param(param.id, "shape", [width, pshape[1]], check_shapes=False)
            changed.append(param.name)
    return _snapshot(scratch), changed
