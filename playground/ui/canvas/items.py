"""Graphics items of the canvas: nodes with named ports, smooth wires, the wire being dragged.

Besides the document's content, nodes and wires carry what the explain tools show: a glow for
the gate a step-through is at (green forward, red backward), small badges at a node's bottom
left (gradient check, gradient health; several kinds at once), and the gradient-flow overlay's
width and colour on a wire."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from ...engine import fmt_shape, get_op
from ...graph import COMPOSITE, Node
from ..glossary import legend_html
from . import style as S
from .badges import BadgeItem
from .nativebounds import NativeBoundsItem
from .paintclock import timed

if TYPE_CHECKING:
    from .scene import GraphScene

# Below this scale (the fitted view of a big graph) text is under ~5 px high and unreadable:
# nodes are drawn as two flat boxes, which is several times cheaper than four runs of text.
LOD_TEXT = 0.4
# zoomed out, a node's name keeps at least this on-screen size (px), drawn larger in the scene
TITLE_MIN_PX = 11.0
TITLE_PX = 13.3  # the name's normal size: 10 pt bold at 96 dpi
SUBTITLE_PX = 11.3  # the subtitle's: 8.5 pt
_TITLE_FONTS: dict[float, QFont] = {}


def _title_font(point_size: float) -> QFont:
    font = _TITLE_FONTS.get(point_size)
    if font is None:
        font = _TITLE_FONTS[point_size] = S.font(point_size, bold=True)
    return font

NODE_Z, BADGED_Z = 1.0, 1.2  # stacking: a node with badges above the others
PORT_PEN = QPen(S.NODE_BORDER, 1.5)
PORT_IN_BRUSH, PORT_OUT_BRUSH = QBrush(S.PORT_IN), QBrush(S.PORT_OUT)
PHASE_COLOURS = {"forward": QColor("#5fd35f"), "backward": QColor("#ff5f56")}


def phase_colour(phase: str | None) -> QColor | None:
    if phase is None:
        return None
    return PHASE_COLOURS.get(phase, QColor("#ffd166"))


class PortItem(QGraphicsEllipseItem):
    """An input (left) or output (right) port of a node: the hit area. Its node paints it (one
    paint call per node instead of one per port, and none when zoomed far out)."""

    def __init__(self, parent: NodeItem, name: str, is_output: bool) -> None:
        r = S.PORT_R
        super().__init__(-r, -r, 2 * r, 2 * r, parent)
        self.node_item = parent
        self.name = name
        self.is_output = is_output
        self.hovered = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        what = "output" if is_output else f"input '{name}'"
        self.setToolTip(f"{what}: drag to another port to connect")

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def hoverEnterEvent(self, event: Any) -> None:
        self.hovered = True
        self.node_item.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: Any) -> None:
        self.hovered = False
        self.node_item.update()
        super().hoverLeaveEvent(event)


class NodeItem(NativeBoundsItem):
    """A node: coloured header with the node's name and op, named ports, output shape, badge."""

    def __init__(self, scene: GraphScene, node: Node) -> None:
        super().__init__()
        self._scene = scene
        self.node_id = node.id
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsScenePositionChanges)
        self.setAcceptHoverEvents(True)
        self.setZValue(NODE_Z)
        # repainted from a pixmap unless the node itself changed: a live run redraws the
        # values, wires and unit maps around unchanged nodes several times a second
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.inputs: dict[str, PortItem] = {}
        self.output: PortItem | None = None
        self.title = ""
        self.subtitle = ""
        self.colour = QColor("#666")
        self.shape_text = ""
        self.problem: str | None = None
        self.is_output_node = False
        self.failed: str | None = None
        self.badges: dict[str, tuple[str, str]] = {}  # kind -> (text, colour)
        self.badge_details: dict[str, str] = {}  # kind -> longer text for the tooltip
        self.badge_item = BadgeItem(self)
        self.step_phase: str | None = None
        self._base_tip = ""
        self._rect = QRectF()
        self.setPos(*node.position)
        self.refresh(node, ports=(), shape=None, problem=None)

    # -- content ---------------------------------------------------------------------------
    def refresh(self, node: Node, ports: tuple[str, ...], shape: Any, problem: str | None,
                is_output: bool = False) -> None:
        self.prepareGeometryChange()
        if node.op == COMPOSITE:
            self.subtitle, colour = "composite ▸ open", "#8a6d3b"
        else:
            spec = get_op(node.op)
            self.subtitle, colour = spec.label or spec.name, spec.colour
            if spec.role == "input" and node.params.get("value") is not None:
                self.subtitle += f" = {_short(node.params['value'])}"
            elif node.op in ("add_const", "mul_const"):
                self.subtitle = f"{'+' if node.op == 'add_const' else '×'} {node.params['c']:g}"
            elif node.op == "pow":
                self.subtitle = f"x^{node.params['exponent']:g}"
        self.title = node.name
        self.colour = QColor(colour)
        self.shape_text = "" if shape is None else fmt_shape(shape)
        self.problem = problem
        self.is_output_node = is_output
        # ports
        for name in list(self.inputs):
            if name not in ports:
                gone = self.inputs.pop(name)
                scene = gone.scene()
                if scene is not None:
                    scene.removeItem(gone)  # and its parent link with it
        for name in ports:
            if name not in self.inputs:
                self.inputs[name] = PortItem(self, name, is_output=False)
        order = {p: k for k, p in enumerate(ports)}
        self.inputs = dict(sorted(self.inputs.items(), key=lambda kv: order[kv[0]]))
        if self.output is None:
            self.output = PortItem(self, "out", is_output=True)
        # geometry
        fm_title = QFontMetricsF(S.font(10, bold=True))
        fm = QFontMetricsF(S.font(8.5))
        text_w = max(fm_title.horizontalAdvance(self.title), fm.horizontalAdvance(self.subtitle))
        port_w = max((fm.horizontalAdvance(p) for p in ports), default=0) + fm.horizontalAdvance(
            self.shape_text) + 40
        width = max(S.NODE_MIN_WIDTH, text_w + 36, port_w)
        rows = max(len(ports), 1)
        height = S.HEADER_H + 16 + rows * S.ROW_H + S.FOOTER_H - 6
        self._rect = QRectF(0, 0, width, height)
        # ports (hovered: radius 8), badges, glow
        self.set_bounds(self._rect.adjusted(-10, -12, 14, 12))
        for k, port in enumerate(self.inputs.values()):
            port.setPos(0, self.port_row_y(k))
        self.output.setPos(width, self.port_row_y(0) if len(ports) <= 1 else S.HEADER_H + 16 + (rows * S.ROW_H) / 2 - S.ROW_H / 2)
        self._base_tip = self._tooltip(node)
        self._update_tooltip()
        self.badge_item.relayout()
        self.update()

    def set_failed(self, message: str | None) -> None:
        """Mark the node that produced a non-finite value (None clears the mark)."""
        if message == self.failed:
            return
        self.failed = message
        self._update_tooltip()
        self.update()

    def set_badge(self, kind: str, text: str | None, colour: str = "", detail: str = "") -> None:
        """Add or replace the badge of ``kind`` (``text`` None removes it); ``detail`` goes
        into the tooltip after the text."""
        before = self.badges.get(kind)
        if text is None:
            self.badge_details.pop(kind, None)
            if self.badges.pop(kind, None) is None:
                return
        else:
            if before == (text, colour) and self.badge_details.get(kind, "") == detail:
                return
            self.badges[kind] = (text, colour)
            self.badge_details[kind] = detail
        self._update_tooltip()
        if self.badges.get(kind) != before:
            # the pills are the badge item's (a live run's details change every second, its
            # pills seldom): the node's own picture has no badge in it
            self.badge_item.relayout()
        # a node with badges sits above the others: its badges (fixed-size pills that may reach
        # past its body at a low zoom) are never hidden under the next node
        z = BADGED_Z if self.badges else NODE_Z
        if self.zValue() != z:  # (Qt asks itemChange, in Python, even for the same value)
            self.setZValue(z)

    def set_step_phase(self, phase: str | None) -> None:
        """Glow green ('forward') or red ('backward') around the node; None clears it."""
        if phase != self.step_phase:
            self.step_phase = phase
            self.update()

    def _update_tooltip(self) -> None:
        tip = self._base_tip
        if self.failed:
            tip += f"<br><span style='color:#ff6b6b'><b>Training stopped here:</b> {self.failed}</span>"
        for kind, (text, colour) in self.badges.items():
            c = colour or "#cccccc"
            detail = self.badge_details.get(kind, "")
            tip += f"<br><span style='color:{c}'>●</span> <b>{kind}</b>: {text}"
            if detail:
                tip += f" — {detail}"
        if tip != self.toolTip():  # a live run re-badges every update: skip Python's itemChange
            self.setToolTip(tip)

    def port_row_y(self, k: int) -> float:
        return S.HEADER_H + 16 + k * S.ROW_H + S.ROW_H / 2 - 8

    def _tooltip(self, node: Node) -> str:
        lines = [f"<b>{node.name}</b> — {self.subtitle}"]
        if node.op != COMPOSITE:
            spec = get_op(node.op)
            if spec.formula:
                lines.append(f"{spec.formula}")
            if spec.derivative and not spec.is_source:
                lines.append(f"local derivative: {spec.derivative}")
        if self.shape_text:
            lines.append(f"output shape {self.shape_text}")
        if self.problem:
            lines.append(f"<span style='color:#e5484d'><b>Problem:</b> {self.problem}</span>")
        return "<br>".join(lines) + legend_html(*lines[1:])

    # -- geometry --------------------------------------------------------------------------
    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self._rect, 6, 6)
        return path

    def body_rect(self) -> QRectF:
        return QRectF(self._rect)

    def port_scene_pos(self, port: str | None) -> QPointF:
        item = self.output if port is None else self.inputs.get(port)
        if item is None:
            return self.mapToScene(QPointF(0, S.HEADER_H))
        return item.scenePos()

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and self._scene.snap:
            p = QPointF(value)
            return QPointF(round(p.x() / S.GRID) * S.GRID, round(p.y() / S.GRID) * S.GRID)
        if change == QGraphicsItem.GraphicsItemChange.ItemScenePositionHasChanged:
            self._scene.node_item_moved(self)
        return super().itemChange(change, value)

    # -- painting --------------------------------------------------------------------------
    @timed
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        r = self._rect
        selected = self.isSelected()
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        if lod < LOD_TEXT:
            self._paint_far(painter, r, selected)
            self._paint_big_title(painter, r, lod)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        glow = phase_colour(self.step_phase) if self.step_phase is not None else None
        if glow is not None:
            for width, alpha in ((9.0, 60), (5.0, 120), (2.5, 230)):
                c = QColor(glow)
                c.setAlpha(alpha)
                painter.setPen(QPen(c, width))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRoundedRect(r.adjusted(-2.5, -2.5, 2.5, 2.5), 8, 8)
        # body
        if self.failed:
            painter.setPen(QPen(S.ERROR, 6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(r.adjusted(-3, -3, 3, 3), 8, 8)
        painter.setPen(QPen(S.NODE_SELECTED if selected else S.NODE_BORDER, 2.2 if selected else 1.2))
        painter.setBrush(QBrush(S.NODE_BODY))
        painter.drawRoundedRect(r, 6, 6)
        # header
        header = QPainterPath()
        hr = QRectF(r.left(), r.top(), r.width(), S.HEADER_H + 14)
        header.addRoundedRect(hr, 6, 6)
        clip = QPainterPath()
        clip.addRect(QRectF(r.left(), r.top(), r.width(), S.HEADER_H + 14))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(self.colour.darker(115)))
        painter.drawPath(header.intersected(clip))
        painter.setBrush(QBrush(S.NODE_BODY))
        painter.drawRect(QRectF(r.left() + 1, r.top() + S.HEADER_H + 13, r.width() - 2, 2))
        if not self._paint_big_title(painter, r, lod):
            painter.setPen(QPen(S.TEXT))
            painter.setFont(S.font(10, bold=True))
            painter.drawText(QRectF(r.left() + 10, r.top() + 3, r.width() - 20, 18),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self.title)
            painter.setFont(S.font(8.5))
            painter.setPen(QPen(QColor(255, 255, 255, 210)))
            painter.drawText(QRectF(r.left() + 10, r.top() + 20, r.width() - 20, 16),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self.subtitle)
        # port labels (left out where they would be too small to read)
        painter.setFont(S.font(8.5))
        small = SUBTITLE_PX * lod < 6.0
        painter.setPen(QPen(S.TEXT_DIM))
        for name, port in self.inputs.items() if not small else ():
            y = port.pos().y()
            painter.drawText(QRectF(r.left() + 12, y - 9, r.width() / 2, 18),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        # output shape (footer, right aligned)
        if self.shape_text and not small:
            painter.setPen(QPen(S.TEXT_DIM))
            painter.drawText(QRectF(r.left() + 8, r.bottom() - S.FOOTER_H, r.width() - 16, S.FOOTER_H - 2),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.shape_text)
        if self.is_output_node:
            painter.setPen(QPen(S.OUTPUT_MARK))
            painter.drawText(QRectF(r.left() + 8, r.bottom() - S.FOOTER_H, r.width() - 16, S.FOOTER_H - 2),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "◆ output")
        # ports
        painter.setPen(PORT_PEN)
        for each in (*self.inputs.values(), self.output):
            if each is not None:
                painter.setBrush(PORT_OUT_BRUSH if each.is_output else PORT_IN_BRUSH)
                radius = S.PORT_R * (1.35 if each.hovered else 1.0)
                painter.drawEllipse(each.pos(), radius, radius)
        # error badge
        if self.problem:
            painter.setPen(QPen(QColor("white"), 1.5))
            painter.setBrush(QBrush(S.ERROR))
            at = QPointF(r.right() - 2, r.top() + 2)
            painter.drawEllipse(at, 9, 9)
            painter.setFont(S.font(9, bold=True))
            painter.drawText(QRectF(at.x() - 9, at.y() - 9, 18, 18), Qt.AlignmentFlag.AlignCenter,
                             "!")

    def badge_rects(self) -> list[QRectF]:
        """Where each badge is drawn (scene coordinates at the current zoom), in the order of
        ``badges``: pills of a fixed size on screen under the node's bottom-left corner."""
        return self.badge_item.rects()

    def _paint_big_title(self, painter: QPainter, r: QRectF, lod: float) -> bool:
        """Zoomed out, the node's name keeps TITLE_MIN_PX on screen: drawn larger in the scene
        and elided to the node's width, with the subtitle below it while there is room and it
        is still big enough to read. False when the zoom is close enough for the normal
        header; no name is drawn when the node is too small on screen to hold one."""
        scale = TITLE_MIN_PX / (TITLE_PX * lod) if lod > 0 else 0.0
        if scale <= 1.0:
            return False
        if r.width() * lod < 36:  # a few pixels wide: no room for any name
            return True
        font = _title_font(round(10 * scale, 1))
        fm = QFontMetricsF(font)
        left, width = r.left() + 6 * min(scale, 1.6), r.width() - 12 * min(scale, 1.6)
        room = S.HEADER_H + 12
        sub = bool(self.subtitle) and fm.height() + 15 <= room and SUBTITLE_PX * lod >= 6.5
        title_h = fm.height() if sub else room
        text = fm.elidedText(self.title, Qt.TextElideMode.ElideRight, width)
        painter.setFont(font)
        painter.setPen(QPen(S.TEXT))
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRectF(left, r.top() + 1, width, title_h), align, text)
        if sub:
            painter.setFont(S.font(8.5))
            painter.setPen(QPen(QColor(255, 255, 255, 210)))
            painter.drawText(QRectF(left, r.top() + 1 + title_h, width, room - title_h), align,
                             self.subtitle)
        return True

    def _paint_far(self, painter: QPainter, r: QRectF, selected: bool) -> None:
        """Zoomed far out: body and header as flat boxes, no text."""
        if selected:
            pen = QPen(S.NODE_SELECTED, 2)
            pen.setCosmetic(True)
            painter.setPen(pen)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(S.NODE_BODY))
        painter.drawRect(r)
        painter.fillRect(QRectF(r.left(), r.top(), r.width(), S.HEADER_H + 14), self.colour.darker(115))
        if self.problem:
            painter.fillRect(QRectF(r.right() - 14, r.top() - 10, 24, 24), S.ERROR)
        if self.failed:
            pen = QPen(S.ERROR, 3)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(r.adjusted(-3, -3, 3, 3))
        glow = phase_colour(self.step_phase) if self.step_phase is not None else None
        if glow is not None:
            pen = QPen(glow, 4)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(r.adjusted(-4, -4, 4, 4))

    def mouseDoubleClickEvent(self, event: Any) -> None:
        self._scene.node_double_clicked(self.node_id)
        super().mouseDoubleClickEvent(event)


def _short(value: Any) -> str:
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return "[…]"


