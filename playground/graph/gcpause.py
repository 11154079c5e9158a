"""Holding off Python's cyclic garbage collector while a large document is built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a large document is built: its full passes
    over every live object made loading and compiling superlinear (0.5 s of 2.2 s at 30,000
    nodes). Nothing built here is garbage, and collection resumes (if it was on) afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
