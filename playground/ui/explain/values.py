"""Evaluate the graph and show every value and gradient on its wires; gradient check, gradient
flow overlay and gradient-health badges. ``install(win)`` adds the "Explain" menu and toolbar.

Evaluate (Ctrl+E) compiles the document in float64, feeds the input nodes their typed ``value``
(or sample *i* of the training panel's dataset: features and labels through
:func:`playground.training.bind`, standardised like training), runs one forward and one backward
pass with every gradient, and hands each node's value and ∂L/∂value to the scene. Parameters are
the trained ones when there are any (the training panel's program after a run, the snapshot
copies during a run, the weights saved beside the file), else initialised with the panel's seed.

While values are shown, any change to the document re-evaluates after 150 ms; a graph that cannot
compute clears the labels and the status bar says why. During training the labels follow the
worker's snapshots (about 4 Hz): the parameter copies are loaded into a program of our own (never
the live one) and run on one validation batch in the GUI thread, as long as that takes under 5 ms;
otherwise only the parameters' values are shown.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QInputDialog, QSpinBox

from ...engine import EngineError, Program
from ...engine.gradcheck import GRADCHECK_TOLERANCE, check_program
from ...graph import COMPOSITE, GraphModel, compile_graph
from ...training import TrainingError, bind
from ...training.datasets import DatasetError
from ...training.loop import encode_targets
from ..canvas.wirelabels import LOD_LABELS, summary
from . import explain_menu, explain_toolbar
from .detail import ValueDetailPanel

if TYPE_CHECKING:
    from ..mainwindow import MainWindow

DEBOUNCE_MS = 150
TRAINING_REFRESH_MS = 250  # ~4 Hz
CHEAP_PASS_S = 0.005  # a forward + backward during training must stay under this
GRADCHECK_OK, GRADCHECK_BAD, HEALTH_COLOUR = "#3ccf5a", "#ff4d4f", "#ff9f1a"
GRADCHECK_KIND, HEALTH_KIND = "gradient check", "health"
ERRORS = (EngineError, TrainingError, DatasetError, ValueError, FloatingPointError, KeyError)


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


def install(win: MainWindow) -> WireValues:
    controller = WireValues(win)
    win.wire_values = controller
    return controller


class WireValues(QObject):
    """Evaluate, the value labels, gradient check, flow overlay and health badges of a window."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.evaluation: Evaluation | None = None
        self.sample: int | None = None  # None: the inputs' typed values (sample 0 if missing)
        self.active = False  # values are shown and follow the document
        self.last_error = ""
        self._model: GraphModel | None = None
        self._scene: Any = None
        self._snapshot: Any = None
        self._train: Evaluation | None = None
        self._train_cheap = True
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(lambda: self.evaluate(quiet=True))
        self._train_timer = QTimer(self)
        self._train_timer.setSingleShot(True)
        self._train_timer.setInterval(TRAINING_REFRESH_MS)
        self._train_timer.timeout.connect(self._refresh_from_snapshot)
        self._build_ui()
        panel = win.training
        panel.controller.snapshot.connect(self._on_snapshot)
        panel.controller.finished.connect(self._on_training_finished)
        panel.locked_changed.connect(self._on_locked)
        win.document_changed.connect(self._on_document)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.detail.shutdown)
        if win.document is not None:
            self._on_document(win.document)

    # -- UI ------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        win = self.win
        a = win._act
        a("evaluate", "&Evaluate", self.evaluate_action, QKeySequence("Ctrl+E"),
          tip="Run forward and backward once and show every value and gradient on the wires")
        a("evaluate_sample", "Evaluate on &Sample…", self.ask_sample,
          tip="Feed sample i of the training panel's dataset to the inputs and evaluate")
        a("show_values", "Show &Values on Wires", self.set_shown, checkable=True,
          tip="Show each wire's value (green) and gradient (red)")
        a("gradient_check", "&Gradient Check", self.gradient_check,
          tip="Check every node's backward against finite differences and badge the nodes")
        a("flow_overlay", "Gradient &Flow Overlay", self.set_flow, checkable=True,
          tip="Wire width and colour follow the mean |gradient| through each wire")
        a("health_check", "Check Gradient &Health", self.health_check,
          tip="Badge nodes with vanishing or exploding gradients, dead ReLUs, saturated sigmoids")
        a("value_detail", "Value &Detail", self._show_detail_dock,
          tip="The selected node's value and gradient as heatmaps with statistics")
        win.actions_["health_check"].setEnabled(health_available())
        menu = explain_menu(win)
        if menu.actions():
            menu.addSeparator()
        for key in ("evaluate", "evaluate_sample", "show_values", None, "gradient_check",
                    "flow_overlay", "health_check", None, "value_detail"):
            menu.addSeparator() if key is None else menu.addAction(win.actions_[key])
        menu.addSeparator()
        bar = explain_toolbar(win)
        bar.addAction(win.actions_["evaluate"])
        self.sample_box = QSpinBox()
        self.sample_box.setRange(-1, 10_000_000)
        self.sample_box.setValue(-1)
        self.sample_box.setSpecialValueText("typed inputs")
        self.sample_box.setPrefix("sample ")
        self.sample_box.setToolTip("What Evaluate feeds the inputs: their typed values, or sample i "
                                   "of the training panel's dataset")
        self.sample_box.setMinimumWidth(120)
        self.sample_box.valueChanged.connect(self._on_sample_box)
        bar.addWidget(self.sample_box)
        for key in ("show_values", "gradient_check", "flow_overlay"):
            bar.addAction(win.actions_[key])
        self.detail = ValueDetailPanel(win)
        self.detail_dock = win._dock("Values", self.detail, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.detail_dock.hide()
        view = getattr(win, "view_menu", None)
        if view is not None:
            view.addAction(self.detail_dock.toggleViewAction())

    def _status(self, text: str, ms: int = 8000) -> None:
        self.win.statusBar().showMessage(text, ms)

    # -- documents -----------------------------------------------------------------------------
    def _on_document(self, doc: Any) -> None:
        if self._model is not None:
            self._listen(self._model, False)
        self._model = doc.model
        self._listen(self._model, True)
        scene = self.win.scene
        self._scene = scene
        self.evaluation = None
        if scene is None:
            return
        scene.value_clicked.connect(self.show_detail)
        scene.wire_data_changed.connect(self._refresh_detail)
        scene.set_labels_visible(self.active)
        if self.active:
            self._debounce.stop()
            self.evaluate(quiet=True)
        elif self.detail_dock.isVisible():
            self.detail.clear()

    def _listen(self, model: GraphModel, on: bool) -> None:
        for name in ("node_added", "node_removed", "edge_added", "edge_removed", "param_changed",
                     "node_renamed", "body_changed"):
            event = getattr(model, name)
            (event.connect if on else event.disconnect)(self._on_model_changed)

    def _on_model_changed(self, *_: Any) -> None:
        try:
            scene = self.win.scene
            if scene is not None:  # the checks were made on the old graph
                scene.clear_node_badges(GRADCHECK_KIND)
                scene.clear_node_badges(HEALTH_KIND)
            if self.active:
                self._debounce.start()
        except RuntimeError:  # the window or its scene is being destroyed
            pass

    # -- actions -------------------------------------------------------------------------------
    def evaluate_action(self) -> bool:
        self._set_active(True)
        return self.evaluate()

    def set_shown(self, on: bool) -> None:
        self._set_active(on)
        if on and (self.win.scene is None or not self.win.scene.has_wire_data):
            self.evaluate()

    def _set_active(self, on: bool) -> None:
        self.active = bool(on)
        act = self.win.actions_["show_values"]
        if act.isChecked() != self.active:
            act.blockSignals(True)
            act.setChecked(self.active)
            act.blockSignals(False)
        if self.win.scene is not None:
            self.win.scene.set_labels_visible(self.active)
        if not self.active:
            self._debounce.stop()

    def _on_sample_box(self, value: int) -> None:
        self.sample = None if value < 0 else int(value)
        if self.active:
            self.evaluate()

    def ask_sample(self) -> None:
        value, ok = QInputDialog.getInt(self.win, "Evaluate on a sample",
                                        "Sample index in the training panel's dataset:",
                                        max(self.sample or 0, 0), 0, 10_000_000)
        if ok:
            self.evaluate_sample(value)

    def evaluate_sample(self, index: int | None) -> bool:
        """Evaluate on sample ``index`` of the current dataset (None: the typed inputs)."""
        self.sample_box.blockSignals(True)
        self.sample_box.setValue(-1 if index is None else int(index))
        self.sample_box.blockSignals(False)
        self.sample = index
        return self.evaluate_action()

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, quiet: bool = False) -> bool:
        """Compile, feed, run forward and backward and show the result on the wires. Returns
        False (labels cleared, the reason in the status bar) when the graph cannot compute."""
        self._debounce.stop()
        scene = self.win.scene
        if scene is None or self.win.document is None:
            return False
        try:
            ev = self.build()
            ev.program.forward(ev.feeds)
            ev.program.backward(all_grads=True)
        except ERRORS as exc:
            return self._fail(str(exc))
        self.evaluation = ev
        self.last_error = ""
        self._show(ev)
        out = ev.program.values[ev.program.output]
        name = ev.program.nodes[ev.program.output].name
        text = f"Evaluated: {name} = {summary(out)}" + (f" — {ev.note}" if ev.note else "")
        if self.active and self.win.view.zoom() < LOD_LABELS:
            text += f" — zoom in to read the values (they hide below {LOD_LABELS:.0%})"
        self._status(text, 6000 if quiet else 10000)
        return True

    def _fail(self, reason: str) -> bool:
        self.evaluation = None
        self.last_error = reason
        scene = self.win.scene
        if scene is not None:
            scene.clear_wire_data()
            if self.win.actions_["flow_overlay"].isChecked():
                scene.set_flow_overlay(None)
        self._status(f"Cannot evaluate: {reason}", 15000)
        return False

    def _show(self, ev: Evaluation) -> None:
        scene = self.win.scene
        p = ev.program
        values = {nid: p.values[i] for nid, i in ev.ids.items()}
        grads = {nid: p.grads[i] for nid, i in ev.ids.items()}
        scene.set_wire_data(values, grads)
        scene.set_labels_visible(self.active)
        if self.win.actions_["flow_overlay"].isChecked():
            scene.set_flow_overlay(flow_magnitudes(grads))

    def build(self) -> Evaluation:
        """A float64 program of the graph shown, with parameters and feeds, not yet run."""
        model, prefix = self._evaluation_model()
        try:
            program = compile_graph(model, dtype="float64")
        except EngineError as exc:
            raise EvaluateError(str(exc)) from None
        self._load_params(program)
        feeds, note = self._feeds(program)
        ev = Evaluation(program, feeds, prefix, note=note)
        ev.ids = self._map_ids(program, prefix)
        return ev

    def _evaluation_model(self) -> tuple[GraphModel, str]:
        """The top-level graph (with the composite being edited as it is now) and the program
        key prefix of the document shown."""
        doc = self.win.document
        assert doc is not None
        chain = []
        cur = doc
        while getattr(cur, "parent_link", None) is not None:
            outer, nid = cur.parent_link
            chain.append((outer, nid))
            cur = outer
        if not chain:
            return doc.model, ""
        body = doc.model.to_dict()
        for outer, nid in chain:
            data = outer.model.to_dict()
            for n in data["nodes"]:
                if n["id"] == nid:
                    n["body"] = {k: v for k, v in body.items() if k not in ("format", "version")}
            body = data
        prefix = "".join(f"{nid}/" for _, nid in reversed(chain))
        return GraphModel.from_dict(body), prefix

    def _map_ids(self, program: Program, prefix: str) -> dict[str, int]:
        model = self.win.document.model  # type: ignore[union-attr]
        ids = {}
        for nid, node in model.nodes.items():
            key = prefix + nid
            i = program.index.get(key)
            if i is None:
                continue
            if program.nodes[i].key == key or node.op == COMPOSITE or (prefix and node.op == "input"):
                ids[nid] = i
        return ids

    def _load_params(self, program: Program) -> None:
        panel = self.win.training
        program.init_params(int(panel.seed.value()))
        arrays: Mapping[str, Any] | None = None
        if panel.controller.running:
            # never the live program's arrays: the worker's latest copies
            arrays = None if self._snapshot is None else self._snapshot.params
        elif panel.program is not None:
            arrays = panel.program.param_arrays(trainable_only=False)
        else:
            top = self.win.document
            while getattr(top, "parent_link", None) is not None:
                top = top.parent_link[0]
            arrays = getattr(top, "weights", None)
        if arrays:
            set_fitting_params(program, arrays)

    def _feeds(self, program: Program) -> tuple[dict[str, Any], str]:
        missing = [program.nodes[i].name for i in program.inputs
                   if program.nodes[i].params.get("value") is None]
        index = self.sample
        if index is None and not missing:
            return {}, "typed input values"
        panel = self.win.training
        auto = index is None
        index = 0 if index is None else index
        try:
            data = panel.build_split()
        except (DatasetError, ValueError) as exc:
            raise EvaluateError(f"{self._missing_text(missing)}the dataset cannot be made: {exc}") from None
        ds = data.dataset
        if not 0 <= index < ds.n_samples:
            raise EvaluateError(f"sample {index} is not in '{ds.name}' (0..{ds.n_samples - 1})")
        features = None if panel.features.currentIndex() <= 0 else panel.features.currentText()
        target = None if panel.target.currentIndex() <= 0 else panel.target.currentText()
        try:
            b = bind(program, data, features, target)
        except TrainingError as exc:
            raise EvaluateError(f"{self._missing_text(missing)}{exc}") from None
        feeds = {b.features: data.transform(ds.X[index: index + 1]),
                 b.target: encode_targets(ds.y[index: index + 1], b, ds.n_classes, np.float64)}
        label = ""
        if ds.task == "classification" and ds.classes:
            label = f", label {ds.classes[int(ds.y[index])]}"
        note = f"sample {index} of {ds.name}{label}"
        if auto:
            note += f" (inputs {', '.join(repr(m) for m in missing)} have no typed value)"
        return feeds, note

    @staticmethod
    def _missing_text(missing: list[str]) -> str:
        if not missing:
            return ""
        names = ", ".join(f"'{m}'" for m in missing)
        return f"input {names} has no value (type one in the inspector, or evaluate on a dataset sample); "

    # -- gradient check ------------------------------------------------------------------------
    def gradient_check(self) -> dict[str, float] | None:
        """check_program (eps 1e-3, fourth order, as the CLI) on the evaluated graph; badge every
        checked node green (≤ 1e-6) or red with its relative error."""
        scene = self.win.scene
        if scene is None:
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            ev = self.build()
            errors = check_program(ev.program, ev.feeds, eps=1e-3, order=4)
        except ERRORS as exc:
            self._fail(str(exc))
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.evaluation = ev
        if self.active:
            self._show(ev)
        per_node = self._per_document_node(ev, errors, max)
        scene.clear_node_badges(GRADCHECK_KIND)
        for nid, err in per_node.items():
            ok = err <= GRADCHECK_TOLERANCE
            scene.set_node_badge(nid, GRADCHECK_KIND, f"{err:.0e}", GRADCHECK_OK if ok else GRADCHECK_BAD,
                                 detail=(f"largest relative error {err:.2e} "
                                         f"({'ok' if ok else 'FAILED'}; tolerance {GRADCHECK_TOLERANCE:.0e})"))
        if errors:
            worst = max(errors, key=lambda k: errors[k])
            bad = sorted(n for n, e in errors.items() if e > GRADCHECK_TOLERANCE)
            if bad:
                self._status(f"Gradient check FAILED at {', '.join(bad)}: worst {errors[worst]:.2e} "
                             f"at '{worst}' (tolerance {GRADCHECK_TOLERANCE:.0e})", 20000)
            else:
                self._status(f"Gradient check passed: {len(errors)} nodes, worst {errors[worst]:.2e} "
                             f"at '{worst}' (tolerance {GRADCHECK_TOLERANCE:.0e})", 15000)
        else:
            self._status("Gradient check: nothing to check", 8000)
        return errors

    def _per_document_node(self, ev: Evaluation, by_name: Mapping[str, Any], combine: Any) -> dict[str, Any]:
        """Map results keyed by program node name (or key) onto the document nodes shown: a
        composite gets the combination of everything inside it."""
        model = self.win.document.model  # type: ignore[union-attr]
        out: dict[str, Any] = {}
        for name, result in by_name.items():
            i = ev.program.index.get(name)
            if i is None:
                continue
            key = ev.program.nodes[i].key
            if not key.startswith(ev.prefix):
                continue
            top = key[len(ev.prefix):].split("/")[0]
            if top not in model.nodes:
                continue
            out[top] = result if top not in out else combine(out[top], result)
        return out

    # -- gradient flow -------------------------------------------------------------------------
    def set_flow(self, on: bool) -> None:
        scene = self.win.scene
        if scene is None:
            return
        if not on:
            scene.set_flow_overlay(None)
            return
        if self.evaluation is None and not self.evaluate():
            return
        grads = scene.wire_grads
        scene.set_flow_overlay(flow_magnitudes(grads))

    # -- gradient health -----------------------------------------------------------------------
    def health_check(self) -> dict[str, Any] | None:
        """Badge the nodes playground.graph.health flags (orange, the explanation in the
        tooltip).

        Uses ``playground.graph.health.gradient_health(program) -> {node name: Health(kind,
        value, explanation)}`` (kind 'ok' is not badged); without that module the action is
        disabled and says so."""
        scene = self.win.scene
        if scene is None:
            return None
        if not health_available():
            self._status("Gradient health checks are not available yet (playground.graph.health)")
            return None
        from ...graph.health import gradient_health

        try:
            ev = self.build()
            ev.program.forward(ev.feeds)
            ev.program.backward(all_grads=True)
            verdicts = gradient_health(ev.program)
        except ERRORS as exc:
            self._fail(str(exc))
            return None
        flagged = {k: h for k, h in verdicts.items() if getattr(h, "kind", "ok") != "ok"}
        self.evaluation = ev
        if self.active:
            self._show(ev)
        scene.clear_node_badges(HEALTH_KIND)
        per_node = self._per_document_node(ev, {k: [v] for k, v in flagged.items()},
                                           lambda a, b: a + b)
        for nid, items in per_node.items():
            kinds = ", ".join(dict.fromkeys(str(getattr(h, "kind", h)).replace("_", " ")
                                            for h in items))
            detail = "<br>".join(str(getattr(h, "explanation", "")) for h in items)
            scene.set_node_badge(nid, HEALTH_KIND, kinds, HEALTH_COLOUR, detail=detail)
        n = len(per_node)
        self._status("Gradient health: no problems found" if not n else
                     f"Gradient health: {n} node{'s' if n != 1 else ''} flagged (hover the orange badges)",
                     12000)
        return dict(flagged)

    # -- the detail view -----------------------------------------------------------------------
    def show_detail(self, node_id: str) -> None:
        first = not self.detail_dock.isVisible()
        self.detail_dock.show()
        self.detail_dock.raise_()
        if first and not self.detail_dock.isFloating():
            self.win.resizeDocks([self.detail_dock], [300], Qt.Orientation.Vertical)
        self._fill_detail(node_id)

    def _show_detail_dock(self) -> None:
        scene = self.win.scene
        ids = [] if scene is None else scene.selected_node_ids()
        if ids:
            self.show_detail(ids[0])
        else:
            self.detail_dock.show()
            self.detail_dock.raise_()

    def _fill_detail(self, node_id: str) -> None:
        scene, doc = self.win.scene, self.win.document
        if scene is None or doc is None or node_id not in doc.model.nodes:
            self.detail.clear()
            return
        node = doc.model.nodes[node_id]
        value, grad = scene.wire_values.get(node_id), scene.wire_grads.get(node_id)
        if value is None and grad is None:
            self.detail.clear(f"<b>{node.name}</b>: no values yet — press Evaluate (Ctrl+E)."
                              if not self.last_error else f"<b>{node.name}</b>: {self.last_error}")
            self.detail.node_id = node_id
            return
        where = self.evaluation.note if self.evaluation is not None else ""
        self.detail.show_data(node_id, f"{node.name} ({node.op})", value, grad, where)

    def _refresh_detail(self) -> None:
        if self.detail_dock.isVisible() and self.detail.node_id is not None:
            self._fill_detail(self.detail.node_id)

    # -- training ------------------------------------------------------------------------------
    def _on_locked(self, locked: bool) -> None:
        self._train = None
        self._train_cheap = True
        if locked:
            self._snapshot = None
            if self.active:
                self._prepare_training_view()

    def _prepare_training_view(self) -> None:
        """Our own program for the wires during a run, and one validation batch to feed it."""
        panel = self.win.training
        data = panel.split_
        if data is None:
            return
        try:
            model, prefix = self._evaluation_model()
            program = compile_graph(model, dtype="float64")
            features = None if panel.features.currentIndex() <= 0 else panel.features.currentText()
            target = None if panel.target.currentIndex() <= 0 else panel.target.currentText()
            b = bind(program, data, features, target)
        except ERRORS:
            return
        X, y = (data.X_val, data.y_val) if data.X_val.shape[0] else (data.X_train, data.y_train)
        rows = max(1, min(int(panel.batch.value()), X.shape[0]))
        feeds = {b.features: np.array(X[:rows], dtype=np.float64),
                 b.target: encode_targets(np.asarray(y[:rows]), b, data.dataset.n_classes, np.float64)}
        self._train = Evaluation(program, feeds, prefix,
                                 note=f"training: first validation batch ({rows} rows)")
        self._train.ids = self._map_ids(program, prefix)
        try:  # once untimed: the first pass also generates the program's code
            program.forward(feeds)
            program.backward(all_grads=True)
        except ERRORS:
            self._train_cheap = False

    def _on_snapshot(self, snap: Any) -> None:
        self._snapshot = snap
        if self.active and not self._train_timer.isActive():
            self._train_timer.start()

    def _refresh_from_snapshot(self) -> None:
        panel = self.win.training
        snap, ev, scene = self._snapshot, self._train, self.win.scene
        if snap is None or scene is None or not self.active or not panel.controller.running:
            return
        if ev is None:
            self._prepare_training_view()
            ev = self._train
            if ev is None:
                return
        p = ev.program
        set_fitting_params(p, snap.params)
        if self._train_cheap:
            t0 = time.perf_counter()
            try:
                p.forward(ev.feeds)
                p.backward(all_grads=True)
            except ERRORS:
                self._train_cheap = False
            else:
                self._train_cheap = time.perf_counter() - t0 < CHEAP_PASS_S
                self.evaluation = ev
                self._show(ev)
                return
        # too slow for the GUI thread: the parameters' values only
        params = set(p.parameters)
        values = {nid: p.values[i] for nid, i in ev.ids.items() if i in params}
        scene.set_wire_data(values, {})
        scene.set_labels_visible(self.active)

    def _on_training_finished(self, _reason: str) -> None:
        self._train = None
        self._snapshot = None
        if self.active:
            self._debounce.start()


# ---------------------------------------------------------------- helpers

def health_available() -> bool:
    try:
        return importlib.util.find_spec("playground.graph.health") is not None
    except (ImportError, ValueError):
        return False


def set_fitting_params(program: Program, arrays: Mapping[str, Any]) -> None:
    """Load the arrays whose names and shapes fit (copies; the sources are never written)."""
    current = program.param_arrays(trainable_only=False)
    fitting = {k: v for k, v in arrays.items()
               if k in current and current[k] is not None and np.shape(v) == current[k].shape}
    if fitting:
        program.set_params(fitting, strict=False)


def flow_magnitudes(grads: Mapping[str, np.ndarray | None]) -> dict[str, float]:
    """Mean |gradient| per source node (what the flow overlay draws)."""
    out = {}
    for nid, g in grads.items():
        if g is None:
            continue
        a = np.abs(np.asarray(g, dtype=np.float64))
        out[nid] = float(np.mean(a)) if a.size else 0.0
    return out
