"""The training loop as a plain generator of frozen metric records."""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import MemoryBudgetError, NonFiniteError, Program
from ..engine.memory import check_program_memory
from .datasets import Split, minibatches
from .optim import make_optimizer, norm
from .settings import FIELD, config_errors, show


class TrainingError(Exception):
    """Training cannot start or had to stop; ``node`` names the graph node at fault, if any."""

    def __init__(self, message: str, node: str | None = None, step: int | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.step = step


class DivergenceError(TrainingError):
    """The loss exploded although every value stayed finite."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.9
    l2: float = 0.0
    seed: int = 0
    reinit: bool = True  # initialise the weights from ``seed`` before the first step
    full_batch: bool = False  # every step on the whole training part (``batch_size`` ignored)
    divergence_factor: float = 1e4  # stop when the loss exceeds this × the first loss
    max_steps: int | None = None


class PerParam(Mapping[str, float]):
    """One number per trainable parameter, read-only: the run's names tuple (shared by every
    record) and this step's values (``row``). The window keeps each step's record until it
    shows it, so a record stays small: no dict of its own."""

    __slots__ = ("names", "row")

    def __init__(self, names: tuple[str, ...], values: Sequence[float]) -> None:
        if len(names) != len(values):
            raise ValueError(f"{len(names)} names for {len(values)} values")
        self.names, self.row = names, tuple(values)

    def __getitem__(self, key: str) -> float:
        try:
            return self.row[self.names.index(key)]
        except ValueError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, key: object) -> bool:
        return key in self.names

    def __repr__(self) -> str:
        return repr(dict(zip(self.names, self.row, strict=True)))


@dataclass(frozen=True, slots=True)
class Metrics:
    step: int  # 1-based count of minibatch updates
    epoch: int  # 1-based epoch the step belongs to
    batch_loss: float
    lr: float
    elapsed: float
    grad_norms: Mapping[str, float]
    update_ratios: Mapping[str, float]
    epoch_end: bool = False
    steps_per_epoch: int = 0
    train_loss: float | None = None  # epoch-end only: loss on the whole training part
    val_loss: float | None = None
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    test_loss: float | None = None  # the run's last record only, when there is a test part
    test_accuracy: float | None = None


@dataclass(frozen=True)
class Binding:
    """Which program nodes the data feeds and which one is the prediction."""

    features: str
    target: str
    prediction: int
    loss: int
    target_kind: str  # "labels" (N,), "onehot" (N, C), "column" (N, 1) or "values"
    task: str
    threshold: float = 0.5


def bind(program: Program, split: Split, features: str | None = None,
         target: str | None = None) -> Binding:
    """Map data to input nodes by shape (the loss's target port takes the labels)."""
    out = program.nodes[program.output]
    if out.spec.role != "loss":
        raise TrainingError(f"the output '{out.name}' is not a loss: training needs a loss node "
                            "(e.g. softmax CE loss or MSE loss) as the graph's output")
    pred_i, target_i = out.inputs
    tnode = program.nodes[target_i]
    if target is None:
        if tnode.spec.role != "input":
            raise TrainingError(f"the target of '{out.name}' must come from an input node, "
                                f"not '{tnode.name}'", out.name)
        target = tnode.name
    ds = split.dataset
    width = split.n_inputs  # the dataset's features, or the derived ones (x1·x2, ...)
    candidates = [program.nodes[i] for i in program.inputs if program.nodes[i].name != target]
    if features is None:
        fitting = [n for n in candidates if n.shape and n.shape[-1] == width]
        if len(fitting) != 1:
            sizes = ", ".join(f"'{n.name}' {n.shape}" for n in candidates) or "none"
            raise TrainingError(
                f"cannot tell which input takes the {width} features of '{ds.name}' "
                f"(inputs: {sizes}); give the feature input shape (N, {width})")
        features = fitting[0].name
    fnode = program.nodes[program.index[features]]
    if not fnode.shape or fnode.shape[-1] != width:
        raise TrainingError(f"input '{features}' takes shape {fnode.shape}, but '{ds.name}' has "
                            f"{width} features per sample", features)
    tshape = program.nodes[program.index[target]].shape
    if ds.task == "classification":
        if len(tshape) == 1:
            kind = "labels"
        elif len(tshape) == 2 and tshape[1] == 1:
            kind = "column"
            if ds.n_classes > 2:
                raise TrainingError(f"'{ds.name}' has {ds.n_classes} classes; a one-column target "
                                    "fits only two", target)
        elif len(tshape) == 2 and tshape[1] == ds.n_classes:
            kind = "onehot"
        else:
            raise TrainingError(f"target '{target}' has shape {tshape}; '{ds.name}' needs (N,) labels "
                                f"or (N, {ds.n_classes}) one-hot", target)
    else:
        kind = "values"
    loss_op = out.op
    threshold = 0.0 if out.params.get("input") == "logits" else 0.5
    if loss_op == "softmax_cross_entropy" and kind == "column":
        raise TrainingError("softmax cross-entropy needs labels (N,) or one-hot targets", target)
    _check_classes(program, pred_i, out.name, loss_op, ds)
    return Binding(features, target, pred_i, program.output, kind, ds.task, threshold)


def _check_classes(program: Program, pred_i: int, loss: str, loss_op: str, ds: Any) -> None:
    """The data's classes against what the loss can tell apart, both numbers in the message."""
    pred = program.nodes[pred_i]
    if ds.task != "classification":
        if loss_op == "softmax_cross_entropy":
            raise TrainingError(
                f"'{loss}' (softmax cross-entropy) needs class labels, but '{ds.name}' is a "
                "regression dataset (its targets are numbers to predict); load it as "
                "classification, or use an MSE loss", loss)
        if loss_op == "binary_cross_entropy" and ds.y.size and not (
                0.0 <= float(ds.y.min()) and float(ds.y.max()) <= 1.0):
            raise TrainingError(
                f"'{loss}' (binary cross-entropy) needs targets from 0 to 1, but '{ds.name}' has "
                f"targets from {float(ds.y.min()):g} to {float(ds.y.max()):g}", loss)
        return
    k = ds.n_classes
    if loss_op == "softmax_cross_entropy":
        width = pred.shape[-1] if pred.shape else None
        if isinstance(width, int) and width != k:
            raise TrainingError(
                f"'{ds.name}' has {k} classes but '{pred.name}' gives {width} scores per sample; "
                f"the graph's output must be {k} wide (one score per class)", pred.name)
    elif loss_op == "binary_cross_entropy" and k != 2:
        raise TrainingError(
            f"'{loss}' (binary cross-entropy) tells 2 classes apart, but '{ds.name}' has {k}; "
            f"use softmax cross-entropy with {k} outputs", loss)


def encode_targets(y: np.ndarray, binding: Binding, n_classes: int, dtype: Any) -> np.ndarray:
    if binding.target_kind == "labels":
        return y.astype(dtype)
    if binding.target_kind == "column":
        return y.reshape(-1, 1).astype(dtype)
    if binding.target_kind == "onehot":
        out = np.zeros((y.shape[0], n_classes), dtype=dtype)
        out[np.arange(y.shape[0]), y.astype(np.intp)] = 1
        return out
    return y.reshape(y.shape[0], math.prod(y.shape[1:])).astype(dtype)  # (0, k) when empty


def predict_classes(pred: np.ndarray, binding: Binding) -> np.ndarray:
    if pred.ndim == 2 and pred.shape[1] > 1:
        return pred.argmax(axis=1)
    return (pred.reshape(-1) > binding.threshold).astype(np.int64)


def evaluate(program: Program, binding: Binding, X: np.ndarray, T: np.ndarray,
             y: np.ndarray) -> tuple[float | None, float | None]:
    """Loss and accuracy (classification) of ``program`` on a whole set, X and T already in
    the program's dtype (``encode_targets``); (None, None) when the set is empty."""
    if X.shape[0] == 0:
        return None, None
    program.set_input(binding.features, X)
    program.set_input(binding.target, T)
    loss = float(program.forward())
    acc = None
    if binding.task == "classification":
        pred = program.values[binding.prediction]
        acc = float(np.mean(predict_classes(pred, binding) == y))  # type: ignore[arg-type]
    return loss, acc


def seed_rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The two independent generators a run with ``seed`` uses: one initialises the weights
    (when ``TrainConfig.reinit``), the other shuffles the minibatches. A caller that initialises
    the weights itself (to keep a copy of them, say) draws them from the first and gets exactly
    what the trainer would have drawn; the data order depends only on the second."""
    init, shuffle = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(init), np.random.default_rng(shuffle)


class Trainer:
    """Holds the run's state; :meth:`steps` is the generator. ``lr`` may change between steps."""

    def __init__(self, program: Program, split: Split, config: TrainConfig,
                 binding: Binding | None = None) -> None:
        self.program = program
        self.split = split
        self.config = config
        self.binding = binding or bind(program, split)
        refused = config_errors(config)
        if refused:
            raise TrainingError("; ".join(str(e) for e in refused))
        if config.epochs < 1 or (config.batch_size < 1 and not config.full_batch):
            raise TrainingError("epochs and batch size must be at least 1")
        if split.X_train.shape[0] == 0:
            raise TrainingError("the training part has no samples: lower the validation and "
                                "test fractions, or use more data")
        self.init_rng, self.shuffle_rng = seed_rngs(config.seed)
        if config.reinit:
            program.init_params(self.init_rng)
        try:
            self.optimizer = make_optimizer(config.optimizer, config.lr, config.l2, config.momentum)
        except ValueError as exc:
            raise TrainingError(str(exc)) from None
        dt = program.dtype
        # the epoch-end evaluation runs the whole training (or validation) part as one batch
        largest = max(len(split.X_train), len(split.X_val), 1)
        try:
            check_program_memory(program.nodes, dt, batch=largest)
        except MemoryBudgetError as exc:
            raise TrainingError(str(exc), exc.what or None) from None
        n_classes = split.dataset.n_classes
        self.X_train = np.ascontiguousarray(split.X_train, dtype=dt)
        self.T_train = encode_targets(split.y_train, self.binding, n_classes, dt)
        self.X_val = np.ascontiguousarray(split.X_val, dtype=dt)
        self.T_val = encode_targets(split.y_val, self.binding, n_classes, dt)
        self.X_test = np.ascontiguousarray(split.X_test, dtype=dt)
        self.T_test = encode_targets(split.y_test, self.binding, n_classes, dt)
        self.step_count = 0
        # time the caller spent paused between steps (a GUI's Pause): left out of ``elapsed``,
        # which is the run's own time
        self.paused_seconds = 0.0
        self.first_loss: float | None = None
        self.last_batch: np.ndarray | None = None  # training rows of the last step
        self._plan: tuple[int, list[np.ndarray]] | None = None  # (epoch, its minibatches)
        self._cursor = (1, -1)  # (epoch, batch number in it) of the last step

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        try:
            self.optimizer.lr = FIELD["lr"].check(value)
        except (ValueError, TypeError):
            raise TrainingError(f"the learning rate must be {FIELD['lr'].allowed()}; "
                                f"got {show(value)}") from None

    def evaluate(self, X: np.ndarray, T: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
        """Loss and accuracy (classification) on a whole set; (None, None) when it is empty."""
        return evaluate(self.program, self.binding, X, T, y)

    def _batches(self, epoch: int) -> list[np.ndarray]:
        """The minibatches (training row indices) of ``epoch``, drawn once, in order."""
        plan = self._plan
        if plan is None or plan[0] != epoch:
            cfg = self.config
            n = self.X_train.shape[0]
            size = n if cfg.full_batch else cfg.batch_size
            plan = self._plan = (epoch, list(minibatches(n, size, self.shuffle_rng,
                                                         not cfg.full_batch)))
        return plan[1]

    def next_batch(self) -> np.ndarray | None:
        """The training rows the next step will use (None when no step is left). Asking does
        not change the data order: an epoch's order is drawn once, whoever asks first."""
        cfg = self.config
        if cfg.max_steps is not None and self.step_count >= cfg.max_steps:
            return None
        epoch, k = self._cursor
        batches = self._batches(epoch)
        if k + 1 < len(batches):
            return batches[k + 1]
        return self._batches(epoch + 1)[0] if epoch < cfg.epochs else None

    def steps(self) -> Generator[Metrics, None, None]:
        p, b, cfg = self.program, self.binding, self.config
        params = [p.values[i] for i in p.trainable]
        names = tuple(p.nodes[i].name for i in p.trainable)
        grad_idx = p.trainable
        n = self.X_train.shape[0]
        batch_size = n if cfg.full_batch else cfg.batch_size
        steps_per_epoch = max(1, math.ceil(n / batch_size))
        start = time.perf_counter()
        self.paused_seconds = 0.0  # (a pause before the first step is before the start)
        fkey, tkey = b.features, b.target
        for epoch in range(1, cfg.epochs + 1):
            batches = self._batches(epoch)
            for k, idx in enumerate(batches):
                self.step_count += 1
                step = self.step_count
                self.last_batch, self._cursor = idx, (epoch, k)
                p.set_input(fkey, self.X_train[idx])
                p.set_input(tkey, self.T_train[idx])
                loss = float(p.forward(all_values=False))  # display-only nodes wait for evaluate()
                if not math.isfinite(loss):
                    self._non_finite("forward", step)
                self._check_divergence(loss, step)
                p.backward(all_grads=False)
                grads = [p.grads[i] for i in grad_idx]
                gnorms = [norm(g) for g in grads]  # type: ignore[arg-type]
                if not all(math.isfinite(g) for g in gnorms):
                    self._non_finite("backward", step)
                wnorms = [norm(w) for w in params]  # type: ignore[arg-type]
                deltas = self.optimizer.step(params, grads, gnorms)  # type: ignore[arg-type]
                if not all(math.isfinite(d) for d in deltas):
                    bad = names[next(j for j, d in enumerate(deltas) if not math.isfinite(d))]
                    raise TrainingError(f"the update of '{bad}' is not finite at step {step}; "
                                        "lower the learning rate", bad, step)
                self._last_ratios = [d / w if w > 0 else math.inf for d, w in zip(deltas, wnorms)]
                last = k == len(batches) - 1
                record = {
                    "step": step, "epoch": epoch, "batch_loss": loss, "lr": self.optimizer.lr,
                    "elapsed": time.perf_counter() - start - self.paused_seconds,
                    "grad_norms": PerParam(names, gnorms),
                    "update_ratios": PerParam(names, self._last_ratios),
                    "epoch_end": last, "steps_per_epoch": steps_per_epoch,
                }
                if last:
                    tl, ta = self.evaluate(self.X_train, self.T_train, self.split.y_train)
                    vl, va = self.evaluate(self.X_val, self.T_val, self.split.y_val)
                    record.update(train_loss=tl, train_accuracy=ta, val_loss=vl, val_accuracy=va)
                    if tl is not None and not math.isfinite(tl):
                        self._non_finite("forward", step)
                final = (last and epoch == cfg.epochs) or step == cfg.max_steps
                if final and self.X_test.shape[0]:
                    sl, sa = self.evaluate(self.X_test, self.T_test, self.split.y_test)
                    record.update(test_loss=sl, test_accuracy=sa)
                yield Metrics(**record)
                if cfg.max_steps is not None and step >= cfg.max_steps:
                    return

    def _non_finite(self, phase: str, step: int) -> None:
        try:
            self.program.raise_non_finite(phase, step)
        except NonFiniteError as exc:
            raise TrainingError(str(exc), exc.node, step) from exc
        raise TrainingError(f"the loss is not finite at step {step}", None, step)

    def _check_divergence(self, loss: float, step: int) -> None:
        if self.first_loss is None:
            self.first_loss = loss
            return
        limit = self.config.divergence_factor * max(abs(self.first_loss), 1e-3)
        if loss <= limit:
            return
        ratios = getattr(self, "_last_ratios", [])
        names = [self.program.nodes[i].name for i in self.program.trainable]
        culprit = names[int(np.argmax(ratios))] if ratios else None
        worst = f"; the largest update came from '{culprit}'" if culprit else ""
        raise DivergenceError(
            f"training diverged at step {step}: the loss {loss:.3g} is "
            f"{loss / max(abs(self.first_loss), 1e-12):.3g}× the first loss{worst}. "
            f"Lower the learning rate (now {self.optimizer.lr:g}).", culprit, step)


def train(program: Program, split: Split, config: TrainConfig,
          binding: Binding | None = None) -> Iterator[Metrics]:
    """Run ``config.epochs`` epochs, yielding one :class:`Metrics` per minibatch step."""
    return Trainer(program, split, config, binding).steps()
