"""Granularity: the same computation as several small gates or one fused gate.

A fused gate and the chain of primitive gates it stands for give the same values and the same
gradients (to rounding): σ(x) with local derivative σ(1−σ) is −x → exp → +1 → 1/x, and
dense = matmul + bias add. This module finds such chains, fuses them, expands fused gates again
and compares two versions of a graph (largest gradient difference, gate counts, and the time per
step measured side by side, with a verdict in words: which is faster, or that it is within noise).

Like :mod:`.edit`, :func:`fuse` and :func:`expand` are pure: they read a live model and return
the document dict it should become, to be applied with :func:`.edit.apply_dict` (undo applies
the ``before`` snapshot and restores the document exactly). Plain Python, no Qt.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Program, get_op
from . import errors as E
from .apply import scratch_copy as _scratch
from .apply import snapshot as _snapshot
from .compile import compile_graph
from .edit import ungroup
from .layout import place_in_line
from .model import COMPOSITE, GraphModel
from .timing import side_by_side

__all__ = ["Comparison", "Fusion", "compare", "expand", "find_fusable", "fuse", "sample_feeds"]

SIGMOID_CHAIN = get_op("sigmoid").fused_of  # −x → exp → +1 → 1/x, from the registry
DENSE_PAIR = get_op("dense").fused_of  # matmul → add
EXPAND_STEP = 160.0  # horizontal spacing of the gates an expansion creates


@dataclass(frozen=True)
class Fusion:
    kind: str  # 'sigmoid' or 'dense'
    node_ids: tuple[str, ...]  # the gates replaced, in data-flow order
    description: str


@dataclass(frozen=True)
class Comparison:
    max_grad_diff: float  # largest |difference| of any source's gradient (same name in both)
    gates_a: int
    gates_b: int
    seconds_a: float  # one forward + backward pass (median over interleaved rounds)
    seconds_b: float
    ratio: float = math.nan  # a's time / b's time: the median of the rounds, side by side
    ratio_low: float = math.nan  # a 95% confidence interval of that median
    ratio_high: float = math.nan
    rounds: int = 0  # rounds timed side by side
    batch: int | None = None  # samples per pass; None when the graph has no batch dimension
    labels: tuple[str, str] = ("the first form", "the second form")

    @property
    def speedup(self) -> float:
        """How many times faster b runs than a."""
        return self.seconds_a / self.seconds_b if self.seconds_b > 0 else float("inf")

    @property
    def faster(self) -> str | None:
        """'a' or 'b' when that one is faster beyond the timing noise (the whole confidence
        interval of the ratio is on one side of 1), None when the difference is within noise."""
        if self.ratio_high < 1.0:
            return "a"
        if self.ratio_low > 1.0:
            return "b"
        return None

    @property
    def verdict(self) -> str:
        """The timing in words a student can read: which form is faster and by how much, or
        that the difference is within this machine's timing noise."""
        if math.isnan(self.ratio):
            return "The two forms were not timed."
        a, b = self.labels
        how = f"over {self.rounds} rounds timed side by side"
        if self.faster is None:
            text = (f"Within noise: {a} and {b} take the same time here ({a} takes "
                    f"{self.ratio_low:.2f}–{self.ratio_high:.2f}× the time of {b} {how}).")
            if self.batch is None:
                text += (" On single numbers each gate does very little arithmetic and the fixed "
                         "cost of a pass dominates; on a batch of data fewer gates also means "
                         "fewer passes over the data.")
            return text
        fast, slow = (a, b) if self.faster == "a" else (b, a)
        gain = 1.0 / self.ratio if self.faster == "a" else self.ratio
        lo, hi = sorted((self.ratio_low, self.ratio_high))
        lo, hi = (1.0 / hi, 1.0 / lo) if self.faster == "a" else (lo, hi)
        per = f" on a batch of {self.batch}" if self.batch else ""
        if gain < 1.1:
            return (f"{fast[0].upper()}{fast[1:]} is slightly faster than {slow}{per}: by "
                    f"{_percent(gain)} ({_percent(lo)}–{_percent(hi)} {how}).")
        return (f"{fast[0].upper()}{fast[1:]} is {gain:.2f}× as fast as {slow}{per} "
                f"({lo:.2f}–{hi:.2f}× {how}).")


def _percent(gain: float) -> str:
    return f"{100 * (gain - 1):.0f}%" if gain >= 1.01 else f"{100 * (gain - 1):.1f}%"


# -- finding ----------------------------------------------------------------------------------
def _output_id(model: GraphModel) -> str | None:
    try:
        return model.output_node()
    except E.GraphError:
        return None


def _only_feeds(model: GraphModel, nid: str, dst: str) -> bool:
    out = model.outgoing(nid)
    return len(out) == 1 and out[0].dst == dst


def _source(model: GraphModel, nid: str, port: str) -> str | None:
    e = model.edge_into(nid, port)
    return None if e is None else e.src


def _sigmoid_chain(model: GraphModel, recip: str, out: str | None) -> tuple[str, ...] | None:
    chain = [recip]
    for op in reversed(SIGMOID_CHAIN[:-1]):
        src = _source(model, chain[0], "x")
        if src is None or model.nodes[src].op != op or src == out:
            return None
        if not _only_feeds(model, src, chain[0]):
            return None
        if not _params_match(model.nodes[src].params, _FUSED_PARAMS.get(op, {})):
            return None
        chain.insert(0, src)
    return tuple(chain)


_FUSED_PARAMS = {op: params for op, params, _name in
                 get_op("sigmoid").extra["expansion"]["gates"]}


def _params_match(have: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    return all(float(have.get(k, float("nan"))) == float(v) for k, v in want.items())


def _dense_pair(model: GraphModel, add: str, out: str | None,
                shapes: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(matmul id, add id, bias source id) when ``add`` adds a bias to a matmul."""
    ports = {p: _source(model, add, p) for p in ("a", "b")}
    for mport, bport in (("a", "b"), ("b", "a")):
        m, bias = ports[mport], ports[bport]
        if m is None or bias is None or model.nodes[m].op != DENSE_PAIR[0] or m == out:
            continue
        if not _only_feeds(model, m, add) or bias == m:
            continue
        mshape, bshape = shapes.get(m), shapes.get(bias)
        if mshape is None or bshape is None or len(mshape) != 2 or shapes.get(add) != mshape:
            continue
        k = mshape[-1]
        if k is not None and tuple(bshape) in ((k,), (1, k)):
            return m, add, bias
    return None


def find_fusable(model: GraphModel, node_ids: Iterable[str] | None = None) -> list[Fusion]:
    """Every chain in ``node_ids`` (default: the whole graph) that one fused gate can replace.

    * ``sigmoid``: −x → exp → +1 (c = 1) → 1/x, each intermediate feeding only the next and none
      of them the graph's output;
    * ``dense``: a matmul feeding only an add whose other input is a bias of shape (k,) or (1, k).

    All the gates of a fusion must be in ``node_ids`` (sources such as the bias need not be).
    """
    chosen = set(model.nodes) if node_ids is None else {model.node(n).id for n in node_ids}
    out = _output_id(model)
    shapes = model.analyse().shapes
    found: list[Fusion] = []
    for nid, node in model.nodes.items():
        if node.op == SIGMOID_CHAIN[-1]:
            chain = _sigmoid_chain(model, nid, out)
            if chain and set(chain) <= chosen:
                names = " → ".join(model.nodes[n].name for n in chain)
                found.append(Fusion("sigmoid", chain,
                                    f"fuse {names} into one σ gate (local derivative σ(1−σ))"))
        elif node.op == DENSE_PAIR[1]:
            pair = _dense_pair(model, nid, out, shapes)
            if pair and set(pair[:2]) <= chosen:
                m, a, _ = pair
                found.append(Fusion("dense", (m, a),
                                    f"fuse matmul '{model.nodes[m].name}' and bias add "
                                    f"'{model.nodes[a].name}' into one dense gate"))
    return found


# -- fusing and expanding ---------------------------------------------------------------------
def _consumers(model: GraphModel, nid: str) -> list[tuple[str, str]]:
    return [(e.dst, e.port) for e in model.outgoing(nid)]


def _points_at(model: GraphModel, ids: Iterable[str]) -> bool:
    """Whether ``meta['output']`` names one of ``ids`` by id (a name survives by being kept)."""
    want = model.meta.get("output")
    return isinstance(want, str) and want in set(ids)


def _replace(model: GraphModel, remove: Iterable[str], gates: list[tuple[str, str, dict]],
             position: tuple[float, float], inputs: Mapping[tuple[int, str], str | None],
             chain: Iterable[tuple[int, int, str]], consumers: list[tuple[str, str]],
             output_moves: bool) -> tuple[dict[str, Any], list[str]]:
    """The document with ``remove`` replaced by ``gates`` ((op, name, params), laid out left to
    right from ``position``): ``inputs`` maps (gate index, port) to an outer source, ``chain``
    wires gates to each other, the last gate feeds ``consumers``."""
    scratch = _scratch(model)
    for nid in remove:
        scratch.remove_node(nid)
    ids: list[str] = []
    for k, (op, name, params) in enumerate(gates):
        nid = scratch.new_id("n")
        taken = any(n.name == name for n in scratch.nodes.values())
        scratch.add_node(op, scratch.unique_name(name) if taken else name, params,
                         (position[0] + k * EXPAND_STEP, position[1]), node_id=nid)
        ids.append(nid)
    for (k, port), src in inputs.items():
        if src is not None:
            scratch.connect(src, ids[k], port, edge_id=scratch.new_id("e"), check_shapes=False)
    for a, b, port in chain:
        scratch.connect(ids[a], ids[b], port, edge_id=scratch.new_id("e"), check_shapes=False)
    for dst, port in consumers:
        scratch.connect(ids[-1], dst, port, edge_id=scratch.new_id("e"), check_shapes=False)
    if output_moves:
        scratch.set_meta("output", ids[-1])
    return _snapshot(scratch), ids


def fuse(model: GraphModel, fusion: Fusion) -> tuple[dict[str, Any], str]:
    """The document with ``fusion``'s gates replaced by one fused gate. It takes the name of the
    chain's last gate (so wires, the output and files that name it stay valid) and the position
    of its first. Returns ``(after, fused node id)``; raises :class:`GraphError` when the chain
    is no longer fusable."""
    current = {(f.kind, f.node_ids) for f in find_fusable(model, fusion.node_ids)}
    if (fusion.kind, tuple(fusion.node_ids)) not in current:
        raise E.GraphError(f"these gates can no longer be fused as {fusion.kind}: the graph "
                           "changed since they were found")
    ids = list(fusion.node_ids)
    first, last = model.nodes[ids[0]], model.nodes[ids[-1]]
    moves = _points_at(model, ids)
    if fusion.kind == "sigmoid":
        inputs = {(0, "x"): _source(model, first.id, "x")}
        after, new = _replace(model, ids, [("sigmoid", last.name, {})], first.position, inputs,
                              (), _consumers(model, last.id), moves)
    else:
        m, a = first.id, last.id
        bias_port = "b" if _source(model, a, "a") == m else "a"
        inputs = {(0, "x"): _source(model, m, "a"), (0, "W"): _source(model, m, "b"),
                  (0, "b"): _source(model, a, bias_port)}
        after, new = _replace(model, ids, [("dense", last.name, {})], first.position, inputs,
                              (), _consumers(model, a), moves)
    return after, new[0]


def expand(model: GraphModel, node_id: str) -> tuple[dict[str, Any], list[str]]:
    """The document with a fused gate replaced by its primitive gates: σ → −x, exp, +1, 1/x;
    dense → matmul + add; a composite → its inner nodes (:func:`.edit.ungroup`). The last new
    gate keeps the node's name; the first takes its position and the others follow in a line
    with room for their wires' values (:func:`.layout.place_in_line`). Returns
    ``(after, new ids)``."""
    node = model.node(node_id)
    if node.op == COMPOSITE:
        return ungroup(model, node_id)
    moves = _points_at(model, [node_id])
    consumers = _consumers(model, node_id)
    form = get_op(node.op).extra.get("expansion")  # the registry's primitive form
    if form is not None:
        gates = [(op, name.format(name=node.name) or node.name, dict(params))
                 for op, params, name in form["gates"]]
        inputs = {gate_port: _source(model, node_id, port)
                  for gate_port, port in form["inputs"].items()}
        after, ids = _replace(model, [node_id], gates, node.position, inputs, form["chain"],
                              consumers, moves)
        return place_in_line(model, after, node_id, ids), ids
    raise E.GraphError(f"'{node.name}' ({node.op}) cannot be expanded: only σ, dense and group "
                       "nodes are made of smaller gates")


# -- comparing --------------------------------------------------------------------------------
def sample_feeds(model: GraphModel, program: Program, batch: int = 16,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """Random values for every input of ``program`` that has no value of its own: class labels
    (integers in range) for a cross-entropy target, 0/1 for a binary one, else standard normal;
    the batch dimension gets ``batch``."""
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for i in program.inputs:
        node = program.nodes[i]
        if node.params.get("value") is not None:
            continue
        shape = tuple(batch if d is None else d for d in node.shape)
        use = [(c, k) for c in program.nodes for k, j in enumerate(c.inputs)
               if j == i and k == 1]
        if any(c.op == "softmax_cross_entropy" for c, _ in use) and len(shape) == 1:
            ce = next(c for c, _ in use if c.op == "softmax_cross_entropy")
            classes = program.nodes[ce.inputs[0]].shape[-1] or 2
            feeds[node.name] = rng.integers(0, classes, size=shape).astype(np.float64)
        elif any(c.op == "binary_cross_entropy" for c, _ in use):
            feeds[node.name] = rng.integers(0, 2, size=shape).astype(np.float64)
        else:
            feeds[node.name] = rng.standard_normal(shape)
    return feeds


def _gates(program: Program) -> int:
    return sum(1 for n in program.nodes if not n.spec.is_source)


def _sources(program: Program) -> dict[str, int]:
    return {program.nodes[i].name: i for i in sorted(program.inputs + program.parameters)}


def _grad_diff(pa: Program, pb: Program) -> float:
    worst = 0.0
    sb = _sources(pb)
    for name, i in _sources(pa).items():
        if name not in sb:
            continue
        ga, gb = pa.grads[i], pb.grads[sb[name]]
        if ga is None and gb is None:
            continue
        if ga is None or gb is None or np.shape(ga) != np.shape(gb):
            return float("inf")
        worst = max(worst, float(np.max(np.abs(ga - gb), initial=0.0)))
    return worst


def _pass(program: Program) -> Any:
    def run() -> None:
        program.forward()
        program.backward(all_grads=True)
    return run


def _batch(program: Program, feeds: Mapping[str, Any]) -> int | None:
    for i in program.inputs:
        node = program.nodes[i]
        if None in node.shape and node.name in feeds:
            return int(np.shape(feeds[node.name])[node.shape.index(None)])
    return None


def compare(model_a: GraphModel, model_b: GraphModel, feeds: Mapping[str, Any] | None = None,
            repeats: int = 15, seed: int = 0, budget: float = 0.4, batch: int | None = None,
            labels: tuple[str, str] = ("the first form", "the second form"),
            clock: Callable[[], float] = time.perf_counter) -> Comparison:
    """Run both graphs on the same data and weights and compare them.

    Parameters are initialised from ``seed`` in ``a`` and copied into ``b`` by name; inputs get
    ``feeds`` (by name), else their own value, else :func:`sample_feeds` with ``batch`` samples
    (default: the graph's training batch size, else 64: a realistic batch). ``max_grad_diff`` is
    the largest absolute difference between the gradients of same-named inputs and parameters.
    Timing: one forward + backward pass (``all_grads=True``) of each on one BLAS thread, in
    alternating rounds for about ``budget`` seconds (at least ``repeats`` rounds; :func:`.timing.side_by_side`): the
    medians, and the median per-round ratio with its 95% confidence interval, from which
    :attr:`Comparison.verdict` says which is faster or that the difference is within noise.
    ``labels`` name the two forms in the verdict; ``clock`` as for :func:`.timing.side_by_side`."""
    pa, pb = compile_graph(model_a), compile_graph(model_b)
    pa.init_params(seed)
    pb.init_params(seed)
    pb.set_params({k: v for k, v in pa.param_arrays(False).items()}, strict=False)
    given = dict(feeds or {})
    if batch is None:
        training = model_a.meta.get("training")
        size = training.get("batch_size") if isinstance(training, dict) else None
        batch = size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 64
    auto = sample_feeds(model_a, pa, batch=batch, seed=seed)
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    for program, fed in ((pa, fa), (pb, fb)):
        for i in program.inputs:
            name = program.nodes[i].name
            if name in given:
                fed[name] = given[name]
            elif name in auto:
                fed[name] = auto[name]
    pa.run(fa)
    pb.run(fb)
    diff = _grad_diff(pa, pb)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # as training runs graphs of this size: a second BLAS thread
        # gains nothing here, and on a busy machine made single passes up to 50x slower
        timing = side_by_side(_pass(pa), _pass(pb), budget=budget,
                              min_rounds=max(1, int(repeats)), clock=clock)
    return Comparison(diff, _gates(pa), _gates(pb), timing.seconds_a, timing.seconds_b,
                      timing.ratio, timing.ratio_low, timing.ratio_high, timing.rounds,
                      _batch(pa, fa), labels)
