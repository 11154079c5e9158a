"""Per-parameter history plots: the gradient norm and the update/weight ratio of every parameter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QWidget,
)

from .history import MetricsHistory, window_mean
from .plots_base import (
    add_legend,
    color,
)
from .plots_history import _HistoryPlot, positive


class _PerParamPlot(_HistoryPlot):
    """One log-y curve per parameter node (distinct colours); a legend click hides/shows one."""

    column = ""  # "grad_norms" or "update_ratios"

    def __init__(self, title: str, ylabel: str, parent: QWidget | None = None) -> None:
        super().__init__(title, "step", ylabel, parent)
        self.plot.setLogMode(x=False, y=True)
        self.add_smoothing(10)
        self.legend = add_legend(self.plot)
        self.legend.sigSampleClicked.connect(self._on_legend_clicked)
        self.curves: dict[str, pg.PlotDataItem] = {}

    def set_params(self, names: Sequence[str]) -> None:
        """Create the curves in this order, so colours stay the same for a graph."""
        for name in names:
            self._curve(name)

    def _curve(self, name: str) -> pg.PlotDataItem:
        curve = self.curves.get(name)
        if curve is None:
            k = len(self.curves)
            # 1 px: wider pens make Qt stroke each noisy curve several times slower
            curve = self.plot.plot(pen=pg.mkPen(color(k), width=1), name=name, connect="finite")
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self.curves[name] = curve
            n = len(self.curves)  # a short dock fits ~4 rows of legend
            self.legend.setColumnCount(1 if n <= 4 else 2 if n <= 10 else 3)
        return curve

    def _on_legend_clicked(self, _item: Any) -> None:
        self.plot.getViewBox().reset_sticky()  # fit the curves still shown
        self.plot.getViewBox().updateAutoRange()

    def _draw(self, h: MetricsHistory) -> None:
        steps = h.step.view()
        k = self.smooth_rows
        for name, col in getattr(h, self.column).items():
            values = positive(col.view())
            if k > 1:  # the geometric mean: the middle of the noise on a log axis
                values = window_mean(values, k, log=True)
            self._curve(name).setData(steps[: len(values)], values)

    def csv_columns(self, h: MetricsHistory) -> list[tuple[str, np.ndarray]]:
        columns = getattr(h, self.column)
        out = [(name, col.view()) for name, col in columns.items()]
        k = self.smooth_rows
        if k > 1:
            out += [(f"{name}_geomean_{k}", window_mean(positive(col.view()), k, log=True))
                    for name, col in columns.items()]
        return out

    def clear(self) -> None:
        super().clear()
        for curve in self.curves.values():
            self.plot.removeItem(curve)  # also leaves the legend
        self.curves.clear()


class GradNormPlot(_PerParamPlot):
    """L2 norm of the loss gradient for each parameter node, per step (log-y)."""

    column = "grad_norms"
    export_name = "gradient_norms"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Gradient norm per parameter (click a legend entry to hide it)",
                         "gradient L2 norm ‖∂L/∂w‖", parent)


class UpdateRatioPlot(_PerParamPlot):
    """‖Δw‖ / ‖w‖ per parameter node and step (log-y), with the 1e-3 rule of thumb."""

    column = "update_ratios"
    export_name = "update_ratios"
    REFERENCE = 1e-3

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Update / weight ratio per parameter", "update ratio ‖Δw‖ / ‖w‖", parent)
        # the view's y coordinate is log10(y) on a log axis
        self.reference = pg.InfiniteLine(
            pos=np.log10(self.REFERENCE), angle=0, movable=False,
            pen=pg.mkPen("#555555", width=1.2, style=Qt.PenStyle.DashLine),
            label="1e-3 rule of thumb",
            labelOpts={"position": 0.08, "color": "#444444", "anchors": [(0, 1), (0, 1)]})
        self.plot.addItem(self.reference)
