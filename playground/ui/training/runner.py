"""One training run at a time, for the session: compile, data, controller, history, outcome.

:class:`TrainingRunner` is owned by the :class:`~playground.ui.session.Session`. It builds a run
from the session's program and settings (:mod:`playground.training.workbench` makes the split),
drives the :class:`~.worker.TrainingController` (the worker thread), feeds the
:class:`~.history.MetricsHistory` the plots read, and decides what the next run starts from:

- Train again after a run that completed or was stopped goes on from its weights and its curves
  go on too (same program, same data: the *run key*); other data, a changed graph or Reset start
  new curves;
- after a failure (NaN, infinite or exploding values) the next run starts from fresh weights;
- every run that starts new curves is numbered and recorded (:class:`~.runs.RunRecord`): its
  settings and graph facts, the seed of its data order and a copy of its initial weights, taken
  here in the GUI thread before the worker starts. When its curves are replaced (a new run,
  Reset) a run that completed or was stopped joins :attr:`runs`, the finished runs the plots
  draw faded (a new document clears them); :meth:`replay` trains again from a recorded run's
  initial weights and data order with the current settings;
- when a run ends its settings go into the graph's ``meta.training`` (through ``set_meta``) and
  the document is marked modified: the weights and settings are worth saving.

It says what happens through signals (``progress``, ``status``, ``failure``...) that the panels
show; it has no widgets.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from ...engine import EngineError, Program
from ...training import TrainConfig, TrainingError, bind
from ...training.datasets import DatasetError, Split
from ...training.loop import Binding, seed_rngs
from ...training.weights import fit_weights
from .controller import TrainingController
from .history import MetricsHistory, ViewSnapshot
from .layers import param_groups
from .runs import RunArchive, RunRecord, run_facts, thin_curves

if TYPE_CHECKING:
    from ..session import Session

RUN_ERRORS = (EngineError, TrainingError, DatasetError, ValueError)


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


class TrainingRunner(QObject):
    started = Signal()  # a run is live (the session locks the graph)
    finished = Signal(str)  # 'completed', 'stopped' or 'failed': the run is over
    progress = Signal(float, str)  # fraction done (0..1), the progress bar's text
    status = Signal(str, bool)  # a sentence for the panel, and whether it is an error
    failure = Signal(str, str)  # message, node name ('' when none): mark it on the canvas
    cleared = Signal()  # Reset: the curves and any failure mark go
    snapshot_arrived = Signal(object)  # ViewSnapshot: the worker's latest copies
    lr_in_use = Signal(str)  # the learning rate the run uses (after a refused change)
    runs_changed = Signal()  # the finished runs kept, or the current run, changed

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.session = session
        self.history = MetricsHistory()
        self.controller = TrainingController(self)
        self.snapshot: ViewSnapshot | None = None
        self.split: Split | None = None  # the data of the live or last run
        self.binding: Binding | None = None
        self.config: TrainConfig | None = None  # the live or last run's settings
        self.epochs_total = 1
        # the run a new one may go on from (its curves continued): see _run_key
        self._continuable: tuple[Any, ...] | None = None
        self._run: tuple[Any, ...] | None = None
        self._broken = False  # the last run left non-finite weights: the next starts afresh
        self._lr = ""
        self._t_started = 0.0
        self.runs = RunArchive()  # finished runs, drawn faded until cleared
        self.run: RunRecord | None = None  # the live or last run: its curves are the history
        self._run_count = 0  # runs numbered so far in this document
        c = self.controller
        c.metrics.connect(self._on_metrics)
        c.snapshot.connect(self._on_snapshot)
        c.paused_at.connect(self._on_paused)
        c.resumed.connect(self._on_resumed)
        c.failed.connect(self._on_failed)
        c.finished.connect(self._on_finished)

    # -- state ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.controller.running

    @property
    def paused(self) -> bool:
        return self.controller.running and self.controller.paused

    def seed(self) -> int:
        return int(self.session.data.seed)

    def forget(self) -> None:
        """A new document: no run to continue, no curves, no trained weights, no old runs."""
        self.stop()
        self.history.clear()
        self.snapshot = None
        self.split, self.binding, self.config = None, None, None
        self._continuable, self._run, self._broken = None, None, False
        self.run, self._run_count = None, 0
        self.runs.clear()
        self.progress.emit(0.0, "idle")
        self.runs_changed.emit()

    # -- starting -------------------------------------------------------------------------------
    def start(self, mode: str = "run", start_paused: bool = False,
              reinit: bool | None = None, *, replay: RunRecord | None = None) -> bool:
        """Start a run; ``mode`` 'step' or 'epoch' runs one step or one epoch, then pauses.
        False (the reason in ``status``) when the graph or the data cannot train. ``replay``:
        start from that run's initial weights and data order instead (see :meth:`replay`)."""
        s = self.session
        if self.running or s.root is None:
            return False
        try:
            program = s.program()
            fresh = not s.params_trained
            data = s.split()
            features, target = s.inputs
            binding = bind(program, data, features, target)
            config = s.run_config(reinit=fresh if reinit is None else reinit)
        except RUN_ERRORS as exc:
            self.status.emit(str(exc), True)
            return False
        if replay is not None:  # its weights and data order, the settings as they are now
            config = dataclasses.replace(config, reinit=False, seed=replay.seed)
        elif self._broken and not config.reinit:
            config = s.run_config(reinit=True)  # NaN/inf weights cannot train: start afresh
        self._broken = False
        run_key = self._run_key(program)
        new_curves = config.reinit or replay is not None or run_key != self._continuable
        if new_curves:
            self._retire_run()  # the last run's curves go to the old runs (if it finished)
            self.history.clear()  # a new run: new curves
        else:
            self.history.continue_run()  # the same weights and data: the curves go on
        note: tuple[str, bool] | None = None
        if config.reinit:
            # draw the initial weights here, as the trainer would (the same generator), so a
            # copy is kept before the worker owns the arrays; the trainer need not draw again
            program.init_params(seed_rngs(config.seed)[0])
        elif replay is not None:
            note = self._load_initial(program, replay, config.seed)
        if new_curves:
            self._run_count += 1
            groups = param_groups(program)
            self.run = RunRecord.start(
                self._run_count, run_facts(program, s.data, config, groups), config.seed,
                program.param_arrays(trainable_only=False), groups,
                replay_of=replay.number if replay is not None else None)
        elif self.run is not None:
            self.run.outcome = ""  # live again
            changed = self.run.go_on_with(run_facts(program, s.data, config, param_groups(program)))
            if changed:  # the curves go on: mark where the settings changed
                self.history.mark_change(", ".join(changed))
        self._continuable, self._run = None, run_key
        self.split, self.binding, self.config = data, binding, config
        self._lr = f"{config.lr:g}"
        self.epochs_total = config.epochs
        self._t_started = time.perf_counter()
        self.snapshot = None
        try:
            self.controller.start(program, data, dataclasses.replace(config, reinit=False),
                                  binding, start_paused=start_paused, mode=mode, launch=False)
        except TrainingError as exc:
            if self.run is not None:
                self.run.outcome = "failed"
            self.status.emit(str(exc), True)
            self.runs_changed.emit()
            return False
        s.params_trained = True
        s.set_locked(True)
        self.started.emit()
        self.runs_changed.emit()
        if note is not None:
            self.status.emit(*note)
        else:
            self.status.emit("Training… the graph is locked until you stop.", False)
        # the window's start-of-run work (plots, canvas, menus) is done: now the thread starts,
        # rather than losing its first steps' interpreter lock to that work
        self.controller.launch()
        return True

    # -- runs: compare and replay ---------------------------------------------------------------
    def _retire_run(self) -> None:
        """The current curves are about to go: a run that completed or was stopped is kept,
        thinned, among the old runs (at most ``MAX_OLD_RUNS``)."""
        run, self.run = self.run, None
        if run is not None and run.outcome in ("completed", "stopped") and len(self.history):
            run.curves = thin_curves(self.history)
            self.runs.add(run)
        self.runs_changed.emit()

    def replayable(self) -> list[RunRecord]:
        """The runs that can be replayed now: the old runs and the last one, once over
        (oldest first), whose initial weights were kept."""
        out = [r for r in self.runs if r.can_replay]
        run = self.run
        if run is not None and run.outcome and run.can_replay and not self.running:
            out.append(run)
        return out

    def find_run(self, number: int) -> RunRecord | None:
        if self.run is not None and self.run.number == number:
            return self.run
        return self.runs.get(number)

    def replay(self, number: int, mode: str = "run") -> bool:
        """Train again from exactly the initial weights and data order of run ``number``
        (the data-order seed it had; the data, graph and other settings as they are now), so
        the one thing changed since is compared fairly. Parameters the graph no longer has in
        the same shape start from fresh values; the status says which."""
        if self.running:
            self.status.emit("Stop the live run before replaying another.", True)
            return False
        record = self.find_run(number)
        if record is None or (record is self.run and not record.outcome):
            self.status.emit(f"There is no finished run {number} to replay.", True)
            return False
        if record.initial is None:
            self.status.emit(f"Run {number}'s initial weights were too large to keep: it "
                             "cannot be replayed.", True)
            return False
        return self.start(mode=mode, replay=record)

    def _load_initial(self, program: Program, record: RunRecord, seed: int) -> tuple[str, bool]:
        """Put ``record``'s initial weights into ``program`` (checked: names, shapes, finite
        values); those that do not fit start fresh from ``seed``. Returns the status line and
        whether some did not fit."""
        assert record.initial is not None
        fit = fit_weights(program, record.initial)
        program.init_params(seed_rngs(seed)[0])
        fit.apply(program)
        what = f"Replaying run {record.number}: its initial weights and data order"
        if fit.complete:
            return f"{what}, with the settings as they are now.", False
        problems = "; ".join(line.split(": ", 1)[-1] for line in fit.lines())
        text = (f"{what} on a changed graph: {len(fit.taken)} of "
                f"{len(fit.taken) + len(fit.missing)} parameters fit ({problems}); the others "
                "start fresh.")
        return text, True

    def clear_runs(self) -> None:
        """Forget the finished runs (their faded curves go; the live curves stay)."""
        self.runs.clear()
        self.runs_changed.emit()

    def _run_key(self, program: Program) -> tuple[Any, ...]:
        """What a run trains on: a new run with the same key goes on from the last one."""
        s = self.session
        return (id(program), s.data, s.inputs)

    # -- controls ---------------------------------------------------------------------------------
    def train_or_pause(self) -> None:
        """The big button: Train when idle, Pause while training, Resume when paused."""
        c = self.controller
        if not c.running:
            self.start()
        elif c.paused:
            c.resume()
        else:
            c.pause()

    def step_once(self) -> None:
        if self.controller.running:
            self.controller.step_once()
        else:
            self.start(mode="step")

    def step_epoch(self) -> None:
        if self.controller.running:
            self.controller.step_epoch()
        else:
            self.start(mode="epoch")

    def stop(self) -> None:
        if self.controller.running:
            self.controller.stop()

    def reset(self) -> None:
        """Stop, clear the curves, re-initialise the weights: a fresh start. A run that
        completed or was stopped stays among the old runs, to compare with the next."""
        self.stop()
        self._retire_run()
        self.history.clear()
        self._continuable, self._broken = None, False
        self.progress.emit(0.0, "idle")
        self.reinitialise()
        self.cleared.emit()

    def reinitialise(self) -> None:
        if self.controller.running:
            self.status.emit("Stop the run before re-initialising the weights.", True)
            return
        s = self.session
        if s.root is None:
            return
        try:
            program = s.program()
        except EngineError as exc:
            self.status.emit(str(exc), True)
            return
        program.init_params(self.seed())
        s.params_trained = False
        self._continuable, self._broken = None, False  # new weights: new curves next time
        self.status.emit(f"Weights re-initialised from seed {self.seed()}.", False)

    def set_lr(self, text: str) -> bool:
        """A learning rate typed while a run is live: used from the next step. A bad one is
        refused and the run keeps its rate (``lr_in_use`` says which)."""
        if not self.controller.running:
            return True
        try:
            lr = float(text)
            if not (math.isfinite(lr) and lr > 0):
                raise ValueError
            self.controller.set_lr(lr)
        except (ValueError, TrainingError):
            self.status.emit(f"The learning rate must be a positive number, not '{text}'; "
                             f"training goes on at {self._lr}.", True)
            self.lr_in_use.emit(self._lr)
            return False
        self._lr = f"{lr:g}"
        self.status.emit(f"Learning rate → {lr:g} from the next step.", False)
        return True

    # -- what the worker says (GUI thread) --------------------------------------------------------
    def _done_fraction(self) -> float:
        last = self.history.last
        if last is None:
            return 0.0
        per = max(last.steps_per_epoch, 1)
        done = (last.epoch - 1) + (((last.step - 1) % per) + 1) / per
        return done / max(self.epochs_total, 1)

    def _on_metrics(self, records: Any) -> None:
        self.history.append(records)
        last = self.history.last
        if last is None:
            return
        rate = self.history.steps_per_second()
        per = max(last.steps_per_epoch, 1)
        remaining = (self.epochs_total * per - last.step) / rate if rate > 0 else math.nan
        left = f" · {duration(remaining)} left" if math.isfinite(remaining) else ""
        # (the epoch is the run bar's: repeated here a quarter second late it would disagree)
        self.progress.emit(self._done_fraction(), f"{rate:,.0f} steps/s{left}")

    def _on_snapshot(self, snap: ViewSnapshot) -> None:
        self.snapshot = snap
        self.snapshot_arrived.emit(snap)

    def _on_paused(self, step: int) -> None:
        last = self.history.last
        before = self.history.offsets[1]  # numbered as the run bar numbers them
        where = (f"at epoch {before + last.epoch}/{before + self.epochs_total} · step "
                 f"{self.history.total_steps}" if last else "before the first step")
        self.progress.emit(self._done_fraction(), f"paused {where}")
        self.status.emit(f"Paused after step {step}. Resume, Step or Stop.", False)

    def _on_resumed(self) -> None:
        self.status.emit("Training… the graph is locked until you stop.", False)

    def _on_failed(self, message: str, node: str) -> None:
        # the weights that broke (NaN, infinite or blown up) would only break again
        self._broken = True
        message += " The next run starts from fresh weights."
        last = self.history.last
        self.progress.emit(self._done_fraction(), f"failed at step {last.step + 1 if last else 1}")
        self.status.emit(message, True)
        self.failure.emit(message, node)

    def _on_finished(self, reason: str) -> None:
        s = self.session
        last = self.history.last
        if self.run is not None:
            self.run.outcome = reason
        if reason in ("completed", "stopped") and not self._broken:
            self._continuable = self._run  # Train again: the curves go on
        if last is not None:
            s.remember_settings(self.config)  # the weights and settings are worth saving
        s.set_locked(False)
        if reason == "completed":
            extra = ""
            test = last.test_accuracy if last is not None else None
            val = last.val_accuracy if last is not None else None
            if test is not None:
                extra = f" — test accuracy {100 * test:.1f}%"
            elif val is not None:
                extra = f" — validation accuracy {100 * val:.1f}%"
            n = self.epochs_total
            # a run that went on from the last one: its epochs, and all of them (as the run
            # bar counts them)
            before = self.history.offsets[1]
            done = f"{n} epoch{'s' if n != 1 else ''}"
            if before:
                done = f"{n} more epoch{'s' if n != 1 else ''} ({before + n} in all)"
            self.progress.emit(1.0, f"finished {done}")
            self.status.emit(f"Finished {done}{extra}. "
                             "Train goes on from these weights; Reset starts over.", False)
        elif reason == "stopped":
            before = self.history.offsets[1]
            where = (f"epoch {before + last.epoch}/{before + self.epochs_total} · step "
                     f"{self.history.total_steps}" if last else "the start")
            self.progress.emit(self._done_fraction(), f"stopped at {where}")
            self.status.emit("Stopped. Train continues from these weights; Reset starts over.",
                             False)
        self.finished.emit(reason)
        self.runs_changed.emit()
