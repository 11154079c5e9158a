"""Axes and view boxes for the live history plots: grid lines on major ticks only, readable log
ticks, and a view box whose range follows the live data until the user zooms (and forgets that
zoom on Reset)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg


class MajorGridAxis(pg.AxisItem):
    """An axis whose grid lines follow the major ticks only (minor ticks keep their labels).
    pyqtgraph draws a grid line per tick of every level, alpha-blended: on a log axis that is
    nine lines a decade, and replaying them made each repaint of a live plot three times
    slower."""

    def __init__(self, orientation: str, integer: bool = False, **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self.integer = integer  # counts (steps, epochs): no tick between two whole numbers

    # The scene asks an axis for its bounding rectangle dozens of times a repaint, and
    # pyqtgraph builds it anew each time from three new Qt rectangles: each new Qt value made in
    # Python hands the interpreter lock to a training thread waiting for it. Kept until the
    # axis's geometry (a style change resizes it) or its view's changes.
    def boundingRect(self) -> Any:
        bounds = getattr(self, "_bounds_kept", None)
        if bounds is None:
            bounds = self._bounds_kept = super().boundingRect()
        return bounds

    def _forget_bounds(self, *_: Any) -> None:
        self._bounds_kept = None

    def _resetCachedProperties(self) -> None:  # (on geometryChanged)
        super()._resetCachedProperties()
        self._bounds_kept = None

    def prepareGeometryChange(self) -> None:  # (grid, tick font, text size)
        self._bounds_kept = None
        super().prepareGeometryChange()

    def _linkToView_internal(self, view: Any) -> None:
        self._bounds_kept = None
        super()._linkToView_internal(view)
        # with a grid the bounds take in the view's rectangle
        view.geometryChanged.connect(self._forget_bounds)

    def unlinkFromView(self) -> None:
        old = self.linkedView()
        if old is not None:
            old.geometryChanged.disconnect(self._forget_bounds)
        self._bounds_kept = None
        super().unlinkFromView()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> Any:
        levels = super().tickValues(minVal, maxVal, size)
        if not self.integer or self.logMode:
            return levels
        whole = [(spacing, values) for spacing, values in levels if spacing >= 1]
        if whole:
            return whole
        lo, hi = math.ceil(minVal), math.floor(maxVal)  # a range of a few steps: each one
        return [(1.0, [float(v) for v in range(lo, hi + 1)])] if 0 <= hi - lo < 50 else levels

    def generateDrawSpecs(self, p: Any) -> Any:
        specs = super().generateDrawSpecs(p)
        if specs is None or self.grid is False:
            return specs
        axis_spec, tick_specs, text_specs = specs
        if tick_specs:  # level 0 is drawn with the highest alpha, every finer level with less
            top = max(pen.color().alpha() for pen, _, _ in tick_specs)
            tick_specs = [spec for spec in tick_specs if spec[0].color().alpha() >= top]
        return axis_spec, tick_specs, text_specs

    # minor ticks labelled on a log axis, by the room a decade has (pixels): the closest pair
    # of each set must stay a line of text apart (8 and 9 are 0.05 decade apart, 1 and 2 0.3)
    LOG_MINOR = ((400.0, (2, 3, 4, 5, 6, 7, 8, 9)), (110.0, (2, 3, 5)), (60.0, (2, 5)),
                 (40.0, (3,)))

    def logTickValues(self, minVal: float, maxVal: float, size: float, stdTicks: Any) -> Any:
        """Decades as the major ticks; as many minor ticks (2, 3, 5...) as fit without their
        labels running into each other (pyqtgraph labels all nine per decade, whatever the
        room, and a short log axis became a smear of overlapping numbers)."""
        if not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal:
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        per_decade = size / (maxVal - minVal)
        lo, hi = math.floor(minVal), math.ceil(maxVal)
        step = max(1, math.ceil(12.0 / max(per_decade, 1e-9)))  # a decade label needs ~12 px
        decades = [float(v) for v in range(lo, hi + 1) if minVal <= v <= maxVal and v % step == 0]
        factors = next((f for room, f in self.LOG_MINOR if per_decade >= room), ())
        minor = [v + math.log10(f) for v in range(lo, hi) for f in factors]
        minor = [v for v in minor if minVal < v < maxVal]
        if len(decades) + len(minor) < 2:  # a narrow range: evenly spaced in log10
            return stdTicks
        return [(float(step), decades), (None, minor)]

    def logTickStrings(self, values: Any, scale: float, spacing: float) -> list[str]:
        """pyqtgraph's (1 significant digit, powers of ten as 10⁻⁵), but a tick between the
        1-2-5 values (a narrow range) keeps the digits that tell it from its neighbours."""
        out = list(super().logTickStrings(values, scale, spacing))
        for k, v in enumerate(values):
            x = 10.0 ** float(v) * scale
            if x > 0 and abs(float(f"{x:.1g}") - x) > 0.01 * x:
                out[k] = f"{x:.3g}"
        return out


class StickyViewBox(pg.ViewBox):
    """Auto-range with hysteresis: the range only changes when the data leaves it or fills
    less than 1/``SLACK`` of it, and x grows with headroom. A live plot whose range (and so
    whose axes) changed on every redraw repainted everything each time."""

    SLACK = 1.6
    HEADROOM = 0.25  # of the data's x span, to the right

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sticky: list[list[float] | None] = [None, None]
        self.live = True  # keep headroom for new steps

    def boundingRect(self) -> Any:
        """Kept until the geometry changes (see MajorGridAxis.boundingRect)."""
        bounds = getattr(self, "_bounds_kept", None)
        if bounds is None:
            bounds = self._bounds_kept = super().boundingRect()
        return bounds

    def _resetCachedProperties(self) -> None:  # (on geometryChanged)
        super()._resetCachedProperties()
        self._bounds_kept = None

    def reset_sticky(self, live: bool | None = None) -> None:
        """Forget the kept range; ``live`` False fits the data tightly (a finished run), True
        keeps room for the steps to come again."""
        self._sticky = [None, None]
        if live is not None:
            self.live = live

    def childrenBounds(self, frac: Any = None, orthoRange: Any = (None, None), items: Any = None) -> Any:
        bounds = super().childrenBounds(frac=frac, orthoRange=orthoRange, items=items)
        if items is not None:
            return bounds
        out = list(bounds)
        for ax in (0, 1):
            b = bounds[ax]
            if b is None or not (math.isfinite(b[0]) and math.isfinite(b[1])):
                continue
            lo, hi = float(b[0]), float(b[1])
            span = hi - lo
            if span <= 0:
                continue
            kept = self._sticky[ax]
            if kept is not None and kept[0] <= lo and hi <= kept[1] and kept[1] - kept[0] <= self.SLACK * span:
                out[ax] = list(kept)
                continue
            new = [lo, hi + self.HEADROOM * span] if ax == 0 and self.live else [lo, hi]
            self._sticky[ax] = new
            out[ax] = list(new)
        return out


def positive(values: np.ndarray) -> np.ndarray:
    """Values a log axis can show: NaN for zero, negative, infinite or missing."""
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)
