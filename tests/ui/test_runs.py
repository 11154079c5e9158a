"""Comparing runs and replaying one: finished runs stay as faded curves labelled with what differed,
at most five, thinned; Replay trains again from a run's exact initial weights and data order.
Qt-free records first, then the real window with the real worker thread and real data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from playground.graph import compile_graph, load
from playground.training import TrainConfig, Trainer
from playground.training.datasets import load_dataset, split
from playground.training.workbench import DataSettings, make_split
from playground.ui.training.history import MetricsHistory, window_mean
from playground.ui.training.layers import param_groups
from playground.ui.training.runs import (
    CURVE_POINTS,
    MAX_OLD_RUNS,
    RunArchive,
    RunRecord,
    differences,
    run_facts,
    thin_curves,
)
from tests.conftest import EXAMPLES

# ---------------------------------------------------------------- records (no Qt)


def test_run_facts_name_the_settings_and_the_graph():
    program = compile_graph(load(EXAMPLES / "moons_mlp.json"))
    data = DataSettings(dataset="moons", samples=300, noise=0.2)
    config = TrainConfig(lr=0.01, optimizer="adam", batch_size=32, epochs=5)
    facts = run_facts(program, data, config, param_groups(program))
    assert facts["optimizer"] == "adam" and facts["lr"] == "lr 0.01"
    assert facts["batch"] == "batch 32" and facts["activation"] == "tanh"
    assert facts["loss"] == "softmax CE loss" and facts["layers"] == "2→16→16→2"
    assert facts["features"] == "raw inputs" and facts["noise"] == "noise 0.2"
    digits = compile_graph(load(EXAMPLES / "digits_mlp.json"))
    other = run_facts(digits, DataSettings(dataset="moons", features=("x1", "x2", "x1*x2")),
                      dataclasses.replace(config, optimizer="sgd", lr=0.1), param_groups(digits))
    assert other["activation"] == "sigmoid" and other["layers"] == "64→64→10"
    assert other["features"] == "features x1, x2, x1·x2"
    record = RunRecord.start(1, other, 0, program.param_arrays(trainable_only=False))
    # what the old run had, in legend order: optimizer and lr first
    diff = differences(record, facts)
    assert diff == ["sgd", "lr 0.1", "sigmoid", "64→64→10", "features x1, x2, x1·x2"]
    # all of it: a legend shortens it to its room (whole on hover); a menu names the optimizer,
    # the lr and three more
    assert record.label(facts) == "run 1: " + ", ".join(diff)
    assert record.describe(facts) == ", ".join(diff)
    same = RunRecord.start(2, facts, 0, program.param_arrays(trainable_only=False))
    assert same.label(facts) == "run 2: same settings"
    assert same.label(facts, digest="another") == "run 2: other initial weights"


def test_a_finished_run_is_kept_thinned_whatever_its_length():
    program = compile_graph(load(EXAMPLES / "moons_mlp.json"))
    sp = split(load_dataset("moons", n_samples=300, seed=0), val_fraction=0.3, seed=0)
    h = MetricsHistory()
    h.append(list(Trainer(program, sp, TrainConfig(epochs=40, batch_size=4)).steps()))
    n = len(h)
    assert n > 2 * 1000
    curves = thin_curves(h, points=1000)
    k = curves.stride
    assert k == -(-n // 1000) and len(curves.steps) <= 1000
    full = (n // k) * k  # whole blocks: each point is the mean of its k steps
    np.testing.assert_allclose(curves.batch_loss[: n // k],
                               h.batch_loss.view()[:full].reshape(-1, k).mean(axis=1))
    np.testing.assert_allclose(curves.steps[: n // k],
                               h.step.view()[:full].reshape(-1, k).mean(axis=1))
    g = h.grad_norms["W1"].view()[:full].reshape(-1, k)
    np.testing.assert_allclose(curves.grad_norms["W1"][: n // k],
                               np.exp(np.log(g).mean(axis=1)), rtol=1e-12)
    u = h.update_ratios["W1"].view()[:full].reshape(-1, k)
    np.testing.assert_allclose(curves.update_ratios["W1"][: n // k],
                               np.exp(np.log(u).mean(axis=1)), rtol=1e-12)
    np.testing.assert_array_equal(curves.val_loss, h.val_loss.view())  # every epoch end
    # memory: a fixed number of points per curve, not one per step
    columns = 3 + len(h.grad_norms) + len(h.update_ratios)
    assert curves.nbytes <= 8 * (columns * CURVE_POINTS + 6 * len(h.epoch_index.view()))
    assert thin_curves(h).nbytes < h.step.view().nbytes * columns


def test_the_archive_keeps_the_newest_runs():
    archive = RunArchive()
    for number in range(1, MAX_OLD_RUNS + 3):
        archive.add(RunRecord(number, {}, 0))
    assert [r.number for r in archive] == list(range(3, MAX_OLD_RUNS + 3))
    version = archive.version
    archive.clear()
    assert len(archive) == 0 and archive.version > version


# ---------------------------------------------------------------- the window


def setup_moons(window, epochs: int = 3, lr: str = "0.01") -> None:
    window.open_example("moons_mlp")
    panel = window.training
    panel.epochs.setValue(epochs)
    panel.samples.setValue(300)
    set_lr(panel, lr)


def set_lr(panel, text: str) -> None:
    """Type a learning rate and leave the field, as a user does."""
    panel.lr.setText(text)
    panel.lr.editingFinished.emit()


def train(qtbot, window, start=None) -> str:
    """Start a run (Train, or ``start``: a menu action, a replay) and wait for its end."""
    panel = window.training
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=30_000) as done:
        assert (start or panel.start)() is not False
    return done.args[0]


def old_curves(plot) -> dict[int, list]:
    return {n: [item.getOriginalDataset() for item in items]
            for n, items in plot._old_items.items()}


def legend_texts(plot) -> list[str]:
    return [label.text for _, label in plot.legend.items]


def test_finished_runs_stay_faded_with_what_differed_until_cleared(qtbot, window):
    setup_moons(window)
    panel, plots = window.training, window.plots
    runner = panel.runner
    assert train(qtbot, window) == "completed"
    first = runner.history
    losses = first.batch_loss.view().copy()
    set_lr(panel, "0.05")
    window.run_bar.reset_button.click()  # Reset: the live curves go, the finished run stays, faded
    assert len(runner.history) == 0 and [r.number for r in runner.runs] == [1]
    record = runner.runs.get(1)
    np.testing.assert_array_equal(record.curves.batch_loss, losses)  # short: kept whole
    # the settings now say lr 0.05; each plot says what its faded curve is, where its own
    # legend does not
    for plot, entry in ((plots.loss, "run 1: lr 0.01"),
                        (plots.accuracy, "run 1: lr 0.01 (validation)"),
                        (plots.grad_norms, "run 1: lr 0.01 (a line per layer)"),
                        (plots.update_ratios, "run 1: lr 0.01 (a line per layer)")):
        assert list(plot._old_items) == [1]
        assert entry in legend_texts(plot)
    x, y = old_curves(plots.loss)[1][0]
    k = plots.loss.smooth_rows
    np.testing.assert_array_equal(x, record.curves.steps)
    np.testing.assert_allclose(y, window_mean(losses, k))
    ax, ay = old_curves(plots.accuracy)[1][0]
    np.testing.assert_array_equal(ax, record.curves.epoch_index)
    np.testing.assert_allclose(ay, 100 * record.curves.val_accuracy)
    # one faded curve per layer of the old run on the gradient and update plots
    assert len(plots.grad_norms._old_items[1]) == len(record.groups) == 3
    assert len(plots.update_ratios._old_items[1]) == len(record.groups)
    ux, uy = old_curves(plots.update_ratios)[1][0]
    np.testing.assert_array_equal(ux, record.curves.steps)
    assert np.all(np.isfinite(uy)) and np.all(uy > 0)  # ratios of a real run, on a log axis
    faded = plots.loss._old_items[1][0]
    assert faded.opts["pen"].color().alpha() < 255
    assert faded.zValue() < plots.loss.smooth_curve.zValue()
    assert train(qtbot, window) == "completed"  # run 2, lr 0.05
    assert "run 1: lr 0.01" in legend_texts(plots.loss)
    assert runner.run.number == 2 and runner.run.facts["lr"] == "lr 0.05"
    # a stopped run is kept too
    panel.epochs.setValue(500)
    window.run_bar.reset_button.click()
    assert [r.number for r in runner.runs] == [1, 2]
    assert panel.start()
    qtbot.waitUntil(lambda: len(runner.history) > 10, timeout=10_000)
    with qtbot.waitSignal(runner.controller.finished, timeout=10_000):
        window.run_bar.stop_button.click()
    window.run_bar.reset_button.click()
    assert [r.number for r in runner.runs] == [1, 2, 3]
    assert runner.runs.get(3).outcome == "stopped"
    texts = legend_texts(plots.loss)
    assert "run 2: same settings" not in texts or "run 3" in " ".join(texts)
    # Clear old runs (the plots' toolbar): the faded curves go, nothing else
    plots.clear_runs_button.click()
    assert len(runner.runs) == 0
    for plot in (plots.loss, plots.accuracy, plots.grad_norms, plots.update_ratios):
        assert not plot._old_items and not any(t.startswith("run ") for t in legend_texts(plot))
    assert not plots.clear_runs_button.isEnabled()


def test_a_run_joining_the_old_ones_leaves_their_curves_drawn(qtbot, window):
    """Starting a run retires the last one to the faded runs: the runs already faded keep their
    items (only the new one is made, and labels that changed are rewritten), and what is drawn
    is what drawing them all afresh draws."""
    setup_moons(window, epochs=2)
    panel, plots = window.training, window.plots
    runner = panel.runner
    history_plots = (plots.loss, plots.accuracy, plots.grad_norms, plots.update_ratios)

    def drawn(plot) -> tuple[list[str], dict[int, list]]:
        return legend_texts(plot), old_curves(plot)

    assert train(qtbot, window) == "completed"
    window.run_bar.reset_button.click()
    set_lr(panel, "0.05")
    assert train(qtbot, window) == "completed"
    # (the items themselves: an id can be reused once an item is gone)
    items = {plot: list(plot._old_items[1]) for plot in history_plots}

    def same(a: list, b: list) -> bool:
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))

    set_lr(panel, "0.02")
    window.run_bar.reset_button.click()  # run 2 joins run 1; the labels say "lr 0.01" etc.
    assert [r.number for r in runner.runs] == [1, 2]
    for plot in history_plots:
        assert same(plot._old_items[1], items[plot])  # kept, not made again
        assert list(plot._old_items) == [1, 2]
        texts, curves = drawn(plot)
        assert any("run 1: lr 0.01" in t for t in texts) and any("run 2: lr 0.05" in t for t in texts)
        # the live curves' entries first (made again at the Reset), the finished runs' after
        runs_at = [t.startswith("run ") for t in texts]
        assert runs_at == sorted(runs_at) and runs_at.count(False) >= 1, texts
        plot.redraw()  # everything drawn afresh
        assert not same(plot._old_items[1], items[plot])
        again_texts, again_curves = drawn(plot)
        assert again_texts == texts
        for n in (1, 2):
            for (x, y), (x2, y2) in zip(curves[n], again_curves[n], strict=True):
                np.testing.assert_array_equal(x, x2)
                np.testing.assert_array_equal(y, y2)
    # a run's label changes (the same settings as the live ones now): rewritten in place
    kept = list(plots.loss._old_items[1])
    set_lr(panel, "0.01")  # no run now: the old runs are labelled against these settings
    texts = legend_texts(plots.loss)
    assert not any("run 1: lr 0.01" in t for t in texts), texts
    assert same(plots.loss._old_items[1], kept)
    plots.loss.redraw()
    assert legend_texts(plots.loss) == texts


def test_a_failed_run_is_not_kept_and_at_most_five_are(qtbot, window):
    setup_moons(window, epochs=1)
    panel = window.training
    runner = panel.runner
    panel.optimizer.setCurrentText("sgd")
    set_lr(panel, "1e6")
    assert train(qtbot, window) == "failed"
    set_lr(panel, "0.01")
    window.run_bar.reset_button.click()
    assert len(runner.runs) == 0  # the failed run is not kept
    for _ in range(MAX_OLD_RUNS + 2):
        assert train(qtbot, window) == "completed"
        window.run_bar.reset_button.click()
    numbers = [r.number for r in runner.runs]
    assert len(numbers) == MAX_OLD_RUNS and numbers == sorted(numbers)
    assert numbers[-1] == runner._run_count  # the newest kept, the oldest dropped
    assert len(window.plots.loss._old_items) == MAX_OLD_RUNS
    assert runner.runs.nbytes < 2_000_000  # thinned curves and small weights: bounded


def test_the_initial_weights_kept_are_those_the_trainer_starts_from(qtbot, window):
    setup_moons(window, epochs=1)
    runner = window.training.runner
    assert train(qtbot, window) == "completed"
    record = runner.run
    # a headless trainer on the same graph, data and seed draws the same initial weights
    s = window.session
    program = compile_graph(load(EXAMPLES / "moons_mlp.json"))
    trainer = Trainer(program, make_split(s.data), dataclasses.replace(
        s.run_config(reinit=True), epochs=1))
    for name, value in program.param_arrays(trainable_only=False).items():
        np.testing.assert_array_equal(record.initial[name], value)
        assert not record.initial[name].flags.writeable
    first = next(iter(trainer.steps()))
    assert runner.history.batch_loss.view()[0] == first.batch_loss


def test_replay_reproduces_a_run_exactly_and_compares_a_change_fairly(qtbot, window):
    setup_moons(window, epochs=3)
    panel, plots = window.training, window.plots
    runner = panel.runner
    assert train(qtbot, window) == "completed"
    losses = runner.history.batch_loss.view().copy()
    val = runner.history.val_loss.view().copy()
    # the Runs menu offers this run once it is over
    assert [a.text() for a in plots.replay_actions] == [
        "Replay run 1's start (this run) with the current settings"]
    assert train(qtbot, window, plots.replay_actions[0].trigger) == "completed"
    assert runner.run.number == 2 and runner.run.replay_of == 1
    assert runner.run.digest == runner.runs.get(1).digest
    np.testing.assert_array_equal(runner.history.batch_loss.view(), losses)  # exactly
    np.testing.assert_array_equal(runner.history.val_loss.view(), val)
    assert "Replaying run 1" in panel.status.text() or "Finished" in panel.status.text()
    # now with a different learning rate, from the same weights and data order
    set_lr(panel, "0.1")
    replays = {a.text(): a for a in plots.replay_actions}
    wanted = "Replay run 1's start (adam, lr 0.01) with the current settings"
    assert wanted in replays
    assert train(qtbot, window, replays[wanted].trigger) == "completed"
    changed = runner.history.batch_loss.view()
    assert changed[0] == losses[0]  # the same first minibatch and weights
    assert not np.array_equal(changed[1:], losses[1:len(changed)])
    assert "run 2 (replay of run 1): lr 0.01" in legend_texts(plots.loss)
    # replaying is refused while a run is live
    panel.epochs.setValue(500)
    assert panel.start()
    qtbot.waitUntil(lambda: len(runner.history) > 5, timeout=10_000)
    assert not any(a.isEnabled() for a in plots.replay_actions)
    assert not runner.replay(1)
    with qtbot.waitSignal(runner.controller.finished, timeout=10_000):
        runner.stop()


def test_replay_on_a_changed_graph_says_what_did_not_fit(qtbot, window):
    setup_moons(window, epochs=1)
    runner = window.training.runner
    assert train(qtbot, window) == "completed"
    initial = runner.run.initial
    model = window.document.model
    b3 = next(n for n in model.nodes.values() if n.name == "b3")
    model.rename(b3.id, "bias3")
    statuses = []
    runner.status.connect(lambda text, error: statuses.append((text, error)))
    with qtbot.waitSignal(runner.controller.finished, timeout=30_000):
        assert runner.replay(1, mode="step")
        runner.stop()
    text, error = next((t, e) for t, e in statuses if "Replaying run 1" in t)
    assert error and "changed graph" in text and "5 of 6" in text
    assert "'b3'" in text and "'bias3'" in text
    program = window.session.compiled
    # the weights that fit are run 1's (the first step changed them: compare the run's record)
    assert runner.run.replay_of == 1
    for name in ("W1", "b1", "W2", "b2", "W3"):
        np.testing.assert_array_equal(runner.run.initial[name], initial[name])
    assert "bias3" in runner.run.initial and program is not None


def test_a_new_document_forgets_the_runs(qtbot, window):
    setup_moons(window, epochs=1)
    runner = window.training.runner
    assert train(qtbot, window) == "completed"
    window.run_bar.reset_button.click()
    assert len(runner.runs) == 1 and window.plots.loss._old_items
    window.open_example("digits_mlp")
    assert len(runner.runs) == 0 and runner.run is None
    assert not window.plots.loss._old_items and not window.plots.old_runs
    assert window.plots.replay_actions == []
    window.plots.runs_menu.aboutToShow.emit()
    texts = [a.text() for a in window.plots.runs_menu.actions() if a.text()]
    assert texts[0] == "No finished run to replay yet"


@pytest.mark.parametrize("example", ["moons_mlp", "digits_mlp"])
def test_every_example_compares_and_replays(qtbot, window, example):
    window.open_example(example)
    panel = window.training
    panel.epochs.setValue(1)
    runner = panel.runner
    assert train(qtbot, window) == "completed"
    losses = runner.history.batch_loss.view().copy()
    assert train(qtbot, window, lambda: runner.replay(1)) == "completed"
    np.testing.assert_array_equal(runner.history.batch_loss.view(), losses)
    assert [r.number for r in runner.runs] == [1]
    assert [g.label for g in runner.run.groups] == [g.label for g in runner.runs.get(1).groups]


def test_a_faded_run_is_not_stroked_again_while_the_live_curves_redraw(qtbot, window,
                                                                       monkeypatch):
    """The finished run's curve does not change while the live one grows: it is repainted from
    its cached pixels, not stroked again at every redraw (until the axes move)."""
    import pyqtgraph as pg

    painted = {"faded": 0, "live": 0}
    curves: dict[str, object] = {}
    real = pg.PlotCurveItem.paint

    def paint(self, *args):
        for name, curve in curves.items():
            if self is curve:
                painted[name] += 1
        return real(self, *args)

    # before the items exist: PySide looks an item's Python paint up once
    monkeypatch.setattr(pg.PlotCurveItem, "paint", paint)
    setup_moons(window, epochs=10)
    assert train(qtbot, window) == "completed"
    records = []
    window.training.runner.controller.metrics.connect(records.extend)
    assert train(qtbot, window) == "completed"  # run 2 goes on from run 1's weights
    window.run_bar.reset_button.click()  # both curves become one finished run, faded
    plots, loss = window.plots, window.plots.loss
    window.docks["plots"].show()
    window.docks["plots"].raise_()
    plots.tabs.setCurrentIndex(plots.TAB_NAMES.index("Loss"))
    qtbot.waitUntil(loss.graphics.isVisible)
    curves.update(faded=loss._old_items[1][0].curve, live=loss.batch_curve.curve)
    history = window.training.runner.history
    assert len(history) == 0 and len(records) > 30
    vb = loss.plot.getViewBox()
    history.append(records[:10])
    loss.refresh(history)
    vb.setRange(xRange=(0, len(records)), yRange=(0, 1), padding=0)
    vb.disableAutoRange()  # the axes stay: only the live curve changes
    loss.graphics.viewport().repaint()
    before = painted["faded"]
    for k in range(10, 30, 5):
        history.append(records[k:k + 5])
        assert loss.refresh(history)
        loss.graphics.viewport().repaint()
    assert painted["live"] >= 4
    assert painted["faded"] == before
