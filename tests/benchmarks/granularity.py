"""Fused gate vs its primitive gates, as the Granularity panel measures it.

Run:  python tests/benchmarks/granularity.py [--runs N] [--budget SECONDS] [--clock wall|cpu]
                                             [--json]

Each case compares a graph with one fused gate against the same graph with that gate expanded
(:func:`playground.graph.granularity.compare`, the function the panel calls): the neuron
``sigmoid_neuron_fused`` (single numbers: σ vs −x, exp, +1, 1/x), the digits network with its
hidden σ expanded at batch 32 (its training batch) and 256, and with its first dense gate
expanded to matmul + bias add. Each case runs ``--runs`` times; every run prints the speed-up of
the fused form (primitive time / fused time: the median of side-by-side rounds, > 1 means the
fused form is faster) with its 95% interval and the verdict; the last line per case gives the
spread of the speed-up over the runs, which is what "stable" means here. ``--clock cpu`` times
the rounds in the thread's CPU time (leaves out preemption by other processes on a busy
machine); the panel uses wall time.

This is a script, not a test: pytest does not collect tests/benchmarks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playground.graph import GraphModel, load
from playground.graph.edit import apply_dict
from playground.graph.granularity import Comparison, compare, expand
from playground.resources import example_path

LABELS = ("the fused form", "the primitive form")


def _expanded(example: str, node: str) -> tuple[GraphModel, GraphModel]:
    fused = load(example_path(example))
    primitive = load(example_path(example))
    apply_dict(primitive, expand(primitive, primitive.by_name(node).id)[0])
    return fused, primitive


def cases() -> list[tuple[str, GraphModel, GraphModel, int | None]]:
    neuron = (load(example_path("sigmoid_neuron_fused")), load(example_path("sigmoid_neuron")))
    digits_sigma = _expanded("digits_mlp", "h1")
    digits_dense = _expanded("digits_mlp", "z1")
    return [
        ("neuron σ, single numbers", *neuron, None),
        ("digits σ (32×64), batch 32", *digits_sigma, 32),
        ("digits σ (256×64), batch 256", *digits_sigma, 256),
        ("digits dense z1, batch 32", *digits_dense, 32),
    ]


def speedup(c: Comparison) -> tuple[float, float, float]:
    """Primitive time / fused time and its interval (fused is ``a``: ratio = fused / primitive)."""
    return 1.0 / c.ratio, 1.0 / c.ratio_high, 1.0 / c.ratio_low


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--budget", type=float, default=0.4, help="seconds per comparison")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    report = []
    for name, fused, primitive, batch in cases():
        clock = time.thread_time if args.clock == "cpu" else time.perf_counter
        runs = [compare(fused, primitive, budget=args.budget, batch=batch, labels=LABELS,
                        clock=clock) for _ in range(args.runs)]
        ups = [speedup(c) for c in runs]
        mid = [u[0] for u in ups]
        row = {"case": name, "speedups": [round(u, 4) for u in mid],
               "intervals": [[round(lo, 4), round(hi, 4)] for _, lo, hi in ups],
               "median": round(statistics.median(mid), 4), "min": round(min(mid), 4),
               "max": round(max(mid), 4), "rounds": [c.rounds for c in runs],
               "fused_us": round(1e6 * statistics.median(c.seconds_a for c in runs), 2),
               "primitive_us": round(1e6 * statistics.median(c.seconds_b for c in runs), 2),
               "verdicts": [c.verdict for c in runs]}
        report.append(row)
        if args.json:
            continue
        print(f"{name}: fused {row['fused_us']} µs, primitive {row['primitive_us']} µs per pass")
        for (up, lo, hi), c in zip(ups, runs, strict=True):
            print(f"  speed-up {up:.3f} (95%: {lo:.3f}–{hi:.3f}, {c.rounds} rounds)  {c.verdict}")
        print(f"  over {args.runs} runs: median {row['median']:.3f}, "
              f"spread {row['min']:.3f}–{row['max']:.3f}")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
