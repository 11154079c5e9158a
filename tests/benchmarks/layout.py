"""Time the layered layout and count what it leaves: `python tests/benchmarks/layout.py [--json]`.

Graphs: a 300-node feed-forward graph (a deep MLP expanded into primitive gates: a chain with
its weights and biases), 300-node random DAGs whose gates read from the last 4 or the last 30
nodes made (many wires that skip columns), and the bundled examples. For each: milliseconds
(median of 3), wire crossings left after ordering (ports counted), and the problems left
(overlaps, wires through nodes; see playground.graph.layout.layout_problems); then how many
of 100 small random DAGs (2-40 nodes) still have a wire through a node.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playground.graph import GraphModel, load
from playground.graph.edit import apply_dict, build_mlp
from playground.graph.geometry import node_geometry
from playground.graph.granularity import expand
from playground.graph.layout import layered_positions, layout_problems
from playground.graph.sugiyama import STYLE, Layered
from playground.resources import example_names, example_path


def random_dag(n: int, seed: int, window: int) -> GraphModel:
    rng = random.Random(seed)
    m = GraphModel()
    ids: list[str] = []
    for k in range(n):
        if k < 2 or rng.random() < 0.15:
            node = m.add_node(rng.choice(["input", "parameter", "constant"]), f"s{k}")
        else:
            node = m.add_node(rng.choice(["add", "mul", "neg", "tanh", "sub", "exp"]), f"g{k}")
            for port in m.input_ports(node):
                m.connect(rng.choice(ids[-window:]), node.id, port, check_shapes=False)
        ids.append(node.id)
    return m


def deep_mlp(target: int = 300) -> GraphModel:
    """An MLP with every dense layer expanded into matmul + add: about ``target`` nodes."""
    m = GraphModel()
    layers = (target - 10) // 7
    after, _ = build_mlp(m, 8, [8] * layers, "tanh", 2, "softmax_cross_entropy")
    apply_dict(m, after)
    for node in [n for n in m.nodes.values() if n.op == "dense"]:
        apply_dict(m, expand(m, node.id)[0])
    return m


def crossings(model: GraphModel) -> int:
    geo, shapes = node_geometry(model), model.analyse().shapes
    total = 0
    from playground.graph.layout import _components

    for comp in _components(list(model.nodes), list(model.edges.values())):
        lay = Layered(model, comp, geo, shapes, STYLE)
        lay._build()
        lay._order()
        total += lay.score
    return total


def measure(name: str, model: GraphModel) -> dict[str, object]:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        pos = layered_positions(model)
        times.append(time.perf_counter() - t0)
    problems = layout_problems(model, pos)
    return {"graph": name, "nodes": len(model.nodes), "edges": len(model.edges),
            "ms": round(1000 * statistics.median(times), 1),
            "crossings": crossings(model),
            "overlaps": sum("overlap" in p for p in problems),
            "wires_through_nodes": sum("passes through" in p for p in problems)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    graphs = [("mlp_expanded_300", deep_mlp()), ("random_300_window4", random_dag(300, 7, 4)),
              ("random_300_window30", random_dag(300, 7, 30))]
    graphs += [(name, load(example_path(name))) for name in example_names()]
    rows = [measure(name, m) for name, m in graphs]
    dense = [random_dag(random.Random(s).randint(2, 40), s, 30) for s in range(100)]
    narrow = [random_dag(random.Random(s).randint(2, 40), s, 4) for s in range(100)]
    summary = {f"random_2_40_nodes_window{w}_with_a_wire_through_a_node":
               sum(1 for m in ms if any("passes through" in p
                                        for p in layout_problems(m, layered_positions(m))))
               for w, ms in ((30, dense), (4, narrow))}
    if args.json:
        print(json.dumps({"rows": rows, "of_100": summary}, indent=1))
        return 0
    print(f"{'graph':22s} {'nodes':>5s} {'edges':>5s} {'ms':>8s} {'crossings':>9s} "
          f"{'overlaps':>8s} {'through':>7s}")
    for r in rows:
        print(f"{r['graph']:22s} {r['nodes']:5d} {r['edges']:5d} {r['ms']:8.1f} "
              f"{r['crossings']:9d} {r['overlaps']:8d} {r['wires_through_nodes']:7d}")
    for k, v in summary.items():
        print(f"{k}: {v} of 100")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
