"""The data side of a run, without Qt: one set of helpers for the window, the CLI and the tests.

* :class:`DataSettings` — what a run trains on (a frozen dataclass of plain values).
* :func:`make_split` — settings → :class:`~.datasets.Split` (train / validation / test).
* :func:`feeds_for_sample` — the feeds that put sample *i* on the graph's data inputs.
* :func:`score` — loss and accuracy of a program on each part of a split.
* :func:`read_training` / :func:`training_meta` — the one place that reads and writes the
  graph file's ``meta.training`` (data settings and :class:`~.loop.TrainConfig`).
* :func:`set_fitting_params` — load the weights whose names and shapes fit a program.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Program
from .datasets import BUILTIN, TASKS, Dataset, DatasetError, Split, load_csv, load_dataset
from .features import parse_features
from .loop import Binding, TrainConfig, bind, encode_targets, evaluate
from .parts import split_parts, typed_dataset
from .settings import FIELD, SettingsError, validate_training

__all__ = ["TYPED", "DataSettings", "Score", "SettingsError", "blas_limits", "feeds_for_sample",
           "load_data", "make_split", "read_training", "score", "set_fitting_params",
           "training_meta"]

TYPED = "typed"  # the dataset name meaning "the values typed into the graph's inputs"


@dataclass(frozen=True)
class DataSettings:
    """What data a run uses. Exactly one of ``dataset`` and ``csv`` is set for a run.

    dataset: a built-in set (``digits``, ``moons``, ...) or ``"typed"`` (the graph's typed input
    values: one example or a small table). csv / label: a CSV file and its label column (name or
    0-based index; default the last). task: ``classification`` or ``regression``; None means the
    data's own (CSV: guessed; typed: classification under a cross-entropy loss). samples / noise:
    generated sets only. val_fraction / test_fraction: parts of the whole set; test_csv: a CSV
    file as the test part instead. features: derived inputs of a 2-D set, by name (``x1*x2``).
    """

    dataset: str | None = None
    csv: str | None = None
    label: str | int | None = None
    task: str | None = None
    samples: int | None = None
    noise: float | None = None
    val_fraction: float = 0.3
    test_fraction: float = 0.0
    test_csv: str | None = None
    seed: int = 0
    standardize: bool = True
    features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.dataset is not None and self.csv is not None:
            raise SettingsError("give a dataset or a CSV file, not both")
        if self.task is not None and self.task not in TASKS:
            raise SettingsError(f"task must be 'classification' or 'regression', not {self.task!r}")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not 0.0 <= float(value) <= 0.9:
                raise SettingsError(f"{name} must be a number from 0 to 0.9, not {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) \
                or self.seed < 0:
            raise SettingsError(f"seed must be a whole number >= 0, not {self.seed!r}")
        if not isinstance(self.standardize, bool):
            raise SettingsError(f"standardize must be true or false, not {self.standardize!r}")
        try:
            object.__setattr__(self, "features", parse_features(self.features))
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    def replace(self, **changes: Any) -> DataSettings:
        return dataclasses.replace(self, **changes)

    @property
    def source(self) -> str:
        """What the data is, for messages: the dataset name or the CSV file."""
        return self.csv if self.csv is not None else str(self.dataset)


# ---------------------------------------------------------------- data

def load_data(settings: DataSettings, program: Program | None = None, *,
              features: str | None = None, target: str | None = None) -> Dataset:
    """The whole dataset the settings name (before any split). ``program`` is needed for
    ``"typed"`` only; ``features``/``target`` name its data inputs (default: automatic)."""
    s = settings
    if s.csv is not None:
        return load_csv(s.csv, label=_csv_label(s), task=s.task)
    if s.dataset is None:
        raise SettingsError("no dataset: choose a dataset, a CSV file, or the typed values")
    if s.dataset == TYPED:
        if program is None:
            raise SettingsError("the typed values need the graph they are typed into")
        return typed_dataset(program, s.task, features, target)
    ds = load_dataset(s.dataset, n_samples=s.samples, noise=s.noise, seed=s.seed)
    if s.task is not None and s.task != ds.task:
        raise SettingsError(f"'{ds.name}' is a {ds.task} dataset, not {s.task}")
    return ds


def make_split(settings: DataSettings, program: Program | None = None, *,
               features: str | None = None, target: str | None = None) -> Split:
    """Train / validation / test parts as the settings say (see
    :func:`~.parts.split_parts`); the validation and test parts may be empty."""
    ds = load_data(settings, program, features=features, target=target)
    test = None
    if settings.test_csv is not None:  # its label column is named as the training file's
        test = load_csv(settings.test_csv, label=_csv_label(settings), task=ds.task,
                        min_classes=1)
    return split_parts(ds, settings.val_fraction, settings.seed, settings.standardize,
                       test_fraction=settings.test_fraction, features=settings.features,
                       test=test)


def _csv_label(settings: DataSettings) -> str | int | None:
    label = settings.label
    return int(label) if isinstance(label, str) and label.isdigit() else label


def _as_split(data: Split | Dataset) -> Split:
    if isinstance(data, Split):
        return data
    index = np.arange(data.n_samples, dtype=np.int64)
    return Split(data.X, data.y, data.X[:0], data.y[:0], data, None, None, index, index[:0])


def feeds_for_sample(program: Program, data: Split | Dataset, i: int, *,
                     features: str | None = None, target: str | None = None,
                     ) -> dict[str, np.ndarray]:
    """Feeds (input name → a batch of one) that put sample ``i`` of the dataset on the graph's
    feature and label inputs. ``i`` counts the samples of ``data.dataset`` (or ``data``) in
    their own order, whatever part it fell in; a split prepares it as it prepared its parts
    (derived features, standardisation), a bare dataset gives the raw values."""
    split = _as_split(data)
    ds = split.dataset
    if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < ds.n_samples:
        raise DatasetError(f"sample {i!r} is not in '{ds.name}' (samples 0 to "
                           f"{ds.n_samples - 1})")
    b = bind(program, split, features, target)
    return {b.features: split.transform(ds.X[i: i + 1]),
            b.target: encode_targets(ds.y[i: i + 1], b, ds.n_classes, np.float64)}


# ---------------------------------------------------------------- scores

@dataclass(frozen=True)
class Score:
    """Loss (as the graph's loss reduces it) and accuracy (classification) on one part."""

    samples: int
    loss: float
    accuracy: float | None


PARTS = ("train", "validation", "test")


def score(program: Program, split: Split, binding: Binding | None = None
          ) -> dict[str, Score | None]:
    """:class:`Score` of ``program`` with its current weights on each part of ``split``
    (``train``, ``validation``, ``test``); None for an empty part."""
    b = binding or bind(program, split)
    dt, k = program.dtype, split.dataset.n_classes
    out: dict[str, Score | None] = {}
    for part, X, y in zip(PARTS, (split.X_train, split.X_val, split.X_test),
                          (split.y_train, split.y_val, split.y_test), strict=True):
        if len(X) == 0:
            out[part] = None
            continue
        loss, acc = evaluate(program, b, np.ascontiguousarray(X, dtype=dt),
                             encode_targets(y, b, k, dt), y)
        assert loss is not None
        out[part] = Score(len(X), loss, acc)
    return out


SMALL_MODEL_PARAMS = 200_000  # below this many parameter elements, one BLAS thread is faster


def blas_limits(program: Program) -> contextlib.AbstractContextManager[Any]:
    """One BLAS thread while running a small model (a second thread gains nothing at these
    sizes and, on a busy machine, costs up to 10×); larger models keep them all."""
    size = sum(int(a.size) for a in program.param_arrays(trainable_only=False).values()
               if a is not None)
    if size >= SMALL_MODEL_PARAMS:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def set_fitting_params(program: Program, arrays: Mapping[str, Any]) -> list[str]:
    """Load the arrays whose names and shapes fit ``program`` (copies); return their names."""
    current = program.param_arrays(trainable_only=False)
    fitting = {k: v for k, v in arrays.items()
               if k in current and current[k] is not None and np.shape(v) == current[k].shape}
    if fitting:
        program.set_params(fitting, strict=False)
    return sorted(fitting)


# ---------------------------------------------------------------- meta.training
# Every key of a graph file's meta.training is a field of the one validation table
# (settings.FIELDS); these name which of them are data settings and which run settings.
DATA_KEYS = ("dataset", "csv", "label", "task", "samples", "noise", "val_fraction",
             "test_fraction", "test_csv", "seed", "standardize", "features")
TRAIN_KEYS = ("epochs", "batch_size", "full_batch", "lr", "optimizer", "momentum", "l2")


@dataclass(frozen=True)
class TrainingRead:
    """What a graph file's ``meta.training`` (with overrides on top) asks for: the data settings,
    the run settings, and one line per value that was refused (each replaced by its default)."""

    data: DataSettings
    config: TrainConfig
    problems: tuple[str, ...] = ()


def check_training(training: Any, *, where: str = "meta.training.",
                   used: Collection[str] | None = None, **overrides: Any) -> TrainingRead:
    """Read ``meta.training`` through the validation table, with ``overrides`` (the same keys,
    e.g. command-line flags; None means "not given") on top. Never raises for a bad value: it
    is named in ``problems`` (those of fields outside ``used`` are left out) and its default
    used; a flag given overrides a bad file value. Unknown keys are ignored."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if isinstance(given.get("features"), str):  # "x1,x2,x1*x2" from a command line
        given["features"] = [f.strip() for f in given["features"].split(",") if f.strip()]
    unknown = set(given) - set(DATA_KEYS) - set(TRAIN_KEYS) - {"reinit", "max_steps"}
    if unknown:
        raise SettingsError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
    from_file, file_errors = validate_training(training, where=where)
    from_flags, flag_errors = validate_training(
        {k: v for k, v in given.items() if k in FIELD}, flags=True)
    problems = [str(e) for e in flag_errors]
    for e in file_errors:
        if e.field not in given and (used is None or e.field in used):
            problems.append(str(e))
    merged = from_file.merged(from_flags)
    values = {k: merged[k] for k in DATA_KEYS}
    if "dataset" in given or "csv" in given:  # the data given replaces the file's
        for key in ("dataset", "csv", "label", "task", "samples", "noise"):
            if key not in given:
                values[key] = FIELD[key].default
    if values["csv"] is not None:
        values["dataset"] = None  # an explicit CSV file wins over the file's dataset
    if values["dataset"] is not None:
        values["dataset"] = str(values["dataset"]).strip().lower()
        if values["dataset"] not in BUILTIN and values["dataset"] != TYPED:
            problems.append(f"{where}dataset: unknown dataset {values['dataset']!r} (known: "
                            f"{', '.join(BUILTIN)}, {TYPED})")
            values["dataset"] = None
    try:
        data = DataSettings(**values)
    except SettingsError as exc:  # features that are not feature names, say
        problems.append(str(exc))
        data = DataSettings(**{**values, "features": ()})
    run = {k: merged[k] for k in TRAIN_KEYS}
    config = TrainConfig(seed=data.seed, reinit=given.get("reinit", True),
                         max_steps=given.get("max_steps"), **run)
    return TrainingRead(data, config, tuple(problems))


def read_training(training: Mapping[str, Any] | None, **overrides: Any
                  ) -> tuple[DataSettings, TrainConfig]:
    """The data settings and training config a graph file's ``meta.training`` asks for, with
    ``overrides`` on top; raises :class:`SettingsError` (one line per refused value)."""
    read = check_training(training, **overrides)
    if read.problems:
        raise SettingsError(read.problems)
    return read.data, read.config


def training_meta(data: DataSettings, config: TrainConfig) -> dict[str, Any]:
    """``meta.training`` for these settings (what :func:`read_training` reads back). Settings
    at their defaults that older files never had are left out."""
    out: dict[str, Any] = {}
    for key in ("dataset", "csv", "label", "task", "samples", "noise", "test_csv"):
        value = getattr(data, key)
        if value is not None:
            out[key] = value
    out.update(val_fraction=data.val_fraction, seed=data.seed, standardize=data.standardize)
    if data.test_fraction:
        out["test_fraction"] = data.test_fraction
    if data.features:
        out["features"] = list(data.features)
    out.update(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
               optimizer=config.optimizer, l2=config.l2)
    if config.optimizer == "momentum":
        out["momentum"] = config.momentum
    if config.full_batch:
        out["full_batch"] = True
    return out
