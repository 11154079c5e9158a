"""How big a node is on the canvas and where its ports are, without Qt.

:func:`node_geometry` estimates what the canvas's ``NodeItem`` draws: the same rules for the
height and the ports (header, one row per input port, footer; inputs on the left edge, the
output on the right edge) and a width from the same texts (name in 10 pt bold, subtitle, port
names and output shape in 8.5 pt), measured with a table of character widths of the canvas's
default font (DejaVu Sans). Another font may be a little narrower or wider; a caller that has
the real items passes their sizes to :func:`.layout.layered_positions` instead.

:func:`label_size` estimates the value/gradient label the canvas puts on a node's wires after
an evaluation, so a layout can leave room for it between layers. Plain Python, no Qt.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..engine import fmt_shape, get_op
from .model import COMPOSITE, GraphModel, Node, Position

__all__ = ["NodeGeometry", "SizeFn", "curve_hits", "label_size", "node_geometry", "node_size",
           "port_offsets", "segment_hits_rect", "text_width", "wire_points"]

SizeFn = Callable[[Node], tuple[float, float]]

# NodeItem's metrics (playground/ui/canvas/style.py and items.py)
MIN_WIDTH, HEADER_H, ROW_H, FOOTER_H = 150.0, 26.0, 22.0, 20.0

# advance widths (px) of ASCII 32..126 in the canvas fonts, rounded up to 0.1 px
_BOLD10 = (
    "4.6 6 6.8 10.9 9.1 13.1 11.4 4 6 6 6.8 10.9 5 5.4 5 4.8 9.1 9.1 9.1 9.1 9.1 9.1 9.1 9.1 9.1 "
    "9.1 5.2 5.2 10.9 10.9 10.9 7.6 13 10.1 10 9.6 10.8 8.9 8.9 10.7 10.9 4.9 4.9 10.1 8.3 13 "
    "10.9 11.1 9.6 11.1 10 9.4 8.9 10.6 10.1 14.4 10.1 9.5 9.5 6 4.8 6 10.9 6.5 6.5 8.8 9.3 7.8 "
    "9.3 8.9 5.7 9.3 9.3 4.5 4.5 8.7 4.5 13.6 9.3 9 9.3 9.3 6.5 7.8 6.3 9.3 8.5 12 8.4 8.5 7.6 "
    "9.3 4.8 9.3 10.9")
_REG85 = (
    "3.5 4.5 5.1 9.3 7 10.5 8.6 3.1 4.3 4.3 5.5 9.3 3.5 4 3.5 3.8 7 7 7 7 7 7 7 7 7 7 3.8 3.8 9.3 "
    "9.3 9.3 5.9 11 7.6 7.6 7.7 8.5 7 6.4 8.6 8.3 3.3 3.3 7.3 6.2 9.5 8.3 8.7 6.7 8.7 7.7 7 6.8 "
    "8.1 7.6 10.9 7.6 6.8 7.6 4.3 3.8 4.3 9.3 5.5 5.5 6.8 7 6.1 7 6.8 3.9 7 7 3.1 3.1 6.4 3.1 "
    "10.8 7 6.8 7 7 4.6 5.8 4.4 7 6.5 9 6.5 6.5 5.8 7 3.8 7 9.3")
_TABLES = {"bold": tuple(float(v) for v in _BOLD10.split()),
           "regular": tuple(float(v) for v in _REG85.split())}
_EM = {"bold": 13.4, "regular": 11.4}  # 10 pt and 8.5 pt at 96 dpi
_WIDE = {"bold": 13.0, "regular": 9.5}  # 'M': for letters not in the table


def text_width(text: str, font: str = "regular") -> float:
    """Estimated width (px) of ``text`` in the canvas's 10 pt bold (``'bold'``) or 8.5 pt
    regular (``'regular'``) font. An accented letter counts as its base letter; other letters
    outside ASCII as wide as 'M' (a full em for CJK and other wide scripts), so the estimate
    errs on the wide side."""
    table = _TABLES[font]
    total = 0.0
    for ch in text:
        k = ord(ch) - 32
        if not 0 <= k < len(table):  # an accented Latin letter is as wide as its base letter
            k = ord(unicodedata.normalize("NFD", ch)[0]) - 32
        if 0 <= k < len(table):
            total += table[k]
        else:
            total += _EM[font] if ord(ch) >= 0x2E80 else _WIDE[font]
    return total


@dataclass(frozen=True)
class NodeGeometry:
    """A node's box (``width`` × ``height``, position = top-left corner) and its ports: the
    y offset from the top of each input port (on the left edge, in port order) and of the
    output port (on the right edge)."""

    width: float
    height: float
    inputs: dict[str, float]
    output: float


def port_offsets(n_inputs: int) -> tuple[list[float], float]:
    """(input port y offsets, output port y offset) of a node with ``n_inputs`` input ports,
    as NodeItem places them."""
    def row(k: int) -> float:
        return HEADER_H + 16 + k * ROW_H + ROW_H / 2 - 8

    inputs = [row(k) for k in range(n_inputs)]
    output = row(0) if n_inputs <= 1 else HEADER_H + 16 + (n_inputs * ROW_H) / 2 - ROW_H / 2
    return inputs, output


def _short(value: object) -> str:
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return "[…]"


def _subtitle(node: Node) -> str:
    if node.op == COMPOSITE:
        return "composite ▸ open"
    spec = get_op(node.op)
    text = spec.label or spec.name
    if spec.role == "input" and node.params.get("value") is not None:
        text += f" = {_short(node.params['value'])}"
    elif node.op in ("add_const", "mul_const"):
        text = f"{'+' if node.op == 'add_const' else '×'} {float(node.params['c']):g}"
    elif node.op == "pow":
        text = f"x^{float(node.params['exponent']):g}"
    return text


def node_size(node: Node, ports: Sequence[str], shape: Sequence[int | None] | None) -> \
        tuple[float, float]:
    """NodeItem's body size for ``node`` with input ``ports`` and output ``shape``."""
    shape_text = "" if shape is None else fmt_shape(tuple(shape))
    text_w = max(text_width(node.name, "bold"), text_width(_subtitle(node)))
    port_w = max((text_width(p) for p in ports), default=0.0) + text_width(shape_text) + 40
    width = max(MIN_WIDTH, text_w + 36, port_w)
    height = HEADER_H + 16 + max(len(ports), 1) * ROW_H + FOOTER_H - 6
    return float(width), float(height)


def node_geometry(model: GraphModel, size: SizeFn | None = None) -> dict[str, NodeGeometry]:
    """Every node's box and ports: sizes from ``size`` (node → (w, h)) or estimated with
    :func:`node_size` from the node's texts and inferred output shape."""
    shapes = model.analyse().shapes if size is None else {}
    out = {}
    for nid, node in model.nodes.items():
        ports = model.input_ports(node)
        w, h = size(node) if size is not None else node_size(node, ports, shapes.get(nid))
        ins, o = port_offsets(len(ports))
        out[nid] = NodeGeometry(float(w), float(h), dict(zip(ports, ins, strict=True)), o)
    return out


def label_size(shape: Sequence[int | None] | None) -> tuple[float, float]:
    """About how big the value/gradient label of a node with output ``shape`` is (the canvas's
    WireLabelItem): two lines of numbers for a scalar, a shape line and two lines of heatmap,
    mean and norm for a tensor. The batch dimension counts as 1 (Evaluate feeds one sample);
    an unknown shape counts as a tensor."""
    scalar = shape is not None and all(d is None or d == 1 for d in shape)
    return (66.0, 30.0) if scalar else (140.0, 44.0)


# -- wires as the canvas draws them ----------------------------------------------------------
def wire_points(a: Position, b: Position, n: int = 24) -> list[Position]:
    """``n + 1`` points along the canvas's wire from output port ``a`` to input port ``b``: a
    cubic with control points ``dx = max(40, |b.x − a.x| / 2)`` right of ``a`` and left of
    ``b`` (``wire_path`` in playground/ui/canvas/items.py)."""
    (ax, ay), (bx, by) = a, b
    dx = max(40.0, abs(bx - ax) * 0.5)
    c1, c2 = (ax + dx, ay), (bx - dx, by)
    pts = []
    for i in range(n + 1):
        t = i / n
        u = 1.0 - t
        w0, w1, w2, w3 = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        pts.append((w0 * ax + w1 * c1[0] + w2 * c2[0] + w3 * bx,
                    w0 * ay + w1 * c1[1] + w2 * c2[1] + w3 * by))
    return pts


def segment_hits_rect(p: Position, q: Position, r: tuple[float, float, float, float]) -> bool:
    """Whether segment p–q meets the rectangle (x0, y0, x1, y1) (Liang–Barsky clipping)."""
    x0, y0, x1, y1 = r
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for den, num in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if den == 0:
            if num < 0:
                return False
            continue
        t = num / den
        if den < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def curve_hits(pts: list[Position], r: tuple[float, float, float, float]) -> bool:
    return any(segment_hits_rect(pts[i], pts[i + 1], r) for i in range(len(pts) - 1))
