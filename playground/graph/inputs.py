"""Inputs placed by hand are single numbers; data inputs have a batch dimension. This tells
them apart when they have no value, and finds the batch shape an input needs when it is wired
to a gate that takes data. Plain Python, no Qt.

An Input dropped on the canvas has shape ``[]``: a number to type in (see the input op's
params). Wired into a gate that needs a batch (a matmul with a (3, 4) weight, a dense layer),
the wire does not fit; :func:`fitting_input_shape` finds the shape that would, so the refusal
can say it (``give 'x' shape [null, 3]``) and the window can offer to change it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from .model import Edge

if TYPE_CHECKING:
    from .model import GraphModel

__all__ = ["fitting_input_shape", "inputs_without_value"]

Shape = list[int | None]


def _candidates(model: GraphModel, dst: str) -> list[Shape]:
    """Batch shapes worth trying: (N,) (class labels), (N, k) for every size k on the other
    wires into ``dst``, then (N, 1)."""
    shapes = model.analyse().shapes
    sizes: set[int] = set()
    for edge in model.incoming(dst).values():
        sizes.update(d for d in shapes.get(edge.src) or () if d is not None)
    found: list[Shape] = [[None], *([None, k] for k in sorted(sizes))]
    return found + ([[None, 1]] if [None, 1] not in found else [])


def fitting_input_shape(model: GraphModel, src: str, dst: str, port: str) -> Shape | None:
    """A batch shape for the input node ``src`` with which the wire ``src → dst.port`` fits and
    nothing downstream gets a new problem; None when ``src`` is not an input or none is found."""
    node = model.nodes.get(src)
    if node is None or node.op != "input" or dst not in model.nodes:
        return None
    before = model.analyse().problems
    candidates = _candidates(model, dst)
    probe = Edge("__probe__", src, dst, port)
    model.edges[probe.id] = probe
    try:
        for shape in candidates:
            after = model.analyse({src: shape}).problems
            if all("not connected" in msg or before.get(nid) == msg
                   for nid, msg in after.items()):
                return shape
    finally:
        del model.edges[probe.id]
    return None


def inputs_without_value(model: GraphModel, fed: Collection[str] = ()
                         ) -> tuple[list[str], list[str]]:
    """The names of ``model``'s inputs that have no value of their own and are not in ``fed``,
    as ``(to_type, from_data)``: inputs without a batch dimension want a number typed in (a
    dataset sample cannot feed them), inputs with one want data (a sample of the dataset)."""
    to_type: list[str] = []
    from_data: list[str] = []
    for node in model.nodes.values():
        if node.op == "input" and node.params.get("value") is None and node.name not in fed:
            (from_data if None in node.params["shape"] else to_type).append(node.name)
    return to_type, from_data
