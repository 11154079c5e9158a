"""The data side of the training exports: derived feature inputs, the test part (held out or a
separate file) and the arrays file, against the workbench's own split, bit for bit."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from playground.graph import GraphModel
from playground.interop import ExportError, export, prepare
from playground.interop.data_code import FEATURE_CODE
from playground.interop.numpy_export import load_script
from playground.training.features import FEATURES, expand_features
from playground.training.workbench import make_split, read_training
from tests.interop.interop_helpers import app_run, app_trainer, example, require
from tests.interop.test_numpy_export import assert_same_run
from tests.interop.test_torch_export import run

DERIVED = ["x1", "x2", "x1*x2", "x1^2", "sin(x2)"]


def test_every_feature_has_its_line_of_code_giving_the_workbenchs_numbers():
    assert set(FEATURE_CODE) == set(FEATURES)
    X = np.random.default_rng(2).uniform(-3, 3, size=(50, 2))
    for name, code in FEATURE_CODE.items():
        got = eval(code, {"np": np, "X": X})
        assert np.array_equal(got, expand_features(X, [name])[:, 0]), name


def moons_dict_width(data, width):
    """moons_mlp's file taking ``width`` inputs."""
    for node in data["nodes"]:
        if node["name"] == "X":
            node["params"]["shape"] = [None, width]
        if node["name"] == "W1":
            node["params"]["shape"] = [width, 16]
    return data


def moons_with(**training) -> GraphModel:
    """moons_mlp taking ``len(features)`` inputs, with ``training`` in its meta.training."""
    data = moons_dict_width(example("moons_mlp").to_dict(), len(training["features"]))
    data["meta"]["training"] = {**data["meta"]["training"], **training}
    return GraphModel.from_dict(data)


def script_data(tmp_path, model, **kwargs):
    export(model, "numpy", tmp_path / "s.py", **kwargs)
    ns = load_script((tmp_path / "s.py").read_text(), tmp_path / "s.npz")
    _, arrays = ns["load_arrays"]()
    return ns, ns["load_data"](arrays)


def assert_parts_are_the_apps(parts, trainer):
    for part, X, T in (("train", trainer.X_train, trainer.T_train),
                       ("val", trainer.X_val, trainer.T_val),
                       ("test", trainer.X_test, trainer.T_test)):
        assert np.array_equal(parts[part][0], X), part
        assert np.array_equal(parts[part][1], T), part
    assert len(trainer.X_test) > 0


def test_derived_features_and_a_held_out_test_part(tmp_path):
    model = moons_with(features=DERIVED, test_fraction=0.2, val_fraction=0.2)
    ns, parts = script_data(tmp_path, model)
    assert_parts_are_the_apps(parts, app_trainer(model))
    text = (tmp_path / "s.py").read_text()
    assert "X[:, 0] * X[:, 1],  # x1·x2" in text and f"DERIVED_FEATURES = {DERIVED!r}" in text
    with np.load(tmp_path / "s.npz") as arrays:  # the raw points, two columns
        assert arrays["X_train"].shape[1] == 2
    _, losses, history = ns["train"](1, log=lambda line: None)
    app_losses, app_epochs, _ = app_run(model, 1)
    assert_same_run((app_losses, app_epochs), (losses, history))
    assert history[-1]["test_accuracy"] == app_epochs[-1].test_accuracy is not None


def test_train_py_derives_the_features_and_scores_the_test_part(tmp_path):
    require("torch")
    model = moons_with(features=DERIVED, test_fraction=0.2, val_fraction=0.2)
    export(model, "pytorch", tmp_path / "proj", check=False)
    got = run([sys.executable, "train.py", "--epochs", "1", "--optimizer", "sgd", "--json"],
              tmp_path / "proj")
    (want,) = app_run(model, 1, optimizer="sgd")[1]
    for key in ("train_loss", "val_loss", "test_loss"):
        assert abs(got[0][key] - getattr(want, key)) <= 1e-8, key
    assert got[0]["test_accuracy"] == want.test_accuracy


def write_csv(path, X, y):
    path.write_text("a,b,label\n" + "".join(f"{float(p[0])!r},{float(p[1])!r},{int(c)}\n"
                                            for p, c in zip(X, y, strict=True)))
    return str(path)


@pytest.fixture
def csv_model(tmp_path):
    """moons_mlp on a CSV file with a second CSV file as its test part."""
    from playground.training.datasets import load_dataset

    ds = load_dataset("moons", n_samples=160, seed=4)
    train_csv = write_csv(tmp_path / "train.csv", ds.X[:120], ds.y[:120])
    test_csv = write_csv(tmp_path / "test.csv", ds.X[120:], ds.y[120:])
    data = example("moons_mlp").to_dict()
    training = {k: v for k, v in data["meta"]["training"].items() if k != "dataset"}
    data["meta"]["training"] = {**training, "csv": train_csv, "label": "label",
                                "test_csv": test_csv, "features": DERIVED}
    return GraphModel.from_dict(moons_dict_width(data, len(DERIVED)))


def test_a_test_file_is_read_again_raw_by_the_workbench(tmp_path, csv_model):
    _, parts = script_data(tmp_path, csv_model)
    trainer = app_trainer(csv_model)
    assert_parts_are_the_apps(parts, trainer)
    assert len(trainer.X_test) == 40


def test_a_ready_split_with_a_test_file_needs_the_settings(tmp_path, csv_model):
    program = prepare(csv_model).program
    settings, config = read_training(csv_model.meta["training"])
    split = make_split(settings, program)
    with pytest.raises(ExportError, match="separate file.*settings"):
        export(csv_model, "numpy", tmp_path / "s.py", data=split, config=config)
    _, parts = script_data(tmp_path, csv_model, settings=settings, config=config)
    assert_parts_are_the_apps(parts, app_trainer(csv_model))
