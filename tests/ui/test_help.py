"""Help for a first-year student with no instructions: the empty canvas says how to start, the
Help menu (Getting Started, Keyboard Shortcuts made from the window's actions, the file format,
About), tooltips in plain words with the jargon explained, a toolbar that stays put."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QMenu, QToolBar, QToolButton

from playground import __version__
from playground.ui.glossary import legend
from tests.ui.helpers import ids_by_name, select


def menu(win, title: str) -> QMenu:
    for action in win.menuBar().actions():
        if action.text().replace("&", "") == title:
            m = action.menu()
            assert isinstance(m, QMenu)
            return m
    raise AssertionError(f"no menu {title}")


def test_the_empty_canvas_says_how_to_add_the_first_node(window):
    view = window.view
    assert not window.document.model.nodes and view.showing_hint
    assert "Palette" in view.EMPTY_HINT and "Tab" in view.EMPTY_HINT
    assert "double-click" in view.EMPTY_HINT and "Getting Started" in view.EMPTY_HINT
    image = view.viewport().grab().toImage()  # painted: light text over the dark canvas
    centre = image.rect().center()
    row = [image.pixelColor(x, y).lightness() for y in range(centre.y() - 40, centre.y() + 40)
           for x in range(centre.x() - 150, centre.x() + 150)]
    assert max(row) > 120
    window.add_op("tanh", QPointF(0, 0))
    assert not view.showing_hint and not view._hint  # (the view heard it: it repainted)
    window.document.undo.undo()
    assert view.showing_hint and view._hint
    # heard from the model: nothing listens to every change of the scene (a slot there would
    # run at each repaint of a live run, and makes Qt route all updates through the signal)
    from PySide6.QtCore import SIGNAL

    assert view.scene().receivers(SIGNAL("changed(QList<QRectF>)")) == 0


def test_the_help_menu(window, qtbot):
    items = [a.text().replace("&", "") for a in menu(window, "Help").actions()
             if not a.isSeparator()]
    assert items == ["Getting Started", "Keyboard Shortcuts", "The Graph File Format",
                     "About Backprop Playground"]
    window.actions_["getting_started"].trigger()  # the first lesson
    assert window.session.example == "square_of_sum"
    qtbot.waitUntil(lambda: window.docks["lesson"].isVisible())
    assert window.lesson.lesson is not None and window.lesson.index == 0


def test_the_shortcut_sheet_lists_every_action_with_a_key_by_menu(window):
    dialog = window.help.show_shortcuts()
    try:
        sheet = dialog.browser.toHtml()
        plain = dialog.browser.toPlainText()
        with_keys = 0
        for top in window.menuBar().actions():
            m = top.menu()
            if not isinstance(m, QMenu):
                continue
            for action in m.actions():
                for key in action.shortcuts():
                    text = key.toString(QKeySequence.SequenceFormat.NativeText)
                    assert text in plain, (action.text(), text)
                    with_keys += 1
        assert with_keys > 20
        # grouped by menu, in menu order, and Redo with both of its keys
        heads = [h for h in ("File", "Edit", "View", "Explain", "Insert", "Help") if h in plain]
        assert [plain.index(h) for h in heads] == sorted(plain.index(h) for h in heads)
        edit = plain[plain.index("Edit"):plain.index("View")]
        assert "Ctrl+Shift+Z" in edit and "Ctrl+Y" in edit
        assert "On the canvas" in plain and "Tab" in plain
        assert "<table" in sheet
    finally:
        dialog.close()


def test_file_format_page_and_about(window, monkeypatch):
    dialog = window.help.show_file_format()
    text = dialog.browser.toPlainText()
    assert "backprop-playground/graph" in text and "null" in text and "batch" in text
    dialog.close()
    shown = {}
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, body: shown.update(
        title=title, body=body))
    window.actions_["about"].trigger()
    assert shown["title"] == "About Backprop Playground"
    assert __version__ in shown["body"] and "MIT" in shown["body"]
    assert "PySide6" in shown["body"] and "NumPy" in shown["body"]


def test_the_toolbar_does_not_jump_when_the_undo_text_changes(window):
    bar = next(b for b in window.findChildren(QToolBar) if b.objectName() == "main_toolbar")
    QApplication.processEvents()

    def layout() -> list[tuple[str, int, int]]:
        return [(b.text(), b.x(), b.width()) for b in bar.findChildren(QToolButton)
                if b.isVisible()]

    before = layout()
    window.add_op("softmax_cross_entropy", QPointF(0, 0))
    window.add_op("leaky_relu", QPointF(300, 0))
    window.document.undo.undo()
    QApplication.processEvents()
    assert window.actions_["undo"].text().startswith("&Undo Add")  # the menu names the step
    assert layout() == before
    undo = next(b for b in bar.findChildren(QToolButton)
                if b.defaultAction() is window.actions_["undo"])
    assert undo.text() == "Undo"
    assert "Add" in undo.toolTip() and "Ctrl+Z" in undo.toolTip()


def test_jargon_is_explained_where_it_is_met(window):
    assert "batch" in legend("(N, 64)") and "norm" in legend("‖3.4‖")
    assert "gradient" in legend("∇ 0.2") and "mean" in legend("μ0.1")
    assert legend("Add 12 nodes") == ""  # a capital N inside a word is not the batch
    tips = {key: window.palette_panel.items[key].toolTip(0) for key in ("matmul", "input",
                                                                       "softmax_cross_entropy")}
    assert "upstream" in tips["matmul"] and "transposed" in tips["matmul"]
    assert "local derivative: how much" in tips["matmul"]
    assert "batch" in tips["softmax_cross_entropy"]
    assert "Drag it onto the canvas" in tips["input"]
    # the Inspector: the expression with the node's own names, the init choices explained
    assert window.open_example("digits_mlp")
    select(window, "z1")
    header = window.inspector.header.text()
    assert "z1 = X · W1 + b1" in header or "z1 = X·W1 + b1" in header.replace(" · ", "·")
    select(window, "b1")
    assert "b1: W" not in window.inspector.header.text()
    init = window.inspector.editors["init"]
    assert isinstance(init, QComboBox)
    tips = [init.itemData(k, Qt.ItemDataRole.ToolTipRole) for k in range(init.count())]
    assert all(tips) and "Glorot" in tips[init.findText("glorot_uniform")]
    assert "ReLU" in tips[init.findText("he_normal")]
    assert "batch" in window.inspector.editors["shape"].toolTip() or \
        "weight" in window.inspector.editors["shape"].toolTip()
    select(window, "X")
    assert "null" in window.inspector.editors["shape"].toolTip()
    assert "N" in window.inspector.editors["shape"].toolTip()
    # the Training panel's settings say what they do
    panel = window.training
    assert "how big a step" in panel.lr.toolTip()
    assert "whole number from 0" in panel.seed.toolTip()  # the allowed range is kept
    assert "minibatch" in panel.batch.toolTip()
    # a wire label's tooltip explains N, μ and ‖·‖
    window.evaluator.evaluate_sample(0)
    label = window.scene.overlays.wire_labels[ids_by_name(window)["z1"]]
    assert "norm" in label.tooltip_html and "batch" in label.tooltip_html
    assert "gradient" in label.tooltip_html


@pytest.mark.parametrize("key", ["getting_started", "shortcuts"])
def test_help_keys(window, key):
    assert not window.actions_[key].shortcut().isEmpty()
