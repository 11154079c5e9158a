"""The palette: every op from the registry grouped by category, a filter box, drag to the canvas."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine import categories
from ..graph.library import COMPOSITES
from .canvas.view import OP_MIME
from .glossary import LOCAL_DERIVATIVE, legend_html

ROLE_OP = Qt.ItemDataRole.UserRole + 1
ADD_HINT = "Drag it onto the canvas, or double-click it to add it in the middle"
CATEGORY_ORDER = ["Sources", "Math", "Activations", "Layers", "Losses", "Array", "Composites"]


def swatch(colour: str, size: int = 12) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QBrush(QColor(colour)))
    p.setPen(QColor(colour).darker(140))
    p.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    p.end()
    return QIcon(pix)


def palette_entries() -> list[tuple[str, str, str, str, str]]:
    """(category, key, label, colour, tooltip) for every op and ready composite."""
    out = []
    for cat, specs in categories().items():
        for spec in specs:
            tip = f"<b>{spec.label or spec.name}</b> <i>({spec.name})</i><br>{spec.formula}"
            if spec.derivative and not spec.is_source:
                tip += f"<br>local derivative: {spec.derivative}"
            if spec.doc:
                tip += f"<br><span style='color:gray'>{spec.doc}</span>"
            if spec.derivative and not spec.is_source:
                tip += f"<br><span style='color:gray; font-size:small'>{LOCAL_DERIVATIVE}</span>"
            tip += legend_html(spec.formula, spec.derivative if not spec.is_source else "")
            tip += f"<br><i>{ADD_HINT}</i>"
            label = spec.label if spec.label and spec.label != spec.name else spec.name
            if spec.label and spec.label != spec.name and len(spec.label) <= 3:
                label = f"{spec.label}  {spec.name}"
            out.append((cat, spec.name, label, spec.colour, tip))
    for key, (label, doc, _build) in COMPOSITES.items():
        tip = (f"<b>{label}</b><br>{doc}{legend_html(doc)}<br><i>{ADD_HINT} (a composite: a "
               "sub-graph shown as one node; double-click it to open)</i>")
        out.append(("Composites", f"composite:{key}", label, "#8a6d3b", tip))
    return out


class _OpTree(QTreeWidget):
    def mimeData(self, items: Any) -> QMimeData:
        data = QMimeData()
        for item in items:
            op = item.data(0, ROLE_OP)
            if op:
                data.setData(OP_MIME, op.encode("utf-8"))
                data.setText(op)
                break
        return data

    def mimeTypes(self) -> list[str]:
        return [OP_MIME]


class PalettePanel(QWidget):
    """Ops by category. Drag one onto the canvas, or double-click to add it at the centre."""

    op_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter ops…")
        self.filter.setClearButtonEnabled(True)
        self.tree = _OpTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setIndentation(12)
        self.tree.setUniformRowHeights(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._build()
        self.filter.textChanged.connect(self.apply_filter)
        self.tree.itemDoubleClicked.connect(self._on_double_clicked)

    def _build(self) -> None:
        entries = palette_entries()
        cats = sorted({e[0] for e in entries},
                      key=lambda c: CATEGORY_ORDER.index(c) if c in CATEGORY_ORDER else 99)
        for cat in cats:
            top = QTreeWidgetItem([cat])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            self.tree.addTopLevelItem(top)
            self._categories[cat] = top
            for c, key, label, colour, tip in entries:
                if c != cat:
                    continue
                item = QTreeWidgetItem([label])
                item.setData(0, ROLE_OP, key)
                item.setIcon(0, swatch(colour))
                item.setToolTip(0, tip)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                top.addChild(item)
                self.items[key] = item
            top.setExpanded(True)

    def apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for top in self._categories.values():
            shown = 0
            for k in range(top.childCount()):
                item = top.child(k)
                if item is None:
                    continue
                hay = f"{item.text(0)} {item.data(0, ROLE_OP)} {top.text(0)}".lower()
                hide = bool(needle) and needle not in hay
                item.setHidden(hide)
                shown += not hide
            top.setHidden(shown == 0)

    def _on_double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        op = item.data(0, ROLE_OP)
        if op:
            self.op_activated.emit(op)

    def mime_for(self, key: str) -> QMimeData:
        """The palette's own drag payload for ``key`` (tests send it in synthetic drops)."""
        return self.tree.mimeData([self.items[key]])
