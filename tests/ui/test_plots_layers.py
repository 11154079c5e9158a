"""Gradient and update plots a student can read: one curve per layer (grouped from the compiled
program), smoothed, a healthy band that real healthy and vanishing networks fall inside and
outside of, a line explaining it, the per-tensor view one click away, log axes whose labels do
not overlap. Histories come from real training runs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter

from playground.graph import GraphModel, compile_graph, load
from playground.graph.builders import build_mlp
from playground.graph.health import EXPLODING, VANISHING
from playground.training import TrainConfig, Trainer
from playground.training.datasets import Split, load_dataset, split
from playground.ui.training.history import MetricsHistory, window_mean
from playground.ui.training.layers import group_norms, param_groups
from playground.ui.training.plots_params import (
    BAND_ABOVE_START,
    BAND_BELOW_STRONGEST,
    GRAD_NOTE,
    GRAD_SHORT,
    GradNormPlot,
    UpdateRatioPlot,
)
from tests.conftest import EXAMPLES
from tests.ui.helpers import settled


@dataclass
class Trained:
    program: object
    split: Split
    history: MetricsHistory
    records: list

    @property
    def groups(self):
        return param_groups(self.program)


def _train(program, ds, **config) -> Trained:
    sp = split(ds, val_fraction=0.3, seed=0)
    records = list(Trainer(program, sp, TrainConfig(**config)).steps())
    h = MetricsHistory()
    h.append(records)
    return Trained(program, sp, h, records)


@pytest.fixture(scope="module")
def moons_ds():
    return load_dataset("moons", n_samples=300, seed=0)


@pytest.fixture(scope="module")
def healthy(moons_ds) -> Trained:
    """The moons example as it ships (tanh, adam)."""
    program = compile_graph(load(EXAMPLES / "moons_mlp.json"))
    return _train(program, moons_ds, epochs=15, batch_size=32, lr=0.01, optimizer="adam")


@pytest.fixture(scope="module")
def vanishing(moons_ds) -> Trained:
    """Six sigmoid layers of 8 units (the Layer Stack's default init): the classic case."""
    after, _ = build_mlp(GraphModel(), 2, [8] * 6, "sigmoid", 2, "softmax_cross_entropy")
    program = compile_graph(GraphModel.from_dict(after))
    return _train(program, moons_ds, epochs=10, batch_size=32, lr=0.1, optimizer="sgd")


def shown(qtbot, widget, size=(1000, 420)):
    widget.resize(*size)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def data_of(curve) -> tuple[np.ndarray, np.ndarray]:
    x, y = curve.getOriginalDataset()
    if x is None:
        return np.zeros(0), np.zeros(0)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def gradient_plot(qtbot, run: Trained, size=(1000, 420)) -> GradNormPlot:
    plot = shown(qtbot, GradNormPlot(), size)
    plot.set_groups(run.groups)
    plot.set_params(list(run.program.param_arrays()))
    plot.refresh(run.history)
    settled(qtbot, plot)
    return plot


# ---------------------------------------------------------------- layers from the program

def test_layers_are_read_from_the_program_dense_or_primitive():
    moons = compile_graph(load(EXAMPLES / "moons_mlp.json"))
    assert [(g.label, g.params, g.weight) for g in param_groups(moons)] == [
        ("layer 1 (z1)", ("W1", "b1"), "W1"), ("layer 2 (z2)", ("W2", "b2"), "W2"),
        ("layer 3 (z3)", ("W3", "b3"), "W3")]
    # the same layer from primitive gates: matmul, then the bias added after it
    m = GraphModel()
    x = m.add_node("input", "X", {"shape": [None, 2]}, (0, 0))
    w = m.add_node("parameter", "W", {"shape": [2, 3], "init": "glorot_uniform"}, (0, 0))
    b = m.add_node("parameter", "b", {"shape": [3], "init": "zeros"}, (0, 0))
    mm = m.add_node("matmul", "mm", {}, (0, 0))
    z = m.add_node("add", "z", {}, (0, 0))
    out = m.add_node("sum", "s", {}, (0, 0))
    m.connect(x.id, mm.id, "a")
    m.connect(w.id, mm.id, "b")
    m.connect(mm.id, z.id, "a")
    m.connect(b.id, z.id, "b")
    m.connect(z.id, out.id, "x")
    m.meta["output"] = out.id
    (layer,) = param_groups(compile_graph(m))
    assert (layer.label, layer.params, layer.weight) == ("layer 1 (z)", ("W", "b"), "W")
    # a graph with no trainable parameter has no layers
    assert param_groups(compile_graph(load(EXAMPLES / "sigmoid_neuron.json"))) == ()


def test_a_layers_norm_is_the_norm_of_all_its_gradients_as_one_vector(healthy):
    p = healthy.program
    sp = healthy.split
    p.forward({"X": sp.X_train[:32], "y": sp.y_train[:32]})
    p.backward()
    for g in healthy.groups:
        norms = {name: np.array([np.linalg.norm(p.grad(name))]) for name in g.params}
        whole = np.concatenate([np.ravel(p.grad(name)) for name in g.params])
        assert group_norms(norms, g)[0] == pytest.approx(np.linalg.norm(whole), rel=1e-12)


# ---------------------------------------------------------------- the gradient plot

def test_one_smoothed_curve_per_layer_by_default_and_tensors_one_click_away(qtbot, healthy):
    plot = gradient_plot(qtbot, healthy)
    labels = [g.label for g in healthy.groups]
    assert list(plot.curves) == labels
    assert [label.text for _, label in plot.legend.items] == labels
    assert plot.smooth_rows > 1  # smoothed by default
    steps = np.array([m.step for m in healthy.records], dtype=float)
    for g in healthy.groups:
        raw = np.sqrt(sum(np.array([m.grad_norms[n] for m in healthy.records]) ** 2
                          for n in g.params))
        x, y = data_of(plot.curves[g.label])
        np.testing.assert_array_equal(x, steps)
        np.testing.assert_allclose(y, window_mean(raw, plot.smooth_rows, log=True), rtol=1e-12)
    # one click on "per tensor": a curve per tensor, its own norm
    box = plot.per_tensor
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))
    names = list(healthy.program.param_arrays())
    assert box.isChecked() and list(plot.curves) == names
    assert [label.text for _, label in plot.legend.items] == names
    for name in names:
        raw = np.array([m.grad_norms[name] for m in healthy.records])
        np.testing.assert_allclose(data_of(plot.curves[name])[1],
                                   window_mean(raw, plot.smooth_rows, log=True), rtol=1e-12)
    assert not plot.band.isVisible()  # the band is about layers
    # ... and the title and the note say so, not "per layer" and "green band: healthy"
    assert "per tensor" in plot.plot.titleLabel.text
    assert "band" in plot.note.text() and "Green band" not in plot.note.text()
    assert "per tensor" in plot.note.text()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))
    assert list(plot.curves) == labels and plot.band.isVisible()
    assert "per layer" in plot.plot.titleLabel.text
    assert plot.note.text() in (GRAD_NOTE, GRAD_SHORT)


def test_the_band_follows_the_strongest_layer_within_the_health_checks_limits(qtbot, healthy):
    plot = gradient_plot(qtbot, healthy)
    drawn = {label: data_of(c)[1] for label, c in plot.curves.items()}
    strongest = np.max(np.vstack(list(drawn.values())), axis=0)
    x, lower, upper = plot.band_edges
    np.testing.assert_array_equal(x, healthy.history.step.view())
    np.testing.assert_allclose(lower, strongest / BAND_BELOW_STRONGEST, rtol=1e-12)
    start = math.exp(np.mean(np.log(strongest[:20])))
    np.testing.assert_allclose(upper, BAND_ABOVE_START * start, rtol=1e-12)
    assert VANISHING <= lower.min() and upper.max() <= EXPLODING
    # what is drawn: the band's edges in the log axis' units; its floor is in view
    bx, by = plot.band_low.getData()
    assert set(bx) <= set(x) and bx[0] == x[0] and bx[-1] == x[-1]
    np.testing.assert_allclose(10 ** by, np.interp(bx, x, lower), rtol=1e-9)
    bottom = plot.plot.getViewBox().viewRange()[1][0]
    assert bottom <= np.log10(lower.min())
    # the absolute limits of graph/health.py hold even for tiny or huge gradients
    steps = np.arange(1.0, 41.0)
    tiny = GradNormPlot.band_for(steps, {"a": np.full(40, 1e-9)})
    huge = GradNormPlot.band_for(steps, {"a": np.full(40, 1e5)})
    assert tiny[1].min() >= VANISHING and huge[2].max() <= EXPLODING


def test_a_healthy_network_stays_in_the_band_and_a_vanishing_one_leaves_it(qtbot, healthy,
                                                                           vanishing):
    def inside(run: Trained) -> dict[str, float]:
        plot = gradient_plot(qtbot, run)
        _x, lower, upper = plot.band_edges
        share = {}
        for label, curve in plot.curves.items():
            y = data_of(curve)[1]
            share[label] = float(np.mean((y >= lower) & (y <= upper)))
        return share

    assert all(s == 1.0 for s in inside(healthy).values())
    deep = inside(vanishing)
    first, last = deep[vanishing.groups[0].label], deep[vanishing.groups[-1].label]
    assert first == 0.0 and last == 1.0  # layer 1 sinks out of the band, the output layer not


def test_the_plot_says_what_vanishing_and_exploding_look_like(qtbot, healthy):
    plot = gradient_plot(qtbot, healthy, size=(1400, 420))
    text = plot.note.text().lower()
    assert "green band" in text and "vanishing" in text and "exploding" in text
    assert "early layers sink" in text and ("climb" in text or "spike" in text)
    tip = plot.note.toolTip()
    assert f"{BAND_BELOW_STRONGEST:.0f}×" in tip and f"{EXPLODING:g}" in tip
    plot.resize(520, 420)  # narrow: the short line, still one line
    qtbot.waitUntil(lambda: plot.note.text().lower() != text)
    short = plot.note.text().lower()
    assert "vanishing" in short and "exploding" in short
    assert plot.note.fontMetrics().horizontalAdvance(
        plot.note.plain(plot.note.text())) <= plot.note.contentsRect().width()


# ---------------------------------------------------------------- the update/weight ratio

def test_update_ratios_per_layer_follow_the_weight_matrix_with_the_band_in_view(qtbot, healthy):
    plot = shown(qtbot, UpdateRatioPlot(), size=(1400, 420))
    plot.set_groups(healthy.groups)
    plot.set_params(list(healthy.program.param_arrays()))
    plot.smooth.setCurrentIndex(plot.smooth.findData(1))
    plot.refresh(healthy.history)
    settled(qtbot, plot)
    assert list(plot.curves) == [g.label for g in healthy.groups]
    for g in healthy.groups:
        raw = np.array([m.update_ratios[g.weight] for m in healthy.records])
        np.testing.assert_array_equal(data_of(plot.curves[g.label])[1], raw)
    lo, hi = plot.plot.getViewBox().viewRange()[1]
    assert lo <= -4 and hi >= -2  # 1e-4..1e-2 always in view
    assert plot.band.isVisible()
    assert [10 ** v for v in plot.band_low.getData()[1]] == pytest.approx([1e-4, 1e-4])
    assert [10 ** v for v in plot.band_high.getData()[1]] == pytest.approx([1e-2, 1e-2])
    # a learning rate far too low: every ratio far under the band, which stays in view
    slow = _train(compile_graph(load(EXAMPLES / "moons_mlp.json")), load_dataset(
        "moons", n_samples=300, seed=0), epochs=2, batch_size=32, lr=1e-6, optimizer="sgd")
    plot.clear()
    plot.refresh(slow.history)
    settled(qtbot, plot)
    highest = max(np.nanmax(data_of(c)[1]) for c in plot.curves.values())
    assert highest < 1e-4
    lo, hi = plot.plot.getViewBox().viewRange()[1]
    assert lo <= np.log10(highest) and hi >= -2
    ticks = dict(plot.plot.getAxis("right")._tickLevels[0])
    assert "unstable" in ticks[-2.0] and "rule of thumb" in ticks[-3.0] and "slow" in ticks[-4.0]
    assert plot.plot.getAxis("right").isVisible()
    assert "1/1000" in plot.note.text() and "unstable" in plot.note.text()


# ---------------------------------------------------------------- log axes

def _label_rects(axis) -> list:
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [rect for rect, _flags, text in specs[2] if text]


@pytest.mark.parametrize("height", [200, 260, 420])
def test_log_axis_labels_never_overlap(qtbot, healthy, height):
    plot = gradient_plot(qtbot, healthy, size=(900, height))
    plot.per_tensor.setChecked(True)  # the widest spread of values
    settled(qtbot, plot)
    rects = _label_rects(plot.plot.getAxis("left"))
    assert len(rects) >= 2
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b), (a, b)
