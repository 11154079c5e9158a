"""Load + compile time against node count: must grow linearly.

    python tests/benchmarks/load_compile.py [--nodes 3000 30000] [--rounds 5] [--json] [--app-gc]

Writes a graph file of each size (a deep network of dense-like gates with skip connections,
parameters and a loss, so wires reach back over many nodes, plus a few composites), then times
``load`` and ``compile_graph`` on both in this process, in interleaved rounds. Prints the best
wall time per size and the median per-round ratio of CPU times (less swayed by other processes
on a shared machine than wall time); the goal (issue 16) is a 30,000-node file in at most 2 s
and at most 12x the time of a 3,000-node one. With Python's automatic garbage collection on (the
command line) the young objects of a large document trigger a full collection that a small one
does not; ``--app-gc`` measures as the window runs (automatic collection off, a GUI timer
collects: playground/ui/collector.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playground.graph import compile_graph, load
from playground.graph.serialize import FORMAT, VERSION


def graph_dict(n_nodes: int, width: int = 4) -> dict[str, Any]:
    """A graph file of about ``n_nodes`` nodes: x → (W·, +skip, tanh)* → mse."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def node(op: str, params: dict[str, Any] | None = None, **extra: Any) -> str:
        nid = f"n{len(nodes) + 1}"
        nodes.append({"id": nid, "op": op, "name": f"{op}_{len(nodes) + 1}",
                      "params": params or {}, "position": [len(nodes) * 10.0, 0.0], **extra})
        return nid

    def wire(src: str, dst: str, port: str) -> None:
        edges.append({"id": f"e{len(edges) + 1}", "src": src, "dst": dst, "port": port})

    def neuron_body() -> dict[str, Any]:  # a composite: tanh(a) + a
        return {"dtype": "float64",
                "nodes": [{"id": "i", "op": "input", "name": "a", "params": {"shape": [None, width]}},
                          {"id": "t", "op": "tanh", "name": "t", "params": {}},
                          {"id": "s", "op": "add", "name": "s", "params": {}}],
                "edges": [{"id": "e1", "src": "i", "dst": "t", "port": "x"},
                          {"id": "e2", "src": "i", "dst": "s", "port": "a"},
                          {"id": "e3", "src": "t", "dst": "s", "port": "b"}]}

    x = node("input", {"shape": [None, width]})
    prev, skip = x, x
    layer = 0
    while len(nodes) < n_nodes - 4:
        layer += 1
        w = node("parameter", {"shape": [width, width], "init": "normal", "std": 0.1})
        mm = node("matmul")
        wire(prev, mm, "a")
        wire(w, mm, "b")
        add = node("add")
        wire(mm, add, "a")
        wire(skip, add, "b")
        if layer % 50 == 0:
            act = node("composite", body=neuron_body())
            wire(add, act, "a")
        else:
            act = node("tanh")
            wire(add, act, "x")
        if layer % 10 == 0:
            skip = act
        prev = act
    y = node("input", {"shape": [None, width]})
    loss = node("mse")
    wire(prev, loss, "pred")
    wire(y, loss, "target")
    return {"format": FORMAT, "version": VERSION, "dtype": "float64", "meta": {},
            "nodes": nodes, "edges": edges}


def time_one(path: Path) -> dict[str, float]:
    """Wall and CPU seconds of one load and one compile of ``path``."""
    w0, c0 = time.perf_counter(), time.process_time()
    model = load(path)
    w1 = time.perf_counter()
    program = compile_graph(model)
    w2, c2 = time.perf_counter(), time.process_time()
    del program, model
    return {"load_s": w1 - w0, "compile_s": w2 - w1, "total_s": w2 - w0, "cpu_s": c2 - c0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs=2, default=[3000, 30000],
                        metavar=("SMALL", "LARGE"))
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds; each times both sizes")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--app-gc", action="store_true",
                        help="automatic garbage collection off, as in the window (it collects "
                             "on a GUI timer: playground/ui/collector.py); default: on, as in "
                             "the command line")
    args = parser.parse_args(argv)
    if args.app_gc:
        gc.disable()
    sizes = args.nodes
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in sizes}
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for n in sizes:
            paths[n] = Path(tmp) / f"g{n}.json"
            paths[n].write_text(json.dumps(graph_dict(n)), encoding="utf-8")
        texts = {n: paths[n].read_text(encoding="utf-8") for n in sizes}
        time_one(paths[sizes[0]])  # warm up imports and caches
        baseline: list[float] = []
        for _ in range(args.rounds):
            # the small file is timed three times and its best kept: it takes a few hundredths
            # of a second, so one busy moment on a shared machine would swing the ratio
            small = min((time_one(paths[sizes[0]]) for _ in range(3)), key=lambda r: r["cpu_s"])
            large = time_one(paths[sizes[1]])
            runs[sizes[0]].append(small)
            runs[sizes[1]].append(large)
            ratios.append(large["cpu_s"] / small["cpu_s"])
            # the floor this machine sets: json.loads alone (C, linear) on the same two files
            js = min(_cpu(lambda: json.loads(texts[sizes[0]])) for _ in range(3))
            baseline.append(_cpu(lambda: json.loads(texts[sizes[1]])) / js)
    best = {n: min(runs[n], key=lambda r: r["total_s"]) for n in sizes}
    ratio = statistics.median(ratios)
    floor = statistics.median(baseline)
    if args.json:
        print(json.dumps({"best": {str(n): best[n] for n in sizes}, "ratio": ratio,
                          "ratios": ratios, "json_loads_ratio": floor,
                          "automatic_gc": not args.app_gc}))
        return 0
    for n in sizes:
        r = best[n]
        print(f"{n:>7} nodes ({len(texts[n]) / 1e6:5.1f} MB): load {r['load_s']:.3f} s, "
              f"compile {r['compile_s']:.3f} s, total {r['total_s']:.3f} s (best of "
              f"{args.rounds})")
    print(f"ratio {sizes[1]} / {sizes[0]} nodes: {ratio:.1f}x (median over {args.rounds} "
          f"interleaved rounds of CPU time; linear would be {sizes[1] / sizes[0]:.0f}x; goal "
          f"<= 12x, and <= 2 s at 30,000)")
    print(f"json.loads alone on the same files: {floor:.1f}x (what this machine's caches and "
          f"allocator make of 10x the objects)")
    print("automatic garbage collection: " + ("off, as in the window" if args.app_gc else
                                             "on, as in the command line (--app-gc: as in the "
                                             "window)"))
    return 0


def _cpu(call: Any) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


if __name__ == "__main__":
    sys.exit(main())
