"""The step-through: trace() against the engine's own values and gradients, and `steps` CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playground.cli import main
from playground.engine import FeedError, Program
from playground.graph import GraphModel, compile_graph, load
from playground.graph.explain import fmt_array, trace
from playground.graph.granularity import sample_feeds
from playground.graph.library import sigmoid_chain

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"


def engine(name_or_model: str | GraphModel, feeds: dict | None = None) -> Program:
    """A separately compiled program after program.run: the reference values and gradients."""
    model = load(EXAMPLES / f"{name_or_model}.json") if isinstance(name_or_model, str) \
        else name_or_model
    program = compile_graph(model)
    program.run(feeds)
    return program


def traced(name: str, feeds: dict | None = None):
    return trace(compile_graph(load(EXAMPLES / f"{name}.json")), feeds)


def test_square_of_sum_forward_visits_q_then_f():
    fw, _ = traced("square_of_sum")
    ref = engine("square_of_sum")
    assert [(s.index, s.node_id, s.name, s.op) for s in fw] == [(0, "n3", "q", "add"),
                                                                (1, "n4", "f", "pow")]
    assert [float(s.value) for s in fw] == [float(ref.value("q")), float(ref.value("f"))] == [3, 9]
    assert [(p, n, float(v)) for p, n, v in fw[0].inputs] == [("a", "x", 1.0), ("b", "y", 2.0)]
    assert fw[0].text == "q = x + y = 1 + 2 = 3"
    assert fw[1].text == "f = q² = 3² = 9"


def test_square_of_sum_backward_is_seed_then_f_to_q_then_q_to_x_and_y():
    _, bw = traced("square_of_sum")
    ref = engine("square_of_sum")
    rows = [(s.index, s.name, s.port, s.input_name, float(s.upstream), float(s.local),
             float(s.downstream), float(s.total), s.accumulated) for s in bw]
    assert rows == [(0, "f", "", "f", 1, 1, 1, 1, False),
                    (1, "f", "x", "q", 1, 6, 6, 6, False),
                    (2, "q", "a", "x", 6, 1, 6, 6, False),
                    (3, "q", "b", "y", 6, 1, 6, 6, False)]
    assert bw[0].text == bw[0].local_text == "∂f/∂f = 1"
    assert bw[0].node_id == bw[0].input_id == "n4"
    assert bw[1].local_text == "∂f/∂q = 2·q = 6"
    assert bw[2].text == "∂f/∂x = ∂f/∂q · ∂q/∂x = 6 · 1 = 6"
    assert bw[3].text == "∂f/∂y = ∂f/∂q · ∂q/∂y = 6 · 1 = 6"
    for s in bw:  # every number is the engine's
        assert s.total == ref.grad(s.input_id)
        assert s.upstream == ref.grad(s.node_id)


def test_the_sigmoid_neuron_trace_equals_the_engine_and_the_cs231n_numbers():
    fw, bw = traced("sigmoid_neuron")
    ref = engine("sigmoid_neuron")
    for s in fw:
        np.testing.assert_array_equal(s.value, ref.value(s.node_id))
        for port, src, v in s.inputs:
            np.testing.assert_array_equal(v, ref.value(src))
    final = {s.input_name: float(s.total) for s in bw}
    for name in ("w0", "x0", "w1", "x1", "w2", "z", "plus1"):
        assert final[name] == float(ref.grad(name))
    assert {k: round(final[k], 2) for k in ("w0", "x0", "w1", "x1", "w2")} == \
        {"w0": -0.20, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.20}
    # the reciprocal step: upstream 1, local −1/x² at x = 1.37
    recip = bw[1]
    assert (recip.name, recip.input_name) == ("f", "plus1")
    assert float(recip.local) == pytest.approx(-1 / float(ref.value("plus1")) ** 2, rel=1e-12)
    # a × gate swaps its inputs: ∂(w0·x0)/∂w0 = x0
    w0 = next(s for s in bw if s.input_name == "w0")
    assert float(w0.local) == float(ref.value("x0")) and w0.local_text == "∂w0x0/∂w0 = x0 = -1"
    assert len(bw) == 13  # seed + 12 input edges


def test_a_value_feeding_several_gates_accumulates_as_a_sum():
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 3.0})
    xx = m.add_node("mul", "xx")
    f = m.add_node("add", "f")
    m.connect(x.id, xx.id, "a")
    m.connect(x.id, xx.id, "b")
    m.connect(xx.id, f.id, "a")
    m.connect(x.id, f.id, "b")
    _, bw = trace(compile_graph(m))
    ref = engine(m)
    into_x = [s for s in bw if s.input_name == "x"]
    assert [s.accumulated for s in into_x] == [False, True, True]
    assert [float(s.downstream) for s in into_x] == [1.0, 3.0, 3.0]
    assert [float(s.total) for s in into_x] == [1.0, 4.0, 7.0]
    assert float(into_x[-1].total) == float(ref.grad("x")) == 2 * 3 + 1
    assert into_x[-1].text.endswith("= 4 + 3 = 7") and into_x[-1].text.startswith("∂f/∂x = 4 + ")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_traces_to_the_engines_numbers(path):
    model = load(path)
    program = compile_graph(model)
    feeds = sample_feeds(model, program, batch=5, seed=1)
    fw, bw = trace(program, feeds)
    ref = compile_graph(model)
    ref.run(feeds)
    gates = [i for i, n in enumerate(ref.nodes) if not n.spec.is_source]
    assert [s.node_id for s in fw] == [ref.nodes[i].key for i in gates]
    for s in fw:
        np.testing.assert_array_equal(s.value, ref.value(s.node_id))
    last: dict[str, np.ndarray] = {}
    for s in bw:
        assert s.downstream.shape == np.shape(ref.value(s.input_id))
        np.testing.assert_array_equal(s.upstream, ref.grad(s.node_id))
        if s.local is not None:
            assert s.local.shape == s.downstream.shape
            np.testing.assert_allclose(s.upstream * s.local, s.downstream, rtol=1e-12,
                                       atol=1e-300)
        last[s.input_id] = s.total
    got = {k for k in last}
    want = {n.key for n, g in zip(ref.nodes, ref.grads, strict=True) if g is not None}
    assert got == want
    for key, total in last.items():
        np.testing.assert_array_equal(total, ref.grad(key))  # bitwise: same vjps, same order
    # the traced program is left as after program.run(feeds)
    for a, b in zip(program.grads, ref.grads, strict=True):
        assert (a is None) == (b is None)


def test_no_steps_into_constants_or_class_labels():
    _, bw = traced("digits_mlp", {"X": np.ones((2, 64)), "y": [1.0, 2.0]})
    assert "y" not in {s.input_name for s in bw}  # the CE target port has no gradient
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 2.0})
    c = m.add_node("constant", "c", {"value": 5.0})
    f = m.add_node("mul", "f")
    m.connect(x.id, f.id, "a")
    m.connect(c.id, f.id, "b")
    _, bw = trace(compile_graph(m))
    assert [(s.name, s.input_name) for s in bw] == [("f", "f"), ("f", "x")]
    assert float(bw[1].local) == 5.0


def test_matmul_steps_have_no_elementwise_local_and_say_the_rule():
    _, bw = traced("digits_mlp", {"X": np.ones((3, 64)), "y": [0.0, 1.0, 2.0]})
    w1 = next(s for s in bw if s.input_name == "W1")
    assert w1.local is None and w1.local_text == "Xᵀ·G"
    assert w1.text == f"∂loss/∂W1 = Xᵀ·∂loss/∂z1 = {fmt_array(w1.downstream)}"
    z1 = next(s for s in bw if s.input_name == "z1")
    assert z1.local is not None  # σ is elementwise
    h1 = compile_graph(load(EXAMPLES / "digits_mlp.json"))
    h1.run({"X": np.ones((3, 64)), "y": [0.0, 1.0, 2.0]})
    y = h1.value("h1")
    np.testing.assert_allclose(z1.local, y * (1 - y), rtol=1e-15)
    b1 = next(s for s in bw if s.input_name == "b1")
    assert b1.local is None and "summed over the batch" in b1.text


def test_composite_inner_nodes_use_their_program_ids():
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 0.5})
    g = m.add_node("composite", "sig", body=sigmoid_chain())
    m.connect(x.id, g.id, "x")
    fw, bw = trace(compile_graph(m))
    assert [s.node_id for s in fw] == [f"{g.id}/{k}" for k in ("n2", "n3", "n4", "n5")]
    assert fw[0].name == "sig/neg" and fw[-1].name == "sig/sigma"
    s = 1 / (1 + np.exp(-0.5))
    assert float(bw[-1].total) == pytest.approx(s * (1 - s), rel=1e-12)
    assert bw[-1].input_name == "x"


def test_trace_reports_the_engines_errors():
    with pytest.raises(FeedError):
        trace(compile_graph(load(EXAMPLES / "digits_mlp.json")))


def test_tensor_values_are_shown_as_shape_and_mean():
    assert fmt_array(np.array([[1.0, 2.0], [3.0, 4.0]])) == "[2×2 mean 2.5]"
    assert fmt_array(np.array([[0.25]])) == "0.25"
    assert fmt_array(np.float64(-0.0)) == "0"


def test_arrays_multiply_element_by_element_and_the_text_says_so():
    """An elementwise gate on a batch: upstream ⊙ local, not a · that invites multiplying the
    summaries' means (which does not give the mean of the product)."""
    model = load(EXAMPLES / "moons_mlp.json")
    program = compile_graph(model)
    feeds = sample_feeds(model, program, batch=8)
    _, bw = trace(program, feeds)
    tanh = [s for s in bw if s.local is not None and np.ndim(s.local) == 2]
    assert tanh and all("⊙" in s.text and " · " not in s.text for s in tanh)
    for s in tanh:  # and the numbers behind it are the elementwise product
        np.testing.assert_allclose(s.downstream, s.upstream * s.local, rtol=1e-12)
    _, scalar = trace(compile_graph(load(EXAMPLES / "square_of_sum.json")))
    assert any(s.text.endswith("= 6 · 1 = 6") for s in scalar)  # numbers: a plain ·


# -- the command line -------------------------------------------------------------------------
def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_cli_steps_prints_the_trace_texts():
    code, text = run_cli("steps", "sigmoid_neuron")
    fw, bw = traced("sigmoid_neuron")
    assert code == 0
    want = [f"forward {s.index}: {s.text}" for s in fw] + \
        [f"backward {s.index}: {s.text}" for s in bw]
    assert text.splitlines() == want


def test_cli_steps_json_matches_trace():
    code, text = run_cli("steps", "square_of_sum", "--feed", "x=3", "--feed", "y=-1", "--json")
    fw, bw = traced("square_of_sum", {"x": 3.0, "y": -1.0})
    assert code == 0
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["phase"] for r in rows] == ["forward"] * len(fw) + ["backward"] * len(bw)
    for r, s in zip(rows, fw, strict=False):
        assert (r["node"], r["op"], r["value"]) == (s.name, s.op, float(s.value))
        assert r["inputs"] == {p: float(v) for p, _, v in s.inputs}
    for r, s in zip(rows[len(fw):], bw, strict=True):
        assert (r["node"], r["input"], r["port"]) == (s.name, s.input_name, s.port)
        assert (r["upstream"], r["local"], r["downstream"], r["total"]) == \
            (float(s.upstream), float(s.local), float(s.downstream), float(s.total))
    assert rows[-1]["total"] == 2 * (3 - 1)


def test_cli_steps_json_has_null_local_for_matmul():
    code, text = run_cli("steps", "digits_mlp", "--sample", "0", "--json")
    rows = [json.loads(line) for line in text.splitlines()]
    w1 = next(r for r in rows if r["phase"] == "backward" and r["input"] == "W1")
    assert code == 0 and w1["local"] is None
    assert np.asarray(w1["downstream"]).shape == (64, 64)


@pytest.mark.parametrize("args", [("steps", "no_such_graph"),
                                  ("steps", "square_of_sum", "--feed", "z=1"),
                                  ("steps", "square_of_sum", "--feed", "x")])
def test_cli_steps_bad_input_is_one_line_and_non_zero(args, capsys):
    code, text = run_cli(*args)
    err = capsys.readouterr().err
    assert code != 0 and text == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")


def test_cli_steps_runs_as_a_process():
    done = subprocess.run([sys.executable, "-m", "playground", "steps", "square_of_sum"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"},
                          encoding="utf-8")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "forward 0: q = x + y = 1 + 2 = 3", "forward 1: f = q² = 3² = 9",
        "backward 0: ∂f/∂f = 1", "backward 1: ∂f/∂q = ∂f/∂f · ∂f/∂q = 1 · 6 = 6",
        "backward 2: ∂f/∂x = ∂f/∂q · ∂q/∂x = 6 · 1 = 6",
        "backward 3: ∂f/∂y = ∂f/∂q · ∂q/∂y = 6 · 1 = 6"]
