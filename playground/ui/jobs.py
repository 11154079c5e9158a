"""One Qt-free function run in a worker thread: exports, imports, a comparison run.

:class:`BackgroundJob` lives in the GUI thread. ``start(job)`` builds a :class:`JobWorker` (a
QObject), moves it to a new QThread and calls ``job(progress)`` there. The worker emits plain
data only (the job's result, a message, progress fractions); ``progress`` raises
:class:`Cancelled` once :meth:`BackgroundJob.cancel` was called, so a job stops at its next
report. When the job returns, the worker moves itself back to the GUI thread and ends the
thread's event loop; the GUI thread waits for the thread and deletes both (ARCHITECTURE.md §5:
no Qt object is made or destroyed off the GUI thread; never ``QThread.terminate()``).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

Progress = Callable[[float, str], None]
Job = Callable[[Progress], Any]


class Cancelled(Exception):
    """The job was cancelled: raised by ``progress`` at the job's next report."""


class JobWorker(QObject):
    """Runs ``job(progress)`` once in the thread it was moved to."""

    progressed = Signal(float, str)
    succeeded = Signal(object)  # what the job returned
    failed = Signal(str)  # one line; '' when cancelled

    def __init__(self, job: Job, expected: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.job: Job | None = job
        self.expected = expected  # exceptions whose message is the whole story
        self.cancel = threading.Event()
        self.last_traceback = ""

    def _progress(self, fraction: float, text: str) -> None:
        if self.cancel.is_set():
            raise Cancelled
        self.progressed.emit(float(fraction), str(text))

    @Slot()
    def run(self) -> None:
        job, self.job = self.job, None
        try:
            assert job is not None
            result = job(self._progress)
        except Cancelled:
            self.failed.emit("")
        except self.expected as exc:
            text = str(exc).strip()
            self.failed.emit(text.splitlines()[0] if text else type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - a bug must not take the window down
            self.last_traceback = traceback.format_exc()
            self.failed.emit(f"unexpected error: {type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result)
        finally:
            del job  # the job's data goes here, not in a later collection
            app = QCoreApplication.instance()
            thread = QThread.currentThread()
            if app is not None and thread is not app.thread():
                self.moveToThread(app.thread())  # the GUI thread deletes it
            thread.quit()  # exec() returns as soon as run() does


class BackgroundJob(QObject):
    """At most one job at a time; ``done`` is emitted (in the GUI thread) once its thread has
    finished, after ``succeeded`` or ``failed``."""

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)  # '' when cancelled
    done = Signal()

    def __init__(self, parent: QObject | None = None,
                 expected: tuple[type[BaseException], ...] = ()) -> None:
        super().__init__(parent)
        self.expected = expected
        self.job_thread: QThread | None = None
        self.worker: JobWorker | None = None
        self.last_traceback = ""

    @property
    def busy(self) -> bool:
        return self.job_thread is not None

    def start(self, job: Job) -> bool:
        """Run ``job(progress)`` in a new thread; False when one is still running."""
        if self.busy:
            return False
        worker = self.worker = JobWorker(job, self.expected)
        thread = self.job_thread = QThread(self)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self.progressed)
        worker.succeeded.connect(self.succeeded)
        worker.failed.connect(self.failed)
        thread.finished.connect(self._on_thread_finished)
        thread.start()
        return True

    def cancel(self) -> None:
        """Ask the job to stop at its next progress report."""
        if self.worker is not None:
            self.worker.cancel.set()

    def _on_thread_finished(self) -> None:
        thread, worker = self.job_thread, self.worker
        self.job_thread, self.worker = None, None
        if worker is not None:
            self.last_traceback = worker.last_traceback
            worker.deleteLater()
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        self.done.emit()

    def shutdown(self) -> None:
        """Cancel a job under way and wait for its thread (the window closes)."""
        thread = self.job_thread
        if thread is None:
            return
        self.cancel()
        thread.wait()
        QCoreApplication.sendPostedEvents()  # its queued results, then the clean-up
        if self.job_thread is thread:
            self._on_thread_finished()
