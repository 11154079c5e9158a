"""``train`` and ``score``: a run from the command line, and the scores of trained weights."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from typing import Any, TextIO

from ..engine import EngineError, Program
from .common import (
    EXIT_FAILED,
    CliError,
    _compile,
    _dataset_split,
    _settings,
    load_graph,
)


# -- train ------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    from ..training import TrainingError, save_params, train

    model = load_graph(args.graph)
    program = _compile(model, args.dtype)
    data = _dataset_split(args, model, program)
    _, config = _settings(args, model)
    try:
        run = train(program, data, config)
    except TrainingError as exc:
        raise CliError(str(exc)) from None
    classes = class_names(data.dataset)
    if classes and not args.json:
        out.write("classes: " + ", ".join(f"{i} = {n!r}" for i, n in enumerate(classes)) + "\n")
    bar = _Progress(out, config.epochs) if not args.json and out.isatty() else None
    last = None
    try:
        for m in _small_blas(run, program):
            last = m
            if bar:
                bar.update(m)
            if m.epoch_end:
                shown = m.epoch % args.every == 0 or m.epoch in (1, config.epochs)
                if args.json:
                    record = epoch_json(m)
                    if classes:
                        record["classes"] = list(classes)
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                elif bar and shown:
                    bar.epoch(m)
                elif shown:
                    out.write(epoch_line(m, config.epochs) + "\n")
    except TrainingError as exc:
        raise CliError(f"training stopped: {exc}", EXIT_FAILED) from None
    if args.save_weights:
        save_params(program, args.save_weights)
        if not args.json:
            out.write(f"weights saved to {args.save_weights}\n")
    if last is not None and not args.json:
        out.write(f"done: {last.step} steps in {last.elapsed:.2f} s "
                  f"({last.step / max(last.elapsed, 1e-9):.0f} steps/s)\n")
        if last.test_loss is not None:
            out.write(_part_line("test", len(data.X_test), last.test_loss, last.test_accuracy))
    return 0


def _small_blas(run: Iterator[Any], program: Program) -> Iterator[Any]:
    """The run's records, with one BLAS thread for a small model while it runs."""
    from ..training.workbench import blas_limits

    with blas_limits(program):
        yield from run


def _part_line(part: str, samples: int, loss: float, accuracy: float | None) -> str:
    acc = f"  accuracy {100 * accuracy:.2f}%" if accuracy is not None else ""
    return f"{part:<10}  {samples:>6} samples  loss {loss:.6g}{acc}\n"


# -- score ------------------------------------------------------------------------------------
def cmd_score(args: argparse.Namespace, out: TextIO) -> int:
    """Loss and accuracy of trained weights on each part of the data (above all the test part)."""
    from ..training import CheckpointError, TrainingError, restore_params
    from ..training.workbench import score

    model = load_graph(args.graph)
    program = _compile(model, "float64")
    data = _dataset_split(args, model, program)
    try:
        restored = set(restore_params(program, args.weights))
    except CheckpointError as exc:
        raise CliError(exc.lines) from None
    missing = [n for n in program.param_arrays(trainable_only=False) if n not in restored]
    if missing:
        raise CliError(f"{args.weights} has no weights for {', '.join(missing)}; "
                       "save them with train --save-weights")
    try:
        parts = score(program, data)
    except (TrainingError, EngineError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        out.write(json.dumps({part: None if s is None else {
            "samples": s.samples, "loss": s.loss, "accuracy": s.accuracy}
            for part, s in parts.items()}) + "\n")
        return 0
    out.writelines(f"{part:<10}  —\n" if s is None else
                   _part_line(part, s.samples, s.loss, s.accuracy) for part, s in parts.items())
    return 0


def class_names(ds: Any) -> tuple[str, ...] | None:
    """The label → class mapping when it is not plain 0, 1, 2, ... (string labels, or numbers
    that are not their own index), else None."""
    if ds.task != "classification" or ds.classes == tuple(str(i) for i in range(ds.n_classes)):
        return None
    return tuple(ds.classes)


def epoch_json(m: Any) -> dict[str, Any]:
    return {
        "epoch": m.epoch, "step": m.step, "train_loss": m.train_loss, "val_loss": m.val_loss,
        "train_accuracy": m.train_accuracy, "val_accuracy": m.val_accuracy, "lr": m.lr,
        "grad_norms": dict(m.grad_norms), "seconds": round(m.elapsed, 6),
        "test_loss": m.test_loss, "test_accuracy": m.test_accuracy,
    }


def epoch_line(m: Any, epochs: int) -> str:
    parts = [f"epoch {m.epoch:>3}/{epochs}", f"loss {m.train_loss:.4f}"]
    if m.val_loss is not None:
        parts.append(f"val {m.val_loss:.4f}")
    if m.val_accuracy is not None:
        parts.append(f"val acc {100 * m.val_accuracy:.1f}%")
    elif m.train_accuracy is not None:
        parts.append(f"acc {100 * m.train_accuracy:.1f}%")
    parts.append(f"{m.step / max(m.elapsed, 1e-9):.0f} steps/s")
    return "  ".join(parts)


class _Progress:
    """A one-line progress bar on a terminal, redrawn at most 10 times a second."""

    def __init__(self, out: TextIO, epochs: int) -> None:
        self.out, self.epochs, self._t = out, epochs, 0.0

    def update(self, m: Any) -> None:
        now = time.perf_counter()
        if now - self._t < 0.1:
            return
        self._t = now
        per = max(m.steps_per_epoch, 1)
        frac = (m.epoch - 1 + ((m.step - 1) % per) / per) / self.epochs
        bar = "█" * int(30 * frac) + "·" * (30 - int(30 * frac))
        rate = m.step / max(m.elapsed, 1e-9)
        self.out.write(f"\repoch {m.epoch}/{self.epochs} {bar} loss {m.batch_loss:.4f} {rate:.0f} steps/s ")
        self.out.flush()

    def epoch(self, m: Any) -> None:
        self.out.write("\r" + epoch_line(m, self.epochs).ljust(79) + "\n")
        self.out.flush()
