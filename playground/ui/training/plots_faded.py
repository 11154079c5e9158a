"""The finished runs a history plot draws faded behind the live run (compare runs): their
curves, made once from each run's thinned record, and their legend entries (which run, what
differed from the live one). A run joining them, or a label that changed, touches only what is
new: the others keep their items (re-making them all cost tens of milliseconds a plot at every
start of a run)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from .plots_base import SideLegend, old_run_colour, per_step_curve

if TYPE_CHECKING:
    from .runs import RunRecord


class FadedRuns:
    """Mixed into a history plot (which has ``plot``, ``legend`` and ``_update_empty``); it
    calls ``_init_faded`` in its constructor and overrides ``_old_series`` / ``_old_label``."""

    plot: pg.PlotItem
    legend: SideLegend

    def _init_faded(self) -> None:
        # finished runs drawn faded behind the live one: (record, legend label), their items
        self.old_runs: list[tuple[RunRecord, str]] = []
        self._old_items: dict[int, list[pg.PlotDataItem]] = {}
        self._old_made: dict[int, Any] = {}  # the curves each run's items were made from

    def _update_empty(self) -> None:  # pragma: no cover - the plot's own
        raise NotImplementedError

    def set_old_runs(self, runs: list[tuple[RunRecord, str]]) -> None:
        """Finished runs to draw faded behind the live one, each with its legend label (what
        differed from the live run). Their curves are made here, once; a setting that changes
        how they are drawn (smoothing, x axis) redraws them."""
        self.old_runs = [(r, label) for r, label in runs if r.curves is not None]
        self._draw_old_runs(keep=True)
        vb = self.plot.getViewBox()
        vb.reset_sticky()  # fit what is drawn now (a cleared old run's length goes too)
        vb.updateAutoRange()
        self._update_empty()

    def _old_series(self, record: RunRecord) -> list[tuple[np.ndarray, np.ndarray]]:
        """The curves of a finished run this plot shows (default: none)."""
        return []

    def _old_label(self, record: RunRecord, label: str) -> str:
        """A finished run's legend entry: which run and what differed, and what its faded
        curve is when the plot's own legend does not say (default: the label as it is)."""
        return label

    def _draw_old_runs(self, keep: bool = False) -> None:
        """Make the finished runs' faded curves and legend entries. ``keep``: the runs already
        drawn from the same curves keep their items (a new run joining the old ones, or a
        label that changed, makes only what is new: a start of a run otherwise rebuilt every
        old run's curves in each plot, tens of milliseconds before the first step)."""
        wanted = [record.number for record, _label in self.old_runs]
        kept = [n for n in self._old_items if n in wanted]
        reusable = keep and kept == wanted[: len(kept)] and all(
            self._old_made.get(n) is record.curves
            for record, _label in self.old_runs if (n := record.number) in kept)
        if not reusable:
            kept = []
        for number in [n for n in self._old_items if n not in kept]:
            for item in self._old_items.pop(number):
                self.plot.removeItem(item)  # also leaves the legend
            self._old_made.pop(number, None)
        relabelled = False
        for record, label in self.old_runs:
            text = self._old_label(record, label)
            if record.number in kept:
                items = self._old_items[record.number]
                entry = self.legend.getLabel(items[0])
                if entry is not None and entry.text != text:
                    entry.setText(text)
                    relabelled = True
                continue
            pen = pg.mkPen(old_run_colour(record.number), width=1)
            items = []
            for x, y in self._old_series(record):
                # made empty in the plot, then fed: an item clipped to a view it is not in yet
                # trips pyqtgraph
                item = self.plot.plot(pen=pen, connect="finite")
                per_step_curve(item)
                item.setData(x, y)
                item.setZValue(-1)  # behind the live curves
                # it does not change while the live run's curves are redrawn over it: kept as
                # pixels, not stroked again at every redraw (until the axes move)
                item.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                items.append(item)
            if items:
                self.legend.addItem(items[0], text)
                self._old_items[record.number] = items
                self._old_made[record.number] = record.curves
        if relabelled:
            self.legend.updateSize()  # (places it too)
        else:
            self.legend.place()

    def _old_entries_last(self) -> None:
        """Move the finished runs' legend entries after all others (curves made since for the
        live run were added after them), in their order; their curves stay as they are."""
        for record, label in self.old_runs:
            items = self._old_items.get(record.number)
            if not items:
                continue
            entry = self.legend.getLabel(items[0])
            text = entry.text if entry is not None else self._old_label(record, label)
            self.legend.removeItem(items[0])
            self.legend.addItem(items[0], text)
        self.legend.place()

    def _on_legend_sample_clicked(self, item: Any) -> None:
        """A finished run's legend entry shows or hides all of its curves."""
        for items in self._old_items.values():
            if items and items[0] is item:
                for other in items[1:]:
                    other.setVisible(item.isVisible())
