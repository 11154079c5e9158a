"""The math card: the selected node's formula and local derivative, with its numbers.

Everything it writes comes from the op registry: the op's expression and local-derivative
templates (``OpSpec.texts``), filled in with the node names and then with the numbers
(:func:`playground.engine.formatting.render`); each local derivative's value is the op's own
vjp at those numbers (:func:`playground.graph.explain.local_derivative`). The numbers are the
ones on the wires (the latest Evaluate or step-through); when the wires are blank the card runs
one quiet forward and backward pass of its own (float64, inputs with their ``value``), cached
on the graph's revision. For q = x + y it reads ``q = x + y = 1 + 2 = 3`` and ``∂q/∂x = 1``;
for f = q², ``f = q² = 3² = 9`` and ``∂f/∂q = 2·q = 2·3 = 6``; for a sigmoid,
``f = σ(z) = σ(1) = 0.73`` and ``∂f/∂z = f·(1 − f) = 0.73·(1 − 0.73) = 0.20``. Tensors show
their shape and mean.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from ...engine import EngineError, get_op
from ...engine.formatting import brief, listing, plain, render
from ...graph import COMPOSITE, compile_graph, graph_values
from ...graph.explain import local_derivative
from ...training.workbench import set_fitting_params

if TYPE_CHECKING:
    from ..session import Session

Values = Mapping[str, Any]
SMALL_VALUE = 12  # a source value with at most this many elements is shown whole


def val(a: Any) -> str:
    """A scalar as people write it (``0.73``); a tensor as its shape and mean."""
    arr = np.asarray(a)
    return plain(arr.reshape(-1)[0]) if arr.size == 1 else brief(arr)


def par(a: Any) -> str:
    """A value inside an expression: negatives in parentheses."""
    text = val(a)
    return f"({text})" if text.startswith(("-", "−")) else text


def _scalars(*arrays: Any) -> bool:
    return all(a is not None and np.size(a) == 1 for a in arrays)


def forward_line(op: str, out: str, names: Mapping[str, str], values: Mapping[str, Any],
                 y: Any, params: Mapping[str, Any]) -> str:
    """``out = formula = formula with numbers = result``; parts without numbers are left out."""
    spec = get_op(op)
    expr = spec.texts(params).expr
    if not expr:
        return f"{out} = {spec.formula or spec.label}" + (f" = {val(y)}" if y is not None else "")
    text = f"{out} = {render(expr, names, params)}"
    if names and _scalars(*(values.get(p) for p in names)):
        shown = render(expr, {p: par(values[p]) for p in names}, params)
        text += f" = {shown.replace('((', '(').replace('))', ')')}"
    if y is not None:
        text += f" = {val(y)}"
    return text


def local_lines(op: str, out: str, names: Mapping[str, str], values: Mapping[str, Any],
                y: Any, params: Mapping[str, Any]) -> list[str]:
    """One ``∂out/∂input = rule = numbers = result`` per input port."""
    spec = get_op(op)
    texts = spec.texts(params)
    have = all(values.get(p) is not None for p in spec.inputs)
    lines: list[str] = []
    for port in spec.inputs:
        name = names.get(port, port)
        head = f"∂{out}/∂{name}"
        template = texts.local.get(port)
        if template is None:
            lines.append(f"{head}: {texts.derivative or 'see the op'}")
            continue
        rule = render(template, {**names, "out": out}, params)
        text = f"{head} = {rule}"
        local = None
        if have:
            try:
                local = local_derivative(op, port, [values[p] for p in spec.inputs], params)
            except (EngineError, ValueError, FloatingPointError):
                local = None
        if local is not None:
            if _scalars(*(values[p] for p in spec.inputs), y):
                numbers = {p: par(values[p]) for p in spec.inputs}
                numbers["out"] = par(y)
                shown = render(template, numbers, params)
                if shown not in (rule, val(local), f"({val(local)})"):
                    text += f" = {shown}"
            if val(local) != rule:
                text += f" = {val(local)}"
        lines.append(text)
    return lines


class MathCard(QWidget):
    """A small card that follows the selection. ``text()`` is its plain text."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.node_id: str | None = None
        self._document: Any = None
        self._cache: tuple[Any, int, dict[str, tuple[Any, Any]] | None, str] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setContentsMargins(8, 6, 8, 6)
        scroll = QScrollArea()
        scroll.setWidget(self.label)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout.addWidget(scroll)
        self._plain = ""
        session.document_changed.connect(self.on_document)
        session.canvas_changed.connect(self._on_canvas)
        session.weights_changed.connect(self._forget_numbers)
        session.runner.finished.connect(lambda _reason: self._forget_numbers())
        self.refresh()

    def text(self) -> str:
        return self._plain

    # -- following the window --------------------------------------------------------------
    def _on_canvas(self, scene: Any) -> None:
        scene.selectionChanged.connect(self.refresh)
        scene.overlays.changed.connect(self.refresh)
        self.refresh()

    def _forget_numbers(self) -> None:
        self._cache = None
        self.refresh()

    def on_document(self, document: Any) -> None:
        if self._document is not None and self._document is not document:
            try:
                self._document.undo.indexChanged.disconnect(self._on_edited)
            except (RuntimeError, TypeError):
                pass
        if document is not None and document is not self._document:
            document.undo.indexChanged.connect(self._on_edited)
        self._document = document
        self._cache = None
        self.refresh()

    def _on_edited(self, *_: Any) -> None:
        try:
            self.refresh()
        except RuntimeError:  # the document is being destroyed: nothing to show
            pass

    def refresh(self) -> None:
        ids = self.session.selected_node_ids()
        self.show_node(ids[0] if len(ids) == 1 else None)

    # -- numbers ---------------------------------------------------------------------------
    def _numbers(self) -> tuple[Values, Values, str]:
        """(values, gradients) by document node id, and where they come from."""
        scene = self.session.scene
        if scene is not None and scene.overlays.has_arrays:  # not a live run's digests
            return scene.overlays.wire_values, scene.overlays.wire_grads, "the wires"
        doc = self.session.document
        if doc is None:
            return {}, {}, ""
        key = doc.model.revision  # never an undo index: that repeats after undo + a new edit
        if self._cache is None or self._cache[0] is not doc or self._cache[1] != key:
            self._cache = (doc, key, *self._evaluate(doc, self.session.trained_arrays()))
        data, note = self._cache[2], self._cache[3]
        if data is None:
            return {}, {}, note
        return ({k: v for k, (v, _) in data.items()}, {k: g for k, (_, g) in data.items()},
                "one pass with the inputs' values")

    @staticmethod
    def _evaluate(doc: Any, weights: Mapping[str, Any] | None
                  ) -> tuple[dict[str, tuple[Any, Any]] | None, str]:
        try:
            program = compile_graph(doc.model, dtype="float64")
            if any(program.nodes[i].params.get("value") is None for i in program.inputs):
                return None, ("Numbers appear once the inputs have values (Evaluate, or the "
                              "step-through with a dataset sample).")
            if weights:
                set_fitting_params(program, weights)
            program.run(None, all_grads=True)
        except (EngineError, FloatingPointError, ValueError) as exc:
            return None, f"No numbers: {exc}"
        return graph_values(doc.model, program), ""

    # -- the card --------------------------------------------------------------------------
    def show_node(self, node_id: str | None) -> None:
        self.node_id = node_id
        doc = self.session.document
        if doc is None or node_id is None or node_id not in doc.model.nodes:
            self._set(["Select one node to see its formula and local derivative with numbers."],
                      [])
            return
        model = doc.model
        node = model.nodes[node_id]
        values, grads, source = self._numbers()
        try:
            out_id = model.output_node()
            f = model.nodes[out_id].name
        except Exception:  # noqa: BLE001 - no output yet
            out_id, f = None, "L"
        y, g = values.get(node_id), grads.get(node_id)
        incoming = model.incoming(node_id)
        ports = model.input_ports(node_id)
        n = {p: (model.nodes[incoming[p].src].name if p in incoming else "?") for p in ports}
        v = {p: (values.get(incoming[p].src) if p in incoming else None) for p in ports}
        if node.op == COMPOSITE:
            body = node.body
            gates = sum(1 for b in body.nodes.values() if b.op != "input") if body else 0
            title = f"{node.name} — composite of {gates} node{'s' if gates != 1 else ''}"
            main = [f"{node.name} = {node.name}({', '.join(n.values())})"
                    + (f" = {val(y)}" if y is not None else "")]
            deriv = ["Open it (double-click) or Expand it to see each gate's derivative."]
        else:
            spec = get_op(node.op)
            title = f"{node.name} — {spec.label or spec.name} ({spec.name})"
            if spec.is_source:
                main = [f"{node.name} = {val(y)}" if y is not None else f"{node.name}: {spec.formula}"]
                if y is not None and 1 < np.size(y) <= SMALL_VALUE:  # small: every element
                    main.append(f"{node.name} = {listing(y, precision=6)}")
                deriv = [spec.doc or spec.formula]
            else:
                main = [forward_line(node.op, node.name, n, v, y, node.params)]
                if any(np.size(a) > 1 for a in v.values() if a is not None):
                    main += [f"{n[p]}: {val(v[p])}" for p in ports if v[p] is not None]
                deriv = local_lines(node.op, node.name, n, v, y, node.params)
                if any("G" in rule for rule in spec.texts(node.params).local.values()):
                    deriv.append(f"G is the gradient arriving at {node.name}: ∂{f}/∂{node.name}")
        grad_lines: list[str] = []
        if g is not None:
            grad_lines.append(f"∂{f}/∂{node.name} = {val(g)}  (the gradient on its output)")
        if out_id is not None and node_id == out_id:
            grad_lines.append(f"This is the output: backprop starts here with ∂{f}/∂{f} = 1.")
        if y is None and node.op != COMPOSITE and not get_op(node.op).is_source and source:
            grad_lines.append("Not computed yet in the step-through." if source == "the wires"
                              else source)
        elif source and y is not None:
            grad_lines.append(f"numbers from {source}")
        self._set([title, *main], [*deriv, *grad_lines])

    def _set(self, top: list[str], rest: list[str]) -> None:
        self._plain = "\n".join([*top, *rest])
        e = lambda s: html.escape(s, quote=False)
        if not rest:
            self.label.setText(f"<p style='color:#767e88'>{e(top[0])}</p>")
            return
        title, *main = top
        parts = [f"<div style='font-weight:bold; font-size:13px'>{e(title)}</div>"]
        parts += [f"<div style='font-size:17px; margin-top:6px'>{e(m)}</div>" for m in main]
        for line in rest:
            if line.startswith("∂"):
                parts.append(f"<div style='font-size:15px; margin-top:4px'>{e(line)}</div>")
            else:
                parts.append(f"<div style='font-size:12px; color:#767e88; margin-top:4px'>"
                             f"{e(line)}</div>")
        self.label.setText("".join(parts))
