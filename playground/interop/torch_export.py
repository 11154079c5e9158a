"""Write the PyTorch project (``--to pytorch DIR``): model.py, train.py, README.md, weights.npz
and data.npz. Only text and arrays are written; torch is never imported to write them. When
torch happens to be installed the export checks itself: the model's forward values and every
parameter's (and input's) gradient against the app's on sample inputs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..graph import COMPOSITE
from .common import ExportError, ExportReport, ancestors, data_arrays, max_difference
from .data_code import data_functions, data_settings
from .torch_model import ModelWriter
from .torch_train import README, TRAIN


def top_outputs(job: Any) -> tuple[list[str], str | None]:
    """Names of the top-level nodes forward returns, and the optional target input's name."""
    model = job.model
    out_id = model.output_node()
    names = [model.nodes[out_id].name]
    for nid in model.sinks():
        node = model.nodes[nid]
        role = "composite" if node.op == COMPOSITE else _role(node.op)
        if role != "loss" and node.name not in names:
            names.append(node.name)
        if role == "loss":
            pred = model.incoming(nid)[model.input_ports(node)[0]].src
            if model.nodes[pred].name not in names:
                names.append(model.nodes[pred].name)
    target = job.setup.binding.target if job.setup is not None else None
    if target is not None and target not in {n.name for n in model.nodes.values()}:
        target = None  # the target sits inside a composite: no optional argument then
    return names, target


def fixed_inputs(job: Any) -> frozenset[str]:
    """Top-level inputs a training run does not feed: they keep their own value."""
    if job.setup is None:
        return frozenset()
    bound = {job.setup.binding.features, job.setup.binding.target}
    return frozenset(n.name for n in job.model.nodes.values()
                     if n.op == "input" and n.name not in bound and n.params.get("value") is not None)


def _role(op: str) -> str:
    from ..engine import get_op

    return get_op(op).role


def settings(job: Any, writer: ModelWriter) -> str:
    s = job.setup
    c, b = s.config, s.binding
    nodes = job.program.nodes
    trainable = job.program.trainable
    used = ancestors(job.program, [job.program.output])
    unused = any(not used[i] for i in trainable)
    loss = nodes[job.program.output]
    frozen = [nodes[i].name for i in job.program.parameters if i not in trainable]
    lines = [
        "# from the graph's training settings in the app",
        f"EPOCHS = {c.epochs}", f"BATCH_SIZE = {c.batch_size}",
        f"FULL_BATCH = {c.full_batch}  # True: every step takes the whole training part, in order",
        f"LR = {c.lr!r}",
        f"OPTIMIZER = {c.optimizer!r}", f"L2 = {c.l2!r}", f"MOMENTUM = {c.momentum!r}",
        f"SEED = {c.seed}",
        f"TARGET_KIND = {b.target_kind!r}", f"N_CLASSES = {s.split.dataset.n_classes}",
        f"CLASSIFICATION = {s.split.dataset.task == 'classification'}",
        f"THRESHOLD = {b.threshold!r}",
        "# which arguments of Net.forward take the data, and which outputs matter",
        f"FEATURES = {writer.input_args[b.features]!r}", f"TARGET = {writer.input_args[b.target]!r}",
        f"LOSS = {nodes[job.program.output].name!r}", f"PREDICTION = {nodes[b.prediction].name!r}",
        f"UNUSED_PARAMETERS = {unused}  # a trainable parameter the loss does not use",
        (f"LOSS_SUMS = {loss.params.get('reduction', 'mean') != 'mean'}  # the loss adds its "
        "terms up (its reduction is not the mean)"),
    ]
    if frozen:
        lines.append(f"FROZEN = {frozen!r}  # not trained (trainable: false in the app)")
    return "\n".join([*lines, "", *data_settings(s)])


def describe_data(setup: Any) -> str:
    """The data in words, for the README."""
    s = setup.split
    parts = f"{len(s.y_train)} training, {len(s.y_val)} validation and {len(s.y_test)} test samples"
    source = setup.settings.source if setup.settings is not None else s.dataset.name
    what = "the example typed into the graph" if source == "typed" else f"the '{source}' data"
    extra = f"; inputs {', '.join(s.features)} derived from the raw points" if s.features else ""
    return f"{what} ({parts}{extra})"


def export_pytorch(job: Any, out: Path, check: bool, report: Any) -> ExportReport:
    from .api import tolerance, write_npz, write_text

    names, target = top_outputs(job)
    if job.setup is not None and job.program.nodes[job.setup.binding.prediction].name not in names:
        names.append(job.program.nodes[job.setup.binding.prediction].name)
    writer = ModelWriter(job.model, job.program, names, target, fixed_inputs(job))
    model_py = writer.text(job.title, job.program.dtype.name)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; a PyTorch project needs a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{out}: cannot make the folder ({exc.strerror or exc})") from None
    files = [out / "model.py", out / "weights.npz", out / "README.md"]
    write_text(out / "model.py", model_py)
    write_npz(out / "weights.npz", job.arrays)
    s = job.setup
    data = "no training data (the graph does not train: its output is not a loss, or it has "
    data += "no dataset)"
    if s is not None:
        write_text(out / "train.py", TRAIN.replace("{{SETTINGS}}", settings(job, writer))
                   .replace("{{DATA_FUNCTIONS}}", data_functions(s)))
        write_npz(out / "data.npz", data_arrays(s, job.program))
        files[2:2] = [out / "train.py", out / "data.npz"]
        data = describe_data(s)
    c = s.config if s else None
    readme = (README.replace("{{TITLE}}", job.title)
              .replace("{{DESCRIPTION}}", job.description)
              .replace("{{DATA}}", data)
              .replace("{{OPTIMIZER}}", c.optimizer if c else "—")
              .replace("{{LR}}", f"{c.lr:g}" if c else "—").replace("{{L2}}", f"{c.l2:g}" if c else "—")
              .replace("{{BATCH}}", ("the whole training part (full batch)" if c.full_batch
                                     else f"batch size {c.batch_size}") if c else "—")
              .replace("{{EPOCHS}}", str(c.epochs) if c else "—")
              .replace("{{SEED}}", str(c.seed) if c else "—"))
    write_text(out / "README.md", readme)
    result = ExportReport("pytorch", [str(f) for f in files], notes=[], tolerance=tolerance(job))
    if check:
        try:
            import torch  # noqa: F401 - only to learn whether the check can run
        except ImportError:
            result.notes = ["torch is not installed here: the export was not run"]
        else:
            report(0.6, "checking the PyTorch model against the app")
            result.max_difference = check_model(out, job, writer)
            result.checked_with = "torch forward and autograd gradients"
    report(1.0, "done")
    return result


def load_module(folder: Path, name: str = "model") -> Any:
    """Import ``folder/model.py`` as a fresh module (not cached under its bare name)."""
    spec = importlib.util.spec_from_file_location(f"_exported_{id(folder)}_{name}",
                                                  folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def run_model(folder: Path, job: Any, writer: ModelWriter) -> tuple[dict[str, Any], dict[str, Any]]:
    """Forward and backward of the exported model on the job's sample inputs: the outputs and
    the gradients (parameters and inputs) as NumPy arrays keyed by app name."""
    import torch

    module = load_module(folder)
    net = module.Net()
    module.load_weights(net, folder / "weights.npz")
    inputs = {name: torch.tensor(np.asarray(job.feeds[name]), requires_grad=True)
              for name in writer.input_args}
    out = net(**{writer.input_args[k]: v for k, v in inputs.items()})
    out_name = job.program.nodes[job.program.output].name
    seed = torch.ones_like(out[out_name])
    out[out_name].backward(seed)
    values = {k: v.detach().numpy() for k, v in out.items()}
    grads = {name: net.get_parameter(key).grad for name, key in module.PARAMETERS.items()}
    grads.update({k: v.grad for k, v in inputs.items()})
    return values, {k: (None if g is None else g.numpy()) for k, g in grads.items()}


def check_model(folder: Path, job: Any, writer: ModelWriter) -> float:
    program = job.program
    program.set_params(job.arrays)
    program.forward(dict(job.feeds))
    program.backward(all_grads=True)
    try:
        values, grads = run_model(folder, job, writer)
    except Exception as exc:  # noqa: BLE001 - a model that does not run is a bug here
        raise ExportError(f"the exported model fails on sample inputs: {type(exc).__name__}: "
                          f"{exc}") from None
    diffs = [max_difference(v, program.value(k)) for k, v in values.items()]
    frozen = {program.nodes[i].name for i in program.parameters if i not in program.trainable}
    for name, g in grads.items():
        if name in frozen:  # requires_grad=False, as the app trains it: no gradient at all
            diffs.append(0.0 if g is None else float("inf"))
            continue
        want = program.grad(name)
        if g is None or want is None:
            if (g is None) != (want is None or not np.any(want)):
                diffs.append(float("inf"))
            continue
        diffs.append(max_difference(g, want))
    return max(diffs, default=0.0)
