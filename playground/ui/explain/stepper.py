"""Step-through: the forward pass gate by gate, then the backward pass input by input.

The panel compiles the current document once (float64; inputs take their ``value`` param, or
one sample of the training dataset), asks :func:`playground.graph.explain.trace` for every step,
and then only moves a cursor over that list. Each position decides three things:

* the canvas highlight: the gate and its input wires (forward, green) or the gate and the one
  wire the gradient goes down (backward, red);
* the wire labels: forward shows the values of the sources and of the gates computed so far, no
  gradient; backward shows every value and the gradients accumulated so far;
* the text: the step's equation, big, with the numbers it multiplies or adds.

Keys: Left/Right step while the panel has focus; Alt+Left/Alt+Right anywhere in the window;
plain Left/Right on the canvas once a step-through is under way and no node is selected (with
a selection the arrows still nudge the nodes).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from ...engine import EngineError, FeedError, Program
from ...graph import CompileError, compile_graph
from ...graph.explain import BackwardStep, ForwardStep, trace
from ...graph.inputs import inputs_without_value
from ...training.workbench import set_fitting_params
from .stepper_ui import SPEEDS, build_ui, fill_list
from .steptext import (
    StepText,
    backward_text,
    forward_text,
    highlight_for,
    idle_text,
    wire_data,
)

if TYPE_CHECKING:
    from ..canvas.overlays import Overlays
    from ..session import Session

DEFAULT_SPEED = 2  # index: 1.5 steps/s
OWNER = "stepper"  # the overlays' owner name while the step-through shows the wires


class StepThroughPanel(QWidget):
    """The "Step-through" dock's widget. ``position`` is -1 before the first step, then an
    index into :attr:`steps` (the forward steps followed by the backward steps)."""

    position_changed = Signal(int)
    message = Signal(str)
    # the widgets (made by stepper_ui.build_ui)
    back_button: QPushButton
    step_button: QPushButton
    play_button: QPushButton
    reset_button: QPushButton
    speed: QSlider
    speed_label: QLabel
    status: QLabel
    sample_row: QWidget
    sample_note: QLabel
    sample_label: QLabel
    sample_spin: QSpinBox
    sample_button: QPushButton
    step_list: QListWidget
    text_label: QLabel

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.program: Program | None = None
        self.forward_steps: list[ForwardStep] = []
        self.backward_steps: list[BackwardStep] = []
        self.position = -1
        self.values_shown: dict[str, np.ndarray] = {}
        self.grads_shown: dict[str, np.ndarray] = {}
        self.highlight: tuple[tuple[str, ...], tuple[str, ...], str | None] = ((), (), None)
        self._document: Any = None
        self._overlays: Overlays | None = None
        self._plain = ""
        build_ui(self)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_tick)
        self.set_speed_index(DEFAULT_SPEED)
        self._show_idle()
        session.document_changed.connect(self.set_document)
        session.canvas_changed.connect(self._on_canvas)
        session.sample_changed.connect(lambda _i: self._restart_if_fed())
        session.locked_changed.connect(self._on_locked)
        # a paused run may be stepped through: its next step, with its weights as they are
        session.runner.controller.paused_at.connect(lambda _step: self._on_run_paused(True))
        session.runner.controller.resumed.connect(lambda: self._on_run_paused(False))

    # -- widgets ---------------------------------------------------------------------------
    # -- document --------------------------------------------------------------------------
    def set_document(self, document: Any) -> None:
        """A new document (or a composite opened for editing): forget the trace."""
        if self._document is not None:
            try:
                self._document.undo.indexChanged.disconnect(self._on_edited)
            except (RuntimeError, TypeError):
                pass
        self._document = document
        if document is not None:
            document.undo.indexChanged.connect(self._on_edited)
        self._forget()

    def _on_canvas(self, scene: Any) -> None:
        """A new scene starts blank; when someone else takes its wires, the step-through lets
        go of the canvas."""
        self._overlays = scene.overlays
        scene.overlays.owner_changed.connect(self._on_owner_changed)

    def _on_locked(self, locked: bool) -> None:
        """While a training run is live the graph is locked: no stepping, except through the
        step a paused run makes next."""
        self.set_playing(False)
        self._release_canvas()
        self._forget()
        self.setEnabled(not locked)

    def _on_run_paused(self, paused: bool) -> None:
        if not self.session.locked:
            return
        self.set_playing(False)
        self._release_canvas()
        self._forget()
        self.setEnabled(paused)
        if paused:
            self.sample_note.setText("The run is paused: Step ▶ traces the step it makes next, "
                                     "on its batch and with its weights as they are now.")
            self.sample_row.setVisible(True)
            for w in (self.sample_label, self.sample_spin, self.sample_button):
                w.setVisible(False)  # the paused run feeds its own batch

    def _restart_if_fed(self) -> None:
        """Another dataset sample was chosen: a trace fed from the data starts over."""
        if self.program is not None and self.sample_row.isVisible():
            self._release_canvas()
            self._forget()

    def _on_edited(self, *_: Any) -> None:
        if self.program is None:
            return
        self._release_canvas()
        self._forget()
        self.message.emit("The graph changed: the step-through starts again from the first gate")

    def _forget(self) -> None:
        self.set_playing(False)
        self.program = None
        self.forward_steps, self.backward_steps = [], []
        self.position = -1
        self.step_list.clear()
        self.values_shown, self.grads_shown = {}, {}
        self.highlight = ((), (), None)
        self._show_idle()
        self._update_buttons()

    # -- loading ---------------------------------------------------------------------------
    @property
    def steps(self) -> list[ForwardStep | BackwardStep]:
        return [*self.forward_steps, *self.backward_steps]

    @property
    def loaded(self) -> bool:
        return self.program is not None

    @property
    def active(self) -> bool:
        """A step-through is under way (at least one step shown)."""
        return self.program is not None and self.position >= 0

    @property
    def sample(self) -> int | None:
        """The dataset sample fed to data inputs: the session's (the one Evaluate feeds)."""
        return self.session.sample

    def load(self) -> bool:
        """Compile the document and trace one forward and backward pass. False (with the reason
        in the panel and the status bar) when the graph cannot compute."""
        doc = self.session.document
        if doc is None:
            return False
        if self._document is not doc:
            self.set_document(doc)
        try:
            program = compile_graph(doc.model, dtype="float64")
        except CompileError as exc:
            self._refuse(f"This graph cannot compute yet: {_reason(exc)}")
            return False
        except EngineError as exc:
            self._refuse(f"This graph cannot compute: {exc}")
            return False
        self._load_weights(program)
        to_type, needs_data = inputs_without_value(doc.model)
        if to_type:  # numbers to type in: a dataset sample cannot feed them
            self._offer_values(to_type)
            return False
        feeds = None
        index = self.sample
        if self.session.locked:  # a paused run: its next step
            found = self.session.next_step_feeds()
            if found is None:
                self._refuse("Pause the run to step through the step it makes next.")
                return False
            feeds, note = found
        elif needs_data or index is not None:
            index = 0 if index is None else index  # as Evaluate: sample 0 when none is chosen
            try:
                feeds, note = self.session.sample_feeds(program, index)
            except Exception as exc:  # noqa: BLE001 - dataset, binding or feed problem
                self._offer_sample(needs_data, f"Sample {index} cannot be used: {exc}")
                return False
            self.sample_spin.setValue(index)
        try:
            forward, backward = trace(program, feeds)
        except FeedError as exc:
            self._offer_sample(list(getattr(exc, "inputs", ()) or needs_data), str(exc))
            return False
        except (EngineError, FloatingPointError, ValueError) as exc:
            self._refuse(f"The pass failed: {exc}")
            return False
        self.sample_row.setVisible(feeds is not None)
        for w in (self.sample_label, self.sample_spin, self.sample_button):
            w.setVisible(not self.session.locked)  # a paused run feeds its own batch
        if feeds is not None:
            self.sample_note.setText(f"Data inputs fed with {note}.")
        self.program = program
        self.forward_steps = [s for s in forward if not _is_source(program, s.node_id)]
        self.backward_steps = list(backward)
        self.position = -1
        fill_list(self.step_list, self.forward_steps, self.backward_steps)
        self._show_idle()
        self._update_buttons()
        return True

    def _load_weights(self, program: Program) -> None:
        """Use the trained weights when there are any (a run's, else the file's)."""
        program.init_params(self.session.data.seed)
        arrays = self.session.trained_arrays()
        if arrays:
            set_fitting_params(program, arrays)

    def use_sample(self, index: int) -> bool:
        """Feed the data inputs with sample ``index`` of the dataset and start over (Evaluate
        feeds the same sample)."""
        self._release_canvas()
        self._forget()
        self.session.set_sample(int(index))
        return self.load()

    def _offer_sample(self, names: Sequence[str], why: str = "") -> None:
        listed = ", ".join(f"'{n}'" for n in names)
        self.sample_note.setText(
            (why + " — " if why else "") + f"Input{'s' if len(names) != 1 else ''} {listed} "
            "{} no value.".format("have" if len(names) != 1 else "has"))
        self.sample_row.show()
        self._refuse(f"To step through, the input{'s' if len(names) != 1 else ''} {listed} "
                     "need values: type one in the Inspector (param 'value'), or use a sample of "
                     "the current dataset (the row above).", status=False, colour="#9a6700")

    def _offer_values(self, names: Sequence[str]) -> None:
        listed = ", ".join(f"'{n}'" for n in names)
        many = len(names) != 1
        self.sample_row.hide()
        self._refuse(f"To step through, type a number into the input{'s' if many else ''} "
                     f"{listed}: select {'each' if many else 'it'} and set its value in the "
                     "Inspector.", status=False, colour="#9a6700")

    def _refuse(self, text: str, status: bool = True, colour: str = "#d1242f") -> None:
        self.set_playing(False)
        self._plain = text
        self.text_label.setText(f"<p style='font-size:14px; color:{colour}'>"
                                f"{html.escape(text, quote=False)}</p>")
        self.status.setText("Cannot step through")
        if status:
            self.message.emit(text)

    # -- moving ----------------------------------------------------------------------------
    def step_forward(self) -> bool:
        """The next step (forward gates, then backward). False at the end or when refused."""
        if not self.loaded and not self.load():
            return False
        if self.position + 1 >= len(self.steps):
            self.set_playing(False)
            return False
        self.go_to(self.position + 1)
        return True

    def step_back(self) -> bool:
        if not self.loaded or self.position < 0:
            return False
        self.go_to(self.position - 1)
        return True

    def forward_step(self) -> bool:
        """One forward step (lessons' ``forward``); False when the forward pass is done."""
        if not self.loaded and not self.load():
            return False
        if self.position + 1 >= len(self.forward_steps):
            return False
        return self.step_forward()

    def backward_step(self) -> bool:
        """One backward step (lessons' ``backward``), completing the forward pass first."""
        if not self.loaded and not self.load():
            return False
        if self.position < len(self.forward_steps) - 1:
            self.go_to(len(self.forward_steps) - 1)
        return self.step_forward()

    def run_to_end(self) -> bool:
        if not self.loaded and not self.load():
            return False
        self.go_to(len(self.steps) - 1)
        return True

    def reset(self) -> None:
        """Before the first step: no highlight, blank wires (the trace is kept)."""
        self.set_playing(False)
        if self.loaded:
            self.go_to(-1)
        else:
            self._release_canvas()
            self._show_idle()

    def go_to(self, position: int) -> None:
        if not self.loaded:
            return
        position = max(-1, min(position, len(self.steps) - 1))
        self.position = position
        if position < 0:
            self.step_list.clearSelection()
            self.step_list.setCurrentRow(-1)
            self._release_canvas()
            self._show_idle()
        else:
            self.step_list.setCurrentRow(position)
            self.step_list.scrollToItem(self.step_list.item(position))
            self._apply()
        self._update_buttons()
        self.position_changed.emit(position)

    # -- play ------------------------------------------------------------------------------
    def set_speed_index(self, index: int) -> None:
        index = max(0, min(int(index), len(SPEEDS) - 1))
        if self.speed.value() != index:
            self.speed.setValue(index)
            return
        rate = SPEEDS[index]
        self.speed_label.setText(f"{rate:g}/s")
        self.speed_label.setToolTip(f"Play: {rate:g} steps per second")
        self.timer.setInterval(round(1000 / rate))

    def set_playing(self, on: bool) -> None:
        if on and not self.loaded and not self.load():
            on = False
        if on and self.position + 1 >= len(self.steps):
            self.go_to(-1)  # play again from the start
        if on:
            self.timer.start()
        else:
            self.timer.stop()
        if self.play_button.isChecked() != on:
            self.play_button.blockSignals(True)
            self.play_button.setChecked(on)
            self.play_button.blockSignals(False)
        self.play_button.setText("❚❚ Pause" if on else "▶ Play")

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def _on_tick(self) -> None:
        if not self.step_forward() or self.position + 1 >= len(self.steps):
            self.set_playing(False)

    # -- showing ---------------------------------------------------------------------------
    def current(self) -> ForwardStep | BackwardStep | None:
        return self.steps[self.position] if self.loaded and self.position >= 0 else None

    def phase(self) -> str | None:
        if self.position < 0 or not self.loaded:
            return None
        return "forward" if self.position < len(self.forward_steps) else "backward"

    def text(self) -> str:
        """The panel's text as plain text (what a test or a screen reader reads)."""
        return self._plain

    def _apply(self) -> None:
        assert self.program is not None
        step = self.steps[self.position]
        doc = self.session.document
        assert doc is not None
        values, grads = wire_data(self.program, doc.model, self.forward_steps,
                                  self.backward_steps, self.position)
        nodes, edges = highlight_for(doc.model, step)
        phase = "forward" if isinstance(step, ForwardStep) else "backward"
        self.values_shown, self.grads_shown = values, grads
        self.highlight = (tuple(nodes), tuple(edges), phase)
        ov = self._overlays
        if ov is not None:
            ov.set_wire_data(values, grads, OWNER)
            ov.set_labels_visible(True)  # shown while stepping, Evaluate on or off
            ov.set_step_highlight(nodes, edges, phase)
        if isinstance(step, ForwardStep):
            self._show(forward_text(step, len(self.forward_steps)))
        else:
            p = self.program
            self._show(backward_text(step, len(self.backward_steps), p.nodes[p.output].name))

    def _release_canvas(self) -> None:
        """Let go of the wires (whoever showed them before, Evaluate, takes them back)."""
        self.values_shown, self.grads_shown = {}, {}
        self.highlight = ((), (), None)
        ov = self._overlays
        if ov is not None and ov.owner == OWNER:
            try:
                ov.set_step_highlight((), (), None)
                ov.release(OWNER)
            except RuntimeError:  # the scene is being destroyed
                pass

    def _on_owner_changed(self, owner: str) -> None:
        """Someone else (Evaluate) filled the wires: the step-through lets go of the canvas."""
        if owner == OWNER or owner == "":
            return
        try:
            if self._overlays is not None:
                self._overlays.set_step_highlight((), (), None)
        except RuntimeError:  # the scene is being destroyed
            return
        if self.loaded and self.position >= 0:
            self.position = -1
            self.step_list.setCurrentRow(-1)
            self.values_shown, self.grads_shown = {}, {}
            self.highlight = ((), (), None)
            self._show_idle()
            self._update_buttons()
            self.position_changed.emit(-1)

    def _show(self, text: StepText) -> None:
        self.status.setText(text.status)
        self._plain = text.plain
        self.text_label.setText(text.rich)

    def _show_idle(self) -> None:
        self._show(idle_text(len(self.forward_steps) if self.loaded else None,
                             len(self.backward_steps)))

    def _update_buttons(self) -> None:
        n = len(self.steps)
        self.back_button.setEnabled(self.loaded and self.position >= 0)
        self.step_button.setEnabled(not self.loaded or self.position + 1 < n)
        self.reset_button.setEnabled(self.loaded and self.position >= 0)


def _is_source(program: Program, key: str) -> bool:
    i = program.index.get(key)
    return i is not None and program.nodes[i].spec.is_source


def _reason(exc: Exception) -> str:
    text = str(exc)
    prefix = "the graph cannot run yet: "
    return text.removeprefix(prefix)
