"""Step-through, math card and lessons in a real window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from playground.graph import GraphModel
from playground.graph.explain import BackwardStep, ForwardStep
from tests.ui.helpers import ids_by_name, select


@pytest.fixture
def win(window):
    """The real window; MainWindow installs the explain tools itself."""
    assert window.stepper is window.explain.stepper
    return window


def floats(d) -> dict[str, float]:
    return {k: float(v) for k, v in d.items()}


# -- step-through ------------------------------------------------------------------------------
def test_square_of_sum_steps_in_order_with_the_numbers(win):
    assert win.open_example("square_of_sum")
    st = win.stepper
    assert st.step_forward()
    steps = st.steps
    fwd = [s for s in steps if isinstance(s, ForwardStep)]
    bwd = [s for s in steps if isinstance(s, BackwardStep)]
    assert [s.name for s in fwd] == ["q", "f"]
    assert [(s.name, s.input_name) for s in bwd] == [("f", "f"), ("f", "q"), ("q", "x"),
                                                       ("q", "y")]
    assert "q = x + y = 1 + 2 = 3" in st.text()
    assert st.step_forward()
    assert "f = 9" in st.text()
    assert "f = 9" in st.text_label.text()  # on screen, not just in the plain text
    assert st.step_forward()  # seed
    assert "∂f/∂f = 1" in st.text()
    assert st.step_forward()  # f -> q
    assert "∂f/∂q" in st.text() and "= 6" in st.text()
    assert st.step_forward()  # q -> x
    assert "∂f/∂x = ∂f/∂q · ∂q/∂x = 6 · 1 = 6" in st.text()
    assert st.step_forward()  # q -> y
    assert "∂f/∂y = ∂f/∂q · ∂q/∂y = 6 · 1 = 6" in st.text()
    assert not st.step_forward()  # the end
    assert st.position == len(steps) - 1


def test_wires_show_values_only_up_to_the_current_step(win):
    win.open_example("square_of_sum")
    by = ids_by_name(win)
    x, y, q, f = by["x"], by["y"], by["q"], by["f"]
    st, scene = win.stepper, win.scene
    st.step_forward()  # q
    assert floats(scene.overlays.wire_values) == {x: 1.0, y: 2.0, q: 3.0}
    assert scene.overlays.wire_grads == {}
    st.step_forward()  # f
    assert floats(scene.overlays.wire_values) == {x: 1.0, y: 2.0, q: 3.0, f: 9.0}
    assert scene.overlays.wire_grads == {}
    st.step_forward()  # seed
    assert floats(scene.overlays.wire_grads) == {f: 1.0}
    st.step_forward()  # f -> q
    assert floats(scene.overlays.wire_grads) == {f: 1.0, q: 6.0}
    st.step_forward()  # q -> x
    assert floats(scene.overlays.wire_grads) == {f: 1.0, q: 6.0, x: 6.0}
    st.step_back()
    assert floats(scene.overlays.wire_grads) == {f: 1.0, q: 6.0}
    st.go_to(0)
    assert floats(scene.overlays.wire_values) == {x: 1.0, y: 2.0, q: 3.0}
    assert scene.overlays.wire_grads == {}


def test_highlight_follows_the_step_and_reset_clears(win):
    win.open_example("square_of_sum")
    by = ids_by_name(win)
    model, scene, st = win.document.model, win.scene, win.stepper
    wire = {(model.nodes[e.src].name, model.nodes[e.dst].name): eid
            for eid, e in model.edges.items()}
    st.step_forward()
    assert scene.overlays.step_highlight == ({by["q"]}, {wire["x", "q"], wire["y", "q"]})
    assert scene.nodes[by["q"]].step_phase == "forward"
    st.step_forward()
    assert scene.overlays.step_highlight == ({by["f"]}, {wire["q", "f"]})
    assert scene.nodes[by["q"]].step_phase is None
    st.step_forward()  # seed: the output glows, no wire
    assert scene.overlays.step_highlight == ({by["f"]}, set())
    assert scene.nodes[by["f"]].step_phase == "backward"
    st.step_forward()
    assert scene.overlays.step_highlight == ({by["f"]}, {wire["q", "f"]})
    st.step_forward()
    assert scene.overlays.step_highlight == ({by["q"]}, {wire["x", "q"]})
    assert scene.edges[wire["x", "q"]].step_phase == "backward"
    st.step_forward()
    assert scene.overlays.step_highlight == ({by["q"]}, {wire["y", "q"]})

    st.reset_button.click()
    assert st.position == -1
    assert scene.overlays.step_highlight == (set(), set())
    assert all(item.step_phase is None for item in scene.nodes.values())
    assert scene.overlays.wire_values == {} and scene.overlays.wire_grads == {}
    assert "Step" in st.text()


def test_keyboard_steps_in_the_dock_and_on_the_canvas(qtbot, win):
    win.open_example("square_of_sum")
    st = win.stepper
    st.step_list.setFocus()
    qtbot.keyClick(st.step_list, Qt.Key.Key_Right)
    assert st.position == 0
    qtbot.keyClick(st.step_list, Qt.Key.Key_Right)
    assert st.position == 1
    qtbot.keyClick(st.step_list, Qt.Key.Key_Left)
    assert st.position == 0

    # on the canvas with nothing selected, plain arrows step
    win.scene.clearSelection()
    win.view.setFocus()
    qtbot.keyClick(win.view, Qt.Key.Key_Right)
    assert st.position == 1
    # with a node selected they still nudge it, and the step stays
    select(win, "x")
    x = ids_by_name(win)["x"]
    before = win.document.model.nodes[x].position
    qtbot.keyClick(win.view, Qt.Key.Key_Right)
    assert win.document.model.nodes[x].position == (before[0] + 10.0, before[1])
    # the edit starts the step-through over
    assert st.position == -1 and not st.loaded
    # Alt+Right/Alt+Left from anywhere in the window (the actions' shortcuts)
    assert win.actions_["step_forward"].shortcut().toString() == "Alt+Right"
    win.actions_["step_forward"].trigger()
    win.actions_["step_forward"].trigger()
    assert st.position == 1
    win.actions_["step_back"].trigger()
    assert st.position == 0


def test_plain_arrows_scroll_as_before_when_no_step_through_runs(qtbot, win):
    win.open_example("square_of_sum")
    win.scene.clearSelection()
    win.view.setFocus()
    qtbot.keyClick(win.view, Qt.Key.Key_Right)
    assert win.stepper.position == -1 and not win.stepper.loaded


def test_play_advances_on_a_timer_and_stops_at_the_end(qtbot, win):
    win.open_example("square_of_sum")
    st = win.stepper
    from playground.ui.explain.stepper import SPEEDS

    st.set_speed_index(len(SPEEDS) - 1)  # the fastest notch
    assert st.timer.interval() < 200
    st.play_button.click()
    assert st.playing and st.play_button.text().endswith("Pause")
    qtbot.waitUntil(lambda: st.position >= 1, timeout=3000)
    qtbot.waitUntil(lambda: st.position == len(st.steps) - 1, timeout=5000)
    qtbot.waitUntil(lambda: not st.playing, timeout=2000)
    assert st.play_button.text().endswith("Play") and not st.play_button.isChecked()
    assert "∂f/∂y" in st.text()


def test_evaluate_takes_the_wires_and_the_step_through_lets_go(win):
    win.open_example("square_of_sum")
    by = ids_by_name(win)
    st, scene = win.stepper, win.scene
    st.step_forward()
    assert scene.overlays.labels_visible  # stepping shows the labels even with Evaluate off
    assert set(scene.overlays.wire_values) == {by["x"], by["y"], by["q"]}
    win.actions_["evaluate"].trigger()
    assert set(scene.overlays.wire_values) == set(by.values()) and len(scene.overlays.wire_grads) == 4
    assert st.position == -1 and scene.overlays.step_highlight == (set(), set())
    st.step_forward()  # stepping again takes the wires back
    assert set(scene.overlays.wire_values) == {by["x"], by["y"], by["q"]} and scene.overlays.wire_grads == {}
    st.reset()  # and Reset gives them back to Evaluate, which is on
    assert set(scene.overlays.wire_values) == set(by.values()) and len(scene.overlays.wire_grads) == 4


def test_accumulation_is_shown_as_a_sum(win):
    from playground.ui.document import Document

    model = GraphModel()
    model.add_node("input", "x", {"shape": [], "value": 3.0}, (0, 0), node_id="n1")
    model.add_node("mul", "p", {}, (200, 0), node_id="n2")
    model.connect("n1", "n2", "a", edge_id="e1")
    model.connect("n1", "n2", "b", edge_id="e2")
    win.session.set_root(Document(model))
    st = win.stepper
    st.run_to_end()
    last = st.current()
    assert isinstance(last, BackwardStep) and last.accumulated
    assert "3 + 3 = 6" in st.text()
    assert "sum" in st.text()
    assert float(win.scene.overlays.wire_grads["n1"]) == 6.0


def test_refuses_politely_when_the_graph_cannot_compute(win):
    win.add_op("add", win._view_center())
    st = win.stepper
    assert not st.step_forward()
    assert "cannot compute" in st.text()
    assert "not connected" in st.text() or "connect" in st.text()
    assert win.scene.overlays.step_highlight == (set(), set())


def test_data_inputs_are_fed_the_sample_evaluate_feeds(win):
    win.open_example("digits_mlp")
    st = win.stepper
    assert st.step_forward()  # no sample chosen: sample 0, as Evaluate feeds
    assert st.sample_row.isVisibleTo(st) and "sample 0 of digits" in st.sample_note.text()
    x = ids_by_name(win)["X"]
    data = win.session.split()
    np.testing.assert_allclose(win.scene.overlays.wire_values[x],
                               data.transform(data.dataset.X[0:1]))
    win.evaluator.evaluate_sample(5)  # the sample Evaluate feeds is the one stepping feeds
    assert st.step_forward() and "sample 5 of digits" in st.sample_note.text()
    assert st.use_sample(3) and win.session.sample == 3
    assert st.step_forward()
    assert st.current().name == "z1"
    x = ids_by_name(win)["X"]
    assert win.scene.overlays.wire_values[x].shape == (1, 64)
    st.run_to_end()
    assert all(np.isfinite(g).all() for g in win.scene.overlays.wire_grads.values())


def test_the_canvas_follows_the_gate_being_stepped(qtbot, win):
    """Zoomed in on the inputs, each step brings its gate, its wires and their values into
    view (a short glide), and a step already in view does not move the canvas."""
    win.resize(1000, 700)
    assert win.open_example("sigmoid_neuron")
    QApplication.processEvents()  # the fit queued by opening
    view, st = win.view, win.stepper
    view.set_zoom(1.5)
    view.centerOn(win.scene.nodes[ids_by_name(win)["x0"]])
    seen = set()
    while st.step_forward():
        qtbot.waitUntil(lambda: not view.gliding)
        nodes, edges, _phase = st.highlight
        shown = view.visible_scene_rect()
        for nid in nodes:
            assert shown.contains(win.scene.nodes[nid].sceneBoundingRect()), st.text()
            label = win.scene.overlays.wire_labels.get(nid)
            if label is not None and label.isVisible():
                assert shown.contains(label.label_scene_rect())
        for eid in edges:
            assert shown.contains(win.scene.edges[eid].sceneBoundingRect())
        seen.add(round(shown.center().x()))
    assert len(seen) > 3  # it moved along the chain
    assert view.zoom() > 0.6  # by scrolling: one gate fits without zooming out
    # a step whose gate is in view leaves the canvas where it is
    st.go_to(len(st.forward_steps) - 1)
    qtbot.waitUntil(lambda: not view.gliding)
    before = view.visible_scene_rect()
    st.go_to(len(st.forward_steps) - 1)
    assert not view.gliding and view.visible_scene_rect() == before


# -- math card ---------------------------------------------------------------------------------
def test_math_card_for_q_and_f(win):
    win.open_example("square_of_sum")
    select(win, "q")
    text = win.math_card.text()
    assert "q = x + y = 1 + 2 = 3" in text
    assert "∂q/∂x = 1" in text and "∂q/∂y = 1" in text
    select(win, "f")
    text = win.math_card.text()
    assert "f = q² = 3² = 9" in text
    assert "∂f/∂q = 2·q = 2·3 = 6" in text
    win.scene.clearSelection()
    assert "Select one node" in win.math_card.text()


def test_math_card_follows_the_step_through(win):
    win.open_example("square_of_sum")
    win.stepper.step_forward()  # only q is computed
    select(win, "f")
    assert "Not computed yet" in win.math_card.text()
    win.stepper.step_forward()
    assert "f = q² = 3² = 9" in win.math_card.text()


def test_math_card_for_the_sigmoid(win):
    win.open_example("sigmoid_neuron_fused")
    select(win, "f")
    text = win.math_card.text()
    assert "f = σ(z) = σ(1) = 0.73" in text
    assert "∂f/∂z = f·(1 − f) = 0.73·(1 − 0.73) = 0.20" in text
    select(win, "w0x0")
    assert "w0x0 = w0 · x0 = 2 · (-1) = -2" in win.math_card.text()
    assert "∂w0x0/∂w0 = x0 = -1" in win.math_card.text()


# -- lessons -----------------------------------------------------------------------------------
def test_lesson_opens_with_square_of_sum_and_next_performs_the_actions(win):
    assert win.open_example("square_of_sum")
    lesson = win.lesson
    assert win.docks["lesson"].isVisible()
    assert lesson.lesson is not None and "chain rule" in lesson.title.text()
    assert lesson.index == 0 and "f = (x + y)²" in lesson.text()
    assert win.stepper.position == -1
    lesson.next_button.click()  # forward: q
    assert win.stepper.position == 0
    assert win.scene.overlays.step_highlight[0] == {ids_by_name(win)["q"]}
    lesson.next_button.click()  # forward: f
    assert win.stepper.position == 1 and "f = 9" in win.stepper.text()
    lesson.next_button.click()  # backward: the seed
    assert win.stepper.position == 2 and "∂f/∂f = 1" in win.stepper.text()
    lesson.back_button.click()  # back replays to the same picture as before
    assert win.stepper.position == 1
    lesson.next_button.click()
    for _ in range(3):
        lesson.next_button.click()
    assert "∂f/∂y" in win.stepper.text()
    lesson.next_button.click()  # select:x
    assert win.scene.selected_node_ids() == [ids_by_name(win)["x"]]
    assert not lesson.next_button.isEnabled()
    # an example without a lesson ends it
    win.open_example("moons_mlp")
    assert lesson.lesson is None and not win.docks["lesson"].isVisible()


def test_lesson_evaluate_and_tab_actions(win):
    win.open_example("sigmoid_neuron")
    win.lesson.next_button.click()  # evaluate
    assert win.scene.overlays.wire_grads, "evaluate leaves gradients on the wires"
    win.lesson.next_button.click()  # select:f
    assert win.scene.selected_node_ids() == [ids_by_name(win)["f"]]
    win.open_example("digits_mlp")
    win.lesson.next_button.click()  # tab:Gradients
    assert win.docks["plots"].isVisible()
    assert win.plots.tabs.tabText(win.plots.tabs.currentIndex()) == "Gradients"
