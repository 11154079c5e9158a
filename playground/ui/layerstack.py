"""The layer-stack builder: a whole MLP in one step."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from ..engine import EngineError, get_op
from ..graph.edit import ACTIVATIONS, LOSSES, parse_sizes

FIRST_CHOICE = {"activation": "sigmoid", "loss": "softmax_cross_entropy"}  # what opens selected


def _label(op: str) -> str:
    if op == "none":
        return "no loss"
    spec = get_op(op)
    return f"{spec.label} ({op})"


class LayerStackDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Insert layer stack")
        form = QFormLayout(self)
        self.input_width = QSpinBox()
        self.input_width.setRange(1, 100_000)
        self.input_width.setValue(64)
        self.hidden = QLineEdit("64")
        self.hidden.setPlaceholderText("e.g. 64, 32")
        self.activation = QComboBox()
        for op in ACTIVATIONS:  # from the registry
            self.activation.addItem(_label(op), op)
        self.activation.setCurrentIndex(self.activation.findData(FIRST_CHOICE["activation"]))
        self.output_width = QSpinBox()
        self.output_width.setRange(1, 100_000)
        self.output_width.setValue(10)
        self.loss = QComboBox()
        for op in LOSSES:
            self.loss.addItem(_label(op), op)
        self.loss.setCurrentIndex(self.loss.findData(FIRST_CHOICE["loss"]))
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d1242f;")
        form.addRow("Input width", self.input_width)
        form.addRow("Hidden sizes", self.hidden)
        form.addRow("Activation", self.activation)
        form.addRow("Output width", self.output_width)
        form.addRow("Loss", self.loss)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        return {"input_width": self.input_width.value(), "hidden": parse_sizes(self.hidden.text()),
                "activation": self.activation.currentData(),
                "output_width": self.output_width.value(), "loss": self.loss.currentData()}

    def _accept(self) -> None:
        try:
            self.values()
        except EngineError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
