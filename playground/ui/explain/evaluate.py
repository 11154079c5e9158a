"""Evaluate: one forward and backward pass, every value and gradient on the wires.

Evaluate (Ctrl+E) compiles the graph shown in float64 (the top-level graph, with a composite
being edited as it is now), feeds the input nodes their typed ``value`` (or sample *i* of the
session's dataset, standardised like training), runs one forward and one backward pass with
every gradient, and hands each node's value and ∂L/∂value to the scene's overlays (owner
``"evaluate"``). Parameters are the trained ones when there are any
(:meth:`Session.trained_arrays`), else initialised with the run seed.

While values are shown, any change to the document re-evaluates after 150 ms; a graph that cannot
compute clears the labels and the status bar says why. During training the wires belong to the
live canvas (:mod:`playground.ui.training.live_canvas`): it shows the run's own values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSpinBox

from ...engine import EngineError, Program
from ...engine.formatting import summary
from ...graph import GraphModel, compile_graph
from ...graph.compile import program_ids
from ...graph.inputs import inputs_without_value
from ...training import TrainingError
from ...training.datasets import DatasetError
from ...training.workbench import set_fitting_params
from ..canvas.wirelabels import LOD_LABELS

if TYPE_CHECKING:
    from ..canvas.overlays import Overlays
    from ..services import WindowServices
    from ..session import Session

DEBOUNCE_MS = 150
ERRORS = (EngineError, TrainingError, DatasetError, ValueError, FloatingPointError, KeyError)
OWNER = "evaluate"


class EvaluateError(EngineError):
    """The graph cannot be evaluated; the message says why and what to do."""


@dataclass
class Evaluation:
    """One evaluated program and how its nodes map onto the document being shown."""

    program: Program
    feeds: dict[str, Any]
    prefix: str  # program-key prefix of the document shown ('' at the top level)
    ids: dict[str, int] = field(default_factory=dict)  # document node id → program index
    note: str = ""  # what was fed (for the status bar)


class Evaluator(QObject):
    """The Evaluate tool of a window: actions, the sample box, the values on the wires."""

    evaluated = Signal(object)  # Evaluation, after a pass was shown
    failed = Signal(str)  # why the graph could not be evaluated

    def __init__(self, session: Session, services: WindowServices,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.services = session, services
        self.evaluation: Evaluation | None = None
        self.active = False  # values are shown and follow the document
        self._hold = False
        self.last_error = ""
        self.zoom: Any = lambda: 1.0  # the canvas zoom (set by the window)
        self._model: GraphModel | None = None
        self._overlays: Overlays | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(lambda: self.evaluate(quiet=True))
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        session.locked_changed.connect(self._on_locked)
        session.document_changed.connect(self._on_document)
        session.canvas_changed.connect(self._on_canvas)
        session.sample_changed.connect(self._on_sample_changed)
        if session.document is not None:
            self._on_document(session.document)

    # -- actions ---------------------------------------------------------------------------
    def _build_actions(self) -> None:
        def act(key: str, text: str, slot: Any, shortcut: str = "", tip: str = "",
                checkable: bool = False) -> None:
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.setStatusTip(tip)
            a.setToolTip(tip)
            a.setCheckable(checkable)
            a.triggered.connect(slot)
            self.actions[key] = a

        act("evaluate", "&Evaluate", self.evaluate_action, "Ctrl+E",
            "Run forward and backward once and show every value and gradient on the wires")
        act("evaluate_sample", "Evaluate on &Sample…", self.ask_sample,
            tip="Feed sample i of the training panel's dataset to the inputs and evaluate")
        act("show_values", "Show &Values on Wires", self.set_shown,
            tip="Show each wire's value (green) and gradient (red)", checkable=True)
        self.sample_box = QSpinBox()
        self.sample_box.setRange(-1, 10_000_000)
        self.sample_box.setValue(-1)
        self.sample_box.setSpecialValueText("typed inputs")
        self.sample_box.setPrefix("sample ")
        self.sample_box.setToolTip("What Evaluate feeds the inputs: their typed values, or "
                                   "sample i of the training panel's dataset")
        self.sample_box.setMinimumWidth(120)
        self.sample_box.valueChanged.connect(self._on_sample_box)

    # -- documents and canvases ----------------------------------------------------------------
    def _on_document(self, doc: Any) -> None:
        if self._model is not None:
            self._listen(self._model, False)
        self._model = doc.model
        self._listen(doc.model, True)
        self.evaluation = None

    def _on_canvas(self, scene: Any) -> None:
        old = self._overlays
        if old is not None:
            try:
                old.owner_changed.disconnect(self._on_owner_changed)
            except (RuntimeError, TypeError):
                pass
        self._overlays = scene.overlays
        scene.overlays.owner_changed.connect(self._on_owner_changed)
        scene.overlays.set_labels_visible(self.active)
        if self.active:
            self._debounce.stop()
            self.evaluate(quiet=True)

    def _listen(self, model: GraphModel, on: bool) -> None:
        for name in ("node_added", "node_removed", "edge_added", "edge_removed", "param_changed",
                     "node_renamed", "body_changed"):
            event = getattr(model, name)
            (event.connect if on else event.disconnect)(self._on_model_changed)

    def _on_model_changed(self, *_: Any) -> None:
        if self.active and not self.session.locked:
            self._debounce.start()

    def _on_owner_changed(self, owner: str) -> None:
        """The wires were let go (a step-through ended): show the full evaluation again."""
        if owner == "" and self.active and not self.session.locked:
            self.evaluate(quiet=True)

    # -- actions -------------------------------------------------------------------------------
    def evaluate_action(self) -> bool:
        self._set_active(True)
        return self.evaluate()

    def set_shown(self, on: bool) -> None:
        self._set_active(on)
        ov = self._overlays
        if on and (ov is None or not ov.has_wire_data):
            self.evaluate()

    def _set_active(self, on: bool) -> None:
        self.active = bool(on)
        act = self.actions["show_values"]
        if act.isChecked() != self.active:
            act.blockSignals(True)
            act.setChecked(self.active)
            act.blockSignals(False)
        if self._overlays is not None:
            self._overlays.set_labels_visible(self.active)
        if not self.active:
            self._debounce.stop()

    @property
    def sample(self) -> int | None:
        """The dataset sample fed to the inputs (None: their typed values, or sample 0 when an
        input has none): the session's, shared with the step-through."""
        return self.session.sample

    def _on_sample_box(self, value: int) -> None:
        self.session.set_sample(None if value < 0 else int(value))

    def _on_sample_changed(self, index: int | None) -> None:
        self.sample_box.blockSignals(True)
        self.sample_box.setValue(-1 if index is None else int(index))
        self.sample_box.blockSignals(False)
        if self.active and not self._hold:
            self.evaluate()

    def ask_sample(self) -> None:
        value = self.services.ask_int("Evaluate on a sample",
                                      "Sample index in the training panel's dataset:",
                                      max(self.sample or 0, 0), 0, 10_000_000)
        if value is not None:
            self.evaluate_sample(value)

    def evaluate_sample(self, index: int | None) -> bool:
        """Evaluate on sample ``index`` of the current dataset (None: the typed inputs)."""
        self._hold = True  # one evaluation below, not a second one for the sample change
        try:
            self.session.set_sample(index)
        finally:
            self._hold = False
        return self.evaluate_action()

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, quiet: bool = False) -> bool:
        """Compile, feed, run forward and backward and show the result on the wires. Returns
        False (labels cleared, the reason in the status bar) when the graph cannot compute."""
        self._debounce.stop()
        if self._overlays is None or self.session.document is None:
            return False
        try:
            ev = self.build()
            ev.program.forward(ev.feeds)
            ev.program.backward(all_grads=True)
        except ERRORS as exc:
            return self.fail(str(exc))
        self.evaluation = ev
        self.last_error = ""
        self.show(ev)
        out = ev.program.values[ev.program.output]
        name = ev.program.nodes[ev.program.output].name
        text = f"Evaluated: {name} = {summary(out)}" + (f" — {ev.note}" if ev.note else "")
        if self.active and self.zoom() < LOD_LABELS:
            text += f" — zoom in to read the values (they hide below {LOD_LABELS:.0%})"
        self.services.show_status(text, 6000 if quiet else 10000)
        return True

    def fail(self, reason: str) -> bool:
        self.evaluation = None
        self.last_error = reason
        if self._overlays is not None:
            self._overlays.clear_wire_data(OWNER)
        self.services.show_status(f"Cannot evaluate: {reason}", 15000)
        self.failed.emit(reason)
        return False

    def show(self, ev: Evaluation, owner: str = OWNER) -> None:
        ov = self._overlays
        if ov is None:
            return
        p = ev.program
        values = {nid: p.values[i] for nid, i in ev.ids.items()}
        grads = {nid: p.grads[i] for nid, i in ev.ids.items()}
        ov.set_wire_data(values, grads, owner)
        ov.set_labels_visible(self.active)
        self.evaluated.emit(ev)

    def build(self) -> Evaluation:
        """A float64 program of the graph shown, with parameters and feeds, not yet run."""
        model, prefix = self.session.evaluation_model()
        try:
            program = compile_graph(model, dtype="float64")
        except EngineError as exc:
            raise EvaluateError(str(exc)) from None
        program.init_params(self.session.data.seed)
        arrays = self.session.trained_arrays()
        if arrays:
            set_fitting_params(program, arrays)
        feeds, note = self._feeds(program, model)
        doc = self.session.document
        assert doc is not None
        return Evaluation(program, feeds, prefix, program_ids(doc.model, program, prefix), note)

    def _feeds(self, program: Program, model: GraphModel) -> tuple[dict[str, Any], str]:
        """What the inputs of ``model`` (the top-level graph) are fed, and a note saying so."""
        to_type, missing = inputs_without_value(model)
        if to_type:  # numbers to type in: a dataset sample cannot feed them
            many = len(to_type) != 1
            raise EvaluateError(f"input{'s' if many else ''} "
                                f"{', '.join(repr(n) for n in to_type)} "
                                f"{'have' if many else 'has'} no value: select "
                                f"{'each' if many else 'it'} and type a number into its value in "
                                "the Inspector")
        index = self.sample
        if index is None and not missing:
            return {}, "typed input values"
        auto = index is None
        try:
            feeds, note = self.session.sample_feeds(program, 0 if index is None else index)
        except (DatasetError, TrainingError, ValueError) as exc:
            raise EvaluateError(f"{_missing_text(missing)}{exc}") from None
        if auto:
            note += f" (inputs {', '.join(repr(m) for m in missing)} have no typed value)"
        return feeds, note

    # -- training ------------------------------------------------------------------------------
    def _on_locked(self, locked: bool) -> None:
        """A run took the graph: the live canvas shows its values (our pass is out of date);
        when it ends, evaluate again if values are shown."""
        self._debounce.stop()
        if locked:
            if self._overlays is not None:
                self._overlays.clear_wire_data(OWNER)
        elif self.active:
            self._debounce.start()


def _missing_text(missing: list[str]) -> str:
    if not missing:
        return ""
    names = ", ".join(f"'{m}'" for m in missing)
    return (f"input {names} has no value (type one in the inspector, or evaluate on a dataset "
            "sample); ")
