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
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
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

from ...engine import EngineError, FeedError, Program
from ...engine.formatting import brief as fmt_array
from ...graph import CompileError, compile_graph
from ...graph.explain import BackwardStep, ForwardStep, trace
from ...training.workbench import set_fitting_params

if TYPE_CHECKING:
    from ..canvas.overlays import Overlays
    from ..session import Session

FORWARD_COLOUR = "#4caf50"
BACKWARD_COLOUR = "#e5534b"
SPEEDS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)  # steps per second, one per slider notch
DEFAULT_SPEED = 2  # index: 1.5 steps/s
OWNER = "stepper"  # the overlays' owner name while the step-through shows the wires


def outer_id(key: str) -> str:
    """The top-level document node of a program key (``"c/n2"`` → ``"c"``)."""
    return key.split("/", 1)[0]


def _e(text: str) -> str:
    return html.escape(text, quote=False)


class StepThroughPanel(QWidget):
    """The "Step-through" dock's widget. ``position`` is -1 before the first step, then an
    index into :attr:`steps` (the forward steps followed by the backward steps)."""

    position_changed = Signal(int)
    message = Signal(str)

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
        self._build()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_tick)
        self.set_speed_index(DEFAULT_SPEED)
        self._show_idle()
        session.document_changed.connect(self.set_document)
        session.canvas_changed.connect(self._on_canvas)
        session.sample_changed.connect(lambda _i: self._restart_if_fed())
        session.locked_changed.connect(self._on_locked)

    # -- widgets ---------------------------------------------------------------------------
    def _build(self) -> None:
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
        self.speed.setFixedWidth(70)
        self.speed.setToolTip("Play speed")
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrows step, they do not slide
        self.speed_label = QLabel()
        self.status = QLabel()
        self.status.setStyleSheet("font-weight: bold;")
        self.status.setMinimumWidth(10)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for w in (self.back_button, self.step_button, self.play_button, self.reset_button):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            bar.addWidget(w)
        bar.addSpacing(4)
        bar.addWidget(self.speed)
        bar.addWidget(self.speed_label)
        bar.addSpacing(8)
        bar.addWidget(self.status, 1)
        layout.addLayout(bar)

        # shown only when data inputs have no value of their own
        self.sample_row = QWidget()
        row = QHBoxLayout(self.sample_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.sample_note = QLabel("Some inputs have no value.")
        self.sample_spin = QSpinBox()
        self.sample_spin.setRange(0, 100000)
        self.sample_spin.setToolTip("Which sample of the training set (the dataset chosen in the "
                                    "Training panel) feeds the data inputs")
        self.sample_button = QPushButton("Use this sample")
        row.addWidget(self.sample_note)
        row.addWidget(QLabel("Feed training sample"))
        row.addWidget(self.sample_spin)
        row.addWidget(self.sample_button)
        row.addStretch(1)
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
        """While a training run is live the graph is locked: no stepping."""
        if locked:
            self.set_playing(False)
            self.reset()
        self.setEnabled(not locked)

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
        needs_data = [program.nodes[i].name for i in program.inputs
                      if program.nodes[i].params.get("value") is None]
        feeds = None
        index = self.sample
        if needs_data or index is not None:
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
            self._offer_sample(needs_data or [], str(exc))
            return False
        except (EngineError, FloatingPointError, ValueError) as exc:
            self._refuse(f"The pass failed: {exc}")
            return False
        self.sample_row.setVisible(feeds is not None)
        if feeds is not None:
            self.sample_note.setText(f"Data inputs fed with {note}.")
        self.program = program
        self.forward_steps = [s for s in forward if not _is_source(program, s.node_id)]
        self.backward_steps = list(backward)
        self.position = -1
        self._fill_list()
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

    def _refuse(self, text: str, status: bool = True, colour: str = "#d1242f") -> None:
        self.set_playing(False)
        self._plain = text
        self.text_label.setText(f"<p style='font-size:14px; color:{colour}'>{_e(text)}</p>")
        self.status.setText("Cannot step through")
        if status:
            self.message.emit(text)

    def _fill_list(self) -> None:
        self.step_list.clear()
        for s in self.forward_steps:
            item = QListWidgetItem(f"→ {s.text}")
            item.setForeground(Qt.GlobalColor.darkGreen)
            item.setToolTip(s.text)
            self.step_list.addItem(item)
        for s in self.backward_steps:
            item = QListWidgetItem(f"← {s.text}")
            item.setForeground(Qt.GlobalColor.darkRed)
            item.setToolTip(s.text)
            self.step_list.addItem(item)

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
        values, grads = self._wire_data()
        nodes, edges = self._highlight_for(step)
        phase = "forward" if isinstance(step, ForwardStep) else "backward"
        self.values_shown, self.grads_shown = values, grads
        self.highlight = (tuple(nodes), tuple(edges), phase)
        ov = self._overlays
        if ov is not None:
            ov.set_wire_data(values, grads, OWNER)
            ov.set_labels_visible(True)  # shown while stepping, Evaluate on or off
            ov.set_step_highlight(nodes, edges, phase)
        if isinstance(step, ForwardStep):
            self._show_forward(step)
        else:
            self._show_backward(step)

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

    def _wire_data(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Values (and gradients) by top-level document node id, up to the current step."""
        program, doc = self.program, self.session.document
        assert program is not None and doc is not None
        nf = len(self.forward_steps)
        done = {i for i, n in enumerate(program.nodes) if n.spec.is_source}
        upto = min(self.position, nf - 1)
        for s in self.forward_steps[:upto + 1]:
            done.add(program.index[s.node_id])
        totals: dict[int, np.ndarray] = {}
        if self.position >= nf:
            for s in self.backward_steps[:self.position - nf + 1]:
                totals[program.index[s.input_id]] = s.total
        values: dict[str, np.ndarray] = {}
        grads: dict[str, np.ndarray] = {}
        for nid in doc.model.nodes:
            i = program.index.get(nid)
            if i is None:
                continue
            if i in done and program.values[i] is not None:
                values[nid] = program.values[i]  # type: ignore[assignment]
            if i in totals:
                grads[nid] = totals[i]
        return values, grads

    def _edges_into(self, dst: str, src: str | None = None, port: str | None = None) -> list[str]:
        doc = self.session.document
        model = doc.model if doc is not None else None
        if model is None:
            return []
        return [e.id for e in model.edges.values()
                if e.dst == dst and (src is None or e.src == src)
                and (port is None or e.port == port)]

    def _highlight_for(self, step: ForwardStep | BackwardStep) -> tuple[list[str], list[str]]:
        gate = outer_id(step.node_id)
        if isinstance(step, ForwardStep):
            return [gate], self._edges_into(gate)
        if not step.port:  # the seed
            return [gate], []
        src = outer_id(step.input_id)
        if src == gate:  # a wire inside a composite: the composite glows
            return [gate], []
        inner = "/" in step.node_id
        edges = self._edges_into(gate, src, None if inner else step.port)
        return [gate], edges

    def _show_idle(self) -> None:
        if self.loaded:
            nf, nb = len(self.forward_steps), len(self.backward_steps)
            self.status.setText(f"Ready: {nf} forward step{'s' if nf != 1 else ''}, "
                                f"{nb} backward")
            self._plain = ("Press Step ▶ (or the Right arrow) to compute the first gate. "
                           "The forward pass computes each gate's output from its inputs; the "
                           "backward pass then sends the gradient from the output back to every "
                           "input: downstream = upstream × local.")
        else:
            self.status.setText("")
            self._plain = ("Step through the forward and backward pass of this graph, one gate "
                           "at a time. Press Step ▶ (or the Right arrow) to begin.")
        self.text_label.setText(f"<p style='font-size:14px; color:#767e88'>"
                                f"{_e(self._plain)}</p>")

    def _show_forward(self, step: ForwardStep) -> None:
        n = len(self.forward_steps)
        self.status.setText(f"Forward {step.index + 1} of {n}")
        ins = ", ".join(f"{name} = {fmt_array(v)}" for _p, name, v in step.inputs)
        out = f"{step.name} = {fmt_array(step.value)}"
        head = f"Forward step {step.index + 1} of {n}: the {step.label} gate '{step.name}'"
        lines = [head, step.text, f"inputs: {ins}", f"output: {out}"]
        if step.index == n - 1:
            lines.append("The forward pass is done. Step on to send the gradient back.")
        self._plain = "\n".join(lines)
        self.text_label.setText(
            f"<div style='color:{FORWARD_COLOUR}; font-size:13px; font-weight:bold'>{_e(head)}</div>"
            f"<div style='font-size:24px; margin:8px 0'>{_e(step.text)}</div>"
            f"<table style='font-size:15px' cellspacing='0' cellpadding='3'>"
            f"<tr><td style='color:#767e88'>inputs</td><td>{_e(ins)}</td></tr>"
            f"<tr><td style='color:#767e88'>output</td><td><b>{_e(out)}</b></td></tr></table>"
            + (f"<p style='font-size:13px'>{_e(lines[-1])}</p>" if step.index == n - 1 else ""))

    def _show_backward(self, step: BackwardStep) -> None:
        n = len(self.backward_steps)
        self.status.setText(f"Backward {step.index + 1} of {n}")
        assert self.program is not None
        f = self.program.nodes[self.program.output].name
        if not step.port:
            head = f"Backward step 1 of {n}: the seed"
            note = (f"The gradient of the output with respect to itself is 1 (∂{f}/∂{f} = 1): "
                    "backprop starts here and walks the gates in reverse.")
            self._plain = f"{head}\n{step.text}\n{note}"
            self.text_label.setText(
                f"<div style='color:{BACKWARD_COLOUR}; font-size:13px; font-weight:bold'>"
                f"{_e(head)}</div><div style='font-size:24px; margin:8px 0'>{_e(step.text)}</div>"
                f"<p style='font-size:14px'>{_e(note)}</p>")
            return
        gate, inp = step.name, step.input_name
        head = (f"Backward step {step.index + 1} of {n}: gate '{gate}' sends the gradient to "
                f"its input '{inp}' (port {step.port})")
        up, down = fmt_array(step.upstream), fmt_array(step.downstream)
        if step.local is not None:
            local = fmt_array(step.local)
            rule = step.local_text  # "∂q/∂x = 1", "∂w0x0/∂x0 = w0 = 2" → "∂w0x0/∂x0 = w0" | 2
            rule = rule.removesuffix(f" = {local}")
        else:  # not elementwise: the rule is the product itself (G·Wᵀ ...)
            local, rule = "", f"∂{gate}/∂{inp}: {step.local_text}"
        rows = [("upstream", f"∂{f}/∂{gate}", up),
                ("× local", rule, local),
                ("= downstream", f"contribution to ∂{f}/∂{inp}", down)]
        lines = [head, step.text,
                 *(f"{a}: {b} = {c}" if c and not b.endswith(f"= {c}") else f"{a}: {b}"
                   for a, b, c in rows)]
        extra = ""
        if step.accumulated:
            prev = _minus(step.total, step.downstream)
            acc = (f"'{inp}' feeds several gates, so its gradient is a sum: "
                   f"∂{f}/∂{inp} = {fmt_array(prev)} + {fmt_array(step.downstream)} = "
                   f"{fmt_array(step.total)}")
            lines.append(acc)
            extra = f"<p style='font-size:15px'><b>Σ</b> {_e(acc)}</p>"
        else:
            lines.append(f"∂{f}/∂{inp} so far: {fmt_array(step.total)}")
        self._plain = "\n".join(lines)
        table = "".join(
            f"<tr><td style='color:#767e88'>{_e(a)}</td><td>{_e(b)}</td>"
            f"<td style='font-size:{15 if c.startswith('[') else 18}px'><b>{_e(c)}</b></td></tr>"
            for a, b, c in rows)
        self.text_label.setText(
            f"<div style='color:{BACKWARD_COLOUR}; font-size:13px; font-weight:bold'>{_e(head)}</div>"
            f"<div style='font-size:24px; margin:8px 0'>{_e(step.text)}</div>"
            f"<table style='font-size:15px' cellspacing='0' cellpadding='3'>{table}</table>"
            f"{extra}")

    def _update_buttons(self) -> None:
        n = len(self.steps)
        self.back_button.setEnabled(self.loaded and self.position >= 0)
        self.step_button.setEnabled(not self.loaded or self.position + 1 < n)
        self.reset_button.setEnabled(self.loaded and self.position >= 0)


def _minus(total: np.ndarray, part: np.ndarray) -> np.ndarray:
    return np.asarray(total) - np.asarray(part)


def _is_source(program: Program, key: str) -> bool:
    i = program.index.get(key)
    return i is not None and program.nodes[i].spec.is_source


def _reason(exc: Exception) -> str:
    text = str(exc)
    prefix = "the graph cannot run yet: "
    return text.removeprefix(prefix)


class CanvasArrowKeys(QObject):
    """Plain Left/Right on the canvas step through, but only while a step-through is under way
    and no node is selected; otherwise the view keeps its own arrow handling (nudging)."""

    def __init__(self, session: Session, panel: StepThroughPanel) -> None:
        super().__init__(panel)
        self.session, self.panel = session, panel

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress:
            return False
        assert isinstance(event, QKeyEvent)
        key = event.key()
        if key not in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            return False
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if not self.panel.active or self.session.selected_node_ids():
            return False
        if key == Qt.Key.Key_Right:
            self.panel.step_forward()
        else:
            self.panel.step_back()
        return True
