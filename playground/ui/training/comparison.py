"""A second run to compare with: another bundled example trained headless, in a worker thread,
with its own settings (a lesson's ``compare:<example>``). The Qt-free work is
:func:`playground.training.example_run.run_example`; this owns the thread and keeps the result
(an :class:`~playground.training.example_run.ExampleRun`, plain data) for the plots to draw.

Owned by the :class:`~playground.ui.session.Session` (``session.comparison``): a lesson asks for
it, the training tools draw it on the Loss plot. Another graph drops it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ...engine import EngineError
from ...training import TrainingError
from ...training.datasets import DatasetError
from ...training.example_run import ExampleRun, run_example
from ..jobs import BackgroundJob, Progress

if TYPE_CHECKING:
    from ..session import Session


class ComparisonRunner(QObject):
    started = Signal(str)  # the example being trained
    arrived = Signal(object)  # ExampleRun: draw it
    cleared = Signal()  # no comparison any more
    failed = Signal(str)  # one line
    done = Signal()  # the run ended (any way) and its thread is finished
    progress = Signal(float, str)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.session = session
        self.result: ExampleRun | None = None
        self.example = ""
        self.epochs: int | None = None  # override the example's epochs (None: its own)
        self.job = BackgroundJob(self, expected=(EngineError, TrainingError, DatasetError,
                                                 ValueError))
        self.job.progressed.connect(self.progress)
        self.job.succeeded.connect(self._on_succeeded)
        self.job.failed.connect(self._on_failed)
        self.job.done.connect(self.done)
        session.root_changed.connect(lambda _doc: self.clear())

    @property
    def running(self) -> bool:
        return self.job.busy

    def start(self, example: str) -> bool:
        """Train ``example`` in the background (a run already under way is cancelled first);
        False when it could not start."""
        self.stop()
        self.example = example
        epochs = self.epochs

        def job(progress: Progress) -> ExampleRun:
            return run_example(example, progress, epochs=epochs)

        if not self.job.start(job):
            return False
        self.started.emit(example)
        return True

    def stop(self) -> None:
        """Cancel a run under way (it stops after its current epoch) and wait for it."""
        self.job.shutdown()

    def clear(self) -> None:
        self.stop()
        if self.result is not None:
            self.result = None
            self.cleared.emit()

    def _on_succeeded(self, run: ExampleRun) -> None:
        self.result = run
        self.arrived.emit(run)

    def _on_failed(self, message: str) -> None:
        if message:
            self.failed.emit(f"The comparison run of {self.example} failed: {message}")
