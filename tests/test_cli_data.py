"""The command line's data options: --task, --test-fraction/--test-csv, --features, typed
values as the data, --full-batch, --every, and the score command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_cli import run_cli

from playground.graph import GraphModel, save
from playground.graph.edit import apply_dict, build_mlp
from playground.training import load_params


def mlp_file(tmp_path, width: int, loss: str = "softmax_cross_entropy", out: int = 2,
             training: dict | None = None):
    model = GraphModel()
    apply_dict(model, build_mlp(model, width, [8], "tanh", out, loss)[0])
    model.meta["training"] = training or {}
    path = tmp_path / f"mlp{width}.json"
    save(model, path)
    return str(path)


def epochs(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_a_one_row_csv_trains_as_regression_with_no_validation(tmp_path, capsys):
    csv = tmp_path / "one.csv"
    csv.write_text("a,b,target\n0.5,1.2,1\n")
    graph = mlp_file(tmp_path, 2, "mse", 1)
    code, _ = run_cli("train", graph, "--csv", str(csv), "--epochs", "1")
    assert code == 2 and "at least two classes" in capsys.readouterr().err  # guessed: classes
    code, text = run_cli("train", graph, "--csv", str(csv), "--task", "regression",
                         "--val-fraction", "0", "--no-standardize", "--epochs", "2", "--json")
    assert code == 0, capsys.readouterr().err
    rows = epochs(text)
    assert [r["val_loss"] for r in rows] == [None, None] and rows[-1]["train_loss"] > 0


def test_an_empty_validation_part_for_regression(capsys):
    code, text = run_cli("train", "sine_regression", "--val-fraction", "0", "--epochs", "1",
                         "--json")
    assert code == 0, capsys.readouterr().err
    assert epochs(text)[0]["val_loss"] is None


def test_feature_inputs_feed_a_wider_input(tmp_path, capsys):
    graph = mlp_file(tmp_path, 3, training={"dataset": "xor", "samples": 80})
    code, _ = run_cli("train", graph, "--epochs", "1")
    assert code == 2 and "give the feature input shape (N, 2)" in capsys.readouterr().err
    code, text = run_cli("train", graph, "--features", "x1,x2,x1*x2", "--epochs", "3",
                         "--lr", "0.5", "--json")
    assert code == 0, capsys.readouterr().err
    assert len(epochs(text)) == 3
    code, _ = run_cli("train", graph, "--features", "x1,cos(x2)")
    assert code == 2 and "unknown feature 'cos(x2)'" in capsys.readouterr().err
    code, text = run_cli("eval", graph, "--features", "x1,x2,x1*x2", "--sample", "4", "--json")
    assert code == 0 and np.shape(json.loads(text)["nodes"]["X"]["value"]) == (1, 3)


def test_train_reports_the_test_part_and_score_reproduces_it(tmp_path, capsys):
    graph = mlp_file(tmp_path, 2, training={"dataset": "moons", "samples": 120, "epochs": 5,
                                            "lr": 0.3})
    weights = str(tmp_path / "w.npz")
    code, text = run_cli("train", graph, "--test-fraction", "0.25", "--save-weights", weights,
                         "--json")
    assert code == 0, capsys.readouterr().err
    last = epochs(text)[-1]
    assert all(r["test_accuracy"] is None for r in epochs(text)[:-1])
    code, text = run_cli("score", graph, "--weights", weights, "--test-fraction", "0.25",
                         "--json")
    parts = json.loads(text)
    assert code == 0 and parts["test"]["samples"] == 30 and parts["validation"]["samples"] == 36
    assert parts["test"]["accuracy"] == last["test_accuracy"]
    assert parts["test"]["loss"] == pytest.approx(last["test_loss"], rel=1e-12)
    assert parts["validation"]["accuracy"] == last["val_accuracy"]
    code, text = run_cli("score", graph, "--weights", weights)
    assert code == 0 and text.splitlines()[-1] == "test        —"
    assert text.startswith("train           84 samples  loss ")
    code, text = run_cli("train", graph, "--test-fraction", "0.25", "--epochs", "1")
    assert text.splitlines()[-1].startswith("test            30 samples  loss ")
    assert "accuracy" in text.splitlines()[-1]


def test_score_refuses_weights_that_do_not_fit(tmp_path, capsys):
    graph = mlp_file(tmp_path, 2, training={"dataset": "moons"})
    other = mlp_file(tmp_path, 3, training={"dataset": "moons"})
    weights = str(tmp_path / "w.npz")
    assert run_cli("train", other, "--features", "x1,x2,x1*x2", "--epochs", "1",
                   "--save-weights", weights)[0] == 0
    code, _ = run_cli("score", graph, "--weights", weights)
    assert code == 2 and "shape" in capsys.readouterr().err
    np.savez(weights, nothing=np.zeros(2))
    code, _ = run_cli("score", graph, "--weights", weights)
    assert code == 2 and "no weights for parameter 'W1'" in capsys.readouterr().err
    code, _ = run_cli("score", graph)
    assert code == 2 and "--weights" in capsys.readouterr().err


def test_typed_values_full_batch_and_every(tmp_path, capsys):
    weights = tmp_path / "w.npz"
    code, text = run_cli("train", "tutorial_2_2_1", "--epochs", "5", "--every", "2",
                         "--save-weights", str(weights))
    assert code == 0, capsys.readouterr().err
    assert [line.split()[1] for line in text.splitlines() if line.startswith("epoch")] == [
        "1/5", "2/5", "4/5", "5/5"]
    assert load_params(weights)["b1"].tolist() == [[0.1, 0.2]]  # frozen
    code, text = run_cli("train", "moons_mlp", "--dataset", "typed", "--epochs", "1")
    assert code == 2 and "typed values besides the label 'y'" in capsys.readouterr().err
    code, text = run_cli("train", "digits_mlp", "--full-batch", "--epochs", "2", "--json")
    assert code == 0 and [r["step"] for r in epochs(text)] == [1, 2]
    code, _ = run_cli("train", "digits_mlp", "--task", "regression")
    assert code == 2 and "'digits' is a classification dataset" in capsys.readouterr().err
