"""The run bar: the run's controls and numbers, always in view above the canvas.

Play/Pause, Step, Step epoch, Stop and Reset; the epoch and step counter, the current loss and
accuracy; a speed control from as fast as possible down to one step a second (slow motion: at 30
steps a second or fewer every step is shown on the canvas and the plots). The numbers are read
from the session's run history a few times a second, never once per step. It holds no run
state: the :class:`~.runner.TrainingRunner` does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSlider,
    QToolBar,
    QToolButton,
    QWidget,
)

from .worker import EVERY_STEP_RATE, every_step

if TYPE_CHECKING:
    from ..session import Session

# the speed slider's stops, steps a second; None is "as fast as possible"
SPEEDS: tuple[float | None, ...] = (1, 2, 3, 5, 10, 20, 30, 50, 100, 300, 1000, None)
# during a run the numbers are read from the history with each metrics batch (4 a second), at
# most this often: shorter than the batches' interval, so that none is skipped
REFRESH_MS = 200
LOSS_WINDOW = 20  # the loss shown is the mean over the last this many logged steps


def speed_text(rate: float | None) -> str:
    if rate is None:
        return "max"
    return f"{rate:g} step/s" if rate == 1 else f"{rate:g} steps/s"


class RunBar(QToolBar):
    """``commit`` writes the Training panel's form into the session before a run starts (False:
    a field is wrong, the panel says which)."""

    def __init__(self, session: Session, commit: Callable[[], bool] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Run", parent)
        # a toolbar row of its own: a window too narrow for it puts the rightmost controls in
        # the toolbar's » menu rather than growing
        self.setObjectName("run_toolbar")
        self.session = session
        self.runner = session.runner
        self.commit = commit or (lambda: True)
        self.setStyleSheet(
            "QToolButton { padding: 3px 7px; }"
            "QToolButton#train_button { font-weight: bold; min-width: 92px; }")
        self.setMovable(False)
        self.setFloatable(False)
        self.toggleViewAction().setEnabled(False)  # always there
        big = QFont()
        big.setPointSizeF(max(big.pointSizeF(), 9.0) * 1.15)

        def button(text: str, tip: str, name: str = "") -> QToolButton:
            b = QToolButton(self)
            b.setText(text)
            b.setToolTip(tip)
            b.setFont(big)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setMinimumHeight(32)
            if name:
                b.setObjectName(name)
            self.addWidget(b)
            return b

        self.train_button = button("▶ Train", "Start training; pause and resume it (F5)",
                                   "train_button")
        self.step_button = button("Step", "Exactly one minibatch step, then pause (F6)")
        self.epoch_button = button("Step epoch",
                                   "Train to the end of the epoch, then pause (Shift+F6)")
        self.stop_button = button("■ Stop",
                                  "End the run; Train goes on from these weights (Shift+F5)")
        self.reset_button = button("⟲ Reset", "Clear the curves and re-initialise the weights")
        self.addSeparator()
        self.counter = QLabel("epoch — · step —")
        self.counter.setFont(big)
        self.counter.setToolTip("The epoch in progress (of all the run will train) and the "
                                "minibatch steps done so far")
        self.loss_label = QLabel("loss —")
        self.loss_label.setFont(big)
        self.loss_label.setToolTip(f"Training loss: the mean batch loss of the last {LOSS_WINDOW} "
                                   "logged steps")
        self.accuracy_label = QLabel("")
        self.accuracy_label.setFont(big)
        self.accuracy_label.setToolTip("Accuracy at the last epoch end: on the validation part "
                                       "(or the training part when there is none)")
        for w in (self.counter, self.loss_label, self.accuracy_label):
            w.setTextFormat(Qt.TextFormat.RichText)
            w.setContentsMargins(6, 0, 6, 0)
            self.addWidget(w)
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.lock_label = QLabel("graph locked")
        self.lock_label.setStyleSheet("color: #9a6700;")
        self.lock_label.setToolTip("The graph cannot be edited while a run is live; values, "
                                   "gradients and unit maps on it are live. Stop to edit.")
        self.lock_label.setContentsMargins(6, 0, 6, 0)
        self.lock_action = self.addWidget(self.lock_label)
        self.lock_action.setVisible(False)
        # the learning rate, also here: it can change during a run (and in Presentation,
        # where the Training panel is folded away); the same setting as the panel's field
        lr = QLabel("lr ")
        self.addWidget(lr)
        self.lr_edit = QLineEdit(self)
        self.lr_edit.setObjectName("run_bar_lr")
        self.lr_edit.setFixedWidth(64)
        self.lr_edit.setToolTip("Learning rate (the Training panel's): may be changed while "
                                "training; applies at the next step and is marked on the loss "
                                "curve")
        self.addWidget(self.lr_edit)
        lr.setBuddy(self.lr_edit)
        gap = QWidget(self)
        gap.setFixedWidth(10)
        self.addWidget(gap)
        speed = QLabel("speed ")
        self.addWidget(speed)
        self.speed = QSlider(Qt.Orientation.Horizontal, self)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setPageStep(1)
        self.speed.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.speed.setFixedWidth(120)
        self.speed.setToolTip("Training speed: as fast as possible (right) down to one step a "
                              f"second (left). At {EVERY_STEP_RATE:g} steps a second or fewer "
                              "every step is shown on the canvas and the plots.")
        self.addWidget(self.speed)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(QLabel("1000 steps/s").sizeHint().width() + 8)
        self.speed_label.setContentsMargins(6, 0, 0, 0)
        self.addWidget(self.speed_label)
        speed.setBuddy(self.speed)

        self.speed.setValue(self._index(self.runner.controller.rate))
        self._show_speed()
        self.speed.valueChanged.connect(self._on_speed)
        self.train_button.clicked.connect(self.train_or_pause)
        self.step_button.clicked.connect(self.step_once)
        self.epoch_button.clicked.connect(self.step_epoch)
        self.stop_button.clicked.connect(self.runner.stop)
        self.reset_button.clicked.connect(self.runner.reset)
        # the same commands in the Run menu, with keys
        self.run_actions: dict[str, QAction] = {}
        for key, text, slot, keys in (
                ("train", "&Train / Pause", self.train_or_pause, "F5"),
                ("step", "&Step", self.step_once, "F6"),
                ("step_epoch", "Step &Epoch", self.step_epoch, "Shift+F6"),
                ("stop", "S&top", self.runner.stop, "Shift+F5"),
                ("reset", "&Reset", self.runner.reset, ""),
                ("faster", "&Faster", lambda: self.speed.setValue(self.speed.value() + 1),
                 "Ctrl+Shift+Up"),
                ("slower", "S&lower", lambda: self.speed.setValue(self.speed.value() - 1),
                 "Ctrl+Shift+Down")):
            action = QAction(text, self)
            if keys:
                action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            self.run_actions[key] = action
        self._refreshed = -math.inf  # perf_counter() of the last refresh during a run
        r, c = self.runner, self.runner.controller
        r.started.connect(self._on_started)
        r.finished.connect(lambda _reason: self._on_stopped())
        r.cleared.connect(self.refresh)
        c.paused_at.connect(lambda _step: self._on_stopped())
        c.resumed.connect(self._on_started)
        c.metrics.connect(self._on_metrics)
        session.root_changed.connect(lambda _doc: self.refresh())
        session.locked_changed.connect(self._show_lock)
        self._update_buttons()
        self.refresh()

    def _on_metrics(self, _records: Any) -> None:
        """In slow motion every step is shown at once (the counter agrees with the canvas and
        the plots); at full speed the numbers are read REFRESH_MS apart, with the batch that
        brings them (a timer of its own would wake the GUI thread, and each wake-up takes the
        interpreter lock from the training thread)."""
        rate = self.runner.controller.rate
        now = time.perf_counter()
        if every_step(rate) or now - self._refreshed >= REFRESH_MS / 1000:
            self._refreshed = now
            self.refresh()

    def _show_lock(self, locked: bool) -> None:
        self.lock_action.setVisible(locked)  # a toolbar shows and hides its widgets by their action

    # -- commands -----------------------------------------------------------------------------
    def train_or_pause(self) -> None:
        """Train when idle, Pause while training, Resume when paused."""
        if self.runner.running or self.commit():
            self.runner.train_or_pause()
        self._update_buttons()

    def step_once(self) -> None:
        if self.runner.running or self.commit():
            self.runner.step_once()

    def step_epoch(self) -> None:
        if self.runner.running or self.commit():
            self.runner.step_epoch()

    # -- speed ------------------------------------------------------------------------------------
    @staticmethod
    def _index(rate: float | None) -> int:
        if rate is None:
            return len(SPEEDS) - 1
        return min(range(len(SPEEDS) - 1), key=lambda k: abs(math.log(SPEEDS[k] / rate)))  # type: ignore[operator]

    @property
    def rate(self) -> float | None:
        return SPEEDS[self.speed.value()]

    def set_rate(self, rate: float | None) -> None:
        """Choose the stop nearest ``rate`` (None: as fast as possible)."""
        self.speed.setValue(self._index(rate))

    def _on_speed(self, _index: int) -> None:
        self.runner.controller.set_rate(self.rate)
        self._show_speed()

    def _show_speed(self) -> None:
        rate = self.rate
        self.speed_label.setText(speed_text(rate))
        slow = every_step(rate)
        self.speed_label.setStyleSheet("color: #0969da; font-weight: bold;" if slow else "")

    # -- what the run says --------------------------------------------------------------------------
    def _on_started(self) -> None:
        rate = self.runner.controller.rate
        if self.rate != rate:  # set elsewhere (a lesson, a script): show it
            self.speed.blockSignals(True)
            self.speed.setValue(self._index(rate))
            self.speed.blockSignals(False)
            self._show_speed()
        self._update_buttons()
        self.refresh()

    def _on_stopped(self) -> None:
        self._update_buttons()
        self.refresh()

    def _update_buttons(self, *_: Any) -> None:
        c = self.runner.controller
        running, paused = c.running, c.running and c.paused
        self.train_button.setText("▶ Resume" if paused else ("❚❚ Pause" if running else "▶ Train"))
        self.stop_button.setEnabled(running)
        self.step_button.setEnabled(not running or paused)
        self.epoch_button.setEnabled(not running or paused)
        self.run_actions["train"].setText("&Resume" if paused else ("&Pause" if running else
                                                                 "&Train"))
        self.run_actions["stop"].setEnabled(running)
        self.run_actions["step"].setEnabled(not running or paused)
        self.run_actions["step_epoch"].setEnabled(not running or paused)

    def refresh(self) -> None:
        """Read the counter, loss and accuracy from the history."""
        h = self.runner.history
        last = h.last
        if last is None or len(h) == 0:
            self.counter.setText("epoch — · step —")
            self.loss_label.setText("loss —")
            self.accuracy_label.setText("")
            return
        total = self.runner.epochs_total
        epoch = int(h.epoch.view()[-1])
        offset_epochs = h.offsets[1]
        shown_total = total + offset_epochs
        self.counter.setText(f"epoch <b>{epoch}</b>/{shown_total} · step <b>{h.total_steps:,}</b>")
        losses = h.batch_loss.view()[-LOSS_WINDOW:]
        finite = losses[np.isfinite(losses)]
        loss = float(finite.mean()) if finite.size else math.nan
        self.loss_label.setText(f"loss <b>{_fmt(loss)}</b>")
        acc, which = _last_finite(h.val_accuracy.view()), "val"
        if acc is None:
            acc, which = _last_finite(h.train_accuracy.view()), "train"
        self.accuracy_label.setText("" if acc is None else
                                    f"{which} accuracy <b>{100 * acc:.1f}%</b>")


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "—"
    return f"{v:.4f}" if 1e-3 <= abs(v) < 100 else f"{v:.3g}"


def _last_finite(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else None
