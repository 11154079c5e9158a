"""The data side of an exported training script, as text: how the network's inputs are made
from the raw columns in the arrays file, exactly as the workbench makes them (derived features
of a 2-D set such as x1·x2 or sin x1, then standardisation with the training part's
statistics), and the settings that say so. Shared by the NumPy script, the notebook and the
PyTorch project's ``train.py``; a test checks the generated code against the workbench's split.
"""

from __future__ import annotations

from typing import Any

# each derived feature of playground/training/features.py as NumPy code on the raw (n, 2)
# points X; a test checks that every feature there has its line here, giving the same numbers
FEATURE_CODE: dict[str, str] = {
    "x1": "X[:, 0]",
    "x2": "X[:, 1]",
    "x1^2": "X[:, 0] ** 2",
    "x2^2": "X[:, 1] ** 2",
    "x1*x2": "X[:, 0] * X[:, 1]",
    "sin(x1)": "np.sin(X[:, 0])",
    "sin(x2)": "np.sin(X[:, 1])",
}

PARTS = ("train", "val", "test")


def features_fn(features: tuple[str, ...]) -> str:
    """``derive_features(X)``: the network's input columns from raw 2-D points."""
    from ..training.features import feature_labels

    lines = [f"        {FEATURE_CODE[name]},  # {label}"
             for name, label in zip(features, feature_labels(features), strict=True)]
    return "\n".join([
        "def derive_features(X):",
        ('    """The inputs the network takes, from raw 2-D points (x1, x2): '
        f'{", ".join(feature_labels(features))}."""'),
        "    return np.column_stack([",
        *lines,
        f"    ]).reshape(len(X), {len(features)})",
    ])


def prepare_fn(features: tuple[str, ...]) -> str:
    """``prepare_inputs(arrays)``: the training, validation and test parts' inputs as NumPy
    arrays, from the raw columns in the arrays file."""
    derive = ["    parts = [derive_features(X) for X in parts]  # before standardising"] \
        if features else []
    return "\n".join([
        "def prepare_inputs(arrays):",
        '    """The inputs of the training, validation and test parts (any but the first may be',
        '    empty), made from the raw columns as the app makes them."""',
        '    parts = [arrays[f"X_{part}"] for part in PARTS]',
        *derive,
        "    if STANDARDIZE:  # with the training part's statistics only, as the app does",
        "        mean = parts[0].mean(axis=0)",
        "        std = parts[0].std(axis=0)",
        "        std[std < 1e-12] = 1.0  # a constant feature (a blank pixel) stays as it is",
        "        parts = [(X - mean) / std for X in parts]",
        "    return dict(zip(PARTS, parts))",
    ])


def data_settings(setup: Any) -> list[str]:
    """The settings lines about the data (after the training settings)."""
    s = setup.split
    settings = setup.settings
    source = settings.source if settings is not None else s.dataset.name
    lines = [f"PARTS = {PARTS!r}  # training, validation and test parts of the data",
             f"STANDARDIZE = {s.mean is not None}"]
    if s.features:
        lines.append(f"DERIVED_FEATURES = {list(s.features)!r}  # the inputs derive_features "
                     "makes from the raw points (x1, x2)")
    return [(f"# the data: {source!r}, {len(s.y_train)} training, {len(s.y_val)} validation "
            f"and {len(s.y_test)} test samples"), *lines]


def data_functions(setup: Any) -> str:
    """The helper functions the data settings need."""
    blocks = [features_fn(setup.split.features)] if setup.split.features else []
    blocks.append(prepare_fn(setup.split.features))
    return "\n\n\n".join(blocks)
