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

from ..engine import EngineError
from ..graph.edit import parse_sizes

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
LOSSES = {"softmax cross-entropy (classes)": "softmax_cross_entropy", "mean squared error": "mse",
          "binary cross-entropy": "binary_cross_entropy", "no loss": "none"}


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
        self.activation.addItems(ACTIVATIONS)
        self.output_width = QSpinBox()
        self.output_width.setRange(1, 100_000)
        self.output_width.setValue(10)
        self.loss = QComboBox()
        self.loss.addItems(list(LOSSES))
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
                "activation": self.activation.currentText(), "output_width": self.output_width.value(),
                "loss": LOSSES[self.loss.currentText()]}

    def _accept(self) -> None:
        try:
            self.values()
        except EngineError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
