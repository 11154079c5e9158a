"""Where a run's samples come from besides the built-in sets and CSV files, and how they are
parted: the graph's typed input values as a dataset, and train/validation/test splits with
derived features (x1·x2, sin x1, ...) and an optional test file. NumPy only; no Qt.

:func:`playground.training.workbench.make_split` is the one entry point that uses these.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ..engine import Program
from ..engine.registry import losses
from .datasets import TASKS, Dataset, DatasetError, Split, split
from .features import expand_features, feature_labels, parse_features

__all__ = ["CLASSIFICATION_LOSSES", "align_classes", "split_parts", "typed_dataset"]

CLASSIFICATION_LOSSES = tuple(losses("classification"))  # from the registry


def _subset(ds: Dataset, index: np.ndarray) -> Dataset:
    return Dataset(ds.name, ds.X[index], ds.y[index], ds.task, ds.classes, ds.feature_names,
                   ds.image_shape, ds.description)


def split_parts(dataset: Dataset, val_fraction: float = 0.3, seed: int = 0,
                standardize: bool = True, stratify: bool = True, *, test_fraction: float = 0.0,
                features: Sequence[str] = (), test: Dataset | None = None) -> Split:
    """Train, validation and test parts of ``dataset`` (any part but training may be empty).

    * ``test_fraction``: the test part is exactly what :func:`~.datasets.split` with
      ``val_fraction=test_fraction`` and the same seed would hold out (stratified); the
      validation part is then taken from the rest, ``val_fraction`` of the whole set. With no
      test part and no features this *is* :func:`~.datasets.split`, sample for sample.
    * ``test``: a separate dataset (e.g. a CSV file) is the test part instead.
    * ``features``: derived inputs of a 2-D set, computed before standardisation.

    Standardisation uses the training part's statistics, for every part.
    """
    for what, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not (isinstance(value, numbers.Real)
                                           and 0.0 <= value <= 0.9):
            raise DatasetError(f"{what} must be from 0 to 0.9, not {value!r}")
    if val_fraction + test_fraction > 0.9:
        raise DatasetError(f"the validation ({val_fraction:g}) and test ({test_fraction:g}) "
                           "fractions together leave too little to train on; keep their sum "
                           "at most 0.9")
    if test is not None and test_fraction:
        raise DatasetError("give a test fraction or a test file, not both")
    if not test_fraction and not features and test is None:
        return split(dataset, val_fraction, seed, standardize, stratify)
    names = _features_for(features, dataset)
    work = _with_features(dataset, names)
    n = work.n_samples
    if test_fraction:
        outer = split(work, test_fraction, seed, standardize=False, stratify=stratify)
        rest, test_index = outer.train_index, outer.val_index
        X_test, y_test = work.X[test_index], work.y[test_index]
    else:
        rest, test_index = np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
        X_test, y_test = work.X[:0], work.y[:0]
        if test is not None:
            test = _with_features(align_classes(test, dataset), names)
            if test.n_features != work.n_features:
                raise DatasetError(f"the test data '{test.name}' has {test.n_features} features, "
                                   f"the training data {work.n_features}")
            X_test, y_test = test.X, test.y
    inner = split(_subset(work, rest), min(0.9, val_fraction / (1.0 - test_fraction)), seed,
                  standardize, stratify)
    if inner.mean is not None:
        X_test = (X_test - inner.mean) / inner.std
    return Split(inner.X_train, inner.y_train, inner.X_val, inner.y_val, dataset, inner.mean,
                 inner.std, rest[inner.train_index], rest[inner.val_index],
                 np.array(X_test, dtype=np.float64), np.array(y_test), test_index, names)


def _features_for(features: Sequence[str], dataset: Dataset) -> tuple[str, ...]:
    try:
        names = parse_features(features)
    except ValueError as exc:
        raise DatasetError(str(exc)) from None
    if names and dataset.n_features != 2:
        raise DatasetError(f"feature inputs (x1·x2, sin x1, ...) are for 2-D datasets; "
                           f"'{dataset.name}' has {dataset.n_features} features")
    return names


def _with_features(ds: Dataset, names: tuple[str, ...]) -> Dataset:
    if not names:
        return ds
    return Dataset(ds.name, expand_features(ds.X, names), ds.y, ds.task, ds.classes,
                   feature_labels(names), description=ds.description)


def align_classes(test: Dataset, train: Dataset) -> Dataset:
    """``test`` with its labels numbered as ``train`` numbers them (a test file may lack a
    class, which shifts its own numbering); a class the training data lacks is refused."""
    if test.task != train.task:
        raise DatasetError(f"the test data '{test.name}' is {test.task}, the training data "
                           f"{train.task}")
    if test.task != "classification" or test.classes == train.classes:
        return test
    index = {name: k for k, name in enumerate(train.classes)}
    unknown = [c for c in test.classes if c not in index]
    if unknown:
        raise DatasetError(f"the test data '{test.name}' has classes the training data lacks: "
                           f"{', '.join(map(repr, unknown))}")
    y = np.array([index[test.classes[k]] for k in test.y], dtype=np.int64)
    return Dataset(test.name, test.X, y, test.task, train.classes, test.feature_names,
                   test.image_shape, test.description)


# ---------------------------------------------------------------- typed values as the data

def typed_dataset(program: Program, task: str | None = None, features: str | None = None,
                  target: str | None = None) -> Dataset:
    """The values typed into the graph's inputs as a dataset: one example (a row) or a small
    table. ``target`` defaults to the input feeding the loss's target, ``features`` to the one
    other input with a typed value. ``task`` defaults to classification for a cross-entropy
    loss and regression otherwise; the label may be a number per row, class numbers, or
    one-hot rows (classification)."""
    if task is not None and task not in TASKS:
        raise DatasetError(f"task must be 'classification' or 'regression', not {task!r}")
    out = program.nodes[program.output]
    if out.spec.role != "loss":
        raise DatasetError(f"typed data needs a loss as the graph's output ('{out.name}' is "
                           "not one) to tell the label input from the others")
    if target is None:
        target = program.nodes[out.inputs[1]].name
    if features is None:
        typed = [program.nodes[i].name for i in program.inputs
                 if program.nodes[i].name != target
                 and program.nodes[i].params.get("value") is not None]
        if len(typed) != 1:
            raise DatasetError("typed data needs exactly one input with typed values besides "
                               f"the label '{target}'; found {', '.join(typed) or 'none'}")
        features = typed[0]
    X = _typed(program, features, "features")
    T = _typed(program, target, "labels")
    if X.ndim != 2:
        raise DatasetError(f"typed data: input '{features}' needs rows, shape (N, features), "
                           f"not {X.shape}")
    if T.ndim == 0 or len(T) != len(X):
        raise DatasetError(f"typed data: '{target}' needs one label per row of '{features}' "
                           f"({len(X)}), got shape {T.shape}")
    if task is None:
        task = "classification" if out.op in CLASSIFICATION_LOSSES else "regression"
    names = tuple(f"{features}[{j}]" for j in range(X.shape[1]))
    what = "one example" if len(X) == 1 else f"{len(X)} examples"
    description = f"{what} typed into '{features}' and '{target}'"
    if task == "regression":
        if T.ndim > 2 or (T.ndim == 2 and T.shape[1] != 1):
            raise DatasetError(f"typed data: a regression label is one number per row; "
                               f"'{target}' has shape {T.shape}")
        return Dataset("typed", X, T.reshape(-1), "regression", (), names,
                       description=description)
    if T.ndim == 2 and T.shape[1] > 1:
        labels, k = T.argmax(axis=1), T.shape[1]
    else:
        flat = T.reshape(-1)
        if not np.all((flat == np.round(flat)) & (flat >= 0)):
            raise DatasetError(f"typed data: class labels in '{target}' must be whole numbers "
                               "from 0, or one-hot rows")
        pred = program.nodes[out.inputs[0]].shape
        width = pred[-1] if pred and isinstance(pred[-1], int) and pred[-1] > 1 else 2
        labels, k = flat.astype(np.int64), max(width, int(flat.max()) + 1)
    return Dataset("typed", X, labels, "classification", tuple(str(c) for c in range(k)), names,
                   description=description)


def _typed(program: Program, name: str, what: str) -> np.ndarray:
    i = program.index.get(name)
    if i is None or i not in program.inputs:
        raise DatasetError(f"typed data: the graph has no input named '{name}' for the {what}")
    value = program.nodes[i].params.get("value")
    if value is None:
        raise DatasetError(f"typed data: input '{name}' has no typed value; type the {what} "
                           "into it (one row per example)")
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise DatasetError(f"typed data: input '{name}' holds a value that is not finite")
    return arr
