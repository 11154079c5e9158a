"""The workbench: data settings → train/validation/test parts, typed values as data, feeds for
sample i, scores, and the one reader of meta.training."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from playground.graph import GraphModel, compile_graph, load
from playground.graph.edit import apply_dict, build_mlp
from playground.resources import example_path
from playground.training import Trainer, TrainingError
from playground.training.datasets import DatasetError, load_dataset, split
from playground.training.loop import TrainConfig
from playground.training.workbench import (
    TYPED,
    DataSettings,
    SettingsError,
    feeds_for_sample,
    load_data,
    make_split,
    read_training,
    score,
    training_meta,
)


def mlp(width: int, classes: int = 2, loss: str = "softmax_cross_entropy"):
    model = GraphModel()
    apply_dict(model, build_mlp(model, width, [6], "tanh", classes, loss)[0])
    return compile_graph(model)


# -- settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"dataset": "moons", "csv": "a.csv"}, "not both"),
    ({"task": "ranking"}, "task must be"),
    ({"val_fraction": 0.95}, "val_fraction must be"),
    ({"test_fraction": -0.1}, "test_fraction must be"),
    ({"seed": -1}, "seed must be"),
    ({"standardize": 1}, "standardize must be"),
    ({"features": ("x1", "x3")}, "unknown feature 'x3'"),
    ({"features": "x1,x1"}, "chosen twice"),
])
def test_bad_settings_say_what_is_wrong(kwargs, message):
    with pytest.raises(SettingsError, match=message):
        DataSettings(**kwargs)


def test_features_are_kept_by_their_canonical_names():
    s = DataSettings(dataset="moons", features="x1, x2, x1·x2, x1², sin x2")
    assert s.features == ("x1", "x2", "x1*x2", "x1^2", "sin(x2)")
    assert s.replace(seed=3).features == s.features and s.replace(seed=3).seed == 3


def test_meta_training_reads_back_what_it_wrote():
    data = DataSettings(dataset="moons", samples=120, noise=0.1, val_fraction=0.2,
                        test_fraction=0.2, seed=5, standardize=False, features=("x1", "x1*x2"))
    config = TrainConfig(epochs=3, batch_size=16, lr=0.05, optimizer="momentum", momentum=0.5,
                         l2=1e-4, seed=5, full_batch=True)
    meta = training_meta(data, config)
    assert meta["features"] == ["x1", "x1*x2"] and meta["full_batch"] is True
    assert read_training(meta) == (data, config)
    # settings older files never had are left out at their defaults
    plain = training_meta(DataSettings(dataset="digits"), TrainConfig(batch_size=32))
    assert not {"test_fraction", "features", "full_batch", "task", "csv"} & set(plain)


def test_meta_training_of_an_existing_example_means_what_it_meant():
    data, config = read_training(load(example_path("digits_mlp")).meta["training"])
    assert data == DataSettings(dataset="digits", val_fraction=0.3, seed=0)
    assert (config.epochs, config.batch_size, config.lr, config.optimizer, config.l2,
            config.full_batch) == (40, 32, 0.01, "adam", 3e-4, False)
    data, config = read_training(None)  # a graph without settings: the CLI's old defaults
    assert data.dataset is None and (config.epochs, config.batch_size, config.lr) == (10, 32, 0.1)


def test_overrides_and_bad_values_in_meta_training():
    data, config = read_training({"dataset": "moons", "samples": 80, "epochs": 4},
                                 seed=9, epochs=None, csv="x.csv", label="2")
    assert (data.csv, data.dataset, data.samples, data.label, data.seed) == ("x.csv", None, None,
                                                                             "2", 9)
    assert config.epochs == 4 and config.seed == 9
    for meta, message in (({"epochs": "ten"}, r"training\.epochs must be a whole number"),
                          ({"lr": float("nan")}, r"training\.lr \(learning rate\) must be a"),
                          ({"full_batch": "yes"}, r"training\.full_batch .* true or false"),
                          ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
                          ({"optimizer": "lbfgs"}, r"training\.optimizer .* one of sgd")):
        with pytest.raises(SettingsError, match=message):
            read_training(meta)
    with pytest.raises(SettingsError, match="unknown training setting"):
        read_training({}, colour="red")


# -- splits -----------------------------------------------------------------------------------
def test_without_test_part_or_features_the_split_is_the_plain_one():
    settings = DataSettings(dataset="moons", samples=100, val_fraction=0.3, seed=4)
    ours, plain = make_split(settings), split(load_dataset("moons", 100, seed=4), 0.3, 4)
    for a, b in ((ours.X_train, plain.X_train), (ours.val_index, plain.val_index),
                 (ours.train_index, plain.train_index)):
        np.testing.assert_array_equal(a, b)
    assert ours.X_test.shape == (0, 2) and ours.y_test.shape == (0,) and ours.test_index.size == 0


@pytest.mark.parametrize("name", ["digits", "sine"])
def test_train_validation_and_test_parts(name):
    s = make_split(DataSettings(dataset=name, val_fraction=0.2, test_fraction=0.3, seed=2))
    n = s.dataset.n_samples
    parts = [s.train_index, s.val_index, s.test_index]
    assert sorted(np.concatenate(parts).tolist()) == list(range(n))  # disjoint, all covered
    assert [len(p) for p in parts] == [n - round(0.3 * n) - len(parts[1]), len(parts[1]),
                                      round(0.3 * n)]
    assert abs(len(parts[1]) - 0.2 * n) <= 2
    # the test part is what a plain split with that fraction holds out, for every seed
    np.testing.assert_array_equal(s.test_index, split(s.dataset, 0.3, 2).val_index)
    # standardised with the training part's statistics only
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(s.X_test, s.transform(s.dataset.X[s.test_index]))
    np.testing.assert_array_equal(s.y_test, s.dataset.y[s.test_index])


def test_validation_may_be_empty_for_both_tasks():
    for name, program in (("sine", mlp(1, 1, "mse")), ("moons", mlp(2))):
        data = make_split(DataSettings(dataset=name, val_fraction=0.0, samples=60))
        assert data.X_val.shape[0] == 0
        records = list(Trainer(program, data, TrainConfig(epochs=2, batch_size=16)).steps())
        last = records[-1]
        assert last.val_loss is None and last.val_accuracy is None
        assert math.isfinite(last.train_loss) and last.test_loss is None


def test_the_test_part_is_scored_at_the_end_of_a_run():
    program = mlp(2)
    data = make_split(DataSettings(dataset="moons", samples=100, test_fraction=0.25))
    records = list(Trainer(program, data, TrainConfig(epochs=3, batch_size=20)).steps())
    assert all(r.test_accuracy is None for r in records[:-1])
    scores = score(program, data)
    assert records[-1].test_accuracy == scores["test"].accuracy
    assert records[-1].test_loss == scores["test"].loss and scores["test"].samples == 25
    assert scores["validation"].samples == 30 and scores["train"].samples == 45
    with pytest.raises(TrainingError, match="training part has no samples"):
        Trainer(program, replace(data, X_train=data.X_train[:0], y_train=data.y_train[:0]),
                TrainConfig())


def test_fractions_that_leave_nothing_to_train_on_are_refused():
    with pytest.raises(DatasetError, match="keep their sum at most 0.9"):
        make_split(DataSettings(dataset="iris", val_fraction=0.5, test_fraction=0.5))


def test_a_task_that_is_not_the_datasets_own_is_refused():
    with pytest.raises(SettingsError, match="'digits' is a classification dataset"):
        load_data(DataSettings(dataset="digits", task="regression"))
    assert load_data(DataSettings(dataset="sine", task="regression")).task == "regression"


# -- derived features -------------------------------------------------------------------------
def test_feature_inputs_are_made_before_standardising():
    s = make_split(DataSettings(dataset="xor", samples=80, features=("x1", "x2", "x1*x2"),
                                val_fraction=0.25))
    raw = s.dataset.X  # the dataset keeps the raw 2-D points (the boundary plot draws them)
    assert raw.shape[1] == 2 and s.n_inputs == 3 and s.features == ("x1", "x2", "x1*x2")
    product = raw[s.train_index, 0] * raw[s.train_index, 1]
    np.testing.assert_allclose(s.X_train[:, 2], (product - product.mean()) / product.std())
    np.testing.assert_allclose(s.transform(raw[s.val_index]), s.X_val)  # e.g. a boundary grid
    grid = np.array([[0.5, -2.0]])
    expected = (np.array([[0.5, -2.0, -1.0]]) - s.mean) / s.std
    np.testing.assert_allclose(s.transform(grid), expected)
    s = make_split(DataSettings(dataset="moons", samples=40, standardize=False,
                                features=("x1^2", "sin(x2)")))
    x = s.dataset.X[s.train_index]
    np.testing.assert_allclose(s.X_train, np.column_stack([x[:, 0] ** 2, np.sin(x[:, 1])]))


def test_feature_inputs_need_a_2d_set_and_a_fitting_input():
    with pytest.raises(DatasetError, match="are for 2-D datasets; 'iris' has 4"):
        make_split(DataSettings(dataset="iris", features=("x1",)))
    data = make_split(DataSettings(dataset="moons", samples=40, features=("x1", "x2", "x1*x2")))
    with pytest.raises(TrainingError, match=r"give the feature input shape \(N, 3\)"):
        Trainer(mlp(2), data, TrainConfig())
    records = list(Trainer(mlp(3), data, TrainConfig(epochs=1)).steps())
    assert records[-1].train_accuracy is not None


# -- typed values as the data -----------------------------------------------------------------
def typed_program(rows: int = 2, labels=None, loss: str = "mse"):
    model = GraphModel()
    x = model.add_node("input", "X", {"shape": [None, 2],
                                      "value": [[0.5, 1.2], [0.1, -0.3]][:rows]})
    w = model.add_node("parameter", "W", {"shape": [2, 2 if loss != "mse" else 1]})
    z = model.add_node("matmul", "z")
    t_shape = [None] if loss != "mse" else [None, 1]
    y = model.add_node("input", "y", {"shape": t_shape, "value": labels})
    out = model.add_node(loss, "loss")
    model.connect(x.id, z.id, "a")
    model.connect(w.id, z.id, "b")
    model.connect(z.id, out.id, "pred" if loss == "mse" else "logits")
    model.connect(y.id, out.id, "target")
    return compile_graph(model)


def test_typed_values_are_the_dataset():
    program = typed_program(1, [[1.0]])
    ds = load_data(DataSettings(dataset=TYPED), program)
    assert ds.task == "regression" and ds.n_samples == 1 and ds.feature_names == ("X[0]", "X[1]")
    np.testing.assert_array_equal(ds.X, [[0.5, 1.2]])
    # one example: no validation part, raw values kept, and it trains
    data = make_split(DataSettings(dataset=TYPED, standardize=False), program)
    np.testing.assert_array_equal(data.X_train, [[0.5, 1.2]])
    assert data.X_val.shape == (0, 2)
    records = list(Trainer(program, data, TrainConfig(full_batch=True, epochs=2)).steps())
    assert [r.steps_per_epoch for r in records] == [1, 1] and records[-1].val_loss is None
    # a small table of classes, under a cross-entropy: classification
    program = typed_program(2, [1, 0], "softmax_cross_entropy")
    ds = load_data(DataSettings(dataset=TYPED), program)
    assert ds.task == "classification" and ds.classes == ("0", "1")
    np.testing.assert_array_equal(ds.y, [1, 0])


@pytest.mark.parametrize("labels, task, message", [
    (None, None, "input 'y' has no typed value"),
    ([[1.0], [0.0], [2.0]], None, "one label per row"),
    ([[1.0, 2.0], [0.0, 1.0]], "regression", "one number per row"),
    ([[0.5], [1.0]], "classification", "whole numbers from 0, or one-hot"),
])
def test_typed_values_that_cannot_be_data(labels, task, message):
    with pytest.raises(DatasetError, match=message):
        load_data(DataSettings(dataset=TYPED, task=task), typed_program(2, labels))
    with pytest.raises(SettingsError, match="need the graph"):
        load_data(DataSettings(dataset=TYPED))


# -- feeds for sample i -----------------------------------------------------------------------
def test_feeds_for_sample_i_are_prepared_like_training():
    program = compile_graph(load(example_path("digits_mlp")))
    data = make_split(DataSettings(dataset="digits", val_fraction=0.3, test_fraction=0.2))
    for i in (int(data.train_index[3]), int(data.val_index[0]), int(data.test_index[5])):
        feeds = feeds_for_sample(program, data, i)
        assert set(feeds) == {"X", "y"} and feeds["X"].shape == (1, 64)
        part = {"train": (data.train_index, data.X_train), "val": (data.val_index, data.X_val),
                "test": (data.test_index, data.X_test)}
        row = next(X[np.flatnonzero(idx == i)] for idx, X in part.values() if i in idx)
        np.testing.assert_allclose(feeds["X"], row)
        np.testing.assert_array_equal(feeds["y"], [data.dataset.y[i]])
    raw = feeds_for_sample(program, data.dataset, 7)  # a bare dataset: raw values
    np.testing.assert_array_equal(raw["X"], data.dataset.X[7:8])
    program.run(raw)  # they fit the graph
    with pytest.raises(DatasetError, match=r"sample 1797 is not in 'digits' \(samples 0 to 1796\)"):
        feeds_for_sample(program, data, 1797)


def test_test_file_is_the_test_part_with_classes_numbered_as_in_training(tmp_path):
    train_csv, test_csv = tmp_path / "train.csv", tmp_path / "test.csv"
    train_csv.write_text("a,b,kind\n0,1,cat\n1,0,dog\n1,1,emu\n0,0,cat\n2,2,dog\n3,1,emu\n")
    test_csv.write_text("a,b,kind\n5,5,emu\n4,4,dog\n")  # no cat: its own numbering would shift
    s = make_split(DataSettings(csv=str(train_csv), label="kind", val_fraction=0.0,
                                test_csv=str(test_csv), standardize=False))
    assert s.dataset.classes == ("cat", "dog", "emu")
    np.testing.assert_array_equal(s.y_test, [2, 1])
    np.testing.assert_array_equal(s.X_test, [[5, 5], [4, 4]])
    test_csv.write_text("a,b,kind\n5,5,yak\n")
    with pytest.raises(DatasetError, match="classes the training data lacks: 'yak'"):
        make_split(DataSettings(csv=str(train_csv), label="kind", test_csv=str(test_csv)))


def test_full_batch_is_one_step_on_every_training_row_per_epoch():
    program = mlp(2)
    data = make_split(DataSettings(dataset="moons", samples=50, val_fraction=0.2))
    config = TrainConfig(epochs=3, batch_size=7, lr=0.5, full_batch=True)
    trainer = Trainer(program, data, config)
    before = {k: v.copy() for k, v in program.param_arrays().items()}
    program.run({"X": trainer.X_train, "y": trainer.T_train})  # the gradient on all 40 rows
    grads = {program.nodes[i].name: program.grads[i].copy() for i in program.trainable}
    records = list(trainer.steps())
    assert [(r.step, r.steps_per_epoch, r.epoch_end) for r in records] == [
        (1, 1, True), (2, 1, True), (3, 1, True)]
    next(Trainer(program, data, replace(config, epochs=1)).steps())  # same seed: same start
    for name, w in program.param_arrays().items():
        np.testing.assert_allclose(w, before[name] - 0.5 * grads[name], rtol=1e-12)
