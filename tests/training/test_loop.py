"""The training generator: accuracy, determinism, metrics, learning-rate changes, failures."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from playground.graph import GraphModel, compile_graph, load
from playground.training import (
    DivergenceError,
    Metrics,
    PerParam,
    TrainConfig,
    Trainer,
    TrainingError,
    bind,
    train,
)
from playground.training.datasets import load_dataset, split


@pytest.fixture(scope="module")
def digits_split():
    return split(load_dataset("digits"), val_fraction=0.3, seed=0)


@pytest.fixture(scope="module")
def moons_split():
    return split(load_dataset("moons", n_samples=200, seed=0), val_fraction=0.3, seed=0)


def example_config(model: GraphModel, **over) -> TrainConfig:
    t = dict(model.meta["training"])
    kw = {k: t[k] for k in ("epochs", "batch_size", "lr", "optimizer", "seed", "l2") if k in t}
    kw.update(over)
    return TrainConfig(**kw)


def test_digits_mlp_reaches_97_percent_on_held_out_30_percent(examples_dir, digits_split):
    model = load(examples_dir / "digits_mlp.json")
    program = compile_graph(model)
    config = example_config(model)
    records = [m for m in train(program, digits_split, config) if m.epoch_end]
    assert len(records) == config.epochs
    assert digits_split.X_val.shape[0] == pytest.approx(0.3 * 1797, abs=2)
    final = records[-1]
    assert final.val_accuracy >= 0.97, [round(r.val_accuracy, 4) for r in records]
    assert final.train_loss < records[0].train_loss / 10


def test_same_seed_same_losses_other_seed_other_losses(examples_dir, moons_split):
    def losses(seed: int) -> list[float]:
        program = compile_graph(load(examples_dir / "moons_mlp.json"))
        return [m.batch_loss for m in train(program, moons_split, TrainConfig(epochs=3, batch_size=16,
                                                                              lr=0.05, seed=seed))]

    a, b, c = losses(1), losses(1), losses(2)
    assert a == b
    assert a != c


def test_metrics_are_frozen_and_counted_per_minibatch(examples_dir, moons_split):
    program = compile_graph(load(examples_dir / "moons_mlp.json"))
    records = list(train(program, moons_split, TrainConfig(epochs=2, batch_size=32)))
    n = moons_split.X_train.shape[0]
    per_epoch = math.ceil(n / 32)
    assert [m.step for m in records] == list(range(1, 2 * per_epoch + 1))
    assert [m.epoch_end for m in records].count(True) == 2
    assert records[per_epoch - 1].epoch_end and records[per_epoch - 1].val_loss is not None
    assert records[0].val_loss is None
    assert set(records[0].grad_norms) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        records[0].step = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        records[0].grad_norms["W1"] = 0.0  # type: ignore[index]
    assert all(r.elapsed >= 0 for r in records)
    assert records[-1].elapsed >= records[0].elapsed


def test_a_record_per_step_is_small_and_its_per_parameter_numbers_read_as_a_mapping(
        examples_dir, moons_split):
    """The window keeps a quarter second of records before it shows them: each record has
    no dict of its own, and a run's records share one tuple of parameter names."""
    program = compile_graph(load(examples_dir / "moons_mlp.json"))
    records = list(train(program, moons_split, TrainConfig(epochs=1, batch_size=32)))
    first, last = records[0], records[-1]
    assert not hasattr(first, "__dict__")  # slots: no per-record dict
    assert first.grad_norms.names is last.grad_norms.names is last.update_ratios.names
    names = ("W1", "b1", "W2", "b2", "W3", "b3")
    for m in (first, last):
        for per in (m.grad_norms, m.update_ratios):
            assert tuple(per) == names and len(per) == 6 and "W2" in per and "W9" not in per
            as_dict = dict(per.items())
            assert per == as_dict and as_dict == per and list(per.values()) == list(per.row)
            assert per["b2"] == as_dict["b2"] and per.get("W9") is None
            with pytest.raises(KeyError):
                per["W9"]
            with pytest.raises(AttributeError):
                per.extra = 1  # type: ignore[attr-defined]
            assert repr(per) == repr(as_dict)
    with pytest.raises(ValueError, match="2 names for 1 values"):
        PerParam(("a", "b"), [1.0])


def test_grad_norms_and_update_ratios_match_an_independent_pass(examples_dir, moons_split):
    model = load(examples_dir / "moons_mlp.json")
    program = compile_graph(model)
    lr = 0.05
    trainer = Trainer(program, moons_split, TrainConfig(epochs=1, batch_size=10_000, lr=lr))
    before = {k: v.copy() for k, v in program.param_arrays().items()}
    record = next(trainer.steps())
    check = compile_graph(model)
    check.set_params(before)
    check.run({"X": trainer.X_train, "y": trainer.T_train}, all_grads=False)
    for name, w in before.items():
        g = check.grad(name)
        assert record.grad_norms[name] == pytest.approx(np.linalg.norm(g), rel=1e-9)
        expected_ratio = lr * np.linalg.norm(g) / np.linalg.norm(w) if np.linalg.norm(w) else math.inf
        assert record.update_ratios[name] == pytest.approx(expected_ratio, rel=1e-9)
        np.testing.assert_allclose(program.param_arrays()[name], w - lr * g, rtol=1e-9, atol=1e-12)


def test_learning_rate_change_applies_at_the_next_step(examples_dir, moons_split):
    program = compile_graph(load(examples_dir / "moons_mlp.json"))
    trainer = Trainer(program, moons_split, TrainConfig(epochs=5, batch_size=16, lr=0.1))
    run = trainer.steps()
    first = next(run)
    assert first.lr == 0.1
    trainer.lr = 1e-12
    frozen = {k: v.copy() for k, v in program.param_arrays().items()}
    second = next(run)
    assert second.lr == 1e-12
    for name, w in program.param_arrays().items():
        np.testing.assert_allclose(w, frozen[name], atol=1e-9)
    with pytest.raises(TrainingError):
        trainer.lr = -1.0


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_optimizer_lowers_the_loss(examples_dir, moons_split, optimizer):
    program = compile_graph(load(examples_dir / "moons_mlp.json"))
    lr = {"sgd": 0.5, "momentum": 0.05, "adam": 0.01}[optimizer]
    ends = [m for m in train(program, moons_split, TrainConfig(epochs=15, batch_size=16, lr=lr,
                                                               optimizer=optimizer)) if m.epoch_end]
    assert ends[-1].train_loss < 0.75 * ends[0].train_loss


def test_adam_first_step_moves_every_weight_by_the_learning_rate(examples_dir, moons_split):
    program = compile_graph(load(examples_dir / "moons_mlp.json"))
    trainer = Trainer(program, moons_split, TrainConfig(epochs=1, batch_size=16, lr=1e-3,
                                                        optimizer="adam"))
    w0 = program.param_arrays()["W1"].copy()
    next(trainer.steps())
    step = np.abs(program.param_arrays()["W1"] - w0)
    moved = step[step > 0]
    np.testing.assert_allclose(moved, 1e-3, rtol=1e-3)


def test_l2_decay_shrinks_weights_with_zero_gradient(moons_split):
    from playground.training.optim import make_optimizer

    w = np.array([1.0, -2.0])
    opt = make_optimizer("sgd", lr=0.1, l2=0.5)
    opt.step([w], [np.zeros(2)], [0.0])
    np.testing.assert_allclose(w, [1.0 * 0.95, -2.0 * 0.95])


def test_diverging_run_stops_within_one_step_and_names_a_node(examples_dir, digits_split):
    program = compile_graph(load(examples_dir / "digits_mlp.json"))
    names = {n.name for n in program.nodes}
    seen: list[Metrics] = []
    with pytest.raises(TrainingError) as info:
        for m in train(program, digits_split, TrainConfig(epochs=5, batch_size=64, lr=1e6)):
            seen.append(m)
    assert info.value.step is not None and info.value.step <= 2
    assert len(seen) <= 1
    assert info.value.node in names
    assert info.value.node in str(info.value)
    assert "learning rate" in str(info.value)


def test_non_finite_value_names_the_node_that_produced_it(moons_split):
    m = GraphModel()
    x = m.add_node("input", "X", {"shape": [None, 2]})
    w = m.add_node("parameter", "W", {"shape": [2, 1], "value": [[1.0], [1.0]]})
    z = m.add_node("matmul", "z")
    lg = m.add_node("log", "logz")
    y = m.add_node("input", "y", {"shape": [None, 1]})
    loss = m.add_node("mse", "loss")
    m.connect(x.id, z.id, "a"); m.connect(w.id, z.id, "b"); m.connect(z.id, lg.id, "x")
    m.connect(lg.id, loss.id, "pred"); m.connect(y.id, loss.id, "target")
    program = compile_graph(m)
    with pytest.raises(TrainingError) as info:
        list(train(program, moons_split, TrainConfig(epochs=1, batch_size=400, reinit=False)))
    assert info.value.node == "logz"
    assert "logz" in str(info.value) and info.value.step == 1


def test_divergence_error_is_a_training_error():
    assert issubclass(DivergenceError, TrainingError)


def test_binding_maps_features_and_target_by_shape(examples_dir, digits_split, moons_split):
    program = compile_graph(load(examples_dir / "digits_mlp.json"))
    b = bind(program, digits_split)
    assert (b.features, b.target, b.target_kind) == ("X", "y", "labels")
    with pytest.raises(TrainingError, match="64"):
        bind(program, moons_split)


def test_regression_reports_no_accuracy(examples_dir):
    model = load(examples_dir / "sine_regression.json")
    data = split(load_dataset("sine", seed=0), val_fraction=0.2, seed=0)
    ends = [m for m in train(compile_graph(model), data, example_config(model, epochs=30))
            if m.epoch_end]
    assert ends[-1].val_accuracy is None and ends[-1].train_accuracy is None
    assert ends[-1].val_loss < 0.5 * ends[0].val_loss


def test_next_batch_is_the_batch_the_next_step_trains_on_and_asking_changes_nothing(moons_split):
    from playground.resources import example_path

    model = load(example_path("moons_mlp"))
    config = TrainConfig(epochs=3, batch_size=32, lr=0.01, optimizer="adam", seed=5)
    peeking = Trainer(compile_graph(model), moons_split, config)
    plain = Trainer(compile_graph(model), moons_split, config)
    seen, losses = [], []
    gen = peeking.steps()
    while True:
        nxt = peeking.next_batch()
        m = next(gen, None)
        if m is None:
            assert nxt is None  # nothing left after the last step
            break
        np.testing.assert_array_equal(peeking.last_batch, nxt)
        seen.append(nxt)
        losses.append(m.batch_loss)
    per = math.ceil(moons_split.X_train.shape[0] / 32)
    assert len(seen) == 3 * per
    # the same order and the same numbers as a trainer nobody asked
    assert [m.batch_loss for m in plain.steps()] == losses
    capped = Trainer(compile_graph(model), moons_split, dataclasses.replace(config, max_steps=2))
    list(capped.steps())
    assert capped.next_batch() is None
