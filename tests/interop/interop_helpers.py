"""Shared helpers of the interop tests: the bundled examples, a graph with composites, and
optional packages that CI requires (a missing one fails there instead of skipping)."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

import pytest
from conftest import EXAMPLES

from playground.graph import GraphModel, compile_graph, load
from playground.graph.edit import apply_dict, group
from playground.training import Trainer
from playground.training.workbench import make_split, read_training

EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))
TRAINABLE = ["digits_mlp", "digits_tutorial", "moons_mlp", "sine_regression", "tutorial_2_2_1"]
TUTORIALS = ["tutorial_2_2_1", "digits_tutorial"]  # ½·Σ loss, frozen biases, full batch


def require(module: str) -> ModuleType:
    """Import ``module``, or skip; with ``PLAYGROUND_REQUIRE_<NAME>=1`` (set by .ci/run) a missing
    module fails the test, so CI cannot pass by skipping the parity checks."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        flag = f"PLAYGROUND_REQUIRE_{module.upper()}"
        if os.environ.get(flag) == "1":
            pytest.fail(f"{module} is required here ({flag}=1) but cannot be imported: {exc}")
        pytest.skip(f"{module} is not installed")


def example(name: str, dtype: str | None = None) -> GraphModel:
    model = load(EXAMPLES / f"{name}.json")
    if dtype:
        model.dtype = dtype
    return model


def ids_of(model: GraphModel, *names: str) -> list[str]:
    return [model.by_name(n).id for n in names]


def composite_digits() -> GraphModel:
    """digits_mlp with its hidden layer (z1, h1 and their weights) grouped into a composite, and
    that composite's σ grouped again inside it: composites in composites."""
    model = example("digits_mlp")
    after, cid = group(model, ids_of(model, "W1", "b1", "z1", "h1"), name="hidden")
    apply_dict(model, after)
    body = model.nodes[cid].body
    assert body is not None
    inner_after, _ = group(body, ids_of(body, "h1"), name="act")
    apply_dict(body, inner_after)
    return model


def app_trainer(model: GraphModel, **changes) -> Trainer:
    """The app's own run of ``model`` as the CLI's ``train`` makes it: the graph's
    ``meta.training`` read by the workbench, its split, ``changes`` on top of its settings."""
    program = compile_graph(model)
    settings, config = read_training(model.meta.get("training"), **changes)
    return Trainer(program, make_split(settings, program), config)


def app_run(model: GraphModel, epochs: int = 1, **changes) -> tuple[list, list, Any]:
    """The app's run: every batch loss, the epoch-end records and the config."""
    trainer = app_trainer(model, epochs=epochs, **changes)
    metrics = list(trainer.steps())
    return [m.batch_loss for m in metrics], [m for m in metrics if m.epoch_end], trainer.config
