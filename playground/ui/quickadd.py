"""Quick-add: a searchable popup at the cursor (Tab, double-click on the canvas, or a wire
released on empty canvas, then filtered to the ops that fit)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from .palette import ROLE_OP, palette_entries, swatch


class QuickAddPopup(QFrame):
    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add a node: type to search…")
        self.list = QListWidget(self)
        self.list.setMinimumWidth(260)
        self.list.setMinimumHeight(280)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._accept_current)
        self.list.itemActivated.connect(self._accept_item)
        self.search.installEventFilter(self)
        self._allowed: set[str] | None = None

    def populate(self, allowed: Iterable[str] | None = None) -> None:
        self._allowed = set(allowed) if allowed is not None else None
        self.list.clear()
        for cat, key, label, colour, tip in palette_entries():
            if self._allowed is not None and key not in self._allowed:
                continue
            item = QListWidgetItem(swatch(colour), f"{label}    ({cat})")
            item.setData(ROLE_OP, key)
            item.setToolTip(tip)
            self.list.addItem(item)
        self._filter(self.search.text())

    def open_at(self, global_pos: QPoint, allowed: Iterable[str] | None = None) -> None:
        self.search.clear()
        self.populate(allowed)
        self.move(global_pos)
        self.show()
        self.search.setFocus()

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        first = None
        for k in range(self.list.count()):
            item = self.list.item(k)
            hide = bool(needle) and needle not in f"{item.text()} {item.data(ROLE_OP)}".lower()
            item.setHidden(hide)
            if not hide and first is None:
                first = item
        if first is not None:
            self.list.setCurrentItem(first)

    def visible_ops(self) -> list[str]:
        return [self.list.item(k).data(ROLE_OP) for k in range(self.list.count())
                if not self.list.item(k).isHidden()]

    def _accept_current(self) -> None:
        item = self.list.currentItem()
        if item is not None and not item.isHidden():
            self._accept_item(item)

    def _accept_item(self, item: QListWidgetItem) -> None:
        self.hide()
        self.chosen.emit(item.data(ROLE_OP))

    def eventFilter(self, obj: object, event: object) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                rows = [k for k in range(self.list.count()) if not self.list.item(k).isHidden()]
                if rows:
                    cur = self.list.currentRow()
                    idx = rows.index(cur) if cur in rows else 0
                    idx = min(len(rows) - 1, idx + 1) if event.key() == Qt.Key.Key_Down else max(0, idx - 1)
                    self.list.setCurrentRow(rows[idx])
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, event)  # type: ignore[arg-type]
