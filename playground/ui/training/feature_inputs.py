"""Feature inputs for 2-D sets, as in TensorFlow Playground: x1, x2, x1², x2², x1·x2, sin x1,
sin x2 as toggle chips (:class:`FeatureInputs`), and what choosing them does to the graph
(:func:`fit_data_input`): the data input node, and the weights that multiply it, resized to as
many columns, as one undoable edit."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QToolButton, QWidget

from ...graph.builders import with_input_width
from ...graph.errors import GraphError
from ...training.features import FEATURES, feature_labels
from ..commands import StateCommand

if TYPE_CHECKING:
    from ..session import Session

DEFAULT_FEATURES = ("x1", "x2")  # a 2-D set's own two columns
PER_ROW = 3  # chips a row: three chosen ones (✓, bold) fit the Training dock at 1366 x 768


class FeatureInputs(QWidget):
    """One checkable chip per feature; ``toggled`` when the user changes the choice."""

    toggled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.boxes: dict[str, QToolButton] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(3)
        grid.setVerticalSpacing(3)
        # chosen chips must read as chosen on a projector: a blue fill and a tick, not the
        # style's faint "pressed" shade
        self.setStyleSheet(
            "QToolButton { border: 1px solid palette(mid); border-radius: 4px; padding: 2px 4px;"
            " background: palette(base); }"
            "QToolButton:checked { background: #2f6fb5; color: white; border-color: #245a94;"
            " font-weight: bold; }"
            "QToolButton:disabled { color: palette(mid); }"
            "QToolButton:checked:disabled { background: #8aa9cc; color: #f2f2f2; }")
        for k, (name, (label, _fn)) in enumerate(FEATURES.items()):
            box = QToolButton()
            box.setText(label)
            box.setCheckable(True)
            box.setChecked(name in DEFAULT_FEATURES)
            box.setToolTip(f"Feed the network {label} of each point (computed from the raw x1, "
                           "x2 before standardising); the input node's width follows")
            box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            box.toggled.connect(self._on_toggled)
            # the state now, not the signal's: a refused change re-checks the chip while its
            # toggled(False) is still being delivered
            box.toggled.connect(
                lambda _on, b=box, t=label: b.setText(f"✓ {t}" if b.isChecked() else t))
            box.setText(f"✓ {label}" if box.isChecked() else label)
            self.boxes[name] = box
            grid.addWidget(box, k // PER_ROW, k % PER_ROW)
        self._quiet = False

    def chosen(self) -> tuple[str, ...]:
        """The features checked, in the table's order (canonical names)."""
        return tuple(n for n, box in self.boxes.items() if box.isChecked())

    def show_chosen(self, names: Iterable[str], exact: bool = False) -> None:
        """Check exactly ``names`` without emitting ``toggled``; () means the default x1, x2
        (the run settings' way of saying so) unless ``exact``."""
        wanted = set(names)
        if not wanted and not exact:
            wanted = set(DEFAULT_FEATURES)
        self._quiet = True
        try:
            for name, box in self.boxes.items():
                box.setChecked(name in wanted)
        finally:
            self._quiet = False

    def setEnabled(self, on: bool) -> None:
        super().setEnabled(on)
        for box in self.boxes.values():
            box.setEnabled(on)

    def _on_toggled(self, _on: bool) -> None:
        if not self._quiet:
            self.toggled.emit()


def data_input(model: Any, chosen: str | None) -> Any:
    """The input node the samples go into: the one named ``chosen``, else the only input with
    a (N, k) shape that does not feed a loss's target."""
    inputs = [n for n in model.nodes.values() if n.op == "input"]
    if chosen is not None:
        return next((n for n in inputs if n.name == chosen), None)
    targets = {e.src for e in model.edges.values() if e.port == "target"}
    fitting = [n for n in inputs if n.id not in targets and len(n.params.get("shape") or []) == 2]
    return fitting[0] if len(fitting) == 1 else None


class FeatureInputsCommand(StateCommand):
    """The data input resized and the run settings' feature inputs changed, as one undo step:
    undo brings back both (the graph and the chips agree)."""

    def __init__(self, session: Session, after: dict[str, Any], text: str,
                 before: tuple[str, ...], chosen: tuple[str, ...]) -> None:
        assert session.root is not None
        super().__init__(session.root.model, after, text)
        self.session = session
        self.features_before, self.features_after = before, chosen

    def _settings(self, features: tuple[str, ...]) -> None:
        s = self.session
        stored = () if features == DEFAULT_FEATURES else features
        s.set_settings(data=dataclasses.replace(s.data, features=stored))

    def redo(self) -> None:
        super().redo()
        self._settings(self.features_after)

    def undo(self) -> None:
        super().undo()
        self._settings(self.features_before)


def fit_data_input(session: Session, chosen: tuple[str, ...], input_name: str | None) -> str:
    """Resize the root graph's data input (and the weights multiplying it) to ``chosen``'s
    number of columns and choose ``chosen`` in the run settings, as one undo step; what happened
    in a sentence ('' when the graph did not have to change: then only the settings change).
    Raises GraphError when it cannot."""
    root = session.root
    if root is None:
        return ""
    node = data_input(root.model, input_name)
    if node is None:
        return ""
    after, changed = with_input_width(root.model, node.id, len(chosen))
    if not changed:
        return ""
    labels = ", ".join(feature_labels(chosen))
    before = tuple(session.data.features) or DEFAULT_FEATURES
    root.undo.push(FeatureInputsCommand(session, after, f"Inputs: {labels}", before, chosen))
    n = len(chosen)
    return (f"The network's inputs are now {labels}; {', '.join(changed)} resized to {n} "
            f"column{'s' if n != 1 else ''}.")


__all__ = ["DEFAULT_FEATURES", "FeatureInputs", "GraphError", "data_input", "fit_data_input"]
