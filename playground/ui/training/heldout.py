"""The held-out test part's score, shown in the Training panel when a run ends.

A completed run's last record carries the test loss and accuracy (the trainer scores the test
part once, at the end); after a stopped run the weights as they are are scored here with
:func:`playground.training.workbench.score` (the worker has finished: the program is the GUI's
again). Data without a test part shows nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QWidget

from ...training.workbench import Score, score
from .runner import RUN_ERRORS

if TYPE_CHECKING:
    from ..session import Session


def held_out_score(session: Session, reason: str) -> Score | None:
    """The test part's score after a run that ended for ``reason``; None without a test part
    (or after a failure: broken weights score nothing worth showing)."""
    runner = session.runner
    split, program = runner.split, session.compiled
    if reason not in ("completed", "stopped") or split is None or len(split.y_test) == 0:
        return None
    last = runner.history.last
    if reason == "completed" and last is not None and last.test_loss is not None:
        return Score(len(split.y_test), last.test_loss, last.test_accuracy)
    if program is None:
        return None
    try:
        return score(program, split, runner.binding)["test"]
    except RUN_ERRORS:
        return None


def describe(result: Score) -> str:
    what = f"Test ({result.samples} held out):"
    if result.accuracy is not None:
        return f"{what} accuracy {100 * result.accuracy:.1f}% · loss {result.loss:.4g}"
    return f"{what} loss {result.loss:.4g}"


class HeldOutLine(QLabel):
    """One line under the run controls: the test accuracy and loss of the run that ended."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.result: Score | None = None
        self.setWordWrap(True)
        self.setStyleSheet("font-weight: bold; color: #1a7f37;")
        self.setToolTip("Scored on the test part, which training never sees (Data ▸ test)")
        self.hide()
        runner = session.runner
        runner.started.connect(self.clear)
        runner.cleared.connect(self.clear)
        runner.finished.connect(self._on_finished)
        session.root_changed.connect(lambda _doc: self.clear())

    def clear(self) -> None:
        self.result = None
        self.setText("")
        self.hide()

    def _on_finished(self, reason: str) -> None:
        self.result = held_out_score(self.session, reason)
        if self.result is None:
            self.clear()
            return
        self.setText(describe(self.result))
        self.show()
