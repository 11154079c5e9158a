"""NumPy script and notebook: the generated code reproduces the app's numbers exactly."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from playground.engine import ops
from playground.graph import GraphModel
from playground.interop import export, prepare
from playground.interop.common import ancestors
from playground.interop.numpy_export import load_script
from playground.interop.numpy_ops import NUMPY_OPS
from tests.interop.interop_helpers import (
    EXAMPLE_NAMES,
    TUTORIALS,
    app_run,
    app_trainer,
    composite_digits,
    example,
    require,
)


def script_run(tmp_path, model, epochs=1, config=None):
    export(model, "numpy", tmp_path / "net.py", config=config)
    ns = load_script((tmp_path / "net.py").read_text(), tmp_path / "net.npz")
    _, losses, history = ns["train"](epochs, log=lambda line: None)
    return losses, history


def close(a, b, tol):
    """Equal within ``tol``, or both None (an empty part has no loss)."""
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= tol)


def assert_same_run(app, script, tol=1e-10):
    (a_losses, a_epochs), (s_losses, s_epochs) = app, script
    assert len(a_losses) == len(s_losses) > 1
    assert np.max(np.abs(np.subtract(a_losses, s_losses))) <= tol
    for m, h in zip(a_epochs, s_epochs, strict=True):
        assert close(m.train_loss, h["train_loss"], tol) and close(m.val_loss, h["val_loss"], tol)
        assert m.val_accuracy == h["val_accuracy"]
    last = s_epochs[-1]
    assert close(a_epochs[-1].test_loss, last.get("test_loss"), tol)
    assert a_epochs[-1].test_accuracy == last.get("test_accuracy")


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


@pytest.mark.parametrize("name", TUTORIALS)
def test_the_tutorials_train_like_the_app(tmp_path, name):
    """½·Σ(output − y)² loss, frozen biases, full batch (one step per epoch, in order), and the
    typed example (2-2-1) or a held-out test part scored at the end (digits)."""
    app_losses, app_epochs, _ = app_run(example(name), 3)
    export(example(name), "numpy", tmp_path / "t.py")
    ns = load_script((tmp_path / "t.py").read_text(), tmp_path / "t.npz")
    start, _ = ns["load_arrays"]()
    trained, losses, history = ns["train"](3, log=lambda line: None)
    assert len(losses) == 3
    assert_same_run((app_losses, app_epochs), (losses, history))
    app = app_trainer_after(name, 3)
    for key in ("b1", "b2"):  # frozen: not one bit moved, in the app and in the script
        assert np.array_equal(trained[key], start[key])
        assert np.array_equal(app.program.param_arrays(False)[key], start[key])
    for key in ("W1", "W2"):
        assert np.max(np.abs(trained[key] - app.program.param_arrays()[key])) <= 1e-12
        assert not np.array_equal(trained[key], start[key])
    if name == "digits_tutorial":
        assert app_epochs[-1].test_loss is not None and "test_loss" in history[-1]


def app_trainer_after(name, epochs):
    trainer = app_trainer(example(name), epochs=epochs)
    for _ in trainer.steps():
        pass
    return trainer


def test_the_half_sum_backward_line_and_the_tutorial_settings(tmp_path):
    export(example("tutorial_2_2_1"), "numpy", tmp_path / "t.py")
    text = (tmp_path / "t.py").read_text()
    assert "loss = np.sum((output - y) ** 2) * 0.5  # mse: ½ Σ (pred − target)²" in text
    assert "d_output = (output - y)  # loss = ½·Σ(output − y)²: ∂loss/∂output = (output − y)" in text
    assert "d_b1" not in text and "d_b2" not in text  # frozen: no gradient is even computed
    assert "FULL_BATCH = True" in text and "FROZEN = ['b1', 'b2']" in text


@pytest.mark.parametrize("loss, reduction", [
    ("mse", "mean"), ("mse", "sum"), ("mse", "half_sum"),
    ("softmax_cross_entropy", "mean"), ("softmax_cross_entropy", "sum"),
    ("binary_cross_entropy", "mean"), ("binary_cross_entropy", "sum"),
])
@pytest.mark.parametrize("seeded", [True, False])
def test_every_reduction_forward_and_backward_are_the_apps(tmp_path, loss, reduction, seeded):
    """Each loss and reduction, as the graph's output (upstream 1: the local derivative alone)
    and inside the graph (scaled by 3, so the upstream is 3), against the app, bit for bit."""
    m = GraphModel()
    x = m.add_node("parameter", "w", {"shape": [2, 3], "value": [[0.2, 0.7, 0.4], [0.9, 0.1, 0.5]]})
    target = [2.0, 0.0] if loss == "softmax_cross_entropy" else [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    t = m.add_node("input", "t", {"shape": [None] + ([] if loss == "softmax_cross_entropy"
                                                     else [3]), "value": target})
    node = m.add_node(loss, "L", {"reduction": reduction})
    ports = get_ports(loss)
    m.connect(x.id, node.id, ports[0])
    m.connect(t.id, node.id, ports[1])
    if not seeded:
        scaled = m.add_node("mul_const", "scaled", {"c": 3.0})
        m.connect(node.id, scaled.id, "x")
        m.meta["output"] = "scaled"
    report = export(m, "numpy", tmp_path / "l.py")
    text = (tmp_path / "l.py").read_text()
    assert report.max_difference == 0.0, text
    first = next(line for line in text.splitlines() if line.strip().startswith("d_w = "))
    assert ("d_L" in first.split("#")[0]) != seeded, first


def get_ports(op):
    from playground.engine import get_op

    return get_op(op).inputs


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


@pytest.mark.parametrize("name", ["moons_mlp", "tutorial_2_2_1"])
def test_notebook_walks_every_gate_and_trains_like_the_app(tmp_path, monkeypatch, name):
    nbformat = require("nbformat")
    export(example(name), "notebook", tmp_path / "nb.ipynb")
    nb = nbformat.read(str(tmp_path / "nb.ipynb"), as_version=4)
    nbformat.validate(nb)
    job = prepare(example(name))
    program = job.program
    needed = ancestors(program, [program.output])
    gates = [n for i, n in enumerate(program.nodes) if not n.spec.is_source and needed[i]]
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for node in gates:  # a loss's text is the one its reduction chooses
        derivative = node.spec.texts(node.params).derivative
        assert any(f"`{node.name}`" in s and derivative in s for s in md), node.name
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    for source in code[:-1]:
        exec(source, ns)  # noqa: S102
    assert code[-1] == "p, batch_losses, history = train()"
    _, losses, history = ns["train"](3, log=lambda line: None)
    app_losses, app_epochs, _ = app_run(example(name), 3)
    assert_same_run((app_losses, app_epochs), (losses, history))
    # the walk-through's one pass is the app's pass on the first rows of the training set
    trainer, config = job.setup.trainer, job.setup.config
    rows = trainer.X_train.shape[0] if config.full_batch else config.batch_size
    program.set_params(job.arrays)
    b = job.setup.binding
    program.run({b.features: trainer.X_train[:rows], b.target: trainer.T_train[:rows]})
    assert abs(float(ns["loss"]) - float(program.value("loss"))) <= 1e-12
    assert np.max(np.abs(ns["d_W1"] - program.grad("W1"))) <= 1e-12


def test_report_lists_both_files(tmp_path):
    report = export(example("square_of_sum"), "numpy", tmp_path / "sq")
    assert report.files == [str(tmp_path / "sq.py"), str(tmp_path / "sq.npz")]
    assert json.dumps(report.files)
