"""View ▸ Presentation (F11): full screen, the editing docks folded away, the graph fitted to the
bigger canvas; leaving (or closing) puts the window back as it was. A real window, offscreen."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QToolBar

from playground.ui.presentation import FOLDED, FOLDED_TOOLBARS


def visible_docks(win) -> set[str]:
    return {key for key, dock in win.docks.items() if dock.isVisible()}


def test_presentation_folds_the_editing_docks_and_gives_the_canvas_the_room(qtbot, window):
    window.open_example("moons_mlp")
    window.show_dock("plots", raise_=False)
    for _ in range(3):
        QApplication.processEvents()
    window.view.fit()
    before = visible_docks(window)
    assert {"training", "inspector", "plots"} <= before
    share = window.view.viewport().width() / window.width()  # of the window's width
    zoom = window.view.zoom()
    action = window.actions_["presentation"]
    assert action.shortcut().toString() == "F11" and action in window.menuBar().actions()[2].menu().actions()
    action.trigger()
    assert window.presentation.on and action.isChecked()
    assert window.windowState() & Qt.WindowState.WindowFullScreen
    shown = visible_docks(window)
    assert not shown & set(FOLDED) and "plots" in shown  # the plots and the run bar stay
    assert window.run_bar.isVisible()
    bars = {b.objectName(): b for b in window.findChildren(QToolBar)}
    assert not any(bars[name].isVisible() for name in FOLDED_TOOLBARS)
    # (the offscreen screen is only 800 px wide: the canvas's share of the window is what grows)
    qtbot.waitUntil(lambda: window.view.viewport().width() / window.width() > max(0.9, share + 0.2),
                    timeout=5_000)
    qtbot.waitUntil(lambda: window.view.zoom() > zoom * 1.1, timeout=5_000)  # fitted anew
    action.trigger()
    assert not window.presentation.on and not action.isChecked()
    assert not window.windowState() & Qt.WindowState.WindowFullScreen
    assert visible_docks(window) == before
    assert all(bars[name].isVisible() for name in FOLDED_TOOLBARS)


def test_closing_while_presenting_saves_the_layout_from_before(qtbot, window, tmp_path):
    before = visible_docks(window)
    window.actions_["presentation"].trigger()
    assert not visible_docks(window) & set(FOLDED)
    window.save_settings()
    assert not window.presentation.on and visible_docks(window) == before
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    from playground.ui.mainwindow import MainWindow

    again = MainWindow(settings)
    again.show()
    qtbot.waitExposed(again)
    try:
        assert not again.windowState() & Qt.WindowState.WindowFullScreen
        assert visible_docks(again) == before
    finally:
        again.document.forget_changes() if again.document is not None else None
        again.close()


def test_a_fitted_view_stays_fitted_when_the_canvas_changes_size_and_a_zoomed_one_stays(qtbot, window):
    window.open_example("moons_mlp")
    window.resize(1000, 700)
    for _ in range(3):  # the example's own fit, once the window has its size
        QApplication.processEvents()
    window.view.fit()
    fitted = window.view.zoom()
    window.resize(1500, 1100)  # the window made bigger: the graph grows with it
    qtbot.waitUntil(lambda: window.view.zoom() > fitted * 1.1, timeout=5_000)
    assert window.view.fitted
    window.view.set_zoom(0.5)  # the user's own zoom: resizing leaves it alone
    window.resize(1000, 700)
    for _ in range(3):  # let the resize and any refit it would schedule run
        QApplication.processEvents()
    assert window.view.zoom() == 0.5 and not window.view.fitted


def test_the_flow_legend_takes_a_corner_free_of_nodes_and_of_the_minimap(qtbot, window):
    from PySide6.QtCore import QPoint

    from playground.ui.canvas.minimap_corners import corner_rect, covers_content
    from playground.ui.commands import MoveNodesCommand
    from tests.ui.helpers import ids_by_name

    window.open_example("moons_mlp")
    for _ in range(3):
        QApplication.processEvents()
    view, legend = window.view, window.flow_legend
    # a node right under the bottom-left corner, where the legend would go first
    where = corner_rect(view, legend.sizeHint().expandedTo(legend.size()), "bottom_left").center()
    target = view.mapToScene(view.viewport().mapFrom(view, QPoint(where.x(), where.y())))
    model = window.document.model
    b1 = model.nodes[ids_by_name(window)["b1"]]
    window.document.undo.push(MoveNodesCommand(model, {b1.id: (b1.position, (target.x() - 40, target.y() - 15))}))
    legend.set_range((1e-3, 1e-1))
    assert legend.isVisible()
    assert corner_rect(view, legend.size(), "bottom_left").intersects(
        view.mapFromScene(window.scene.nodes[b1.id].sceneBoundingRect()).boundingRect())
    assert legend.corner != "bottom_left" and not covers_content(view, legend.geometry())
    if window.minimap.isVisible():
        assert not window.minimap.geometry().intersects(legend.geometry())


def test_the_flow_legend_draws_each_range_as_a_new_legend_would(qtbot, window):
    """The legend keeps its panel and ramp as a picture and draws only the numbers on a
    repaint: after other numbers and another size it draws exactly what a new one draws."""
    from playground.ui.canvas.flowlegend import FlowLegend

    window.open_example("moons_mlp")
    legend = window.flow_legend
    legend.set_range((1e-3, 1e-1))
    first = legend.grab().toImage()
    legend.set_range((2e-4, 3e-1))
    assert legend.grab().toImage() != first  # (the check can tell)
    w, h = legend.width(), legend.height()
    for rng, note, grow in (((1e-3, 1e-1), None, 40), ((0.0, 0.0), None, 0),
                            ((5e-5, 2e-2), "on the test batch", 0), ((1e-2, 1.0), None, 60)):
        legend.set_range(rng, note)
        legend.resize(w + grow, h + grow // 4)
        fresh = FlowLegend(window.view)
        fresh.set_range(rng, legend.note)
        fresh.resize(legend.size())
        assert legend.grab().toImage() == fresh.grab().toImage()
        fresh.deleteLater()


def test_the_flow_legend_follows_the_canvas_when_it_resizes(qtbot, window):
    from playground.ui.canvas.minimap_corners import corner_rect

    window.open_example("moons_mlp")
    view, legend = window.view, window.flow_legend
    for _ in range(3):
        QApplication.processEvents()
    view.set_zoom(0.3)  # the whole graph in view, no scroll bars, not refitted on resize
    legend.set_range((1e-3, 1e-1))
    window.resize(window.width() - 200, window.height() - 150)
    for _ in range(3):
        QApplication.processEvents()
    # in its corner of the viewport as it is now, not as it was before the resize
    assert legend.geometry() == corner_rect(view, legend.size(), legend.corner)
    assert view.viewport().geometry().contains(legend.geometry())
