"""The live plots drawn from the metrics history: loss, accuracy, gradient norm and
update/weight ratio per parameter. Curves are created once and fed with ``setData``;
``refresh(history)`` does nothing while the history's version has not moved. Axes keep their
range until the data leaves it (:class:`StickyViewBox`) and draw grid lines for major ticks only
(:class:`MajorGridAxis`), so that a redraw repaints little more than the curves.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGraphicsItem,
    QLabel,
    QRadioButton,
    QStackedWidget,
    QWidget,
)

from .history import MetricsHistory, window_mean
from .history_csv import accuracy_columns, loss_columns, step_columns, write_columns
from .plots_axes import MajorGridAxis, StickyViewBox, positive  # noqa: F401
from .plots_base import (
    LABEL_STYLE,
    PlotPanel,
    SideLegend,
    TimedPlotWidget,
    add_side_legend,
    color,
    per_step_curve,
    style_plot,
)
from .plots_faded import FadedRuns
from .plots_markers import ChangeMarkers

if TYPE_CHECKING:
    from .runs import RunRecord

SMOOTH_PEN = "#262626"  # near black: apart from the blue and orange epoch curves
SMOOTH_POINTS = 1500  # the smoothed loss is drawn through at most about this many points
EPOCH_SYMBOLS_MAX = 60  # more epoch points than this: lines only (markers would merge)
COMPARE_PEN = (142, 68, 173, 120)  # faded purple: another run, drawn behind this one
SMOOTHING = (("off", 1), ("10 steps", 10), ("50 steps", 50), ("200 steps", 200))


def epoch_positions(history: MetricsHistory) -> np.ndarray:
    """Each step as a fractional epoch: step k of an epoch of N steps sits at epoch - 1 + k/N,
    so the last step of epoch e sits at e, where the epoch-end points are drawn."""
    return history.epoch_pos.view()


class _HistoryPlot(FadedRuns, PlotPanel):
    """A PlotWidget fed from the history; subclasses implement ``_draw(history)``."""

    source = "history"
    legend: SideLegend  # made by the subclass (``_side_legend``), where its entries belong
    train_curve: pg.PlotDataItem  # per-epoch curves, where the subclass has them (_epoch_curves)
    val_curve: pg.PlotDataItem

    def __init__(self, title: str, xlabel: str, ylabel: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_graphics(TimedPlotWidget(
            viewBox=StickyViewBox(),
            axisItems={"left": MajorGridAxis("left"),
                       "bottom": MajorGridAxis("bottom", integer=True)}))
        self.graphics.setMinimumSize(240, 180)
        self.plot: pg.PlotItem = self.graphics.getPlotItem()
        style_plot(self.plot, title, xlabel, ylabel)
        for name in ("left", "bottom"):  # repaints of unchanged axes (and grid) become blits
            self.plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.history: MetricsHistory | None = None
        self._drawn: tuple[Any, ...] | None = None
        self._epoch_shown: tuple[np.ndarray, ...] | None = None  # what the epoch curves show
        self._init_faded()
        self._show_axes(False)

    def _side_legend(self) -> SideLegend:
        legend = add_side_legend(self.plot)
        legend.sigSampleClicked.connect(self._on_legend_sample_clicked)
        legend.set_shown(not self.empty)
        return legend

    # -- empty: a hint instead of axes ---------------------------------------------------------
    def _show_axes(self, shown: bool) -> None:
        plot = getattr(self, "plot", None)
        if plot is None:
            return
        for name in ("left", "bottom"):  # the grid is drawn by the axes: it goes with them
            plot.showAxis(name, shown)
        legend = getattr(self, "legend", None)
        if legend is not None:
            legend.set_shown(shown)

    def _update_empty(self) -> None:
        h = self.history
        self.set_empty((h is None or len(h) == 0) and not self._old_items
                       and not self._other_curves())

    def _other_curves(self) -> bool:
        """Whether something besides the live run and the finished runs is drawn."""
        return False

    def _epoch_curves(self, train: str, val: str) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        """The train (circles) and validation (squares) curves of per-epoch values."""
        return tuple(
            self.plot.plot(pen=pg.mkPen(color(k), width=2), symbol=symbol, symbolSize=6,
                           symbolBrush=color(k), symbolPen=None, name=name, connect="finite")
            for k, (symbol, name) in enumerate((("o", train), ("s", val))))

    def _set_epoch_curves(self, x: np.ndarray, train: np.ndarray, val: np.ndarray) -> None:
        """Feed the train and validation curves of per-epoch values, markers on their points
        while there are few of them (lines only past that), when they changed: most live
        redraws come between two epoch ends, and re-feeding the marked curves would cost a
        fifth of a loss plot's redraw."""
        if self._epoch_shown is not None and all(
                a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
                for a, b in zip((x, train, val), self._epoch_shown, strict=True)):
            return
        self._epoch_shown = (x.copy(), train.copy(), val.copy())  # the history's may grow
        for curve, y, symbol in ((self.train_curve, train, "o"), (self.val_curve, val, "s")):
            want = symbol if x.shape[0] <= EPOCH_SYMBOLS_MAX else None
            if curve.opts["symbol"] != want:
                curve.setSymbol(want)
            curve.setData(x, y)

    def add_smoothing(self, default: int) -> QComboBox:
        """A "smooth" choice in the toolbar: draw the mean over N logged steps around each."""
        self.add_tool(QLabel("smooth:"))
        combo = QComboBox()
        for text, rows in SMOOTHING:
            combo.addItem(text, rows)
        combo.setCurrentIndex(max(0, combo.findData(default)))
        combo.setToolTip("Draw the mean over N logged steps around each step, so trends show "
                         "through the noise of single minibatches (long runs keep older steps "
                         "thinned, so there a point stands for several steps)")
        combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.smooth = self.add_tool(combo)
        return combo

    @property
    def smooth_rows(self) -> int:
        combo = getattr(self, "smooth", None)
        return int(combo.currentData()) if combo is not None else 1

    def _key(self, history: MetricsHistory) -> tuple[Any, ...]:
        # the column objects change on clear(), so a cleared and refilled history redraws
        return id(history), id(history.step), history.version, len(history)

    def refresh(self, history: MetricsHistory | None = None) -> bool:
        """Redraw from ``history`` (or the last one); False, doing nothing, when unchanged."""
        history = history if history is not None else self.history
        if history is None:
            return False
        self.history = history
        key = self._key(history)
        if key == self._drawn:
            return False
        self._drawn = key
        self._draw(history)
        self._update_empty()
        if not len(history):  # nothing to see (the hint shows): not counted as a redraw
            return False
        self.redraws += 1
        return True

    def redraw(self) -> None:
        """Redraw now (a setting changed): the live curves and the finished runs'."""
        self._drawn = self._epoch_shown = None
        self.plot.getViewBox().reset_sticky()
        if self._old_items:
            self._draw_old_runs()
        self.refresh()

    def _draw(self, history: MetricsHistory) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def csv_columns(self, h: MetricsHistory) -> list[tuple[str, np.ndarray]]:
        """The per-step columns ``export_csv`` writes (besides step and epoch)."""
        return []

    def export_csv(self, path: Path) -> None:
        """The numbers behind the plot, one row per logged step, from the history: the raw
        values, and the smoothed ones too while smoothing is on (blank = no value)."""
        h = self.history if self.history is not None else MetricsHistory()
        write_columns(path, step_columns(h, self.csv_columns(h)))

    def clear(self) -> None:
        """Forget the live run's curves (the finished runs stay) and the range they had: the
        axes fit what is drawn next, as if new."""
        self._drawn = self._epoch_shown = None
        self.history = None
        old = {id(item) for items in self._old_items.values() for item in items}
        for item in self.plot.listDataItems():
            if id(item) not in old:
                item.setData([], [])
        vb = self.plot.getViewBox()
        vb.reset_sticky()
        vb.enableAutoRange()  # a zoom or pan of the old run's curves is not kept either
        self._update_empty()


class LossPlot(_HistoryPlot):
    """Batch loss per step (thin, light), epoch train and validation loss (markers at the
    epoch ends), dashed lines where the learning rate changed; step/epoch x axis, log-y."""

    export_name = "loss"
    hint_text = "Train to see the loss fall"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Loss", "step", "loss", parent)
        self.add_tool(QLabel("x axis:"))
        self.by_step = self.add_tool(QRadioButton("step"))
        self.by_epoch = self.add_tool(QRadioButton("epoch"))
        self.by_step.setChecked(True)
        self._x_group = QButtonGroup(self)
        self._x_group.addButton(self.by_step)
        self._x_group.addButton(self.by_epoch)
        self.by_epoch.toggled.connect(self._on_x_axis_toggled)
        self.log_y = self.add_tool(QCheckBox("log y"))
        self.log_y.setToolTip("Logarithmic loss axis")
        self.log_y.toggled.connect(self.set_log_y)
        self.add_smoothing(10)
        self.legend = self._side_legend()
        self.batch_curve = self.plot.plot(pen=pg.mkPen(160, 175, 200, width=1), name="batch loss",
                                          connect="finite")
        per_step_curve(self.batch_curve)
        # the smoothed batch loss, over the raw one; in the legend only while smoothing is on
        # 1 px: a wider pen is stroked by a much slower path (2.3x the whole redraw here)
        self.smooth_curve = self.plot.plot(pen=pg.mkPen(SMOOTH_PEN, width=1), connect="finite")
        per_step_curve(self.smooth_curve)
        self.train_curve, self.val_curve = self._epoch_curves("train loss (epoch)",
                                                              "validation loss (epoch)")
        self.markers = ChangeMarkers(self.plot)  # where the lr or other settings changed
        self.compare_curve: pg.PlotDataItem | None = None  # another run (set_comparison)
        self._comparison: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def lr_lines(self) -> list[pg.InfiniteLine]:
        """The change markers' lines, oldest change first."""
        return self.markers.lines

    @property
    def x_mode(self) -> str:
        return "epoch" if self.by_epoch.isChecked() else "step"

    def set_x_mode(self, mode: str) -> None:
        (self.by_epoch if mode == "epoch" else self.by_step).setChecked(True)

    def _on_x_axis_toggled(self, _checked: bool) -> None:
        self.plot.setLabel("bottom", self.x_mode, **LABEL_STYLE)
        self.redraw()
        self.plot.enableAutoRange()

    def set_log_y(self, on: bool) -> None:
        if self.log_y.isChecked() != on:
            self.log_y.setChecked(on)  # emits toggled → back here once
            return
        self.plot.getViewBox().reset_sticky()
        self.plot.setLogMode(x=False, y=on)
        self.plot.setLabel("left", "loss (log scale)" if on else "loss", **LABEL_STYLE)
        self.plot.enableAutoRange()

    def _draw(self, h: MetricsHistory) -> None:
        steps = h.step.view()
        by_epoch = self.x_mode == "epoch"
        x = epoch_positions(h) if by_epoch else steps
        self.batch_curve.setData(x, h.batch_loss.view())
        k = self.smooth_rows
        if k > 1:
            smooth = window_mean(h.batch_loss.view(), k)
            # a smooth curve loses nothing drawn through every few points
            every = max(1, min(k // 2, len(smooth) // SMOOTH_POINTS))
            keep = slice(None, None, every)
            xs, ys = x[keep], smooth[keep]
            if every > 1 and len(smooth) and (len(smooth) - 1) % every:
                xs, ys = np.append(xs, x[-1]), np.append(ys, smooth[-1])  # end on the last step
            self.smooth_curve.setData(xs, ys)
        else:
            self.smooth_curve.setData([], [])
        self._legend_smoothing(k)
        ex = h.epoch_index.view() if by_epoch else h.epoch_step.view()
        self._set_epoch_curves(ex, h.train_loss.view(), h.val_loss.view())
        self.markers.draw(h.changes(), steps, x)
        self._draw_comparison()

    def _old_series(self, record: RunRecord) -> list[tuple[np.ndarray, np.ndarray]]:
        """A finished run's batch loss, smoothed as the live one is (its points already stand
        for ``stride`` steps each)."""
        c = record.curves
        if c is None:
            return []
        x = c.epoch_pos if self.x_mode == "epoch" else c.steps
        k = self.smooth_rows // max(c.stride, 1)
        return [(x, window_mean(c.batch_loss, k) if k > 1 else c.batch_loss)]

    def export_csv(self, path: Path) -> None:
        """One row per logged step and per epoch end (older steps may be thinned, epoch ends
        never): step, epoch, lr, batch loss (and its smoothed mean while smoothing is on), and
        the epoch's train and validation loss on its last step."""
        h = self.history if self.history is not None else MetricsHistory()
        write_columns(path, loss_columns(h, self.smooth_rows))

    def _legend_smoothing(self, k: int) -> None:
        label = f"batch loss, mean over {k} steps"
        shown = self.legend.getLabel(self.smooth_curve)
        if k > 1 and shown is None:
            self.legend.addItem(self.smooth_curve, label)
        elif k > 1 and shown is not None and shown.text != label:
            shown.setText(label)
        elif k <= 1 and shown is not None:
            self.legend.removeItem(self.smooth_curve)

    # -- another run to compare with (a lesson's compare:<example>) ---------------------------
    def set_comparison(self, name: str, steps: np.ndarray, epoch_pos: np.ndarray,
                       loss: np.ndarray) -> None:
        """Draw another run's per-step loss, faded, behind this run's curves and named in the
        legend; it follows the x axis (step or epoch) and stays until ``clear_comparison``."""
        self.clear_comparison()
        self._comparison = (np.asarray(steps, dtype=float), np.asarray(epoch_pos, dtype=float),
                            np.asarray(loss, dtype=float))
        curve = self.compare_curve = self.plot.plot(pen=pg.mkPen(COMPARE_PEN, width=1),
                                                    connect="finite")
        curve.setZValue(-10)
        per_step_curve(curve)
        self.legend.addItem(curve, f"{name} (compared)")
        self._draw_comparison()
        self._update_empty()

    def _other_curves(self) -> bool:
        return self.compare_curve is not None

    def clear_comparison(self) -> None:
        curve, self.compare_curve, self._comparison = self.compare_curve, None, None
        if curve is not None:
            self.legend.removeItem(curve)
            self.plot.removeItem(curve)
            self._update_empty()

    def _draw_comparison(self) -> None:
        if self.compare_curve is not None and self._comparison is not None:
            steps, epoch_pos, loss = self._comparison
            self.compare_curve.setData(epoch_pos if self.x_mode == "epoch" else steps, loss)

    def clear(self) -> None:
        self.clear_comparison()
        super().clear()
        self.markers.clear()


class AccuracyPlot(_HistoryPlot):
    """Train and validation accuracy per epoch, in percent; a message for regression."""

    export_name = "accuracy"
    hint_text = "Train to see the accuracy (measured at the end of every epoch)"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Accuracy", "epoch", "accuracy (%)", parent)
        self.legend = self._side_legend()
        self.train_curve, self.val_curve = self._epoch_curves("train accuracy",
                                                              "validation accuracy")
        self.plot.setLimits(yMin=-5, yMax=105)
        self.message = QLabel("No accuracy for regression: see the loss.")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet("color: #707070; font-size: 12pt;")
        self.stack = QStackedWidget()
        self.body.removeWidget(self.graphics)
        self.stack.addWidget(self.graphics)
        self.stack.addWidget(self.message)
        self.body.addWidget(self.stack, 1)
        self.task = "classification"

    def set_task(self, task: str) -> None:
        self.task = task
        regression = task == "regression"
        self.stack.setCurrentWidget(self.message if regression else self.graphics)
        self.export_button.setEnabled(not regression)

    def _old_label(self, record: RunRecord, label: str) -> str:
        c = record.curves
        part = "validation" if c is None or np.isfinite(c.val_accuracy).any() else "training"
        return f"{label} ({part})"

    def _old_series(self, record: RunRecord) -> list[tuple[np.ndarray, np.ndarray]]:
        """A finished run's validation accuracy (its training accuracy when it had no
        validation part)."""
        c = record.curves
        if c is None:
            return []
        acc = c.val_accuracy if np.isfinite(c.val_accuracy).any() else c.train_accuracy
        return [(c.epoch_index, 100.0 * acc)]

    def _draw(self, h: MetricsHistory) -> None:
        ex = h.epoch_index.view()
        self._set_epoch_curves(ex, 100.0 * h.train_accuracy.view(), 100.0 * h.val_accuracy.view())

    def export_csv(self, path: Path) -> None:
        """One row per epoch: epoch, its last step, train and validation accuracy (%)."""
        h = self.history if self.history is not None else MetricsHistory()
        write_columns(path, accuracy_columns(h))


