"""The step-through panel's widgets (the panel's behaviour is in stepper.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPainter, QPaintEvent, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...graph.explain import BackwardStep, ForwardStep

if TYPE_CHECKING:
    from .stepper import StepThroughPanel

SPEEDS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)  # steps per second, one per slider notch


class ElidedLabel(QLabel):
    """One line of plain text that ends in "…" when the row is too narrow for it (rather than
    being cut mid-letter); the whole text is its tooltip."""

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment()), text)
        painter.end()


def compact(button: QPushButton, *other_texts: str) -> None:
    """Let a push button shrink to its text, or the longest it will show (the style's 80-pixel
    minimum would push the bottom row of docks past a 1280-pixel screen); it still grows with
    the room it has."""
    fm = button.fontMetrics()
    text = max(fm.horizontalAdvance(t) for t in (button.text(), *other_texts))
    button.setMinimumWidth(text + 22)
    button.setSizePolicy(QSizePolicy.Policy.Preferred, button.sizePolicy().verticalPolicy())


def build_ui(self: StepThroughPanel) -> None:
    """The panel's widgets: buttons and speed, the sample row, the list of steps beside the
    big text."""
    layout = QVBoxLayout(self)
    layout.setContentsMargins(6, 4, 6, 4)
    layout.setSpacing(4)
    bar = QHBoxLayout()
    self.back_button = QPushButton("◀ Back")
    self.back_button.setToolTip("Undo the last step (Left, or Alt+Left anywhere)")
    self.step_button = QPushButton("Step ▶")
    self.step_button.setToolTip("The next gate forward, then the gradients backward "
                                "(Right, or Alt+Right anywhere)")
    self.play_button = QPushButton("▶ Play")
    self.play_button.setCheckable(True)
    self.play_button.setToolTip("Step on by itself at the chosen speed")
    self.reset_button = QPushButton("Reset")
    self.reset_button.setToolTip("Back to before the first step; the wires go blank")
    self.speed = QSlider(Qt.Orientation.Horizontal)
    self.speed.setRange(0, len(SPEEDS) - 1)
    self.speed.setFixedWidth(56)
    self.speed.setToolTip("Play speed")
    self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrows step, they do not slide
    self.speed_label = QLabel()
    self.status = ElidedLabel()
    self.status.setTextFormat(Qt.TextFormat.PlainText)
    self.status.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
    self.status.setStyleSheet("font-weight: bold;")
    self.status.setMinimumWidth(10)
    self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    for w in (self.back_button, self.step_button, self.play_button, self.reset_button):
        w.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        compact(w, "❚❚ Pause" if w is self.play_button else "")
        bar.addWidget(w)
    bar.addWidget(self.speed)
    bar.addWidget(self.speed_label)
    bar.addSpacing(4)
    bar.addWidget(self.status, 1)
    layout.addLayout(bar)

    # shown only when data inputs have no value of their own
    self.sample_row = QWidget()
    row = QHBoxLayout(self.sample_row)
    row.setContentsMargins(0, 0, 0, 0)
    self.sample_note = QLabel("Some inputs have no value.")
    # a long note (a paused run's) wraps: it must never widen the dock, and so the window
    self.sample_note.setWordWrap(True)
    self.sample_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    self.sample_note.setMinimumWidth(60)
    self.sample_spin = QSpinBox()
    self.sample_spin.setRange(0, 100000)
    self.sample_spin.setToolTip("Which sample of the training set (the dataset chosen in the "
                                "Training panel) feeds the data inputs")
    self.sample_button = QPushButton("Use this sample")
    row.addWidget(self.sample_note, 1)
    self.sample_label = QLabel("Feed training sample")
    row.addWidget(self.sample_label)
    row.addWidget(self.sample_spin)
    row.addWidget(self.sample_button)
    self.sample_row.hide()
    layout.addWidget(self.sample_row)

    split = QSplitter(Qt.Orientation.Horizontal)
    self.step_list = QListWidget()
    self.step_list.setMinimumWidth(150)
    self.step_list.setWordWrap(True)
    self.step_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    self.step_list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
    self.step_list.setToolTip("Every step of this pass; click one to go there")
    self.text_label = QLabel()
    self.text_label.setTextFormat(Qt.TextFormat.RichText)
    self.text_label.setWordWrap(True)
    self.text_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    self.text_label.setMinimumWidth(180)
    self.text_label.setContentsMargins(10, 4, 10, 4)
    text_scroll = QScrollArea()
    text_scroll.setWidget(self.text_label)
    text_scroll.setWidgetResizable(True)
    text_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    text_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    split.addWidget(self.step_list)
    split.addWidget(text_scroll)
    split.setStretchFactor(0, 1)
    split.setStretchFactor(1, 3)
    split.setSizes([260, 700])
    layout.addWidget(split, 1)

    self.back_button.clicked.connect(self.step_back)
    self.step_button.clicked.connect(self.step_forward)
    self.play_button.toggled.connect(self.set_playing)
    self.reset_button.clicked.connect(self.reset)
    self.speed.valueChanged.connect(self.set_speed_index)
    self.sample_button.clicked.connect(lambda: self.use_sample(self.sample_spin.value()))
    self.step_list.itemClicked.connect(lambda item: self.go_to(self.step_list.row(item)))
    for key, slot in ((Qt.Key.Key_Right, self.step_forward), (Qt.Key.Key_Left, self.step_back)):
        sc = QShortcut(QKeySequence(key), self)
        sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(slot)
    self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)



def fill_list(steps: QListWidget, forward: Sequence[ForwardStep],
              backward: Sequence[BackwardStep]) -> None:
    """Every step of the pass, forward in green, backward in red."""
    steps.clear()
    rows = [("→", Qt.GlobalColor.darkGreen, f.text) for f in forward]
    rows += [("←", Qt.GlobalColor.darkRed, b.text) for b in backward]
    for arrow, colour, text in rows:
        item = QListWidgetItem(f"{arrow} {text}")
        item.setForeground(colour)
        item.setToolTip(text)
        steps.addItem(item)
