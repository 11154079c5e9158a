"""Granularity: fuse primitive gates into one gate, expand a fused gate, compare the two forms.

*Fuse* replaces the selected chain −x → exp → +1 → 1/x by one σ gate (or matmul + bias add by
one dense gate); *Expand* does the reverse for a selected σ, dense or composite node. Each is
one undo step (a :class:`StateCommand` holding the documents before and after). After either,
or on demand (*Compare Forms*), the "Granularity" dock runs both forms on the same inputs and
weights (:func:`playground.graph.granularity.compare`) and shows the largest gradient
difference, the gate counts and the time of one forward + backward pass of each.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine import EngineError
from ...graph import COMPOSITE, GraphModel
from ...graph.granularity import Comparison, compare, expand, find_fusable, fuse
from ..commands import StateCommand

if TYPE_CHECKING:
    from ..services import WindowServices
    from ..session import Session

EXPANDABLE = ("sigmoid", "dense", COMPOSITE)
FUSED_GATE = {"sigmoid": "σ", "dense": "dense"}


@dataclass(frozen=True)
class FormPair:
    """Two forms of one graph: ``fused`` has the part as one gate, ``primitive`` as ``parts``
    gates. ``what`` names the part (``σ``, ``dense``, a composite's name)."""

    fused: GraphModel
    primitive: GraphModel
    what: str
    parts: int
    current: str  # which form the document is in now: 'fused' or 'primitive'
    composite: bool = False  # the "fused" form is a group node, not one gate


def _us(seconds: float) -> str:
    us = seconds * 1e6
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.1f} µs" if us < 100 else f"{us:.0f} µs"


def _diff(d: float) -> str:
    if d == 0:
        return "0 (identical)"
    if d < 1e-9:
        return f"{d:.1e} (rounding)"
    if d == float("inf"):
        return "∞ (a gradient is missing)"
    return f"{d:.2e}"


class GranularityPanel(QWidget):
    """The "Granularity" dock's widget: a two-column table, fused form vs primitive form."""

    message = Signal(str)
    compared = Signal(object)

    ROWS = ("Gates (the part)", "Gates (whole graph)", "Time per step", "Max gradient diff.")
    TIPS = ("How many gates compute the part that was fused or expanded",
            "Gates in the whole graph (sources not counted)",
            "One forward + backward pass, measured just now (median of rounds timed side by side)",
            ("Largest |difference| between the gradients of the same inputs and weights in "
             "the two forms"))

    def __init__(self, session: Session, services: WindowServices,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.services = session, services
        self.comparison: Comparison | None = None
        self.pair: FormPair | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-weight: bold; font-size: 13px;")
        self.table = QTableWidget(len(self.ROWS), 2)
        self.table.setHorizontalHeaderLabels(["Fused", "Primitive"])
        self.table.setVerticalHeaderLabels(list(self.ROWS))
        for r, tip in enumerate(self.TIPS):
            self.table.verticalHeaderItem(r).setToolTip(tip)
        self.table.setWordWrap(False)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSizeAdjustPolicy(QTableWidget.SizeAdjustPolicy.AdjustToContents)
        self.table.setMinimumWidth(200)
        self.now = QLabel()
        self.now.setWordWrap(True)
        self.now.setStyleSheet("color: #767e88;")
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        bar = QHBoxLayout()
        self.fuse_button = QPushButton("Fuse")
        self.fuse_button.setToolTip("Replace the selected primitive gates by one fused gate")
        self.expand_button = QPushButton("Expand")
        self.expand_button.setToolTip("Replace the selected σ, dense or composite by its gates")
        self.compare_button = QPushButton("Compare forms")
        self.compare_button.setToolTip("Run the fused and the primitive form of the selection "
                                       "(or of the whole graph) and compare them")
        for b in (self.fuse_button, self.expand_button, self.compare_button):
            bar.addWidget(b)
        bar.addStretch(1)
        layout.addWidget(self.heading)
        layout.addWidget(self.now)
        layout.addWidget(self.table)
        layout.addWidget(self.verdict)
        layout.addLayout(bar)
        layout.addStretch(1)
        self.fuse_button.clicked.connect(self.fuse_selection)
        self.expand_button.clicked.connect(self.expand_selection)
        self.compare_button.clicked.connect(self.compare_selection)
        session.document_changed.connect(lambda _doc: self.clear())
        session.locked_changed.connect(self._on_locked)
        self.clear()

    def _on_locked(self, locked: bool) -> None:
        """While a training run is live the graph is locked: no fusing or expanding."""
        for b in (self.fuse_button, self.expand_button, self.compare_button):
            b.setEnabled(not locked)

    # -- editing -----------------------------------------------------------------------------
    def _selection(self) -> list[str]:
        return self.session.selected_node_ids()

    def fuse_selection(self) -> bool:
        doc = self.session.document
        if doc is None:
            return False
        ids = self._selection()
        if not ids:
            return self._refuse("Select the primitive gates to fuse first (e.g. −x, exp, +1 "
                                "and 1/x of a sigmoid, or a matmul and its bias add)")
        try:
            found = find_fusable(doc.model, ids)
        except EngineError as exc:
            return self._refuse(f"Cannot fuse: {exc}")
        if not found:
            return self._refuse(
                "Nothing in the selection fuses: select a whole chain −x → exp → +1 → 1/x "
                "(→ σ) or a matmul and the bias add it alone feeds (→ dense)")
        fusion = max(found, key=lambda f: len(f.node_ids))
        before = GraphModel.from_dict(doc.model.to_dict())
        try:
            after, new_id = fuse(doc.model, fusion)
        except EngineError as exc:
            return self._refuse(f"Cannot fuse: {exc}")
        name = doc.model.nodes[fusion.node_ids[-1]].name
        doc.undo.push(StateCommand(doc.model, after,
                                   f"Fuse {len(fusion.node_ids)} gates into {name}"))
        self._select([new_id])
        what = FUSED_GATE.get(fusion.kind, fusion.kind)
        self.message.emit(f"Fused {len(fusion.node_ids)} gates into one {what} gate "
                          f"'{name}' (undo restores them)")
        fused = GraphModel.from_dict(doc.model.to_dict())
        self.run(FormPair(fused, before, what, len(fusion.node_ids), "fused"))
        return True

    def expand_selection(self) -> bool:
        doc = self.session.document
        if doc is None:
            return False
        ids = self._selection()
        if len(ids) != 1:
            return self._refuse("Select one σ, dense or composite node to expand")
        node = doc.model.nodes[ids[0]]
        if node.op not in EXPANDABLE:
            return self._refuse(f"'{node.name}' ({node.op}) cannot be expanded: only σ, dense "
                                "and composite nodes are made of smaller gates")
        before = GraphModel.from_dict(doc.model.to_dict())
        try:
            after, new_ids = expand(doc.model, node.id)
        except EngineError as exc:
            return self._refuse(f"Cannot expand '{node.name}': {exc}")
        what = node.name if node.op == COMPOSITE else FUSED_GATE.get(node.op, node.op)
        doc.undo.push(StateCommand(doc.model, after,
                                   f"Expand {node.name} into {len(new_ids)} gates"))
        self._select(new_ids)
        self.message.emit(f"Expanded '{node.name}' into {len(new_ids)} gates (undo fuses them "
                          "back)")
        expanded = GraphModel.from_dict(doc.model.to_dict())
        parts = sum(1 for nid in new_ids if expanded.nodes[nid].op not in
                    ("input", "parameter", "constant"))
        self.run(FormPair(before, expanded, what, parts, "primitive", node.op == COMPOSITE))
        return True

    def compare_selection(self) -> bool:
        """Compare the current form of the selection (or the whole graph) with the other one."""
        pair = self.pair_for(self._selection())
        if pair is None:
            return self._refuse("Nothing here has two forms: select a σ, dense or composite "
                                "node, or a chain of primitive gates that fuses")
        self.run(pair)
        return True

    def pair_for(self, ids: list[str]) -> FormPair | None:
        doc = self.session.document
        if doc is None:
            return None
        model = doc.model
        here = GraphModel.from_dict(model.to_dict())
        ids = ids or list(model.nodes)
        try:
            found = find_fusable(model, ids)
            if found:
                fusion = max(found, key=lambda f: len(f.node_ids))
                after, _ = fuse(model, fusion)
                return FormPair(GraphModel.from_dict(after), here,
                                FUSED_GATE.get(fusion.kind, fusion.kind), len(fusion.node_ids),
                                "primitive")
            for nid in ids:
                node = model.nodes[nid]
                if node.op in EXPANDABLE:
                    after, new_ids = expand(model, nid)
                    other = GraphModel.from_dict(after)
                    parts = sum(1 for k in new_ids if other.nodes[k].op not in
                                ("input", "parameter", "constant"))
                    what = node.name if node.op == COMPOSITE else FUSED_GATE.get(node.op, node.op)
                    return FormPair(here, other, what, parts, "fused", node.op == COMPOSITE)
        except EngineError:
            return None
        return None

    def _select(self, ids: list[str]) -> None:
        self.services.select_nodes(ids)

    def _refuse(self, text: str) -> bool:
        self.message.emit(text)
        return False

    # -- comparing ---------------------------------------------------------------------------
    def run(self, pair: FormPair) -> Comparison | None:
        try:
            labels = (("the composite", "its gates laid out") if pair.composite else
                      ("the fused form", "the primitive form"))
            result = compare(pair.fused, pair.primitive, labels=labels)
        except (EngineError, FloatingPointError, ValueError) as exc:
            self.pair, self.comparison = pair, None
            self.heading.setText(f"{pair.what}: one gate vs {pair.parts} gates")
            self.verdict.setText(f"<span style='color:#d1242f'>The forms cannot be compared "
                                 f"yet: {html.escape(str(exc), quote=False)}</span>")
            self.message.emit(f"Cannot compare the two forms: {exc}")
            return None
        self.show_comparison(pair, result)
        return result

    def show_comparison(self, pair: FormPair, result: Comparison) -> None:
        self.pair, self.comparison = pair, result
        now = "fused" if pair.current == "fused" else "primitive"
        if pair.composite:
            self.heading.setText(f"{pair.what}: one composite node vs its {pair.parts} gates "
                                 "laid out")
        else:
            self.heading.setText(f"{pair.what}: one fused gate vs {pair.parts} primitive gates")
        self.now.setText(f"The graph is now in the {now} form; both were run on the same "
                         "inputs and weights.")
        self.table.setHorizontalHeaderLabels(
            ["Composite" if pair.composite else f"Fused {pair.what}", "Primitive"])
        cells = [
            ("1 node" if pair.composite else "1 gate", f"{pair.parts} gates"),
            (f"{result.gates_a} gates", f"{result.gates_b} gates"),
            (_us(result.seconds_a), _us(result.seconds_b)),
            (_diff(result.max_grad_diff), ""),
        ]
        for r, (a, b) in enumerate(cells):
            for c, text in enumerate((a, b)):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, item)
        self.table.setSpan(3, 0, 1, 2)  # one difference between the two forms
        same = result.max_grad_diff < 1e-9
        why = ("a composite runs exactly its inner gates" if pair.composite else
               "the fused gate's local derivative is exactly the chain of the small ones'")
        self.verdict.setText(
            (f"<b style='color:#2e7d32'>Same gradients</b> (to rounding): {why}. " if same else
             f"<b style='color:#d1242f'>The gradients differ</b> by up to "
             f"{_diff(result.max_grad_diff)}. ") + html.escape(result.verdict, quote=False))
        self.compared.emit(result)

    def clear(self) -> None:
        self.pair, self.comparison = None, None
        self.heading.setText("Fuse or expand gates to compare the two forms")
        self.now.setText("")
        self.table.clearSpans()
        self.table.setHorizontalHeaderLabels(["Fused", "Primitive"])
        for r in range(len(self.ROWS)):
            for c in range(2):
                self.table.setItem(r, c, QTableWidgetItem("—"))
        self.verdict.setText("<span style='color:#767e88'>Select a σ or dense node and "
                             "Expand it, or select −x, exp, +1, 1/x and Fuse them: the table "
                             "then shows gate counts, time per step and the largest gradient "
                             "difference of the two forms.</span>")

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""
