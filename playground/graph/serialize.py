"""Versioned JSON files for graphs. Loading never executes code; saving is atomic.

Format (documented in the README)::

    {"format": "backprop-playground/graph", "version": 1, "dtype": "float64",
     "meta": {...}, "nodes": [{"id", "op", "name", "params", "position": [x, y], "body"?}],
     "edges": [{"id", "src", "dst", "port"}]}
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from ..engine.registry import EngineError, quoted
from .errors import FileFormatError, GraphError, SaveError
from .files import atomic_write, read_limited
from .gcpause import paused_gc
from .model import COMPOSITE, Edge, GraphModel
from .saveable import saveable_problem

FORMAT = "backprop-playground/graph"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 16

# version -> function upgrading a dict of that version to the next one
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def model_to_dict(model: GraphModel, top: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if top:
        data.update(format=FORMAT, version=VERSION)
    data["dtype"] = model.dtype
    if model.meta:
        data["meta"] = copy.deepcopy(model.meta)  # undo snapshots must not share nested values
    nodes = []
    for n in model.nodes.values():
        item: dict[str, Any] = {"id": n.id, "op": n.op, "name": n.name, "params": copy.deepcopy(n.params),
                                "position": [n.position[0], n.position[1]]}
        if n.body is not None:
            item["body"] = model_to_dict(n.body, top=False)
        nodes.append(item)
    data["nodes"] = nodes
    data["edges"] = [{"id": e.id, "src": e.src, "dst": e.dst, "port": e.port}
                     for e in model.edges.values()]
    return data


MAX_ID = 200


def _id_ok(text: str) -> bool:
    return len(text) <= MAX_ID and text.isprintable()


def _node_where(where: str, name: Any, nid: str) -> str:
    return f"{where}: node {quoted(name if isinstance(name, str) else nid)}"


def _fail(where: str, what: str) -> NoReturn:
    raise FileFormatError(f"{where}: {what}")


def _need(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise FileFormatError(f"{where}: {what}")


def model_from_dict(data: Mapping[str, Any], where: str = "graph", depth: int = 0) -> GraphModel:
    """Build a model from a dict, checking every field; raise :class:`FileFormatError`."""
    _need(isinstance(data, Mapping), where, "expected an object")
    _need(depth <= MAX_DEPTH, where, f"composites nested deeper than {MAX_DEPTH}")
    dtype = data.get("dtype", "float64")
    _need(dtype in ("float64", "float32"), where, f"dtype must be float64 or float32, got {dtype!r}")
    model = GraphModel(dtype=dtype)
    meta = data.get("meta", {})
    _need(isinstance(meta, Mapping), where, "'meta' must be an object")
    problem = saveable_problem(meta, "meta")
    _need(problem is None, where, f"{problem} (such a file could not be saved again)")
    model.meta = dict(meta)
    nodes, edges = data.get("nodes"), data.get("edges", [])
    _need(isinstance(nodes, list), where, "'nodes' must be a list")
    _need(isinstance(edges, list), where, "'edges' must be a list")
    assert isinstance(nodes, list) and isinstance(edges, list)  # _need raised otherwise
    for k, item in enumerate(nodes):
        # messages are built only when a check fails: this loop runs once per node
        if not isinstance(item, Mapping):
            _fail(f"{where}: node {k}", "expected an object")
        nid, op, name = item.get("id"), item.get("op"), item.get("name")
        if not (isinstance(nid, str) and nid):
            _fail(f"{where}: node {k}", "'id' must be a non-empty string")
        if not _id_ok(nid):
            _fail(f"{where}: node {k}",
                  f"the id {quoted(nid)} must be printable text of at most {MAX_ID} characters")
        params = item.get("params", {})
        pos = item.get("position", [0, 0])
        if not (isinstance(op, str) and (name is None or isinstance(name, str))
                and isinstance(params, Mapping) and isinstance(pos, (list, tuple))
                and len(pos) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                          for v in pos)):
            w = _node_where(where, name, nid)
            _need(isinstance(op, str), w, "'op' must be a string")
            _need(name is None or isinstance(name, str), w, "'name' must be a string")
            _need(isinstance(params, Mapping), w, "'params' must be an object")
            _fail(w, "'position' must be two numbers")
        body = None
        if op == COMPOSITE:
            w = _node_where(where, name, nid)
            _need("body" in item, w, "a composite needs a 'body'")
            body = model_from_dict(item["body"], f"{w} body", depth + 1)
        try:
            model.add_node(op, name, params, pos, node_id=nid, body=body)
        except (EngineError, GraphError) as exc:
            raise FileFormatError(f"{_node_where(where, name, nid)}: {exc}") from None
    seen_ports: set[tuple[str, str]] = set()
    for k, item in enumerate(edges):
        w = f"{where}: wire {k}"
        _need(isinstance(item, Mapping), w, "expected an object")
        eid, src, dst, port = item.get("id"), item.get("src"), item.get("dst"), item.get("port")
        _need(all(isinstance(v, str) and v for v in (eid, src, dst, port)), w,
              "'id', 'src', 'dst' and 'port' must be non-empty strings")
        # each message is built only when its check fails (this loop runs once per wire)
        if not _id_ok(eid):
            _fail(w, f"the id {quoted(eid)} must be printable text of at most {MAX_ID} characters")
        if src not in model.nodes:
            _fail(w, f"starts at a node that does not exist ({quoted(src)})")
        if dst not in model.nodes:
            _fail(w, f"ends at a node that does not exist ({quoted(dst)})")
        if eid in model.edges or eid in model.nodes:
            _fail(w, f"id {quoted(eid)} is used twice")
        if port not in model.input_ports(dst):
            _fail(w, f"'{model.nodes[dst].name}' has no input {quoted(port)}")
        if (dst, port) in seen_ports:
            _fail(w, f"input '{port}' of '{model.nodes[dst].name}' is fed twice")
        _need(src != dst, w, "a node cannot feed itself")
        seen_ports.add((dst, port))
        model.edges[eid] = Edge(eid, src, dst, port)
    try:
        model.topological_order()
    except GraphError as exc:
        raise FileFormatError(f"{where}: {exc}") from None
    model.reserve_ids((), len(model.nodes) + len(model.edges))
    return model


def loads(text: str, source: str = "graph") -> GraphModel:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too-long integers
        raise FileFormatError(f"{source}: not valid JSON ({exc})") from None
    _need(isinstance(data, Mapping), source, "expected a JSON object")
    fmt = data.get("format")
    _need(fmt == FORMAT, source, f"not a Backprop Playground graph (format is {fmt!r}, expected {FORMAT!r})")
    version = data.get("version")
    _need(isinstance(version, int) and not isinstance(version, bool), source, "'version' must be a whole number")
    if version > VERSION:
        raise FileFormatError(
            f"{source}: written by a newer Backprop Playground (file version {version}, this one reads "
            f"up to {VERSION}); update the app to open it"
        )
    _need(version >= 1, source, f"unknown file version {version}")
    data = dict(data)
    while version < VERSION:
        data = MIGRATIONS[version](data)
        version += 1
    nodes = data.get("nodes")
    with paused_gc(len(nodes) if isinstance(nodes, list) else 0):
        return model_from_dict(data, source)


def dumps(model: GraphModel) -> str:
    """The graph file's text. Raises :class:`SaveError` when the document cannot be written as
    UTF-8 JSON (a value set around the model's checks, e.g. ``model.meta[...] = ...``)."""
    try:
        text = json.dumps(model_to_dict(model), indent=1, ensure_ascii=False)
        text.encode("utf-8")  # a lone surrogate fails here, not half-way through a write
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        problem = saveable_problem(model.meta, "meta") or one_line(str(exc))
        raise SaveError(f"the graph cannot be saved: {problem}") from None
    return text


def load(path: str | os.PathLike[str]) -> GraphModel:
    """Read a graph file: a regular file of at most :data:`MAX_FILE_BYTES`, UTF-8 (a byte-order
    mark is allowed). Every problem is a :class:`FileFormatError` naming the file."""
    path = Path(path)
    data = read_limited(path, "graph file", MAX_FILE_BYTES, FileFormatError)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileFormatError(f"{path.name}: not a text file (is it a graph?)") from None
    return loads(text, path.name)


def save(model: GraphModel, path: str | os.PathLike[str]) -> list[Path]:
    """Write ``model`` to ``path`` atomically. Raises :class:`SaveError` (an OSError, like a
    full disk) when it cannot be serialised, before the file is touched. Returns the stale
    temporaries of earlier, killed saves that were removed."""
    return atomic_write(path, (dumps(model) + "\n").encode("utf-8"))


def one_line(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

