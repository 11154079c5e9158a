"""The inspector: the selected node's name, params (widgets built from the op's param spec),
shapes and problems. Every edit is an undo command."""

from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..engine import EngineError, Param, fmt_shape, get_op
from ..engine.formatting import render
from ..graph import COMPOSITE
from .commands import RenameCommand, SetParamCommand
from .glossary import LOCAL_DERIVATIVE, choice_tip, legend_html, param_tip


def _param_text(param: Param, value: Any) -> str:
    if value is None:
        return ""
    if param.kind == "float":
        return f"{value:g}"
    if param.kind in ("shape", "ints", "array"):
        return json.dumps(value)
    return str(value)


def _parse(param: Param, text: str) -> Any:
    text = text.strip()
    if param.kind in ("shape", "ints", "array", "axis"):
        if text == "" and param.kind in ("array", "axis"):
            return None
        try:
            return json.loads(text.replace("N", "null").replace("None", "null"))
        except json.JSONDecodeError:
            raise EngineError(f"'{text}' is not a number or a list like [null, 64]") from None
    if param.kind == "float":
        try:
            return float(text)
        except ValueError:
            raise EngineError(f"'{text}' is not a number") from None
    return text


class InspectorPanel(QWidget):
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Any = None
        self.scene: Any = None
        self.node_id: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.header = QLabel("Select a node to see and edit it.")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.header)
        self.form_host = QWidget(self)
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.form_host)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.info)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d1242f;")
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.editors: dict[str, QWidget] = {}
        self.name_edit: QLineEdit | None = None

    def set_document(self, document: Any, scene: Any) -> None:
        self.document, self.scene = document, scene
        self.show_node(None)

    def show_node(self, node_id: str | None) -> None:
        self.node_id = node_id
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        self.error.setText("")
        model = self.document.model if self.document else None
        if model is None or node_id is None or node_id not in model.nodes:
            self.header.setText("Select a node to see and edit it.")
            self.info.setText("")
            self.name_edit = None
            return
        node = model.nodes[node_id]
        if node.op == COMPOSITE:
            self.header.setText(f"<b>{node.name}</b><br><i>composite</i> (a sub-graph shown as "
                                "one node) — double-click to open it")
        else:
            self.header.setText(self._describe(model, node))
        self.name_edit = QLineEdit(node.name)
        self.name_edit.editingFinished.connect(self._rename)
        self.form.addRow("name", self.name_edit)
        if node.op != COMPOSITE:
            for param in get_op(node.op).params:
                editor = self._editor(param, node.params.get(param.name))
                editor.setToolTip(param_tip(node.op, param.name, param.doc or param.kind))
                self.editors[param.name] = editor
                self.form.addRow(param.name, editor)
        self.refresh_info()

    @staticmethod
    def _describe(model: Any, node: Any) -> str:
        """The header: the node's name and op, then what it computes written with the names
        of what feeds it (``q = x + y``; a source says what it is in words), the local
        derivative, and the symbols explained."""
        spec = get_op(node.op)
        texts = spec.texts(node.params)
        head = f"<b>{html.escape(node.name)}</b> — {spec.label or spec.name} <i>({spec.name})</i>"
        if spec.is_source:
            return f"{head}<br>{html.escape(spec.doc)}"
        incoming = model.incoming(node.id)
        names = {p: model.nodes[e.src].name for p, e in incoming.items()}
        if texts.expr and len(names) == len(model.input_ports(node.id)):
            body = f"{node.name} = {render(texts.expr, names, node.params)}"
        else:
            body = texts.formula
        deriv = texts.derivative
        text = f"{head}<br>{html.escape(body)}"
        if deriv:
            text += f"<br>local derivative: {html.escape(deriv)}"
            text += f"<br><span style='color:gray; font-size:small'>{LOCAL_DERIVATIVE}</span>"
        return text + legend_html(body, deriv)

    def refresh_info(self) -> None:
        if self.node_id is None or self.document is None or self.node_id not in self.document.model.nodes:
            return
        model = self.document.model
        shapes = self.scene.shapes if self.scene else {}
        problems = self.scene.problems if self.scene else {}
        lines = []
        incoming = model.incoming(self.node_id)
        for port in model.input_ports(self.node_id):
            e = incoming.get(port)
            if e is None:
                lines.append(f"input <b>{port}</b>: not connected")
            else:
                s = shapes.get(e.src)
                lines.append(f"input <b>{port}</b> ← {model.nodes[e.src].name} "
                             f"{fmt_shape(s) if s is not None else '?'}")
        s = shapes.get(self.node_id)
        lines.append(f"output shape: <b>{fmt_shape(s) if s is not None else '?'}</b>")
        if self.node_id in problems:
            lines.append(f"<span style='color:#d1242f'><b>Problem:</b> {problems[self.node_id]}</span>")
        self.info.setText("<br>".join(lines))

    def _editor(self, param: Param, value: Any) -> QWidget:
        name = param.name
        if param.kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(lambda v, n=name: self._set(n, v))
            return box
        if param.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(param.choices))
            for k, choice in enumerate(param.choices):
                tip = choice_tip(name, choice)
                if tip:
                    combo.setItemData(k, tip, Qt.ItemDataRole.ToolTipRole)
            combo.setCurrentText(str(value))
            combo.currentTextChanged.connect(lambda v, n=name: self._set(n, v))
            return combo
        if param.kind == "int":
            spin = QSpinBox()
            spin.setRange(int(param.minimum if param.minimum is not None else -1_000_000),
                          int(param.maximum if param.maximum is not None else 1_000_000))
            spin.setValue(int(value))
            spin.editingFinished.connect(lambda n=name, s=spin: self._set(n, s.value()))
            return spin
        edit = QLineEdit(_param_text(param, value))
        if param.kind == "shape":
            edit.setPlaceholderText("[] one number; [null, 64] a batch (N) of rows of 64")
        edit.editingFinished.connect(lambda n=name, e=edit, p=param: self._set_text(n, p, e.text()))
        return edit

    def _set_text(self, key: str, param: Param, text: str) -> None:
        try:
            value = _parse(param, text)
        except EngineError as exc:
            self._show_error(str(exc))
            return
        self._set(key, value)

    def _set(self, key: str, value: Any) -> None:
        if self.node_id is None or self.document is None:
            return
        node = self.document.model.nodes.get(self.node_id)
        if node is None or node.params.get(key) == value:
            return
        try:
            cmd = SetParamCommand(self.document.model, self.node_id, key, value)
            if cmd.new == node.params.get(key):
                return
            self.document.undo.push(cmd)
            self.error.setText("")
        except EngineError as exc:
            self._show_error(str(exc))

    def _rename(self) -> None:
        if self.name_edit is None or self.node_id is None:
            return
        name = self.name_edit.text().strip()
        node = self.document.model.nodes.get(self.node_id)
        if node is None or name == node.name:
            return
        try:
            self.document.undo.push(RenameCommand(self.document.model, self.node_id, name))
            self.error.setText("")
        except EngineError as exc:
            self.name_edit.setText(node.name)
            self._show_error(str(exc))

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.message.emit(text)
