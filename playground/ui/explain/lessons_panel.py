"""The "Lesson" dock: a guided text for a bundled example, one step at a time.

Lessons are data (``resources/lessons/*.json``, read by :mod:`playground.lessons`), so more can
be written without code. Each step may carry an action, performed when the step is shown:
``forward``/``backward`` step the step-through, ``evaluate`` runs the Evaluate action (or, when
there is none, the whole step-through), ``select:<name>`` selects a node and ``tab:<name>``
shows a plot tab. Going Back replays the step-through actions from the start, so every step
always shows the same picture whichever way you arrive at it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from ...lessons import Lesson, LessonError, LessonStep, lesson_for

if TYPE_CHECKING:
    from ..mainwindow import MainWindow
    from .stepper import StepThroughPanel


class LessonPanel(QWidget):
    message = Signal(str)
    step_shown = Signal(int)

    def __init__(self, win: MainWindow, stepper: StepThroughPanel) -> None:
        super().__init__(win)
        self.win, self.stepper = win, stepper
        self.lesson: Lesson | None = None
        self.index = -1
        self.document: Any = None
        self.setMinimumWidth(200)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.counter = QLabel()
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setContentsMargins(0, 0, 6, 0)
        scroll = QScrollArea()
        scroll.setWidget(self.body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(80)
        self.action_note = QLabel()
        self.action_note.setWordWrap(True)
        self.action_note.setStyleSheet("color: #767e88; font-size: 11px;")
        bar = QHBoxLayout()
        self.back_button = QPushButton("◀ Back")
        self.next_button = QPushButton("Next ▶")
        self.next_button.setDefault(True)
        bar.addWidget(self.back_button)
        bar.addWidget(self.counter, 1, Qt.AlignmentFlag.AlignCenter)
        bar.addWidget(self.next_button)
        layout.addWidget(self.title)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.action_note)
        layout.addLayout(bar)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        self._update()

    # -- which lesson ------------------------------------------------------------------------
    def open_for(self, example: str) -> bool:
        """Show the lesson of ``example`` (after it opened); False when it has none."""
        try:
            lesson = lesson_for(example)
        except LessonError as exc:
            self.message.emit(f"The lesson for {example} cannot be shown: {exc}")
            lesson = None
        self.lesson = lesson
        self.document = self.win.document if lesson is not None else None
        self.index = -1
        if lesson is None:
            self._update()
            return False
        self.go_to(0)
        return True

    def close_lesson(self) -> None:
        self.lesson, self.document, self.index = None, None, -1
        self._update()

    def on_document(self, document: Any) -> None:
        """Another document: the lesson ends, unless it is a composite of the lesson's graph."""
        if self.lesson is None or document is self.document:
            return
        link = getattr(document, "parent_link", None)
        while link is not None:
            if link[0] is self.document:
                return
            link = getattr(link[0], "parent_link", None)
        self.close_lesson()

    # -- moving ------------------------------------------------------------------------------
    def next(self) -> None:
        if self.lesson is not None and self.index + 1 < len(self.lesson.steps):
            self.go_to(self.index + 1)

    def back(self) -> None:
        if self.lesson is not None and self.index > 0:
            self.go_to(self.index - 1)

    def go_to(self, index: int) -> None:
        assert self.lesson is not None
        steps = self.lesson.steps
        index = max(0, min(index, len(steps) - 1))
        if index == self.index + 1:
            self.perform(steps[index])
        else:  # replay the step-through from the start, then this step's own action
            self.stepper.reset()
            for step in steps[:index]:
                if step.kind in ("forward", "backward", "evaluate"):
                    self.perform(step)
            self.perform(steps[index])
        self.index = index
        self._update()
        self.step_shown.emit(index)

    def perform(self, step: LessonStep) -> None:
        kind, arg = step.kind, step.argument
        if kind is None:
            return
        if kind == "forward":
            self._show_stepper()
            self.stepper.forward_step()
        elif kind == "backward":
            self._show_stepper()
            self.stepper.backward_step()
        elif kind == "evaluate":
            action = self.win.actions_.get("evaluate")
            if action is not None and action.isEnabled():
                self.stepper.reset()
                action.trigger()
            else:
                self._show_stepper()
                self.stepper.run_to_end()
        elif kind == "select" and arg:
            self._select(arg)
        elif kind == "tab" and arg:
            self._show_tab(arg)

    def _show_stepper(self) -> None:
        dock = getattr(self.win, "stepper_dock", None)
        if dock is not None and not dock.isVisible():
            dock.show()

    def _select(self, name: str) -> None:
        doc, scene = self.win.document, self.win.scene
        if doc is None or scene is None:
            return
        node = next((n for n in doc.model.nodes.values() if n.name == name), None)
        item = scene.nodes.get(node.id) if node is not None else None
        if item is None:
            self.message.emit(f"This graph has no node named '{name}' any more")
            return
        scene.clearSelection()
        item.setSelected(True)
        self.win.view.ensureVisible(item, 60, 60)

    def _show_tab(self, name: str) -> None:
        plots = getattr(self.win, "plots", None)
        dock = getattr(self.win, "plots_dock", None)
        if plots is None:
            return
        if dock is not None:
            dock.show()
            dock.raise_()
        for i in range(plots.tabs.count()):
            if plots.tabs.tabText(i) == name:
                if plots.tabs.isTabEnabled(i):
                    plots.tabs.setCurrentIndex(i)
                else:
                    self.message.emit(plots.tabs.tabToolTip(i) or f"The {name} tab is not "
                                      "available yet")
                return

    # -- showing -----------------------------------------------------------------------------
    def text(self) -> str:
        if self.lesson is None or self.index < 0:
            return ""
        return self.lesson.steps[self.index].text

    def _update(self) -> None:
        lesson = self.lesson
        if lesson is None:
            self.title.setText("No lesson")
            self.body.setText("<p style='color:#767e88'>Open one of the examples "
                              "square of sum, sigmoid neuron or digits MLP (File ▸ Open Example) "
                              "for a guided walk through it.</p>")
            self.counter.setText("")
            self.action_note.setText("")
            self.back_button.setEnabled(False)
            self.next_button.setEnabled(False)
            return
        n = len(lesson.steps)
        step = lesson.steps[self.index] if self.index >= 0 else None
        self.title.setText(lesson.title)
        self.counter.setText(f"{self.index + 1} / {n}")
        text = html.escape(step.text if step else "", quote=False)
        self.body.setText(f"<p style='font-size:14px; line-height:130%'>{text}</p>")
        self.action_note.setText(_describe(step) if step else "")
        self.back_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index + 1 < n)


def _describe(step: LessonStep) -> str:
    kind, arg = step.kind, step.argument
    return {
        "forward": "↳ the step-through computed the next gate",
        "backward": "↳ the step-through sent the gradient one wire back",
        "evaluate": "↳ one whole forward and backward pass: every wire shows its value and gradient",
        "select": f"↳ selected '{arg}' (its formula is on the Math card)",
        "tab": f"↳ showing the {arg} plot",
    }.get(kind or "", "")
