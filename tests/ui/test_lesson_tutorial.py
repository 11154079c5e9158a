"""The tutorial lessons driven through the window (issue 14): tutorial_2_2_1 opened, stepped
forward and backward with Next, then its one training step, ends with W1 and W2 as the
tutorial prints them, in the program and on the Math card; digits_tutorial's last step trains
digits_mlp in the background and draws its loss on the Loss plot."""

from __future__ import annotations

import numpy as np

from playground.engine.formatting import listing
from playground.lessons import lesson_for
from playground.training.example_run import run_example
from tests.tutorial_recipe import tutorial_recipe
from tests.ui.helpers import select

PRINTED_W1 = np.array([[0.40025, 0.30026], [0.20061, 0.70063]])
PRINTED_W2 = np.array([[0.60230], [0.80279]])
W1_START = np.array([[0.4, 0.3], [0.2, 0.7]])


def click_next(qtbot, lesson) -> None:
    before = lesson.index
    qtbot.mouseClick(lesson.next_button, qtbot_left())
    assert lesson.index == before + 1


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def weights(window, name: str) -> np.ndarray:
    return np.array(window.session.compiled.value(name))


def test_tutorial_2_2_1_lesson_ends_with_the_printed_weights(qtbot, window):
    window.open_example("tutorial_2_2_1")
    lesson, stepper = window.lesson, window.stepper
    assert window.docks["lesson"].isVisible()
    assert lesson.lesson.example == "tutorial_2_2_1" and lesson.index == 0
    kinds = [s.kind for s in lesson.lesson.steps]
    recipe = tutorial_recipe()
    # forward, gate by gate
    while kinds[lesson.index + 1] == "forward":
        click_next(qtbot, lesson)
    assert stepper.program is not None
    assert float(stepper.program.value("output")[0, 0]) == np.float64(recipe["output"][0, 0])
    assert abs(float(stepper.program.value("output")[0, 0]) - 0.7846) < 1e-4
    # backward, wire by wire: the gradients are the tutorial's
    while kinds[lesson.index + 1] == "backward":
        click_next(qtbot, lesson)
    np.testing.assert_allclose(stepper.program.grad("W1"), recipe["d_W1"], rtol=1e-12)
    np.testing.assert_allclose(stepper.program.grad("W2"), recipe["d_W2"], rtol=1e-12)
    # the one training step, in the training thread
    assert kinds[lesson.index + 1] == "train_step"
    runner = window.session.runner
    with qtbot.waitSignal(runner.finished, timeout=20_000):
        click_next(qtbot, lesson)
    assert not runner.running and not window.session.locked
    assert len(runner.history) == 1  # exactly one update
    W1, W2 = weights(window, "W1"), weights(window, "W2")
    np.testing.assert_allclose(W1, PRINTED_W1, atol=1e-4)
    np.testing.assert_allclose(W2, PRINTED_W2, atol=1e-4)
    np.testing.assert_allclose(W1, recipe["W1"], atol=1e-10)
    np.testing.assert_allclose(W2, recipe["W2"], atol=1e-10)
    np.testing.assert_array_equal(weights(window, "b1"), [[0.1, 0.2]])  # frozen
    # the last steps select W1 and W2: the Math card shows them as trained, every element
    click_next(qtbot, lesson)
    assert window.session.selected_node_ids() and "W1" in window.math_card.text()
    assert f"W1 = {listing(recipe['W1'], precision=6)}" in window.math_card.text()
    assert "W1 = [[0.400254, 0.30026], [0.20061, 0.700625]]" in window.math_card.text()
    click_next(qtbot, lesson)
    assert lesson.index == len(kinds) - 1 and not lesson.next_button.isEnabled()
    assert f"W2 = {listing(recipe['W2'], precision=6)}" in window.math_card.text()


def test_going_back_before_the_training_step_shows_the_starting_weights_again(qtbot, window):
    window.open_example("tutorial_2_2_1")
    lesson, runner = window.lesson, window.session.runner
    kinds = [s.kind for s in lesson.lesson.steps]
    train_at = kinds.index("train_step")
    lesson.go_to(train_at - 1)
    with qtbot.waitSignal(runner.finished, timeout=20_000):  # a run of one's own first
        window.run_bar.train_button.click()
    assert not np.allclose(weights(window, "W1"), W1_START)
    with qtbot.waitSignal(runner.finished, timeout=20_000):
        lesson.next()  # the lesson's step starts from the example's weights all the same
    np.testing.assert_allclose(weights(window, "W1"), tutorial_recipe()["W1"], atol=1e-10)
    qtbot.mouseClick(lesson.back_button, qtbot_left())  # the last backward step again
    np.testing.assert_array_equal(weights(window, "W1"), W1_START)
    stepper = window.stepper
    assert abs(float(stepper.program.value("output")[0, 0]) - 0.7846) < 1e-4  # not 0.7852
    # and the training step again trains from the start: the same printed weights, not two steps
    with qtbot.waitSignal(runner.finished, timeout=20_000):
        lesson.next()
    np.testing.assert_allclose(weights(window, "W1"), tutorial_recipe()["W1"], atol=1e-10)
    # Back onto the training step itself trains again from the start: still one step
    lesson.go_to(len(kinds) - 1)
    with qtbot.waitSignal(runner.finished, timeout=20_000):
        lesson.go_to(train_at)
    np.testing.assert_allclose(weights(window, "W1"), tutorial_recipe()["W1"], atol=1e-10)
    # arriving at a later step by Back keeps the trained weights
    lesson.go_to(len(kinds) - 1)
    qtbot.mouseClick(lesson.back_button, qtbot_left())
    np.testing.assert_allclose(weights(window, "W1"), tutorial_recipe()["W1"], atol=1e-10)
    select(window, "W1")
    assert "0.400254" in window.math_card.text()


def test_digits_tutorial_compares_with_digits_mlp_on_the_loss_plot(qtbot, window):
    window.open_example("digits_tutorial")
    lesson = window.lesson
    steps = lesson.lesson.steps
    assert steps[-1].action == "compare:digits_mlp"
    comparison = window.session.comparison
    with qtbot.waitSignal(comparison.done, timeout=30_000):
        lesson.go_to(len(steps) - 1)  # the real run: digits_mlp, 40 epochs, its own settings
    run = comparison.result
    assert run is not None and run.example == "digits_mlp"
    assert not window.session.runner.running  # the lesson's own run was not started
    # the run the lesson states: 97.2% of the 539 held-out digits
    assert run.accuracy_part == "validation" and f"{100 * run.accuracy:.1f}%" == "97.2%"
    assert "97.2%" in steps[-1].text
    assert len(run.step) == 40 * 40  # 1258 training digits in batches of 32
    # faded on the Loss plot, named in the legend, on a log axis
    plots = window.plots
    loss = plots.loss
    assert plots.tabs.currentWidget() is loss and window.docks["plots"].isVisible()
    x, y = loss.compare_curve.getOriginalDataset()
    np.testing.assert_array_equal(y, run.batch_loss)
    np.testing.assert_array_equal(x, run.step)
    assert loss.legend.getLabel(loss.compare_curve).text == "digits_mlp (compared)"
    assert loss.compare_curve.opts["pen"].color().alpha() < 255
    assert loss.log_y.isChecked()
    loss.set_x_mode("epoch")  # the curve follows the x axis
    x, _ = loss.compare_curve.getOriginalDataset()
    assert x[-1] == 40.0
    assert "97.2% validation accuracy" in lesson.action_note.text()
    # another graph: the comparison goes
    window.open_example("square_of_sum")
    assert loss.compare_curve is None and comparison.result is None


def test_the_comparison_matches_a_run_of_the_example_itself():
    """What the lesson draws is the example's own run (the same losses as a headless run)."""
    a = run_example("moons_mlp", epochs=2)
    b = run_example("moons_mlp", epochs=2)
    np.testing.assert_array_equal(a.batch_loss, b.batch_loss)
    assert a.epoch.tolist() == [1, 2] and a.epoch_pos[-1] == 2.0
    assert lesson_for("digits_tutorial").steps[-1].argument == "digits_mlp"
