"""Values and gradients on the wires, Evaluate, gradient check, flow overlay, the detail view and
the scene API the step-through tools call. A real MainWindow, offscreen."""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QApplication

from playground.engine import OpSpec, register, unregister
from playground.engine import shapes as engine_shapes
from playground.engine.gradcheck import GRADCHECK_TOLERANCE
from playground.graph import GraphModel, compile_graph
from playground.resources import example_names
from playground.ui.canvas.items import NodeItem
from playground.ui.canvas.wires import EdgeItem
from playground.ui.canvas.heatmaps import thumbnail
from playground.ui.canvas.wirelabels import WireLabelItem, fmt_number, summary
from playground.ui.commands import SetParamCommand
from playground.ui.explain.checks import GRADCHECK_BAD, GRADCHECK_KIND, GRADCHECK_OK

SAMPLE_FED = {"digits_mlp", "moons_mlp", "sine_regression"}


@pytest.fixture
def win(window):
    assert window.evaluator is window.explain.evaluator  # MainWindow builds the explain tools
    return window


def open_and_evaluate(win, name: str) -> None:
    assert win.open_example(name)
    wv = win.evaluator
    ok = wv.evaluate_sample(0) if name in SAMPLE_FED else wv.evaluate_action()
    assert ok, win.statusBar().currentMessage()


def nid(win, name: str) -> str:
    return win.document.model.by_name(name).id


def label(win, name: str) -> WireLabelItem:
    return win.scene.overlays.wire_labels[nid(win, name)]


def test_square_of_sum_wires_show_the_engines_values_and_gradients(win):
    open_and_evaluate(win, "square_of_sum")
    assert label(win, "q").value_text == "3"
    assert label(win, "q").grad_text == "6"
    assert label(win, "x").value_text == "1"
    assert label(win, "x").grad_text == "6"
    assert label(win, "f").value_text == "9"  # the output, beside its port
    # every wire's label is the engine's value and gradient of the wire's source, formatted
    program = compile_graph(win.document.model, "float64")
    program.run()
    scene = win.scene
    assert scene.edges
    for edge in scene.edges.values():
        item = scene.overlays.wire_label_for_edge(edge.edge_id)
        assert item is not None and item.isVisible()
        assert item.value_text == summary(program.value(edge.src))
        assert item.grad_text == summary(program.grad(edge.src))
    assert "f = 9" in win.statusBar().currentMessage()


def test_tensor_labels_show_shape_mean_and_norm_with_a_heatmap(win):
    open_and_evaluate(win, "digits_mlp")
    ev = win.evaluator.evaluation
    z1 = label(win, "z1")
    value = ev.program.value(nid(win, "z1"))
    assert value.shape == (1, 64)
    assert z1.value_text == summary(value)
    assert re.fullmatch(r"\(1,64\) μ\S+ ‖\S+‖", z1.value_text)
    mean, norm = z1.value_text.split(" ")[1:]
    assert float(mean[1:]) == pytest.approx(value.mean(), rel=0.05, abs=1e-3)
    assert float(norm.strip("‖")) == pytest.approx(np.linalg.norm(value), rel=0.05)
    w1 = label(win, "W1")
    assert w1.value_text.startswith("(64,64) μ")
    assert w1.grad_text == summary(ev.program.grad(nid(win, "W1")))
    image = thumbnail(ev.program.value(nid(win, "W1")))
    assert (image.width(), image.height()) == (24, 12)
    assert "min" in z1.tooltip_html and "std" in z1.tooltip_html


@pytest.mark.parametrize("shape", [(1, 16), (3, 5), (64, 64), (7,), (12, 24), (2, 40)])
def test_a_thumbnail_is_its_heatmap_cells_scaled_as_qt_scales_them(shape):
    """The thumbnail's pixels are the digest's heatmap cells repeated to 24×12: what Qt draws
    when it scales the cells' image to that size without smoothing (as the labels drew them)."""
    from PySide6.QtCore import Qt as _Qt
    from PySide6.QtGui import QImage

    from playground.engine.digest import digest
    from playground.ui.canvas.heatmaps import THUMB_H, THUMB_W, heatmap_rgb, thumbnail_rgb

    a = np.random.default_rng(0).standard_normal(shape)
    cells = np.ascontiguousarray(heatmap_rgb(digest(a, THUMB_H, THUMB_W).grid))
    h, w = cells.shape[:2]
    small = QImage(cells.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    scaled = small.scaled(THUMB_W, THUMB_H, _Qt.AspectRatioMode.IgnoreAspectRatio,
                          _Qt.TransformationMode.FastTransformation)
    want = np.array([[scaled.pixelColor(x, y).getRgb()[:3] for x in range(THUMB_W)]
                     for y in range(THUMB_H)], dtype=np.uint8)
    got = thumbnail_rgb(a)
    assert got.shape == (THUMB_H, THUMB_W, 3)
    assert np.array_equal(got, want)
    if h * w > 1:
        assert len({tuple(c) for c in got.reshape(-1, 3)}) > 1  # (the check can tell)


def test_number_format():
    assert fmt_number(3.0) == "3"
    assert fmt_number(0.123456) == "0.1235"
    assert fmt_number(12345.6) == "1.235e+04"
    assert fmt_number(float("nan")) == "nan"
    assert summary(np.array([[2.5]])) == "2.5"


def test_show_values_toggle_hides_and_shows_the_labels(win):
    open_and_evaluate(win, "square_of_sum")
    act = win.actions_["show_values"]
    assert act.isChecked()
    act.trigger()
    assert not win.scene.overlays.labels_visible
    assert all(not item.isVisible() for item in win.scene.overlays.wire_labels.values())
    act.trigger()
    assert win.scene.overlays.labels_visible
    assert all(item.isVisible() for item in win.scene.overlays.wire_labels.values())


@pytest.mark.parametrize("name", ["square_of_sum", "sigmoid_neuron", "digits_mlp"])
def test_fit_view_shows_every_value_label(win, name):
    open_and_evaluate(win, name)
    win.view.fit()
    shown = win.view.mapToScene(win.view.viewport().rect()).boundingRect()
    labels = [item for item in win.scene.overlays.wire_labels.values() if item.isVisible()]
    assert labels
    for item in labels:
        assert shown.contains(item.label_scene_rect()), (item.source_id, item.label_scene_rect(), shown)


@pytest.mark.parametrize("name", ["sigmoid_neuron", "digits_mlp", "moons_mlp"])
def test_labels_overlap_neither_each_other_nor_nodes(win, name):
    open_and_evaluate(win, name)
    scene = win.scene
    rects = [item.label_scene_rect() for item in scene.overlays.wire_labels.values()]
    assert len(rects) == len(win.document.model.nodes)
    for a, b in itertools.combinations(rects, 2):
        assert not a.intersects(b), (a, b)
    for item in scene.overlays.wire_labels.values():
        for node in scene.nodes.values():
            body = node.mapRectToScene(node.body_rect())
            assert not body.intersects(item.label_scene_rect()), (item.source_id, node.node_id)


def test_labels_do_not_cover_their_own_wire(win):
    open_and_evaluate(win, "sigmoid_neuron")
    scene = win.scene
    for item in scene.overlays.wire_labels.values():
        if item.edge_id is not None:
            assert not scene.edges[item.edge_id].shape().intersects(item.label_scene_rect())


def test_one_label_per_source_with_a_count_hint(win):
    open_and_evaluate(win, "digits_mlp")
    z2 = label(win, "z2")
    assert z2.count == 2  # feeds probs and loss
    assert "×2" in z2._header


def test_editing_an_input_value_re_evaluates(qtbot, win):
    open_and_evaluate(win, "square_of_sum")
    model = win.document.model
    win.document.undo.push(SetParamCommand(model, nid(win, "x"), "value", 3.0))
    qtbot.waitUntil(lambda: label(win, "f").value_text == "25", timeout=3000)
    assert label(win, "x").grad_text == "10"
    win.document.undo.undo()
    qtbot.waitUntil(lambda: label(win, "f").value_text == "9", timeout=3000)


def test_a_graph_that_cannot_compute_clears_the_labels_and_says_why(qtbot, win):
    open_and_evaluate(win, "square_of_sum")
    model = win.document.model
    edge = next(e for e in model.edges.values() if e.dst == nid(win, "q") and e.port == "b")
    from playground.ui.commands import StateCommand

    after = model.to_dict()
    after["edges"] = [e for e in after["edges"] if e["id"] != edge.id]
    win.document.undo.push(StateCommand(model, after, "Remove a wire"))
    qtbot.waitUntil(lambda: not win.scene.overlays.wire_labels, timeout=3000)
    message = win.statusBar().currentMessage()
    assert message.startswith("Cannot evaluate")
    assert "q" in message
    win.document.undo.undo()  # fixed: the values come back by themselves
    qtbot.waitUntil(lambda: bool(win.scene.overlays.wire_labels), timeout=3000)
    assert label(win, "f").value_text == "9"


def test_an_input_without_a_value_and_no_loss_says_what_to_do(win):
    model = GraphModel()
    x = model.add_node("input", "x", {"shape": []})
    t = model.add_node("tanh", "t")
    model.connect(x.id, t.id, "x")
    from playground.ui.document import Document

    win.session.set_root(Document(model))
    assert not win.evaluator.evaluate_action()
    assert "'x' has no value" in win.statusBar().currentMessage()
    assert not win.scene.overlays.wire_labels


@pytest.mark.parametrize("name", example_names())
def test_gradient_check_badges_are_green_on_every_example(win, name):
    open_and_evaluate(win, name)
    errors = win.checks.gradient_check()
    assert errors and max(errors.values()) <= GRADCHECK_TOLERANCE
    badges = {n: win.scene.overlays.node_badges(n).get(GRADCHECK_KIND) for n in win.scene.nodes}
    checked = [b for b in badges.values() if b is not None]
    assert checked and all(colour == GRADCHECK_OK for _text, colour in checked)
    assert "passed" in win.statusBar().currentMessage()


@pytest.fixture
def bad_square():
    register(OpSpec(
        "bad_square", ("x",), lambda xs, p: xs[0] * xs[0],
        (lambda g, y, xs, p, s: 3.0 * xs[0] * g,),  # wrong on purpose: should be 2·x·g
        engine_shapes.same, label="bad x²", test_only=True))
    yield
    unregister("bad_square")


def test_gradient_check_badges_a_wrong_backward_red(win, bad_square):
    from playground.ui.document import Document

    model = GraphModel()
    x = model.add_node("input", "x", {"shape": [], "value": 1.5})
    sq = model.add_node("bad_square", "sq")
    out = model.add_node("tanh", "out")
    model.connect(x.id, sq.id, "x")
    model.connect(sq.id, out.id, "x")
    win.session.set_root(Document(model))
    errors = win.checks.gradient_check()
    assert errors["sq"] > 1e-2
    _text, colour = win.scene.overlays.node_badges(sq.id)[GRADCHECK_KIND]
    assert colour == GRADCHECK_BAD
    assert win.scene.overlays.node_badges(out.id)[GRADCHECK_KIND][1] == GRADCHECK_OK
    assert "FAILED" in win.statusBar().currentMessage() and "sq" in win.statusBar().currentMessage()
    assert "gradient check" in win.scene.nodes[sq.id].toolTip()
    win.document.undo.setClean()


def test_badges_go_stale_when_the_graph_changes(qtbot, win):
    open_and_evaluate(win, "square_of_sum")
    win.checks.gradient_check()
    assert win.scene.overlays.node_badges(nid(win, "q"))
    win.document.undo.push(SetParamCommand(win.document.model, nid(win, "x"), "value", 2.0))
    assert not win.scene.overlays.node_badges(nid(win, "q"))


def test_clicking_a_wire_opens_the_detail_view_with_the_values_shape(qtbot, win):
    open_and_evaluate(win, "digits_mlp")
    scene, view = win.scene, win.view
    z1 = nid(win, "z1")
    edge = next(e for e in scene.edges.values() if e.src == z1)
    view.centerOn(edge.path().pointAtPercent(0.5))
    qtbot.wait(10)
    pos = view.mapFromScene(edge.path().pointAtPercent(0.5))
    assert scene.overlays.source_at(edge.path().pointAtPercent(0.5)) == z1
    with qtbot.waitSignal(scene.value_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [z1]
    wv = win.evaluator
    assert win.docks['values'].isVisible()
    ev = wv.evaluation
    assert win.explain.detail.value_image.image.shape == ev.program.value(z1).shape == (1, 64)
    assert win.explain.detail.grad_image.image.shape == ev.program.grad(z1).shape
    # clicking a node shows that node; a matrix keeps its shape
    w1 = scene.nodes[nid(win, "W1")]
    view.centerOn(w1)
    qtbot.wait(10)
    centre = w1.mapToScene(w1.body_rect().center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(centre))
    assert win.explain.detail.node_id == w1.node_id
    assert win.explain.detail.value_image.image.shape == (64, 64)
    assert win.explain.detail.grad_image.image.shape == (64, 64)


def test_clicks_do_nothing_without_values(qtbot, win):
    assert win.open_example("square_of_sum")
    scene, view = win.scene, win.view
    edge = next(iter(scene.edges.values()))
    with qtbot.assertNotEmitted(scene.value_clicked):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.mapFromScene(edge.path().pointAtPercent(0.5)))


def test_flow_overlay_widths_follow_the_gradient_magnitudes(win):
    open_and_evaluate(win, "digits_mlp")
    win.actions_["flow_overlay"].trigger()
    scene = win.scene
    flow = scene.overlays.flow_overlay
    assert flow
    by_src = {}
    for edge in scene.edges.values():
        assert edge.flow_width is not None and 1.5 <= edge.flow_width <= 8.0
        by_src[edge.src] = edge.flow_width
    magnitudes = {src: flow[src] for src in by_src if src in flow}
    order = sorted(magnitudes, key=lambda s: magnitudes[s])
    widths = [by_src[s] for s in order]
    assert widths == sorted(widths)
    assert widths[0] == pytest.approx(1.5) and widths[-1] == pytest.approx(8.0)
    win.actions_["flow_overlay"].trigger()
    assert all(e.flow_width is None for e in scene.edges.values())


def test_flow_overlay_api_with_given_magnitudes(win):
    assert win.open_example("square_of_sum")
    scene = win.scene
    x, y, q = nid(win, "x"), nid(win, "y"), nid(win, "q")
    scene.overlays.set_flow_overlay({x: 1e-6, y: 1e-3, q: 1.0})
    w = {e.src: e.flow_width for e in scene.edges.values()}
    assert w[x] == pytest.approx(1.5) and w[q] == pytest.approx(8.0)
    assert w[x] < w[y] < w[q]
    assert w[y] == pytest.approx(1.5 + 6.5 * 0.5)  # halfway on the log scale
    scene.overlays.set_flow_overlay(None)
    assert all(e.flow_width is None for e in scene.edges.values())


def test_step_highlight_api(win):
    assert win.open_example("square_of_sum")
    scene = win.scene
    q, f = nid(win, "q"), nid(win, "f")
    edge = next(e for e in scene.edges.values() if e.src == q)
    scene.overlays.set_step_highlight([q], [edge.edge_id], "forward")
    assert scene.nodes[q].step_phase == "forward" and edge.step_phase == "forward"
    assert edge.pen().color().name() == "#5fd35f"
    scene.overlays.set_step_highlight([f], [], "backward")  # replaces the last highlight
    assert scene.nodes[q].step_phase is None and edge.step_phase is None
    assert scene.nodes[f].step_phase == "backward"
    scene.overlays.set_step_highlight([], [], None)
    assert scene.nodes[f].step_phase is None
    assert scene.overlays.step_highlight == (frozenset(), frozenset())
    scene.overlays.set_step_highlight(["nope"], ["nope"], "forward")  # unknown ids are ignored


def test_node_badge_api(win):
    assert win.open_example("square_of_sum")
    scene = win.scene
    q = nid(win, "q")
    scene.overlays.set_node_badge(q, "gradcheck", "3e-10", "#3ccf5a")
    scene.overlays.set_node_badge(q, "health", "vanishing", "#ff9f1a")
    assert scene.overlays.node_badges(q) == {"gradcheck": ("3e-10", "#3ccf5a"),
                                    "health": ("vanishing", "#ff9f1a")}
    tip = scene.nodes[q].toolTip()
    assert "gradcheck" in tip and "3e-10" in tip and "vanishing" in tip
    rects = scene.nodes[q].badge_rects()
    assert len(rects) == 2 and rects[0].right() < rects[1].left()
    # a longer text widens its pill; a new detail (a live run's, every second) reaches the tooltip
    scene.overlays.set_node_badge(q, "health", "vanishing 100%", "#ff9f1a", detail="all of them")
    assert scene.nodes[q].badge_rects()[1].width() > rects[1].width()
    assert "all of them" in scene.nodes[q].toolTip()
    scene.overlays.set_node_badge(q, "health", "vanishing 100%", "#ff9f1a", detail="most")
    assert "most" in scene.nodes[q].toolTip() and "all of them" not in scene.nodes[q].toolTip()
    scene.overlays.set_node_badge(q, "health", "vanishing", "#ff9f1a")
    assert scene.nodes[q].badge_rects()[1] == rects[1]
    body = scene.nodes[q].mapRectToScene(scene.nodes[q].body_rect())
    assert body.left() < rects[0].left() and body.top() < rects[0].top() < body.bottom()
    # the same size on screen however far the canvas is zoomed: readable on a projector
    from playground.ui.canvas.items import BadgeItem

    for zoom in (0.3, 1.0, 2.0):
        win.view.set_zoom(zoom)
        on_screen = scene.nodes[q].badge_item.screen_rects(win.view)[1]
        assert on_screen.height() == BadgeItem.H and on_screen.width() > 3 * BadgeItem.H
    # a neighbour moved over the badges does not hide them: a badged node stacks above
    win.view.set_zoom(0.3)
    f = scene.nodes[nid(win, "f")]
    pill = scene.nodes[q].badge_item.screen_rects(win.view)[1]
    f.setPos(f.pos() + (win.view.mapToScene(pill.center().toPoint())
                        - f.mapToScene(f.body_rect().center())))
    top = win.view.items(pill.center().toPoint())[0]  # what is drawn on top there
    assert top is scene.nodes[q].badge_item
    scene.overlays.set_node_badge(q, "health", None)  # text None: that kind only
    assert list(scene.overlays.node_badges(q)) == ["gradcheck"]
    scene.overlays.set_node_badge(q, None)  # kind None: every badge of the node
    assert scene.overlays.node_badges(q) == {}
    assert scene.nodes[q].zValue() == f.zValue()  # no badges: stacked as any node
    assert "gradcheck" not in scene.nodes[q].toolTip()
    scene.overlays.set_node_badge("nope", "x", "y")  # unknown node: ignored


def test_wire_data_api_partial_maps_and_clear(win):
    assert win.open_example("square_of_sum")
    scene = win.scene
    x, q = nid(win, "x"), nid(win, "q")
    scene.overlays.set_wire_data({x: np.array(1.0), q: None}, {q: np.array(6.0)})
    assert scene.overlays.wire_labels[x].value_text == "1" and scene.overlays.wire_labels[x].grad_text == ""
    assert scene.overlays.wire_labels[q].value_text == "" and scene.overlays.wire_labels[q].grad_text == "6"
    assert set(scene.overlays.wire_labels) == {x, q}
    scene.overlays.set_labels_visible(False)
    scene.overlays.set_wire_data({x: np.array(2.0)}, {})
    assert not scene.overlays.wire_labels[x].isVisible()
    scene.overlays.clear_wire_data()
    assert not scene.overlays.wire_labels and not scene.overlays.has_wire_data
    assert not any(isinstance(i, WireLabelItem) for i in scene.items())


def test_labels_follow_a_moved_node_and_wires_added_later(qtbot, win):
    open_and_evaluate(win, "square_of_sum")
    scene = win.scene
    q = scene.nodes[nid(win, "q")]
    before = label(win, "x").label_scene_rect()
    q.setPos(q.pos() + QPointF(0, 200))
    qtbot.waitUntil(lambda: label(win, "x").label_scene_rect() != before, timeout=2000)
    for item in scene.overlays.wire_labels.values():
        if item.edge_id is not None:
            assert not scene.edges[item.edge_id].shape().intersects(item.label_scene_rect())


def test_evaluate_on_sample_feeds_that_sample(win):
    assert win.open_example("moons_mlp")
    wv = win.evaluator
    assert wv.evaluate_sample(5)
    X = wv.evaluation.program.value(nid(win, "X"))
    assert X.shape == (1, 2)
    data = win.session.split()
    assert np.allclose(X, data.transform(data.dataset.X[5:6]))
    assert "sample 5 of moons" in win.statusBar().currentMessage()
    assert not wv.evaluate_sample(10**6)
    assert "not in 'moons'" in win.statusBar().currentMessage()


def test_edge_and_label_tooltips_have_statistics(qtbot, win):
    open_and_evaluate(win, "digits_mlp")
    scene, view = win.scene, win.view
    edge = next(e for e in scene.edges.values() if e.src == nid(win, "h1"))
    tip = scene.overlays.tooltip_for(edge)
    assert "min" in tip and "max" in tip and "mean" in tip and "std" in tip
    assert "gradient" in scene.overlays.tooltip_for(label(win, "h1"))
    # hovering sets it (a real QGraphicsSceneHelpEvent through the view)
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent

    # a point of the wire where nothing lies on it (a value label or another wire may cover
    # its middle, depending on the layout)
    def on_top(p: Any) -> Any:
        return next(iter(scene.items(p, Qt.ItemSelectionMode.IntersectsItemShape,
                                     Qt.SortOrder.DescendingOrder)), None)

    edge, point = next((e, p) for e in scene.edges.values() if e.src in scene.overlays.wire_labels
                       for p in (e.path().pointAtPercent(t / 20) for t in range(2, 19))
                       if on_top(p) is e)
    tip = scene.overlays.tooltip_for(edge)
    view.centerOn(point)
    local = view.mapFromScene(point)
    QApplication_ = __import__("PySide6.QtWidgets", fromlist=["QApplication"]).QApplication
    QApplication_.sendEvent(view.viewport(), QHelpEvent(QEvent.Type.ToolTip, local,
                                                        view.viewport().mapToGlobal(local)))
    assert edge.toolTip() == tip


def test_label_items_never_take_clicks(win):
    open_and_evaluate(win, "square_of_sum")
    for item in win.scene.overlays.wire_labels.values():
        assert item.acceptedMouseButtons() == Qt.MouseButton.NoButton
    assert all(isinstance(e, EdgeItem) for e in win.scene.edges.values())
    assert all(isinstance(n, NodeItem) for n in win.scene.nodes.values())


def test_health_check_badges_flagged_nodes_orange(win):
    from playground.ui.document import Document
    from playground.ui.explain.checks import HEALTH_COLOUR, HEALTH_KIND

    model = GraphModel()
    x = model.add_node("input", "x", {"shape": [], "value": 12.0})
    s = model.add_node("sigmoid", "s")
    out = model.add_node("pow", "out")
    model.connect(x.id, s.id, "x")
    model.connect(s.id, out.id, "x")
    win.session.set_root(Document(model))
    flagged = win.checks.health_check()
    assert flagged is not None
    text, colour = win.scene.overlays.node_badges(s.id)[HEALTH_KIND]
    assert colour == HEALTH_COLOUR and "saturated" in text
    assert "saturated" in win.scene.nodes[s.id].toolTip()
    assert HEALTH_KIND not in win.scene.overlays.node_badges(out.id)  # 'ok' is not badged
    assert "1 problem" in win.statusBar().currentMessage()


def test_health_check_on_a_healthy_graph_badges_nothing(win):
    open_and_evaluate(win, "square_of_sum")
    win.checks.health_check()
    assert all(not win.scene.overlays.node_badges(n) for n in win.scene.nodes)
    assert "no problems" in win.statusBar().currentMessage()


def test_one_explain_menu_whoever_makes_it_first(win):
    titles = [a.text().replace("&", "") for a in win.menuBar().actions()]
    assert titles.count("Explain") == 1
    menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Explain")
    assert win.actions_["evaluate"] in menu.actions()


MIN_TEXT_PX = 9.5  # the smallest on-screen size of a label's text (a 7 pt font at 96 dpi)


def on_screen(win, label) -> Any:
    return win.view.mapFromScene(label.label_scene_rect()).boundingRect()


def text_px(win, label) -> float:
    """The on-screen pixel size of the label's text."""
    from playground.ui.canvas.wirelabels import _label_font

    font = _label_font()
    px = font.pixelSize() if font.pixelSize() > 0 else font.pointSizeF() * 96 / 72
    return px * label.scale() * win.view.zoom()


@pytest.mark.parametrize("name", ["square_of_sum", "sigmoid_neuron", "digits_mlp", "moons_mlp"])
def test_labels_stay_on_screen_and_readable_at_30_percent_zoom(qtbot, win, name):
    open_and_evaluate(win, name)
    QApplication.processEvents()  # the fit queued by opening
    win.view.set_zoom(0.3)
    labels = win.scene.overlays.wire_labels
    qtbot.waitUntil(lambda: all(not item.needs_place for item in labels.values()))
    assert len(labels) == len(win.document.model.nodes)  # every value and gradient stays
    rects = []
    for item in labels.values():
        assert item.isVisible() and item.placed and item.short
        assert text_px(win, item) >= MIN_TEXT_PX
        r = on_screen(win, item)
        parts = [t for t, _c, _i in (item._chip if item.compact else item._short_lines)]
        # the value and (where one reaches it) the gradient, even as a one-line chip
        assert len(parts) == 1 + (nid_grad := item.grad_text != "")
        rows = 1 if item.compact else len(parts)
        assert r.height() >= rows * MIN_TEXT_PX and r.width() >= 1.5 * MIN_TEXT_PX
        assert nid_grad or item.source_id not in win.scene.overlays.wire_grads
        rects.append(item.label_scene_rect())
    for a, b in itertools.combinations(rects, 2):
        assert not a.intersects(b), (a, b)
    # back at 100 % the full form returns, at scene size
    win.view.set_zoom(1.0)
    qtbot.waitUntil(lambda: all(not item.needs_place for item in labels.values()))
    assert all(item.scale() == 1.0 and not item.short for item in labels.values())


def test_zooming_out_shortens_the_numbers_and_keeps_their_screen_size(qtbot, win):
    from playground.ui.canvas.wirelabels import READABLE_ZOOM, SCALE_STEP, label_style

    assert label_style(1.0) == (1.0, False) and label_style(READABLE_ZOOM) == (1.0, False)
    for zoom in (0.8, 0.6, 0.45, 0.3, 0.2, 0.1):
        scale, short = label_style(zoom)
        assert short and READABLE_ZOOM <= scale * zoom < READABLE_ZOOM * SCALE_STEP + 1e-9
    open_and_evaluate(win, "sigmoid_neuron")
    f = label(win, "f")
    assert f.value_text == "0.7311"
    QApplication.processEvents()  # the fit queued by opening
    win.view.set_zoom(0.4)
    qtbot.waitUntil(lambda: not f.needs_place)
    assert [t for t, _c, _i in f._short_lines] == ["0.731", "∇1"]
    assert "zoom in" not in win.statusBar().currentMessage()


def test_new_numbers_keep_the_labels_in_place_unless_they_outgrow_it(win):
    open_and_evaluate(win, "digits_mlp")
    scene = win.scene
    before = {src: item.label_scene_rect() for src, item in scene.overlays.wire_labels.items()}
    values = {k: v * 0.5 for k, v in scene.overlays.wire_values.items()}  # same shapes, similar text
    scene.overlays.set_wire_data(values, scene.overlays.wire_grads)
    after = {src: item.label_scene_rect() for src, item in scene.overlays.wire_labels.items()}
    same = [src for src in before if before[src].topLeft() == after[src].topLeft()]
    assert len(same) >= len(before) - 2
    for a, b in itertools.combinations(after.values(), 2):
        assert not a.intersects(b)
    # a much longer text does not fit its spot: that label is placed again, still clear
    x = nid(win, "z1")
    big = dict(values)
    big[x] = np.full((1, 64), -123456.789)
    scene.overlays.set_wire_data(big, scene.overlays.wire_grads)
    rects = [item.label_scene_rect() for item in scene.overlays.wire_labels.values()]
    for a, b in itertools.combinations(rects, 2):
        assert not a.intersects(b)


def test_numbers_that_shrink_and_grow_back_do_not_move_their_label(win):
    """A live run's numbers change width every step (0.1 → 0.0987 → 12.5 → 0.1): a label keeps
    its spot and its box while they fit, and once it outgrew a spot it keeps room for two more
    digits, so a class does not see the numbers hop from wire side to wire side."""
    open_and_evaluate(win, "digits_mlp")
    ov = win.scene.overlays
    x = nid(win, "z1")
    base = dict(ov.wire_values)

    def show(v: float) -> QRectF:
        values = dict(base)
        values[x] = np.full((1, 64), v)
        ov.set_wire_data(values, ov.wire_grads)
        ov.layout_labels(ov._labels_needing_place())
        return ov.wire_labels[x].label_scene_rect()

    first = show(0.5)
    assert show(0.25) == first  # shorter numbers: the same spot and box
    grown = show(-1234.5)  # longer: placed again, with room for two more digits
    for v in (0.5, -1234.5, -12345.6, 0.25, -99999.9):
        assert show(v) == grown, v


def test_an_exported_picture_shows_the_values_in_full_whatever_the_zoom(qtbot, win, tmp_path):
    from PySide6.QtGui import QImage

    from playground.ui.export import export_scene

    open_and_evaluate(win, "sigmoid_neuron")
    QApplication.processEvents()
    sizes = []
    for zoom in (1.0, 0.3):
        win.view.set_zoom(zoom)
        QApplication.processEvents()
        path = tmp_path / f"graph{zoom}.png"
        export_scene(win.scene, str(path), "png")
        image = QImage(str(path))
        sizes.append((image.width(), image.height()))
        labels = win.scene.overlays.wire_labels.values()
        assert all(item.short == (zoom < 0.85) for item in labels)  # the canvas's style back
    assert sizes[0] == sizes[1]  # the same picture: labels at their scene size, in full
