"""Feature inputs of 2-D sets (TensorFlow Playground's x1, x2, x1², x2², x1·x2, sin x1, sin x2)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from playground.training.features import FEATURES, expand_features, feature_labels, parse_features


def test_names_in_any_spelling_become_the_canonical_ones():
    assert parse_features("x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2)") == tuple(FEATURES)
    assert parse_features(["X1²", "x2 · x1", "sin x1", "SIN(X2)", "x2**2", " "]) == (
        "x1^2", "x1*x2", "sin(x1)", "sin(x2)", "x2^2")
    assert parse_features(None) == () == parse_features("")
    assert feature_labels(parse_features("x1*x2,sin(x2)")) == ("x1·x2", "sin x2")
    for bad, message in (("x1,cos(x1)", "unknown feature 'cos(x1)'"), ("x1,X1", "twice"),
                         ([3], "unknown feature '3'")):
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_features(bad)


def test_each_feature_is_its_formula():
    X = np.array([[0.5, -2.0], [3.0, 0.25]])
    out = expand_features(X, tuple(FEATURES))
    a, b = X[:, 0], X[:, 1]
    np.testing.assert_allclose(out, np.column_stack([a, b, a * a, b * b, a * b, np.sin(a),
                                                     np.sin(b)]))
    assert expand_features(X[:0], ("x1*x2",)).shape == (0, 1)
    with pytest.raises(ValueError, match=r"need 2-D points \(n, 2\)"):
        expand_features(np.ones((3, 4)), ("x1",))
