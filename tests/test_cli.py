"""The command line: train/eval/check on real examples, JSON output, one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from playground.cli import main
from playground.engine import OpSpec, register, shapes, unregister
from playground.graph import GraphModel, compile_graph, load, save


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def run_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playground", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_eval_square_of_sum_json_gives_the_chain_rule_numbers():
    code, text = run_cli("eval", "square_of_sum", "--json")
    assert code == 0
    nodes = json.loads(text)["nodes"]
    assert nodes["f"]["value"] == 9.0
    assert nodes["x"]["grad"] == 6.0 and nodes["y"]["grad"] == 6.0
    assert nodes["q"]["value"] == 3.0 and nodes["q"]["grad"] == 6.0


def test_eval_feeds_override_defaults():
    code, text = run_cli("eval", "square_of_sum", "--feed", "x=3", "--feed", "y=-1", "--json")
    nodes = json.loads(text)["nodes"]
    assert code == 0 and nodes["f"]["value"] == 4.0
    assert nodes["x"]["grad"] == pytest.approx(2 * (3 - 1))


def test_eval_text_lists_every_node(examples_dir):
    code, text = run_cli("eval", str(examples_dir / "sigmoid_neuron.json"))
    program = compile_graph(load(examples_dir / "sigmoid_neuron.json"))
    assert code == 0
    for node in program.nodes:
        assert any(line.split()[0] == node.name for line in text.splitlines()[1:])
    assert "0.731059" in text


def test_eval_a_dataset_sample_through_the_digits_network():
    code, text = run_cli("eval", "digits_mlp", "--sample", "3", "--json")
    nodes = json.loads(text)["nodes"]
    assert code == 0
    assert np.asarray(nodes["probs"]["value"]).shape == (1, 10)
    assert sum(nodes["probs"]["value"][0]) == pytest.approx(1.0)
    assert np.asarray(nodes["W1"]["grad"]).shape == (64, 64)


def test_train_json_has_one_line_per_epoch_with_the_documented_keys():
    code, text = run_cli("train", "moons_mlp", "--epochs", "3", "--json", "--seed", "4")
    lines = [json.loads(line) for line in text.splitlines()]
    assert code == 0 and [d["epoch"] for d in lines] == [1, 2, 3]
    for d in lines:
        assert {"epoch", "train_loss", "val_loss", "val_accuracy", "grad_norms", "seconds"} <= set(d)
        assert set(d["grad_norms"]) == {"W1", "b1", "W2", "b2", "W3", "b3"}
        assert 0.0 <= d["val_accuracy"] <= 1.0


def test_train_same_seed_is_reproducible_and_regression_has_null_accuracy():
    a = run_cli("train", "sine_regression", "--epochs", "2", "--json", "--seed", "1")[1]
    b = run_cli("train", "sine_regression", "--epochs", "2", "--json", "--seed", "1")[1]
    la = [json.loads(x) for x in a.splitlines()]
    lb = [json.loads(x) for x in b.splitlines()]
    assert [d["train_loss"] for d in la] == [d["train_loss"] for d in lb]
    assert all(d["val_accuracy"] is None for d in la)


def test_train_csv_and_save_weights(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    csv = tmp_path / "points.csv"
    csv.write_text("a,b,label\n" + "".join(f"{p:.5f},{q:.5f},{c}\n" for (p, q), c in zip(X, y)))
    weights = tmp_path / "w.npz"
    code, text = run_cli("train", "moons_mlp", "--csv", str(csv), "--label", "label", "--epochs", "2",
                         "--save-weights", str(weights))
    assert code == 0, text
    assert "epoch   2/2" in text and weights.exists()
    with np.load(weights, allow_pickle=False) as data:
        assert set(data.files) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    code2, text2 = run_cli("eval", "moons_mlp", "--feed", "X=[[0.5, 0.5]]", "--feed", "y=[1]",
                           "--weights", str(weights), "--json")
    assert code2 == 0
    with np.load(weights, allow_pickle=False) as data:
        assert json.loads(text2)["nodes"]["W1"]["value"] == data["W1"].tolist()


def test_check_passes_on_examples_and_fails_on_a_wrong_backward(tmp_path):
    for name in ("square_of_sum", "sigmoid_neuron", "sigmoid_neuron_fused"):
        code, text = run_cli("check", name)
        assert code == 0, text
        assert "passed" in text
    register(OpSpec("bad_square_cli", ("x",), lambda xs, p: xs[0] ** 2,
                    (lambda g, y, xs, p, s: 3 * g * xs[0],), shapes.same, test_only=True))
    try:
        m = GraphModel()
        x = m.add_node("input", "x", {"shape": [], "value": 1.5})
        sq = m.add_node("bad_square_cli", "sq")
        m.connect(x.id, sq.id, "x")
        save(m, tmp_path / "bad.json")
        code, text = run_cli("check", str(tmp_path / "bad.json"))
    finally:
        unregister("bad_square_cli")
    assert code == 1
    assert "FAILED" in text and "sq" in text


@pytest.mark.parametrize("args, fragment", [
    (("eval", "no_such_graph"), "no graph file"),
    (("eval", "missing.json"), "no such file"),
    (("train", "digits_mlp", "--dataset", "imagenet"), "unknown dataset"),
    (("eval", "square_of_sum", "--feed", "x=abc"), "not a number"),
    (("eval", "square_of_sum", "--feed", "z=1"), "no input named"),
    (("eval", "square_of_sum", "--feed", "x=[1,2]"), "input 'x' is a scalar (one number)"),
    (("train", "moons_mlp", "--lr", "-1"), "learning rate"),
    (("train", "square_of_sum", "--dataset", "moons"), "not a loss"),
    (("train", "digits_mlp", "--epochs", "many"), "invalid int"),
    (("frobnicate",), "invalid choice"),
])
def test_bad_input_prints_one_clear_line_and_no_traceback(args, fragment):
    result = run_process(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_malformed_graph_file_is_one_line(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "backprop-playground/graph", "version": 1, "nodes": [')
    result = run_process("eval", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "broken.json" in result.stderr and "JSON" in result.stderr


def test_diverging_training_exits_nonzero_naming_the_node():
    result = run_process("train", "digits_mlp", "--lr", "1e6", "--optimizer", "sgd", "--epochs", "2")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "training stopped" in result.stderr and "'" in result.stderr


def test_version_and_help():
    result = run_process("--version")
    assert result.returncode == 0 and "Backprop Playground" in result.stdout
    code, text = run_cli()
    assert code == 2 and "train" in text and "eval" in text and "check" in text


@pytest.mark.parametrize("command", ["check", "eval", "steps"])
def test_a_data_graph_without_sample_feeds_sample_0_with_a_note(command, capsys):
    code, text = run_cli(command, "moons_mlp")
    note = capsys.readouterr().err
    assert code == 0, note
    assert "X, y have no value" in note and "sample 0 of moons" in note and "--sample" in note
    assert run_cli(command, "moons_mlp", "--sample", "0") == (0, text)  # the same numbers
    assert capsys.readouterr().err == ""  # no note when the sample is chosen


def test_check_on_the_digits_network_needs_no_sample(capsys):
    code, text = run_cli("check", "digits_mlp")
    assert code == 0 and "gradient check passed" in text
    assert "sample 0 of digits" in capsys.readouterr().err


def test_inputs_without_value_and_without_dataset_are_named(tmp_path):
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": []})
    y = m.add_node("input", "y", {"shape": []})
    q = m.add_node("add", "q")
    m.connect(x.id, q.id, "a")
    m.connect(y.id, q.id, "b")
    save(m, tmp_path / "typed.json")
    result = run_process("eval", str(tmp_path / "typed.json"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # numbers to type: a dataset sample cannot feed them
    assert result.stderr.strip() == ("error: inputs x, y have no value: give each one with "
                                     "--feed NAME=VALUE")
    result = run_process("eval", str(tmp_path / "typed.json"), "--feed", "x=1", "--feed", "y=2")
    assert result.returncode == 0 and "3" in result.stdout
    m.set_param(x.id, "shape", [None, 2])  # now a data input, and no dataset in the file
    m.set_param(y.id, "value", 1.0)
    save(m, tmp_path / "data.json")
    result = run_process("eval", str(tmp_path / "data.json"))
    assert result.returncode == 2 and result.stderr.strip() == (
        "error: input x has no value: give it one with --feed NAME=VALUE, or feed a sample with "
        "--sample I --dataset NAME")


def test_readme_usage_lines_name_only_options_the_commands_have():
    import argparse
    import re

    from playground.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    usage: dict[str, set[str]] = {}
    command = None
    for line in text.splitlines():
        m = re.match(r"^python -m playground (\w+) ", line)
        if m:
            command = m.group(1)
        elif not line.startswith(" " * 8):
            command = None
        if command:
            usage.setdefault(command, set()).update(re.findall(r"(--[a-z][a-z0-9-]*)", line))
    assert {"train", "eval", "check", "steps", "export", "import"} <= set(usage)
    for command, options in usage.items():
        known = set(sub.choices[command]._option_string_actions)
        assert options <= known, f"README's {command} line: {sorted(options - known)}"
    assert "--sample" in usage["check"]  # check on a data graph takes a sample
