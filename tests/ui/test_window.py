"""The window on small and large screens: its first size from the screen, a saved geometry
clamped to the screen, docks that leave the lesson's buttons, the step-through and the status
bar on screen at 1366 × 768 and 1280 × 720."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, QSize
from PySide6.QtWidgets import QApplication, QWidget

from playground.resources import example_names
from playground.ui.window_geometry import (
    MIN_SIZE,
    SCREEN_SHARE,
    clamp_geometry,
    dock_sizes,
    initial_geometry,
)

EXAMPLES = sorted(example_names())


@pytest.mark.parametrize("screen", [QRect(0, 0, 1366, 768), QRect(0, 0, 1280, 720),
                                    QRect(0, 27, 1920, 1053), QRect(1920, 0, 2560, 1440),
                                    QRect(0, 0, 800, 600)])
def test_the_first_size_is_90_percent_of_the_screen_centred(screen):
    geo = initial_geometry(screen)
    assert screen.contains(geo)
    if screen.width() >= MIN_SIZE.width() / SCREEN_SHARE:
        assert geo.width() == round(SCREEN_SHARE * screen.width())
        assert geo.height() == round(SCREEN_SHARE * screen.height())
    assert abs(geo.center().x() - screen.center().x()) <= 1
    assert abs(geo.center().y() - screen.center().y()) <= 1


def test_a_saved_geometry_is_clamped_to_the_screen():
    laptop = QRect(0, 0, 1366, 740)  # a panel takes 28 px
    big = QRect(1800, 900, 1900, 1100)  # from a second monitor that is gone
    fitted = clamp_geometry(big, laptop, QSize(2, 30))
    assert fitted.width() <= 1364 and fitted.height() <= 710
    assert laptop.contains(fitted.adjusted(0, 0, 2, 30))
    inside = QRect(100, 80, 900, 600)
    assert clamp_geometry(inside, laptop) == inside  # a geometry that fits stays as it was


def test_dock_sizes_leave_most_of_the_window_to_the_canvas():
    for size in (QSize(1280, 720), QSize(1366, 768), QSize(1920, 1080)):
        d = dock_sizes(size)
        assert d.left + d.right < 0.45 * size.width()
        assert d.bottom <= 0.34 * size.height()


def visible_in(win, widget: QWidget) -> bool:
    """``widget`` is shown and lies wholly inside the window's client area."""
    if not widget.isVisible():
        return False
    top_left = widget.mapTo(win, QPoint(0, 0))
    return win.rect().contains(QRect(top_left, widget.size()))


@pytest.mark.parametrize("size", [(1366, 768), (1280, 720)])
def test_lesson_step_through_and_status_bar_fit_a_small_screen(window, qtbot, size):
    win = window
    assert win.minimumSizeHint().width() <= size[0] and win.minimumSizeHint().height() <= size[1]
    win.resize(*size)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size)
    assert win.open_example("square_of_sum")  # opens with its lesson
    qtbot.waitUntil(lambda: win.docks["lesson"].isVisible())
    lesson, stepper = win.lesson, win.stepper
    # the lesson takes its share of the bottom row once the docks are laid out
    qtbot.waitUntil(lambda: lesson.next_button.width() >= lesson.next_button.sizeHint().width())
    for widget in (lesson.next_button, lesson.back_button, stepper.step_button,
                   stepper.play_button, stepper.text_label, win.statusBar(), win.view):
        assert visible_in(win, widget), widget
    assert win.view.viewport().width() >= 0.5 * size[0]
    assert win.view.viewport().height() >= 0.45 * size[1]
    assert lesson.width() >= 250  # the lesson's text is not squeezed into a column


def test_the_granularity_table_is_not_clipped_at_1366x768(window, qtbot):
    win = window
    win.resize(1366, 768)
    assert win.open_example("sigmoid_neuron")
    from tests.ui.helpers import select

    select(win, "neg", "exp", "plus1", "f")
    win.actions_["compare_forms"].trigger()
    qtbot.waitUntil(lambda: win.docks["granularity"].isVisible())
    QApplication.processEvents()
    table = win.granularity.table
    assert visible_in(win, table)
    # every row of the table shows whole: no vertical scroll bar
    assert not table.verticalScrollBar().isVisible()


@pytest.mark.parametrize("example", ["moons_mlp", "digits_mlp"])
def test_the_training_settings_fit_the_dock_at_1366x768_whatever_the_inputs(window, qtbot,
                                                                           example):
    """Issue 12: the Training panel's settings fit without scrolling at 1366 x 768, with every
    feature input chosen (the chips of chosen inputs are wider) and after a run (its status
    lines take room below), and nothing is cut at the right (the dock does not scroll
    sideways)."""
    win = window
    win.resize(1366, 768)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == (1366, 768))
    assert win.open_example(example)
    panel, scroll = win.training, win.training_tools.scroll
    win.show_dock("training")
    qtbot.waitUntil(lambda: panel.isVisible() and scroll.viewport().height() > 200)

    def fits() -> bool:
        QApplication.processEvents()
        return (not scroll.verticalScrollBar().isVisible()
                and panel.minimumSizeHint().width() <= scroll.viewport().width()
                and panel.reinit.isVisible() and visible_in(win, panel.reinit))

    assert fits()
    if panel.feature_row.isVisible():
        for name, box in panel.feature_row.boxes.items():
            if not box.isChecked():
                box.click()
        assert len(panel.chosen_features()) == len(panel.feature_row.boxes)
        assert all(box.text().startswith("✓") for box in panel.feature_row.boxes.values())
        assert fits()
    panel.epochs.setValue(1)
    with qtbot.waitSignal(win.session.runner.controller.finished, timeout=30_000):
        assert panel.start()
    qtbot.waitUntil(lambda: panel.status.text() != "")
    assert fits()


def test_restored_geometry_from_a_bigger_screen_fits_this_one(qtbot, tmp_path, recovery_home):
    from playground.ui.mainwindow import MainWindow

    settings = QSettings(str(tmp_path / "big.ini"), QSettings.Format.IniFormat)
    first = MainWindow(settings)
    screen = first.screen().availableGeometry()
    first.setGeometry(QRect(screen.left() + 200, screen.top() + 100, screen.width() * 2,
                            screen.height() * 2))
    settings.setValue("geometry", QByteArray(first.saveGeometry()))
    first.session.root.forget_changes()
    first.close()
    second = MainWindow(settings)
    try:
        geo, least = second.geometry(), second.minimumSizeHint()
        # as small as the screen (or the window's least size, on a screen smaller than that)
        assert geo.width() <= max(screen.width(), least.width())
        assert geo.height() <= max(screen.height(), least.height())
        assert screen.contains(geo.topLeft())
    finally:
        second.session.root.forget_changes()
        second.close()


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_number_is_on_screen_and_legible_after_evaluate_at_1366x768(window, qtbot, name):
    """Opened in a 1366 × 768 window and evaluated: every value label lies inside the canvas,
    clear of the nodes and of the other labels, in a legible size."""
    from playground.ui.canvas.wirelabels import _label_font

    win = window
    win.resize(1366, 768)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == (1366, 768))
    assert win.open_example(name)
    QApplication.processEvents()  # the fit queued by opening
    assert win.evaluator.evaluate_action(), win.statusBar().currentMessage()
    labels = win.scene.overlays.wire_labels
    view = win.view
    QApplication.processEvents()  # a fitted view takes in the values placed beyond its edges
    qtbot.waitUntil(lambda: all(not item.needs_place for item in labels.values()))
    assert view.fitted
    shown = view.visible_scene_rect()
    font = _label_font()
    px = font.pointSizeF() * 96 / 72
    assert len(labels) == len(win.document.model.nodes)
    rects = []
    for item in labels.values():
        r = item.label_scene_rect()
        assert item.isVisible() and shown.contains(r), (name, item.source_id)
        assert px * item.scale() * view.zoom() >= 9.5
        for node in win.scene.nodes.values():
            assert not node.mapRectToScene(node.body_rect()).intersects(r)
        rects.append(r)
    for k, a in enumerate(rects):
        assert not any(a.intersects(b) for b in rects[k + 1:])
    mm = win.minimap
    if mm.isVisible():  # never over a value
        vp = view.viewport().geometry()
        for item in labels.values():
            on = view.mapFromScene(item.label_scene_rect()).boundingRect().translated(vp.topLeft())
            assert not on.intersects(mm.geometry())


def test_a_paused_run_never_widens_the_window_past_a_small_screen(window, qtbot):
    """The step-through's note on a paused run ("Step ▶ traces the step it makes next ...")
    wraps in its row; it once made the window 1579 px wide on a 1366 px screen."""
    win = window
    win.resize(1366, 768)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == (1366, 768))
    win.open_example("moons_mlp")
    win.training.samples.setValue(300)
    with qtbot.waitSignal(win.session.runner.controller.paused_at, timeout=15_000):
        win.run_bar.step_button.click()
    win.show_dock("stepper")
    qtbot.waitUntil(lambda: win.stepper.sample_note.isVisible()
                    and "paused" in win.stepper.sample_note.text())
    assert not win.stepper.sample_spin.isVisible()  # the paused run feeds its own batch
    QApplication.processEvents()
    assert win.minimumSizeHint().width() <= 1366
    assert win.width() == 1366
    with qtbot.waitSignal(win.session.runner.controller.finished, timeout=15_000):
        win.run_bar.stop_button.click()
