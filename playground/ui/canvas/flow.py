"""The gradient-flow overlay's look: each wire's width and colour from the mean |∂L/∂x| it
carries, on a log scale from the weakest wire drawn to the strongest (the canvas's overlays
apply it, the flow legend explains it)."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping

from PySide6.QtGui import QColor

FLOW_MIN_W, FLOW_MAX_W = 1.5, 8.0
FLOW_STEPS = 24  # distinct widths and colours of the ramp
# gradient-flow colour ramp, weak → strong
FLOW_RAMP = ((0.0, QColor("#3a5f8f")), (0.45, QColor("#5aa0d8")), (0.75, QColor("#ffd166")),
             (1.0, QColor("#ff6b3d")))


@functools.lru_cache(maxsize=256)
def flow_colour(t: float) -> QColor:
    """The ramp's colour at ``t`` (0 weak .. 1 strong). Shared: do not change it (a live run asks
    for the same FLOW_STEPS colours every second, and each new QColor would hand the interpreter
    lock to the training thread)."""
    t = min(max(t, 0.0), 1.0)
    for (t0, c0), (t1, c1) in itertools.pairwise(FLOW_RAMP):
        if t <= t1:
            f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            return QColor(round(c0.red() + (c1.red() - c0.red()) * f),
                          round(c0.green() + (c1.green() - c0.green()) * f),
                          round(c0.blue() + (c1.blue() - c0.blue()) * f))
    return QColor(FLOW_RAMP[-1][1])


def flow_widths(magnitudes: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """Per source: (width in px, ramp position 0..1) from mean |gradient| on a log scale.
    Zero or non-finite magnitudes get the thinnest wire."""
    logs = {k: math.log10(v) for k, v in magnitudes.items()
            if v is not None and math.isfinite(v) and v > 0}
    out: dict[str, tuple[float, float]] = {}
    if logs:
        lo, hi = min(logs.values()), max(logs.values())
        span = hi - lo
    for k in magnitudes:
        if k not in logs:
            out[k] = (FLOW_MIN_W, 0.0)
            continue
        t = 0.5 if span < 1e-12 else (logs[k] - lo) / span
        t = round(t * FLOW_STEPS) / FLOW_STEPS  # live updates repaint a wire only when it changes
        out[k] = (FLOW_MIN_W + t * (FLOW_MAX_W - FLOW_MIN_W), t)
    return out
