"""The training panel in the real window: runs in the worker thread, live plots, locking,
failures pointing at the node, trained weights kept beside the file."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from playground.training import load_params, weights_path


def setup_moons(window, epochs: int = 5000) -> None:
    window.open_example("moons_mlp")
    panel = window.training
    panel.epochs.setValue(epochs)
    panel.samples.setValue(300)


def test_train_pause_resume_stop_with_live_plots_and_a_locked_graph(qtbot, window):
    setup_moons(window)
    panel = window.training
    assert not window.docks["plots"].isVisible()
    assert panel.start()
    assert window.training_tools.lock_banner.isVisible() and window.scene.read_only
    assert not window.actions_["delete"].isEnabled() and not window.palette_panel.isEnabled()
    assert window.docks["plots"].isVisible()
    qtbot.waitUntil(lambda: len(panel.runner.history) > 20, timeout=10_000)
    loss_plot = window.plots.plots["Loss"]
    # drawn by the plots' timer (a first redraw may come before any record: wait for data)
    qtbot.waitUntil(lambda: loss_plot.redraws > 0
                    and loss_plot.batch_curve.getOriginalDataset()[1] is not None, timeout=5_000)
    x, y = loss_plot.batch_curve.getOriginalDataset()
    assert len(y) > 0 and np.all(np.isfinite(y))
    with qtbot.waitSignal(panel.runner.controller.paused_at, timeout=5_000) as paused:
        window.run_bar.train_button.click()  # pause
    step = paused.args[0]
    assert window.run_bar.train_button.text().endswith("Resume")
    assert panel.runner.history.last.step == step
    with qtbot.waitSignal(panel.runner.controller.metrics, timeout=5_000) as more:
        window.run_bar.train_button.click()  # resume
    assert more.args[0][0].step == step + 1
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=5_000) as done:
        window.run_bar.stop_button.click()
    assert done.args == ["stopped"]
    assert not window.training_tools.lock_banner.isVisible() and not window.scene.read_only
    assert window.actions_["delete"].isEnabled() or not window.scene.selected_node_ids()
    assert "Stopped" in panel.status.text()


def test_step_runs_exactly_one_minibatch(qtbot, window):
    setup_moons(window)
    panel = window.training
    with qtbot.waitSignal(panel.runner.controller.paused_at, timeout=5_000):
        window.run_bar.step_button.click()
    assert len(panel.runner.history) == 1 and panel.runner.history.last.step == 1
    with qtbot.waitSignal(panel.runner.controller.paused_at, timeout=5_000):
        window.run_bar.step_button.click()
    assert len(panel.runner.history) == 2
    with qtbot.waitSignal(panel.runner.controller.paused_at, timeout=5_000):
        window.run_bar.epoch_button.click()
    assert panel.runner.history.last.epoch_end
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=5_000):
        panel.runner.stop()


def test_changing_the_learning_rate_mid_run_is_applied_and_marked(qtbot, window):
    setup_moons(window)
    panel = window.training
    panel.lr.setText("0.01")
    with qtbot.waitSignal(panel.runner.controller.paused_at, timeout=5_000):
        window.run_bar.step_button.click()
    panel.lr.setText("0.002")
    panel.lr.editingFinished.emit()
    with qtbot.waitSignal(panel.runner.controller.paused_at, timeout=5_000):
        window.run_bar.step_button.click()
    assert panel.runner.history.last.lr == 0.002
    assert panel.runner.history.lr_changes == [(2, 0.002)]
    panel.runner.stop()


def test_a_non_finite_value_stops_and_points_at_the_node(qtbot, window):
    setup_moons(window, epochs=5)
    panel = window.training
    panel.optimizer.setCurrentText("sgd")
    panel.lr.setText("1e6")
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=10_000) as done:
        assert panel.start()
    assert done.args == ["failed"]
    selected = window.scene.selected_node_ids()
    assert len(selected) == 1
    item = window.scene.nodes[selected[0]]
    assert item.failed and "learning rate" in item.failed
    assert item.node_id in [n.id for n in window.document.model.nodes.values()]
    assert "learning rate" in panel.status.text()
    assert not window.scene.read_only  # the app keeps working
    panel.lr.setText("0.01")
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=10_000):
        panel.epochs.setValue(1)
        assert panel.start(reinit=True)
    assert not item.failed


def test_closing_the_window_mid_run_stops_the_worker(qtbot, window):
    setup_moons(window, epochs=100_000)
    panel = window.training
    assert panel.start()
    qtbot.waitUntil(lambda: len(panel.runner.history) > 5, timeout=10_000)
    window.document.forget_changes()
    window.close()
    assert not panel.runner.controller.running


def test_trained_weights_are_saved_beside_the_graph_and_restored(qtbot, window, tmp_path):
    setup_moons(window, epochs=3)
    panel = window.training
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        panel.start()
    trained = {k: v.copy() for k, v in panel.session.compiled.param_arrays().items()}
    path = tmp_path / "moons.json"
    assert window.files.save_to(path)
    saved = load_params(weights_path(path))
    assert set(saved) == set(trained)
    for k, v in trained.items():
        np.testing.assert_array_equal(saved[k], v)
    window.open_example("square_of_sum")
    assert window.open_file(path)
    program = window.session.program()
    assert window.session.params_trained  # the file's weights: the next run goes on from them
    for k, v in trained.items():
        np.testing.assert_array_equal(program.param_arrays()[k], v)
    # a run continues from them: its first loss is the trained model's loss, not a fresh one's
    window.training.epochs.setValue(1)
    with qtbot.waitSignal(window.training.runner.controller.finished, timeout=20_000):
        assert window.training.start()
    assert window.training.runner.history.step.view()[0] == 1
    assert window.training.runner.history.batch_loss.view()[0] < 0.45


def test_a_graph_that_cannot_train_says_why(window):
    window.open_example("square_of_sum")
    panel = window.training
    assert not panel.start()
    assert "not a loss" in panel.status.text()
    assert not panel.runner.controller.running
    window.files.new_file()  # an empty graph: says so, not "cannot tell which node ..."
    assert not panel.start()
    assert "graph is empty" in panel.status.text() and "Palette" in panel.status.text()
    assert not panel.runner.controller.running


def test_csv_import_trains(qtbot, window, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    csv = tmp_path / "pts.csv"
    csv.write_text("a,b,side\n" + "".join(f"{p:.4f},{q:.4f},{c}\n" for (p, q), c in zip(X, y)))
    setup_moons(window, epochs=2)
    panel = window.training
    assert panel.import_csv_file(str(csv), label="side")
    assert panel.dataset.current_key() == panel.dataset.CSV_KEY
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000) as done:
        assert panel.start()
    assert done.args == ["completed"]
    assert panel.runner.split.dataset.classes == ("down", "up")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,side\n1,2,up\n3,x,down\n")
    assert not panel.import_csv_file(str(bad), label="side")
    assert "line 3" in panel.status.text()


def test_plots_receive_the_run(qtbot, window):
    setup_moons(window, epochs=3)
    panel = window.training
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        panel.start()
    QApplication.processEvents()
    history = panel.runner.history
    assert len(history) == history.last.step
    plots = window.plots
    assert plots.snapshot is not None and plots.snapshot.boundary is not None
    for tab in range(plots.tabs.count()):
        if plots.tabs.isTabEnabled(tab):
            plots.tabs.setCurrentIndex(tab)
            plots.redraw()
    x, y = plots.plots["Loss"].batch_curve.getOriginalDataset()
    np.testing.assert_array_equal(y, history.batch_loss.view())
    assert pytest.approx(history.val_accuracy.view()[-1]) == history.last.val_accuracy


def test_going_on_with_another_optimizer_and_batch_marks_the_change_on_the_curves(qtbot, window):
    setup_moons(window, epochs=1)
    panel = window.training
    panel.optimizer.setCurrentText("adam")
    panel.batch.setValue(32)
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    first = panel.runner.history.total_steps
    panel.optimizer.setCurrentText("sgd")
    panel.batch.setValue(64)
    panel.lr.setText("0.003")
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    h = panel.runner.history
    assert h.total_steps > first and h.step.view()[0] == 1  # the same curves, gone on
    assert h.setting_changes == [(first + 1, "adam → sgd, batch 32 → 64")]
    plot = window.plots.loss
    window.plots.show_tab("Loss")
    window.plots.redraw()
    assert [line.label.format for line in plot.lr_lines] == ["lr → 0.003, adam → sgd, batch 32 → 64"]
    assert [line.value() for line in plot.lr_lines] == [first + 1]
    run = panel.runner.run
    assert run.facts["optimizer"] == "adam → sgd" and run.facts["batch"] == "batch 32 → 64"
    # the same settings again: nothing more to mark
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    assert len(h.setting_changes) == 1


def test_train_again_continues_the_curves_and_reset_starts_over(qtbot, window):
    setup_moons(window, epochs=2)
    panel = window.training
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    first = panel.runner.history.total_steps
    per = panel.runner.history.last.steps_per_epoch
    assert first == 2 * per and "Train goes on from these weights" in panel.status.text()
    assert panel.progress.value() == 1000 and panel.progress.text() == "finished 2 epochs"
    panel.lr.setText("0.003")
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    h = panel.runner.history
    steps = h.step.view()
    assert h.total_steps == 2 * first and np.all(np.diff(steps) == 1)  # one curve, no restart
    np.testing.assert_array_equal(h.epoch_index.view(), [1, 2, 3, 4])
    assert np.all(np.diff(h.elapsed.view()) >= 0) and h.steps_per_second() > 0
    assert h.lr_changes == [(first + 1, 0.003)]  # marked where the second run began
    # the panel counts as the run bar does: this run's epochs and all of them
    assert panel.progress.text() == "finished 2 more epochs (4 in all)"
    assert window.run_bar.counter.text().startswith("epoch <b>4</b>/4")
    x = window.plots.loss.batch_curve.getOriginalDataset()[0]
    assert x is None or len(x) == 0 or x[-1] <= 2 * first
    # other data: new curves
    panel.samples.setValue(200)
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    assert panel.runner.history.step.view()[0] == 1 and panel.runner.history.total_steps < first
    # Reset: nothing left, the progress idle
    window.run_bar.reset_button.click()
    assert len(panel.runner.history) == 0 and panel.progress.text() == "idle"
    assert original_len(window.plots.loss.batch_curve) == 0


def original_len(curve) -> int:
    x, _ = curve.getOriginalDataset()
    return 0 if x is None else len(x)


def test_training_marks_the_graph_modified_and_its_settings_are_saved(qtbot, window, tmp_path):
    setup_moons(window, epochs=1)
    panel = window.training
    path = tmp_path / "moons.json"
    assert window.files.save_to(path) and not window.document.modified
    panel.lr.setText("0.003")
    panel.optimizer.setCurrentText("momentum")
    panel.batch.setValue(16)
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    assert window.document.modified and window.isWindowModified()
    window.questions.clear()
    window.files.new_file()  # asks first: the trained weights are not saved yet
    assert window.questions == ["moons.json"]
    assert window.open_file(path) is not None
    window.open_file(path)
    assert window.training.lr.text() != "0.003"  # discarded, as answered
    with qtbot.waitSignal(window.training.runner.controller.finished, timeout=20_000):
        window.training.lr.setText("0.003")
        window.training.optimizer.setCurrentText("momentum")
        window.training.batch.setValue(16)
        assert window.training.start()
    assert window.files.save_to(path) and not window.document.modified
    window.open_example("square_of_sum")
    assert window.open_file(path)
    p = window.training
    assert (p.lr.text(), p.optimizer.currentText(), p.batch.value()) == ("0.003", "momentum", 16)


def test_an_invalid_learning_rate_during_a_run_keeps_the_rate_in_use(qtbot, window):
    setup_moons(window, epochs=100_000)
    panel = window.training
    panel.lr.setText("0.01")
    assert panel.start()
    panel.lr.setText("abc")
    panel.lr.editingFinished.emit()
    assert panel.lr.text() == "0.01" and "not 'abc'" in panel.status.text()
    qtbot.waitUntil(lambda: len(panel.runner.history) > 0, timeout=10_000)
    with qtbot.waitSignal(panel.runner.controller.paused_at, timeout=5_000):
        window.run_bar.train_button.click()
    assert "Paused" in panel.status.text() and panel.progress.text().startswith("paused at epoch")
    with qtbot.waitSignal(panel.runner.controller.resumed, timeout=5_000):
        window.run_bar.train_button.click()
    assert "Paused" not in panel.status.text()
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=5_000):
        panel.runner.stop()
    assert panel.progress.text().startswith("stopped at epoch")


def test_a_diverged_run_says_the_next_starts_from_fresh_weights(qtbot, window):
    setup_moons(window, epochs=5)
    panel = window.training
    panel.optimizer.setCurrentText("sgd")
    panel.lr.setText("1e6")
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    assert "fresh weights" in panel.status.text()
    assert any(item.failed for item in window.scene.nodes.values())  # the node is marked
    panel.lr.setText("0.01")
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    assert np.all(np.isfinite(panel.runner.history.batch_loss.view()))
    assert all(np.all(np.isfinite(a)) for a in panel.session.compiled.param_arrays().values())
    window.run_bar.reset_button.click()
    assert not any(item.failed for item in window.scene.nodes.values())


def test_the_run_bar_learning_rate_box_is_the_panels_setting_and_changes_a_live_run(qtbot, window):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    setup_moons(window, epochs=100_000)
    panel, box = window.training, window.run_bar.lr_edit
    panel.lr.setText("0.01")
    assert box.text() == "0.01"  # the panel's field shows in the run bar
    assert panel.start()
    qtbot.waitUntil(lambda: len(panel.runner.history) > 0, timeout=10_000)
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, "0.004")
    QTest.keyClick(box, Qt.Key.Key_Return)
    assert panel.lr.text() == "0.004"
    qtbot.waitUntil(lambda: any(lr == 0.004 for _, lr in panel.runner.history.lr_changes),
                    timeout=10_000)  # applied at the next step, marked on the curve
    box.setText("abc")  # refused as in the panel: the rate in use stays, the box follows it
    box.editingFinished.emit()
    assert panel.lr.text() == "0.004" and box.text() == "0.004"
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=5_000):
        panel.runner.stop()


def test_the_progress_bar_is_repainted_by_the_event_loop_not_inside_the_update(qtbot, window):
    """QProgressBar.setValue repaints at once when its bar or text moves; called from Python
    that paint holds the interpreter lock the training thread needs. The panel's update only
    stores the value and the bar is painted afterwards, from the event loop."""
    from tests.ui.helpers import PaintCounter

    setup_moons(window)
    panel = window.training
    bar = panel.progress
    qtbot.waitUntil(bar.isVisible)
    paints = PaintCounter()
    bar.installEventFilter(paints)
    for k in range(1, 6):
        before = paints.count
        panel._set_progress(k / 10, f"{k},000 steps/s")  # no run: shown at once
        assert paints.count == before  # not painted inside the update
        assert bar.value() == 100 * k and bar.text() == f"{k},000 steps/s"
        qtbot.waitUntil(lambda before=before: paints.count > before, timeout=5_000)


def test_during_a_run_the_counter_and_progress_follow_the_batches_without_timers(qtbot, window):
    """The run bar's numbers and the panel's progress are updated by the metrics batches
    themselves (a few times a second), not by timers of their own: each timer wake-up takes the
    interpreter lock from the training thread."""
    from PySide6.QtCore import QTimer

    setup_moons(window)
    panel, bar = window.training, window.run_bar
    controller = panel.runner.controller
    counters, progress = set(), set()
    controller.metrics.connect(lambda _b: (counters.add(bar.counter.text()),
                                           progress.add(panel.progress.value())))
    assert panel.start()
    qtbot.waitUntil(lambda: len(counters) >= 4 and len(progress) >= 4, timeout=20_000)
    ticking = [t for w in (bar, panel) for t in w.findChildren(QTimer) if t.isActive()]
    assert ticking == []
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        window.run_bar.stop_button.click()
    h = panel.runner.history
    assert f"step <b>{h.total_steps:,}</b>" in bar.counter.text()  # the end is shown in full
