"""The "Lesson" dock: a guided text for a bundled example, one step at a time.

Lessons are data (``resources/lessons/*.json``, read by :mod:`playground.lessons`), so more can
be written without code. Each step may carry an action, performed when the step is shown:
``forward``/``backward`` step the step-through, ``evaluate`` runs the Evaluate action (or, when
there is none, the whole step-through), ``select:<name>`` selects a node, ``tab:<name>``
shows a plot tab, ``train_step``/``train`` train one step or a whole run with the example's own
settings from its initial weights, and ``compare:<example>`` trains another example headless
(:attr:`Session.comparison`) and shows its loss curve beside this one's.

Going Back replays the step-through actions from the start, so every step always shows the same
picture whichever way you arrive at it; a step before the lesson's training step gets the
example's initial weights back (the lesson's own training is not replayed).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from ...lessons import Lesson, LessonError, LessonStep, lesson_for

if TYPE_CHECKING:
    from ..services import WindowServices
    from ..session import Session
    from .stepper import StepThroughPanel


class LessonPanel(QWidget):
    message = Signal(str)
    step_shown = Signal(int)

    def __init__(self, session: Session, services: WindowServices, stepper: StepThroughPanel,
                 evaluate: Callable[[], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.services, self.stepper = session, services, stepper
        self.evaluate = evaluate  # Evaluate, or None: the step-through's whole pass instead
        self.lesson: Lesson | None = None
        self.index = -1
        self._stop_at_pause = False  # train_step: stop the run when it pauses after one step
        self._trained = False  # the lesson's own training changed the weights
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
        session.document_changed.connect(self.on_document)
        session.runner.controller.paused_at.connect(self._on_run_paused)
        session.runner.finished.connect(self._on_run_finished)
        session.comparison.arrived.connect(self._on_compared)
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
        self.document = self.session.root if lesson is not None else None
        self.index = -1
        self._trained = False
        if lesson is None:
            self._update()
            return False
        self.go_to(0)
        return True

    def close_lesson(self) -> None:
        self.lesson, self.document, self.index = None, None, -1
        self._update()

    def on_document(self, document: Any) -> None:
        """Another graph: the lesson ends (a composite opened inside the lesson's graph is
        still the lesson's graph)."""
        if self.lesson is None or document is self.document:
            return
        if self.session.root is self.document:
            return
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
            before = steps[:index]
            if self._trained and not any(s.kind in TRAINING for s in before):
                self._initial_weights()  # before the lesson's training: the example's weights
            self.stepper.reset()
            for step in before:
                if step.kind in ("forward", "backward", "evaluate"):
                    self.perform(step)
                elif step.kind in TRAINING:
                    self.stepper.reset()  # as training it did (it is not done again)
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
            self.stepper.reset()
            if not self.session.locked and self.evaluate():
                return
            self._show_stepper()
            self.stepper.run_to_end()
        elif kind == "train_step":
            self._train(one_step=True)
        elif kind == "train":
            self._train(one_step=False)
        elif kind == "select" and arg:
            self._select(arg)
        elif kind == "tab" and arg:
            self._show_tab(arg)
        elif kind == "compare" and arg:
            self._compare(arg)

    def _show_stepper(self) -> None:
        self.services.show_dock("stepper", raise_=False)

    def _train(self, one_step: bool) -> None:
        """One update (``train_step``) or a whole run (``train``) with the example's own
        settings, from the example's initial weights (so doing it again gives the same)."""
        runner = self.session.runner
        if runner.running:
            runner.stop()
        self.stepper.reset()
        self._stop_at_pause = one_step
        if not one_step:
            self.services.show_dock("plots")
        if runner.start(mode="step" if one_step else "run", reinit=True):
            self._trained = True
        else:
            self._stop_at_pause = False

    def _on_run_paused(self, _step: int) -> None:
        if self._stop_at_pause:  # one update, then the graph is editable again
            self._stop_at_pause = False
            self.session.runner.stop()

    def _on_run_finished(self, _reason: str) -> None:
        self._stop_at_pause = False  # a one-step run that was also the last step ends by itself

    def _initial_weights(self) -> None:
        runner = self.session.runner
        if runner.running:
            runner.stop()
        runner.reinitialise()
        self._trained = False

    def _compare(self, example: str) -> None:
        self.services.show_dock("plots")
        if not self.session.comparison.start(example):
            self.message.emit(f"The comparison run of {example} could not start")

    def _on_compared(self, run: Any) -> None:
        step = self.lesson.steps[self.index] if self.lesson and self.index >= 0 else None
        if step is not None and step.kind == "compare" and step.argument == run.example:
            self.action_note.setText(f"↳ {run.describe()}: its loss is the faded curve on the "
                                     "Loss plot")

    def _select(self, name: str) -> None:
        doc = self.session.document
        node = None if doc is None else next(
            (n for n in doc.model.nodes.values() if n.name == name), None)
        if node is None or not self.services.select_nodes([node.id], centre=True):
            self.message.emit(f"This graph has no node named '{name}' any more")

    def _show_tab(self, name: str) -> None:
        why = self.services.show_plot_tab(name)
        if why:
            self.message.emit(why)

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


TRAINING = ("train_step", "train")


def _describe(step: LessonStep) -> str:
    kind, arg = step.kind, step.argument
    return {
        "forward": "↳ the step-through computed the next gate",
        "backward": "↳ the step-through sent the gradient one wire back",
        "evaluate": "↳ one whole forward and backward pass: every wire shows its value and gradient",
        "select": f"↳ selected '{arg}' (its formula is on the Math card)",
        "tab": f"↳ showing the {arg} plot",
        "train_step": "↳ one training step with the example's settings, from its initial weights",
        "train": "↳ training with the example's settings, from its initial weights (Plots dock)",
        "compare": f"↳ training {arg} with its own settings in the background, to compare…",
    }.get(kind or "", "")
