"""The math card: the selected node's formula and local derivative, with its numbers.

The numbers are the ones on the wires (the latest Evaluate or step-through: the scene's
``wire_values``/``wire_grads``); when the wires are blank the card runs one quiet forward and
backward pass of its own (float64, inputs with their ``value``), cached until the next edit.
For q = x + y it reads ``q = x + y = 1 + 2 = 3`` and ``∂q/∂x = 1, ∂q/∂y = 1``; for f = q²,
``f = q² = 3² = 9`` and ``∂f/∂q = 2q = 2·3 = 6``; for a sigmoid, ``f = σ(z) = σ(1) = 0.73`` and
``∂f/∂z = σ(1−σ) = 0.73·(1−0.73) = 0.20``. Tensors show their shape and mean.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from ...engine import EngineError, get_op
from ...engine.formatting import brief as fmt_array
from ...graph import COMPOSITE, compile_graph, graph_values
from ...training.workbench import set_fitting_params

if TYPE_CHECKING:
    from ..session import Session

Values = Mapping[str, Any]


def num(v: Any) -> str:
    """A number as people write it: ``3``, ``0.73``, ``-0.20``, ``1.2e-05``."""
    v = float(v)
    if not np.isfinite(v):
        return "nan" if np.isnan(v) else ("∞" if v > 0 else "−∞")
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    if 0.01 <= abs(v) < 1000:
        return f"{v:.2f}"
    return f"{v:.3g}"


def val(a: Any) -> str:
    """A scalar as :func:`num`; a tensor as its shape and mean."""
    arr = np.asarray(a)
    if arr.size == 1:
        return num(arr.reshape(-1)[0])
    return fmt_array(arr)


def par(a: Any) -> str:
    """A value inside an expression: negatives in parentheses."""
    text = val(a)
    return f"({text})" if text.startswith("-") else text


def _sup(p: float) -> str:
    return {2.0: "²", 3.0: "³"}.get(float(p), f"^{num(p)}")


def _scalar(*arrays: Any) -> bool:
    return all(a is not None and np.size(a) == 1 for a in arrays)


def _f(a: Any) -> float:
    return float(np.asarray(a).reshape(-1)[0])


def forward_line(op: str, out: str, n: Mapping[str, str], v: Mapping[str, Any], y: Any,
                 params: Mapping[str, Any]) -> str:
    """``out = formula = formula with numbers = result``; parts without numbers are left out."""
    c = num(params["c"]) if "c" in params else ""
    forms: dict[str, Callable[[Mapping[str, str]], str]] = {
        "add": lambda s: f"{s['a']} + {s['b']}", "sub": lambda s: f"{s['a']} − {s['b']}",
        "mul": lambda s: f"{s['a']} · {s['b']}", "div": lambda s: f"{s['a']} / {s['b']}",
        "neg": lambda s: f"−{s['x']}", "add_const": lambda s: f"{s['x']} + {c}",
        "mul_const": lambda s: f"{c} · {s['x']}",
        "pow": lambda s: f"{s['x']}{_sup(params.get('exponent', 2.0))}",
        "exp": lambda s: f"exp({s['x']})", "log": lambda s: f"ln({s['x']})",
        "reciprocal": lambda s: f"1/{s['x']}", "relu": lambda s: f"max(0, {s['x']})",
        "leaky_relu": lambda s: f"leaky_relu({s['x']})", "tanh": lambda s: f"tanh({s['x']})",
        "sigmoid": lambda s: f"σ({s['x']})", "softmax": lambda s: f"softmax({s['x']})",
        "log_softmax": lambda s: f"log_softmax({s['x']})",
        "matmul": lambda s: f"{s['a']} · {s['b']}", "transpose": lambda s: f"{s['x']}ᵀ",
        "sum": lambda s: f"Σ {s['x']}", "mean": lambda s: f"mean({s['x']})",
        "dense": lambda s: f"{s['x']} · {s['W']} + {s['b']}",
        "mse": lambda s: f"mse({s['pred']}, {s['target']})",
        "softmax_cross_entropy": lambda s: f"CE({s['logits']}, {s['target']})",
        "binary_cross_entropy": lambda s: f"BCE({s['pred']}, {s['target']})",
    }
    make = forms.get(op)
    if make is None:
        spec = get_op(op)
        text = f"{out} = {spec.formula or spec.label}"
        return text + (f" = {val(y)}" if y is not None else "")
    text = f"{out} = {make(n)}"
    have = all(v.get(p) is not None for p in n)
    scalar = have and all(np.size(v[p]) == 1 for p in n)
    if scalar and n:
        shown = make({p: par(v[p]) for p in n})
        shown = shown.replace("((", "(").replace("))", ")")
        text += f" = {shown}"
    if y is not None:
        text += f" = {val(y)}"
    return text


def local_lines(op: str, out: str, n: Mapping[str, str], v: Mapping[str, Any], y: Any,
                params: Mapping[str, Any]) -> list[str]:
    """One ``∂out/∂input = rule = numbers = result`` per input port."""
    spec = get_op(op)
    lines: list[str] = []
    for port in spec.inputs:
        name = n.get(port, port)
        head = f"∂{out}/∂{name}"
        rule, shown, result = _local(op, port, n, v, y, params)
        if rule is None:
            lines.append(f"{head}: {spec.derivative or 'see the op'}")
            continue
        text = f"{head} = {rule}"
        if shown is not None and shown != rule and shown != result:
            text += f" = {shown}"
        if result is not None and result != rule:
            text += f" = {result}"
        lines.append(text)
    return lines


def _local(op: str, port: str, n: Mapping[str, str], v: Mapping[str, Any], y: Any,
           params: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(symbolic rule, rule with numbers, value) of one local derivative; None where unknown."""
    x = v.get(port)
    xn = n.get(port, port)
    sc = _scalar(*(v.get(p) for p in n), y) if n else False
    if op in ("add", "add_const"):
        return "1", None, None
    if op == "sub":
        return ("1" if port == "a" else "−1"), None, None
    if op == "neg":
        return "−1", None, None
    if op == "mul_const":
        return num(params["c"]), None, None
    if op == "mul":
        other = "b" if port == "a" else "a"
        ov = v.get(other)
        return n.get(other, other), None, (val(ov) if ov is not None else None)
    if op == "div":
        a, b = v.get("a"), v.get("b")
        if port == "a":
            rule = f"1/{n.get('b', 'b')}"
            return rule, (f"1/{par(b)}" if sc else None), (val(1.0 / np.asarray(b)) if b is not None else None)
        rule = f"−{n.get('a', 'a')}/{n.get('b', 'b')}²"
        res = None if a is None or b is None else val(-np.asarray(a) / np.asarray(b) ** 2)
        return rule, (f"−{par(a)}/{par(b)}²" if sc else None), res
    if op == "pow":
        p = float(params.get("exponent", 2.0))
        rule = f"2{xn}" if p == 2.0 else f"{num(p)}·{xn}{_sup(p - 1)}"
        if x is None:
            return rule, None, None
        shown = (f"2·{par(x)}" if p == 2.0 else f"{num(p)}·{par(x)}{_sup(p - 1)}") if sc else None
        return rule, shown, val(p * np.asarray(x, dtype=float) ** (p - 1))
    if op == "exp":
        return f"exp({xn})", None, (val(y) if y is not None else None)
    if op == "log":
        return f"1/{xn}", (f"1/{par(x)}" if sc else None), (val(1.0 / np.asarray(x)) if x is not None else None)
    if op == "reciprocal":
        rule = f"−1/{xn}²"
        res = None if x is None else val(-1.0 / np.asarray(x, dtype=float) ** 2)
        return rule, (f"−1/{par(x)}²" if sc else None), res
    if op == "relu":
        res = None if x is None else val((np.asarray(x) > 0).astype(float))
        return f"1 if {xn} > 0 else 0", None, res
    if op == "leaky_relu":
        alpha = float(params.get("alpha", 0.01))
        res = None if x is None else val(np.where(np.asarray(x) > 0, 1.0, alpha))
        return f"1 if {xn} > 0 else α", None, res
    if op == "tanh":
        res = None if y is None else val(1.0 - np.asarray(y) ** 2)
        return f"1 − tanh²({xn})", (f"1 − {par(y)}²" if sc else None), res
    if op == "sigmoid":
        res = None if y is None else val(np.asarray(y) * (1.0 - np.asarray(y)))
        shown = f"{val(y)}·(1−{val(y)})" if sc else None
        return "σ(1−σ)", shown, res
    template = _MATRIX.get(op, {}).get(port)
    if template is None:
        return None, None, None
    try:
        return template.format(**{p: n.get(p, p) for p in get_op(op).inputs}), None, None
    except (KeyError, IndexError):
        return template, None, None


# Not elementwise: the local derivative is applied to G, the gradient arriving at the output.
_MATRIX: dict[str, dict[str, str]] = {
    "matmul": {"a": "G · {b}ᵀ", "b": "{a}ᵀ · G"},
    "dense": {"x": "G · {W}ᵀ", "W": "{x}ᵀ · G", "b": "G summed over the batch"},
    "transpose": {"x": "Gᵀ"},
    "sum": {"x": "G copied to every element"},
    "mean": {"x": "G / n copied to every element"},
    "softmax": {"x": "y ⊙ (G − Σ G⊙y)"},
    "log_softmax": {"x": "G − softmax({x}) · Σ G"},
    "mse": {"pred": "2({pred} − {target}) / n", "target": "−2({pred} − {target}) / n"},
    "softmax_cross_entropy": {"logits": "(softmax({logits}) − onehot({target})) / N",
                              "target": "none (labels are not differentiated)"},
    "binary_cross_entropy": {"pred": "(q − t) / (q(1 − q)) / n, q = {pred}, t = {target}",
                             "target": "log((1 − q)/q) / n, q = {pred}"},
}


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
        if scene is not None and scene.overlays.has_wire_data:
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
                deriv = [spec.doc or spec.formula]
            else:
                main = [forward_line(node.op, node.name, n, v, y, node.params)]
                if any(np.size(a) > 1 for a in v.values() if a is not None):
                    main += [f"{n[p]}: {val(v[p])}" for p in ports if v[p] is not None]
                deriv = local_lines(node.op, node.name, n, v, y, node.params)
                if any("G" in rule for rule in _MATRIX.get(node.op, {}).values()):
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
