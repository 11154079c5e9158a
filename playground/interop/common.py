"""What every exporter shares: typed errors, the compiled program with its outputs, Python names,
the starting weights and the training setup (data split, settings, binding) the app would use.

Every exporter reads the *compiled* program (composites inlined, names ``outer/inner``), so the
code it writes computes exactly what the engine computes, in the engine's order.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import EngineError, Program, ProgramNode
from ..graph import GraphModel, compile_graph
from ..training import Binding, TrainConfig, Trainer, TrainingError
from ..training.datasets import DatasetError, Split
from ..training.workbench import DataSettings, SettingsError, make_split, read_training


class InteropError(Exception):
    """Base class: an export or import was refused; the message is one line a person can act on."""


class ExportError(InteropError):
    """The graph cannot be written in the chosen format; ``node``/``op`` name the culprit."""

    def __init__(self, message: str, node: str | None = None, op: str | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.op = op


PARITY_TOLERANCE = {"float64": 1e-9, "float32": 1e-4}


def unsupported(node: ProgramNode, target: str) -> ExportError:
    return ExportError(f"node '{node.name}' uses op '{node.op}', which the {target} export "
                       "cannot express yet", node.name, node.op)


def compile_for_export(model: GraphModel, dtype: str | None = None) -> Program:
    try:
        return compile_graph(model, dtype=dtype)
    except EngineError as exc:
        raise ExportError(f"the graph cannot be exported: {exc}") from None


# ---------------------------------------------------------------- outputs

def ancestors(program: Program, targets: Sequence[int]) -> list[bool]:
    reach = [False] * len(program.nodes)
    for t in targets:
        reach[t] = True
    for i in range(len(program.nodes) - 1, -1, -1):
        if reach[i]:
            for j in program.nodes[i].inputs:
                reach[j] = True
    return reach


def inference_outputs(program: Program) -> list[int]:
    """What a model *predicts*: every sink that is not a loss, plus each loss's prediction when no
    such sink depends on it (sine_regression: ``z2``; digits: ``probs``, which depends on ``z2``)."""
    nodes = program.nodes
    used = {j for n in nodes for j in n.inputs}
    sinks = [i for i, n in enumerate(nodes) if i not in used and not n.spec.is_source]
    outs = [i for i in sinks if nodes[i].spec.role != "loss"]
    for i in sinks:
        if nodes[i].spec.role == "loss":
            pred = nodes[i].inputs[0]
            if pred not in outs and not ancestors(program, outs)[pred]:
                outs.append(pred)
    if not outs and program.output not in outs:
        outs.append(program.output)
    return outs


def loss_nodes(program: Program) -> list[int]:
    return [i for i, n in enumerate(program.nodes) if n.spec.role == "loss"]


# ---------------------------------------------------------------- names

def identifier(name: str, taken: set[str], reserved: frozenset[str] = frozenset()) -> str:
    """A Python identifier for a node name (``layer/W`` → ``layer_W``), unique among ``taken``."""
    base = re.sub(r"\W", "_", name)
    if not base or base[0].isdigit():
        base = "v_" + base
    if keyword.iskeyword(base) or base in reserved:
        base += "_"
    out, k = base, 1
    while out in taken:
        k += 1
        out = f"{base}_{k}"
    taken.add(out)
    return out


def python_names(program: Program, reserved: frozenset[str] = frozenset()) -> list[str]:
    taken: set[str] = set()
    return [identifier(n.name, taken, reserved) for n in program.nodes]


# ---------------------------------------------------------------- weights and training setup

def to_arrays(program: Program, weights: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """The parameter arrays to export by node name: ``weights`` where given (shapes checked), else
    the program's own. Copies, in the program's dtype."""
    out = {k: np.array(v, dtype=program.dtype) for k, v in program.param_arrays(False).items()}
    for key, arr in (weights or {}).items():
        if key not in out:
            continue  # like restore_params: weights of nodes no longer in the graph are ignored
        arr = np.asarray(arr, dtype=program.dtype)
        if arr.shape != out[key].shape:
            raise ExportError(f"the weights for '{key}' have shape {arr.shape}, the graph needs "
                              f"{out[key].shape}", key, "parameter")
        out[key] = arr.copy()
    return out


@dataclass(frozen=True)
class Setup:
    """What a training export reproduces: the split, the settings and which inputs take the data.
    ``trainer`` is the app's own Trainer built from them (its weights are the starting point);
    ``settings`` are the data settings the split was made from (None: a ready split was given).
    """

    split: Split
    config: TrainConfig
    binding: Binding
    trainer: Trainer
    settings: DataSettings | None = None


def read_meta(model: GraphModel) -> tuple[DataSettings, TrainConfig]:
    """The data settings and training config of the graph's ``meta.training``, read by the
    workbench (the one reader of that key), as the CLI's ``train`` reads them."""
    try:
        return read_training(model.meta.get("training"))
    except (SettingsError, TypeError, ValueError) as exc:
        raise ExportError(f"the graph's training settings are not usable: {exc}") from None


def trains(program: Program) -> bool:
    """Whether the program can train: its output is a loss."""
    return program.nodes[program.output].spec.role == "loss"


def split_for(program: Program, settings: DataSettings) -> Split | None:
    """The workbench's split for ``settings`` (None when they name no data, or the graph does
    not train, so that a graph without a loss still exports)."""
    if not trains(program) or (settings.dataset is None and settings.csv is None):
        return None
    try:
        return make_split(settings, program)
    except DatasetError as exc:
        raise ExportError(f"the graph's data cannot be loaded: {exc}") from None


def make_setup(program: Program, data: Split | None, config: TrainConfig,
               settings: DataSettings | None = None) -> Setup | None:
    """The app's Trainer for this program and data, or None when the graph cannot train on it
    (no data, or its output is not a loss). Building it initialises the weights from the seed
    exactly as a run in the app does."""
    if data is None or not trains(program):
        return None
    try:
        trainer = Trainer(program, data, config)
    except TrainingError as exc:
        raise ExportError(f"the graph cannot be trained on its data: {exc}") from None
    return Setup(data, config, trainer.binding, trainer, settings)


def data_arrays(setup: Setup, program: Program) -> dict[str, np.ndarray]:
    """The split's parts in the data's own columns (before derived features and
    standardisation) plus the labels: what the exported code turns into the network's inputs
    exactly as the workbench does. Rows come from the split's own indices; a test part read
    from a separate file is read again by the workbench, unstandardised."""
    s = setup.split
    ds = s.dataset
    X_test = ds.X[s.test_index]
    if len(s.test_index) != len(s.y_test):  # the test part is a file of its own
        if setup.settings is None:
            raise ExportError("the test part comes from a separate file: export with the data "
                              "settings (settings=DataSettings(...)) rather than a ready split")
        try:
            raw = make_split(setup.settings.replace(standardize=False, features=()), program)
        except DatasetError as exc:
            raise ExportError(f"the test file cannot be read again: {exc}") from None
        if len(raw.X_test) != len(s.X_test):
            raise ExportError("the test file changed while exporting; export again")
        X_test = raw.X_test
    return {
        "X_train": np.array(ds.X[s.train_index]), "y_train": np.array(s.y_train),
        "X_val": np.array(ds.X[s.val_index]), "y_val": np.array(s.y_val),
        "X_test": np.array(X_test), "y_test": np.array(s.y_test),
    }


# ---------------------------------------------------------------- sample inputs

def sample_feeds(program: Program, batch: int = 5, seed: int = 0,
                 data: Split | None = None) -> dict[str, np.ndarray]:
    """Inputs for a parity check: each input's own value, else rows of ``data`` (features and
    targets encoded as training encodes them), else seeded numbers that suit the port they feed
    (class labels for a cross-entropy target, 0/1 for a binary one)."""
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    bound: dict[str, np.ndarray] = {}
    if data is not None and trains(program):
        from ..training import bind
        from ..training.loop import encode_targets

        try:
            b = bind(program, data)
            n = min(batch, data.X_train.shape[0])
            bound[b.features] = data.X_train[:n]
            bound[b.target] = encode_targets(data.y_train[:n], b, data.dataset.n_classes,
                                             program.dtype)
        except TrainingError:
            bound = {}
    consumers: dict[int, list[tuple[ProgramNode, int]]] = {}
    for node in program.nodes:
        for port, j in enumerate(node.inputs):
            consumers.setdefault(j, []).append((node, port))
    for i in program.inputs:
        node = program.nodes[i]
        if node.name in bound:
            feeds[node.name] = np.asarray(bound[node.name], dtype=program.dtype)
            continue
        if node.params.get("value") is not None:
            feeds[node.name] = np.asarray(node.params["value"], dtype=program.dtype)
            continue
        shape = tuple(batch if d is None else d for d in node.shape)
        value: np.ndarray = rng.standard_normal(shape)
        for user, port in consumers.get(i, []):
            if user.op == "softmax_cross_entropy" and port == 1:
                classes = program.nodes[user.inputs[0]].shape[-1] or 2
                labels = rng.integers(0, classes, size=shape[0])
                value = labels if len(shape) == 1 else np.eye(classes)[labels]
            elif user.op == "binary_cross_entropy" and port == 1:
                value = rng.integers(0, 2, size=shape)
        feeds[node.name] = np.asarray(value, dtype=program.dtype)
    return feeds


def max_difference(a: Any, b: Any) -> float:
    """Largest |a − b| (NaN where exactly one side is NaN counts as infinite)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if np.any(nan_a != nan_b):
        return float("inf")
    ok = ~nan_a
    return float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))


# ---------------------------------------------------------------- what an export reports

@dataclass
class ExportReport:
    """What an export wrote and how well it matches the app. ``max_difference`` is the largest
    difference between the exported model's numbers and the app's on sample inputs (None when
    no check could run; ``checked_with`` says what ran it, ``notes`` why not)."""

    format: str
    files: list[str]
    max_difference: float | None = None
    checked_with: str = ""
    notes: list[str] | None = None
    tolerance: float = 1e-9

    @property
    def ok(self) -> bool:
        """False only when a check ran and found a difference over the tolerance."""
        return self.max_difference is None or self.max_difference <= self.tolerance

    def summary(self) -> str:
        lines = [f"exported {self.format}: " + ", ".join(self.files)]
        if self.max_difference is not None:
            verdict = "ok" if self.ok else f"OVER the tolerance {self.tolerance:g}"
            lines.append(f"parity with the app ({self.checked_with}): largest difference "
                         f"{self.max_difference:.3g} ({verdict})")
        lines += list(self.notes or [])
        return "\n".join(lines)
