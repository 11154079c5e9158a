"""Live training plots, fed from real training runs (moons and digits examples).

Histories are built from the Metrics records of actual runs; snapshots are built by hand from
the trained program (a forward pass over a grid, the validation set and a few sample images)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor

from playground.graph import compile_graph, load
from playground.training import TrainConfig, Trainer, bind, predict_classes, train
from playground.training.datasets import Dataset, Split, load_dataset, split
from playground.ui.training.history import MetricsHistory, ViewSnapshot, window_mean
from playground.ui.training.plots import (
    AccuracyPlot,
    BoundaryPlot,
    ConfusionPlot,
    GradNormPlot,
    LossPlot,
    SampleGridPlot,
    TrainingPlots,
    UpdateRatioPlot,
    WeightHistogramPlot,
    epoch_positions,
)
from playground.ui.training.plots_base import WRONG
from tests.conftest import EXAMPLES

LR_CHANGES = {20: 0.003, 40: 0.001}  # step → new lr, set on the trainer after that step


@dataclass
class Run:
    dataset: Dataset
    split: Split
    program: object
    records: list
    snapshot: ViewSnapshot
    grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # xs, ys, p(class 1)

    def history(self, upto: int | None = None) -> MetricsHistory:
        h = MetricsHistory()
        h.append(self.records[:upto])
        return h

    @property
    def param_names(self) -> list[str]:
        return list(self.program.param_arrays())


def _probs(program, X: np.ndarray) -> np.ndarray:
    program.forward({"X": X, "y": np.zeros(len(X))})
    return np.array(program.value("probs"))


def _snapshot(run_program, sp: Split, record, binding, **extra) -> ViewSnapshot:
    val_pred = predict_classes(_probs(run_program, sp.X_val), binding)
    return ViewSnapshot(record.step, record.epoch,
                        params={k: v.copy() for k, v in run_program.param_arrays().items()},
                        val_true=sp.y_val.copy(), val_pred=val_pred, **extra)


@pytest.fixture(scope="module")
def moons() -> Run:
    ds = load_dataset("moons", n_samples=200, seed=0)
    sp = split(ds, val_fraction=0.3, seed=0)
    program = compile_graph(load(EXAMPLES / "moons_mlp.json"))
    trainer = Trainer(program, sp, TrainConfig(epochs=6, batch_size=16, lr=0.01, optimizer="adam"))
    records = []
    for m in trainer.steps():
        records.append(m)
        if m.step in LR_CHANGES:
            trainer.lr = LR_CHANGES[m.step]
    xs = np.linspace(sp.X_train[:, 0].min() - 0.5, sp.X_train[:, 0].max() + 0.5, 50)
    ys = np.linspace(sp.X_train[:, 1].min() - 0.5, sp.X_train[:, 1].max() + 0.5, 30)
    gx, gy = np.meshgrid(xs, ys)
    p1 = _probs(program, np.column_stack([gx.ravel(), gy.ravel()]))[:, 1].reshape(gx.shape)
    snap = _snapshot(program, sp, records[-1], trainer.binding,
                     boundary=(xs, ys, (p1 > 0.5).astype(np.int64)))
    return Run(ds, sp, program, records, snap, (xs, ys, p1))


@pytest.fixture(scope="module")
def digits() -> Run:
    ds = load_dataset("digits")
    sp = split(ds, val_fraction=0.3, seed=0)
    program = compile_graph(load(EXAMPLES / "digits_mlp.json"))
    config = TrainConfig(epochs=2, batch_size=64, lr=0.01, optimizer="adam")
    records = list(train(program, sp, config))
    binding = bind(program, sp)
    k = 24
    pred = predict_classes(_probs(program, sp.X_val[:k]), binding)
    pred[[3, 10]] = (sp.y_val[[3, 10]] + 1) % 10  # two certainly wrong, besides the model's own
    snap = _snapshot(program, sp, records[-1], binding,
                     samples=ds.X[sp.val_index[:k]].reshape(k, 8, 8),
                     sample_true=sp.y_val[:k].copy(), sample_pred=pred)
    return Run(ds, sp, program, records, snap)


def shown(qtbot, widget, size=(900, 600)):
    widget.resize(*size)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def original(curve) -> tuple[np.ndarray, np.ndarray]:
    x, y = curve.getOriginalDataset()
    if x is None:  # an emptied curve
        return np.zeros(0), np.zeros(0)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


# ---------------------------------------------------------------- loss and accuracy

def test_loss_curves_receive_exactly_the_history_points(qtbot, moons):
    h = moons.history()
    plot = LossPlot()
    qtbot.addWidget(plot)
    assert plot.refresh(h)
    np.testing.assert_array_equal(original(plot.batch_curve)[0], [m.step for m in moons.records])
    np.testing.assert_array_equal(original(plot.batch_curve)[1], [m.batch_loss for m in moons.records])
    ends = [m for m in moons.records if m.epoch_end]
    assert len(ends) == 6
    for curve, field in ((plot.train_curve, "train_loss"), (plot.val_curve, "val_loss")):
        x, y = original(curve)
        np.testing.assert_array_equal(x, [m.step for m in ends])
        np.testing.assert_array_equal(y, [getattr(m, field) for m in ends])
    # the plotted (display) data is the same when nothing is down-sampled or log-mapped
    np.testing.assert_array_equal(plot.val_curve.getData()[1], [m.val_loss for m in ends])


def test_loss_epoch_axis_puts_epoch_ends_on_whole_epochs(qtbot, moons):
    h = moons.history()
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.refresh(h)
    plot.by_epoch.click()
    assert plot.x_mode == "epoch"
    assert plot.plot.getAxis("bottom").labelText == "epoch"
    x, _ = original(plot.batch_curve)
    assert np.all(np.diff(x) > 0) and x[0] > 0
    is_end = np.array([m.epoch_end for m in moons.records])
    np.testing.assert_allclose(x[is_end], np.arange(1, 7))
    np.testing.assert_array_equal(original(plot.train_curve)[0], np.arange(1, 7))
    np.testing.assert_allclose(epoch_positions(h), x)
    plot.by_step.click()
    np.testing.assert_array_equal(original(plot.batch_curve)[0], h.step.view())


def test_refresh_is_a_no_op_while_the_version_is_unchanged(qtbot, moons, monkeypatch):
    h = moons.history(upto=30)
    plot = LossPlot()
    qtbot.addWidget(plot)
    calls: list[str] = []
    for name in ("batch_curve", "train_curve", "val_curve"):
        curve = getattr(plot, name)
        real = curve.setData
        monkeypatch.setattr(curve, "setData",
                            lambda *a, _real=real, _n=name, **k: (calls.append(_n), _real(*a, **k))[1])
    assert plot.refresh(h) and len(calls) == 3
    assert not plot.refresh(h) and not plot.refresh(h)
    assert len(calls) == 3 and plot.redraws == 1
    assert not moons.records[30].epoch_end
    h.append(moons.records[30:31])
    # a step inside an epoch: the per-step curve is fed, the epoch curves did not change
    assert plot.refresh(h) and calls[3:] == ["batch_curve"] and plot.redraws == 2
    assert len(original(plot.batch_curve)[0]) == 31
    h.clear()  # a cleared and refilled history redraws although version and length repeat
    h.append(moons.records[:30])
    h.append(moons.records[30:31])
    assert h.version == 2 and len(h) == 31
    assert plot.refresh(h) and calls[4:] == ["batch_curve"]
    end = next(i for i, m in enumerate(moons.records) if i > 31 and m.epoch_end)
    h.append(moons.records[31:end + 1])  # an epoch ends: its points are added
    assert plot.refresh(h) and sorted(calls[5:]) == ["batch_curve", "train_curve", "val_curve"]
    assert len(original(plot.train_curve)[0]) == h.epoch_step.n
    plot.clear()  # a cleared plot feeds its epoch curves again
    n = len(calls)
    assert plot.refresh(h) and sorted(calls[n:]) == ["batch_curve", "train_curve", "val_curve"]


def test_window_mean_matches_a_plain_loop_and_skips_gaps():
    rng = np.random.default_rng(3)
    values = rng.lognormal(size=500)
    values[[0, 7, 8, 9, 200]] = np.nan
    values[[50, 51]] = [0.0, -1.0]
    for k in (2, 10, 64):
        for log in (False, True):
            got = window_mean(values, k, log=log)
            for i in range(len(values)):
                window = values[max(0, i - (k - 1) // 2): i + 1 + min(k // 2, i)]
                ok = window[np.isfinite(window) & ((window > 0) if log else True)]
                if ok.size == 0:
                    assert np.isnan(got[i])
                else:
                    want = math.exp(np.mean(np.log(ok))) if log else np.mean(ok)
                    assert got[i] == pytest.approx(want, rel=1e-9)
    np.testing.assert_array_equal(window_mean(values, 1), values)


def test_the_smoothed_loss_starts_at_the_first_loss_and_follows_a_steep_drop():
    losses = 2.0 * np.exp(-np.arange(400) / 20.0) + 0.1  # a run's quick first drop
    for log in (False, True):
        smooth = window_mean(losses, 50, log=log)
        assert smooth[0] == pytest.approx(losses[0])
        # over the first 25 rows the raw loss halves; the smoothed one must fall with it
        assert smooth[24] < 0.65 * smooth[0]
        assert np.all(np.diff(smooth[:40]) < 0)


def test_loss_smoothing_draws_the_mean_over_the_batches_and_names_it(qtbot, moons):
    h = moons.history()
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.refresh(h)
    labels = lambda: [label.text for _, label in plot.legend.items]  # noqa: E731
    assert plot.smooth_rows == 10 and "batch loss, mean over 10 steps" in labels()
    plot.smooth.setCurrentIndex(plot.smooth.findData(50))
    raw = np.array([m.batch_loss for m in moons.records])
    x, y = original(plot.smooth_curve)
    np.testing.assert_array_equal(x, h.step.view())
    assert len(y) > 50
    # centred: no lag behind the data
    np.testing.assert_allclose(y[30], raw[6:56].mean(), rtol=1e-12)
    np.testing.assert_allclose(y[5], raw[:11].mean(), rtol=1e-12)  # near the start: 0..2i
    np.testing.assert_allclose(y[0], raw[0], rtol=1e-12)
    assert "batch loss, mean over 50 steps" in labels()
    assert "batch loss, mean over 10 steps" not in labels()
    plot.smooth.setCurrentIndex(0)
    assert not any(t.startswith("batch loss, mean") for t in labels())
    assert original(plot.smooth_curve)[0].size == 0


def test_labels_of_changes_close_together_stack_instead_of_overlapping(qtbot, moons):
    h = MetricsHistory()
    h.append(moons.records[:42])
    h.mark_change("sgd → adam")  # from step 43: two steps after the lr change at 41
    h.append(moons.records[42:])
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.refresh(h)
    assert [line.value() for line in plot.lr_lines] == [21, 41, 43]
    assert [line.label.format for line in plot.lr_lines] == ["lr → 0.003", "lr → 0.001",
                                                               "sgd → adam"]
    levels = [line.label.orthoPos for line in plot.lr_lines]
    # 21 and 41 are far enough apart for their labels to share a height; 43 goes below 41's
    assert levels[0] == levels[1] and levels[2] < levels[1]


def test_lr_change_markers_sit_at_the_steps_where_the_lr_changed(qtbot, moons):
    h = moons.history()
    assert h.lr_changes == [(21, 0.003), (41, 0.001)]
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.refresh(h)
    assert [line.value() for line in plot.lr_lines] == [21, 41]
    assert [line.label.format for line in plot.lr_lines] == ["lr → 0.003", "lr → 0.001"]
    assert all(line.pen.style() == Qt.PenStyle.DashLine for line in plot.lr_lines)
    assert all(line in plot.plot.items for line in plot.lr_lines)
    plot.set_x_mode("epoch")
    x = epoch_positions(h)
    assert [line.value() for line in plot.lr_lines] == pytest.approx([x[20], x[40]])
    h2 = moons.history(upto=25)  # only the first change
    plot.refresh(h2)
    assert len(plot.lr_lines) == 1 and sum(isinstance(i, type(plot.lr_lines[0]))
                                           for i in plot.plot.items) == 1


def test_log_y_checkbox_toggles_the_log_axis(qtbot, moons):
    h = moons.history()
    plot = shown(qtbot, LossPlot())
    plot.refresh(h)
    plot.log_y.click()
    assert plot.plot.getAxis("left").logMode and plot.plot.ctrl.logYCheck.isChecked()
    np.testing.assert_allclose(plot.batch_curve.getData()[1], np.log10(h.batch_loss.view()))
    assert "log" in plot.plot.getAxis("left").labelText
    plot.log_y.click()
    assert not plot.plot.getAxis("left").logMode
    np.testing.assert_allclose(plot.batch_curve.getData()[1], h.batch_loss.view())


def test_accuracy_in_percent_and_a_message_for_regression(qtbot, moons):
    h = moons.history()
    plot = shown(qtbot, AccuracyPlot())
    plot.refresh(h)
    ends = [m for m in moons.records if m.epoch_end]
    np.testing.assert_array_equal(original(plot.train_curve)[0], [m.epoch for m in ends])
    np.testing.assert_allclose(original(plot.train_curve)[1], [100 * m.train_accuracy for m in ends])
    np.testing.assert_allclose(original(plot.val_curve)[1], [100 * m.val_accuracy for m in ends])
    assert not plot.message.isVisible()
    plot.set_task("regression")
    assert plot.message.isVisible() and "no accuracy for regression" in plot.message.text().lower()
    assert not plot.graphics.isVisible() and not plot.export_button.isEnabled()


# ---------------------------------------------------------------- per-parameter curves

def test_grad_norm_curves_one_per_parameter_with_distinct_colours(qtbot, moons):
    h = moons.history()
    plot = GradNormPlot()
    qtbot.addWidget(plot)
    plot.set_params(moons.param_names)
    plot.refresh(h)
    assert list(plot.curves) == moons.param_names == ["W1", "b1", "W2", "b2", "W3", "b3"]
    # smoothed by default: the geometric mean of the last 10 steps
    assert plot.smooth_rows == 10
    for name, curve in plot.curves.items():
        x, y = original(curve)
        raw = np.array([m.grad_norms[name] for m in moons.records])
        # a window of 10 centred on each step: 4 before it, itself, 5 after
        # (near the start, evenly on both sides: rows 0..2i)
        expected = [math.exp(np.mean(np.log(raw[max(0, i - 4): i + 1 + min(5, i)])))
                    for i in range(len(raw))]
        np.testing.assert_array_equal(x, h.step.view())
        np.testing.assert_allclose(y, expected, rtol=1e-12)
    plot.smooth.setCurrentIndex(plot.smooth.findData(1))  # off: every step as logged
    for name, curve in plot.curves.items():
        np.testing.assert_array_equal(original(curve)[1], [m.grad_norms[name] for m in moons.records])
    assert len({c.opts["pen"].color().name() for c in plot.curves.values()}) == 6
    assert plot.plot.getAxis("left").logMode
    assert [label.text for _, label in plot.legend.items] == moons.param_names


def test_clicking_a_legend_entry_hides_and_shows_its_curve(qtbot, moons):
    plot = shown(qtbot, GradNormPlot())
    plot.set_params(moons.param_names)
    plot.refresh(moons.history())
    sample = next(s for s, label in plot.legend.items if label.text == "W2")
    view = plot.graphics

    def click() -> None:
        p = view.mapFromScene(sample.mapToScene(sample.boundingRect().center()))
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(p.x(), p.y()))

    assert plot.curves["W2"].isVisible()
    click()
    assert not plot.curves["W2"].isVisible()
    assert all(c.isVisible() for n, c in plot.curves.items() if n != "W2")
    click()
    assert plot.curves["W2"].isVisible()


def test_update_ratios_on_log_axis_with_the_1e_3_reference(qtbot, moons):
    h = moons.history()
    plot = UpdateRatioPlot()
    qtbot.addWidget(plot)
    plot.smooth.setCurrentIndex(plot.smooth.findData(1))
    plot.refresh(h)
    assert plot.plot.getAxis("left").logMode
    assert plot.reference.angle == 0 and 10 ** plot.reference.value() == pytest.approx(1e-3)
    assert plot.reference.pen.style() == Qt.PenStyle.DashLine
    for name, curve in plot.curves.items():
        expected = np.array([m.update_ratios[name] for m in moons.records])
        expected[~(np.isfinite(expected) & (expected > 0))] = np.nan  # nothing a log axis can show
        np.testing.assert_array_equal(original(curve)[1], expected)
    # the biases start at zero, so their first ratio is infinite: a gap, not a broken axis
    assert math.isinf(moons.records[0].update_ratios["b1"])
    assert np.isnan(original(plot.curves["b1"])[1][0])
    assert np.isfinite(plot.plot.getViewBox().viewRange()[1]).all()


# ---------------------------------------------------------------- snapshot views

def test_boundary_image_has_the_grid_shape_and_covers_its_extents(qtbot, moons):
    plot = BoundaryPlot()
    qtbot.addWidget(plot)
    plot.set_context(moons.dataset.classes, moons.dataset.feature_names)
    plot.set_data(moons.split.X_train, moons.split.y_train)
    assert plot.refresh(moons.snapshot) and not plot.refresh(moons.snapshot)
    xs, ys, classes = moons.snapshot.boundary
    assert plot.image.image.shape[:2] == classes.shape == (len(ys), len(xs))
    rect = plot.image.mapRectToParent(plot.image.boundingRect())
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    assert rect.left() == pytest.approx(xs[0] - dx / 2) and rect.right() == pytest.approx(xs[-1] + dx / 2)
    assert rect.top() == pytest.approx(ys[0] - dy / 2) and rect.bottom() == pytest.approx(ys[-1] + dy / 2)
    # pixel (i, j) is drawn at (xs[j], ys[i]) in the colour of its class
    for i, j in ((0, 0), (len(ys) - 1, 3), (7, len(xs) - 1)):
        centre = plot.image.mapToParent(QPointF(j + 0.5, i + 0.5))
        assert (centre.x(), centre.y()) == pytest.approx((xs[j], ys[i]))
    rgb = plot.image.image[..., :3].astype(int)
    assert classes.min() == 0 and classes.max() == 1
    for k in (0, 1):
        assert (rgb[classes == k] == rgb[classes == k][0]).all()
    assert (rgb[classes == 0][0] != rgb[classes == 1][0]).any()
    for k, item in enumerate(plot.points):
        x, y = item.getData()
        sel = moons.split.y_train == k
        np.testing.assert_array_equal(np.column_stack([x, y]), moons.split.X_train[sel])
    assert [label.text for _, label in plot.legend.items] == ["class 0", "class 1"]


def test_the_boundary_feeds_its_points_again_only_when_the_data_changed(qtbot, moons,
                                                                        monkeypatch):
    """Every run's start gives the plot its training points: the same points are not fed again
    (thousands of per-point styles in pyqtgraph), other points or labels are."""
    plot = BoundaryPlot()
    qtbot.addWidget(plot)
    plot.set_context(moons.dataset.classes, moons.dataset.feature_names)
    fed = []
    real = plot._feed_points
    monkeypatch.setattr(plot, "_feed_points", lambda *a: (fed.append(a), real(*a)))

    def shown() -> list[np.ndarray]:
        return [np.column_stack(item.getData()) for item in plot.points]

    X, y = moons.split.X_train, moons.split.y_train
    plot.set_data(X, y)
    assert len(fed) == 1
    plot.set_data(X.copy(), y.copy())  # equal arrays, new objects: as a new run gives them
    assert len(fed) == 1
    for k, points in enumerate(shown()):
        np.testing.assert_array_equal(points, X[y == k])
    flipped = 1 - y  # other labels, same points
    plot.set_data(X, flipped)
    assert len(fed) == 2
    for k, points in enumerate(shown()):
        np.testing.assert_array_equal(points, X[flipped == k])
    moved = X[:-5] * 2  # other points
    plot.set_data(moved, flipped[:-5])
    assert len(fed) == 3
    for k, points in enumerate(shown()):
        np.testing.assert_array_equal(points, moved[flipped[:-5] == k])


def test_boundary_probability_shades_from_one_class_to_the_other(qtbot, moons):
    plot = BoundaryPlot()
    qtbot.addWidget(plot)
    xs, ys, p1 = moons.grid
    snap = ViewSnapshot(9, 1, boundary=(xs, ys, p1), boundary_probability=True)
    plot.refresh(snap)
    img = plot.image.image.astype(int)
    i0, i1 = np.unravel_index(p1.argmin(), p1.shape), np.unravel_index(p1.argmax(), p1.shape)
    orange, blue = img[i0][:3], img[i1][:3]
    assert orange[0] > orange[2] and blue[2] > blue[0]  # class 0 orange, class 1 blue
    assert "p(class 1)" in plot.plot.titleLabel.text


def test_confusion_counts_match_numpy(qtbot, digits):
    plot = ConfusionPlot()
    qtbot.addWidget(plot)
    plot.set_context(digits.dataset.classes)
    plot.refresh(digits.snapshot)
    t, p = digits.snapshot.val_true, digits.snapshot.val_pred
    expected = np.bincount(t * 10 + p, minlength=100).reshape(10, 10)
    np.testing.assert_array_equal(plot.counts, expected)
    assert plot.counts.sum() == len(digits.split.y_val) == len(t)
    assert [[int(c.toPlainText()) for c in row] for row in plot.texts] == expected.tolist()
    ticks = plot.plot.getAxis("bottom")._tickLevels[0]
    assert [name for _, name in ticks] == list(digits.dataset.classes)
    k = plot.image.image.shape[0] // 10  # each cell a block of whole pixels
    assert plot.image.image.shape[:2] == (10 * k, 10 * k) and k >= 1
    cell = plot.image.image[::k, ::k, :3].astype(int)
    assert (cell[np.eye(10, dtype=bool)][:, 2] > cell[np.eye(10, dtype=bool)][:, 0]).all()  # blue
    i, j = np.argwhere(~np.eye(10, dtype=bool) & (expected > 0))[0]
    assert cell[i, j, 0] > cell[i, j, 2]  # a mistake is red
    acc = np.trace(expected) / expected.sum()
    assert f"{100 * acc:.1f}%" in plot.plot.titleLabel.text


def test_confusion_counts_are_sized_to_their_cells_or_hidden_when_too_small(qtbot, digits):
    plot = shown(qtbot, ConfusionPlot(), size=(900, 640))
    plot.set_context(digits.dataset.classes)
    plot.refresh(digits.snapshot)
    qtbot.waitUntil(lambda: plot.texts[0][0].isVisible())
    vb = plot.plot.getViewBox()
    cell = min(vb.width(), vb.height()) / 10
    size = plot.texts[0][0].textItem.font().pixelSize()
    assert 8 <= size <= cell * 0.5  # fits its cell
    # square cells, no wide margins: the plot is sized to the matrix once laid out
    qtbot.waitUntil(lambda: abs(vb.width() - vb.height()) <= 3)
    plot.resize(900, 150)  # a short dock: 10 numbers per column cannot be read
    qtbot.waitUntil(lambda: not plot.texts[0][0].isVisible())
    assert not any(t.isVisible() for row in plot.texts for t in row)


def test_sample_grid_marks_wrong_predictions_red(qtbot, digits):
    plot = SampleGridPlot()
    qtbot.addWidget(plot)
    plot.set_context(digits.dataset.classes, digits.dataset.image_shape)
    plot.refresh(digits.snapshot)
    true, pred = digits.snapshot.sample_true, digits.snapshot.sample_pred
    wrong = pred != true
    assert wrong[3] and wrong[10]
    np.testing.assert_array_equal(plot.wrong, wrong)
    for i, (label, box) in enumerate(zip(plot.labels, plot.boxes, strict=True)):
        assert label.text.startswith(f"{pred[i]} ({true[i]})") or f"{pred[i]} ({true[i]})" in label.text
        red = QColor(label.opts["color"]).name() == QColor(WRONG).name()
        assert red == wrong[i]
        frame = plot.frames[i]
        assert (frame.pen().color().name() == QColor(WRONG).name()) == wrong[i]
        k = plot.PIXEL
        np.testing.assert_array_equal(plot.images[i].image[::k, ::k], digits.snapshot.samples[i])
    assert f"{wrong.sum()} of {len(wrong)} wrong" in plot.title.text


def test_sample_grid_folds_columns_that_do_not_fit_instead_of_clipping(qtbot, digits):
    plot = shown(qtbot, SampleGridPlot(rows=2, cols=12), size=(1000, 300))
    plot.set_context(digits.dataset.classes, (8, 8))
    plot.refresh(digits.snapshot)
    assert plot.shown_columns() == 12 and all(b.isVisible() for b in plot.boxes)
    plot.resize(420, 300)
    qtbot.waitUntil(lambda: plot.shown_columns() < 12)
    columns = plot.shown_columns()
    assert 4 <= columns < 12
    visible = [b for b in plot.boxes if b.isVisible()]
    assert len(visible) == 2 * columns
    assert min(b.sceneBoundingRect().width() for b in visible) >= 0.6 * plot.MIN_CELL
    assert f"of {2 * columns} wrong" in plot.title.text  # counts what is shown


def test_weight_histogram_counts_every_value_of_the_chosen_parameter(qtbot, moons):
    plot = WeightHistogramPlot()
    qtbot.addWidget(plot)
    plot.set_params(moons.param_names)
    plot.refresh(moons.snapshot)
    w1 = moons.snapshot.params["W1"]
    assert plot.combo.currentText() == "W1" and plot.counts.sum() == w1.size
    x, y = original(plot.curve)
    assert len(x) == len(y) + 1 and x[0] == w1.min() and x[-1] == w1.max()
    plot.combo.setCurrentText("W2")
    assert plot.counts.sum() == moons.snapshot.params["W2"].size == 256
    assert plot.plot.titleLabel.text.startswith("W2 (16×16)")


# ---------------------------------------------------------------- the tabbed panel

def test_tabs_enabled_by_dataset_kind(qtbot, moons, digits):
    plots = TrainingPlots()
    qtbot.addWidget(plots)

    def enabled() -> set[str]:
        return {n for i, n in enumerate(plots.TAB_NAMES) if plots.tabs.isTabEnabled(i)}

    everywhere = {"Loss", "Gradients", "Updates", "Weights"}
    plots.set_context(moons.dataset, moons.param_names, split=moons.split)
    assert enabled() == everywhere | {"Accuracy", "Boundary", "Confusion"}
    assert len(plots.boundary.points[0].getData()[0]) == (moons.split.y_train == 0).sum()
    plots.tabs.setCurrentIndex(plots.TAB_NAMES.index("Boundary"))
    plots.set_context(digits.dataset, digits.param_names)
    assert enabled() == everywhere | {"Accuracy", "Confusion", "Samples"}
    assert plots.tabs.currentIndex() == 0  # the boundary tab went away
    assert "2-D" in plots.tabs.tabToolTip(plots.TAB_NAMES.index("Boundary"))
    plots.set_context(load_dataset("sine"), ["W1", "b1"])
    assert enabled() == everywhere
    assert plots.accuracy.stack.currentWidget() is plots.accuracy.message


def test_timer_redraws_only_the_visible_tab_and_only_on_change(qtbot, moons):
    h = moons.history(upto=10)
    plots = shown(qtbot, TrainingPlots(h, interval_ms=10))
    plots.set_context(moons.dataset, moons.param_names, split=moons.split)
    plots.start()
    assert plots.timer.isActive() and plots.timer.interval() == 10
    qtbot.waitUntil(lambda: plots.loss.redraws == 1)
    for _ in range(3):
        with qtbot.waitSignal(plots.timer.timeout):
            pass
    assert plots.loss.redraws == 1  # nothing new: no redraw
    assert plots.grad_norms.redraws == plots.accuracy.redraws == 0  # hidden tabs wait
    h.append(moons.records[10:20])
    qtbot.waitUntil(lambda: plots.loss.redraws == 2)
    np.testing.assert_array_equal(original(plots.loss.batch_curve)[0], np.arange(1, 21))
    plots.tabs.setCurrentWidget(plots.grad_norms)
    assert plots.grad_norms.redraws == 1
    plots.on_snapshot(moons.snapshot)
    plots.tabs.setCurrentWidget(plots.confusion)
    assert plots.confusion.redraws == 1 and plots.confusion.counts.sum() == len(moons.split.y_val)
    plots.stop()
    assert not plots.timer.isActive()


def test_redraws_slow_down_when_they_cost_more_than_their_budget(qtbot, moons, monkeypatch):
    """The pacing reads the plots' own CPU time (updates and paints): with a budget far below
    what a redraw costs, the interval grows to the one-second cap; with a generous one it stays
    at the fastest rate."""
    from playground.ui.training import plots as plots_module

    h = moons.history(upto=10)
    plots = shown(qtbot, TrainingPlots(h, interval_ms=10))
    plots.set_context(moons.dataset, moons.param_names, split=moons.split)
    monkeypatch.setattr(plots_module, "REDRAW_BUDGET", 1e-6)
    plots.start()
    i = 10
    while plots.timer.interval() < plots_module.REDRAW_MAX_MS:
        h.append(moons.records[i:i + 1])  # something new for every tick to draw
        i = 10 + (i + 1 - 10) % (len(moons.records) - 11)
        with qtbot.waitSignal(plots.timer.timeout, timeout=5000):
            pass
    assert plots.plots_seconds() > 0 and plots.loss.graphics.paint_seconds > 0
    monkeypatch.setattr(plots_module, "REDRAW_BUDGET", 1e6)
    plots.start()  # a new run starts at the fastest rate, and a cheap one stays there
    for _ in range(5):
        h.append(moons.records[i:i + 1])
        with qtbot.waitSignal(plots.timer.timeout, timeout=5000):
            pass
    assert plots.timer.interval() == 10
    plots.stop()


def test_a_live_redraw_is_painted_once_even_when_the_axes_move(qtbot, moons):
    """Each redraw of a growing live curve costs one paint: the view box is fitted to the new
    data before the paint, so the axes it moves are drawn by that same paint (fitted during
    the paint, they asked for a second one, and every paint holds the interpreter lock the
    training thread needs)."""
    from PySide6.QtCore import QCoreApplication

    from tests.ui.helpers import PaintCounter

    h = moons.history()
    plots = shown(qtbot, TrainingPlots(h, interval_ms=10_000))
    plots.set_context(moons.dataset, moons.param_names, split=moons.split)
    plots.start()
    counter = PaintCounter()
    plots.loss.graphics.viewport().installEventFilter(counter)
    plots.redraw()  # drawn when shown: the layout (legend, axis widths) settles first
    plots.loss.graphics.viewport().update()
    qtbot.waitUntil(lambda: counter.count > 0, timeout=5000)
    for _ in range(3):
        QCoreApplication.processEvents()
    ranges = set()
    for _ in range(4):  # the run goes on: the same records again, steps shifted past the last
        h.continue_run()
        h.append(moons.records)
        before = counter.count
        assert plots.redraw()
        qtbot.waitUntil(lambda before=before: counter.count > before, timeout=5000)
        for _ in range(3):  # anything the paint asked for would be painted now
            QCoreApplication.processEvents()
        assert counter.count == before + 1, f"{counter.count - before} paints"
        ranges.add(tuple(plots.loss.plot.getViewBox().viewRange()[0]))
    assert len(ranges) >= 3  # the axes did move
    plots.stop()


def test_hidden_plots_have_no_timer_and_ask_for_no_snapshot_views(qtbot, moons):
    plots = shown(qtbot, TrainingPlots(moons.history(upto=10), interval_ms=10))
    plots.set_context(moons.dataset, moons.param_names, split=moons.split)
    asked = []
    plots.views_changed.connect(lambda: asked.append(plots.wanted_views()))
    plots.start()
    assert plots.timer.isActive() and plots.wanted_views() == frozenset()
    plots.tabs.setCurrentWidget(plots.boundary)
    assert asked[-1] == {"boundary"}
    plots.tabs.setCurrentWidget(plots.confusion)
    assert asked[-1] == {"confusion"}
    plots.hide()
    assert not plots.timer.isActive() and asked[-1] == frozenset()
    plots.show()
    qtbot.waitExposed(plots)
    assert plots.timer.isActive() and asked[-1] == {"confusion"}
    plots.stop()
    plots.hide()
    plots.show()
    assert not plots.timer.isActive()  # no run: no timer


def test_live_x_range_keeps_room_ahead_and_a_finished_run_fits_tightly(qtbot, moons):
    h = moons.history(upto=40)
    plots = shown(qtbot, TrainingPlots(h, interval_ms=10))
    plots.set_context(moons.dataset, moons.param_names, split=moons.split)
    plots.start()
    vb = plots.loss.plot.getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 40)  # auto-range applies at the next paint
    assert vb.viewRange()[0][1] >= 40 * 1.2  # room ahead: the axis does not move every redraw
    plots.stop()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] <= 40 * 1.05)
    assert vb.viewRange()[0][1] >= 40


def test_many_epochs_draw_lines_without_markers(qtbot, moons):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.refresh(moons.history())
    assert plot.train_curve.opts["symbol"] == "o" and plot.val_curve.opts["symbol"] == "s"
    h = MetricsHistory()
    for _ in range(12):  # 72 epochs
        h.continue_run()
        h.append(moons.records)
    plot.refresh(h)
    assert h.epoch_index.view()[-1] == 72
    assert plot.train_curve.opts["symbol"] is None and plot.val_curve.opts["symbol"] is None


def test_clear_empties_every_view(qtbot, moons):
    h = moons.history()
    plots = shown(qtbot, TrainingPlots(h))
    plots.set_context(moons.dataset, moons.param_names, split=moons.split)
    plots.on_snapshot(moons.snapshot)
    for plot in plots.plots.values():
        plots.tabs.setCurrentWidget(plot)
    assert plots.loss.lr_lines and plots.confusion.counts is not None
    plots.clear()
    h.clear()
    assert not plots.loss.lr_lines and plots.snapshot is None
    assert original(plots.loss.batch_curve)[0].size == 0
    assert plots.confusion.counts is None and plots.boundary.grid is None
    assert list(plots.grad_norms.curves) == moons.param_names  # recreated, empty
    assert all(original(c)[0].size == 0 for c in plots.grad_norms.curves.values())


# ---------------------------------------------------------------- export

def _read_csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("kind", ["loss", "accuracy", "grad_norms", "update_ratios", "boundary",
                                  "confusion", "samples", "weights"])
def test_every_plot_exports_png_svg_and_csv(qtbot, tmp_path, moons, digits, kind):
    run = digits if kind == "samples" else moons
    plots = shown(qtbot, TrainingPlots(run.history()))
    plots.set_context(run.dataset, run.param_names, split=run.split)
    plots.on_snapshot(run.snapshot)
    plot = getattr(plots, kind)
    plots.tabs.setCurrentWidget(plot)
    assert plot.redraws == 1
    png, svg, table = plot.export(tmp_path / "p.png"), plot.export(tmp_path / "p.svg"), \
        plot.export(tmp_path / "p.csv")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
    assert "<svg" in svg.read_text(encoding="utf-8")[:2000]
    rows = _read_csv(table)
    assert len(rows) > 1
    header, body = rows[0], rows[1:]
    if kind == "loss":
        assert header == ["step", "epoch", "lr", "batch_loss", "batch_loss_mean_10", "train_loss_epoch",
                      "val_loss_epoch"]
        assert [int(r[0]) for r in body] == [m.step for m in moons.records]
        assert [float(r[3]) for r in body] == [m.batch_loss for m in moons.records]  # exact
        assert [float(r[2]) for r in body] == [m.lr for m in moons.records]
        ends = {m.step: m.val_loss for m in moons.records if m.epoch_end}
        assert {int(r[0]): float(r[6]) for r in body if r[6]} == ends
    elif kind == "grad_norms":
        # raw values, and the smoothed ones drawn by default
        assert header[:8] == ["step", "epoch", *moons.param_names]
        assert "W1_geomean_10" in header
        col = header.index("W1")
        assert [float(r[col]) for r in body] == [m.grad_norms["W1"] for m in moons.records]
    elif kind == "accuracy":
        assert header == ["epoch", "step", "train_accuracy_percent", "val_accuracy_percent"]
        np.testing.assert_allclose([float(r[3]) for r in body],
                                   [100 * m.val_accuracy for m in moons.records if m.epoch_end])
    elif kind == "confusion":
        assert header[1:] == ["0", "1"]
        assert sum(int(v) for r in body for v in r[1:]) == len(moons.split.y_val)
    elif kind == "samples":
        wrong = digits.snapshot.sample_pred != digits.snapshot.sample_true
        assert [r[3] for r in body] == [str(int(not w)) for w in wrong]
    elif kind == "boundary":
        xs, ys, classes = moons.snapshot.boundary
        assert len(body) == classes.size
        assert [float(v) for v in body[-1]] == pytest.approx([xs[-1], ys[-1], classes[-1, -1]])
    elif kind == "weights":
        assert sum(int(r[2]) for r in body) == moons.snapshot.params["W1"].size
    with pytest.raises(ValueError, match=".png, .svg or .csv"):
        plot.export(tmp_path / "p.jpg")


def test_export_button_writes_the_chosen_file(qtbot, tmp_path, moons, monkeypatch):
    plot = shown(qtbot, LossPlot())
    plot.refresh(moons.history())
    target = tmp_path / "loss.svg"
    monkeypatch.setattr(plot, "_ask_export_path", lambda: str(target))
    qtbot.mouseClick(plot.export_button, Qt.MouseButton.LeftButton)
    assert "<svg" in target.read_text(encoding="utf-8")


def test_pyqtgraph_context_menu_export_works_on_our_plots(qtbot, tmp_path, moons):
    plot = shown(qtbot, GradNormPlot())
    plot.refresh(moons.history())
    scene = plot.graphics.scene()
    view = plot.graphics
    centre = view.mapFromScene(plot.plot.getViewBox().sceneBoundingRect().center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=QPoint(centre.x(), centre.y()))
    menu = plot.plot.getViewBox().menu
    qtbot.waitUntil(menu.isVisible)
    export = next(a for a in menu.actions() if a.text() == "Export...")
    menu.close()
    export.trigger()  # what choosing the entry does
    dialog = scene.exportDialog
    try:
        assert dialog.isVisible()
        assert dialog.ui.itemTree.currentItem().gitem is plot.plot  # the plot under the mouse
        formats = [dialog.ui.formatList.item(i).text() for i in range(dialog.ui.formatList.count())]
        for name, suffix in (("CSV of original plot data", "csv"), ("Image File (PNG, TIF, JPG, ...)",
                                                                    "png"), ("Scalable Vector Graphics (SVG)", "svg")):
            assert name in formats
            dialog.ui.formatList.setCurrentRow(formats.index(name))
            path = tmp_path / f"menu.{suffix}"
            dialog.currentExporter.export(fileName=str(path))
            assert path.stat().st_size > 100
        rows = _read_csv(tmp_path / "menu.csv")
        assert rows[0][:2] == ["W1_x", "W1_y"]
    finally:
        dialog.close()


def test_a_long_per_step_curve_is_drawn_as_its_envelope_at_one_point_pair_per_pixel(qtbot):
    """Thousands of logged steps: the batch loss is stroked through about two points per pixel
    column (each column's lowest and highest loss), not five: the same curve on screen."""
    ds = load_dataset("moons", n_samples=2000, seed=1)
    sp = split(ds, val_fraction=0.3, seed=1)
    program = compile_graph(load(EXAMPLES / "moons_mlp.json"))
    records = list(train(program, sp, TrainConfig(epochs=12, batch_size=4, lr=0.01,
                                                  optimizer="adam")))
    h = MetricsHistory()
    h.append(records)
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(360, 300)
    plot.show()
    qtbot.waitExposed(plot)
    assert plot.refresh(h)
    plot.graphics.scene().prepareForPaint()
    plot.batch_curve.updateItems()  # the drawn points for the fitted view
    width = plot.plot.getViewBox().width()
    x, y = plot.batch_curve.curve.getData()
    loss = h.batch_loss.view()
    assert len(loss) > 6 * width
    assert len(x) <= 2 * width + 4
    # the envelope is kept: the highest and lowest batch losses are drawn
    assert y.max() == loss.max() and y.min() == loss.min()
