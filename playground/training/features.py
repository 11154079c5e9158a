"""Derived inputs for 2-D datasets, as in TensorFlow Playground: x1, x2, x1², x2², x1·x2, sin x1,
sin x2. Chosen by name, computed from the raw two columns before standardisation.

Canonical names (written to files and given to ``train --features``) are ASCII: ``x1``, ``x2``,
``x1^2``, ``x2^2``, ``x1*x2``, ``sin(x1)``, ``sin(x2)``; :func:`parse_features` also accepts the
display forms (``x1²``, ``x1·x2``, ``sin x1``). NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["FEATURES", "expand_features", "feature_labels", "parse_features"]

# canonical name -> (label shown in the app, function of the raw (n, 2) array)
FEATURES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "x1": ("x1", lambda X: X[:, 0]),
    "x2": ("x2", lambda X: X[:, 1]),
    "x1^2": ("x1²", lambda X: X[:, 0] ** 2),
    "x2^2": ("x2²", lambda X: X[:, 1] ** 2),
    "x1*x2": ("x1·x2", lambda X: X[:, 0] * X[:, 1]),
    "sin(x1)": ("sin x1", lambda X: np.sin(X[:, 0])),
    "sin(x2)": ("sin x2", lambda X: np.sin(X[:, 1])),
}


def _key(text: str) -> str:
    t = "".join(str(text).split()).lower()
    t = t.replace("²", "^2").replace("**2", "^2").replace("·", "*").replace("×", "*")
    if t.startswith("sin") and not t.startswith("sin("):
        t = f"sin({t[3:]})"
    return "x1*x2" if t == "x2*x1" else t


_LOOKUP = {_key(name): name for name in FEATURES} | {_key(label): name
                                                     for name, (label, _) in FEATURES.items()}


def parse_features(value: str | Iterable[Any] | None) -> tuple[str, ...]:
    """Canonical feature names from ``"x1,x2,x1*x2"`` or a list; () for None or empty.
    Raises ``ValueError`` naming an unknown or repeated feature."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        text = item.strip() if isinstance(item, str) else repr(item)
        if not text:
            continue
        name = _LOOKUP.get(_key(text))
        if name is None:
            raise ValueError(f"unknown feature {text!r} (features: "
                             f"{', '.join(FEATURES)})")
        if name in out:
            raise ValueError(f"feature {name!r} is chosen twice")
        out.append(name)
    return tuple(out)


def feature_labels(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(FEATURES[n][0] for n in names)


def expand_features(X: np.ndarray, names: Iterable[str]) -> np.ndarray:
    """The chosen features of raw 2-D points ``X`` (n, 2), one column each, in order."""
    X = np.asarray(X, dtype=np.float64)
    names = tuple(names)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"feature inputs need 2-D points (n, 2), got shape {X.shape}")
    if not names:
        return X.copy()
    return np.column_stack([FEATURES[n][1](X) for n in names]).reshape(len(X), len(names))
