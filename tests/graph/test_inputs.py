"""The first graph a student builds by hand: inputs are numbers to type in, a value that does
not fit is refused with the reason, messages name the inputs, default names read like the
lessons; graphs fed with data keep their batch inputs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from playground.engine import FeedError
from playground.graph import (
    ConnectionShapeError,
    GraphError,
    GraphModel,
    InputValueError,
    compile_graph,
    load,
)
from playground.graph.edit import apply_dict, build_mlp
from playground.graph.explain import trace
from playground.graph.inputs import inputs_without_value
from playground.graph.naming import GATE_LETTERS, INPUT_LETTERS
from playground.resources import example_names, example_path
from playground.training import bind
from playground.training.datasets import load_dataset, split


def square_of_sum_by_hand() -> tuple[GraphModel, dict[str, str]]:
    """f = (x + y)² dropped from the palette: no names, no params given."""
    m = GraphModel()
    x, y = m.add_node("input"), m.add_node("input")
    q, f = m.add_node("add"), m.add_node("pow")
    m.connect(x.id, q.id, "a")
    m.connect(y.id, q.id, "b")
    m.connect(q.id, f.id, "x")
    return m, {"x": x.id, "y": y.id, "q": q.id, "f": f.id}


def test_from_an_empty_graph_to_f_9_and_gradients_6_6_reading_like_the_lesson():
    m, ids = square_of_sum_by_hand()
    assert [n.name for n in m.nodes.values()] == ["x", "y", "q", "f"]
    assert m.nodes[ids["x"]].params == {"shape": [], "value": None}  # a number to type in
    m.set_param(ids["x"], "value", 1.0)
    m.set_param(ids["y"], "value", 2.0)
    program = compile_graph(m)
    assert program.run() == 9.0
    assert program.grad("x") == 6.0 and program.grad("y") == 6.0
    forward, backward = trace(program)
    assert [s.text for s in forward] == ["q = x + y = 1 + 2 = 3", "f = q² = 3² = 9"]
    assert "∂f/∂q = ∂f/∂f · ∂f/∂q = 1 · 6 = 6" in [s.text for s in backward]
    assert "∂f/∂x = ∂f/∂q · ∂q/∂x = 6 · 1 = 6" in [s.text for s in backward]


def test_inputs_without_a_value_are_all_named():
    m, _ = square_of_sum_by_hand()
    with pytest.raises(FeedError) as info:
        compile_graph(m).run()
    assert str(info.value).startswith("inputs 'x', 'y' have no value")
    assert info.value.inputs == ("x", "y")


@pytest.mark.parametrize("shape, value, reason", [
    ([], [1.0, 2.0], ("input 'x' is a scalar (one number); [1, 2] has 2 values: to type 2 "
                      "numbers give 'x' shape [2]")),
    ([None, 1], 1.0, ("input 'x' takes shape (N, 1), one number per sample; 1 is a single "
                      "number: to type one number give 'x' shape []")),
    ([3], [1.0, 2.0], ("input 'x' takes 3 numbers, shape (3,); [1, 2] has 2 values: to type 2 "
                       "numbers give 'x' shape [2]")),
    ([None, 2], [[1.0, 2.0, 3.0]], ("input 'x' takes shape (N, 2), 2 numbers per sample; the "
                                    "value has shape (1, 3)")),
])
def test_a_typed_value_that_does_not_fit_is_refused_with_the_reason(shape, value, reason):
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": shape})
    events: list[object] = []
    m.param_changed.connect(lambda *a: events.append(a))
    before = m.to_dict()
    with pytest.raises(InputValueError) as info:
        m.check_param(x.id, "value", value)  # what the Inspector asks before pushing an edit
    assert str(info.value) == reason and info.value.input_name == "x"
    with pytest.raises(InputValueError, match="^" + re.escape(reason) + "$"):
        m.set_param(x.id, "value", value)
    assert m.to_dict() == before and events == []  # nothing changed, nothing announced
    assert isinstance(info.value, GraphError)


def test_values_that_fit_are_taken_and_clearing_is_always_allowed():
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [None, 2]})
    assert m.check_param(x.id, "value", [[1, 2], [3, 4], [5, 6]]) == [[1.0, 2.0], [3.0, 4.0],
                                                                      [5.0, 6.0]]
    m.set_param(x.id, "value", [[1, 2]])
    m.set_param(x.id, "shape", [])  # a shape change keeps the value: running says what is wrong
    m.set_param(x.id, "value", None)
    m.set_param(x.id, "value", 4.0)
    assert m.nodes[x.id].params == {"shape": [], "value": 4.0}


def test_restoring_a_document_keeps_a_value_that_does_not_fit_and_running_names_the_input():
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [None, 1]})
    s = m.add_node("sum")
    m.connect(x.id, s.id, "x")
    m.set_param(x.id, "value", 1.0, check_shapes=False)  # as an undo state or old file has it
    target = m.to_dict()
    other = GraphModel.from_dict(target)  # files with such a value keep loading
    other.set_param(x.id, "value", [[2.0]])
    apply_dict(other, target)  # and undo reaches them
    assert other.to_dict() == target
    with pytest.raises(FeedError, match=r"^input 'x' takes shape \(N, 1\), one number per "
                                        r"sample; 1 is a single number"):
        compile_graph(other).run()


def test_default_names_follow_the_scheme_and_skip_taken_names():
    m = GraphModel()
    assert [m.add_node("input").name for _ in range(5)] == ["x", "y", "z", "x1", "y1"]
    gates = [m.add_node(op).name for op in ("add", "mul", "pow", "exp", "neg", "sub", "div",
                                            "reciprocal", "add")]
    assert gates == list(GATE_LETTERS) + ["q1"]
    assert [m.add_node(op).name for op in ("dense", "relu", "sigmoid", "dense")] == [
        "z1", "h1", "h2", "z2"]
    assert m.add_node("parameter").name == "W" and m.add_node("parameter").name == "W1"
    assert m.add_node("constant").name == "c"
    assert m.add_node("mse").name == "loss"
    for name in [n.name for n in m.nodes.values()]:
        m.check_name(name, m.by_name(name).id)


def test_a_default_name_is_what_a_new_node_gets_and_every_letter_is_a_usable_name():
    m = GraphModel()
    for letter in INPUT_LETTERS + GATE_LETTERS:
        m.check_name(letter)
    m.add_node("input", "q")  # a name the user chose earlier
    assert m.default_name("add") == "f" and m.add_node("add").name == "f"
    assert m.default_name("input") == "x"


@pytest.mark.parametrize("name", example_names())
def test_examples_keep_their_names_and_their_batch_inputs(name):
    data = json.loads(example_path(name).read_text(encoding="utf-8"))
    m = load(example_path(name))
    assert [n.name for n in m.nodes.values()] == [n["name"] for n in data["nodes"]]
    for node, raw in zip(m.nodes.values(), data["nodes"], strict=True):
        if node.op == "input":
            assert node.params["shape"] == raw["params"]["shape"]


def test_layer_stack_makes_batch_inputs_and_training_binds_them_not_a_typed_number():
    m = GraphModel()
    after, _ = build_mlp(m, 2, [4], "tanh", 2, "softmax_cross_entropy")
    apply_dict(m, after)
    assert m.by_name("X").params["shape"] == [None, 2]
    assert m.by_name("y").params["shape"] == [None]
    typed = m.add_node("input")  # a number dropped beside the network
    m.set_param(typed.id, "value", 3.0)
    data = split(load_dataset("moons", n_samples=40, seed=0), val_fraction=0.25, seed=0)
    binding = bind(compile_graph(m), data)
    assert (binding.features, binding.target) == ("X", "y")


def test_wiring_a_typed_number_into_a_gate_that_takes_data_says_which_shape_fits():
    m = GraphModel()
    x = m.add_node("input")
    z = m.add_node("dense")
    w = m.add_node("parameter", params={"shape": [3, 4]})
    b = m.add_node("parameter", params={"shape": [4]})
    m.connect(w.id, z.id, "W")
    m.connect(b.id, z.id, "b")
    with pytest.raises(ConnectionShapeError) as info:
        m.connect(x.id, z.id, "x")
    assert str(info.value).endswith("; to feed data through 'x' give it shape [null, 3]")
    assert (info.value.input_id, info.value.shape) == (x.id, [None, 3])
    m.set_param(x.id, "shape", info.value.shape)  # what the window offers to do
    m.connect(x.id, z.id, "x")
    assert compile_graph(m).run({"x": np.ones((5, 3))}).shape == (5, 4)
    loss = m.add_node("softmax_cross_entropy")
    t = m.add_node("input")
    m.connect(z.id, loss.id, "logits")
    with pytest.raises(ConnectionShapeError) as info:
        m.connect(t.id, loss.id, "target")
    assert info.value.shape == [None]  # class labels first
    other = m.add_node("add")
    m.connect(z.id, other.id, "a")
    seven = m.add_node("parameter", params={"shape": [7]})
    with pytest.raises(ConnectionShapeError) as info:  # not an input: no shape to offer
        m.connect(seven.id, other.id, "b")
    assert info.value.shape is None and info.value.input_id is None
    assert "to feed data" not in str(info.value)


def test_inputs_without_value_are_told_apart_numbers_to_type_from_data():
    m, ids = square_of_sum_by_hand()
    assert inputs_without_value(m) == (["x", "y"], [])
    data = load(example_path("digits_mlp"))
    assert inputs_without_value(data) == ([], ["X", "y"])
    assert inputs_without_value(data, fed={"y"}) == ([], ["X"])
    m.set_param(ids["x"], "value", 2.0)
    m.set_param(ids["y"], "shape", [None, 1])
    assert inputs_without_value(m) == ([], ["y"])


def test_with_input_width_resizes_the_input_and_the_weights_that_multiply_it():
    from playground.graph import compile_graph, load
    from playground.graph.builders import with_input_width
    from playground.graph.errors import GraphError
    from playground.resources import example_path

    model = load(example_path("moons_mlp"))
    by_name = {n.name: n for n in model.nodes.values()}
    before = model.to_dict()
    after, changed = with_input_width(model, by_name["X"].id, 5)
    assert model.to_dict() == before  # the model itself is not touched
    assert changed == ["X", "W1"]
    model.apply(after)
    assert by_name["X"].params["shape"] == [None, 5] and by_name["W1"].params["shape"] == [5, 16]
    assert by_name["W2"].params["shape"] == [16, 16]  # the rest keeps its shapes
    program = compile_graph(model)
    assert program.nodes[program.index[by_name["z1"].id]].shape == (None, 16)
    assert with_input_width(model, by_name["X"].id, 5)[1] == []  # already 5 wide
    with pytest.raises(GraphError, match="not an input"):
        with_input_width(model, by_name["W1"].id, 3)
    with pytest.raises(GraphError, match="whole number"):
        with_input_width(model, by_name["X"].id, 0)
