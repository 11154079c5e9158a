"""The program check on saturated networks: differences within the difference quotient's own
rounding noise count as none (a saturated σ has gradients of 1e-14 that no finite difference
of an output of size 1 resolves), and a wrong backward is still caught there."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import OpSpec, Program, ProgramNode, register, unregister
from playground.engine import gradcheck as G
from playground.engine import shapes as S
from playground.engine.gradcheck import GRADCHECK_TOLERANCE, check_program, max_error, rel_error


def saturated(sigma: str = "sigmoid") -> tuple[Program, dict]:
    nodes = [ProgramNode("x", "x", "input", {"shape": [None, 8], "value": None}),
             ProgramNode("W", "W", "parameter", {"shape": [8, 5], "init": "normal", "std": 15.0,
                                                "value": None, "trainable": True}),
             ProgramNode("z", "z", "matmul", {}, [0, 1]),
             ProgramNode("out", "out", sigma, {}, [2]),
             ProgramNode("y", "y", "input", {"shape": [None, 5], "value": None}),
             ProgramNode("loss", "loss", "mse", {"reduction": "half_sum"}, [3, 4])]
    program = Program(nodes, output=5)
    program.init_params(3)
    rng = np.random.default_rng(3)
    return program, {"x": rng.uniform(0, 1, (6, 8)), "y": np.eye(5)[rng.integers(0, 5, 6)]}


def test_rel_error_discounts_the_noise():
    assert rel_error(1e-14, 2e-13, noise=1e-12) == 0.0
    assert rel_error(1.0, 1.1, noise=1e-12) == pytest.approx((0.1 - 1e-12) / 1.1)
    assert rel_error(1e-14, 2e-13) > 1e-6  # without it: the floor turns noise into error


def test_a_saturated_network_passes_and_failed_without_the_noise(monkeypatch):
    program, feeds = saturated()
    out = program.forward(feeds)
    assert np.mean(np.minimum(program.value("out"), 1 - program.value("out")) < 1e-7) > 0.2
    assert out > 1
    errors = check_program(program, feeds, eps=1e-3, order=4)
    assert max_error(errors)[1] < GRADCHECK_TOLERANCE, errors
    monkeypatch.setattr(G, "ROUNDING_ULPS", 0)
    assert max_error(check_program(program, feeds, eps=1e-3, order=4))[1] > GRADCHECK_TOLERANCE


@pytest.fixture
def wrong_sigmoid():
    # wrong on purpose: σ' = σ(1 − σ), this says 1.5·σ(1 − σ)
    register(OpSpec("wrong_sigmoid", ("x",), lambda xs, p: 1 / (1 + np.exp(-xs[0])),
                    (lambda g, y, xs, p, s: 1.5 * g * y * (1 - y),), S.same, test_only=True))
    yield
    unregister("wrong_sigmoid")


def test_a_wrong_backward_is_still_caught_on_a_saturated_network(wrong_sigmoid):
    program, feeds = saturated("wrong_sigmoid")
    errors = check_program(program, feeds, eps=1e-3, order=4)
    assert errors["W"] == pytest.approx(1 / 3, rel=1e-3)  # |1.5 − 1| / 1.5
    assert errors["out"] == pytest.approx(1 / 3, rel=1e-3)
