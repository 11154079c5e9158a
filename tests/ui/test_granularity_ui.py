"""Fuse, expand and compare the two forms, in a real window."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_scene_mirrors_model

from playground.graph import compile_graph
from tests.ui.helpers import ids_by_name, select


@pytest.fixture
def win(window):
    """The real window; MainWindow installs the explain tools itself."""
    assert window.stepper is window.explain.stepper
    return window


def source_grads(model) -> dict[str, np.ndarray]:
    program = compile_graph(model, dtype="float64")
    program.run(None, all_grads=True)
    return {program.nodes[i].name: np.array(program.grads[i])
            for i in program.inputs + program.parameters}


def assert_same_grads(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k, value in a.items():
        np.testing.assert_allclose(value, b[k], rtol=0, atol=1e-12, err_msg=k)


def test_fuse_and_expand_round_trip_keeps_gradients_and_undo_restores(win):
    win.open_example("sigmoid_neuron")
    doc = win.document
    original = doc.model.to_dict()
    grads = source_grads(doc.model)
    ops_before = sorted(n.op for n in doc.model.nodes.values())
    count = doc.undo.count()

    select(win, "neg", "exp", "plus1", "f")
    win.actions_["fuse"].trigger()
    assert doc.undo.count() == count + 1  # one undo step
    ops = sorted(n.op for n in doc.model.nodes.values())
    assert "sigmoid" in ops and not {"neg", "exp", "add_const", "reciprocal"} & set(ops)
    assert len(ops) == len(ops_before) - 3
    assert_same_grads(grads, source_grads(doc.model))
    assert_scene_mirrors_model(win)
    fused = doc.model.to_dict()
    sig = ids_by_name(win)["f"]
    assert doc.model.nodes[sig].op == "sigmoid"
    assert win.scene.selected_node_ids() == [sig]

    win.actions_["expand"].trigger()
    assert doc.undo.count() == count + 2
    assert sorted(n.op for n in doc.model.nodes.values()) == ops_before
    assert_same_grads(grads, source_grads(doc.model))
    assert_scene_mirrors_model(win)

    doc.undo.undo()
    assert doc.model.to_dict() == fused
    doc.undo.undo()
    assert doc.model.to_dict() == original
    assert_scene_mirrors_model(win)
    doc.undo.redo()
    assert doc.model.to_dict() == fused


def test_comparison_panel_shows_1_vs_4_gates_and_no_gradient_difference(win):
    win.open_example("sigmoid_neuron")
    select(win, "neg", "exp", "plus1", "f")
    win.actions_["fuse"].trigger()
    panel = win.granularity
    assert win.docks["granularity"].isVisible()
    result = panel.comparison
    assert result is not None
    assert result.max_grad_diff < 1e-12
    assert panel.cell(0, 0) == "1 gate" and panel.cell(0, 1) == "4 gates"
    assert panel.cell(1, 0) == "5 gates" and panel.cell(1, 1) == "8 gates"
    assert "rounding" in panel.cell(3, 0) or panel.cell(3, 0).startswith("0")
    assert panel.cell(2, 0).endswith("s") and panel.cell(2, 1).endswith("s")  # µs or ms
    assert result.seconds_a > 0 and result.seconds_b > 0
    assert "Same gradients" in panel.verdict.text()
    assert result.labels == ("the fused form", "the primitive form")
    assert result.verdict in panel.verdict.text()  # said plainly: faster by how much, or noise
    headers = [panel.table.horizontalHeaderItem(c).text() for c in range(2)]
    assert headers[0].startswith("Fused") and headers[1].startswith("Primitive")


def test_compare_forms_on_demand_from_either_form(win):
    win.open_example("sigmoid_neuron_fused")
    before = win.document.model.to_dict()
    select(win, "f")
    win.actions_["compare_forms"].trigger()
    panel = win.granularity
    assert panel.pair is not None and panel.pair.current == "fused"
    assert (panel.cell(0, 0), panel.cell(0, 1)) == ("1 gate", "4 gates")
    assert panel.comparison.max_grad_diff < 1e-12
    assert win.document.model.to_dict() == before  # comparing edits nothing
    win.open_example("sigmoid_neuron")
    win.scene.clearSelection()  # nothing selected: the whole graph
    assert win.granularity.compare_selection()
    assert win.granularity.pair.current == "primitive"
    assert win.granularity.cell(0, 1) == "4 gates"


def test_nothing_to_fuse_or_expand_is_refused_with_the_reason(win):
    win.open_example("sigmoid_neuron")
    doc = win.document
    count = doc.undo.count()
    select(win, "w0x0", "exp")
    win.actions_["fuse"].trigger()
    assert "Nothing in the selection fuses" in win.statusBar().currentMessage()
    select(win, "w0x0")
    win.actions_["expand"].trigger()
    assert "cannot be expanded" in win.statusBar().currentMessage()
    win.scene.clearSelection()
    win.actions_["fuse"].trigger()
    assert "Select the primitive gates" in win.statusBar().currentMessage()
    assert doc.undo.count() == count


def test_expand_a_dense_layer_keeps_the_gradients(win):
    win.open_example("digits_mlp")
    doc = win.document
    model = doc.model
    feeds_model = compile_graph(model, dtype="float64")
    from playground.graph.granularity import sample_feeds

    feeds = sample_feeds(model, feeds_model, batch=4)

    def grads_of(m):
        p = compile_graph(m, dtype="float64")
        p.run(feeds, all_grads=True)
        return {p.nodes[i].name: np.array(p.grads[i]) for i in p.parameters}

    before = grads_of(model)
    original = model.to_dict()
    select(win, "z1")
    assert win.granularity.expand_selection()
    ops = {n.name: n.op for n in model.nodes.values()}
    assert ops["z1"] == "add" and ops["z1_matmul"] == "matmul"
    assert_same_grads(before, grads_of(model))
    assert (win.granularity.cell(0, 0), win.granularity.cell(0, 1)) == ("1 gate", "2 gates")
    doc.undo.undo()
    assert model.to_dict() == original


def test_fuse_and_expand_are_in_the_menus(win):
    titles = {a.text().replace("&", ""): a.menu() for a in win.menuBar().actions()}
    explain = [a.text() for a in titles["Explain"].actions()]
    edit = [a.text() for a in titles["Edit"].actions()]
    for text in ("&Fuse Gates", "E&xpand Gate"):
        assert text in explain and text in edit
    assert "Step &Forward" in explain
