"""The Training panel's data choices from issue 14: the CSV dialog's task and test fraction,
the test fraction and full batch in the panel, the test part's score when a run ends, and the
typed values as the dataset."""

from __future__ import annotations

import numpy as np
import pytest

from playground.training.workbench import score

PRINTED_W1 = np.array([[0.40025, 0.30026], [0.20061, 0.70063]])


def write_csv(path, n: int = 120, seed: int = 2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)  # 0/1: auto reads it as two classes
    path.write_text("u,v,out\n" + "".join(f"{a:.5f},{b:.5f},{c}\n" for (a, b), c in zip(X, y)))
    return path


def test_the_csv_dialog_sets_the_task_and_the_test_fraction(qtbot, window, tmp_path):
    csv = write_csv(tmp_path / "pts.csv")
    window.open_example("sine_regression")  # a regression graph: 1 output, MSE
    panel = window.training
    assert panel.import_csv_file(str(csv), label="out", task="regression", test_fraction=0.25)
    data = window.session.data
    assert (data.csv, data.task, data.test_fraction) == (str(csv), "regression", 0.25)
    assert panel.test_fraction.value() == 0.25
    split = window.session.split()
    assert split.dataset.task == "regression"
    assert len(split.y_test) == 30  # a quarter of 120
    # auto: the same column read as two classes
    assert panel.import_csv_file(str(csv), label="out", task="auto", test_fraction=0.0)
    assert window.session.data.task is None
    assert window.session.split().dataset.task == "classification"


def test_test_fraction_and_full_batch_reach_the_run(qtbot, window):
    window.open_example("moons_mlp")
    panel = window.training
    panel.samples.setValue(200)
    panel.test_fraction.setValue(0.2)
    panel.full_batch.setChecked(True)
    assert not panel.batch.isEnabled()  # the batch size is not used
    panel.epochs.setValue(3)
    s = window.session
    assert s.data.test_fraction == 0.2 and s.config.full_batch
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000) as done:
        assert panel.start()
    assert done.args == ["completed"]
    last = panel.runner.history.last
    assert last.steps_per_epoch == 1 and last.step == 3  # one step per epoch: the whole part
    assert len(panel.runner.split.y_test) == 40
    # the end of the run shows the test part's score, in the panel itself
    line = panel.held_out
    assert line.isVisible()
    assert line.result.accuracy == last.test_accuracy and line.result.loss == last.test_loss
    assert f"{100 * last.test_accuracy:.1f}%" in line.text() and "40 held out" in line.text()
    # the settings are the graph's: saved with it, shown again when it is read back
    meta = s.root.model.meta["training"]
    assert meta["test_fraction"] == 0.2 and meta["full_batch"] is True
    window.run_bar.reset_button.click()
    assert not line.isVisible()


def test_a_stopped_run_scores_the_test_part_with_the_weights_it_reached(qtbot, window):
    window.open_example("moons_mlp")
    panel = window.training
    panel.samples.setValue(200)
    panel.test_fraction.setValue(0.25)
    panel.epochs.setValue(100_000)
    runner = panel.runner
    with qtbot.waitSignal(runner.controller.metrics, timeout=20_000):
        assert panel.start()
    with qtbot.waitSignal(runner.finished, timeout=20_000) as done:
        runner.stop()
    assert done.args == ["stopped"]
    want = score(window.session.compiled, runner.split, runner.binding)["test"]
    line = panel.held_out
    assert line.isVisible() and line.result == want and want.samples == 50
    assert f"{100 * want.accuracy:.1f}%" in line.text()


def test_no_test_part_no_line(qtbot, window):
    window.open_example("moons_mlp")
    panel = window.training
    panel.samples.setValue(100)
    panel.epochs.setValue(1)
    assert panel.test_fraction.value() == 0.0
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    assert not panel.held_out.isVisible() and panel.held_out.result is None


def test_the_typed_values_train_end_to_end(qtbot, window):
    """tutorial_2_2_1 trains on the example typed into its inputs: the panel shows 'typed
    values', and Train (its settings: 1 epoch, full batch, SGD 0.1) gives the printed W1."""
    window.open_example("tutorial_2_2_1")
    panel = window.training
    assert panel.dataset.currentText() == "typed values"
    assert panel.full_batch.isChecked() and panel.val_fraction.value() == 0.0
    assert not panel.standardize.isChecked()
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000) as done:
        window.run_bar.train_button.click()
    assert done.args == ["completed"]
    assert panel.runner.split.dataset.n_samples == 1
    W1 = window.session.trained_arrays()["W1"]
    np.testing.assert_allclose(W1, PRINTED_W1, atol=1e-4)
    assert panel.held_out.result is None  # one example: no test part
    assert "Finished 1 epoch" in panel.status.text()


@pytest.mark.parametrize("fraction", [0.0, 0.3])
def test_the_dialog_offers_the_panels_test_fraction(window, tmp_path, fraction):
    from playground.ui.training.data_widgets import CsvImportDialog

    window.training.test_fraction.setValue(fraction)
    dialog = CsvImportDialog(str(write_csv(tmp_path / "p.csv")), window.training,
                             window.training.test_fraction.value())
    try:
        assert dialog.test_fraction.value() == fraction
        assert [dialog.task.itemText(i) for i in range(dialog.task.count())] == \
            ["auto", "classification", "regression"]
        assert dialog.options()["test_fraction"] == fraction
    finally:
        dialog.deleteLater()
