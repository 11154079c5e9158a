"""The training side of a window, built from the session: the Training panel (its settings
scroll, its run controls stay in view), the live plots and the run bar above the canvas; what a run's start,
failure and Reset show on the canvas. MainWindow places them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QScrollArea, QVBoxLayout, QWidget

from ...engine import EngineError
from ...engine.registry import losses
from ...training.example_run import ExampleRun
from .layers import param_groups
from .panel import TrainingPanel
from .plots import TrainingPlots
from .runbar import RunBar
from .runs import run_facts

LOSSES = frozenset(losses())

if TYPE_CHECKING:
    from ..services import WindowServices
    from ..session import Session



class TrainingTools(QObject):
    def __init__(self, session: Session, services: WindowServices,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.services = session, services
        runner = session.runner
        self.panel = TrainingPanel(session, parent)
        self.scroll = scroll = QScrollArea(parent)  # the settings (the Run box stays below)
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.panel.minimumSizeHint().width() + 16)
        # the run controls (Train, Step, Stop, progress, status) stay in view below the
        # settings, however short the dock
        layout = self.panel.layout()
        assert layout is not None
        layout.removeWidget(self.panel.run_box)
        self.dock_body = QWidget(parent)
        column = QVBoxLayout(self.dock_body)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(scroll, 1)
        footer = QVBoxLayout()
        footer.setContentsMargins(6, 4, 6, 6)
        footer.addWidget(self.panel.run_box)
        column.addLayout(footer)
        self.plots = TrainingPlots(runner.history, parent)
        # the run's controls and numbers, above the canvas; it says when the graph is locked
        self.run_bar = RunBar(session, self.panel.commit_form, parent)
        self.lock_banner = self.run_bar.lock_action  # shown while the graph is locked
        # the run bar's learning-rate box and the panel's field are one setting
        box, field = self.run_bar.lr_edit, self.panel.lr
        box.setText(field.text())
        field.textChanged.connect(lambda text: box.setText(text) if box.text() != text else None)
        box.editingFinished.connect(lambda: self.panel.apply_lr(box.text()))
        runner.controller.snapshot.connect(self.plots.on_snapshot)
        self.plots.rate = lambda: runner.controller.rate  # slow motion: every step drawn
        # (after the runner's slot, connected when the session was made: the history has them)
        runner.controller.metrics.connect(lambda _batch: self.plots.on_metrics())
        # periodic snapshots compute only what is on screen (a decision-boundary grid or
        # validation predictions no one sees would take time from training)
        self.plots.views_changed.connect(
            lambda: runner.controller.set_views(self.plots.wanted_views()))
        runner.controller.set_views(self.plots.wanted_views())
        runner.finished.connect(lambda _reason: self.plots.redraw())
        runner.failure.connect(self._show_failure)
        runner.cleared.connect(self._on_cleared)
        runner.status.connect(lambda text, error: services.show_status(text, 8000)
                              if error else None)
        session.locked_changed.connect(self._on_locked)
        session.root_changed.connect(self._on_root_changed)
        # finished runs: faded curves labelled with what differed, the Runs menu
        runner.runs_changed.connect(self._show_runs)
        session.settings_changed.connect(self._on_settings_changed)
        session.program_changed.connect(self._on_settings_changed)
        self.plots.replay_requested.connect(runner.replay)
        self.plots.clear_runs_requested.connect(runner.clear_runs)
        self._show_runs()
        session.root_changed.connect(self._show_panel_if_trainable)
        # another example's run (a lesson's compare:<example>), faded on the Loss plot
        comparison = session.comparison
        comparison.arrived.connect(self._show_comparison)
        comparison.cleared.connect(self.plots.loss.clear_comparison)
        comparison.failed.connect(lambda text: services.show_status(text, 10000))

    def _on_root_changed(self, _document: object) -> None:
        """Another graph: its plots start empty and hidden until its first run (the runner
        forgot the old runs)."""
        self.plots.clear()
        self.plots.set_context(None, ())
        dock = self.plots.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None:
            dock.hide()

    # -- finished runs ------------------------------------------------------------------------
    def current_facts(self) -> tuple[Mapping[str, str] | None, str]:
        """What the old runs are compared with: the live or last run (its facts and the
        digest of its initial weights), or, when its curves were reset, the settings as they
        are now (initial weights unknown yet)."""
        s = self.session
        run = s.runner.run
        if run is not None:
            return run.facts, run.digest
        program = s.compiled
        if program is None or s.runner.running:
            return None, ""
        try:
            return run_facts(program, s.data, s.run_config(reinit=True),
                             param_groups(program)), ""
        except (EngineError, ValueError, KeyError, IndexError):
            return None, ""

    def _show_runs(self) -> None:
        runner = self.session.runner
        current, digest = self.current_facts()
        old = [(r, r.label(current, digest)) for r in runner.runs]
        replayable = [(r.number, "this run" if r is runner.run else r.describe(current, digest))
                      for r in runner.replayable()]
        self.plots.set_runs(old, replayable, live=runner.running)

    def _on_settings_changed(self) -> None:
        """With no current run, the old runs are compared with the settings: relabel."""
        if self.session.runner.run is None and len(self.session.runner.runs):
            self._show_runs()

    def _show_comparison(self, run: ExampleRun) -> None:
        loss = self.plots.loss
        loss.set_comparison(run.example, run.step, run.epoch_pos, run.batch_loss)
        loss.set_log_y(True)  # losses of two kinds can lie orders of magnitude apart
        self.services.show_plot_tab("Loss")
        self.services.show_status(f"Compared with {run.describe()}", 10000)

    def _show_panel_if_trainable(self, doc: Any) -> None:
        """A graph with a loss can train: its Training panel comes to the front (the Palette is a
        tab away); an empty or loss-less graph shows the Palette."""
        can_train = any(n.op in LOSSES for n in doc.model.nodes.values())
        self.services.show_dock("training" if can_train else "palette")

    def _on_locked(self, locked: bool) -> None:
        if not locked:
            self.plots.stop()
            return
        runner = self.session.runner
        program = self.session.compiled
        if runner.split is not None and program is not None:
            names = list(program.param_arrays())
            self.plots.set_context(runner.split.dataset, names, split=runner.split,
                                   groups=runner.run.groups if runner.run is not None
                                   else param_groups(program))
        self.services.show_dock("plots")
        self.plots.start()
        self._clear_failure()

    def _show_failure(self, message: str, node: str) -> None:
        """Select the node that produced the bad value, centre on it, and say what to try."""
        self.services.show_status(message, 15000)
        self.services.show_dock("training")
        scene, doc = self.session.scene, self.session.document
        if not node or scene is None or doc is None:
            return
        top = node.split("/")[0]
        found = next((n for n in doc.model.nodes.values() if n.name == top), None)
        item = scene.nodes.get(found.id) if found is not None else None
        if item is None:
            return
        self.services.select_nodes([item.node_id], centre=True)
        item.set_failed(message)

    def _on_cleared(self) -> None:
        """Reset: no old curves, no failure mark, no old failure message."""
        self.plots.clear()
        self._clear_failure()
        self.services.show_status("", 1)

    def _clear_failure(self) -> None:
        scene = self.session.scene
        if scene is None:
            return
        for item in scene.nodes.values():
            item.set_failed(None)
