"""Train a bundled example headless with its own settings and keep its curves: what a lesson's
``compare:<example>`` shows beside the run in the window. Qt-free.

    run = run_example("digits_mlp")
    run.batch_loss, run.accuracy, run.accuracy_part     # per-step losses; 0.972, 'validation'
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..graph import compile_graph, load
from ..resources import example_path
from .loop import Trainer
from .workbench import blas_limits, make_split, read_training

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ExampleRun:
    """The curves of one run: per step (``step``, its fractional epoch ``epoch_pos``, the batch
    loss) and per epoch (train and validation loss), and the accuracy it ended with on its
    held-out part (``accuracy_part``: 'test', 'validation' or '' for none)."""

    example: str
    step: np.ndarray
    epoch_pos: np.ndarray
    batch_loss: np.ndarray
    epoch: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    accuracy: float | None
    accuracy_part: str
    seconds: float

    def describe(self) -> str:
        """One line: what ran and how it ended."""
        where = (f", {100 * self.accuracy:.1f}% {self.accuracy_part} accuracy"
                 if self.accuracy is not None else "")
        n = int(self.epoch[-1]) if len(self.epoch) else 0
        return (f"{self.example}: {n} epoch{'s' if n != 1 else ''}, {len(self.step)} steps in "
                f"{self.seconds:.1f} s{where}")


def run_example(name: str, progress: Progress | None = None, *,
                epochs: int | None = None) -> ExampleRun:
    """Train bundled example ``name`` from its initial weights with its file's settings
    (``epochs`` overrides their count); ``progress(fraction, text)`` is called after each epoch
    (it may raise to stop the run)."""
    model = load(example_path(name))
    data, config = read_training(model.meta.get("training"))
    if epochs is not None:
        config = dataclasses.replace(config, epochs=int(epochs))
    program = compile_graph(model)
    split = make_split(data, program)
    steps, pos, losses, ends, train, val = [], [], [], [], [], []
    last = None
    t0 = time.perf_counter()
    with blas_limits(program):
        for m in Trainer(program, split, config).steps():
            per = max(m.steps_per_epoch, 1)
            steps.append(m.step)
            pos.append(m.epoch - 1 + ((m.step - 1) % per + 1) / per)
            losses.append(m.batch_loss)
            last = m
            if m.epoch_end:
                ends.append(m.epoch)
                train.append(np.nan if m.train_loss is None else m.train_loss)
                val.append(np.nan if m.val_loss is None else m.val_loss)
                if progress is not None:
                    progress(m.epoch / config.epochs, f"{name}: epoch {m.epoch}/{config.epochs}")
    accuracy, part = None, ""
    if last is not None and last.test_accuracy is not None:
        accuracy, part = last.test_accuracy, "test"
    elif last is not None and last.val_accuracy is not None:
        accuracy, part = last.val_accuracy, "validation"
    return ExampleRun(name, np.asarray(steps, dtype=np.int64), np.asarray(pos, dtype=float),
                      np.asarray(losses, dtype=float), np.asarray(ends, dtype=np.int64),
                      np.asarray(train, dtype=float), np.asarray(val, dtype=float), accuracy,
                      part, time.perf_counter() - t0)
