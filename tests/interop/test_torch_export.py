"""PyTorch project: forward values and gradients are the app's; train.py reproduces the app's
run; a 2-process DDP run matches a 1-process DDP run with the same global batch. torch is a
test-time dependency only: .ci/run installs it and sets PLAYGROUND_REQUIRE_TORCH=1, so these
tests fail there instead of skipping when it is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from playground.engine import ops
from playground.graph import GraphModel
from playground.interop import export, prepare
from playground.interop.torch_export import fixed_inputs, run_model, top_outputs
from playground.interop.torch_model import ModelWriter
from playground.interop.torch_ops import TORCH_OPS
from tests.interop.interop_helpers import (
    EXAMPLE_NAMES,
    TUTORIALS,
    app_run,
    app_trainer,
    composite_digits,
    example,
    require,
)


def model_vs_app(tmp_path, model, tol):
    """Largest differences (values, gradients) between the exported model and the app."""
    export(model, "pytorch", tmp_path / "proj", check=False)
    job = prepare(model)
    names, target = top_outputs(job)
    if job.setup is not None:
        names.append(job.program.nodes[job.setup.binding.prediction].name)
    writer = ModelWriter(job.model, job.program, list(dict.fromkeys(names)), target,
                         fixed_inputs(job))
    writer.text(job.title, job.program.dtype.name)
    values, grads = run_model(tmp_path / "proj", job, writer)
    program = job.program
    program.forward(dict(job.feeds))
    program.backward(all_grads=True)
    assert set(values) >= {program.nodes[program.output].name}
    worst_v = max(float(np.max(np.abs(v - program.value(k)), initial=0)) for k, v in values.items())
    checked = [k for k, g in grads.items() if g is not None]
    assert all(program.grad(k) is not None for k in checked), "a gradient the app does not have"
    assert set(program.param_arrays()) <= set(checked), "every parameter got a gradient"
    worst_g = max(float(np.max(np.abs(grads[k] - program.grad(k)), initial=0)) for k in checked)
    assert worst_v <= tol and worst_g <= tol, (worst_v, worst_g)
    return worst_v, worst_g


@pytest.mark.parametrize("name", EXAMPLE_NAMES + ["composite"])
def test_forward_values_and_every_gradient_equal_the_app(tmp_path, name):
    require("torch")
    model = composite_digits() if name == "composite" else example(name)
    model_vs_app(tmp_path, model, 1e-10)


@pytest.mark.parametrize("name", ["digits_mlp", "sigmoid_neuron"])
def test_float32_graphs_export_float32_models(tmp_path, name):
    require("torch")
    model_vs_app(tmp_path, example(name, "float32"), 1e-5)
    assert "DTYPE = torch.float32" in (tmp_path / "proj" / "model.py").read_text()


@pytest.mark.parametrize("spec", [s for s in ops() if not s.is_source], ids=lambda s: s.name)
def test_every_op_matches_the_app_values_and_gradients(tmp_path, spec):
    require("torch")
    params = {"leaky_relu": {"alpha": 0.2}, "softmax": {"axis": 0}, "sum": {"axis": 0},
              "transpose": {"axes": [1, 0]}, "mean": {"axis": None, "keepdims": True},
              "binary_cross_entropy": {"input": "probabilities"}}.get(spec.name, {})
    rng = np.random.default_rng(5)
    m = GraphModel()
    node = m.add_node(spec.name, "out", params)
    for port in spec.inputs:
        shape = [3] if port == "b" and spec.name in ("add", "mul", "sub", "div", "dense") else [2, 3]
        if spec.name in ("matmul", "dense") and port in ("b", "W"):
            shape = [3, 3] if port == "W" or spec.name == "matmul" else [3]
        value = rng.uniform(0.2, 0.8, size=shape)
        if spec.name == "softmax_cross_entropy" and port == "target":
            value, shape = np.array([0.0, 2.0]), [2]
        kind = "input" if spec.name == "softmax_cross_entropy" and port == "target" else "parameter"
        src = m.add_node(kind, f"w_{port}", {"shape": shape, "value": value.tolist()})
        m.connect(src.id, node.id, port)
    model_vs_app(tmp_path, m, 1e-12)


def app_epochs(name, **changes):
    return app_run(example(name), **changes)[1]


def run(args, cwd, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH="")
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("name", ["moons_mlp", "digits_mlp"])
def test_train_py_two_epochs_of_sgd_reproduce_the_apps_epoch_losses(tmp_path, name):
    require("torch")
    export(example(name), "pytorch", tmp_path / "proj", check=False)
    got = run([sys.executable, "train.py", "--epochs", "2", "--optimizer", "sgd", "--json"],
              tmp_path / "proj")
    want = app_epochs(name, epochs=2, optimizer="sgd")
    assert [r["epoch"] for r in got] == [1, 2]
    for r, m in zip(got, want, strict=True):
        assert abs(r["train_loss"] - m.train_loss) <= 1e-8
        assert abs(r["val_loss"] - m.val_loss) <= 1e-8
        assert r["val_accuracy"] == m.val_accuracy


@pytest.mark.parametrize("name", TUTORIALS)
def test_train_py_reproduces_the_tutorials(tmp_path, name):
    """½·Σ loss, frozen biases (requires_grad=False, never updated), full batch in order, the
    typed example (2-2-1) or the held-out test part scored at the end (digits)."""
    require("torch")
    export(example(name), "pytorch", tmp_path / "proj", check=False)
    got = run([sys.executable, "train.py", "--epochs", "3", "--json",
               "--save", str(tmp_path / "trained.npz")], tmp_path / "proj")
    trainer = app_trainer(example(name), epochs=3)
    start = {k: v.copy() for k, v in trainer.program.param_arrays(False).items()}
    want = [m for m in trainer.steps() if m.epoch_end]
    assert [r["epoch"] for r in got] == [1, 2, 3] and trainer.step_count == 3
    for r, m in zip(got, want, strict=True):
        assert abs(r["train_loss"] - m.train_loss) <= 1e-8
        assert r["val_loss"] is None and m.val_loss is None
    assert ("test_loss" in got[-1]) == (want[-1].test_loss is not None)
    if want[-1].test_loss is not None:
        assert abs(got[-1]["test_loss"] - want[-1].test_loss) <= 1e-8
        assert got[-1]["test_accuracy"] == want[-1].test_accuracy
    app = trainer.program.param_arrays(False)
    with np.load(tmp_path / "trained.npz") as trained:
        for key in ("b1", "b2"):
            assert np.array_equal(trained[key], start[key]) and np.array_equal(app[key], start[key])
        for key in ("W1", "W2"):
            assert np.max(np.abs(trained[key] - app[key])) <= 1e-10
            assert not np.array_equal(trained[key], start[key])
    text = (tmp_path / "proj" / "model.py").read_text()
    assert 'F.mse_loss(output, y, reduction="sum") * 0.5' in text
    assert text.count("requires_grad=False") == 2


LOSSES = [(loss, r, variant) for loss, choices, variants in (
    ("mse", ("mean", "sum", "half_sum"), ("onehot",)),
    ("softmax_cross_entropy", ("mean", "sum"), ("labels", "onehot")),
    ("binary_cross_entropy", ("mean", "sum"), ("onehot", "logits")))
    for r in choices for variant in variants]


@pytest.mark.parametrize("loss, reduction, variant", LOSSES)
def test_every_loss_reduction_matches_the_app(tmp_path, loss, reduction, variant):
    require("torch")
    params = {"reduction": reduction}
    if loss == "binary_cross_entropy":
        params["input"] = "logits" if variant == "logits" else "probabilities"
    rng = np.random.default_rng(11)
    m = GraphModel()
    pred = rng.uniform(0.2, 0.8, size=(4, 3))
    if loss == "softmax_cross_entropy" and variant == "labels":
        target, tshape = np.array([0.0, 2.0, 1.0, 2.0]), [4]
    else:
        target, tshape = np.eye(3)[[0, 2, 1, 2]], [4, 3]
    w = m.add_node("parameter", "w", {"shape": [4, 3], "value": pred.tolist()})
    t = m.add_node("input", "t", {"shape": tshape, "value": target.tolist()})
    node = m.add_node(loss, "L", params)
    ports = node_ports(loss)
    m.connect(w.id, node.id, ports[0])
    m.connect(t.id, node.id, ports[1])
    model_vs_app(tmp_path, m, 1e-12)


def node_ports(op):
    from playground.engine import get_op

    return get_op(op).inputs


def test_train_py_reproduces_adam_with_l2_too(tmp_path):
    require("torch")
    export(example("digits_mlp"), "pytorch", tmp_path / "proj", check=False)
    got = run([sys.executable, "train.py", "--epochs", "1", "--json",
               "--save", str(tmp_path / "trained.npz")], tmp_path / "proj")
    (want,) = app_epochs("digits_mlp", epochs=1)
    assert abs(got[0]["train_loss"] - want.train_loss) <= 1e-8
    with np.load(tmp_path / "trained.npz") as trained:
        assert set(trained.files) == {"W1", "b1", "W2", "b2"}


def test_ddp_on_two_cpu_processes_matches_one_process_with_the_same_global_batch(tmp_path):
    require("torch")
    export(example("moons_mlp"), "pytorch", tmp_path / "proj", check=False)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    args = ["train.py", "--ddp", "--epochs", "2", "--batch-size", "32", "--json"]
    two = run([*torchrun, "--nproc_per_node", "2", *args], tmp_path / "proj")
    one = run([*torchrun, "--nproc_per_node", "1", *args], tmp_path / "proj")
    assert len(two) == len(one) == 2
    for a, b in zip(two, one, strict=True):
        assert abs(a["train_loss"] - b["train_loss"]) <= 1e-6
        assert abs(a["val_loss"] - b["val_loss"]) <= 1e-6
    assert two[-1]["train_loss"] < two[0]["train_loss"] + 0.05


def test_ddp_full_batch_of_a_summed_loss_matches_the_app(tmp_path):
    """digits_tutorial (½·Σ loss, full batch) on 2 processes: each takes half of the training
    part, and the loss is scaled by 2 so that DDP's average of the gradients is their sum."""
    require("torch")
    export(example("digits_tutorial"), "pytorch", tmp_path / "proj", check=False)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    two = run([*torchrun, "--nproc_per_node", "2", "train.py", "--ddp", "--epochs", "2",
               "--json"], tmp_path / "proj")
    want = app_epochs("digits_tutorial", epochs=2)
    for a, m in zip(two, want, strict=True):
        assert abs(a["train_loss"] - m.train_loss) <= 1e-6 * abs(m.train_loss)
    assert abs(two[-1]["test_loss"] - want[-1].test_loss) <= 1e-6 * abs(want[-1].test_loss)


def test_exporting_never_needs_torch(tmp_path):
    code = ("import sys\n"
            "class NoTorch:  # every import of torch fails, as where it is not installed\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'torch':\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            "from playground.graph import load\n"
            "from playground.interop import export\n"
            f"r = export(load({str(ROOT / 'resources/examples/moons_mlp.json')!r}), 'pytorch', "
            f"{str(tmp_path / 'p')!r})\n"
            "print(r.notes)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "torch is not installed" in result.stdout
    assert {p.name for p in (tmp_path / "p").iterdir()} == {
        "model.py", "train.py", "README.md", "weights.npz", "data.npz"}


def test_every_registry_op_has_a_torch_translation_reading_all_its_params():
    for spec in ops():
        if spec.is_source:
            continue
        assert spec.name in TORCH_OPS, f"op '{spec.name}' has no PyTorch translation"
        missing = {p.name for p in spec.params} - set(TORCH_OPS[spec.name].params)
        assert not missing, f"the PyTorch translation of '{spec.name}' ignores {missing}"


def test_composites_are_submodules(tmp_path):
    export(composite_digits(), "pytorch", tmp_path / "proj", check=False)
    text = (tmp_path / "proj" / "model.py").read_text()
    assert "class Hidden(nn.Module):" in text and "class Act(nn.Module):" in text
    assert "self.hidden = Hidden()" in text and "'hidden/W1': 'hidden.W1'" in text


def test_an_input_with_its_own_value_beside_the_data_becomes_a_buffer(tmp_path):
    """digits_mlp with the hidden pre-activation scaled by an input the data does not feed."""
    require("torch")
    model = example("digits_mlp")
    scale = model.add_node("input", "scale", {"shape": [], "value": 0.5})
    mul = model.add_node("mul", "scaled")
    z1, h1 = model.by_name("z1"), model.by_name("h1")
    model.disconnect(model.incoming(h1.id)["x"].id)
    model.connect(z1.id, mul.id, "a")
    model.connect(scale.id, mul.id, "b")
    model.connect(mul.id, h1.id, "x")
    model_vs_app(tmp_path, model, 1e-10)
    text = (tmp_path / "proj" / "model.py").read_text()
    assert "self.register_buffer('scale'" in text and "def forward(self, X, y=None):" in text
