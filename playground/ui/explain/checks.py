"""Checks on the evaluated graph, drawn on the canvas: the gradient check (a green or red badge
per node with its relative error), the gradient-flow overlay (wire width and colour follow the
mean |gradient|) and gradient-health badges (vanishing or exploding gradients, dead ReLUs,
saturated σ/tanh). Each runs on the :class:`~.evaluate.Evaluator`'s pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from ...engine.digest import Digest
from ...engine.gradcheck import GRADCHECK_TOLERANCE, check_program
from ...graph.health import gradient_health
from ..canvas.style import HEALTH_COLOURS
from .evaluate import ERRORS, Evaluation, Evaluator

if TYPE_CHECKING:
    from ..canvas.overlays import Overlays
    from ..services import WindowServices
    from ..session import Session

GRADCHECK_OK, GRADCHECK_BAD = "#3ccf5a", "#ff4d4f"
HEALTH_COLOUR = HEALTH_COLOURS["problem"]
GRADCHECK_KIND, HEALTH_KIND = "gradient check", "health"


def flow_magnitudes(grads: Mapping[str, np.ndarray | Digest | None]) -> dict[str, float]:
    """Mean |gradient| per source node (what the flow overlay draws)."""
    out = {}
    for nid, g in grads.items():
        if g is None:
            continue
        if isinstance(g, Digest):  # a live run's wires
            out[nid] = g.mean_abs
            continue
        a = np.abs(np.asarray(g, dtype=np.float64))
        out[nid] = float(np.mean(a)) if a.size else 0.0
    return out


class GradientChecks(QObject):
    def __init__(self, session: Session, services: WindowServices, evaluator: Evaluator,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.services, self.evaluator = session, services, evaluator
        self.actions: dict[str, QAction] = {}
        for key, text, slot, tip, checkable in (
                ("gradient_check", "&Gradient Check", self.gradient_check,
                 "Check every node's backward against finite differences and badge the nodes",
                 False),
                ("flow_overlay", "Gradient &Flow Overlay", self.set_flow,
                 "Wire width and colour follow the mean |gradient| through each wire", True),
                ("health_check", "Check Gradient &Health", self.health_check,
                 ("Badge nodes with vanishing or exploding gradients, dead ReLUs, saturated "
                  "sigmoids"), False)):
            a = QAction(text, self)
            a.setStatusTip(tip)
            a.setToolTip(tip)
            a.setCheckable(checkable)
            a.triggered.connect(slot)
            self.actions[key] = a
        evaluator.evaluated.connect(self._on_evaluated)
        evaluator.failed.connect(lambda _why: self._overlay_off())
        session.document_changed.connect(lambda _doc: self._listen())
        self._model: Any = None
        self._listen()

    def _overlays(self) -> Overlays | None:
        scene = self.session.scene
        return None if scene is None else scene.overlays

    def _listen(self) -> None:
        """Badges describe the graph they were made on: an edit clears them."""
        doc = self.session.document
        if self._model is not None:
            for name in ("node_added", "node_removed", "edge_added", "edge_removed",
                         "param_changed", "body_changed"):
                getattr(self._model, name).disconnect(self._clear_badges)
        self._model = None if doc is None else doc.model
        if self._model is not None:
            for name in ("node_added", "node_removed", "edge_added", "edge_removed",
                         "param_changed", "body_changed"):
                getattr(self._model, name).connect(self._clear_badges)

    def _clear_badges(self, *_: Any) -> None:
        ov = self._overlays()
        if ov is not None:
            try:
                ov.clear_node_badges(GRADCHECK_KIND)
                ov.clear_node_badges(HEALTH_KIND)
            except RuntimeError:  # the scene is being destroyed
                pass

    def _on_evaluated(self, ev: Evaluation) -> None:
        ov = self._overlays()
        if ov is not None and self.actions["flow_overlay"].isChecked():
            ov.set_flow_overlay(flow_magnitudes(ov.wire_grads))

    def _overlay_off(self) -> None:
        ov = self._overlays()
        if ov is not None and self.actions["flow_overlay"].isChecked():
            ov.set_flow_overlay(None)

    def _pass(self, run: bool) -> Evaluation | None:
        ev = self.evaluator
        try:
            evaluation = ev.build()
            if run:
                evaluation.program.forward(evaluation.feeds)
                evaluation.program.backward(all_grads=True)
        except ERRORS as exc:
            ev.fail(str(exc))
            return None
        ev.evaluation = evaluation
        if ev.active:
            ev.show(evaluation)
        return evaluation

    # -- gradient check ------------------------------------------------------------------------
    def gradient_check(self) -> dict[str, float] | None:
        """check_program (eps 1e-3, fourth order, as the CLI) on the evaluated graph; badge every
        checked node green (≤ tolerance) or red with its relative error."""
        ov = self._overlays()
        if ov is None:
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            ev = self._pass(run=False)
            if ev is None:
                return None
            try:
                errors = check_program(ev.program, ev.feeds, eps=1e-3, order=4)
            except ERRORS as exc:
                self.evaluator.fail(str(exc))
                return None
        finally:
            QApplication.restoreOverrideCursor()
        if self.evaluator.active:
            self.evaluator.show(ev)
        per_node = self._per_document_node(ev, errors, max)
        ov.clear_node_badges(GRADCHECK_KIND)
        tol = f"{GRADCHECK_TOLERANCE:.0e}"
        for nid, err in per_node.items():
            ok = err <= GRADCHECK_TOLERANCE
            ov.set_node_badge(nid, GRADCHECK_KIND, f"{err:.0e}",
                              GRADCHECK_OK if ok else GRADCHECK_BAD,
                              detail=(f"largest relative error {err:.2e} "
                                      f"({'ok' if ok else 'FAILED'}; tolerance {tol})"))
        if errors:
            worst = max(errors, key=lambda k: errors[k])
            bad = sorted(n for n, e in errors.items() if e > GRADCHECK_TOLERANCE)
            if bad:
                self.services.show_status(f"Gradient check FAILED at {', '.join(bad)}: worst "
                                          f"{errors[worst]:.2e} at '{worst}' (tolerance {tol})",
                                          20000)
            else:
                self.services.show_status(f"Gradient check passed: {len(errors)} nodes, worst "
                                          f"{errors[worst]:.2e} at '{worst}' (tolerance {tol})",
                                          15000)
        else:
            self.services.show_status("Gradient check: nothing to check", 8000)
        return errors

    def _per_document_node(self, ev: Evaluation, by_name: Mapping[str, Any],
                           combine: Callable[[Any, Any], Any]) -> dict[str, Any]:
        """Map results keyed by program node name (or key) onto the document nodes shown: a
        composite gets the combination of everything inside it."""
        doc = self.session.document
        assert doc is not None
        out: dict[str, Any] = {}
        for name, result in by_name.items():
            i = ev.program.index.get(name)
            if i is None:
                continue
            key = ev.program.nodes[i].key
            if not key.startswith(ev.prefix):
                continue
            top = key[len(ev.prefix):].split("/")[0]
            if top not in doc.model.nodes:
                continue
            out[top] = result if top not in out else combine(out[top], result)
        return out

    # -- gradient flow -------------------------------------------------------------------------
    def set_flow(self, on: bool) -> None:
        ov = self._overlays()
        if ov is None:
            return
        if not on:
            ov.set_flow_overlay(None)
            return
        if self.evaluator.evaluation is None and not self.evaluator.evaluate():
            return
        ov.set_flow_overlay(flow_magnitudes(ov.wire_grads))

    # -- gradient health -----------------------------------------------------------------------
    def health_check(self) -> dict[str, Any] | None:
        """Badge the nodes :func:`playground.graph.health.gradient_health` flags (orange, the
        explanation in the tooltip)."""
        ov = self._overlays()
        if ov is None:
            return None
        ev = self._pass(run=True)
        if ev is None:
            return None
        try:
            verdicts = gradient_health(ev.program)
        except ERRORS as exc:
            self.evaluator.fail(str(exc))
            return None
        flagged = {k: h for k, h in verdicts.items() if h.kind != "ok"}
        ov.clear_node_badges(HEALTH_KIND)
        per_node = self._per_document_node(ev, {k: [v] for k, v in flagged.items()},
                                           lambda a, b: a + b)
        problems = 0
        for nid, items in per_node.items():
            badge = ", ".join(dict.fromkeys(h.badge for h in items))
            detail = "<br>".join(h.explanation for h in items)
            level = "problem" if any(h.level == "problem" for h in items) else "notice"
            problems += level == "problem"
            ov.set_node_badge(nid, HEALTH_KIND, badge, HEALTH_COLOURS[level], detail=detail)
        n = len(per_node)
        notices = n - problems
        said = [f"{problems} problem{'s' if problems != 1 else ''}"] if problems else []
        said += [f"{notices} node{'s' if notices != 1 else ''} worth a look"] if notices else []
        self.services.show_status(
            "Gradient health: no problems found" if not n else
            f"Gradient health: {' and '.join(said)} (hover the badges)", 12000)
        return dict(flagged)
