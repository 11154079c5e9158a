"""NumPy script and notebook: the generated code reproduces the app's numbers exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from playground.engine import ops
from playground.graph import GraphModel
from playground.interop import export, prepare
from playground.interop.common import setup_from_meta
from playground.interop.numpy_export import load_script
from playground.interop.numpy_ops import NUMPY_OPS
from playground.training import Trainer
from tests.interop.interop_helpers import EXAMPLE_NAMES, composite_digits, example, require


def app_run(model, epochs=1, **changes):
    """The app's own run: every batch loss and the epoch records."""
    from playground.interop.common import compile_for_export

    data, config = setup_from_meta(model)
    config = replace(config, epochs=epochs, **changes)
    trainer = Trainer(compile_for_export(model), data, config)
    metrics = list(trainer.steps())
    return [m.batch_loss for m in metrics], [m for m in metrics if m.epoch_end], config


def script_run(tmp_path, model, epochs=1, config=None):
    export(model, "numpy", tmp_path / "net.py", config=config)
    ns = load_script((tmp_path / "net.py").read_text(), tmp_path / "net.npz")
    _, losses, history = ns["train"](epochs, log=lambda line: None)
    return losses, history


def assert_same_run(app, script, tol=1e-10):
    (a_losses, a_epochs), (s_losses, s_epochs) = app, script
    assert len(a_losses) == len(s_losses) > 1
    assert np.max(np.abs(np.subtract(a_losses, s_losses))) <= tol
    for m, h in zip(a_epochs, s_epochs, strict=True):
        assert abs(m.train_loss - h["train_loss"]) <= tol and abs(m.val_loss - h["val_loss"]) <= tol
        assert m.val_accuracy == h["val_accuracy"]


@pytest.mark.parametrize("name", ["digits_mlp", "moons_mlp"])
def test_one_epoch_reproduces_the_apps_loss_sequence(tmp_path, name):
    losses, epochs, _ = app_run(example(name))
    assert_same_run((losses, epochs), script_run(tmp_path, example(name)))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_other_optimizers_and_l2_reproduce_the_app(tmp_path, optimizer):
    model = example("moons_mlp")
    losses, epochs, config = app_run(model, 2, optimizer=optimizer, l2=1e-3, lr=0.05)
    assert_same_run((losses, epochs), script_run(tmp_path, model, 2, config))


def test_regression_and_composites_reproduce_the_app(tmp_path):
    for model in (example("sine_regression"), composite_digits()):
        losses, epochs, _ = app_run(model)
        assert_same_run((losses, epochs), script_run(tmp_path, model))


def test_the_script_needs_only_numpy_and_prints_the_apps_epoch_line(tmp_path):
    export(example("moons_mlp"), "numpy", tmp_path / "moons.py")
    blocker = ("import sys, runpy\n"
               "for name in ('playground', 'sklearn', 'scipy', 'torch', 'onnx'):\n"
               "    sys.modules[name] = None  # importing any of these now fails\n"
               "sys.argv = ['moons.py', '--epochs', '1']\n"
               "runpy.run_path('moons.py', run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", blocker], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    _, epochs, _ = app_run(example("moons_mlp"))
    assert result.stdout.startswith(f"epoch   1/1  loss {epochs[0].train_loss:.4f}")


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_exports_with_exact_forward_and_gradients(tmp_path, name):
    report = export(example(name), "numpy", tmp_path / "s.py")
    assert report.max_difference is not None and report.max_difference <= 1e-12
    text = (tmp_path / "s.py").read_text()
    compile(text, "s.py", "exec")
    assert "upstream × local" in text


def test_the_tutorial_lines(tmp_path):
    export(example("digits_mlp"), "numpy", tmp_path / "d.py")
    text = (tmp_path / "d.py").read_text()
    assert "z1 = X @ W1 + b1" in text and "h1 = sigmoid(z1)" in text
    assert "d_z1 = d_h1 * h1 * (1.0 - h1)  # upstream × local (σ(x)·(1 − σ(x)))" in text
    assert "d_b1 = d_z1.sum(axis=0)" in text


def test_a_value_feeding_several_gates_accumulates(tmp_path):
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 3.0})
    sq = m.add_node("mul", "sq")
    m.connect(x.id, sq.id, "a")
    m.connect(x.id, sq.id, "b")
    ex = m.add_node("exp", "ex")
    m.connect(x.id, ex.id, "x")
    f = m.add_node("add", "f")
    m.connect(sq.id, f.id, "a")
    m.connect(ex.id, f.id, "b")
    report = export(m, "numpy", tmp_path / "acc.py")
    text = (tmp_path / "acc.py").read_text()
    assert "d_x = d_x + " in text and "feeds several gates" in text
    ns = load_script(text, tmp_path / "acc.npz")
    _v, grads = ns["one_pass"]()
    assert grads["x"] == pytest.approx(2 * 3.0 + np.exp(3.0), rel=1e-15)
    assert report.max_difference == 0.0


def test_every_registry_op_has_a_numpy_translation_reading_all_its_params():
    for spec in ops():
        if spec.is_source:
            continue
        assert spec.name in NUMPY_OPS, f"op '{spec.name}' has no NumPy translation"
        missing = {p.name for p in spec.params} - set(NUMPY_OPS[spec.name].params)
        assert not missing, f"the NumPy translation of '{spec.name}' ignores {missing}"
        assert len(NUMPY_OPS[spec.name].backward) == len(spec.inputs)


@pytest.mark.parametrize("spec", [s for s in ops() if not s.is_source], ids=lambda s: s.name)
def test_every_op_exports_with_exact_values_and_gradients(tmp_path, spec):
    params = {"leaky_relu": {"alpha": 0.2}, "softmax": {"axis": 0}, "sum": {"axis": 0},
              "transpose": {"axes": [1, 0]}, "mean": {"axis": 1, "keepdims": True},
              "binary_cross_entropy": {"input": "logits"}}.get(spec.name, {})
    rng = np.random.default_rng(3)
    m = GraphModel()
    node = m.add_node(spec.name, "out", params)
    for port in spec.inputs:
        shape = [3] if port == "b" and spec.name in ("add", "mul", "sub", "div", "dense") else [2, 3]
        if spec.name in ("matmul", "dense") and port in ("b", "W"):
            shape = [3, 3] if port in ("W",) or spec.name == "matmul" else [3]
        value = rng.uniform(0.5, 1.5, size=shape)
        if spec.name == "softmax_cross_entropy" and port == "target":
            value, shape = np.array([0.0, 2.0]), [2]
        if spec.name == "binary_cross_entropy" and port == "target":
            value = rng.integers(0, 2, size=shape).astype(float)
        src = m.add_node("input", f"in_{port}", {"shape": shape, "value": value.tolist()})
        m.connect(src.id, node.id, port)
    report = export(m, "numpy", tmp_path / "op.py")
    assert report.max_difference is not None and report.max_difference <= 1e-13


def test_notebook_walks_every_gate_and_trains_like_the_app(tmp_path, monkeypatch):
    nbformat = require("nbformat")
    export(example("moons_mlp"), "notebook", tmp_path / "moons.ipynb")
    nb = nbformat.read(str(tmp_path / "moons.ipynb"), as_version=4)
    nbformat.validate(nb)
    job = prepare(example("moons_mlp"))
    gates = [n for n in job.program.nodes if not n.spec.is_source and n.name != "probs"]
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for node in gates:
        assert any(f"`{node.name}`" in s and node.spec.derivative in s for s in md), node.name
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    for source in code[:-1]:
        exec(source, ns)  # noqa: S102
    assert code[-1] == "p, batch_losses, history = train()"
    _, losses, history = ns["train"](1, log=lambda line: None)
    app_losses, app_epochs, _ = app_run(example("moons_mlp"))
    assert_same_run((app_losses, app_epochs), (losses, history))
    # the walk-through's one pass is the app's pass on the first rows of the training set
    program, split = job.program, job.setup.split
    program.set_params(job.arrays)
    batch = job.setup.config.batch_size
    program.run({"X": split.X_train[:batch], "y": split.y_train[:batch].astype(float)})
    assert abs(float(ns["loss"]) - float(program.value("loss"))) <= 1e-12
    assert np.max(np.abs(ns["d_W1"] - program.grad("W1"))) <= 1e-12


def test_report_lists_both_files(tmp_path):
    report = export(example("square_of_sum"), "numpy", tmp_path / "sq")
    assert report.files == [str(tmp_path / "sq.py"), str(tmp_path / "sq.npz")]
    assert json.dumps(report.files)
