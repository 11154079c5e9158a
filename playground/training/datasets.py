"""Datasets: the built-in sets, CSV files, train/validation splits and minibatches.

NumPy only. scikit-learn is imported inside the loaders that need it, so importing this module
stays fast. Every random choice comes from an explicit seed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

TASKS = ("classification", "regression")


class DatasetError(ValueError):
    """A dataset could not be made; the message says what to fix."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features and targets. The arrays are read-only copies; ``split`` makes writable ones."""

    name: str
    X: np.ndarray  # float64 (n, d)
    y: np.ndarray  # classification: int64 (n,) in 0..k-1; regression: float64 (n, 1)
    task: str
    classes: tuple[str, ...]  # class names for classification, () for regression
    feature_names: tuple[str, ...]
    image_shape: tuple[int, int] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DatasetError(f"task must be 'classification' or 'regression', not {self.task!r}")
        X = np.array(self.X, dtype=np.float64)
        if X.ndim != 2:
            raise DatasetError(f"X must be a 2-D array (samples, features), got shape {X.shape}")
        if self.task == "classification":
            y: np.ndarray = np.array(self.y, dtype=np.int64).reshape(-1)
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise DatasetError(f"labels must lie in 0..{len(self.classes) - 1}")
        else:
            y = np.array(self.y, dtype=np.float64).reshape(-1, 1)
        if len(y) != len(X):
            raise DatasetError(f"X has {len(X)} rows but y has {len(y)}")
        if len(self.feature_names) != X.shape[1]:
            raise DatasetError(f"{len(self.feature_names)} feature names for {X.shape[1]} features")
        X.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.task == "classification" else 0

    @property
    def is_2d(self) -> bool:
        return self.n_features == 2


@dataclass(frozen=True, eq=False)
class Split:
    """A train/validation(/test) split; features standardised with train statistics when asked.
    ``dataset`` holds the raw samples; ``features`` names the derived inputs (x1·x2, ...) the
    parts were made of (see :mod:`.features`); ``transform`` prepares raw points the same way.
    Any part but the training one may be empty."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    dataset: Dataset
    mean: np.ndarray | None
    std: np.ndarray | None
    train_index: np.ndarray
    val_index: np.ndarray
    X_test: np.ndarray = None  # type: ignore[assignment]  # None: no test part (made empty)
    y_test: np.ndarray = None  # type: ignore[assignment]
    test_index: np.ndarray = None  # type: ignore[assignment]
    features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.X_test is None:
            object.__setattr__(self, "X_test", self.X_train[:0].copy())
            object.__setattr__(self, "y_test", self.y_train[:0].copy())
            object.__setattr__(self, "test_index", np.zeros(0, dtype=np.int64))

    @property
    def n_inputs(self) -> int:
        """Columns the network is fed (the dataset's features, or the derived ones)."""
        return int(self.X_train.shape[1])

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Prepare raw points as the parts were (derived features, then standardisation), e.g.
        a decision-boundary grid or ``dataset.X[i:i + 1]``."""
        X = np.asarray(X, dtype=np.float64)
        if self.features:
            from .features import expand_features

            X = expand_features(X, self.features)
        return X.copy() if self.mean is None else (X - self.mean) / self.std


# ---------------------------------------------------------------- built-in datasets

BUILTIN: dict[str, str] = {
    "digits": "8x8 images of handwritten digits 0-9 (1797 samples, 64 features, 10 classes)",
    "iris": "Iris flowers: 4 measurements, 3 species (150 samples)",
    "moons": "Two interleaving half circles (2-D, 2 classes)",
    "circles": "A small circle inside a larger one (2-D, 2 classes)",
    "blobs": "Three Gaussian clusters (2-D, 3 classes)",
    "xor": "Four clusters in the quadrants, labelled by the sign of x*y (2-D, 2 classes)",
    "spiral": "Two interleaved spiral arms (2-D, 2 classes)",
    "gaussian": "Two overlapping Gaussian clouds (2-D, 2 classes)",
    "sine": "Regression: y = sin(x) + noise (1 feature)",
}
TWO_D = frozenset({"moons", "circles", "blobs", "xor", "spiral", "gaussian"})
_DEFAULT_NOISE = {"moons": 0.2, "circles": 0.1, "blobs": 1.0, "xor": 0.35, "spiral": 0.05,
                  "gaussian": 0.7, "sine": 0.1}
_XY = ("x1", "x2")


def load_dataset(
    name: str, n_samples: int | None = None, noise: float | None = None, seed: int = 0
) -> Dataset:
    """A built-in dataset by name (see ``BUILTIN``). ``n_samples``/``noise`` apply to the
    synthetic sets only; digits and iris are always the full sets."""
    key = str(name).strip().lower()
    if key not in BUILTIN:
        raise DatasetError(f"unknown dataset {name!r} (known: {', '.join(BUILTIN)})")
    if n_samples is not None and (isinstance(n_samples, bool)
                                  or not isinstance(n_samples, numbers.Integral)
                                  or not 4 <= n_samples <= 1_000_000):
        raise DatasetError(f"n_samples must be a whole number from 4 to 1000000, not {n_samples!r}")
    if noise is not None and not (isinstance(noise, numbers.Real) and math.isfinite(noise)
                                  and noise >= 0):
        raise DatasetError(f"noise must be a number >= 0, not {noise!r}")

    if key == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return Dataset("digits", d.data / 16.0, d.target, "classification",
                       tuple(str(i) for i in range(10)), tuple(d.feature_names),
                       image_shape=(8, 8), description=BUILTIN[key])
    if key == "iris":
        from sklearn.datasets import load_iris

        d = load_iris()
        return Dataset("iris", d.data, d.target, "classification",
                       tuple(str(c) for c in d.target_names), tuple(d.feature_names),
                       description=BUILTIN[key])

    n = int(n_samples) if n_samples is not None else (200 if key == "sine" else 400)
    sigma = float(noise if noise is not None else _DEFAULT_NOISE[key])
    description = f"{BUILTIN[key]}; {n} samples, noise {sigma:g}, seed {seed}"
    if key in ("moons", "circles", "blobs"):
        from sklearn import datasets as skd

        if key == "moons":
            X, y = skd.make_moons(n, noise=sigma, random_state=seed)
        elif key == "circles":
            X, y = skd.make_circles(n, noise=sigma, factor=0.5, random_state=seed)
        else:
            X, y = skd.make_blobs(n, n_features=2, centers=3, cluster_std=sigma,
                                  random_state=seed)
        classes = ("0", "1", "2") if key == "blobs" else ("0", "1")
        return Dataset(key, X, y, "classification", classes, _XY, description=description)

    rng = np.random.default_rng(seed)
    if key == "sine":
        x = rng.uniform(-np.pi, np.pi, size=(n, 1))
        y = np.sin(x) + sigma * rng.standard_normal((n, 1))
        return Dataset("sine", x, y, "regression", (), ("x",), description=description)
    if key == "xor":
        centres = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
        which = np.repeat(np.arange(4), [len(a) for a in np.array_split(np.arange(n), 4)])
        X = centres[which] + sigma * rng.standard_normal((n, 2))
        y = (centres[which, 0] * centres[which, 1] > 0).astype(np.int64)  # label of the cluster
        classes = ("x*y<0", "x*y>0")
    elif key == "spiral":
        y = np.repeat([0, 1], [n // 2, n - n // 2])
        r = rng.uniform(0.05, 1.0, size=n)
        angle = 3.0 * np.pi * r + np.pi * y  # 1.5 turns; the second arm is the first rotated
        X = r[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        X += sigma * rng.standard_normal((n, 2))
        classes = ("0", "1")
    else:  # gaussian
        y = np.repeat([0, 1], [n // 2, n - n // 2])
        X = np.where(y[:, None] == 0, -1.0, 1.0) + sigma * rng.standard_normal((n, 2))
        classes = ("0", "1")
    order = rng.permutation(n)
    return Dataset(key, X[order], y[order], "classification", classes, _XY,
                   description=description)


# ---------------------------------------------------------------- CSV files


# ---------------------------------------------------------------- splits and batches

def split(
    dataset: Dataset,
    val_fraction: float = 0.3,
    seed: int = 0,
    standardize: bool = True,
    stratify: bool = True,
) -> Split:
    """Shuffle and split into train and validation parts. Stratified by class when asked and
    every class has at least two samples. Standardisation uses train statistics only.
    (A test part and derived features: :func:`playground.training.workbench.split_parts`.)"""
    if not (isinstance(val_fraction, numbers.Real) and 0.0 <= val_fraction <= 0.9):
        raise DatasetError(f"val_fraction must be from 0 to 0.9, not {val_fraction!r}")
    rng = np.random.default_rng(seed)
    n = dataset.n_samples
    n_val = 0 if val_fraction == 0 else min(n - 1, max(1, round(n * val_fraction)))
    counts = np.bincount(dataset.y, minlength=dataset.n_classes) if dataset.n_classes else None

    if stratify and counts is not None and counts[counts > 0].min() >= 2:
        present = np.flatnonzero(counts)
        exact = counts[present] * val_fraction
        take = np.floor(exact).astype(np.int64)
        # Largest remainders get the leftover samples, so every class is within 1 of exact.
        for j in np.argsort(-(exact - take), kind="stable")[: max(0, n_val - int(take.sum()))]:
            take[j] += 1
        take = np.minimum(take, counts[present] - 1)  # every class keeps a training sample
        val_parts, train_parts = [], []
        for c, k in zip(present, take, strict=True):
            idx = rng.permutation(np.flatnonzero(dataset.y == c))
            val_parts.append(idx[:k])
            train_parts.append(idx[k:])
        val_index = rng.permutation(np.concatenate(val_parts))
        train_index = rng.permutation(np.concatenate(train_parts))
    else:
        perm = rng.permutation(n)
        val_index, train_index = perm[:n_val], perm[n_val:]

    X_train, X_val = dataset.X[train_index], dataset.X[val_index]
    mean = std = None
    if standardize:
        with np.errstate(all="ignore"):  # overflow is checked below, by column
            mean = X_train.mean(axis=0)
            std = X_train.std(axis=0)
            std[std < 1e-12] = 1.0  # constant feature (e.g. a blank digit pixel)
            X_train, X_val = (X_train - mean) / std, (X_val - mean) / std
        _check_standardised(dataset, X_train, X_val, mean, std)
    return Split(X_train, dataset.y[train_index], X_val, dataset.y[val_index], dataset, mean, std,
                 train_index.astype(np.int64), val_index.astype(np.int64))


def _check_standardised(dataset: Dataset, X_train: np.ndarray, X_val: np.ndarray,
                        mean: np.ndarray, std: np.ndarray) -> None:
    """Refuse features whose standardisation overflowed (cells near 1e308), naming the column."""
    bad = ~(np.isfinite(mean) & np.isfinite(std) & np.isfinite(X_train).all(axis=0)
            & np.isfinite(X_val).all(axis=0))
    if bad.any():
        j = int(np.argmax(bad))
        big = float(np.max(np.abs(dataset.X[:, j]))) if dataset.n_samples else 0.0
        raise DatasetError(
            f"{dataset.name}: feature {dataset.feature_names[j]!r} cannot be standardised: its "
            f"values (up to {big:g} in size) overflow; rescale that column, or turn "
            "standardisation off")


def minibatches(
    n: int, batch_size: int, rng: np.random.Generator, shuffle: bool = True
) -> Iterator[np.ndarray]:
    """Index arrays covering 0..n-1 exactly once; the last batch may be smaller.
    ``batch_size`` <= 0 or >= n gives one full batch."""
    if n < 0:
        raise DatasetError(f"the number of samples cannot be negative ({n})")
    order = rng.permutation(n) if shuffle else np.arange(n)
    if batch_size <= 0 or batch_size >= n:
        if n:
            yield order
        return
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


# CSV files (at the end: csvdata builds Dataset objects defined above)
from .csvdata import (  # noqa: F401 - re-exported
    CSV_EXPANSION,
    MAX_CSV_BYTES,
    csv_limit,
    load_csv,
    preview_csv,
)
