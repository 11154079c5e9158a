"""Loading and compiling take time linear in the size of the graph.

Timing on a shared machine is noisy, so this counts the Python lines executed instead (every
loop iteration counts, comprehensions too): 10x the nodes must cost about 10x the lines, where a
quadratic step (a scan of every node or wire per node) gives ~100x. The wall-clock benchmark is
tests/benchmarks/load_compile.py.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from playground.graph import compile_graph, load

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "load_compile.py"


def graph_dict(n: int) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("load_compile_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.graph_dict(n)  # type: ignore[no-any-return]


def lines_executed(path: Path) -> int:
    count = 0
    root = str(Path(__file__).resolve().parents[2] / "playground")

    def local(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename.startswith(root) else None

    sys.settrace(trace)
    try:
        compile_graph(load(path))
    finally:
        sys.settrace(None)
    return count


def test_load_and_compile_are_linear_in_the_node_count(tmp_path: Path) -> None:
    counts = {}
    for n in (300, 3000):
        path = tmp_path / f"g{n}.json"
        path.write_text(json.dumps(graph_dict(n)), encoding="utf-8")
        counts[n] = lines_executed(path)
    ratio = counts[3000] / counts[300]
    assert 8 < ratio < 11, f"{counts}: {ratio:.1f}x the lines for 10x the nodes"


def test_a_graph_in_any_order_sorts_the_same(tmp_path: Path) -> None:
    # the topological order's fast path (wires all running forward) and its heap give one order
    data = graph_dict(200)
    model_fwd = load_dict(tmp_path, data)
    data["nodes"] = list(reversed(data["nodes"]))
    model_rev = load_dict(tmp_path, data)
    order_fwd, order_rev = model_fwd.topological_order(), model_rev.topological_order()
    assert order_fwd == [n["id"] for n in reversed(data["nodes"])]
    rank = {nid: k for k, nid in enumerate(order_rev)}
    assert all(rank[e.src] < rank[e.dst] for e in model_rev.edges.values())
    assert sorted(order_rev) == sorted(order_fwd)


def load_dict(tmp_path: Path, data: dict[str, Any]) -> Any:
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return load(path)


def test_the_collector_is_paused_only_for_large_documents(tmp_path: Path,
                                                          monkeypatch: Any) -> None:
    import gc

    from playground.graph import gcpause

    seen: list[bool] = []
    real = compile_graph.__globals__["_compile"]

    def spy(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setitem(compile_graph.__globals__, "_compile", spy)
    was = gc.isenabled()  # a UI test run before may have handed collection to the GUI thread
    gc.enable()
    try:
        for n in (gcpause.LARGE // 2, gcpause.LARGE * 2):
            compile_graph(load_dict(tmp_path, graph_dict(n)))
        assert seen == [True, False] and gc.isenabled()
    finally:
        if not was:
            gc.disable()
