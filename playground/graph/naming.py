"""Short default names for new nodes, so that the steps read like the lessons. No Qt.

Built by hand, f = (x + y)² comes out as ``x``, ``y``, ``q = x + y``, ``f = q²`` and its
backward step reads ``∂f/∂q = ∂f/∂f · ∂f/∂q``, not ``∂pow/∂add = ∂pow/∂pow · ∂pow/∂add``.
The scheme, read from each op's spec (role and category), never from a table of op names:

* inputs: ``x``, ``y``, ``z``, then ``x1``, ``y1``, ``z1``, ``x2``, ...
* parameters: ``W``, ``W1``, ``W2``, ...; constants: ``c``, ``c1``, ...
* layers (dense): ``z1``, ``z2``, ...; activations: ``h1``, ``h2``, ... (as in the examples);
  losses: ``loss``, ``loss1``, ...; groups: ``group``, ``group1``, ...
* every other gate, in the order they are added: ``q``, ``f``, ``g``, ``r``, ``s``, ``t``,
  ``u``, ``v``, then ``q1``, ``f1``, ... (the CS231n circuits' q = x + y, f = q · z).

A name already taken is skipped; names in files are never changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import count

from ..engine.registry import get_op
from .model import COMPOSITE, GraphModel

__all__ = ["GATE_LETTERS", "INPUT_LETTERS", "default_name"]

INPUT_LETTERS = ("x", "y", "z")
GATE_LETTERS = ("q", "f", "g", "r", "s", "t", "u", "v")


def _letters(letters: Sequence[str]) -> Iterator[str]:
    """x, y, z, x1, y1, z1, x2, ..."""
    for k in count():
        for letter in letters:
            yield letter if k == 0 else f"{letter}{k}"


def _numbered(stem: str, first: int) -> Iterator[str]:
    """``stem`` numbered from ``first`` (0: the bare stem first)."""
    for k in count(first):
        yield stem if k == 0 else f"{stem}{k}"


def _candidates(op: str) -> Iterator[str]:
    if op == COMPOSITE:
        return _numbered("group", 0)
    spec = get_op(op)
    if spec.role == "input":
        return _letters(INPUT_LETTERS)
    if spec.role == "parameter":
        return _numbered("W", 0)
    if spec.role == "constant":
        return _numbered("c", 0)
    if spec.role == "loss":
        return _numbered("loss", 0)
    if spec.category == "Layers":
        return _numbered("z", 1)
    if spec.category == "Activations":
        return _numbered("h", 1)
    return _letters(GATE_LETTERS)


def default_name(model: GraphModel, op: str) -> str:
    """The name a new ``op`` node gets in ``model`` when none is given (see the module's
    docstring). Raises ``UnknownOpError`` for an op that is not registered."""
    taken = {n.name for n in model.nodes.values()}
    return next(name for name in _candidates(op) if name not in taken)
