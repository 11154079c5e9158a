"""The memory budget: how many bytes a graph, a weights file or a data file may ask for.

A 424-byte graph file can describe a 20000×20000 matmul, and a 258-byte weights file can claim
a 50000×50000 array. Everything sized by a user's file is checked against one budget *before*
it is allocated, and refused with :class:`MemoryBudgetError` naming what asked, how much and the
budget. The budget is, in order of precedence:

* :func:`set_memory_budget` (the GUI's preference, a test),
* the environment variable ``PLAYGROUND_MEMORY_BUDGET`` (bytes, ``512M``, ``2G``, or a
  fraction of the memory available such as ``0.25``),
* :data:`DEFAULT_FRACTION` of the memory available: the smallest of the physical memory, the
  cgroup limit and the address-space limit (``RLIMIT_AS``) of this process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .registry import EngineError, fmt_shape

ENV = "PLAYGROUND_MEMORY_BUDGET"
DEFAULT_FRACTION = 0.5
_override: int | None = None


class MemoryBudgetError(EngineError, MemoryError):
    """Something sized by the user's input would need more memory than the budget allows.
    ``what`` names it (a node, a file member), ``nbytes`` is what it needs."""

    def __init__(self, message: str, what: str = "", nbytes: int = 0, budget: int = 0,
                 key: str = "") -> None:
        super().__init__(message)
        self.what, self.nbytes, self.budget, self.key = what, nbytes, budget, key


def available_memory() -> int:
    """The memory this process may use: physical memory, capped by a cgroup limit and by an
    address-space limit when those are set."""
    sizes: list[int] = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            text = fh.read().strip()
        if text.isdigit():
            sizes.append(int(text))
    except OSError:
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            sizes.append(soft)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        pass
    positive = [s for s in sizes if s > 0]
    return min(positive) if positive else 8 * 1024**3


_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_budget(value: float | str) -> int:
    """Bytes from ``123``, ``512M``, ``2G``, ``1.5G`` or a fraction ``0.25`` (of the memory
    available); raise ValueError (TypeError for a bool) otherwise."""
    if isinstance(value, bool):
        raise TypeError(f"not a memory size: {value!r}")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGT]?)i?B?\s*",
                         str(value), re.IGNORECASE)
        if not m:
            raise ValueError(f"not a memory size: {value!r} (use bytes, 512M, 2G or 0.25)")
        number, unit = float(m.group(1)), m.group(2).upper()
    if not number > 0 or number == float("inf"):
        raise ValueError(f"a memory budget must be above 0, got {value!r}")
    if not unit and number < 1:
        return int(number * available_memory())
    return int(number * _UNITS[unit])


def memory_budget() -> int:
    """The budget in bytes (see the module's doc for where it comes from)."""
    if _override is not None:
        return _override
    env = os.environ.get(ENV)
    if env:
        try:
            return parse_budget(env)
        except (ValueError, TypeError):
            pass  # a bad variable must not stop the app; the default applies
    return int(DEFAULT_FRACTION * available_memory())


def set_memory_budget(value: float | str | None) -> None:
    """Set the budget (bytes, ``"2G"``, a fraction such as ``0.25``); None restores the
    default. Raises ValueError for a value that is not a memory size."""
    global _override
    _override = None if value is None else parse_budget(value)


@contextmanager
def budget(value: float | str | None) -> Iterator[int]:
    """Use another budget inside a ``with`` block (tests, a one-off import)."""
    global _override
    old = _override
    set_memory_budget(value)
    try:
        yield memory_budget()
    finally:
        _override = old


def fmt_bytes(n: float) -> str:
    """``3.2 GB``, ``512 MB``, ``700 bytes``."""
    for unit, size in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def _where() -> str:
    if _override is not None:
        return "set by the application"
    if os.environ.get(ENV):
        return f"set by {ENV}"
    return f"{DEFAULT_FRACTION:.0%} of the memory available; set {ENV} to change it"


def check_bytes(nbytes: int, what: str, advice: str = "") -> None:
    """Raise :class:`MemoryBudgetError` when ``what`` needs more than the budget."""
    limit = memory_budget()
    if nbytes > limit:
        tail = f"; {advice}" if advice else ""
        raise MemoryBudgetError(
            f"{what} needs {fmt_bytes(nbytes)}, over the memory budget of {fmt_bytes(limit)} "
            f"({_where()}){tail}", what, nbytes, limit)


def array_bytes(shape: Sequence[int | None], dtype: Any, batch: int = 1) -> int:
    """Bytes of an array of ``shape`` (the batch dimension ``None`` counted as ``batch``)."""
    n = 1
    for d in shape:
        n *= batch if d is None else int(d)
    return n * np.dtype(dtype).itemsize


def check_program_memory(nodes: Sequence[Any], dtype: Any, batch: int = 1) -> int:
    """The bytes a program of ``nodes`` (with ``name``, ``op``, ``shape``, ``spec.role``) needs
    for its values, gradients and optimizer state at this batch size; raise
    :class:`MemoryBudgetError` naming the largest node, its shape and size when over budget."""
    total, largest, largest_bytes = 0, None, -1
    for node in nodes:
        one = array_bytes(node.shape, dtype, batch)
        role = node.spec.role
        # a value and a gradient; parameters also keep optimizer state (Adam: two arrays)
        total += one * (1 if role == "constant" else 4 if role == "parameter" else 2)
        if one > largest_bytes:
            largest, largest_bytes = node, one
    limit = memory_budget()
    if total > limit and largest is not None:
        batch_note = f" at batch size {batch}" if any(
            d is None for n in nodes for d in n.shape) else ""
        raise MemoryBudgetError(
            f"node '{largest.name}' ({largest.op}) of shape {fmt_shape(largest.shape)} needs "
            f"{fmt_bytes(largest_bytes)} for its value alone; the graph needs "
            f"{fmt_bytes(total)} in all{batch_note}, over the memory budget of "
            f"{fmt_bytes(limit)} ({_where()}). Make the largest arrays smaller",
            largest.name, total, limit, getattr(largest, "key", ""))
    return total
