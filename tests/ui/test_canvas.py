"""The canvas with real widgets offscreen: drops, wiring by mouse, refusals, undo/redo."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from conftest import assert_scene_mirrors_model, view_point
from playground.graph import compile_graph
from playground.ui.canvas.items import NodeItem


def drop_op(win, key: str, at: QPoint) -> None:
    """Offscreen has no real drag: send the palette's own MIME data as drag events."""
    mime = win.palette_panel.mime_for(key)
    vp = win.view.viewport()
    actions = Qt.DropAction.CopyAction
    pos = QPointF(at)
    enter = QDragEnterEvent(at, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(at, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, move)
    assert move.isAccepted()
    drop = QDropEvent(pos, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, drop)


def add(win, op: str, x: float, y: float, name: str | None = None, **params) -> str:
    from playground.ui.commands import AddNodeCommand

    cmd = AddNodeCommand(win.document.model, op, (x, y), name=name, params=params)
    win.document.undo.push(cmd)
    return cmd.node_id


def port_view_pos(win, node_id: str, port: str | None) -> QPoint:
    item = win.scene.nodes[node_id]
    return view_point(win, item.port_scene_pos(port))


def drag_wire(qtbot, win, start: QPoint, end: QPoint) -> None:
    vp = win.view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    mid = (start + end) / 2
    qtbot.mouseMove(vp, mid)
    qtbot.mouseMove(vp, end)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)


def test_palette_drop_adds_the_node_under_the_cursor_as_one_undo_step(window):
    at = QPoint(300, 250)
    drop_op(window, "tanh", at)
    model = window.document.model
    assert [n.op for n in model.nodes.values()] == ["tanh"]
    node = next(iter(model.nodes.values()))
    item = window.scene.nodes[node.id]
    assert item.sceneBoundingRect().contains(window.view.mapToScene(at))
    assert window.document.undo.count() == 1
    window.document.undo.undo()
    assert not model.nodes and not window.scene.nodes
    assert_scene_mirrors_model(window)


def test_palette_drop_of_a_ready_composite(window):
    drop_op(window, "composite:sigmoid_chain", QPoint(300, 250))
    node = next(iter(window.document.model.nodes.values()))
    assert node.op == "composite" and window.document.model.input_ports(node) == ("x",)


def test_connecting_by_mouse_from_output_to_input(qtbot, window):
    x = add(window, "input", 0, 0, "x", shape=[], value=2.0)
    t = add(window, "tanh", 300, 0, "t")
    window.view.fit()
    QApplication.processEvents()
    drag_wire(qtbot, window, port_view_pos(window, x, None), port_view_pos(window, t, "x"))
    edges = list(window.document.model.edges.values())
    assert [(e.src, e.dst, e.port) for e in edges] == [(x, t, "x")]
    assert_scene_mirrors_model(window)
    program = compile_graph(window.document.model)
    program.run()
    assert program.value("t") == pytest.approx(np.tanh(2.0))


def test_connecting_by_mouse_from_input_back_to_output(qtbot, window):
    x = add(window, "input", 0, 0, "x", shape=[], value=2.0)
    t = add(window, "exp", 300, 0, "e")
    window.view.fit()
    drag_wire(qtbot, window, port_view_pos(window, t, "x"), port_view_pos(window, x, None))
    assert [(e.src, e.dst) for e in window.document.model.edges.values()] == [(x, t)]


@pytest.mark.parametrize("case", ["shape", "cycle", "taken", "same"])
def test_refused_connection_changes_nothing_and_shows_the_reason(qtbot, window, case):
    a = add(window, "parameter", 0, 0, "A", shape=[3, 4])
    b = add(window, "parameter", 0, 200, "B", shape=[5, 2])
    mm = add(window, "matmul", 300, 100, "mm")
    t = add(window, "tanh", 600, 100, "t")
    model = window.document.model
    model.connect(a, mm, "a")
    if case in ("cycle", "taken"):
        window.document.undo.push(_connect_cmd(model, mm, t, "x"))
    window.view.fit()
    QApplication.processEvents()
    before = model.to_dict()
    stack = window.document.undo.count()
    start, end, words = {
        "shape": (port_view_pos(window, b, None), port_view_pos(window, mm, "b"), "inner sizes"),
        "cycle": (port_view_pos(window, t, None), port_view_pos(window, mm, "b"), "loop"),
        "taken": (port_view_pos(window, b, None), port_view_pos(window, mm, "a"), "already fed"),
        "same": (port_view_pos(window, t, None), port_view_pos(window, t, "x"), "itself"),
    }[case]
    drag_wire(qtbot, window, start, end)
    assert model.to_dict() == before
    assert window.document.undo.count() == stack
    msg = window.scene.message
    assert msg.isVisible() and words in msg.text.text().replace("\n", " ")
    assert words in window.statusBar().currentMessage()


def _connect_cmd(model, src, dst, port):
    from playground.ui.commands import ConnectCommand

    return ConnectCommand(model, src, dst, port)


def test_wire_released_on_empty_canvas_offers_fitting_ops_and_connects(qtbot, window):
    x = add(window, "input", 0, 0, "x", shape=[None, 3])
    window.view.fit()
    window.view.set_zoom(1.0)
    start = port_view_pos(window, x, None)
    drag_wire(qtbot, window, start, start + QPoint(220, 60))
    popup = window.quick_add
    assert popup.isVisible()
    offered = popup.visible_ops()
    assert "tanh" in offered and "dense" in offered and "input" not in offered
    popup.search.setText("tanh")
    popup._accept_current()
    model = window.document.model
    tanh = next(n for n in model.nodes.values() if n.op == "tanh")
    assert [(e.src, e.dst) for e in model.edges.values()] == [(x, tanh.id)]
    window.document.undo.undo()  # node + wire were one step
    assert [n.op for n in model.nodes.values()] == ["input"] and not model.edges


def test_moving_a_node_by_mouse_is_one_undo_step(qtbot, window):
    n = add(window, "tanh", 0, 0, "t")
    window.view.fit()
    window.view.set_zoom(1.0)
    item = window.scene.nodes[n]
    start = view_point(window, item.mapToScene(QPointF(60, 8)))
    vp = window.view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 6):
        qtbot.mouseMove(vp, start + QPoint(20 * k, 10 * k))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(100, 50))
    pos = window.document.model.nodes[n].position
    assert pos[0] == pytest.approx(100, abs=2) and pos[1] == pytest.approx(50, abs=2)
    count = window.document.undo.count()
    window.document.undo.undo()
    assert window.document.model.nodes[n].position == (0.0, 0.0)
    assert window.document.undo.count() == count == 2
    assert_scene_mirrors_model(window)


def test_every_undo_and_redo_keeps_one_item_per_node_and_edge(window):
    window.open_example("digits_mlp")
    model = window.document.model
    undo = window.document.undo
    x = add(window, "input", -300, 0, "extra", shape=[None, 64])
    t = add(window, "tanh", -100, 0, "t2")
    undo.push(_connect_cmd(model, x, t, "x"))
    window.scene.clearSelection()
    window.scene.nodes[model.by_name("h1").id].setSelected(True)
    window.actions_["delete"].trigger()
    window.scene.nodes[t].setSelected(True)
    window.actions_["duplicate"].trigger()
    window.actions_["auto_layout"].trigger()
    n = undo.count()
    assert n == 6
    snapshots = [model.to_dict()]
    for _ in range(n):
        undo.undo()
        assert_scene_mirrors_model(window)
        snapshots.append(model.to_dict())
    for k in range(n):
        undo.redo()
        assert_scene_mirrors_model(window)
        assert model.to_dict() == snapshots[n - k - 1]


def test_error_badges_appear_and_clear(qtbot, window):
    a = add(window, "parameter", 0, 0, "A", shape=[3, 4])
    mm = add(window, "matmul", 300, 0, "mm")
    window.scene.refresh_all()
    item: NodeItem = window.scene.nodes[mm]
    assert item.problem and "not connected" in item.problem
    assert "not connected" in item.toolTip()
    assert "cannot compute" in window.problem_label.text()
    window.document.undo.push(_connect_cmd(window.document.model, a, mm, "a"))
    b = add(window, "parameter", 0, 200, "B", shape=[4, 2])
    window.document.undo.push(_connect_cmd(window.document.model, b, mm, "b"))
    window.scene.refresh_all()
    assert item.problem is None and item.shape_text == "(3, 2)"
    assert window.problem_label.text() == ""
    # a param change that breaks the shapes brings the badge back
    from playground.ui.commands import SetParamCommand

    window.document.undo.push(SetParamCommand(window.document.model, b, "shape", [5, 2]))
    window.scene.refresh_all()
    assert item.problem and "inner sizes" in item.problem


def test_keyboard_nudge_and_zoom_and_fit(qtbot, window):
    n = add(window, "tanh", 0, 0, "t")
    window.scene.nodes[n].setSelected(True)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Right)
    qtbot.keyClick(window.view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert window.document.model.nodes[n].position == (10.0, 1.0)
    z = window.view.zoom()
    window.actions_["zoom_in"].trigger()
    assert window.view.zoom() == pytest.approx(z * 1.25)
    window.view.fit()
    assert window.view.viewport().rect().contains(
        window.view.mapFromScene(window.scene.nodes[n].sceneBoundingRect().center()))


def test_middle_drag_and_space_drag_pan_the_view(qtbot, window):
    window.open_example("digits_mlp")
    window.view.set_zoom(1.0)
    vp = window.view.viewport()
    centre = lambda: window.view.mapToScene(vp.rect().center())  # noqa: E731
    before = centre()
    start = QPoint(400, 300)
    qtbot.mousePress(vp, Qt.MouseButton.MiddleButton, pos=start)
    qtbot.mouseMove(vp, start + QPoint(-60, -40))
    qtbot.mouseRelease(vp, Qt.MouseButton.MiddleButton, pos=start + QPoint(-60, -40))
    moved = centre() - before
    assert moved.x() == pytest.approx(60, abs=2) and moved.y() == pytest.approx(40, abs=2)
    window.view.setFocus()
    qtbot.keyPress(window.view, Qt.Key.Key_Space)
    before = centre()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, start + QPoint(30, 0))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(30, 0))
    qtbot.keyRelease(window.view, Qt.Key.Key_Space)
    assert (centre() - before).x() == pytest.approx(-30, abs=2)
    assert window.document.undo.count() == 0  # panning is not an edit


def test_ctrl_click_adds_to_the_selection_and_tab_opens_quick_add(qtbot, window):
    a = add(window, "tanh", 0, 0, "a")
    b = add(window, "exp", 300, 0, "b")
    window.view.fit()
    window.view.set_zoom(1.0)
    window.view.centerOn(200, 30)
    vp = window.view.viewport()
    pa = view_point(window, window.scene.nodes[a].mapToScene(QPointF(60, 10)))
    pb = view_point(window, window.scene.nodes[b].mapToScene(QPointF(60, 10)))
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pa)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, pos=pb)
    assert sorted(window.scene.selected_node_ids()) == sorted([a, b])
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Tab)
    assert window.quick_add.isVisible()
    window.quick_add.search.setText("relu")
    assert window.quick_add.visible_ops()[0] in ("relu", "leaky_relu")
    window.quick_add._accept_current()
    assert any(n.op in ("relu", "leaky_relu") for n in window.document.model.nodes.values())


def test_a_refused_scalar_input_offers_the_batch_shape_that_fits_as_one_undo_step(qtbot, window):
    """x (a number to type) wired into a matmul with a (3, 4) weight: refused, and the message
    offers "Give 'x' shape (N, 3) and connect"; its button does both as one undo step."""
    x = add(window, "input", 0, 0, "x", shape=[], value=1.0)
    w = add(window, "parameter", 0, 200, "W", shape=[3, 4])
    mm = add(window, "matmul", 320, 80, "mm")
    model = window.document.model
    window.document.undo.push(_connect_cmd(model, w, mm, "b"))
    window.view.fit()
    QApplication.processEvents()
    before, steps = model.to_dict(), window.document.undo.count()
    drag_wire(qtbot, window, port_view_pos(window, x, None), port_view_pos(window, mm, "a"))
    assert model.to_dict() == before  # refused: nothing changed yet
    msg = window.scene.message
    assert msg.isVisible() and msg.action_text == "Give 'x' shape (N, 3) and connect"
    text = msg.text.text().replace("\n", " ")
    assert "N is the batch" in text and "[null" not in text
    assert "Give 'x' shape (N, 3) and connect" in window.statusBar().currentMessage()
    # click the button, as a user does: the view maps it (it is drawn at screen size)
    button = msg.button
    centre = window.view.mapFromScene(msg.scenePos()) + QPoint(
        round(button.pos().x() + button.rect().width() / 2),
        round(button.pos().y() + button.rect().height() / 2))
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert not msg.isVisible()
    assert model.nodes[x].params["shape"] == [None, 3]
    assert model.nodes[x].params["value"] is None  # a typed 1 does not fit a batch of rows
    assert any((e.src, e.dst, e.port) == (x, mm, "a") for e in model.edges.values())
    assert window.document.undo.count() == steps + 1
    assert window.document.undo.undoText() == "Give x shape (N, 3) and connect"
    assert_scene_mirrors_model(window)
    window.document.undo.undo()
    assert model.to_dict() == before
    assert_scene_mirrors_model(window)


def test_a_click_elsewhere_dismisses_the_offer(qtbot, window):
    x = add(window, "input", 0, 0, "x", shape=[])
    d = add(window, "matmul", 320, 0, "d")
    w = add(window, "parameter", 0, 200, "W", shape=[5, 2])
    model = window.document.model
    window.document.undo.push(_connect_cmd(model, w, d, "b"))
    window.view.fit()
    QApplication.processEvents()
    drag_wire(qtbot, window, port_view_pos(window, x, None), port_view_pos(window, d, "a"))
    msg = window.scene.message
    assert msg.isVisible() and msg.action_text.startswith("Give 'x' shape (N, 5)")
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    assert not msg.isVisible()
    assert model.nodes[x].params["shape"] == []
