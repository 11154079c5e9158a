"""Compile a graph document into an engine :class:`Program` (composites inlined)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import MemoryBudgetError, Program, ProgramNode
from ..engine.registry import Shape, ShapeError, fmt_shape, get_op
from . import errors as E
from .gcpause import paused_gc
from .model import COMPOSITE, Edge, GraphModel, Node

DTYPES = {"float64": np.float64, "float32": np.float32}


def node_shape(node: Node, in_shapes: Sequence[Shape]) -> Shape:
    """The output shape of one document node given its input shapes (composites included)."""
    if node.op == COMPOSITE:
        body = node.body
        assert body is not None
        inputs = [n for n in body.nodes.values() if n.op == "input"]
        analysis = body.analyse({n.id: s for n, s in zip(inputs, in_shapes, strict=True)})
        out = body.composite_output()
        if analysis.problems:
            _nid, msg = next(iter(analysis.problems.items()))
            raise ShapeError(f"inside '{node.name}': {msg}")
        shape = analysis.shapes[out]
        if shape is None:
            raise ShapeError(f"inside '{node.name}': the output has no shape yet")
        return shape
    spec = get_op(node.op)
    value = node.params.get("value")
    if node.op == "constant" and value is None:
        raise ShapeError(f"{node.name}: a constant needs a value")
    if node.op == "parameter" and value is not None:
        want = math.prod(d or 1 for d in node.params["shape"])
        if int(np.size(value)) != want:
            raise ShapeError(f"{node.name}: the initial value has {np.size(value)} numbers, "
                             f"shape {fmt_shape(tuple(node.params['shape']))} needs {want}")
    try:
        return tuple(spec.shape(list(in_shapes), node.params))
    except ShapeError as exc:
        raise ShapeError(f"{node.name}: {exc}") from None


class _Flattener:
    def __init__(self) -> None:
        self.nodes: list[ProgramNode] = []
        self.aliases: dict[str, int] = {}

    def add(self, model: GraphModel, keep: set[str], prefix: str, name_prefix: str,
            bound: dict[str, int], order: list[str] | None = None) -> dict[str, int]:
        """Append ``model``'s nodes in ``keep``; ``bound`` maps input node ids to outer indices."""
        index: dict[str, int] = {}
        into = _into(model)
        for nid in order if order is not None else model.topological_order():
            if nid not in keep:
                continue
            node = model.nodes[nid]
            if nid in bound:
                index[nid] = bound[nid]
                self.aliases[prefix + nid] = bound[nid]
                self.aliases.setdefault(name_prefix + node.name, bound[nid])
                continue
            incoming = into.get(nid, {})
            ports = model.input_ports(node)
            ins = [index[incoming[p].src] for p in ports]
            if node.op == COMPOSITE:
                body = node.body
                assert body is not None
                inner_inputs = [n.id for n in body.nodes.values() if n.op == "input"]
                inner = self.add(body, set(body.nodes), f"{prefix}{nid}/",
                                 f"{name_prefix}{node.name}/", dict(zip(inner_inputs, ins, strict=True)))
                index[nid] = inner[body.composite_output()]
                self.aliases[prefix + nid] = index[nid]
                self.aliases.setdefault(name_prefix + node.name, index[nid])
                continue
            index[nid] = len(self.nodes)
            self.nodes.append(ProgramNode(prefix + nid, name_prefix + node.name, node.op,
                                          dict(node.params), ins))
        return index


def compile_graph(model: GraphModel, dtype: str | None = None, output: str | None = None) -> Program:
    """Turn the document into a program that runs toward ``output`` (default: the model's output).

    Nodes whose inputs are all fine are compiled even when they do not feed the output, so every
    valid node has a value after a forward pass. Raises :class:`CompileError` naming the nodes at
    fault when the output cannot be computed.
    """
    with paused_gc(len(model.nodes)):
        return _compile(model, dtype, output)


def _compile(model: GraphModel, dtype: str | None, output: str | None) -> Program:
    out_id = model.find(output).id if output else model.output_node()
    try:
        order: list[str] | None = model.topological_order()
    except E.CycleError:
        order = None  # analyse() reports the loop on every node
    analysis = model.analyse(order=order)
    bad = set(analysis.problems)
    # a node is runnable when it and all its ancestors have no problem and a shape
    keep = {nid for nid, s in analysis.shapes.items() if s is not None and nid not in bad}
    if out_id not in keep:
        culprits = _ancestors(model, out_id) & bad or {out_id}
        msgs = "; ".join(analysis.problems.get(n, f"'{model.nodes[n].name}' has no shape")
                         for n in sorted(culprits, key=list(model.nodes).index))
        raise E.CompileError(f"the graph cannot run yet: {msgs}", tuple(culprits))
    flat = _Flattener()
    index = flat.add(model, keep, "", "", {}, order)
    try:
        return Program(flat.nodes, index[out_id], DTYPES[dtype or model.dtype], flat.aliases)
    except ShapeError as exc:  # pragma: no cover - analyse() runs the same rules first
        raise E.CompileError(str(exc)) from None
    except MemoryBudgetError as exc:  # refused before any array was made
        node_id = exc.key.split("/")[0]
        raise E.CompileMemoryError(str(exc), (node_id,) if node_id in model.nodes else (),
                                   exc.what, exc.nbytes, exc.budget) from None


def _into(model: GraphModel) -> dict[str, dict[str, Edge]]:
    """Every node's incoming wires by port, in one pass (``model.incoming`` scans all wires)."""
    into: dict[str, dict[str, Edge]] = {}
    for e in model.edges.values():
        into.setdefault(e.dst, {})[e.port] = e
    return into


def _ancestors(model: GraphModel, nid: str) -> set[str]:
    seen = {nid}
    stack = [nid]
    into = _into(model)
    while stack:
        cur = stack.pop()
        for e in into.get(cur, {}).values():
            if e.src not in seen:
                seen.add(e.src)
                stack.append(e.src)
    return seen


def graph_values(model: GraphModel, program: Program) -> dict[str, Any]:
    """Value and gradient per document node id (composites: their output's)."""
    out = {}
    for nid in model.nodes:
        if nid in program.index:
            i = program.index[nid]
            out[nid] = (program.values[i], program.grads[i])
    return out


def program_ids(model: GraphModel, program: Program, prefix: str) -> dict[str, int]:
    """Document node id → program index, for the document shown inside ``prefix``."""
    ids = {}
    for nid, node in model.nodes.items():
        key = prefix + nid
        i = program.index.get(key)
        if i is None:
            continue
        if program.nodes[i].key == key or node.op == COMPOSITE or (prefix and node.op == "input"):
            ids[nid] = i
    return ids
