"""A compiled program: a flat, topologically ordered list of gates run many times.

The graph layer builds the list of :class:`ProgramNode` once (``playground.graph.compile``).
On first use the program generates a straight-line Python function for the forward pass and one
for the reverse pass (one line per gate call, in order; see ``_sources``), so a step pays no
per-node loop, list comprehension, branch or lookup: the whole engine adds about 3-5 µs per
training step to the NumPy work of the ops on the digits MLP (tests/benchmarks/engine.py).
After a pass every node's value and gradient stays readable (the UI shows them on the wires).
"""

from __future__ import annotations

import itertools
import linecache
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .feeds import misfit
from .init import initialize
from .memory import check_program_memory
from .registry import EngineError, OpSpec, Shape, ShapeError, get_op

_PROGRAM_IDS = itertools.count(1)  # each generated pass gets a file name of its own

try:  # NumPy >= 2 keeps the ufunc error state in a context variable: set it directly
    from numpy._core import umath as _umath

    _CONTEXT: Any = _umath._extobj_contextvar
    _make_extobj: Any = _umath._make_extobj
except (ImportError, AttributeError):  # pragma: no cover - older NumPy
    _CONTEXT = None


if _CONTEXT is not None:
    def _quiet_on() -> Any:
        """Ignore floating-point warnings until :func:`_quiet_off` (what ``np.errstate(all=
        "ignore")`` does, at a fifth of its ~1 µs cost, which counts on small batches)."""
        return _CONTEXT.set(_make_extobj(all="ignore"))

    _quiet_off = _CONTEXT.reset
else:  # pragma: no cover - older NumPy
    def _quiet_on() -> Any:
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def _quiet_off(state: Any) -> None:
        state.__exit__(None, None, None)


class FeedError(EngineError, ValueError):
    """A value fed to an input is missing or has the wrong shape; ``inputs`` names the inputs."""

    def __init__(self, message: str, inputs: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.inputs = tuple(inputs)


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


class NonFiniteError(EngineError, FloatingPointError):
    """A forward value or gradient became NaN or infinite; ``node`` names where it first did."""

    def __init__(self, message: str, node: str, node_id: str, phase: str) -> None:
        super().__init__(message)
        self.node = node
        self.node_id = node_id
        self.phase = phase


@dataclass
class ProgramNode:
    """One gate of a program. ``key`` is the graph node id (``outer/inner`` inside composites)."""

    key: str
    name: str
    op: str
    params: dict[str, Any]
    inputs: list[int] = field(default_factory=list)
    shape: Shape = ()

    @property
    def spec(self) -> OpSpec:
        return get_op(self.op)


def infer_shapes(nodes: Sequence[ProgramNode]) -> list[Shape]:
    """Run every shape rule in order; raise :class:`ShapeError` naming the node that refuses."""
    out: list[Shape] = []
    for node in nodes:
        spec = node.spec
        try:
            shape = spec.shape([out[j] for j in node.inputs], node.params)
        except ShapeError as exc:
            raise ShapeError(f"{node.name} ({spec.label or spec.name}): {exc}") from None
        out.append(tuple(shape))
    return out


class Program:
    """Runs forward and backward over ``nodes`` (topologically ordered) toward ``output``."""

    def __init__(self, nodes: Sequence[ProgramNode], output: int, dtype: Any = np.float64,
                 aliases: Mapping[str, int] | None = None) -> None:
        self.nodes = list(nodes)
        self.output = output
        self.dtype = np.dtype(dtype)
        shapes = infer_shapes(self.nodes)
        for node, shape in zip(self.nodes, shapes, strict=True):
            node.shape = shape
        check_program_memory(self.nodes, self.dtype)  # before any array is made
        self.index: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            self.index[node.key] = i
            self.index.setdefault(node.name, i)
        for key, i in (aliases or {}).items():
            self.index.setdefault(key, i)
        n = len(self.nodes)
        self.values: list[np.ndarray | None] = [None] * n
        self.grads: list[np.ndarray | None] = [None] * n
        self._saved: list[Any] = [None] * n
        roles = [node.spec.role for node in self.nodes]
        self.inputs = [i for i, r in enumerate(roles) if r == "input"]
        self.parameters = [i for i, r in enumerate(roles) if r == "parameter"]
        self.trainable = [i for i in self.parameters if self.nodes[i].params.get("trainable", True)]
        for i, r in enumerate(roles):
            if r == "constant":
                self.values[i] = np.asarray(self.nodes[i].params["value"], dtype=self.dtype)
        self._one = np.ones((), self.dtype)  # copied as the backward seed of a scalar output
        self._forward_fns: dict[bool, Callable[..., None]] = {}
        self._backward_fns: dict[bool, Callable[..., None]] = {}
        self._backward_plans: dict[bool, list[Any]] = {}
        self._sources: dict[str, str] = {}  # generated code, by name, for reading and debugging
        self.init_params(0)

    # -- parameters -------------------------------------------------------------------------
    def init_params(self, seed: int | np.random.Generator = 0) -> None:
        """(Re)initialise every parameter from its init rule, or its explicit value."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        for i in self.parameters:
            node = self.nodes[i]
            shape = tuple(d if d is not None else 1 for d in node.shape)
            if node.params.get("value") is not None:
                arr = np.array(node.params["value"], dtype=self.dtype).reshape(shape)
            else:
                arr = initialize(node.params["init"], shape, rng, node.params.get("std", 0.01))
            self.values[i] = np.array(arr, dtype=self.dtype, order="C")  # a 0-d stays 0-d

    def param_arrays(self, trainable_only: bool = True) -> dict[str, np.ndarray]:
        """Parameter arrays keyed by node name (the live arrays, not copies)."""
        idx = self.trainable if trainable_only else self.parameters
        return {self.nodes[i].name: self.values[i] for i in idx}  # type: ignore[misc]

    def set_params(self, arrays: Mapping[str, np.ndarray], strict: bool = True) -> None:
        """Load parameter values by node name (or key); shapes must match."""
        for key, arr in arrays.items():
            i = self.index.get(key)
            if i is None or i not in self.parameters:
                if strict:
                    raise FeedError(f"no parameter named '{key}' in this graph")
                continue
            cur = self.values[i]
            arr = np.asarray(arr, dtype=self.dtype)
            if cur is not None and arr.shape != cur.shape:
                raise FeedError(f"parameter '{key}' has shape {cur.shape}, the file has {arr.shape}")
            self.values[i] = np.array(arr, dtype=self.dtype)

    # -- running ----------------------------------------------------------------------------
    def feed(self, feeds: Mapping[str, Any] | None = None) -> None:
        """Set input values: fed by node name or key, else the input's own ``value`` param."""
        feeds = dict(feeds or {})
        missing = [self.nodes[i].name for i in self.inputs
                   if not {self.nodes[i].name, self.nodes[i].key} & feeds.keys()
                   and self.nodes[i].params.get("value") is None]
        if missing:
            raise FeedError(f"input {_names(missing)} has no value: feed it, or give it a value"
                            if len(missing) == 1 else
                            f"inputs {_names(missing)} have no value: feed them, or give them "
                            "values", missing)
        for i in self.inputs:
            node = self.nodes[i]
            if node.name in feeds:
                raw = feeds.pop(node.name)
            elif node.key in feeds:
                raw = feeds.pop(node.key)
            else:
                raw = node.params["value"]
            try:
                arr = np.asarray(raw, dtype=self.dtype)
            except (TypeError, ValueError):
                raise FeedError(f"input '{node.name}': {raw!r} is not a number or array",
                                [node.name]) from None
            self._check_feed(node, arr)
            self.values[i] = arr
        if feeds:
            raise FeedError(f"no input named {', '.join(repr(k) for k in feeds)} in this graph",
                            list(feeds))

    @staticmethod
    def _check_feed(node: ProgramNode, arr: np.ndarray) -> None:
        problem = misfit(node.name, node.shape, arr)
        if problem is not None:
            raise FeedError(problem, [node.name])

    def set_input(self, key: str, arr: np.ndarray) -> None:
        """Fast path for training: store an already-cast batch (no checks)."""
        self.values[self.index[key]] = arr

    def forward(self, feeds: Mapping[str, Any] | None = None,
                all_values: bool = True) -> np.ndarray:
        """Compute every node's value in order; return the output's. With ``all_values`` False
        only the nodes the output depends on run (training: a display-only gate such as the
        digits example's ``probs`` softmax costs ~10% of a batch-64 step); the others keep their
        last value. A gate that raises is left without a value."""
        values = self.values
        if feeds is not None:
            self.feed(feeds)
        else:
            for i in self.inputs:
                if values[i] is None:
                    self.feed(None)
                    break
        run = self._forward_fns.get(all_values)
        if run is None:
            run = self._forward_fns[bool(all_values)] = self._make_forward(bool(all_values))
        token = _quiet_on()
        try:
            run(values, self._saved)
        finally:
            _quiet_off(token)
        return values[self.output]  # type: ignore[return-value]

    def _make_forward(self, all_values: bool) -> Callable[..., None]:
        """Generate straight-line code for one forward pass: one line per gate, each computed
        value kept in a local for the gates after it (no per-node loop, comprehension, branch
        or plan unpacking: ~0.2 µs per gate instead of ~0.7 µs with the loop it replaced).
        A gate's previous value is dropped just before it runs, so the allocator can reuse its
        memory for the new one (on a full batch this is worth ~4% of a step)."""
        nodes = self.nodes
        run = [i for i, node in enumerate(nodes) if not node.spec.is_source]
        if not all_values:
            wanted = self._ancestors(self.output)
            run = [i for i in run if wanted[i]]
        computed: set[int] = set()
        env: dict[str, Any] = {}
        body = []
        for i in run:
            node = nodes[i]
            spec = node.spec
            env[f"f{i}"] = spec.forward
            env[f"p{i}"] = node.params
            xs = ", ".join(f"v{j}" if j in computed else f"values[{j}]" for j in node.inputs)
            if spec.saves:
                body += [f"values[{i}] = saved[{i}] = None",
                         f"v{i}, saved[{i}] = f{i}([{xs}], p{i}){self._note(i)}"]
            else:
                body += [f"values[{i}] = None", f"v{i} = f{i}([{xs}], p{i}){self._note(i)}"]
            body.append(f"values[{i}] = v{i}")
            computed.add(i)
        name = "forward_all" if all_values else "forward_needed"
        return self._generate(name, "values, saved", body, env)

    def _ancestors(self, target: int) -> list[bool]:
        """Which nodes ``target`` depends on (itself included)."""
        reach = [False] * len(self.nodes)
        reach[target] = True
        for i in range(target, -1, -1):
            if reach[i]:
                for j in self.nodes[i].inputs:
                    reach[j] = True
        return reach

    def _note(self, i: int, port: str = "") -> str:
        """A comment naming the gate a generated line runs (shown in a traceback). Names are
        checked by the graph (no control characters), so a comment cannot end early; the code
        itself holds only indices, never user text."""
        node = self.nodes[i]
        name = "".join(c if c.isprintable() else "?" for c in node.name)
        return f"  # {name} ({node.spec.name}{', ∂/∂' + port if port else ''})"

    def _generate(self, name: str, args: str, body: list[str], env: dict[str, Any]) -> Any:
        # The functions and params are the generated function's globals (LOAD_GLOBAL is cached
        # by the interpreter). The source is registered with linecache under a name of its own,
        # so a traceback inside a pass shows the line, with the gate's name in its comment; the
        # entry goes with the program.
        lines = [f"def {name}({args}):"] + [f"    {line}" for line in body] + ["    return None"]
        source = "\n".join(lines) + "\n"
        self._sources[name] = source
        filename = f"<program {name} {next(_PROGRAM_IDS)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        weakref.finalize(self, linecache.cache.pop, filename, None)
        namespace: dict[str, Any] = {"__builtins__": {}, **env}
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102
        return namespace[name]

    def _backward_plan(self, all_grads: bool) -> list[Any]:
        plan = self._backward_plans.get(all_grads)
        if plan is not None:
            return plan
        n = len(self.nodes)
        needs = [False] * n
        for i in range(n):
            node = self.nodes[i]
            role = node.spec.role
            if role == "parameter":
                needs[i] = all_grads or bool(node.params.get("trainable", True))
            elif role == "input":
                needs[i] = all_grads
            elif role != "constant":
                needs[i] = any(needs[j] for j in node.inputs)
        # only nodes the output depends on
        reach = self._ancestors(self.output)
        plan = []
        for i in range(self.output, -1, -1):
            node = self.nodes[i]
            if not reach[i] or node.spec.is_source or not needs[i]:
                continue
            vjps = node.spec.vjps_for([self.nodes[j].shape for j in node.inputs])
            edges = [(j, vjp) for j, vjp in zip(node.inputs, vjps, strict=True)
                     if needs[j] and vjp is not None]
            plan.append((i, node.inputs, node.params, edges))
        self._backward_plans[all_grads] = plan
        return plan

    def _make_backward(self, all_grads: bool) -> Callable[..., None]:
        """Generate straight-line code for one reverse pass. Which gradients exist at each point
        is known from the plan, so the code has no ``None`` checks: a gradient's first
        contribution is bound, later ones are added (never in place: a vjp may return ``g``)."""
        has = {self.output}
        env: dict[str, Any] = {}
        body = []
        for i, ins, p, edges in self._backward_plan(all_grads):
            if i not in has or not edges:
                continue  # no gradient reaches this gate, or it passes none on
            env[f"p{i}"] = p
            body.append(f"xs = [{', '.join(f'values[{j}]' for j in ins)}]")
            body.append(f"y = values[{i}]")
            for k, (j, vjp) in enumerate(edges):
                env[f"b{i}_{k}"] = vjp
                call = f"b{i}_{k}(g{i}, y, xs, p{i}, saved[{i}])"
                port = self.nodes[i].spec.inputs[list(ins).index(j)] if j in ins else ""
                note = self._note(i, port)
                body.append(f"g{j} = g{j} + {call}{note}" if j in has else f"g{j} = {call}{note}")
                has.add(j)
        body += [f"grads[{j}] = g{j}" for j in sorted(has - {self.output})]
        name = "backward_all" if all_grads else "backward_trainable"
        return self._generate(name, f"values, saved, grads, g{self.output}", body, env)

    def backward(self, all_grads: bool = True, seed: np.ndarray | None = None) -> None:
        """Reverse pass from the output, seeded with ∂out/∂out = 1. With ``all_grads`` False
        only the gradients that lead to trainable parameters are computed (training). The last
        pass's gradients are dropped first: if a gate raises, only the output has one."""
        grads: list[np.ndarray | None] = [None] * len(self.nodes)
        values = self.values
        if seed is None:
            out = values[self.output]
            one = self._one
            # a scalar output (a 0-d array, or the NumPy scalar that gates on 0-d arrays give):
            # what np.ones_like(out) gives as a 0-d array, in a tenth of the time
            if (isinstance(out, (np.ndarray, np.generic)) and out.shape == ()
                    and out.dtype == one.dtype):
                g = one.copy()
            else:
                g = np.ones_like(out)
        else:
            g = np.asarray(seed, dtype=self.dtype)
        grads[self.output] = g
        self.grads = grads  # drop the last pass's gradients now, so their memory can be reused
        run = self._backward_fns.get(all_grads)
        if run is None:
            run = self._backward_fns[bool(all_grads)] = self._make_backward(bool(all_grads))
        token = _quiet_on()
        try:
            run(values, self._saved, grads, g)
        finally:
            _quiet_off(token)

    def run(self, feeds: Mapping[str, Any] | None = None, all_grads: bool = True
            ) -> float | np.ndarray:
        """Forward then backward; return the output (a float when it is a scalar)."""
        out = self.forward(feeds)
        self.backward(all_grads=all_grads)
        return float(out) if np.ndim(out) == 0 else out

    # -- reading ----------------------------------------------------------------------------
    def _i(self, key: str | int) -> int:
        if isinstance(key, int):
            return key
        try:
            return self.index[key]
        except KeyError:
            raise KeyError(f"no node named '{key}' in this program") from None

    def value(self, key: str | int) -> np.ndarray | None:
        return self.values[self._i(key)]

    def grad(self, key: str | int) -> np.ndarray | None:
        return self.grads[self._i(key)]

    def first_non_finite(self, phase: str = "forward") -> int | None:
        """Index of the first node (forward: in order; backward: in reverse) that is not finite."""
        arrays = self.values if phase == "forward" else self.grads
        order = range(len(self.nodes)) if phase == "forward" else range(len(self.nodes) - 1, -1, -1)
        for i in order:
            a = arrays[i]
            if a is not None and not np.all(np.isfinite(a)):
                return i
        return None

    def raise_non_finite(self, phase: str, step: int | None = None) -> None:
        i = self.first_non_finite(phase)
        if i is None:
            return
        node = self.nodes[i]
        kind = "value" if phase == "forward" else "gradient"
        where = f" at step {step}" if step is not None else ""
        producers = ", ".join(self.nodes[j].name for j in node.inputs) or "its inputs"
        raise NonFiniteError(
            f"node '{node.name}' ({node.spec.label or node.op}) produced a non-finite {kind}{where} "
            f"from finite {producers}. Try a lower learning rate, a smaller initial weight scale, "
            "or a numerically stable op (e.g. softmax cross-entropy on logits).",
            node.name, node.key, phase,
        )
