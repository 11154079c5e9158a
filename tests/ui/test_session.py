"""The Session at the centre of the window: caches keyed on the graph's revision, the document
stack, settings and weights read from a file through one checker, visible reports."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QPointF

from playground.graph import GraphModel
from playground.resources import example_path
from playground.training import save_params, weights_path
from playground.ui.document import Document
from tests.ui.helpers import select


def _tanh_graph() -> GraphModel:
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 0.5}, (0, 0))
    t = m.add_node("tanh", "t", {}, (200, 0))
    m.connect(x.id, t.id, "x")
    return m


def test_edit_undo_then_another_edit_never_reuses_a_stale_program(qtbot, window):
    """The old bug: caches keyed on the undo index showed sigmoid on the canvas while training
    (and the Math card) ran the old tanh program, because the index repeats after an undo."""
    session = window.session
    session.set_root(Document(_tanh_graph()))
    doc = session.document
    t = doc.model.by_name("t").id
    first = session.program()
    assert first.nodes[first.index[t]].spec.name == "tanh"
    select(window, "t")
    assert "tanh" in window.math_card.text()
    index_before = doc.undo.index()
    # an edit (tanh → sigmoid, through an undoable state change), its undo, another edit
    after = doc.model.to_dict()
    for n in after["nodes"]:
        if n["id"] == t:
            n["op"] = "relu"
    window.edit._push_state(after, "make it relu")
    relu = session.program()  # trained on, say
    assert relu.nodes[relu.index[t]].spec.name == "relu"
    select(window, "t")
    assert "max(0" in window.math_card.text()
    doc.undo.undo()
    assert doc.undo.index() == index_before
    after = doc.model.to_dict()
    for n in after["nodes"]:
        if n["id"] == t:
            n["op"] = "sigmoid"
    window.edit._push_state(after, "make it sigmoid")
    assert doc.undo.index() == index_before + 1  # the index the relu edit had
    program = session.program()
    assert program is not first and program is not relu
    assert program.nodes[program.index[t]].spec.name == "sigmoid"
    select(window, "t")
    assert "σ" in window.math_card.text() and "tanh" not in window.math_card.text()
    program.run(None)
    assert float(program.value("t")) == 1 / (1 + np.exp(-0.5))


def test_moving_nodes_and_run_settings_keep_the_compiled_program(window):
    session = window.session
    window.open_example("moons_mlp")
    program = session.program()
    doc = session.document
    nid = next(iter(doc.model.nodes))
    doc.model.move_node(nid, (1234.0, 56.0))
    session.remember_settings()  # writes meta.training through set_meta: an event, a revision
    assert session.program() is program


def test_a_composite_opened_for_editing_is_one_undo_step_outside(window):
    session = window.session
    window.open_example("sigmoid_neuron")
    root = session.root
    window.add_op("composite:sigmoid_neuron", QPointF(0, 0))
    cid = session.selected_node_ids()[0]
    inner = session.enter_composite(cid)
    assert session.document is inner and session.path_names[-1] == root.model.nodes[cid].name
    assert window.breadcrumb.isVisible()
    steps = root.undo.count()
    some = next(n for n in inner.model.nodes.values() if n.op != "input")
    inner.model.rename(some.id, "renamed_inside")
    assert session.leave_composites(1)
    assert session.document is root and root.undo.count() == steps + 1
    body = root.model.nodes[cid].body
    assert any(n.name == "renamed_inside" for n in body.nodes.values())


def test_bad_training_settings_in_a_file_fall_back_to_defaults_and_say_so(window, tmp_path):
    data = json.loads(example_path("moons_mlp").read_text())
    data["meta"]["training"].update(epochs="ten", lr=-1)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    assert window.open_file(path)
    s = window.session
    assert s.config.epochs == 10 and s.config.lr == 0.1  # the table's defaults
    assert len(s.settings_problems) == 2
    panel = window.training
    assert panel.notes.isVisibleTo(panel) and "2 training settings" in panel.notes.text()
    assert "epochs" in panel.notes.toolTip() and "learning rate" in panel.notes.toolTip()
    assert panel.epochs.value() == 10


def test_a_weights_file_that_only_partly_fits_is_reported_and_the_report_stays(window, tmp_path,
                                                                               qtbot):
    window.open_example("moons_mlp")
    program = window.session.program()
    path = tmp_path / "moons.json"
    assert window.files.save_to(path)
    arrays = dict(np.load(weights_path(path))) if weights_path(path).exists() else {}
    assert not arrays  # fresh weights are not saved
    save_params(program, weights_path(path))
    arrays = dict(np.load(weights_path(path)))
    W = next(k for k in arrays if k.startswith("W"))
    arrays[W] = np.zeros((7, 7))  # the wrong shape
    arrays["stray"] = np.zeros(3)  # not a parameter of this graph
    np.savez(weights_path(path), **arrays)
    window.open_example("square_of_sum")
    assert window.open_file(path)
    s, panel = window.session, window.training
    assert s.params_trained and W not in s.weights and "stray" not in s.weights
    assert panel.notes.isVisibleTo(panel) and "Some trained weights loaded" in panel.notes.text()
    assert "stray" in panel.notes.toolTip() and W in panel.notes.toolTip()
    window.statusBar().showMessage("something else", 100)  # the status bar moves on ...
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=3000)
    assert "Some trained weights loaded" in panel.notes.text()  # ... the report stays


def test_a_failed_autosave_stays_visible_until_one_works(window, monkeypatch):
    from playground.ui import document

    window.open_example("square_of_sum")
    doc = window.session.root
    doc.model.move_node(next(iter(doc.model.nodes)), (5.0, 5.0))
    doc.undo.push(__import__("playground.ui.commands", fromlist=["x"]).MoveNodesCommand(
        doc.model, {next(iter(doc.model.nodes)): ((5.0, 5.0), (9.0, 9.0))}))

    def refuse(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(document, "atomic_write", refuse)
    doc.autosave()
    assert "not autosaved: No space left on device" in window.autosave_label.text()
    monkeypatch.undo()
    doc.autosave()
    assert window.autosave_label.text() == ""


def test_a_typed_value_that_does_not_fit_is_refused_in_the_inspector(window):
    window.open_example("square_of_sum")
    doc = window.session.document
    select(window, "x")
    steps = doc.undo.count()
    window.inspector._set("value", [1.0, 2.0])
    assert doc.undo.count() == steps  # nothing pushed, no empty step
    assert "scalar" in window.inspector.error.text() and "'x'" in window.inspector.error.text()
    window.inspector._set("value", 4.0)
    assert doc.undo.count() == steps + 1 and doc.model.by_name("x").params["value"] == 4.0


def test_new_nodes_get_short_names_that_read_like_the_lessons(window):
    window.session.set_root(Document(GraphModel()))
    names = [window.session.document.model.nodes[window.add_op(op, QPointF(0, 0))].name
             for op in ("input", "input", "add", "pow")]
    assert names == ["x", "y", "q", "f"]
