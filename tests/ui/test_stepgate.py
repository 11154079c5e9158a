"""The step gate (playground/ui/training/stepgate.py): while the GUI thread updates or paints a
live plot, the training thread waits at its next step boundary instead of taking the interpreter
lock at every Qt value the plot makes. Real threads, a real training run, real plots; waits are
on events and signals (the one fixed stretch checks that steps do NOT happen while held)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF

from playground.graph import compile_graph, load
from playground.resources import example_path
from playground.training import TrainConfig, Trainer
from playground.training.datasets import load_dataset, split
from playground.ui.training import stepgate
from playground.ui.training.controller import TrainingController
from playground.ui.training.history import MetricsBatch, MetricsHistory
from playground.ui.training.plots import TrainingPlots
from playground.ui.training.stepgate import STEP_GATE, StepGate

WAIT = 15_000  # ms
LONG = TrainConfig(epochs=100_000, batch_size=32, lr=0.01, optimizer="adam", seed=1)


@pytest.fixture(scope="module")
def moons():
    return split(load_dataset("moons", n_samples=300), val_fraction=0.3, seed=0)


@pytest.fixture
def controller(qapp):
    ctl = TrainingController(qapp)  # a child of the app: the conftest fixture sees its thread
    yield ctl
    ctl.stop()
    ctl.setParent(None)
    ctl.deleteLater()


def _busy(seconds: float) -> None:
    """Keep this (the GUI) thread busy in Python, as a long redraw would: a training thread
    not held by the gate gets the interpreter lock every switch interval meanwhile."""
    end, x = time.perf_counter() + seconds, np.ones(64)
    while time.perf_counter() < end:
        x = np.tanh(x + 1e-3)


def test_a_held_gate_stops_training_at_a_step_boundary_until_released(qtbot, controller, moons):
    with qtbot.waitSignal(controller.metrics, timeout=WAIT):
        controller.start(compile_graph(load(example_path("moons_mlp"))), moons, LONG)
    trainer = controller.trainer
    holds = STEP_GATE.holds
    with STEP_GATE.held():
        assert STEP_GATE.parked.wait(WAIT / 1000), "the training thread never came to the gate"
        parked_at = trainer.step_count
        _busy(0.3)  # unheld, the worker would run ~1,000 steps in this time
        assert trainer.step_count == parked_at
    assert STEP_GATE.holds == holds + 1
    qtbot.waitUntil(lambda: trainer.step_count > parked_at, timeout=WAIT)  # and goes on
    assert not STEP_GATE.parked.is_set()
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.stop()


def test_nested_holds_are_one_burst():
    gate = StepGate()
    with gate.held():
        with gate.held():  # a paint inside a redraw: does not wait for itself
            assert gate.is_held
        assert gate.is_held  # the inner block did not let go of the outer one's hold
    assert not gate.is_held
    assert gate.holds == 1


def _in_thread(fn) -> bool:
    """Run ``fn`` in a helper thread; True when it returned within 10 s (a hang fails the test
    instead of hanging the suite)."""
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    t.join(10)
    return not t.is_alive()


def test_neither_thread_waits_for_the_gate_longer_than_its_timeout(monkeypatch):
    gate = StepGate()
    monkeypatch.setattr(stepgate, "GUI_TIMEOUT", 0.02)
    monkeypatch.setattr(stepgate, "WORKER_TIMEOUT", 0.02)
    ran = []

    def gui_burst() -> None:
        with gate.held():
            ran.append("burst")

    # the lock taken and never given back (a stuck thread): the burst still runs, and does not
    # release a hold it never got
    gate._lock.acquire()
    assert _in_thread(gui_burst) and ran == ["burst"]
    assert gate.is_held
    # a GUI thread that never ends its burst holds training for WORKER_TIMEOUT at most
    assert _in_thread(gate.pass_through)
    assert not gate.parked.is_set()
    gate._lock.release()
    assert _in_thread(gate.pass_through)  # free: no wait at all


def test_the_live_plots_update_and_paint_inside_one_held_burst(qtbot, monkeypatch):
    ds = load_dataset("moons", n_samples=200, seed=0)
    sp = split(ds, val_fraction=0.3, seed=0)
    program = compile_graph(load(example_path("moons_mlp")))
    records = list(Trainer(program, sp, TrainConfig(epochs=3, batch_size=16)).steps())
    history = MetricsHistory()
    history.append(MetricsBatch.of(tuple(records[:10]), 1))
    plots = TrainingPlots(history, interval_ms=10_000)
    plots.resize(900, 600)
    qtbot.addWidget(plots)
    plots.show()
    qtbot.waitExposed(plots)
    plots.set_context(ds, [program.nodes[i].name for i in program.trainable], split=sp)
    plots.start()
    seen = {"refresh": [], "paint": []}
    loss = plots.loss
    refresh = loss.refresh

    def recording_refresh(*args, **kwargs):
        seen["refresh"].append(STEP_GATE.is_held)
        return refresh(*args, **kwargs)

    monkeypatch.setattr(loss, "refresh", recording_refresh)

    class Probe(pg.GraphicsObject):  # an item of the plot: records the gate when painted
        def boundingRect(self):
            return QRectF(0, 0, 1, 1)

        def paint(self, painter, *args):
            seen["paint"].append(STEP_GATE.is_held)

    loss.plot.addItem(Probe())
    history.append(MetricsBatch.of(tuple(records[10:]), 2))
    assert plots.redraw()
    loss.graphics.viewport().update()
    qtbot.waitUntil(lambda: bool(seen["paint"]), timeout=WAIT)
    assert seen["refresh"] == [True]
    assert all(seen["paint"])
    assert not STEP_GATE.is_held  # and let go after
    plots.stop()
