"""The loss plot's change markers: a labelled dashed line at each step where the learning rate
or another training setting changed (``lr → 0.01, sgd → adam``), from
:meth:`MetricsHistory.changes`. Labels of changes close together stack one below the other."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

MARKER_PEN = "#7a3b9a"
# where a change marker's label sits along its line (of the view's height, from the bottom);
# a change within MARKER_NEAR of the plot's width after the last one takes the next level down
MARKER_LEVELS = (0.93, 0.78, 0.63, 0.48)
MARKER_NEAR = 0.3


class ChangeMarkers:
    """The marker lines of one plot, created once each and moved or relabelled in place."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.lines: list[pg.InfiniteLine] = []
        self._steps: list[int] = []

    def draw(self, changes: list[tuple[int, str]], steps: np.ndarray, x: np.ndarray) -> None:
        """``changes`` as (first step under the new settings, text); ``steps`` and ``x`` the
        drawn per-step rows and their x positions (step or epoch axis)."""
        while len(self.lines) > len(changes):
            self.plot.removeItem(self.lines.pop())
            self._steps.pop()
        span = float(x[-1] - x[0]) if len(x) > 1 else 0.0
        level, last_pos = 0, -math.inf
        for k, (step, text) in enumerate(changes):
            i = int(np.searchsorted(steps, step))
            pos = float(x[i]) if i < len(x) and steps[i] == step else float(step)
            # labels of changes close together go one below the other instead of over
            level = (level + 1) % len(MARKER_LEVELS) if pos - last_pos < MARKER_NEAR * span else 0
            last_pos = pos
            if k == len(self.lines):
                line = pg.InfiniteLine(
                    pos=pos, angle=90, movable=False,
                    pen=pg.mkPen(MARKER_PEN, width=1.2, style=Qt.PenStyle.DashLine),
                    # the label beside the line on the side facing the middle of the view,
                    # so it stays inside it however near the edge the change is
                    label=text,
                    labelOpts={"position": MARKER_LEVELS[level], "color": MARKER_PEN,
                               "anchors": [(0, 0.5), (1, 0.5)],
                               "fill": pg.mkBrush(255, 255, 255, 200)})
                self.plot.addItem(line, ignoreBounds=True)
                self.lines.append(line)
                self._steps.append(step)
            else:
                line = self.lines[k]
                if (line.value() != pos or self._steps[k] != step or line.label.format != text
                        or line.label.orthoPos != MARKER_LEVELS[level]):
                    line.setValue(pos)
                    line.label.setFormat(text)
                    line.label.setPosition(MARKER_LEVELS[level])
                    self._steps[k] = step

    def clear(self) -> None:
        while self.lines:
            self.plot.removeItem(self.lines.pop())
        self._steps.clear()


__all__ = ["MARKER_LEVELS", "MARKER_PEN", "ChangeMarkers"]
