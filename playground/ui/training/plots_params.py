"""Per-layer history plots: how strong each layer's gradient is, and how much each step changes its
weights, each with the band a healthy run stays in and one line saying how to read it.

Both show one curve per layer by default (W1 and b1 of the dense gate z1 are "layer 1 (z1)":
:mod:`.layers`), the per-tensor curves one click away ("per tensor").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QWidget

from ...graph.health import EXPLODING, VANISHING
from ..plotstyle import FOREGROUND, TITLE_SIZE
from .history import MetricsHistory, window_mean
from .layers import ParamGroup, group_columns, per_tensor_groups
from .plots_base import BAND_EDGE, HEALTHY_BRUSH, WARNING_BRUSH, color, per_step_curve
from .plots_history import _HistoryPlot, positive

if TYPE_CHECKING:
    from .runs import RunRecord

# -- the gradient plot's healthy band --------------------------------------------------------
# Measured on this app's examples and on deep MLPs built with the Layer Stack (moons and digits,
# tanh, ReLU and sigmoid, 2 to 11 dense layers): in networks that learn, every layer's gradient
# norm stays within about 30x of the strongest layer's (99th percentile 27x); in a 6-layer
# sigmoid network the first layer's is 1000-3000x below the last's, in an 11-layer one 10^5-10^6x
# (the vanishing gradients of Glorot & Bengio, 2010). So the band's lower edge is 100x below the
# strongest layer, at every step. Its upper edge is 10x the strongest layer's gradient at the
# start of the run: healthy runs stayed within 5x of it, learning rates that are too high made
# it jump 10-40x (the runs that then diverge). Both edges stay inside the health check's
# absolute limits (graph/health.py): never below VANISHING nor above EXPLODING.
BAND_BELOW_STRONGEST = 100.0
BAND_ABOVE_START = 10.0
START_ROWS = 20  # the start: the geometric mean of the first logged steps
BAND_POINTS = 400  # the band's edges are drawn through at most this many points
FAR = 40.0  # decades: the warning zones reach this far beyond the band's edges

GRAD_NOTE = ("<b>Healthy</b>: the layers stay inside the green band. <b>Vanishing</b>: early "
             "layers sink far below it. <b>Exploding</b>: curves climb or spike above it.")
GRAD_SHORT = "<b>Green band</b>: healthy · below it: vanishing · above: exploding"
GRAD_TIP = (
    "Each curve is the size (L2 norm) of one layer's gradient: how hard the loss pulls on its "
    "weights at each step, smoothed.\n\n"
    "Healthy: the layers' curves stay close together inside the green band, level or slowly "
    "falling as the loss falls.\n"
    f"Vanishing: the early layers' curves sink far below the later ones' (over "
    f"{BAND_BELOW_STRONGEST:.0f}× weaker than the strongest layer: under the band) — those "
    "layers barely learn. Saturated σ/tanh units or too many layers are the usual causes.\n"
    f"Exploding: curves climb or jump above the band (over {BAND_ABOVE_START:.0f}× the "
    f"strongest layer's gradient at the start; the health check flags norms over "
    f"{EXPLODING:g}) — lower the learning rate.\n\n"
    "Why these edges: in networks that learn, every layer's gradient stays within about 30× of "
    "the strongest layer's; in a deep sigmoid network the first layer's falls 1000× and more "
    "below the last's. Runs whose learning rate is too high jump 10–40× above their start.")
GRAD_TENSOR_NOTE = ("One curve per tensor (W1, b1, …). A bias's gradient is not comparable with "
                    "its weights', so the healthy band is drawn per layer only: untick "
                    "<b>per tensor</b> to see it.")
GRAD_TENSOR_SHORT = "Per tensor: no band (untick <b>per tensor</b> to see it)"
RATIO_NOTE = ("Rule of thumb: a step changes the weights by about <b>1/1000</b> of their size. "
              "<b>Above</b> the band: unstable, lower the lr. <b>Below</b>: learning slowly.")
RATIO_SHORT = "About <b>1e-3</b> is good · above the band: unstable · below: slow"
RATIO_TIP = (
    "Each curve is ‖Δw‖ / ‖w‖ for one layer's weight matrix: how much one step changes the "
    "weights, relative to their size (a bias starts at zero, so its own ratio starts "
    "infinite: see it with 'per tensor').\n\n"
    "About 1e-3 is a good pace (a rule of thumb from Stanford's CS231n): well above 1e-2 the "
    "weights jump around and training is unstable (lower the learning rate); well below 1e-4 "
    "they hardly move and learning is slow (raise it). Adam keeps the ratio near lr / |w|.")


class _PerParamPlot(_HistoryPlot):
    """One log-y curve per layer (or per tensor with "per tensor"), in distinct colours; a
    legend click hides/shows one. ``column`` names the history's per-tensor table; ``combine``
    says how a layer's curve is made from it (see :func:`.layers.group_columns`)."""

    column = ""  # "grad_norms" or "update_ratios"
    combine = "norm"
    note_text = ""
    note_short = ""
    note_tip = ""
    tensor_note: tuple[str, str] | None = None  # (text, short) per tensor, when it differs

    def __init__(self, title: str, ylabel: str, parent: QWidget | None = None) -> None:
        super().__init__(title, "step", ylabel, parent)
        self.title = title  # "... per layer": "per tensor" when that box is ticked
        self.plot.setLogMode(x=False, y=True)
        self.add_smoothing(10)
        self.per_tensor = self.add_tool(QCheckBox("per tensor"))
        self.per_tensor.setToolTip("One curve per parameter tensor (W1, b1, W2, ...) instead of "
                                   "one per layer")
        self.per_tensor.toggled.connect(self._on_mode_toggled)
        self.legend = self._side_legend()
        self.legend.sigSampleClicked.connect(self._on_legend_clicked)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.groups: tuple[ParamGroup, ...] = ()
        self.names: tuple[str, ...] = ()
        self.note = self.add_note(self.note_text, self.note_short, self.note_tip)
        self.graphics.setToolTip(self.note_tip)

    # -- what the curves are ------------------------------------------------------------------
    def set_params(self, names: Sequence[str]) -> None:
        """The parameter tensors, in the graph's order (colours stay the same for a graph);
        without layers (:meth:`set_groups`), each is its own group."""
        self.names = tuple(names)
        self._make_curves()

    def set_groups(self, groups: Sequence[ParamGroup]) -> None:
        """The graph's layers (:func:`.layers.param_groups`): one curve each by default."""
        self.groups = tuple(groups)
        self._make_curves()

    @property
    def by_layer(self) -> bool:
        return not self.per_tensor.isChecked()

    def shown_groups(self, names: Sequence[str] = ()) -> tuple[ParamGroup, ...]:
        """The curves drawn: the layers (and any tensor in ``names`` outside them), or every
        tensor."""
        known = list(dict.fromkeys([*self.names, *names]))
        if not self.by_layer or not self.groups:
            return per_tensor_groups(known)
        grouped = {p for g in self.groups for p in g.params}
        return self.groups + per_tensor_groups([n for n in known if n not in grouped])

    def _make_curves(self) -> None:
        """Curves for what is shown now, in order: made afresh when that changed (so the
        colours follow the graph's order and no curve of another graph's layer stays)."""
        labels = [g.label for g in self.shown_groups()]
        if list(self.curves)[: len(labels)] != labels or len(self.curves) > len(labels):
            self._remove_curves()
            for label in labels:
                self._curve(label)
            self._old_to_end()

    def _curve(self, name: str) -> pg.PlotDataItem:
        curve = self.curves.get(name)
        if curve is None:
            k = len(self.curves)
            # 1 px: wider pens make Qt stroke each noisy curve several times slower
            curve = self.plot.plot(pen=pg.mkPen(color(k), width=1), name=name, connect="finite")
            per_step_curve(curve)
            self.curves[name] = curve
        return curve

    def _remove_curves(self) -> None:
        for curve in self.curves.values():
            self.plot.removeItem(curve)  # also leaves the legend
        self.curves.clear()

    def _on_mode_toggled(self, _checked: bool) -> None:
        # the title and the note say what the curves are now
        mode = "per layer" if self.by_layer else "per tensor"
        self.plot.setTitle(self.title.replace("per layer", mode), color=FOREGROUND,
                           size=TITLE_SIZE)
        texts = (self.note_text, self.note_short)
        if not self.by_layer and self.tensor_note is not None:
            texts = self.tensor_note
        self.note.set_texts(*texts)
        self._remove_curves()
        self._make_curves()
        self._old_to_end()
        self.redraw()

    def _old_to_end(self) -> None:
        """Keep the finished runs' legend entries after the live curves' (their curves stay)."""
        if self._old_items:
            self._old_entries_last()

    def _on_legend_clicked(self, _item: Any) -> None:
        self.plot.getViewBox().reset_sticky()  # fit the curves still shown
        self.plot.getViewBox().updateAutoRange()

    # -- drawing ------------------------------------------------------------------------------
    def series(self, columns: dict[str, np.ndarray], groups: Sequence[ParamGroup],
               smooth: int) -> dict[str, np.ndarray]:
        """Each shown curve's values from per-tensor ``columns``, smoothed over ``smooth``
        rows (the geometric mean: the middle of the noise on a log axis)."""
        raw: dict[str, np.ndarray] = {}
        for g in groups:
            if g.params == (g.label,):  # a tensor by itself
                if g.label in columns:
                    raw[g.label] = columns[g.label]
            else:
                raw.update(group_columns(columns, [g], self.combine))
        out = {}
        for label, values in raw.items():
            values = positive(np.asarray(values, dtype=np.float64))
            out[label] = window_mean(values, smooth, log=True) if smooth > 1 else values
        return out

    def _draw(self, h: MetricsHistory) -> None:
        steps = h.step.view()
        columns = {name: col.view() for name, col in getattr(h, self.column).items()}
        groups = self.shown_groups(list(columns))
        drawn = self.series(columns, groups, self.smooth_rows)
        for g in groups:
            values = drawn.get(g.label)
            if values is not None:
                self._curve(g.label).setData(steps[: len(values)], values)
        self._draw_band(steps, drawn)

    def _draw_band(self, steps: np.ndarray, drawn: dict[str, np.ndarray]) -> None:
        """Subclasses draw their reference band."""

    def _old_label(self, record: RunRecord, label: str) -> str:
        return f"{label} (a line per {'layer' if self.by_layer else 'tensor'})"

    def _old_series(self, record: RunRecord) -> list[tuple[np.ndarray, np.ndarray]]:
        """A finished run's curves as shown now (its own layers), if it logged this column."""
        c = record.curves
        columns: Mapping[str, np.ndarray] = {
            "grad_norms": c.grad_norms, "update_ratios": c.update_ratios}.get(self.column, {}) \
            if c is not None else {}
        if c is None or not columns:
            return []
        groups: tuple[ParamGroup, ...] = record.groups if self.by_layer else ()
        grouped = {p for g in groups for p in g.params}
        groups = groups + per_tensor_groups([n for n in columns if n not in grouped])
        k = self.smooth_rows // max(c.stride, 1)
        drawn = self.series(dict(columns), groups, k)
        return [(c.steps[: len(v)], v) for v in drawn.values()]

    def csv_columns(self, h: MetricsHistory) -> list[tuple[str, np.ndarray]]:
        """Every tensor's raw values; each layer's too (per layer); the smoothed curves as
        drawn while smoothing is on."""
        columns = {name: col.view() for name, col in getattr(h, self.column).items()}
        out = [(name, values) for name, values in columns.items()]
        groups = self.shown_groups(list(columns))
        if self.by_layer and self.groups:
            out += [(label.replace(" ", "_"), values)
                    for label, values in self.series(columns, groups, 1).items()
                    if label not in columns]
        k = self.smooth_rows
        if k > 1:
            out += [(f"{label.replace(' ', '_')}_geomean_{k}", values)
                    for label, values in self.series(columns, groups, k).items()]
        return out

    def clear(self) -> None:
        super().clear()
        self._remove_curves()
        self._clear_band()

    def _clear_band(self) -> None:
        """Subclasses empty their band."""


def _edge(vb: pg.ViewBox, in_bounds: bool, drawn: bool = False) -> pg.PlotCurveItem:
    """A curve in the view's own (log10) coordinates: one edge of a band, ``drawn`` as a thin
    dashed green line (so the edge reads on a projector, where faint fills wash out)."""
    pen = pg.mkPen(BAND_EDGE, width=1, style=Qt.PenStyle.DashLine) if drawn else pg.mkPen(None)
    item = pg.PlotCurveItem(pen=pen)
    vb.addItem(item, ignoreBounds=not in_bounds)
    item.setZValue(-15)  # behind the curves
    return item


def _fill(vb: pg.ViewBox, a: pg.PlotCurveItem, b: pg.PlotCurveItem,
          brush: tuple[int, int, int, int]) -> pg.FillBetweenItem:
    fill = pg.FillBetweenItem(a, b, brush=pg.mkBrush(*brush), pen=pg.mkPen(None))
    vb.addItem(fill, ignoreBounds=True)
    fill.setZValue(-20)  # behind every curve and the grid
    return fill


class GradNormPlot(_PerParamPlot):
    """The L2 norm of the loss gradient per layer (or tensor), per step (log-y), with the band
    where it is healthy: see ``GRAD_TIP`` and the comment above ``BAND_BELOW_STRONGEST``."""

    column = "grad_norms"
    combine = "norm"
    export_name = "gradient_norms"
    hint_text = "Train to see how strongly the loss pulls on each layer"
    note_text = GRAD_NOTE
    note_short = GRAD_SHORT
    note_tip = GRAD_TIP
    tensor_note = (GRAD_TENSOR_NOTE, GRAD_TENSOR_SHORT)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Gradient size per layer", "gradient ‖∂L/∂w‖", parent)
        vb = self.plot.getViewBox()
        # the lower edge counts for the range, so the band's floor is always in view; the
        # warning zones reach far beyond the edges
        self.band_low = _edge(vb, in_bounds=True, drawn=True)
        self.band_high = _edge(vb, in_bounds=False, drawn=True)
        self.zone_bottom = _edge(vb, in_bounds=False)
        self.zone_top = _edge(vb, in_bounds=False)
        self.band = _fill(vb, self.band_low, self.band_high, HEALTHY_BRUSH)
        self.vanishing_zone = _fill(vb, self.zone_bottom, self.band_low, WARNING_BRUSH)
        self.exploding_zone = _fill(vb, self.band_high, self.zone_top, WARNING_BRUSH)
        self.band_edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @staticmethod
    def band_for(steps: np.ndarray, drawn: dict[str, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(x, lower, upper) of the healthy band in gradient-norm units, from the layers'
        curves as drawn; None when there is nothing to compare."""
        curves = [v for v in drawn.values() if v.size]
        if not curves:
            return None
        n = min(len(v) for v in curves)
        stack = np.vstack([v[:n] for v in curves])
        finite = np.isfinite(stack).any(axis=0)
        if not finite.any():
            return None
        with np.errstate(all="ignore"):
            strongest = np.nanmax(np.where(np.isfinite(stack), stack, np.nan), axis=0)
        x = steps[:n]
        rows = np.flatnonzero(finite)
        x, strongest = x[rows], strongest[rows]
        start = float(np.exp(np.mean(np.log(strongest[:START_ROWS]))))
        lower = np.clip(strongest / BAND_BELOW_STRONGEST, VANISHING, EXPLODING)
        upper = np.full(x.shape, min(max(BAND_ABOVE_START * start, VANISHING), EXPLODING))
        upper = np.maximum(upper, lower)
        return x, lower, upper

    def _draw_band(self, steps: np.ndarray, drawn: dict[str, np.ndarray]) -> None:
        band = self.band_for(steps, drawn) if self.by_layer else None
        self.band_edges = band
        for item in (self.band, self.vanishing_zone, self.exploding_zone):
            item.setVisible(band is not None)
        if band is None:
            self._clear_band()
            return
        x, lower, upper = band
        every = max(1, len(x) // BAND_POINTS)
        keep = np.unique(np.append(np.arange(0, len(x), every), len(x) - 1))
        x, lo, hi = x[keep], np.log10(lower[keep]), np.log10(upper[keep])
        self.band_low.setData(x, lo)
        self.band_high.setData(x, hi)
        self.zone_bottom.setData(x, lo - FAR)
        self.zone_top.setData(x, hi + FAR)

    def _clear_band(self) -> None:
        self.band_edges = None
        for item in (self.band_low, self.band_high, self.zone_bottom, self.zone_top):
            item.setData([], [])


class UpdateRatioPlot(_PerParamPlot):
    """‖Δw‖ / ‖w‖ per layer's weight matrix (or per tensor) and step (log-y), with the 1e-3
    rule of thumb: a dashed line, the green band 1e-4..1e-2 always in view, and what above and
    below mean written beside the plot (its right axis)."""

    column = "update_ratios"
    combine = "weight"
    export_name = "update_ratios"
    hint_text = "Train to see how much each step changes the weights"
    note_text = RATIO_NOTE
    note_short = RATIO_SHORT
    note_tip = RATIO_TIP
    REFERENCE = 1e-3
    BAND = (1e-4, 1e-2)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Update / weight ratio per layer", "update ratio ‖Δw‖ / ‖w‖", parent)
        # the view's y coordinate is log10(y) on a log axis
        self.reference = pg.InfiniteLine(
            pos=np.log10(self.REFERENCE), angle=0, movable=False,
            pen=pg.mkPen("#555555", width=1.2, style=Qt.PenStyle.DashLine))
        self.plot.addItem(self.reference)
        vb = self.plot.getViewBox()
        # both edges count for the range: the band is always in view, whatever the curves do
        self.band_low = _edge(vb, in_bounds=True, drawn=True)
        self.band_high = _edge(vb, in_bounds=True, drawn=True)
        self.band = _fill(vb, self.band_low, self.band_high, HEALTHY_BRUSH)
        right = self.plot.getAxis("right")
        right.setTicks([[(np.log10(self.BAND[1]), "unstable ↑"),
                         (np.log10(self.REFERENCE), "1e-3 rule of thumb"),
                         (np.log10(self.BAND[0]), "slow ↓")]])
        right.setStyle(tickLength=4)
        right.setTextPen(pg.mkPen("#2d6a2d"))
        right.setPen(pg.mkPen(None))

    def _show_axes(self, shown: bool) -> None:
        super()._show_axes(shown)
        plot = getattr(self, "plot", None)
        if plot is not None:
            plot.showAxis("right", shown)

    def _draw_band(self, steps: np.ndarray, drawn: dict[str, np.ndarray]) -> None:
        if not steps.size:
            self._clear_band()
            return
        x = np.array([steps[0], steps[-1]], dtype=np.float64)
        self.band_low.setData(x, np.log10([self.BAND[0]] * 2))
        self.band_high.setData(x, np.log10([self.BAND[1]] * 2))

    def _clear_band(self) -> None:
        for item in (self.band_low, self.band_high):
            item.setData([], [])
