"""Canvas colours and metrics. The canvas draws its own colours, so it reads the same on light
and dark desktop themes."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont

CANVAS_BG = QColor("#24262b")
GRID_MINOR = QColor("#2d3036")
GRID_MAJOR = QColor("#363a41")
NODE_BODY = QColor("#3a3e46")
NODE_BORDER = QColor("#17181b")
NODE_SELECTED = QColor("#ffb84d")
TEXT = QColor("#eef0f3")
TEXT_DIM = QColor("#a9afb9")
PORT_IN = QColor("#8fb6e8")
PORT_OUT = QColor("#9ad39a")
WIRE = QColor("#9aa3b0")
WIRE_SELECTED = QColor("#ffb84d")
WIRE_OK = QColor("#7fd17f")
WIRE_BAD = QColor("#ff6b6b")
ERROR = QColor("#e5484d")
OUTPUT_MARK = QColor("#ffd166")
# gradient-health badges (the Check Health tool and the live badges during training)
HEALTH_PROBLEM = "#ff9f1a"  # orange: dead or saturated for half the units, vanishing, exploding
HEALTH_NOTICE = "#d9c25a"  # straw: a few dead or saturated units, worth knowing
HEALTH_COLOURS = {"problem": HEALTH_PROBLEM, "notice": HEALTH_NOTICE}

NODE_MIN_WIDTH = 150.0
HEADER_H = 26.0
ROW_H = 22.0
FOOTER_H = 20.0
PORT_R = 6.0
GRID = 20.0


def font(point_size: float = 9.0, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSizeF(point_size)
    f.setBold(bold)
    return f
