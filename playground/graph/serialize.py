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
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..engine.registry import EngineError
from .errors import FileFormatError, GraphError
from .model import COMPOSITE, Edge, GraphModel

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
    model.meta = dict(meta)
    nodes, edges = data.get("nodes"), data.get("edges", [])
    _need(isinstance(nodes, list), where, "'nodes' must be a list")
    _need(isinstance(edges, list), where, "'edges' must be a list")
    for k, item in enumerate(nodes):
        w = f"{where}: node {k}"
        _need(isinstance(item, Mapping), w, "expected an object")
        nid, op, name = item.get("id"), item.get("op"), item.get("name")
        _need(isinstance(nid, str) and bool(nid), w, "'id' must be a non-empty string")
        w = f"{where}: node '{name if isinstance(name, str) else nid}'"
        _need(isinstance(op, str), w, "'op' must be a string")
        _need(name is None or isinstance(name, str), w, "'name' must be a string")
        params = item.get("params", {})
        _need(isinstance(params, Mapping), w, "'params' must be an object")
        pos = item.get("position", [0, 0])
        _need(isinstance(pos, (list, tuple)) and len(pos) == 2 and
              all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pos),
              w, "'position' must be two numbers")
        body = None
        if op == COMPOSITE:
            _need("body" in item, w, "a composite needs a 'body'")
            body = model_from_dict(item["body"], f"{w} body", depth + 1)
        try:
            model.add_node(op, name, params, pos, node_id=nid, body=body)
        except (EngineError, GraphError) as exc:
            raise FileFormatError(f"{w}: {exc}") from None
    seen_ports: set[tuple[str, str]] = set()
    for k, item in enumerate(edges):
        w = f"{where}: wire {k}"
        _need(isinstance(item, Mapping), w, "expected an object")
        eid, src, dst, port = (item.get(f) for f in ("id", "src", "dst", "port"))
        _need(all(isinstance(v, str) and v for v in (eid, src, dst, port)), w,
              "'id', 'src', 'dst' and 'port' must be non-empty strings")
        _need(src in model.nodes, w, f"starts at a node that does not exist ('{src}')")
        _need(dst in model.nodes, w, f"ends at a node that does not exist ('{dst}')")
        _need(eid not in model.edges and eid not in model.nodes, w, f"id '{eid}' is used twice")
        ports = model.input_ports(dst)
        _need(port in ports, w, f"'{model.nodes[dst].name}' has no input '{port}'")
        _need((dst, port) not in seen_ports, w, f"input '{port}' of '{model.nodes[dst].name}' is fed twice")
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
    return model_from_dict(data, source)


def dumps(model: GraphModel) -> str:
    return json.dumps(model_to_dict(model), indent=1, ensure_ascii=False)


def load(path: str | os.PathLike[str]) -> GraphModel:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FileFormatError(f"{path.name}: {size} bytes is too large for a graph file")
        text = path.read_text(encoding="utf-8")
    except FileFormatError:
        raise
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileFormatError(f"{path}: is a folder, not a graph file") from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{path.name}: not a text file (is it a graph?)") from None
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:  # e.g. a NUL character in the path
        raise FileFormatError(f"{path!r}: not a usable file name ({exc})") from None
    return loads(text, path.name)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename over ``path``."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o777  # keep an existing file's permissions
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save(model: GraphModel, path: str | os.PathLike[str]) -> None:
    atomic_write(path, (dumps(model) + "\n").encode("utf-8"))

