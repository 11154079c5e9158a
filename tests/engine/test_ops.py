"""Every registered op: float64 gradient checks over broadcasting shapes, shape rules, dtypes.

``CASES`` is the table of what each op is checked on. A test fails when a registered op has no
entry, so no op can be added without a gradient check.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from playground.engine import OpSpec, ShapeError, get_op, ops, register
from playground.engine import shapes as S
from playground.engine.gradcheck import GRADCHECK_TOLERANCE, numeric_vjp_check, vjp_errors
from playground.engine.registry import unregister

Gen = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


# -- input generators: keep values off kinks and inside the op's domain ---------------------------
def normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """In (0.5, 2): logs, divisors, reciprocals and fractional powers stay well defined."""
    return rng.uniform(0.5, 2.0, shape)


def off_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """|x| in (0.2, 2) with a random sign: both sides of a kink at 0, never near it."""
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def probabilities(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.05, 0.95, shape)


def labels(classes: int) -> Gen:
    def gen(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return rng.integers(0, classes, shape)
    return gen


def onehot(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    rows, classes = shape
    return np.eye(classes)[rng.integers(0, classes, rows)]


@dataclass(frozen=True)
class Case:
    shapes: list[tuple[int, ...]]
    params: dict[str, Any] = field(default_factory=dict)
    gens: tuple[Gen, ...] = ()  # one per input; default: standard normal for every input
    batched: tuple[int, ...] = ()  # inputs whose axis 0 is the batch axis (None in shape rules)

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        gens = self.gens or (normal,) * len(self.shapes)
        return [gen(rng, shape) for gen, shape in zip(gens, self.shapes, strict=True)]

    def __str__(self) -> str:
        shapes = " ".join(str(s).replace(" ", "") for s in self.shapes)
        return f"{shapes} {self.params}" if self.params else shapes


def broadcasting(gens: tuple[Gen, ...] = ()) -> list[Case]:
    """Shapes for a binary elementwise op, covering every way NumPy broadcasts."""
    return [
        Case([(3, 4), (3, 4)], gens=gens, batched=(0, 1)),
        Case([(3, 4), (4,)], gens=gens, batched=(0,)),
        Case([(4,), (3, 4)], gens=gens, batched=(1,)),
        Case([(3, 1), (1, 4)], gens=gens, batched=(0,)),
        Case([(2, 3, 4), (3, 1)], gens=gens, batched=(0,)),
        Case([(), (3,)], gens=gens),
        Case([(2, 3), ()], gens=gens, batched=(0,)),
        Case([(), ()], gens=gens),
        # edges: size-1 axes and 0-d arrays meeting larger shapes, and broadcasts that enlarge
        # both inputs at once (every gradient must be summed back to its own input's shape)
        Case([(1,), ()], gens=gens),
        Case([(), (1, 1)], gens=gens),
        Case([(1, 1), (3,)], gens=gens),
        Case([(1, 3, 1), (2, 1, 4)], gens=gens),
        Case([(1, 4), (3, 1)], gens=gens),
        Case([(2, 1), (1,)], gens=gens, batched=(0,)),
    ]


def unary(gen: Gen = normal, params: dict[str, Any] | None = None) -> list[Case]:
    p = params or {}
    return [Case([(3, 4)], p, (gen,), batched=(0,)), Case([(2, 3, 2)], p, (gen,)),
            Case([()], p, (gen,))]


CASES: dict[str, list[Case]] = {
    "add": broadcasting(),
    "sub": broadcasting(),
    "mul": broadcasting(),
    "div": broadcasting((normal, positive)) + broadcasting((normal, lambda r, s: -positive(r, s))),
    "neg": unary(),
    "add_const": unary(params={"c": 2.5}),
    "mul_const": unary(params={"c": -1.5}) + unary(params={"c": 0.25}),
    "pow": (unary(off_zero, {"exponent": 2.0}) + unary(off_zero, {"exponent": 3.0})
            + unary(positive, {"exponent": 0.5}) + unary(positive, {"exponent": -1.5})),
    "exp": unary(),
    "log": unary(positive),
    "reciprocal": unary(positive) + unary(lambda r, s: -positive(r, s)),
    "relu": unary(off_zero),
    "leaky_relu": unary(off_zero) + unary(off_zero, {"alpha": 0.2}),
    "tanh": unary(),
    "sigmoid": unary() + unary(lambda r, s: 4.0 * r.standard_normal(s)),
    "softmax": [
        Case([(3, 4)], batched=(0,)),
        Case([(3, 4)], {"axis": 0}, batched=(0,)),
        Case([(2, 3, 4)], {"axis": 1}),
        Case([(5,)]),
        Case([(3, 1)], batched=(0,)),
        Case([(1,)]),
    ],
    "log_softmax": [
        Case([(3, 4)], batched=(0,)),
        Case([(3, 4)], {"axis": 0}, batched=(0,)),
        Case([(2, 3, 4)], {"axis": -2}),
        Case([(3, 1)], batched=(0,)),
        Case([(1,)]),
    ],
    "matmul": [
        Case([(3, 4), (4, 2)], batched=(0,)),
        Case([(1, 3), (3, 1)], batched=(0,)),
        Case([(5, 1), (1, 4)], batched=(0,)),
        Case([(1, 1), (1, 1)], batched=(0,)),
    ],
    "transpose": [
        Case([(3, 4)], batched=(0,)),
        Case([(2, 3, 4)], {"axes": [1, 0, 2]}, batched=(0,)),
        Case([(2, 3, 4)], {"axes": [2, 0, 1]}),
        Case([(2, 3, 4)], {"axes": [-1, 0, 1]}, batched=(0,)),
        Case([(3,)]),
        Case([()]),
        Case([(1, 1)], batched=(0,)),
    ],
    "sum": [
        Case([(3, 4)], batched=(0,)),
        Case([(3, 4)], {"axis": 0}, batched=(0,)),
        Case([(3, 4)], {"axis": 1, "keepdims": True}, batched=(0,)),
        Case([(2, 3, 4)], {"axis": -1}, batched=(0,)),
        Case([(2, 3, 4)], {"keepdims": True}),
        Case([()]),
        Case([()], {"keepdims": True}),
        Case([(1,)], {"axis": 0}),
        Case([(3, 1)], {"axis": 1}, batched=(0,)),
    ],
    "mean": [
        Case([(3, 4)], batched=(0,)),
        Case([(3, 4)], {"axis": 0}, batched=(0,)),
        Case([(3, 4)], {"axis": 1, "keepdims": True}, batched=(0,)),
        Case([(2, 3, 4)], {"axis": -1}, batched=(0,)),
        Case([(2, 3, 4)], {"keepdims": True}),
        Case([()]),
        Case([(1,)], {"axis": 0, "keepdims": True}),
        Case([(3, 1)], {"axis": 1}, batched=(0,)),
    ],
    "dense": [
        Case([(4, 3), (3, 2), (2,)], batched=(0,)),
        Case([(4, 3), (3, 2), (1, 2)], batched=(0,)),
        Case([(1, 5), (5, 1), ()], batched=(0,)),
        Case([(1, 1), (1, 1), (1,)], batched=(0,)),
        # a bias that enlarges the output: x·W is (1, 3), the output (4, 3)
        Case([(1, 2), (2, 3), (4, 3)]),
        # ... or gains a leading axis: x·W is (3, 4), the output (2, 3, 4)
        Case([(3, 2), (2, 4), (2, 3, 4)]),
        Case([(1, 2), (2, 1), (3, 1, 5)]),
    ],
    "mse": [
        Case([(4, 3), (4, 3)], batched=(0, 1)),
        Case([(5,), (5,)], batched=(0, 1)),
        Case([(), ()]),
        Case([(4, 3), (4, 3)], {"reduction": "sum"}, batched=(0, 1)),
        Case([(4, 3), (4, 3)], {"reduction": "half_sum"}, batched=(0, 1)),
        Case([(1, 1), (1, 1)], {"reduction": "half_sum"}, batched=(0, 1)),
        Case([(), ()], {"reduction": "half_sum"}),
        Case([(1,), (1,)], batched=(0, 1)),
        Case([(1, 1), (1, 1)], batched=(0, 1)),
    ],
    "softmax_cross_entropy": [
        Case([(4, 3), (4,)], gens=(normal, labels(3)), batched=(0, 1)),
        Case([(6, 2), (6,)], gens=(normal, labels(2)), batched=(0, 1)),
        Case([(4, 3), (4, 3)], gens=(normal, onehot), batched=(0, 1)),
        Case([(1, 5), (1,)], gens=(normal, labels(5)), batched=(0, 1)),
        Case([(4, 3), (4,)], {"reduction": "sum"}, (normal, labels(3)), batched=(0, 1)),
        Case([(4, 3), (4, 3)], {"reduction": "sum"}, (normal, onehot), batched=(0, 1)),
        # soft targets whose rows do not sum to 1 (the target carries a gradient too)
        Case([(4, 3), (4, 3)], gens=(normal, probabilities), batched=(0, 1)),
        Case([(3, 4), (3, 4)], gens=(normal, normal), batched=(0, 1)),
        Case([(1, 1), (1, 1)], gens=(normal, probabilities), batched=(0, 1)),
        Case([(2, 1), (2,)], gens=(normal, labels(1)), batched=(0, 1)),
    ],
    "binary_cross_entropy": [
        Case([(4, 1), (4, 1)], gens=(probabilities, probabilities), batched=(0, 1)),
        Case([(6,), (6,)], gens=(probabilities, labels(2)), batched=(0, 1)),
        Case([(4, 1), (4, 1)], {"input": "logits"}, (normal, probabilities), batched=(0, 1)),
        Case([(6,), (6,)], {"input": "logits"}, (normal, labels(2)), batched=(0, 1)),
        Case([(4, 1), (4, 1)], {"reduction": "sum"}, (probabilities, probabilities),
             batched=(0, 1)),
        Case([(6,), (6,)], {"input": "logits", "reduction": "sum"}, (normal, labels(2)),
             batched=(0, 1)),
        Case([(), ()], gens=(probabilities, probabilities)),
        Case([(1, 1), (1, 1)], {"input": "logits"}, (normal, probabilities), batched=(0, 1)),
    ],
}

# every elementwise unary op also on size-1 arrays (appended, so earlier cases keep their seeds)
for _name, _cases in CASES.items():
    if get_op(_name).shape is S.same:
        _first = _cases[0]
        _cases += [Case([(1,)], _first.params, _first.gens), Case([(1, 1)], _first.params,
                                                                    _first.gens, batched=(0,))]

PAIRS = [(name, i) for name in sorted(CASES) for i in range(len(CASES[name]))]
IDS = [f"{name}-{i}" for name, i in PAIRS]


def case_rng(name: str, i: int, salt: str = "") -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{name}/{i}/{salt}".encode()))


def test_every_registered_op_has_gradient_cases() -> None:
    missing = sorted(s.name for s in ops() if not s.is_source and not CASES.get(s.name))
    assert not missing, f"ops with no gradient-check cases in tests/engine/test_ops.py: {missing}"


def test_cases_name_registered_ops() -> None:
    known = {s.name for s in ops() if not s.is_source}
    assert set(CASES) <= known, f"CASES names ops that are not registered: {set(CASES) - known}"


@pytest.mark.parametrize(("name", "i"), PAIRS, ids=IDS)
def test_vjp_matches_central_differences(name: str, i: int) -> None:
    spec, case = get_op(name), CASES[name][i]
    xs = case.inputs(case_rng(name, i))
    errors = vjp_errors(spec, xs, case.params, case_rng(name, i, "check"))
    assert [e is None for e in errors] == [v is None for v in spec.vjps]
    assert any(e is not None for e in errors), f"{name} has no differentiable input"
    for port, err in zip(spec.inputs, errors, strict=True):
        if err is not None:
            assert err.elementwise < GRADCHECK_TOLERANCE, f"{name} {case} ∂/∂{port}: {err}"
            assert err.direction < GRADCHECK_TOLERANCE, f"{name} {case} ∂/∂{port}: {err}"


@pytest.mark.parametrize(("name", "i"), PAIRS, ids=IDS)
def test_shape_rule_matches_forward(name: str, i: int) -> None:
    spec, case = get_op(name), CASES[name][i]
    p = spec.resolve_params(case.params)
    out = spec.forward(case.inputs(case_rng(name, i)), p)
    actual = np.shape(out[0] if spec.saves else out)
    assert spec.shape(case.shapes, p) == actual
    if case.batched:
        n = case.shapes[case.batched[0]][0]
        symbolic = [(None, *s[1:]) if k in case.batched else s for k, s in enumerate(case.shapes)]
        rule = spec.shape(symbolic, p)
        assert tuple(n if d is None else d for d in rule) == actual, f"{symbolic} -> {rule}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_in_float32_out(name: str) -> None:
    spec, case = get_op(name), CASES[name][0]
    p = spec.resolve_params(case.params)
    xs = [x.astype(np.float32) if x.dtype.kind == "f" else x  # class labels stay integers
          for x in case.inputs(case_rng(name, 0))]
    out = spec.forward(xs, p)
    y, saved = out if spec.saves else (out, None)
    assert np.asarray(y).dtype == np.float32
    g = np.ones_like(y)
    for port, vjp in zip(spec.inputs, spec.vjps, strict=True):
        if vjp is not None:
            assert np.asarray(vjp(g, y, xs, p, saved)).dtype == np.float32, f"{name} ∂/∂{port}"


# -- source ops -----------------------------------------------------------------------------------
def source_shape(name: str, **params: Any) -> tuple[int | None, ...]:
    spec = get_op(name)
    assert spec.is_source and spec.forward is None and spec.vjps == ()
    return spec.shape([], spec.resolve_params(params))


def test_input_shape_rule() -> None:
    assert source_shape("input", shape=[None, 3]) == (None, 3)
    assert source_shape("input", shape=[]) == ()
    assert source_shape("input") == ()  # placed by hand: one number to type in


def test_parameter_shape_rule() -> None:
    assert source_shape("parameter", shape=[3, 4]) == (3, 4)
    assert source_shape("parameter", shape=[5]) == (5,)


def test_constant_shape_rule() -> None:
    assert source_shape("constant", value=2.0) == ()
    assert source_shape("constant", value=[[1, 2, 3]]) == (1, 3)


# -- shape errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "shapes", "params", "message"), [
    ("matmul", [(None, 3), (4, 2)], {}, r"inner sizes 3 and 4 must be equal"),
    ("matmul", [(3,), (3, 2)], {}, r"two matrices \(2-D\)"),
    ("add", [(3, 4), (3,)], {}, r"\(3, 4\) and \(3,\) do not broadcast: size 4 meets size 3"),
    ("mul", [(None, 2), (3, 2)], {}, r"size N \(batch\) meets size 3"),
    ("dense", [(None, 3), (3, 2), (3,)], {},
     r"bias \(3,\) does not fit the output \(N, 2\); use a bias of shape \(2,\)"),
    ("dense", [(None, 3), (4, 2), (2,)], {}, r"inner sizes 3 and 4"),
    ("softmax", [()], {}, r"needs at least one axis"),
    ("sum", [(3, 4)], {"axis": 2}, r"axis 2 is out of range for shape \(3, 4\)"),
    ("mse", [(None, 3), (None, 2)], {}, r"must have the same shape"),
    ("softmax_cross_entropy", [(4, 3), (5,)], {}, r"5 class labels for 4 rows"),
    ("softmax_cross_entropy", [(3,), (3,)], {}, r"logits of shape \(N, classes\)"),
    ("transpose", [(2, 3)], {"axes": [0, 0]}, r"not a permutation"),
])
def test_shape_rule_refuses_with_readable_message(name: str, shapes: list[Any],
                                                  params: dict[str, Any], message: str) -> None:
    spec = get_op(name)
    with pytest.raises(ShapeError, match=message):
        spec.shape(shapes, spec.resolve_params(params))


@pytest.mark.parametrize("axes", [[0, 5], [-3, 0], [0]])
def test_transpose_refuses_out_of_range_axes(axes: list[int]) -> None:
    spec = get_op("transpose")
    with pytest.raises(ShapeError, match="not a permutation"):
        spec.shape([(2, 3)], spec.resolve_params({"axes": axes}))


# -- the checker can fail -------------------------------------------------------------------------
@pytest.fixture
def bad_square() -> Any:
    # wrong on purpose: ∂x²/∂x = 2x, this says 3x
    spec = register(OpSpec("bad_square", ("x",), lambda xs, p: xs[0] ** 2,
                           (lambda g, y, xs, p, s: 3.0 * g * xs[0],), S.same, test_only=True))
    try:
        yield spec
    finally:
        unregister("bad_square")


def test_checker_catches_a_wrong_vjp(bad_square: OpSpec) -> None:
    assert bad_square.name not in {s.name for s in ops()}  # test-only ops stay off the palette
    assert bad_square.name in {s.name for s in ops(include_test_only=True)}
    rng = np.random.default_rng(0)
    xs = [off_zero(rng, (3, 4))]
    (err,) = vjp_errors(bad_square, xs, {}, rng)
    assert err is not None
    # |3x − 2x| / |3x| = 1/3 at every element, whichever check looks
    assert err.elementwise == pytest.approx(1 / 3, rel=1e-6)
    assert err.direction == pytest.approx(1 / 3, rel=1e-6)
    assert numeric_vjp_check(bad_square, xs, {}, rng) == [pytest.approx(1 / 3, rel=1e-6)]


def test_every_input_of_every_op_carries_a_gradient() -> None:
    # targets included: a target computed by the graph (softmax of something) must get one
    missing = [f"{s.name}.{port}" for s in ops() if not s.is_source
               for port, vjp in zip(s.inputs, s.vjps, strict=True) if vjp is None]
    assert not missing, f"inputs with no vjp: {missing}"
