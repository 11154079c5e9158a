"""The layouts against the canvas's real items: the Qt-free size estimate
(playground/graph/geometry.py) matches the NodeItems on every example, and after Auto-Layout,
Expand and Layer Stack no node overlaps another and no wire passes through a node, measured
with the real items' sizes and ports."""

from __future__ import annotations

import pytest

from playground.graph.geometry import NodeGeometry, node_geometry
from playground.graph.layout import layout_problems
from playground.resources import example_names
from tests.ui.helpers import select

WIDTH_TOLERANCE = 0.03  # the estimate uses DejaVu Sans widths; 3 % covers rounding


def real_geometry(win) -> dict[str, NodeGeometry]:
    """Every node's box and port offsets as the canvas draws them."""
    out = {}
    for nid, item in win.scene.nodes.items():
        body = item.body_rect()
        inputs = {name: port.pos().y() for name, port in item.inputs.items()}
        assert item.output is not None
        out[nid] = NodeGeometry(body.width(), body.height(), inputs, item.output.pos().y())
    return out


def positions(win) -> dict[str, tuple[float, float]]:
    return {nid: (item.pos().x(), item.pos().y()) for nid, item in win.scene.nodes.items()}


def problems(win) -> list[str]:
    model = win.document.model
    assert positions(win) == {nid: n.position for nid, n in model.nodes.items()}
    return layout_problems(model, geometry=real_geometry(win))


@pytest.mark.parametrize("name", example_names())
def test_the_size_estimate_matches_the_node_items(window, name):
    assert window.open_example(name)
    estimate, real = node_geometry(window.document.model), real_geometry(window)
    assert estimate.keys() == real.keys()
    for nid, r in real.items():
        e = estimate[nid]
        title = window.document.model.nodes[nid].name
        assert abs(e.width - r.width) <= WIDTH_TOLERANCE * r.width, (title, e.width, r.width)
        assert e.height == r.height, title
        assert e.inputs == r.inputs and e.output == r.output, title


@pytest.mark.parametrize("name", example_names())
def test_examples_and_auto_layout_have_no_overlap_or_wire_through_a_node(window, name):
    assert window.open_example(name)
    assert problems(window) == [], "as bundled"
    window.actions_["auto_layout"].trigger()
    assert problems(window) == [], "after Auto-Layout"


@pytest.mark.parametrize("name, node", [("sigmoid_neuron_fused", "f"), ("digits_mlp", "z1"),
                                        ("digits_mlp", "h1"), ("moons_mlp", "z2")])
def test_expand_lays_out_the_new_gates_cleanly(window, name, node):
    assert window.open_example(name)
    select(window, node)
    assert window.granularity.expand_selection()
    assert problems(window) == []


@pytest.mark.parametrize("spec", [
    {"input_width": 2, "hidden": [8, 8], "activation": "tanh", "output_width": 2,
     "loss": "softmax_cross_entropy"},
    {"input_width": 64, "hidden": [64, 32], "activation": "relu", "output_width": 10,
     "loss": "mse"},
    {"input_width": 3, "hidden": [4], "activation": "sigmoid", "output_width": 1,
     "loss": "binary_cross_entropy"},
])
def test_layer_stack_is_laid_out_cleanly(window, spec):
    ids = window.edit.insert_layer_stack(**spec)
    assert ids
    assert problems(window) == []
    # and beside an example already on the canvas
    assert window.open_example("square_of_sum")
    assert window.edit.insert_layer_stack(**spec)
    assert problems(window) == []
