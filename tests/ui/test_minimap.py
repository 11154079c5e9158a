"""The minimap overlaid on the canvas: fit, click/drag/wheel navigation, the highlighted view
rectangle, its corner, and following a replaced scene."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication

from playground.ui.canvas import minimap as M
from playground.ui.canvas.minimap import MinimapWidget
from playground.ui.canvas.minimap_corners import CORNER_GAP
from playground.ui.commands import AddNodeCommand, MoveNodesCommand


@pytest.fixture
def minimap(window, qtbot):
    window.open_example("digits_mlp")
    window.minimap.set_wanted(False)  # the window's own steps aside: one minimap, as in use
    mm = MinimapWidget(window.view)
    mm.show()
    qtbot.waitUntil(lambda: mm.isVisible() and mm.viewport().width() > 0)
    return mm


def main_centre(win) -> QPointF:
    view = win.view
    return view.mapToScene(view.viewport().rect()).boundingRect().center()


def node_rects_in_minimap(win, mm) -> dict[str, QRectF]:
    t = mm.viewportTransform()
    return {nid: t.mapRect(item.sceneBoundingRect()) for nid, item in win.scene.nodes.items()}


def all_nodes_inside(win, mm) -> bool:
    bounds = QRectF(mm.viewport().rect())
    return all(bounds.contains(r) for r in node_rects_in_minimap(win, mm).values())


def close(a: QPointF, b: QPointF, tol: float) -> bool:
    return abs(a.x() - b.x()) <= tol and abs(a.y() - b.y()) <= tol


def test_every_node_of_an_example_fits_and_fills_the_minimap(window, minimap):
    assert len(window.scene.nodes) == 11
    assert all_nodes_inside(window, minimap)
    used = QRectF()
    for r in node_rects_in_minimap(window, minimap).values():
        used = used.united(r)
    vp = minimap.viewport().rect()
    # fitted, not merely shrunk into a corner: the nodes span most of one dimension
    assert used.width() > 0.8 * vp.width() or used.height() > 0.8 * vp.height()
    content = minimap.content_rect()
    assert all(content.contains(i.sceneBoundingRect()) for i in window.scene.nodes.values())


def test_refits_when_a_node_is_added_far_away_or_moved(window, minimap, qtbot):
    model = window.document.model
    cmd = AddNodeCommand(model, "tanh", (2600.0, 1400.0), name="far")
    window.document.undo.push(cmd)
    qtbot.waitUntil(lambda: cmd.node_id in window.scene.nodes and all_nodes_inside(window, minimap))
    # a move through the undo stack (a drag's release, a nudge, an undo) refits too
    far = model.nodes[cmd.node_id]
    window.document.undo.push(MoveNodesCommand(model, {far.id: (far.position, (-2400.0, -900.0))}))
    qtbot.waitUntil(lambda: all_nodes_inside(window, minimap))
    assert minimap.content_rect().contains(window.scene.nodes[far.id].sceneBoundingRect())


def test_refits_live_while_a_node_is_dragged_on_the_canvas(window, minimap, qtbot):
    view, vp = window.view, window.view.viewport()
    view.set_zoom(1.0)
    item = window.scene.nodes[window.document.model.by_name("loss").id]
    view.centerOn(item.sceneBoundingRect().center())
    grab = view.mapFromScene(item.mapToScene(QPointF(40, 10)))  # on the header
    window.scene.clearSelection()
    item.setSelected(True)  # so that pressing on it changes nothing but the drag
    minimap.refit()  # settles the selection change now
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=grab)
    for dx in range(40, 361, 40):
        qtbot.mouseMove(vp, grab + QPoint(dx, 0))
    assert item.pos().x() > window.document.model.by_name("loss").position[0] + 300
    assert window.scene.mouseGrabberItem() is item  # still dragging: no model event yet
    qtbot.waitUntil(lambda: all_nodes_inside(window, minimap))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=grab + QPoint(360, 0))


def covered_nodes(win, mm) -> list[str]:
    """Nodes and shown value labels the minimap lies over (main view coordinates)."""
    geo = mm.geometry()
    vp = win.view.viewport().geometry()
    out = []
    items = [*win.scene.nodes.items(),
             *[(k, v) for k, v in win.scene.overlays.wire_labels.items() if v.isVisible()]]
    for nid, item in items:
        r = win.view.mapFromScene(item.sceneBoundingRect()).boundingRect().translated(vp.topLeft())
        if r.intersects(geo):
            out.append(nid)
    return out


def test_sits_in_a_free_corner_and_stays_there_on_resize(window, minimap, qtbot):
    def in_corner() -> bool:
        return minimap.geometry() == minimap.corner_rect(minimap.corner)

    assert minimap.parentWidget() is window.view
    window.view.fit()
    minimap.update_placement()
    assert not minimap.needed and not minimap.isVisible()  # the canvas shows it all
    window.view.pan_by(window.view.viewport().width() * 0.6, 0)  # the graph's left part goes
    minimap.update_placement()
    assert minimap.needed
    assert minimap.isVisible() and in_corner() and not covered_nodes(window, minimap)
    assert (minimap.width(), minimap.height()) == (M.SIZE.width(), M.SIZE.height())
    area = window.view.viewport().geometry()
    geo = minimap.corner_rect("bottom_right")
    assert (geo.right(), geo.bottom()) == (area.right() - CORNER_GAP,
                                           area.bottom() - CORNER_GAP)
    geo = minimap.corner_rect("top_left")
    assert (geo.left(), geo.top()) == (area.left() + CORNER_GAP, area.top() + CORNER_GAP)
    old = minimap.geometry()
    window.resize(1000, 650)
    qtbot.waitUntil(lambda: window.view.viewport().geometry().width() < 700)
    qtbot.waitUntil(in_corner)
    assert minimap.geometry().topLeft() != old.topLeft()
    window.resize(1500, 950)
    qtbot.waitUntil(lambda: in_corner() and minimap.geometry().topLeft().x() > old.x())


@pytest.mark.parametrize("name", ["digits_mlp", "sigmoid_neuron", "moons_mlp", "square_of_sum"])
def test_never_covers_a_node_or_a_value(window, qtbot, name):
    """The window's own minimap, at a fit, zoomed in on each node, and filled by nodes."""
    mm = window.minimap
    assert mm.wanted and window.actions_["minimap"].isChecked()
    window.open_example(name)
    window.evaluator.evaluate_sample(0)
    QApplication.processEvents()
    view = window.view
    view.fit()
    mm.update_placement()
    assert not mm.isVisible() and not mm.blocked  # all of the graph is in view
    shown = 0
    for zoom in (1.0, 1.6):
        view.set_zoom(zoom)
        for item in list(window.scene.nodes.values()):
            view.centerOn(item)
            QApplication.processEvents()  # labels placed for the zoom, paint events
            mm.update_placement()
            assert mm.blocked == (mm.needed and not mm.isVisible())
            assert not (mm.isVisible() and covered_nodes(window, mm)), (zoom, item.title)
            shown += mm.isVisible()
    assert shown or name == "square_of_sum"  # it did show somewhere along the way
    # zoomed in on the middle of a node: every corner is over it, so the minimap steps aside
    view.set_zoom(4.0)
    view.centerOn(next(iter(window.scene.nodes.values())))
    wide = window.view.viewport().width()
    window.resize(700, 500)
    qtbot.waitUntil(lambda: mm.blocked and not mm.isVisible())
    window.resize(1300, 850)
    qtbot.waitUntil(lambda: window.view.viewport().width() >= wide)
    view.fit()
    view.pan_by(view.viewport().width() * 0.6, 0)
    qtbot.waitUntil(lambda: mm.isVisible() and not mm.blocked)
    assert not covered_nodes(window, mm)


def test_collapses_to_the_status_bar_button_and_opens_again(window, qtbot):
    from PySide6.QtWidgets import QToolButton

    mm = window.minimap
    window.open_example("digits_mlp")
    window.view.fit()
    window.view.pan_by(window.view.viewport().width() * 0.6, 0)
    mm.update_placement()
    assert mm.isVisible()
    button = window.statusBar().findChild(QToolButton, "minimap_button")
    assert button is not None and button.isVisible() and button.isChecked()
    box = mm.collapse_rect().center().toPoint()
    qtbot.mouseClick(mm.viewport(), Qt.MouseButton.LeftButton, pos=box)
    assert not mm.isVisible() and not mm.wanted
    assert not window.actions_["minimap"].isChecked() and not button.isChecked()
    window.view.pan_by(40, 0)  # collapsed stays collapsed
    assert not mm.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert mm.wanted and mm.isVisible() and window.actions_["minimap"].isChecked()
    window.save_settings()
    assert window.settings.value("minimap", type=bool) is True


def test_a_click_centres_the_main_view_on_that_point(window, minimap, qtbot):
    window.view.set_zoom(1.0)
    target_node = window.scene.nodes[window.document.model.by_name("loss").id]
    click = minimap.mapFromScene(target_node.sceneBoundingRect().center())
    expected = minimap.mapToScene(click)  # the scene point under the clicked pixel
    assert not close(main_centre(window), expected, 50)
    qtbot.mouseClick(minimap.viewport(), Qt.MouseButton.LeftButton, pos=click)
    assert close(main_centre(window), expected, 3)
    # a second click, inside the highlighted rectangle, centres there as well
    click2 = click + QPoint(-8, 4)
    expected2 = minimap.mapToScene(click2)
    qtbot.mouseClick(minimap.viewport(), Qt.MouseButton.LeftButton, pos=click2)
    assert close(main_centre(window), expected2, 3)


def test_dragging_the_highlighted_rectangle_pans_the_main_view(window, minimap, qtbot):
    window.view.set_zoom(1.0)
    rect = minimap.mapFromScene(minimap.viewport_rect_in_scene()).boundingRect()
    start = rect.center()
    before = main_centre(window)
    vp = minimap.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    assert close(main_centre(window), before, 1)  # grabbing the rectangle does not jump
    qtbot.mouseMove(vp, start + QPoint(10, 0))
    qtbot.mouseMove(vp, start + QPoint(20, 5))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(20, 5))
    moved = minimap.mapToScene(start + QPoint(20, 5)) - minimap.mapToScene(start)
    assert close(main_centre(window), before + moved, 4)


def test_the_wheel_on_the_minimap_zooms_the_main_view(window, minimap):
    window.view.set_zoom(1.0)
    pos = QPointF(minimap.viewport().rect().center())
    for delta in (120, -240):
        before = window.view.zoom()
        event = QWheelEvent(pos, QPointF(minimap.viewport().mapToGlobal(pos.toPoint())), QPoint(),
                            QPoint(0, delta), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(minimap.viewport(), event)
        assert (window.view.zoom() > before) == (delta > 0)
        assert window.view.zoom() != pytest.approx(before)


def highlight_edge_x(mm, y: int) -> set[int]:
    """The columns of row ``y`` of the rendered minimap painted in the highlight colour."""
    image = mm.grab().toImage()
    edge = M.VIEW_EDGE
    xs = set()
    for x in range(image.width()):
        c = QColor(image.pixel(x, y))
        if abs(c.red() - edge.red()) < 45 and abs(c.green() - edge.green()) < 45 and c.blue() > 200:
            xs.add(x)
    return xs


def test_the_highlighted_rectangle_follows_pan_and_zoom(window, minimap):
    view = window.view
    view.set_zoom(1.0)

    def seen() -> QRectF:
        return view.mapToScene(view.viewport().rect()).boundingRect()

    # tracked synchronously from the main view's signals, before any repaint
    assert minimap.viewport_rect_in_scene() == seen()
    view.pan_by(150, 40)
    assert minimap.viewport_rect_in_scene() == seen()
    view.zoom_by(0.8)
    assert minimap.viewport_rect_in_scene() == seen()
    view.set_zoom(1.25)
    assert minimap.viewport_rect_in_scene() == seen()
    # and it is what the minimap paints: the rectangle's left edge is where it should be
    rect = minimap.mapFromScene(minimap.viewport_rect_in_scene()).boundingRect()
    y = minimap.height() // 2
    assert any(abs(x - rect.left()) <= 2 for x in highlight_edge_x(minimap, y))
    view.pan_by(-120, 0)
    moved = minimap.mapFromScene(minimap.viewport_rect_in_scene()).boundingRect()
    assert moved.left() < rect.left() - 4
    xs = highlight_edge_x(minimap, y)
    assert any(abs(x - moved.left()) <= 2 for x in xs)
    assert not any(abs(x - rect.left()) <= 1 for x in xs)


def test_follows_a_replaced_scene_by_itself(window, minimap, qtbot):
    old_scene = minimap.scene()
    window.open_example("square_of_sum")
    new_scene = window.view.scene()
    assert new_scene is not old_scene
    qtbot.waitUntil(lambda: minimap.scene() is new_scene)
    assert sorted(n.name for n in window.document.model.nodes.values()) == ["f", "q", "x", "y"]
    qtbot.waitUntil(lambda: all_nodes_inside(window, minimap))
    used = QRectF()
    for r in node_rects_in_minimap(window, minimap).values():
        used = used.united(r)
    assert used.width() > 0.6 * minimap.viewport().width()  # fitted to the new, smaller graph
    # the explicit call works the same, and repeated calls are harmless
    minimap.set_scene(window.view.scene())
    minimap.set_scene(window.view.scene())
    assert minimap.scene() is window.view.scene()
    minimap.grab()  # paints without touching the deleted scene


def test_hidden_minimap_catches_up_when_shown(window, minimap, qtbot):
    minimap.hide()
    cmd = AddNodeCommand(window.document.model, "relu", (3200.0, -1500.0), name="later")
    window.document.undo.push(cmd)
    qtbot.waitUntil(lambda: cmd.node_id in window.scene.nodes)
    assert not all_nodes_inside(window, minimap)  # out of date while hidden: no work done
    window.view.pan_by(300, 0)
    minimap.show()
    assert all_nodes_inside(window, minimap)
    assert minimap.viewport_rect_in_scene() == window.view.mapToScene(
        window.view.viewport().rect()).boundingRect()
