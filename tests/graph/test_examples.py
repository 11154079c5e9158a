"""Golden tests: every bundled example loads, compiles and runs forward and backward."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from playground.engine import Program
from playground.graph import GraphModel, compile_graph, dumps, load

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
FILES = sorted(EXAMPLES.glob("*.json"))
SIGMOID_INPUTS = ("w0", "x0", "w1", "x1", "w2")
BATCH = 7


def test_the_examples_are_all_there() -> None:
    names = {p.stem for p in FILES}
    assert names >= {"square_of_sum", "sigmoid_neuron", "sigmoid_neuron_fused", "digits_mlp",
                     "moons_mlp", "sine_regression"}


def random_feeds(model: GraphModel, program: Program, rng: np.random.Generator) -> dict[str, Any]:
    """Random data of the right shape for every input without a value of its own. Class-label
    targets of a cross-entropy get integers in range; the batch dimension gets ``BATCH``."""
    analysis = model.analyse()
    feeds: dict[str, Any] = {}
    for i in program.inputs:
        node = program.nodes[i]
        if node.params.get("value") is not None:
            continue
        shape = tuple(BATCH if d is None else d for d in node.shape)
        labels_for = [e.dst for e in model.outgoing(node.key)
                      if model.nodes[e.dst].op == "softmax_cross_entropy" and e.port == "target"]
        if labels_for and len(shape) == 1:
            logits = model.incoming(labels_for[0])["logits"].src
            classes = analysis.shapes[logits][1]
            feeds[node.name] = rng.integers(0, classes, size=shape)
        elif any(model.nodes[e.dst].op == "binary_cross_entropy" for e in model.outgoing(node.key)):
            feeds[node.name] = rng.uniform(size=shape)
        else:
            feeds[node.name] = rng.normal(size=shape)
    return feeds


def central_difference(program: Program, i: int, idx: tuple[int, ...], eps: float = 1e-6) -> float:
    """∂out/∂values[i][idx] by central differences (inputs already fed)."""
    arr = program.values[i]
    assert arr is not None
    old = arr[idx]
    arr[idx] = old + eps
    hi = float(program.forward())
    arr[idx] = old - eps
    lo = float(program.forward())
    arr[idx] = old
    return (hi - lo) / (2 * eps)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_example_loads_compiles_and_runs(path: Path, dtype: str) -> None:
    model = load(path)
    assert model.analyse().problems == {}
    program = compile_graph(model, dtype=dtype)
    assert program.dtype == np.dtype(dtype)
    # every node of the document is in the program
    assert set(model.nodes) <= set(program.index)
    rng = np.random.default_rng(0)
    for _ in range(3):
        program.init_params(rng)
        out = program.run(random_feeds(model, program, rng))
        assert np.ndim(out) == 0 and np.isfinite(out)
        for node, value in zip(program.nodes, program.values, strict=True):
            assert value is not None, node.name
            assert np.all(np.isfinite(value)), node.name
            assert np.asarray(value).dtype == np.dtype(dtype), node.name
        for i in program.parameters:
            g = program.grads[i]
            assert g is not None and g.shape == program.values[i].shape
        for i, g in enumerate(program.grads):
            if g is not None:
                assert np.all(np.isfinite(g)), program.nodes[i].name
                assert np.asarray(g).dtype == np.dtype(dtype), program.nodes[i].name


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_example_gradients_match_central_differences(path: Path) -> None:
    model = load(path)
    program = compile_graph(model)
    rng = np.random.default_rng(1)
    program.init_params(rng)
    for i in program.parameters:  # biases start at zero: move them off it
        program.values[i] += rng.normal(scale=0.1, size=program.values[i].shape)
    program.run(random_feeds(model, program, rng))
    # every parameter and every input with a gradient (class labels have none)
    grads = {i: np.array(program.grads[i]) for i in program.parameters + program.inputs
             if program.grads[i] is not None}
    assert set(program.parameters) <= set(grads) and grads
    for i, g in grads.items():
        flat = list(np.ndindex(g.shape))
        picks = [flat[k] for k in rng.choice(len(flat), size=min(4, len(flat)), replace=False)]
        for idx in picks:
            num = central_difference(program, i, idx)
            assert abs(g[idx] - num) <= 1e-6 * max(1.0, abs(num)), (program.nodes[i].name, idx)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_example_file_is_exactly_what_save_writes(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == dumps(load(path)) + "\n"


def test_sigmoid_neuron_and_fused_agree_on_20_random_draws() -> None:
    prims = compile_graph(load(EXAMPLES / "sigmoid_neuron.json"))
    fused = compile_graph(load(EXAMPLES / "sigmoid_neuron_fused.json"))
    assert len(prims.nodes) > len(fused.nodes)  # same function, more gates
    rng = np.random.default_rng(2)
    for _ in range(20):
        feeds = {k: float(rng.normal(scale=2.0)) for k in SIGMOID_INPUTS}
        v, vf = prims.run(feeds), fused.run(feeds)
        z = feeds["w0"] * feeds["x0"] + feeds["w1"] * feeds["x1"] + feeds["w2"]
        sig = 1.0 / (1.0 + np.exp(-z))
        assert abs(vf - sig) <= 1e-12 and abs(v - vf) <= 1e-12
        # ∂σ(z)/∂w0 = σ(1−σ)·x0 and so on
        analytic = {"w0": feeds["x0"], "x0": feeds["w0"], "w1": feeds["x1"], "x1": feeds["w1"],
                    "w2": 1.0}
        for key in SIGMOID_INPUTS:
            g, gf = float(prims.grad(key)), float(fused.grad(key))
            assert abs(g - gf) <= 1e-12 * max(1.0, abs(gf)), key
            assert abs(gf - sig * (1 - sig) * analytic[key]) <= 1e-12, key


def test_sigmoid_neuron_defaults_are_the_textbook_numbers() -> None:
    for name in ("sigmoid_neuron", "sigmoid_neuron_fused"):
        p = compile_graph(load(EXAMPLES / f"{name}.json"))
        v = p.run()
        # w0=2, x0=−1, w1=−3, x1=−2, w2=−3: z = 1, σ(1) ≈ 0.73, ∂/∂x0 ≈ 0.39, ∂/∂w0 ≈ −0.2
        sig = 1 / (1 + np.exp(-1.0))
        assert abs(v - sig) <= 1e-12
        ds = sig * (1 - sig)
        for key, factor in (("w0", -1.0), ("x0", 2.0), ("w1", -2.0), ("x1", -3.0), ("w2", 1.0)):
            assert abs(float(p.grad(key)) - ds * factor) <= 1e-12, (name, key)


def test_square_of_sum_defaults_and_random_points() -> None:
    model = load(EXAMPLES / "square_of_sum.json")
    p = compile_graph(model)
    assert p.run() == 9.0
    assert p.grad("x") == 6.0 and p.grad("y") == 6.0
    rng = np.random.default_rng(3)
    for _ in range(20):
        x, y = (float(v) for v in rng.uniform(-5, 5, size=2))
        assert p.run({"x": x, "y": y}) == pytest.approx((x + y) ** 2, rel=1e-14, abs=1e-14)
        for key in ("x", "y"):
            assert abs(float(p.grad(key)) - 2 * (x + y)) <= 1e-12 * max(1.0, abs(2 * (x + y)))
