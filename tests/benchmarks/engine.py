"""Engine vs hand-written NumPy (and PyTorch eager, when installed): one SGD training step.

Run:  python tests/benchmarks/engine.py [--json] [--repeats N] [--clock cpu|wall]
                                        [--malloc steady|default] [--no-torch]
      python tests/benchmarks/engine.py --profile fused:b64_f64   (cProfile instead of timing)

Network: scikit-learn digits (64 features, 10 classes; 70/30 split, seed 0), 64-64-10 with a
sigmoid hidden layer, softmax cross-entropy on integer labels, plain SGD with lr 0.1; batch 64
and the full training part, float64 and float32.
One step = set the batch inputs, forward, backward (``all_grads=False``), update W1, b1, W2, b2
in place.

Variants, all fed the same precomputed batch index arrays and started from the same weights
(copied from the engine program's own init):

- ``hand``         the step as the CS231n / tutorial code writes it in NumPy;
- ``fused``        the engine running ``resources/examples/digits_mlp.json`` (fused dense gates),
                   ``forward(all_values=False)``: only the gates the loss depends on;
- ``fused+probs``  the same, ``forward()``: also the example's display-only ``probs`` softmax,
                   which is what the trainer does today;
- ``prim``         the same network built from primitive gates with GraphModel (matmul, add with
                   a broadcast bias, sigmoid, matmul, add, softmax CE);
- ``torch``        PyTorch eager (``torch.set_num_threads(1)``), when ``import torch`` works.

Before timing, every variant's loss and gradients on the first batch are asserted equal to the
hand code's (so all do the same work). Timing runs every configuration and variant in rounds
inside one process, in a fresh random order each round, each measurement after one untimed
step; BLAS is limited to one thread (threadpoolctl). Times are the thread's CPU time by default,
which does not count time spent preempted by other processes on a shared machine. Each ratio is
the median over rounds of the per-round ratio (variant time / hand time in the same round).

This is a script, not a test: pytest does not collect tests/benchmarks.
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import ctypes.util
import json
import math
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from resource import RUSAGE_SELF, getrusage
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from playground.engine import Program
from playground.graph import GraphModel, compile_graph, load
from playground.resources import example_path
from playground.training.datasets import load_dataset, minibatches, split

LR = 0.1
BATCH = 64
PARAMS = ("W1", "b1", "W2", "b2")
DTYPES = {"f64": np.float64, "f32": np.float32}
TARGETS = {"fused_b64": 1.10, "prim_b64": 1.15, "fused_full": 1.03, "prim_full": 1.03}
MIN_SECONDS = 0.002  # one timed measurement: whole epochs lasting at least this long (hand code)
CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}

try:  # PyTorch is optional
    import torch
    import torch.nn.functional as F
except Exception:  # noqa: BLE001 - any import failure means "no torch"
    torch = None  # type: ignore[assignment]


# ----------------------------------------------------------------------------- the networks

def fused_program(dtype: str) -> Program:
    return compile_graph(load(example_path("digits_mlp")), dtype=dtype)


def primitive_program(dtype: str) -> Program:
    m = GraphModel(dtype=dtype)
    X = m.add_node("input", "X", {"shape": [None, 64]}).id
    y = m.add_node("input", "y", {"shape": [None]}).id
    W1 = m.add_node("parameter", "W1", {"shape": [64, 64]}).id
    b1 = m.add_node("parameter", "b1", {"shape": [64], "init": "zeros"}).id
    W2 = m.add_node("parameter", "W2", {"shape": [64, 10]}).id
    b2 = m.add_node("parameter", "b2", {"shape": [10], "init": "zeros"}).id
    mm1 = m.add_node("matmul", "xW1").id
    z1 = m.add_node("add", "z1").id
    h1 = m.add_node("sigmoid", "h1").id
    mm2 = m.add_node("matmul", "hW2").id
    z2 = m.add_node("add", "z2").id
    loss = m.add_node("softmax_cross_entropy", "loss").id
    for src, dst, port in ((X, mm1, "a"), (W1, mm1, "b"), (mm1, z1, "a"), (b1, z1, "b"),
                           (z1, h1, "x"), (h1, mm2, "a"), (W2, mm2, "b"), (mm2, z2, "a"),
                           (b2, z2, "b"), (z2, loss, "logits"), (y, loss, "target")):
        m.connect(src, dst, port)
    return compile_graph(m, dtype=dtype)


# ----------------------------------------------------------------------------- the variants

@dataclass
class Variant:
    name: str
    step: Callable[[Any], float]  # one training step on one batch (index array or tensor)
    batches: list[Any]  # one epoch of batch indices in this variant's own index type
    grads: Callable[[Any], tuple[float, dict[str, np.ndarray]]]  # loss, grads; no update
    times: list[float] = field(default_factory=list)  # seconds per step, one per round
    faults: list[float] = field(default_factory=list)  # minor page faults per step, per run


def hand_variant(X: np.ndarray, y: np.ndarray, init: dict[str, np.ndarray],
                 batches: list[np.ndarray]) -> Variant:
    W1, b1, W2, b2 = (init[k].copy() for k in PARAMS)

    def passes(idx: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        Xb = X[idx]
        yb = y[idx]
        N = Xb.shape[0]
        z1 = Xb @ W1 + b1
        a1 = 1.0 / (1.0 + np.exp(-z1))
        z2 = a1 @ W2 + b2
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        rows = np.arange(N)
        loss = float(-np.log(p[rows, yb]).mean())
        dz2 = p
        dz2[rows, yb] -= 1
        dz2 /= N
        dW2 = a1.T @ dz2
        db2 = dz2.sum(axis=0)
        da1 = dz2 @ W2.T
        dz1 = da1 * a1 * (1 - a1)
        dW1 = Xb.T @ dz1
        db1 = dz1.sum(axis=0)
        return loss, dW1, db1, dW2, db2

    def step(idx: np.ndarray) -> float:
        nonlocal W1, b1, W2, b2
        loss, dW1, db1, dW2, db2 = passes(idx)
        W1 -= LR * dW1
        b1 -= LR * db1
        W2 -= LR * dW2
        b2 -= LR * db2
        return loss

    def grads(idx: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        loss, *gs = passes(idx)
        return loss, dict(zip(PARAMS, gs, strict=True))

    return Variant("hand", step, batches, grads)


def engine_variant(name: str, prog: Program, X: np.ndarray, T: np.ndarray,
                   init: dict[str, np.ndarray], batches: list[np.ndarray],
                   all_values: bool = False) -> Variant:
    prog.set_params({k: v.copy() for k, v in init.items()})
    params = [(prog.values[prog.index[k]], prog.index[k]) for k in PARAMS]
    forward, backward, set_input = prog.forward, prog.backward, prog.set_input

    def step(idx: np.ndarray) -> float:
        set_input("X", X[idx])
        set_input("y", T[idx])
        loss = float(forward(all_values=all_values))
        backward(all_grads=False)
        g = prog.grads
        for w, i in params:
            w -= LR * g[i]  # type: ignore[operator]
        return loss

    def grads(idx: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        set_input("X", X[idx])
        set_input("y", T[idx])
        loss = float(forward())
        backward(all_grads=False)
        return loss, {k: np.array(prog.grad(k)) for k in PARAMS}

    return Variant(name, step, batches, grads)


def torch_variant(X: np.ndarray, y: np.ndarray, init: dict[str, np.ndarray],
                  batches: list[np.ndarray]) -> Variant:
    assert torch is not None
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    W1, b1, W2, b2 = ws = [torch.tensor(init[k].copy(), requires_grad=True) for k in PARAMS]
    tb = [torch.from_numpy(idx) for idx in batches]

    def passes(idx: Any) -> Any:
        Xb = Xt[idx]
        yb = yt[idx]
        a1 = torch.sigmoid(Xb @ W1 + b1)
        z2 = a1 @ W2 + b2
        loss = F.cross_entropy(z2, yb)
        loss.backward()
        return loss

    def step(idx: Any) -> float:
        loss = passes(idx)
        with torch.no_grad():
            for w in ws:
                w -= LR * w.grad
                w.grad = None
        return loss.item()

    def grads(idx: Any) -> tuple[float, dict[str, np.ndarray]]:
        loss = passes(idx)
        out = {k: w.grad.numpy().copy() for k, w in zip(PARAMS, ws, strict=True)}
        for w in ws:
            w.grad = None
        return loss.item(), out

    return Variant("torch", step, tb, grads)


# ----------------------------------------------------------------------------- one configuration

@dataclass
class Config:
    key: str  # e.g. "b64_f64"
    variants: list[Variant]
    steps: int = 0  # steps per timed measurement (whole epochs)

    def run(self, v: Variant, clock: Callable[[], float] = time.thread_time) -> tuple[float, float]:
        """Seconds and minor page faults per step over ``steps`` steps (whole epochs)."""
        seq = v.batches
        epochs = self.steps // len(seq)
        step = v.step
        step(seq[-1])  # untimed: warm the caches after whatever ran before
        f0 = getrusage(RUSAGE_SELF).ru_minflt
        t0 = clock()
        for _ in range(epochs):
            for idx in seq:
                step(idx)
        t = clock() - t0
        return t / self.steps, (getrusage(RUSAGE_SELF).ru_minflt - f0) / self.steps


def make_config(dtype_key: str, batch: str, data: Any) -> Config:
    dt = DTYPES[dtype_key]
    X = np.ascontiguousarray(data.X_train, dtype=dt)
    y_int = np.ascontiguousarray(data.y_train, dtype=np.int64)
    T = y_int.astype(dt)  # the engine takes labels in its own dtype, as the trainer feeds them
    n = X.shape[0]
    if batch == "b64":
        batches = [np.asarray(b) for b in minibatches(n, BATCH, np.random.default_rng(0))]
    else:
        batches = [np.arange(n)]
    dname = np.dtype(dt).name
    fused = fused_program(dname)
    fused.init_params(0)
    init = {k: np.array(v) for k, v in fused.param_arrays().items()}
    variants = [hand_variant(X, y_int, init, batches),
                engine_variant("fused", fused, X, T, init, batches),
                engine_variant("prim", primitive_program(dname), X, T, init, batches),
                engine_variant("fused_allvalues", fused_program(dname), X, T, init, batches,
                               all_values=True)]
    if torch is not None:
        variants.append(torch_variant(X, y_int, init, batches))
    return Config(f"{batch}_{dtype_key}", variants)


def check_same_work(cfg: Config) -> dict[str, float]:
    """Assert every variant's loss and gradients on the first batch match the hand code's."""
    f32 = cfg.key.endswith("f32")
    rtol, atol = (2e-4, 1e-6) if f32 else (1e-9, 1e-12)
    hand = cfg.variants[0]
    ref_loss, ref = hand.grads(hand.batches[0])
    worst = {}
    for v in cfg.variants[1:]:
        loss, gs = v.grads(v.batches[0])
        assert math.isclose(loss, ref_loss, rel_tol=rtol), (cfg.key, v.name, loss, ref_loss)
        err = 0.0
        for k in PARAMS:
            np.testing.assert_allclose(gs[k], ref[k], rtol=rtol, atol=atol,
                                       err_msg=f"{cfg.key} {v.name} d{k}")
            scale = float(np.max(np.abs(ref[k]))) or 1.0
            err = max(err, float(np.max(np.abs(gs[k] - ref[k]))) / scale)
        worst[v.name] = err
    return worst


def calibrate(cfg: Config) -> None:
    hand = cfg.variants[0]
    epoch = len(hand.batches)
    cfg.steps = epoch
    t = min(cfg.run(hand, time.perf_counter)[0] for _ in range(5)) * epoch  # seconds per epoch
    cfg.steps = epoch * max(1, math.ceil(MIN_SECONDS / max(t, 1e-9)))


# ----------------------------------------------------------------------------- report

def blas_summary() -> str:
    parts = [f"{d.get('internal_api')} {d.get('version')} ({d.get('num_threads')} thread"
             f"{'' if d.get('num_threads') == 1 else 's'})" for d in threadpool_info()]
    return ", ".join(parts) or "no BLAS/OpenMP pool found"


def measure(configs: list[Config], repeats: int, clock: Callable[[], float]) -> None:
    """Time every variant of every configuration once per round, in a fresh random order each
    round (so no variant always follows the same one), after one untimed step of its own."""
    rng = np.random.default_rng(0)
    for r in range(repeats + 1):  # round 0 warms up and is dropped
        for cfg in configs:
            for k in rng.permutation(len(cfg.variants)):
                v = cfg.variants[k]
                t, faults = cfg.run(v, clock)
                if r:
                    v.times.append(t)
                    v.faults.append(faults)


LABELS = {"hand": "hand", "fused": "fused", "prim": "prim", "fused_allvalues": "fused+probs",
          "torch": "torch"}


def paired_ratio(a: Variant, b: Variant) -> tuple[float, float]:
    """Median over rounds of a's time / b's time in the same round, and half the IQR."""
    rs = sorted(x / y for x, y in zip(a.times, b.times, strict=True))
    if len(rs) < 2:
        return rs[0], 0.0
    q = statistics.quantiles(rs, n=4)
    return statistics.median(rs), (q[2] - q[0]) / 2


def summarise(configs: list[Config]) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    names = [v.name for v in configs[0].variants]
    engines = [n for n in names if n not in ("hand", "torch")]
    w = 15
    rows = ["µs per step (median over rounds)",
            f"{'config':<9} {'steps':>5} " + " ".join(f"{LABELS[n]:>{w}}" for n in names)]
    for cfg in configs:
        med = {v.name: statistics.median(v.times) for v in cfg.variants}
        for n, t in med.items():
            out[f"us_per_step_{n}_{cfg.key}"] = round(t * 1e6, 2)
        rows.append(f"{cfg.key:<9} {cfg.steps:>5} "
                    + " ".join(f"{med[n] * 1e6:>{w}.1f}" for n in names))
    rows += ["", "minor page faults per step (mean; freshly mapped memory for temporaries)",
             f"{'config':<9} {'':>5} " + " ".join(f"{LABELS[n]:>{w}}" for n in names)]
    for cfg in configs:
        rows.append(f"{cfg.key:<9} {'':>5} " + " ".join(
            f"{statistics.fmean(v.faults):>{w}.1f}" for v in cfg.variants))
    rows += ["", "ratio to hand (median of per-round ratios ± half IQR)",
             f"{'config':<9} {'':>5} " + " ".join(f"{LABELS[n] + '/hand':>{w}}"
                                                  for n in names if n != "hand")]
    for cfg in configs:
        vs = {v.name: v for v in cfg.variants}
        cells = []
        for n in names[1:]:
            r, spread = paired_ratio(vs[n], vs["hand"])
            out[f"{n}_{cfg.key}"] = round(r, 4)
            cells.append(f"{r:.3f} ±{spread:.3f}")
        rows.append(f"{cfg.key:<9} {'':>5} " + " ".join(f"{c:>{w}}" for c in cells))
    if "torch" in names:
        rows += ["", "engine / PyTorch eager (median of per-round ratios ± half IQR)",
                 f"{'config':<9} {'':>5} " + " ".join(f"{LABELS[n] + '/torch':>{w}}"
                                                      for n in engines)]
        for cfg in configs:
            vs = {v.name: v for v in cfg.variants}
            cells = []
            for n in engines:
                r, spread = paired_ratio(vs[n], vs["torch"])
                out[f"{n}_vs_torch_{cfg.key}"] = round(r, 4)
                cells.append(f"{r:.3f} ±{spread:.3f}")
            rows.append(f"{cfg.key:<9} {'':>5} " + " ".join(f"{c:>{w}}" for c in cells))
    return out, rows


def profile(cfg: Config, name: str, steps: int = 3000) -> None:
    v = next(v for v in cfg.variants if v.name == name)
    seq = (v.batches * (steps // len(v.batches) + 1))[:steps]
    prof = cProfile.Profile()
    prof.enable()
    for idx in seq:
        v.step(idx)
    prof.disable()
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)


def steady_malloc() -> str:
    """Keep glibc from handing memory back to the OS after every step and mapping it again on
    the next (with its defaults a full-batch float64 step takes hundreds of page faults or none,
    depending on the order of frees, which swamps the comparison). Returns what was done."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "allocator left as it is (not glibc)"
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = mallopt(m_mmap_threshold, 32 << 20) == 1 and mallopt(m_trim_threshold, 512 << 20) == 1
    return ("glibc malloc: blocks < 32 MiB from the heap, heap not trimmed (--malloc default "
            "to measure with glibc's defaults)" if ok else "mallopt failed: allocator defaults")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true",
                    help="print one JSON object of named ratios on stdout (the table goes to stderr)")
    ap.add_argument("--repeats", type=int, default=150, help="timed rounds (default 150)")
    ap.add_argument("--clock", choices=tuple(CLOCKS), default="cpu",
                    help="cpu: this thread's CPU time, blind to time spent preempted by other "
                         "processes (default); wall: perf_counter")
    ap.add_argument("--malloc", choices=("steady", "default"), default="steady",
                    help="steady (default): glibc keeps freed memory instead of unmapping it; "
                         "default: glibc's own settings")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if installed")
    ap.add_argument("--profile", metavar="VARIANT:CONFIG",
                    help="cProfile one variant instead of timing, e.g. fused:b64_f64")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    global torch
    if args.no_torch:
        torch = None
    show = sys.stderr if args.json else sys.stdout
    malloc = steady_malloc() if args.malloc == "steady" else "glibc malloc defaults"

    if torch is not None:
        torch.set_num_threads(1)
    data = split(load_dataset("digits"), val_fraction=0.3, seed=0)
    with threadpool_limits(limits=1):
        configs = [make_config(d, b, data) for b in ("b64", "full") for d in ("f64", "f32")]
        if args.profile:
            name, key = args.profile.split(":")
            profile(next(c for c in configs if c.key == key), name)
            return 0
        errors = {cfg.key: check_same_work(cfg) for cfg in configs}
        for cfg in configs:
            calibrate(cfg)
        blas = blas_summary()
        t0 = time.perf_counter()
        measure(configs, args.repeats, CLOCKS[args.clock])
        elapsed = time.perf_counter() - t0

    out, rows = summarise(configs)
    n_train = configs[0].variants[0].batches[0].shape[0] if configs[0].key.startswith("full") \
        else sum(len(b) for b in configs[0].variants[0].batches)
    print(f"digits 64-64-10 sigmoid, softmax CE (integer labels), SGD lr {LR}; "
          f"{n_train} training samples; batch {BATCH} ({len(configs[0].variants[0].batches)} "
          "steps/epoch) and full batch", file=show)
    print(f"BLAS limited to 1 thread for every variant (threadpoolctl): {blas}"
          + (f"; torch {torch.__version__} eager, torch.set_num_threads(1)" if torch is not None
             else "; torch not installed: no PyTorch column"), file=show)
    print(f"memory: {malloc}", file=show)
    print(f"{args.repeats} interleaved rounds in {elapsed:.1f} s, each variant timed on "
          f"{'its thread CPU time' if args.clock == 'cpu' else 'the wall clock'}; µs = median per "
          "step; ratio = median of per-round ratios ± half the interquartile range", file=show)
    print("same work: engine/torch loss and gradients match the hand code on the first batch "
          "(max relative gradient error: " + "; ".join(
              f"{k} " + ", ".join(f"{LABELS[n]} {e:.1e}" for n, e in v.items())
              for k, v in errors.items())
          + ")", file=show)
    print(file=show)
    for row in rows:
        print(row, file=show)
    print(file=show)
    verdicts = []
    for cfg in configs:
        for name in ("fused", "prim"):
            b = cfg.key.split("_")[0]
            limit = TARGETS[f"{name}_{b}"]
            r = out[f"{name}_{cfg.key}"]
            verdicts.append(f"{name}_{cfg.key} {r:.3f} {'<=' if r <= limit else '>'} {limit:.2f}"
                            f" {'ok' if r <= limit else 'MISSED'}")
    print("targets: " + "; ".join(verdicts), file=show)
    if args.json:
        out.update(repeats=args.repeats, blas_threads=1, clock=args.clock, malloc=args.malloc)
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
