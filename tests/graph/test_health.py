"""Gradient health on constructed cases: saturated, dead, vanishing, exploding, and ok."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from playground.engine import Program
from playground.graph import GraphModel, compile_graph, load
from playground.graph.edit import build_mlp
from playground.graph.granularity import sample_feeds
from playground.graph.health import gradient_health, mean_abs_grad
from playground.graph.library import sigmoid_chain

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def mlp(activation: str, hidden: list[int], width: int = 4) -> tuple[GraphModel, Program]:
    after, _ = build_mlp(GraphModel(), width, hidden, activation, 3, "softmax_cross_entropy")
    model = GraphModel.from_dict(after)
    program = compile_graph(model)
    program.init_params(0)
    return model, program


def run(model: GraphModel, program: Program, batch: int = 64) -> dict:
    program.run(sample_feeds(model, program, batch=batch, seed=2))
    return gradient_health(program)


def test_a_fresh_moons_network_is_healthy():
    model = load(EXAMPLES / "moons_mlp.json")
    program = compile_graph(model)
    program.init_params(0)
    health = run(model, program)
    names = {n.name for n in program.nodes if n.spec.role not in ("input", "constant")}
    assert set(health) == names
    assert {h.kind for h in health.values()} == {"ok"}, {k: h.kind for k, h in health.items()}
    assert health["W1"].value == pytest.approx(np.linalg.norm(program.grad("W1")))


def test_huge_weights_saturate_a_sigmoid_layer():
    model, program = mlp("sigmoid", [16])
    program.set_params({"W1": program.value("W1") * 200})
    h = run(model, program)["h1"]
    y = program.value("h1")
    frac = float(np.mean((y < 0.02) | (y > 0.98)))
    assert h.kind == "saturated_sigmoid" and frac >= 0.5
    assert h.value == pytest.approx(frac)
    assert f"{100 * frac:.0f}%" in h.explanation and "σ(1−σ)" in h.explanation


def test_fresh_sigmoid_layer_is_not_saturated():
    model, program = mlp("sigmoid", [16])
    assert run(model, program)["h1"].kind == "ok"


def test_huge_weights_saturate_a_tanh_layer():
    model, program = mlp("tanh", [16])
    program.set_params({"W1": program.value("W1") * 200})
    h = run(model, program)["h1"]
    assert h.kind == "saturated_tanh" and h.value >= 0.5
    assert float(np.mean(np.abs(program.value("h1")) > 0.98)) == h.value


def test_a_very_negative_bias_kills_a_relu_layer():
    model, program = mlp("relu", [16])
    program.set_params({"b1": np.full(16, -100.0)})
    health = run(model, program)
    assert health["h1"].kind == "dead_relu" and health["h1"].value == 1.0
    assert "100%" in health["h1"].explanation
    # nothing flows back through the dead layer: W1 gets exactly zero; W2 too, since it
    # multiplies the dead layer's zeros; b2 still learns
    assert health["W1"].kind == "vanishing" and health["W1"].value == 0.0
    assert health["W2"].kind == "vanishing" and health["b2"].kind == "ok"


def test_half_dead_is_a_problem_a_few_dead_units_a_notice_none_ok():
    model, program = mlp("relu", [20])
    b = np.zeros(20)
    b[:1] = -100.0  # 1 in 20: pointed out, as a notice
    program.set_params({"b1": b})
    h = run(model, program)["h1"]
    assert (h.kind, h.level, h.value) == ("dead_relu", "notice", 0.05)
    assert h.badge == "dead 5%"
    b[:9] = -100.0
    program.set_params({"b1": b})
    h = run(model, program)["h1"]
    assert (h.kind, h.level) == ("dead_relu", "notice")
    b[:10] = -100.0
    program.set_params({"b1": b})
    h = run(model, program)["h1"]
    assert (h.kind, h.level, h.value) == ("dead_relu", "problem", 0.5)
    b[:] = 0.0
    b[0] = -1e-9  # a unit whose input is ≤ 0 on some samples only is alive
    program.set_params({"b1": b})
    h = run(model, program)["h1"]
    assert (h.kind, h.level) == ("ok", "ok")


def test_tiny_weights_in_a_deep_tanh_chain_make_gradients_vanish():
    model, program = mlp("tanh", [8] * 6)
    rng = np.random.default_rng(0)
    program.set_params({name: rng.normal(0, 1e-3, arr.shape)
                        for name, arr in program.param_arrays().items() if name.startswith("W")})
    health = run(model, program)
    assert health["W1"].kind == "vanishing"
    assert health["W1"].value == pytest.approx(np.linalg.norm(program.grad("W1")))
    assert health["W1"].value < 1e-7 and "1e-07" in health["W1"].explanation
    assert health["b7"].kind == "ok"  # the last bias still learns


def test_an_exploding_gradient_is_flagged_with_why_it_matters():
    m = GraphModel()
    w = m.add_node("parameter", "w", {"shape": [3], "value": [1.0, 2.0, 3.0]})
    big = m.add_node("mul_const", "big", {"c": 1e6})
    s = m.add_node("sum", "loss")
    m.connect(w.id, big.id, "x")
    m.connect(big.id, s.id, "x")
    program = compile_graph(m)
    health = gradient_health(program)  # runs a pass itself when there is none
    assert health["w"].kind == "exploding"
    assert health["w"].value == pytest.approx(np.sqrt(3) * 1e6)
    assert "1.73e+06" in health["w"].explanation and "learning rate" in health["w"].explanation
    assert health["loss"].kind == "ok" and health["big"].kind == "ok"


def test_a_nan_gradient_is_exploding():
    m = GraphModel()
    x = m.add_node("parameter", "x", {"shape": [], "value": 0.0})
    f = m.add_node("log", "f")
    m.connect(x.id, f.id, "x")
    program = compile_graph(m)
    program.run()
    assert gradient_health(program)["x"].kind == "exploding"


def test_mean_abs_grad_per_wire():
    model = load(EXAMPLES / "digits_mlp.json")
    program = compile_graph(model)
    program.run(sample_feeds(model, program, batch=8))
    flow = mean_abs_grad(program)
    with_grad = {n.key for n, g in zip(program.nodes, program.grads, strict=True)
                 if g is not None}
    assert set(flow) == with_grad
    assert flow["n2"] == pytest.approx(float(np.mean(np.abs(program.grad("W1")))))
    assert flow["n17"] == 1.0  # the loss seeds itself


def test_mean_abs_grad_knows_a_composite_by_its_id():
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 0.5})
    g = m.add_node("composite", "sig", body=sigmoid_chain())
    sq = m.add_node("pow", "sq")
    m.connect(x.id, g.id, "x")
    m.connect(g.id, sq.id, "x")
    program = compile_graph(m)
    program.run()
    flow = mean_abs_grad(program)
    assert flow[g.id] == flow[f"{g.id}/n5"] == pytest.approx(abs(float(program.grad(g.id))))
    assert gradient_health(program)["sig/sigma"].kind == "ok"
