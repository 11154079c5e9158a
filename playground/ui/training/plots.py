"""Live training plots (pyqtgraph), redrawn from a :class:`MetricsHistory` on a timer.

Every curve is created once and fed with ``setData``. ``refresh(history)`` on a curve plot
returns at once when the history's version has not moved since the last draw, and
:class:`TrainingPlots` redraws only the visible tab, at most 25 Hz, never once per step.
The views drawn from the history (loss, accuracy, gradient norms, update ratios) live in
:mod:`.plots_history`, those drawn from snapshots (boundary, confusion matrix, samples,
weights) in :mod:`.plots_views`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QMenu, QTabWidget, QToolButton, QVBoxLayout, QWidget

from ...training.datasets import Dataset, Split
from .history import MetricsHistory, ViewSnapshot
from .layers import ParamGroup
from .live_data import plane_points
from .plots_base import PlotPanel, configure_pyqtgraph, ensure_configured
from .plots_history import AccuracyPlot, LossPlot, _HistoryPlot, epoch_positions
from .plots_params import GradNormPlot, UpdateRatioPlot
from .plots_samples import SampleGridPlot, WeightHistogramPlot
from .plots_views import BoundaryPlot, ConfusionPlot
from .runs import RunRecord
from .stepgate import STEP_GATE
from .worker import every_step

REDRAW_INTERVAL_MS = 40  # 25 Hz at most
REDRAW_BUDGET = 0.016  # the share of the time the live plots may keep the GUI thread busy
# in slow motion (EVERY_STEP_RATE steps a second or fewer) the training thread sleeps between
# its steps and needs the interpreter lock rarely: the plots may take much more, so that they
# show every step
SLOW_REDRAW_BUDGET = 0.5
REDRAW_MAX_MS = 1000  # but redraw at least once a second


class TrainingPlots(QWidget):
    """All live views in tabs. Call ``set_context`` when the dataset/graph changes, feed the
    history (``history.append``) and ``on_snapshot`` from the worker's signals, and ``start()``
    the redraw timer; only the visible tab is redrawn, and only when something changed.

    The timer's interval adapts: the GUI thread holds the GIL the training thread needs while it
    updates and paints a plot (PySide keeps it through Qt's painting), so the plots redraw at
    most as often as keeps that work under ``REDRAW_BUDGET`` of the time: up to 25 Hz for cheap
    views, down to once a second for expensive ones on a slow machine. In slow motion (``rate``
    says the run's steps a second) the budget is ``SLOW_REDRAW_BUDGET``: every step is drawn."""

    views_changed = Signal()  # what is on screen changed: see wanted_views()
    replay_requested = Signal(int)  # the run number to replay (Runs ▾ menu)
    clear_runs_requested = Signal()  # "Clear old runs"

    TAB_NAMES = ("Loss", "Accuracy", "Gradients", "Updates", "Boundary", "Confusion", "Samples",
                 "Weights")

    def __init__(self, history: MetricsHistory | None = None, parent: QWidget | None = None,
                 interval_ms: int = REDRAW_INTERVAL_MS) -> None:
        super().__init__(parent)
        ensure_configured()
        self.history = history if history is not None else MetricsHistory()
        self.snapshot: ViewSnapshot | None = None
        self.dataset: Dataset | None = None
        self.loss = LossPlot()
        self.accuracy = AccuracyPlot()
        self.grad_norms = GradNormPlot()
        self.update_ratios = UpdateRatioPlot()
        self.boundary = BoundaryPlot()
        self.confusion = ConfusionPlot()
        self.samples = SampleGridPlot(rows=2, cols=12)  # wide and short, like the dock
        self.weights = WeightHistogramPlot()
        self.plots: dict[str, PlotPanel] = dict(zip(self.TAB_NAMES, (
            self.loss, self.accuracy, self.grad_norms, self.update_ratios, self.boundary,
            self.confusion, self.samples, self.weights), strict=True))
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for name, plot in self.plots.items():
            self.tabs.addTab(plot, name)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._build_runs_tools()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.interval_ms = interval_ms
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timer)
        self._pace: tuple[float, float] | None = None  # (wall, plots' CPU time) at the last tick
        # the run's speed in steps a second (None: as fast as possible); the window sets it
        self.rate: Callable[[], float | None] = lambda: None
        self._live = False  # between start() and stop()
        self.old_runs: list[tuple[RunRecord, str]] = []
        self.set_context(None, ())

    # -- finished runs: faded curves, replay ----------------------------------------------------
    RUN_PLOTS = ("Loss", "Accuracy", "Gradients", "Updates")  # the plots that draw finished runs

    def _build_runs_tools(self) -> None:
        """"Runs ▾" (replay a run) and "Clear old runs", at the right end of the tab row."""
        corner = QWidget(self)
        row = QHBoxLayout(corner)
        row.setContentsMargins(4, 0, 4, 0)
        row.setSpacing(2)
        self.runs_button = QToolButton(corner)
        self.runs_button.setText("Runs")
        self.runs_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.runs_button.setAutoRaise(True)
        self.runs_button.setToolTip(
            "Replay a run: train again from exactly its initial weights and data order, with "
            "the settings as they are now, to compare a change fairly")
        self.runs_menu = QMenu(self.runs_button)
        self.runs_button.setMenu(self.runs_menu)
        self.clear_runs_button = QToolButton(corner)
        self.clear_runs_button.setText("Clear old runs")
        self.clear_runs_button.setAutoRaise(True)
        self.clear_runs_button.setToolTip("Remove the faded curves of finished runs from the "
                                          "Loss, Accuracy and Gradients plots")
        self.clear_runs_button.clicked.connect(self.clear_runs_requested)
        row.addWidget(self.runs_button)
        row.addWidget(self.clear_runs_button)
        self.tabs.setCornerWidget(corner)
        self._runs_key: tuple[Any, ...] | None = None
        self.set_runs([], [], live=False)

    def set_runs(self, old: list[tuple[RunRecord, str]], replayable: list[tuple[int, str]],
                 live: bool) -> None:
        """The finished runs drawn faded (each with its legend label: what differed from the
        live run) and the runs the Runs menu offers to replay ((number, text); none while
        ``live``)."""
        key = tuple((r.number, id(r.curves), label) for r, label in old)
        if key != self._runs_key:  # (the menu is rebuilt anyway: live or not changes it)
            self._runs_key = key
            self.old_runs = list(old)
            for name in self.RUN_PLOTS:
                plot = self.plots[name]
                if isinstance(plot, _HistoryPlot):
                    plot.set_old_runs(self.old_runs)
        self.clear_runs_button.setEnabled(bool(self.old_runs))
        self.runs_menu.clear()
        self.replay_actions: list[QAction] = []
        if not replayable:
            empty = self.runs_menu.addAction("No finished run to replay yet")
            empty.setEnabled(False)
        for number, text in replayable:
            # a replay starts from that run's initial weights and data order, with the settings
            # the panel has now: the menu says both, so the change compared is clear
            action = self.runs_menu.addAction(
                f"Replay run {number}'s start ({text}) with the current settings")
            action.setEnabled(not live)
            action.setToolTip("" if not live else "Stop the live run first")
            action.triggered.connect(lambda _checked=False, n=number: self.replay_requested.emit(n))
            self.replay_actions.append(action)
        if live and replayable:
            self.runs_menu.addSeparator()
            note = self.runs_menu.addAction("Stop the live run to replay one")
            note.setEnabled(False)
        self.runs_menu.addSeparator()
        clear = self.runs_menu.addAction("Clear old runs")
        clear.setEnabled(bool(self.old_runs))
        clear.triggered.connect(self.clear_runs_requested)
        self.runs_button.setEnabled(True)

    # -- feeding ------------------------------------------------------------------------------
    def set_history(self, history: MetricsHistory) -> None:
        self.history = history
        self.redraw()

    def set_context(self, dataset: Dataset | None, param_names: Sequence[str] = (),
                    split: Split | None = None, groups: Sequence[ParamGroup] = ()) -> None:
        """Show the tabs that fit ``dataset``: Accuracy and Confusion for classification,
        Boundary for 2-D classification, Samples for image data. ``split`` gives the boundary
        view its (standardised) training points; ``groups`` the graph's layers
        (:func:`.layers.param_groups`) the gradient and update plots draw one curve each for."""
        self.dataset = dataset
        self.param_names = tuple(param_names)
        self.groups = tuple(groups)
        for plot in (self.grad_norms, self.update_ratios):
            plot.set_groups(self.groups)
        classification = dataset is not None and dataset.task == "classification"
        two_d = classification and dataset.n_features == 2  # type: ignore[union-attr]
        images = classification and dataset.image_shape is not None  # type: ignore[union-attr]
        classes = dataset.classes if dataset is not None else ()
        self.accuracy.set_task(dataset.task if dataset is not None else "classification")
        self.grad_norms.set_params(param_names)
        self.update_ratios.set_params(param_names)
        self.weights.set_params(param_names)
        self.confusion.set_context(classes)
        self.samples.set_context(classes, dataset.image_shape if dataset is not None else None)
        if two_d:
            self.boundary.set_context(classes, dataset.feature_names)  # type: ignore[union-attr]
            plane = plane_points(split) if split is not None else None
            if split is not None and plane is not None:
                # the plane the boundary is drawn over: raw x1, x2 under derived features
                self.boundary.set_data(plane[0], split.y_train)
        why = {
            "Accuracy": (dataset is None or classification, "Accuracy needs a classification dataset"),
            "Boundary": (two_d, "The decision boundary needs a 2-D classification dataset"),
            "Confusion": (classification, "The confusion matrix needs a classification dataset"),
            "Samples": (images, "Sample images need an image dataset (digits)"),
        }
        current = self.tabs.currentIndex()
        for i, name in enumerate(self.TAB_NAMES):
            enabled, reason = why.get(name, (True, ""))
            self.tabs.setTabEnabled(i, enabled)
            self.tabs.setTabToolTip(i, "" if enabled else reason)
        if not self.tabs.isTabEnabled(current):
            self.tabs.setCurrentIndex(0)  # back to the loss, not the next tab along

    def show_tab(self, name: str) -> str:
        """Show the tab ``name``: '' when shown, else why it cannot be."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == name:
                if not self.tabs.isTabEnabled(i):
                    return self.tabs.tabToolTip(i) or f"The {name} tab is not available yet"
                self.tabs.setCurrentIndex(i)
                return ""
        return f"There is no {name} plot"

    def on_metrics(self) -> None:
        """New records are in the history: in slow motion the visible plot draws them now, so
        every step is drawn whatever the timer's pace (at full speed the timer paces it)."""
        if every_step(self.rate()) and self._live:
            self.redraw()

    def on_snapshot(self, snapshot: ViewSnapshot) -> None:
        """Keep the latest snapshot; the timer draws it on the visible tab."""
        self.snapshot = snapshot

    # -- drawing ------------------------------------------------------------------------------
    VIEW_OF_TAB: ClassVar[dict[str, str]] = {"Boundary": "boundary", "Confusion": "confusion", "Samples": "samples"}

    def wanted_views(self) -> frozenset[str]:
        """What the periodic snapshots must carry for what is on screen now (worker ``VIEWS``)."""
        if not self.isVisible():
            return frozenset()
        view = self.VIEW_OF_TAB.get(self.TAB_NAMES[self.tabs.currentIndex()])
        return frozenset() if view is None else frozenset({view})

    def current_plot(self) -> PlotPanel:
        return self.tabs.currentWidget()  # type: ignore[return-value]

    def redraw(self) -> bool:
        """Redraw the visible tab if its data changed; True when something was drawn."""
        if not self.isVisible():
            return False
        plot = self.current_plot()
        source = self.history if getattr(plot, "source", "") == "history" else self.snapshot
        t0 = time.thread_time()
        with STEP_GATE.held():  # the training thread waits at a step boundary meanwhile
            drew = bool(plot.refresh(source))  # type: ignore[attr-defined]
            if drew:
                # fit the view boxes to the new data now, as the paint would: the axes they move
                # are then drawn by that one paint (fitted during it, they asked for a second)
                plot.graphics.scene().prepareForPaint()
        plot.redraw_seconds += time.thread_time() - t0
        return drew

    def plots_seconds(self) -> float:
        """GUI-thread CPU time spent so far updating and painting the plots."""
        return sum(p.redraw_seconds + p.graphics.paint_seconds for p in self.plots.values())

    def _on_timer(self) -> None:
        now, spent = time.perf_counter(), self.plots_seconds()
        if self._pace is not None and now > self._pace[0]:
            share = (spent - self._pace[1]) / (now - self._pace[0])
            # lengthen at once, shorten gently (at most halve the interval per tick)
            budget = SLOW_REDRAW_BUDGET if every_step(self.rate()) else REDRAW_BUDGET
            interval = round(self.timer.interval() * max(share / budget, 0.5))
            self.timer.setInterval(min(REDRAW_MAX_MS, max(self.interval_ms, interval)))
        self._pace = (now, spent)
        self.redraw()

    def _on_tab_changed(self, _index: int) -> None:
        self.redraw()
        self.views_changed.emit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._live and not self.timer.isActive():
            self._pace = None
            self.timer.start()
        self.redraw()
        self.views_changed.emit()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.timer.stop()  # nothing to draw: no wake-ups (each would take the GIL from training)
        self.views_changed.emit()

    def start(self) -> None:
        """Redraw on the timer (while shown) until ``stop``."""
        self._live = True
        self._pace = None
        for plot in self.plots.values():
            if isinstance(plot, _HistoryPlot):
                plot.plot.getViewBox().reset_sticky(live=True)
        self.timer.setInterval(self.interval_ms)
        if self.isVisible():
            self.timer.start()

    def stop(self) -> None:
        """Stop the timer after one last redraw, so the final records show, fitted tightly
        (no more room kept for the steps to come)."""
        self._live = False
        self.timer.stop()
        for plot in self.plots.values():
            if isinstance(plot, _HistoryPlot):
                plot.plot.getViewBox().reset_sticky(live=False)
                plot._drawn = None
        self.redraw()

    def clear(self) -> None:
        """Forget the drawn run (the history itself is cleared by its owner)."""
        self.snapshot = None
        for plot in self.plots.values():
            plot.clear()  # type: ignore[attr-defined]
        self.grad_norms.set_params(self.param_names)
        self.update_ratios.set_params(self.param_names)


__all__ = [
    "AccuracyPlot", "BoundaryPlot", "ConfusionPlot", "GradNormPlot", "LossPlot", "PlotPanel",
    "SampleGridPlot", "TrainingPlots", "UpdateRatioPlot", "WeightHistogramPlot",
    "configure_pyqtgraph", "epoch_positions",
]
