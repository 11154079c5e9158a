"""Editing in the real window: clipboard, duplicate, group/open/ungroup, comment boxes,
drop onto a wire, inspector, layer stack."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from conftest import assert_scene_mirrors_model, view_point
from playground.graph import compile_graph
from playground.ui import edit_actions


def select(win, *names: str) -> list[str]:
    model = win.document.model
    win.scene.clearSelection()
    ids = [model.by_name(n).id for n in names]
    for nid in ids:
        win.scene.nodes[nid].setSelected(True)
    return ids


def values(model, feeds=None) -> dict[str, tuple[float, np.ndarray]]:
    program = compile_graph(model)
    program.init_params(0)
    program.run(feeds)
    out = {}
    for node in model.nodes.values():
        if node.id not in program.index:  # a node that cannot compute yet
            continue
        i = program.index[node.id]
        out[node.name] = (np.asarray(program.values[i]).copy(), program.grads[i])
    return out


def test_copy_paste_and_duplicate(window):
    window.open_example("square_of_sum")
    model = window.document.model
    select(window, "x", "q")
    window.actions_["copy"].trigger()
    window.actions_["paste"].trigger()
    assert len(model.nodes) == 6 and len(model.edges) == 4  # x', q' and the wire between them
    new = [n for n in model.nodes.values() if n.name not in ("x", "y", "q", "f")]
    assert sorted(n.op for n in new) == ["add", "input"]
    assert sorted(window.scene.selected_node_ids()) == sorted(n.id for n in new)
    window.actions_["duplicate"].trigger()
    assert len(model.nodes) == 8
    assert len({n.name for n in model.nodes.values()}) == 8
    assert_scene_mirrors_model(window)
    window.document.undo.undo()
    window.document.undo.undo()
    assert len(model.nodes) == 4
    assert_scene_mirrors_model(window)


def test_cut_removes_and_paste_brings_back(window):
    window.open_example("sigmoid_neuron")
    model = window.document.model
    before = len(model.nodes)
    select(window, "exp")
    window.actions_["cut"].trigger()
    assert len(model.nodes) == before - 1
    window.actions_["paste"].trigger()
    assert len(model.nodes) == before
    assert any(n.op == "exp" for n in model.nodes.values())


def test_group_open_ungroup_round_trip_keeps_every_value(window):
    window.open_example("sigmoid_neuron")
    model = window.document.model
    reference = values(model)
    select(window, "neg", "exp", "plus1", "f")
    window.actions_["group"].trigger()
    composite = next(n for n in model.nodes.values() if n.op == "composite")
    grouped = values(model)
    assert grouped[composite.name][0] == pytest.approx(reference["f"][0], abs=1e-12)
    for name in ("w0", "x0", "w1", "x1", "w2"):
        assert grouped[name][1] == pytest.approx(reference[name][1], abs=1e-12)
    assert_scene_mirrors_model(window)
    # open it, edit inside, go back: one undo step outside
    window.scene.clearSelection()
    window.scene.nodes[composite.id].setSelected(True)
    window.actions_["open_group"].trigger()
    assert window.breadcrumb.isVisible()
    inner = window.document.model
    assert {n.op for n in inner.nodes.values()} >= {"neg", "exp", "add_const", "reciprocal"}
    assert composite.name in window.windowTitle()
    plus = inner.by_name("plus1")
    from playground.ui.commands import SetParamCommand

    window.document.undo.push(SetParamCommand(inner, plus.id, "c", 2.0))
    window.breadcrumb.buttons[0].click()
    assert window.document.model is model and not window.breadcrumb.isVisible()
    z = reference["z"][0]
    assert values(model)[composite.name][0] == pytest.approx(1 / (2 + np.exp(-z)), abs=1e-12)
    window.document.undo.undo()  # the inside edit
    assert values(model)[composite.name][0] == pytest.approx(reference["f"][0], abs=1e-12)
    # ungroup restores primitive gates with the same values
    window.scene.clearSelection()
    window.scene.nodes[composite.id].setSelected(True)
    window.actions_["ungroup"].trigger()
    assert not any(n.op == "composite" for n in model.nodes.values())
    after = values(model)
    for name in ("w0", "x0", "w1", "x1", "w2"):
        assert after[name][1] == pytest.approx(reference[name][1], abs=1e-12)
    assert_scene_mirrors_model(window)


def test_group_with_two_outputs_is_refused_with_a_reason(window):
    window.open_example("sigmoid_neuron")
    before = window.document.model.to_dict()
    model = window.document.model
    select(window, "w0x0", "w1x1")  # both feed sum01 outside: two outputs
    window.actions_["group"].trigger()
    assert model.to_dict() == before
    assert "Cannot group" in window.statusBar().currentMessage()


def test_comment_box_moves_its_nodes_and_is_saved(qtbot, window, tmp_path):
    window.open_example("square_of_sum")
    model = window.document.model
    select(window, "x", "y")
    bid = window.edit.add_backdrop("inputs")
    assert [b["title"] for b in model.meta["backdrops"]] == ["inputs"]
    box = window.scene.backdrops[bid]
    x0, y0 = model.by_name("x").position, model.by_name("f").position
    window.scene.clearSelection()
    window.view.fit()
    window.view.set_zoom(1.0)
    window.view.centerOn(box.scene_rect().center())
    vp = window.view.viewport()
    start = view_point(window, box.scene_rect().topLeft() + QPointF(60, 10))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 5):
        qtbot.mouseMove(vp, start + QPoint(10 * k, 5 * k))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(40, 20))
    x1 = model.by_name("x").position
    assert (x1[0] - x0[0], x1[1] - x0[1]) == pytest.approx((40, 20), abs=2)
    assert model.by_name("f").position == y0  # outside the box: not carried
    assert model.meta["backdrops"][0]["rect"][0] == pytest.approx(box.scene_rect().x())
    window.document.undo.undo()
    assert model.by_name("x").position == x0
    path = tmp_path / "boxes.json"
    window.files.save_to(path)
    assert window.open_file(path)
    assert [b["title"] for b in window.document.model.meta["backdrops"]] == ["inputs"]
    assert len(window.scene.backdrops) == 1
    window.ask_text = lambda *a: "the inputs"
    window.edit.rename_backdrop(bid)
    assert window.document.model.meta["backdrops"][0]["title"] == "the inputs"
    window.scene.clearSelection()
    window.scene.backdrops[bid].setSelected(True)
    window.actions_["delete"].trigger()
    assert window.document.model.meta["backdrops"] == [] and not window.scene.backdrops


def test_dropping_a_node_onto_a_wire_inserts_it(qtbot, window):
    window.open_example("square_of_sum")
    model = window.document.model
    reference = values(model)
    from playground.ui.commands import AddNodeCommand

    cmd = AddNodeCommand(model, "mul_const", (200, 400), "twice", {"c": 2.0})
    window.document.undo.push(cmd)
    window.view.fit()
    QApplication_process()
    item = window.scene.nodes[cmd.node_id]
    wire = next(e for e in window.scene.edges.values() if e.dst == model.by_name("f").id)
    target = wire.path().pointAtPercent(0.5)
    vp = window.view.viewport()
    grab = item.mapToScene(QPointF(70, 10))
    start = view_point(window, grab)
    end = view_point(window, target + (grab - item.sceneBoundingRect().center()))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 9):
        qtbot.mouseMove(vp, start + (end - start) * k / 8)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)
    f = values(model)["f"][0]
    assert f == pytest.approx((2 * 3.0) ** 2)  # f = (2·(x+y))² at x=1, y=2
    assert reference["f"][0] == 9.0
    assert window.document.undo.count() == 2  # add, then move + insert as one step
    window.document.undo.undo()
    assert model.nodes[cmd.node_id].position == (200.0, 400.0)
    assert not any(cmd.node_id in (e.src, e.dst) for e in model.edges.values())
    model.set_meta("output", model.by_name("f").id)
    assert values(model)["f"][0] == 9.0


def QApplication_process() -> None:
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()


def test_inspector_edits_params_and_names_through_undo(window):
    window.open_example("square_of_sum")
    model = window.document.model
    select(window, "f")
    insp = window.inspector
    editor = insp.editors["exponent"]
    editor.setText("3")
    editor.editingFinished.emit()
    assert model.by_name("f").params["exponent"] == 3.0
    assert values(model)["f"][0] == 27.0
    insp.name_edit.setText("q")  # taken: refused with the reason, nothing changes
    insp.name_edit.editingFinished.emit()
    assert "already used" in insp.error.text() and model.by_name("f")
    insp.name_edit.setText("cube")
    insp.name_edit.editingFinished.emit()
    assert model.by_name("cube").op == "pow"
    editor = insp.editors["exponent"]
    editor.setText("abc")
    editor.editingFinished.emit()
    assert "not a number" in insp.error.text()
    window.document.undo.undo()
    window.document.undo.undo()
    assert model.by_name("f").params["exponent"] == 2.0
    assert "(N" not in insp.info.text()


def test_layer_stack_inserts_a_trainable_mlp(window):
    from playground.training import TrainConfig, train
    from playground.training.datasets import load_dataset, split

    ids = window.edit.insert_layer_stack(input_width=2, hidden=[8, 8], activation="tanh",
                                          output_width=2, loss="softmax_cross_entropy")
    model = window.document.model
    assert ids and len(model.nodes) == len(ids)
    assert window.document.undo.count() == 1
    program = compile_graph(model)
    data = split(load_dataset("moons", n_samples=200), seed=0)
    ends = [m for m in train(program, data, TrainConfig(epochs=5, lr=0.05)) if m.epoch_end]
    assert ends[-1].train_loss < ends[0].train_loss
    from playground.ui.layerstack import LayerStackDialog

    dialog = LayerStackDialog(window)
    dialog.hidden.setText("64, x")
    dialog._accept()
    assert "x" in dialog.error.text() and dialog.result() == 0
