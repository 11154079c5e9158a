"""Heatmaps of arrays for the wire labels: a diverging colour map (blue negative, dark grey
zero, orange positive) of a digest's block means, as the 24×12 px thumbnail a label draws.

A live run's training thread makes the thumbnails' pixels beside its digests
(:class:`LiveDigest`); the canvas only wraps them in images (NumPy's fancy indexing in the GUI
thread hands the interpreter lock to the training thread)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtGui import QImage

from ...engine.digest import Digest, digest

__all__ = ["LUT", "THUMB_H", "THUMB_W", "LiveDigest", "heatmap_rgb", "live_digest", "rgb_image",
           "thumbnail", "thumbnail_rgb", "two_sided_lut"]

THUMB_W, THUMB_H = 24, 12


def two_sided_lut(low: tuple[int, int, int], mid: tuple[int, int, int],
                  high: tuple[int, int, int]) -> np.ndarray:
    """256 RGB entries (uint8) from ``low`` through ``mid`` (entries 127–128) to ``high``,
    linear on each side."""
    lo, md, hi = (np.array(c, dtype=np.float64) for c in (low, mid, high))
    t = np.linspace(-1.0, 1.0, 256)[:, None]
    lut = np.where(t < 0, md + (lo - md) * (-t), md + (hi - md) * t)
    return np.clip(np.round(lut), 0, 255).astype(np.uint8)


# blue (negative) – dark grey (zero) – orange (positive)
LUT = two_sided_lut((86, 150, 255), (52, 55, 62), (255, 140, 60))


def heatmap_rgb(m: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(rows, cols, 3) uint8 colours of ``m`` in the diverging map, symmetric about zero
    (NaN and infinities drawn as zero). Few NumPy calls: live runs draw many of these."""
    m = np.asarray(m, dtype=np.float64)
    if m.size and not np.isfinite(m).all():
        m = np.nan_to_num(m, nan=0.0, posinf=0.0, neginf=0.0)
    if scale is None:
        scale = float(np.abs(m).max()) if m.size else 0.0
    if scale <= 0:
        scale = 1.0
    idx = np.rint(m * (127.5 / scale) + 127.5).astype(np.intp)
    np.clip(idx, 0, 255, out=idx)
    return LUT[idx]


@dataclass(frozen=True)
class LiveDigest(Digest):
    """A :class:`Digest` with its thumbnail's pixels (:func:`thumbnail_rgb`) made beside it, as
    a live run's training thread sends them: the canvas only wraps them in an image (NumPy's
    indexing in the GUI thread would hand the interpreter lock to the training thread)."""

    thumb: np.ndarray | None = None


def live_digest(a: Any) -> Digest:
    """:func:`digest` of ``a``, with its thumbnail when it has more than one element."""
    d = digest(a, THUMB_H, THUMB_W)
    if d.size == 1:
        return d
    thumb = thumbnail_rgb(d)
    thumb.setflags(write=False)
    return LiveDigest(**{f.name: getattr(d, f.name) for f in dataclasses.fields(Digest)},
                      thumb=thumb)


def thumbnail_rgb(a: Any) -> np.ndarray:
    """The heatmap of ``a`` (an array or its digest: block means of at most THUMB_W × THUMB_H
    cells) as THUMB_H × THUMB_W RGB pixels, each cell repeated to fill them (what Qt shows when
    it scales the cells' image to that size without smoothing)."""
    if isinstance(a, LiveDigest) and a.thumb is not None:
        return a.thumb
    rgb = heatmap_rgb(digest(a, THUMB_H, THUMB_W).grid)
    h, w = rgb.shape[:2]
    if h == 0 or w == 0:
        return np.zeros((THUMB_H, THUMB_W, 3), np.uint8)
    # the cell under each pixel's centre, a centre on a cell boundary taking the cell before
    # (as Qt picks them when it scales an image)
    rows = ((2 * np.arange(THUMB_H) + 1) * h - 1) // (2 * THUMB_H)
    cols = ((2 * np.arange(THUMB_W) + 1) * w - 1) // (2 * THUMB_W)
    return np.ascontiguousarray(rgb[rows[:, None], cols[None, :]])


def thumbnail(a: Any) -> QImage:
    """:func:`thumbnail_rgb` as an image of its own (THUMB_W × THUMB_H px)."""
    return rgb_image(thumbnail_rgb(a)).copy()


def rgb_image(rgb: np.ndarray) -> QImage:
    """An image over ``rgb`` (rows, cols, 3) uint8 without copying: keep ``rgb`` alive as long
    as it is drawn."""
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
