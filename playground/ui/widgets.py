"""Small shared widgets."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class Breadcrumb(QWidget):
    """``Graph ▸ group1 ▸ inner``: click a level to go back to it."""

    level_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 8, 4)
        self.setAutoFillBackground(True)
        self.buttons: list[QPushButton] = []

    def set_path(self, names: list[str]) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.buttons = []
        for level, name in enumerate(names):
            if level:
                self._layout.addWidget(QLabel("▸"))
            button = QPushButton(name)
            button.setFlat(True)
            last = level == len(names) - 1
            button.setEnabled(not last)
            if last:
                font = button.font()
                font.setBold(True)
                button.setFont(font)
            button.clicked.connect(lambda _=False, lv=level: self.level_clicked.emit(lv))
            self._layout.addWidget(button)
            self.buttons.append(button)
        hint = QLabel("  editing inside a composite — changes apply when you go back")
        hint.setEnabled(False)
        self._layout.addWidget(hint)
        self._layout.addStretch(1)
