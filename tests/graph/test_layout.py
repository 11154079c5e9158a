"""The layered layout: clean on every example, after Expand, after Layer Stack builds and on
random graphs; sizes and ports as the canvas draws them; deterministic. No Qt.

"Clean" is :func:`layout_problems` finding nothing: no two node boxes within 8 px of each
other, every wire runs left to right, and no wire's drawn curve (the canvas's cubic from the
output port on the right edge to the input port on the left edge, sampled at 25 points)
comes within 8 px of a node it does not connect."""

from __future__ import annotations

import random
from itertools import pairwise
from typing import Any

import pytest

from playground.graph import GraphModel, load
from playground.graph.edit import apply_dict, auto_layout, build_mlp
from playground.graph.geometry import node_geometry, node_size, port_offsets
from playground.graph.granularity import expand
from playground.graph.layout import layered_positions, layout_problems, wire_points
from playground.graph.serialize import model_from_dict
from playground.resources import example_names, example_path

SOURCES = ("input", "parameter", "constant")


def example(name: str) -> GraphModel:
    return load(example_path(name))


def laid_out(model: GraphModel, **kw: Any) -> GraphModel:
    """A copy of ``model`` with the layered positions."""
    copy = model_from_dict(model.to_dict())
    for nid, pos in layered_positions(model, **kw).items():
        copy.move_node(nid, pos)
    return copy


def columns(model: GraphModel) -> list[float]:
    return sorted({n.position[0] for n in model.nodes.values()})


def assert_sources_beside_their_gate(model: GraphModel) -> None:
    """A source sits in the column just before the first gate it feeds."""
    cols = columns(model)
    for n in model.nodes.values():
        out = model.outgoing(n.id)
        if n.op in SOURCES and out:
            first = min(model.nodes[e.dst].position[0] for e in out)
            assert cols.index(first) == cols.index(n.position[0]) + 1, n.name


def random_dag(n: int, seed: int, window: int = 30, p_source: float = 0.15) -> GraphModel:
    """n nodes; a gate takes each input from one of the ``window`` nodes made before it."""
    rng = random.Random(seed)
    m = GraphModel()
    ids: list[str] = []
    for k in range(n):
        if k < 2 or rng.random() < p_source:
            node = m.add_node(rng.choice(SOURCES), f"s{k}")
        else:
            node = m.add_node(rng.choice(["add", "mul", "neg", "tanh", "sub", "exp"]), f"g{k}")
            for port in m.input_ports(node):
                m.connect(rng.choice(ids[-window:]), node.id, port, check_shapes=False)
        ids.append(node.id)
    return m


# -- node geometry ---------------------------------------------------------------------------

def test_ports_and_heights_follow_the_node_item_rules() -> None:
    assert port_offsets(0) == ([], 45.0)
    assert port_offsets(1) == ([45.0], 45.0)
    assert port_offsets(2) == ([45.0, 67.0], 53.0)
    assert port_offsets(3) == ([45.0, 67.0, 89.0], 64.0)
    m = example("digits_mlp")
    geo = node_geometry(m)
    assert (geo[m.by_name("X").id].height, geo[m.by_name("z1").id].height) == (78.0, 122.0)
    assert geo[m.by_name("loss").id].inputs == {"logits": 45.0, "target": 67.0}


@pytest.mark.parametrize("op,name,real", [
    # real NodeItem widths measured offscreen with the canvas's font (DejaVu Sans)
    ("add_const", "Wide_NAME_with_Caps_WWW_MM1", 293.203125),
    ("softmax_cross_entropy", "softmax_cross_entropy_23", 228.59375),
    ("sigmoid", "ünïcödé_long_name21", 197.03125),
    ("tanh", "h1", 150.0),
])
def test_estimated_width_matches_the_canvas(op: str, name: str, real: float) -> None:
    m = GraphModel()
    node = m.add_node(op, name)
    w, _h = node_size(node, m.input_ports(node), None)
    assert real <= w <= real + 2.0


def test_a_size_function_is_used() -> None:
    m = example("square_of_sum")
    geo = node_geometry(m, lambda node: (300.0, 90.0))
    assert {(g.width, g.height) for g in geo.values()} == {(300.0, 90.0)}
    pos = layered_positions(m, size=lambda node: (300.0, 90.0))
    assert pos[m.by_name("q").id][0] - pos[m.by_name("x").id][0] > 300.0


# -- the checker can fail ----------------------------------------------------------------------

def test_layout_problems_finds_overlaps_wires_through_nodes_and_backward_wires() -> None:
    m = example("square_of_sum")
    x, y, q, f = (m.by_name(n).id for n in ("x", "y", "q", "f"))
    good = layered_positions(m)
    assert layout_problems(m, good) == []
    assert any("overlap" in p for p in layout_problems(m, {**good, y: good[x]}))
    # y straight between x and q: the wire x → q passes through it
    mid = ((good[x][0] + good[q][0]) / 2, good[x][1])
    assert any("passes through 'y'" in p for p in layout_problems(m, {**good, y: mid}))
    assert any("right to left" in p for p in layout_problems(m, {**good, f: (-500.0, 0.0)}))


def test_wire_points_follow_the_canvas_cubic() -> None:
    pts = wire_points((0.0, 0.0), (200.0, 100.0), n=4)
    assert pts[0] == (0.0, 0.0) and pts[-1] == (200.0, 100.0)
    assert pts[2] == pytest.approx((100.0, 50.0))  # symmetric S-curve
    assert all(a[0] < b[0] and a[1] <= b[1] for a, b in pairwise(pts))


# -- examples, Expand, Layer Stack -------------------------------------------------------------

@pytest.mark.parametrize("name", example_names())
def test_every_example_lays_out_cleanly(name: str) -> None:
    m = laid_out(example(name))
    assert layout_problems(m) == []
    assert_sources_beside_their_gate(m)


@pytest.mark.parametrize("name", example_names())
def test_the_bundled_examples_are_clean_as_shipped(name: str) -> None:
    assert layout_problems(example(name)) == []


def test_expanding_the_fused_sigmoid_spaces_the_gates() -> None:
    m = example("sigmoid_neuron_fused")
    f = m.by_name("f")
    old = f.position
    after, ids = expand(m, f.id)
    apply_dict(m, after)
    assert layout_problems(m) == []
    gates = [m.nodes[i] for i in ids]
    assert gates[0].position == old
    geo = node_geometry(m)
    for a, b in pairwise(gates):
        gap = b.position[0] - (a.position[0] + geo[a.id].width)
        assert gap >= 66.0  # a scalar's value and gradient label fits between
        assert a.position[1] + geo[a.id].output == b.position[1] + geo[b.id].inputs["x"]


def test_expanding_a_dense_layer_stays_clean() -> None:
    m = example("digits_mlp")
    after, ids = expand(m, m.by_name("z1").id)
    apply_dict(m, after)
    assert layout_problems(m) == []
    assert [m.nodes[i].op for i in ids] == ["matmul", "add"]


@pytest.mark.parametrize("sizes,activation,loss", [
    ([2, 8, 8, 2], "tanh", "softmax_cross_entropy"),
    ([64, 32, 10], "relu", "softmax_cross_entropy"),
    ([1, 16, 1], "tanh", "mse"),
    ([4, 3, 2], "sigmoid", "binary_cross_entropy"),
    ([3, 5, 5, 5, 2], "leaky_relu", "none"),
])
def test_layer_stacks_lay_out_cleanly(sizes: list[int], activation: str, loss: str) -> None:
    m = GraphModel()
    after, _ids = build_mlp(m, sizes[0], sizes[1:-1], activation, sizes[-1], loss,
                           origin=(100.0, 50.0))
    apply_dict(m, after)
    assert layout_problems(m) == []
    assert_sources_beside_their_gate(m)
    assert min(n.position[0] for n in m.nodes.values()) == 100.0
    assert min(n.position[1] for n in m.nodes.values()) == 50.0
    for k in range(1, len(sizes)):
        z, w, b = (m.by_name(f"{p}{k}") for p in ("z", "W", "b"))
        feeds_x = m.nodes[m.edge_into(z.id, "x").src]
        # weights hang below what feeds x, in port order, right before their gate
        assert feeds_x.position[1] < w.position[1] < b.position[1]
        assert w.position[0] == b.position[0] == feeds_x.position[0] < z.position[0]


# -- auto-layout and random graphs -------------------------------------------------------------

def test_auto_layout_changes_positions_only_and_keeps_the_top_left_corner() -> None:
    m = example("sine_regression")
    after = auto_layout(m)
    got = model_from_dict(after)
    assert got.to_dict()["edges"] == m.to_dict()["edges"]
    assert [(n.op, n.name) for n in got.nodes.values()] == \
        [(n.op, n.name) for n in m.nodes.values()]
    corner = (min(n.position[0] for n in m.nodes.values()),
              min(n.position[1] for n in m.nodes.values()))
    assert (min(n.position[0] for n in got.nodes.values()),
            min(n.position[1] for n in got.nodes.values())) == corner
    assert layout_problems(got) == []


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_never_overlap_and_flow_left_to_right(seed: int) -> None:
    m = random_dag(random.Random(seed).randint(1, 45), seed)
    problems = layout_problems(laid_out(m))
    assert [p for p in problems if "passes through" not in p] == []


@pytest.mark.parametrize("seed", range(25))
def test_random_feed_forward_graphs_are_clean(seed: int) -> None:
    """Graphs shaped like networks: each gate reads the previous one or two gates and
    parameters (so wires skip at most one column), plus parts that are not connected."""
    m = random_dag(random.Random(seed).randint(1, 45), seed, window=2, p_source=0.3)
    assert layout_problems(laid_out(m)) == []


def test_the_layout_is_deterministic() -> None:
    m = random_dag(60, 3)
    again = model_from_dict(m.to_dict())
    assert layered_positions(m) == layered_positions(again) == layered_positions(m)


def test_disconnected_parts_are_stacked_and_a_subset_can_be_laid_out() -> None:
    m = example("square_of_sum")
    lone = m.add_node("input", "lonely", {"shape": []}, (900.0, 900.0))
    pos = layered_positions(m)
    assert pos[lone.id][1] > max(pos[n][1] for n in m.nodes if n != lone.id)
    only = layered_positions(m, node_ids=[lone.id], origin=(5.0, 6.0))
    assert only == {lone.id: (5.0, 6.0)}
