"""The training worker thread and its controller: real threads, real data, real examples.

Every wait is on a signal or a condition (pytest-qt), never a sleep. The autouse fixture in
conftest.py fails a test that leaves a QThread running; the controllers here are children of the
QApplication so that it sees their threads.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QWidget

from playground.graph import GraphModel, compile_graph, load
from playground.resources import example_path
from playground.training import Metrics, TrainConfig, Trainer, TrainingError, predict_classes
from playground.training.datasets import load_dataset, split
from playground.ui.training import worker as worker_module
from playground.ui.training.history import MetricsHistory, ViewSnapshot
from playground.ui.training.controller import TrainingController
from playground.ui.training.worker import make_view_snapshot

ROOT = Path(__file__).resolve().parents[2]
WAIT = 15_000  # ms: generous, the machine may be busy; a passing run takes a fraction of it
LONG = TrainConfig(epochs=100_000, batch_size=32, lr=0.01, optimizer="adam", seed=1)


@pytest.fixture(scope="module")
def moons():
    return split(load_dataset("moons", n_samples=300), val_fraction=0.3, seed=0)


def moons_program():
    return compile_graph(load(example_path("moons_mlp")))


def steps_per_epoch(data, batch_size: int = 32) -> int:
    return math.ceil(data.X_train.shape[0] / batch_size)


class Recorder:
    """Everything the controller emits, in order, plus a MetricsHistory fed like the GUI's."""

    def __init__(self, ctl: TrainingController) -> None:
        self.history = MetricsHistory()
        self.batches: list[tuple[Metrics, ...]] = []
        self.snapshots: list[ViewSnapshot] = []
        self.events: list[tuple] = []
        ctl.metrics.connect(self._metrics)
        ctl.snapshot.connect(self._snapshot)
        ctl.paused_at.connect(lambda step: self.events.append(("paused_at", step)))
        ctl.resumed.connect(lambda: self.events.append(("resumed",)))
        ctl.lr_changed.connect(lambda step, lr: self.events.append(("lr_changed", step, lr)))
        ctl.failed.connect(lambda msg, node: self.events.append(("failed", msg, node)))
        ctl.finished.connect(lambda reason: self.events.append(("finished", reason)))

    def _metrics(self, batch) -> None:
        self.batches.append(batch)
        self.history.append(batch)
        self.events.append(("metrics", len(batch)))

    def _snapshot(self, snap) -> None:
        self.snapshots.append(snap)
        self.events.append(("snapshot", snap.step))

    def names(self) -> list[str]:
        return [e[0] for e in self.events]

    def steps(self) -> np.ndarray:
        return self.history.step.view().astype(int)


@pytest.fixture
def controller(qapp):
    ctl = TrainingController(qapp)  # a child of the app: the conftest fixture sees its thread
    yield ctl
    leaked = ctl.running
    ctl.stop()
    ctl.setParent(None)
    ctl.deleteLater()
    assert not leaked, "the test left a run live"


def test_start_pause_resume_stop(qtbot, controller, moons):
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(moons_program(), moons, LONG)
    assert controller.running and not controller.paused
    batch = rec.batches[0]
    assert isinstance(batch, tuple) and all(isinstance(m, Metrics) for m in batch)
    # the worker thread also built the batch's columns, so the GUI thread only copies arrays
    assert batch.columns.rows == len(batch)
    np.testing.assert_array_equal(batch.columns.scalars[:, 0], [m.step for m in batch])

    with qtbot.waitSignal(controller.paused_at, timeout=WAIT) as paused:
        controller.pause()
    at = paused.args[0]
    assert at >= 1 and controller.paused
    # everything up to the pause was flushed before paused_at, with a snapshot of that step
    assert list(rec.steps()) == list(range(1, at + 1))
    assert controller.trainer.step_count == at
    assert rec.snapshots[-1].step == at
    assert rec.names()[-2:] == ["snapshot", "paused_at"]
    # paused: the worker is blocked, so the GUI may read the live arrays
    live = controller.trainer.program.param_arrays()
    for name, copy in rec.snapshots[-1].params.items():
        assert np.array_equal(copy, live[name]) and not np.shares_memory(copy, live[name])

    k = len(rec.batches)
    paused_elapsed = rec.batches[k - 1][-1].elapsed
    qtbot.wait(600)  # the pause itself (not a synchronisation): 0.6 s of no training
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.resume()
    assert not controller.paused
    assert rec.batches[k][0].step == at + 1  # training went on from where it stopped
    # the run's clock leaves the pause out (steps/s and the time left count training only)
    assert rec.batches[k][0].elapsed - paused_elapsed < 0.3
    assert ("resumed",) in rec.events[rec.events.index(("paused_at", at)):]

    with qtbot.waitSignal(controller.finished, timeout=WAIT) as done:
        assert controller.stop()
    assert done.args == ["stopped"]
    assert not controller.running and not controller.paused
    n = controller.trainer.step_count
    assert list(rec.steps()) == list(range(1, n + 1))  # no gap, no duplicate, all flushed
    assert rec.names()[-1] == "finished" and rec.names().count("finished") == 1
    assert rec.snapshots[-1].step == n


def test_step_once_from_paused_start_runs_exactly_one_step(qtbot, controller, moons):
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT) as paused:
        controller.start(moons_program(), moons, LONG, start_paused=True)
    assert paused.args == [0] and controller.paused
    assert len(rec.history) == 0 and controller.trainer.step_count == 0
    assert rec.snapshots[-1].step == 0  # the initial weights

    with qtbot.waitSignal(controller.paused_at, timeout=WAIT) as paused:
        controller.step_once()
    assert paused.args == [1]
    assert len(rec.history) == 1 and controller.trainer.step_count == 1
    assert rec.history.last.step == 1 and rec.snapshots[-1].step == 1
    assert controller.paused

    with qtbot.waitSignal(controller.paused_at, timeout=WAIT) as paused:
        controller.step_once()
    assert paused.args == [2] and list(rec.steps()) == [1, 2]
    with qtbot.waitSignal(controller.finished, timeout=WAIT) as done:
        controller.stop()
    assert done.args == ["stopped"] and controller.trainer.step_count == 2
    assert [s.step for s in rec.snapshots] == [0, 1, 2]  # stopping while paused adds none


def test_step_epoch_pauses_at_each_epoch_end_and_finishes_after_the_last(qtbot, controller, moons):
    rec = Recorder(controller)
    per = steps_per_epoch(moons)
    config = TrainConfig(epochs=3, batch_size=32, lr=0.01, optimizer="adam")
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT):
        controller.start(moons_program(), moons, config, start_paused=True)
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT) as paused:
        controller.step_epoch()
    assert paused.args == [per] and controller.trainer.step_count == per
    assert rec.history.last.epoch_end and rec.history.last.epoch == 1
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT) as paused:
        controller.step_once()
    assert paused.args == [per + 1]
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT) as paused:
        controller.step_epoch()  # from inside an epoch: to its end
    assert paused.args == [2 * per] and rec.history.last.epoch == 2
    # the last epoch end is the end of the run: finish instead of pausing there
    with qtbot.waitSignal(controller.finished, timeout=WAIT) as done:
        controller.step_epoch()
    assert done.args == ["completed"]
    assert ("paused_at", 3 * per) not in rec.events
    assert list(rec.steps()) == list(range(1, 3 * per + 1))
    assert list(rec.history.epoch_index.view()) == [1, 2, 3]


def test_set_lr_mid_run_applies_from_the_reported_step(qtbot, controller, moons):
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(moons_program(), moons, LONG)
    with qtbot.waitSignal(controller.lr_changed, timeout=WAIT) as changed:
        controller.set_lr(0.0025)
    step, lr = changed.args
    assert lr == 0.0025 and step >= 2
    qtbot.waitUntil(lambda: len(rec.history) >= step + 5, timeout=WAIT)
    lrs = rec.history.lr.view()
    assert np.all(lrs[: step - 1] == 0.01)  # steps 1 .. step-1
    assert np.all(lrs[step - 1:] == 0.0025)  # from `step` on
    assert rec.history.lr_changes == [(step, 0.0025)]
    with pytest.raises(TrainingError, match="positive"):
        controller.set_lr(-1.0)
    with pytest.raises(TrainingError, match="positive"):
        controller.set_lr(float("nan"))
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.stop()


def test_the_worker_hands_the_gil_to_a_lagging_gui_thread_only(qtbot, controller, moons):
    """While the GUI thread runs its event loop it acknowledges every metrics batch and the
    worker never gives up time; while the GUI thread is busy (here: a long computation in a
    slot-like stretch that processes no events) the batches pile up unacknowledged and the
    worker yields after every step."""
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(moons_program(), moons, LONG)
    info = controller.info
    qtbot.waitUntil(lambda: info.emits >= 2, timeout=WAIT)
    steps0, yields0, emits0 = controller.trainer.step_count, info.gui_yields, info.emits
    qtbot.waitUntil(lambda: info.emits >= emits0 + 8, timeout=WAIT)
    # the GUI keeps up: (almost) no yields. A loaded machine can starve the GUI thread for a
    # moment, and then it really is behind (CI once saw one step in nine yield over the first
    # batches); a worker that yields regardless of the GUI yields at every step
    kept_steps = controller.trainer.step_count - steps0
    assert info.gui_yields - yields0 <= kept_steps // 4
    # busy in Python without processing events, as a long paint or slot would be: the batches
    # pile up unacknowledged and the worker starts yielding (once a batch waits GUI_LAG
    # unhandled); from then on, counted over 0.3 s, it yields at every step
    start, before = time.perf_counter(), info.gui_yields
    x = np.ones(64)
    while info.gui_yields == before and time.perf_counter() < start + 10:
        x = np.tanh(x + 1e-3)
    assert info.gui_yields > before, "the worker never noticed the GUI thread was behind"
    steps0, yields0 = controller.trainer.step_count, info.gui_yields
    counted = time.perf_counter()
    while time.perf_counter() < counted + 0.3:
        x = np.tanh(x + 1e-3)
    stalled_steps = controller.trainer.step_count - steps0
    stalled_yields = info.gui_yields - yields0
    assert stalled_steps > 0 and stalled_yields > 0
    # once the GUI thread lags, every step hands the GIL over (one may straddle the count)
    assert stalled_yields >= stalled_steps - 1
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.stop()


def test_periodic_snapshots_compute_only_the_views_on_screen(qtbot, controller, moons):
    rec = Recorder(controller)
    controller.set_views(frozenset())  # e.g. the Loss tab: no boundary, no predictions
    config = TrainConfig(epochs=2, batch_size=32, lr=0.01, optimizer="adam", seed=1)
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.start(moons_program(), moons, config, snapshot_interval=0)
    *periodic, final = rec.snapshots
    assert len(periodic) >= 5
    assert all(s.boundary is None and s.val_pred is None and s.params for s in periodic)
    assert final.boundary is not None and final.val_pred is not None  # the end has everything
    rec2 = Recorder(controller)
    controller.set_views({"boundary"})
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.start(moons_program(), moons, config, snapshot_interval=0)
    periodic = rec2.snapshots[:-1]
    assert all(s.boundary is not None and s.val_pred is None for s in periodic)
    controller.set_views(None)


def test_periodic_snapshots_come_no_faster_than_the_canvas_shows_them(
        qtbot, controller, moons, monkeypatch):
    """The live canvas paces its updates by their cost; the worker's periodic snapshots follow
    that pace (one the canvas would replace unseen costs the training thread for nothing)."""
    made: list[float] = []  # when the worker made each snapshot
    make = worker_module.make_view_snapshot

    def making(*args, **kwargs):
        made.append(time.perf_counter())
        return make(*args, **kwargs)

    monkeypatch.setattr(worker_module, "make_view_snapshot", making)
    # (the time budget is tested on its own: here a busy machine's slower snapshots must not
    # space them out by their cost)
    monkeypatch.setattr(worker_module, "SNAPSHOT_BUDGET", 1.0)
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(moons_program(), moons, LONG, snapshot_interval=0.01)
    qtbot.waitUntil(lambda: len(rec.snapshots) >= 5, timeout=WAIT)
    controller.set_snapshot_pace(0.25)  # the canvas shows one every 0.25 s
    # every snapshot begun from now on schedules the next one with that pace
    fast = len(made)
    qtbot.waitUntil(lambda: len(made) >= fast + 5, timeout=WAIT)
    gaps = [b - a for a, b in zip(made[fast:], made[fast + 1:])]
    assert len(gaps) >= 4 and all(g >= 0.25 for g in gaps)
    controller.set_snapshot_pace(0.0)  # back to the worker's own interval
    paced = len(made)
    qtbot.waitUntil(lambda: len(made) >= paced + 10, timeout=WAIT)
    assert min(b - a for a, b in zip(made[paced:], made[paced + 1:])) < 0.2
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.stop()


def test_periodic_snapshots_take_at_most_their_share_of_the_run(qtbot, controller, moons,
                                                                 monkeypatch):
    """A costly snapshot (a large model) spaces the next periodic one out so that snapshots take
    at most SNAPSHOT_BUDGET of the run's time, however short the interval asked."""
    made: list[tuple[float, float]] = []  # (began, ended) of each periodic snapshot
    make = worker_module.make_view_snapshot
    cost = 0.02  # seconds: each snapshot made this slow

    def slow(*args, **kwargs):
        began = time.perf_counter()
        snap = make(*args, **kwargs)
        while time.perf_counter() - began < cost:  # busy, as a real costly snapshot is
            pass
        made.append((began, time.perf_counter()))
        return snap

    monkeypatch.setattr(worker_module, "make_view_snapshot", slow)
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(moons_program(), moons, LONG, snapshot_interval=0.01)
    qtbot.waitUntil(lambda: len(made) >= 4, timeout=WAIT)
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.stop()
    periodic = made[:-1]  # (the last is the stop's)
    # each began at least cost / budget after the end of the one before (0.01 s was asked)
    floor = cost / worker_module.SNAPSHOT_BUDGET
    gaps = [b[0] - a[1] for a, b in zip(periodic, periodic[1:])]
    assert len(gaps) >= 2 and min(gaps) >= floor, (gaps, floor)
    assert len(rec.snapshots) >= 4


def test_the_wires_numbers_come_once_an_interval_the_unit_maps_with_every_snapshot(
        qtbot, controller, moons, monkeypatch):
    """The canvas's numbers on the wires change once a WIRES_INTERVAL: periodic snapshots carry
    them (a backward pass over the batch, a digest of every value and gradient, the health
    check) only that often; the unit maps come with every snapshot; a pause and the end always
    have everything."""
    monkeypatch.setattr(worker_module, "WIRES_INTERVAL", 0.15)
    monkeypatch.setattr(worker_module, "SNAPSHOT_BUDGET", 1.0)  # (as above: not by their cost)
    made: list[tuple[float, bool]] = []  # (when the worker began it, with the wires' numbers)
    make = worker_module.make_view_snapshot

    def making(*args, **kwargs):
        began = time.perf_counter()  # as the worker's own clock (the end varies with the work)
        snap = make(*args, **kwargs)
        made.append((began, snap.canvas.wires))
        return snap

    monkeypatch.setattr(worker_module, "make_view_snapshot", making)
    rec = Recorder(controller)
    controller.set_views({"canvas"})
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(moons_program(), moons, LONG, snapshot_interval=0.01)
    qtbot.waitUntil(lambda: len(rec.snapshots) >= 40, timeout=WAIT)
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT):
        controller.pause()
    paused = rec.snapshots[-1]
    periodic = rec.snapshots[:-1]
    with_wires = [s for s in periodic if s.canvas.wires]
    assert all(s.canvas.maps for s in periodic)  # the unit maps every time
    assert all(s.canvas.values and s.canvas.grads and s.canvas.health for s in with_wires)
    assert all(not s.canvas.values and not s.canvas.health for s in periodic
               if not s.canvas.wires)
    assert 2 <= len(with_wires) < len(periodic)
    times = [t for t, wires in made[:len(periodic)] if wires]
    # once a WIRES_INTERVAL (the worker reads its clock a few µs before this test's)
    assert all(b - a >= 0.15 - 1e-3 for a, b in zip(times, times[1:]))
    assert paused.canvas.wires and paused.canvas.values  # a pause shows everything
    controller.set_rate(20.0)  # slow motion: every step has its numbers
    slow = Recorder(controller)
    controller.resume()
    qtbot.waitUntil(lambda: len(slow.snapshots) >= 4, timeout=WAIT)
    assert all(s.canvas.wires and s.canvas.values for s in slow.snapshots)
    controller.set_rate(None)
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.stop()
    controller.set_views(None)


def test_set_lr_while_paused_is_reported_at_once_and_used_by_the_next_step(qtbot, controller,
                                                                          moons):
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT):
        controller.start(moons_program(), moons, LONG, start_paused=True)
    with qtbot.waitSignal(controller.lr_changed, timeout=WAIT) as changed:
        controller.set_lr(0.2)
    assert changed.args == [1, 0.2] and controller.paused
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT):
        controller.step_once()
    assert rec.history.last.lr == 0.2 and controller.trainer.lr == 0.2
    controller.stop()


def test_closing_a_window_mid_run_stops_the_thread(qtbot, controller, moons):
    class Window(QWidget):
        def closeEvent(self, event):  # what MainWindow.closeEvent does
            self.stopped = controller.stop()
            event.accept()

    win = Window()
    qtbot.addWidget(win)
    win.show()
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(moons_program(), moons, LONG)
    thread = controller._thread
    assert thread.isRunning()
    win.close()
    assert win.stopped
    # stop() returns with the thread ended and the run's last signals delivered
    assert not controller.running
    assert rec.events[-1] == ("finished", "stopped")
    assert list(rec.steps()) == list(range(1, controller.trainer.step_count + 1))
    assert not shiboken6.isValid(thread) or thread.isFinished()
    qtbot.waitUntil(lambda: not shiboken6.isValid(thread), timeout=WAIT)  # deleteLater ran


def test_stop_is_safe_at_any_time_and_finished_comes_once_per_run(qtbot, controller, moons):
    rec = Recorder(controller)
    assert controller.stop() and controller.stop()  # before any start
    with qtbot.waitSignal(controller.finished, timeout=WAIT) as done:
        controller.start(moons_program(), moons, TrainConfig(epochs=2))
    assert done.args == ["completed"] and not controller.running
    assert controller.stop() and controller.stop()  # after the end
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(moons_program(), moons, LONG)
    with pytest.raises(RuntimeError, match="live"):
        controller.start(moons_program(), moons, LONG)
    assert controller.stop() and controller.stop()  # twice while running
    qtbot.waitUntil(lambda: rec.names().count("finished") == 2, timeout=WAIT)
    assert [e for e in rec.events if e[0] == "finished"] == [("finished", "completed"),
                                                             ("finished", "stopped")]
    with qtbot.waitSignal(controller.finished, timeout=WAIT) as done:  # paused, then stopped
        controller.start(moons_program(), moons, LONG, start_paused=True)
        qtbot.waitUntil(lambda: controller.paused, timeout=WAIT)
        assert controller.stop()
    assert done.args == ["stopped"]


def test_a_graph_that_cannot_train_raises_at_start_and_starts_no_thread(controller, moons):
    digits = compile_graph(load(example_path("digits_mlp")))
    with pytest.raises(TrainingError, match="64"):
        controller.start(digits, moons, LONG)
    assert not controller.running and controller.stop()


def _program_raising_at_step_3():
    program = moons_program()
    real, calls = program.forward, [0]

    def forward(*args, **kwargs):
        calls[0] += 1
        if calls[0] == 3:  # one forward pass per step, no evaluation before step 3
            raise RuntimeError("boom at step 3")
        return real(*args, **kwargs)

    program.forward = forward
    return program, {}


def _snapshot_fn_raising_at_step_3():
    def snapshot_fn(program, trainer):
        if trainer.step_count == 3:
            raise RuntimeError("boom at step 3")
        return {}

    return moons_program(), {"snapshot_fn": snapshot_fn, "snapshot_interval": 0.0}


@pytest.mark.parametrize("make", [_program_raising_at_step_3, _snapshot_fn_raising_at_step_3],
                         ids=["program", "snapshot_fn"])
def test_unexpected_exception_fails_the_run_and_the_app_keeps_working(qtbot, controller, moons,
                                                                      make):
    rec = Recorder(controller)
    program, options = make()
    with qtbot.waitSignal(controller.finished, timeout=WAIT) as done:
        controller.start(program, moons, LONG, **options)
    assert done.args == ["failed"]
    failures = [e for e in rec.events if e[0] == "failed"]
    assert failures == [("failed", "unexpected error: boom at step 3", "")]
    assert rec.names()[-2:] == ["failed", "finished"]
    assert "RuntimeError: boom at step 3" in controller.last_traceback
    assert "Traceback" in controller.last_traceback
    assert len(rec.history) in (2, 3)  # flushed before failed: up to the step that broke
    assert not controller.running

    rec2 = Recorder(controller)  # the next run works
    with qtbot.waitSignal(controller.finished, timeout=WAIT) as done:
        controller.start(moons_program(), moons, TrainConfig(epochs=2, batch_size=32))
    assert done.args == ["completed"]
    assert list(rec2.steps()) == list(range(1, 2 * steps_per_epoch(moons) + 1))
    assert controller.last_traceback == ""


def test_non_finite_loss_fails_naming_the_node(qtbot, controller, moons):
    m = GraphModel()  # z = X·W can be negative, so log(z) is NaN at step 1
    x = m.add_node("input", "X", {"shape": [None, 2]})
    w = m.add_node("parameter", "W", {"shape": [2, 1], "value": [[1.0], [1.0]]})
    z = m.add_node("matmul", "z")
    lg = m.add_node("log", "logz")
    y = m.add_node("input", "y", {"shape": [None, 1]})
    loss = m.add_node("mse", "loss")
    m.connect(x.id, z.id, "a"); m.connect(w.id, z.id, "b"); m.connect(z.id, lg.id, "x")
    m.connect(lg.id, loss.id, "pred"); m.connect(y.id, loss.id, "target")
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.finished, timeout=WAIT) as done:
        controller.start(compile_graph(m), moons, TrainConfig(epochs=1, batch_size=400,
                                                              reinit=False))
    assert done.args == ["failed"]
    (failure,) = [e for e in rec.events if e[0] == "failed"]
    _, message, node = failure
    assert node == "logz" and "logz" in message and "step 1" in message
    assert controller.last_traceback == ""  # a TrainingError is not a bug
    assert rec.names()[-2:] == ["failed", "finished"]


def test_gui_run_equals_the_cli_run(qtbot, controller):
    """Same example, seed and defaults as `python -m playground train` (cli.cmd_train), with a
    snapshot after every step: the snapshots' forward passes must not change training."""
    epochs, seed = 3, 3
    cli = subprocess.run([sys.executable, "-m", "playground", "train", "moons_mlp", "--epochs",
                          str(epochs), "--seed", str(seed), "--json"], check=False, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    expected = [json.loads(line) for line in cli.stdout.splitlines() if line.strip()]
    assert len(expected) == epochs

    model = load(example_path("moons_mlp"))
    t = model.meta["training"]  # cmd_train's defaults come from the example's meta
    data = split(load_dataset(t["dataset"], n_samples=None, noise=None, seed=seed),
                 val_fraction=t.get("val_fraction", 0.3), seed=seed, standardize=True)
    config = TrainConfig(epochs=epochs, batch_size=int(t.get("batch_size", 32)),
                         lr=float(t.get("lr", 0.1)), optimizer=t.get("optimizer", "sgd"),
                         l2=float(t.get("l2", 0.0)), seed=seed)
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.finished, timeout=WAIT) as done:
        controller.start(compile_graph(model, dtype=None), data, config, snapshot_interval=0.0)
    assert done.args == ["completed"]
    total = epochs * steps_per_epoch(data, config.batch_size)
    assert len(rec.snapshots) >= total  # one per step, and the final one
    ends = [m for batch in rec.batches for m in batch if m.epoch_end]
    assert [m.epoch for m in ends] == [e["epoch"] for e in expected]
    for got, want in zip(ends, expected, strict=True):
        assert got.step == want["step"]
        assert got.train_loss == pytest.approx(want["train_loss"], abs=1e-12, rel=0)
        assert got.val_loss == pytest.approx(want["val_loss"], abs=1e-12, rel=0)


def test_small_models_train_with_one_blas_thread_large_ones_with_the_default(qtbot, controller,
                                                                             moons, monkeypatch):
    from threadpoolctl import threadpool_info

    def blas_threads() -> int:
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    def snapshot_fn(program, trainer):  # runs in the worker thread, inside its limits
        return {"blas_threads": blas_threads()}

    default = blas_threads()
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.start(moons_program(), moons, TrainConfig(epochs=1), snapshot_fn=snapshot_fn)
    assert controller.info.blas_limited and rec.snapshots[-1].extra["blas_threads"] == 1
    assert blas_threads() == default  # restored after the run

    monkeypatch.setattr(worker_module, "SMALL_MODEL_PARAMS", 100)  # moons_mlp has 354
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.start(moons_program(), moons, TrainConfig(epochs=1), snapshot_fn=snapshot_fn)
    assert not controller.info.blas_limited
    assert rec.snapshots[-1].extra["blas_threads"] == default


# ---------------------------------------------------------------- snapshots

def test_moons_snapshot_boundary_and_confusion_match_plain_forward_passes(moons):
    program = moons_program()
    trainer = Trainer(program, moons, TrainConfig(epochs=1, seed=2))
    for _ in trainer.steps():
        pass
    snap = make_view_snapshot(program, trainer, trainer.step_count, 1, full=True)
    xs, ys, p1 = snap.boundary
    assert xs.shape == ys.shape == (120,) and p1.shape == (120, 120) and snap.boundary_probability
    X = trainer.X_train
    assert xs[0] < X[:, 0].min() and xs[-1] > X[:, 0].max()
    assert ys[0] < X[:, 1].min() and ys[-1] > X[:, 1].max()
    assert np.all((p1 >= 0) & (p1 <= 1))
    # the same probabilities from one plain forward pass over the grid
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    program.forward({"X": pts, "y": np.zeros(len(pts))})
    logits = program.value("z3")
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert np.allclose(p1.ravel(), (e / e.sum(axis=1, keepdims=True))[:, 1], atol=1e-12)
    # confusion-matrix inputs
    program.forward({"X": moons.X_val, "y": moons.y_val})
    assert np.array_equal(snap.val_true, moons.y_val)
    assert np.array_equal(snap.val_pred, predict_classes(program.value("z3"), trainer.binding))
    assert snap.samples is None and snap.sample_pred is None
    # copies, read-only, of every parameter
    live = program.param_arrays(trainable_only=False)
    assert set(snap.params) == set(live) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    for name, arr in snap.params.items():
        assert not np.shares_memory(arr, live[name]) and not arr.flags.writeable
    with pytest.raises(TypeError):
        snap.params["W1"] = live["W1"]  # type: ignore[index]


def test_digits_snapshot_has_raw_sample_images_with_labels():
    data = split(load_dataset("digits"), val_fraction=0.3, seed=0)
    program = compile_graph(load(example_path("digits_mlp")))
    trainer = Trainer(program, data, TrainConfig(epochs=1, max_steps=5))
    for _ in trainer.steps():
        pass
    snap = make_view_snapshot(program, trainer, 5, 1, full=True)
    assert snap.boundary is None
    assert snap.samples.shape == (24, 8, 8)
    raw = data.dataset.X[data.val_index[:24]].reshape(24, 8, 8)
    assert np.array_equal(snap.samples, raw) and snap.samples.min() >= 0 and snap.samples.max() <= 1
    assert np.array_equal(snap.sample_true, data.y_val[:24])
    assert np.array_equal(snap.sample_pred, snap.val_pred[:24])
    assert snap.val_pred.shape == data.y_val.shape and set(snap.val_pred) <= set(range(10))


def test_regression_snapshot_has_a_prediction_curve():
    model = load(example_path("sine_regression"))
    data = split(load_dataset("sine", seed=0), val_fraction=0.2, seed=0)
    program = compile_graph(model)
    trainer = Trainer(program, data, TrainConfig(epochs=1))
    snap = make_view_snapshot(program, trainer, 0, 0)
    x, y = snap.extra["curve"]
    assert x.shape == y.shape == (200,) and np.all(np.diff(x) > 0)
    assert snap.boundary is None and snap.val_pred is None


# ---------------------------------------------------------------- cross-thread signal soak

class _Pinger(QObject):
    ping = Signal(int, object)
    done = Signal()

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    @Slot()
    def run(self) -> None:
        for i in range(self.n):
            self.ping.emit(i, (i,))
        self.done.emit()
        self.thread().quit()


class _Counter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = self.total = 0

    @Slot(int, object)
    def on_ping(self, i: int, payload: tuple) -> None:
        self.count += 1
        self.total += payload[0]


def soak(n: int) -> dict:
    """Emit ``n`` signals from a worker thread to a GUI-thread slot; report what arrived."""
    import time

    app = QCoreApplication.instance() or QCoreApplication([])
    true_refs = sys.getrefcount(True)  # PySide6 6.12.0 dropped one reference to True per emit
    t0 = time.perf_counter()
    thread, pinger, counter = QThread(), _Pinger(n), _Counter()
    pinger.moveToThread(thread)
    pinger.ping.connect(counter.on_ping)
    loop = QEventLoop()
    pinger.done.connect(loop.quit)  # queued after every ping
    thread.started.connect(pinger.run)
    QTimer.singleShot(120_000, loop.quit)
    thread.start()
    loop.exec()
    thread.wait()
    app.processEvents()
    return {"count": counter.count, "total": counter.total, "seconds": time.perf_counter() - t0,
            "true_refs_before": true_refs, "true_refs_after": sys.getrefcount(True)}


def test_200k_cross_thread_signals_arrive_and_the_process_survives():
    """In a child process, so that an abort (`Fatal Python error: bool_dealloc`) is a failure
    with its message, not the end of the test session."""
    n = 200_000
    result = subprocess.run([sys.executable, __file__, "soak", str(n)], check=False, cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["count"] == n and report["total"] == n * (n - 1) // 2
    assert abs(report["true_refs_after"] - report["true_refs_before"]) < 1000, report


if __name__ == "__main__":  # the soak's child process
    if sys.argv[1:2] == ["soak"]:
        print(json.dumps(soak(int(sys.argv[2]))))


# ---------------------------------------------------------------- speed (slow motion)

def test_slow_motion_keeps_the_schedule_and_shows_every_step(qtbot, controller, moons):
    """At N steps a second the worker waits for each step's time on an absolute schedule (it
    can never run ahead: k steps take at least (k - 1)/N s), and at 30/s or fewer every step is
    flushed and snapshotted on its own, canvas data included."""
    rec = Recorder(controller)
    controller.set_rate(20.0)
    config = TrainConfig(epochs=5, batch_size=32, lr=0.01, optimizer="adam", seed=1, max_steps=8)
    t0 = time.perf_counter()
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.start(moons_program(), moons, config)
    elapsed = time.perf_counter() - t0
    assert list(rec.steps()) == list(range(1, 9))
    assert elapsed >= 7 / 20.0  # 8 steps at 20/s: the last one is due 0.35 s after the first
    # one metrics batch and one snapshot per step, then the run's full final snapshot
    assert [len(b) for b in rec.batches] == [1] * 8
    *each, final = rec.snapshots
    assert [s.step for s in each] == list(range(1, 9)) and final.step == 8
    n, per = moons.X_train.shape[0], steps_per_epoch(moons)
    # the canvas shows the step's own batch (the epoch's last one is the remainder)
    assert [s.canvas.rows for s in each] == [32 if s.step % per else n - 32 * (per - 1)
                                             for s in each]
    assert final.boundary is not None
    controller.set_rate(None)


def test_a_new_speed_applies_at_once_even_while_waiting(qtbot, controller, moons):
    """A worker waiting for its next step at 1 step/s hears a faster rate, a pause and a stop
    at once (it waits on an event, not a sleep)."""
    rec = Recorder(controller)
    controller.set_rate(1.0)
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(moons_program(), moons, LONG)
    t0 = time.perf_counter()
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT):
        controller.pause()
    assert time.perf_counter() - t0 < 0.9  # not after the second's wait
    controller.set_rate(None)  # as fast as possible
    with qtbot.waitSignal(controller.resumed, timeout=WAIT):
        controller.resume()
    qtbot.waitUntil(lambda: len(rec.history) > 200, timeout=WAIT)
    controller.set_rate(1.0)
    t0 = time.perf_counter()
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        assert controller.stop()
    assert time.perf_counter() - t0 < 0.9
    controller.set_rate(None)


def test_a_refused_speed_changes_nothing(controller):
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match="positive number of steps a second"):
            controller.set_rate(bad)
    assert controller.rate is None


def test_views_are_the_union_of_what_each_source_asks(controller):
    controller.set_views(frozenset(), source="plots")
    controller.set_views({"canvas"}, source="canvas")
    assert controller.views == {"canvas"}
    controller.set_views({"boundary"}, source="plots")
    assert controller.views == {"canvas", "boundary"}
    controller.set_views(None, source="plots")
    assert controller.views is None  # somebody wants everything
