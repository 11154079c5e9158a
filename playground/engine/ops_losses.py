"""The loss gates, each declared once: mean squared error, softmax cross-entropy, binary
cross-entropy, each with its reduction (mean, sum; ½·Σ for the squared error) and the texts of
every reduction. Same conventions as :mod:`.ops`."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import shapes as S
from .ops import LOSS, _sigmoid
from .registry import OpSpec, Param, ShapeError, Variant, register

# How a loss adds up its terms: "mean" (over all n terms; what a file without the param means),
# "sum", and "half_sum" (½·Σ, the tutorials' ½(ŷ − y)², whose gradient is just ŷ − y).
_REDUCTION = Param("reduction", "choice", "mean", choices=("mean", "sum"),
                   doc="mean over the terms, or their sum")
_MSE_REDUCTION = Param("reduction", "choice", "mean", choices=("mean", "sum", "half_sum"),
                       doc="mean over the terms, their sum, or ½ of their sum")


def _mse(xs: Any, p: Any) -> np.ndarray:
    if p["reduction"] == "mean":
        return np.mean((xs[0] - xs[1]) ** 2)
    total = np.sum((xs[0] - xs[1]) ** 2)
    return total * 0.5 if p["reduction"] == "half_sum" else total


# ∂mse/∂pred = 2(pred − target)/n (mean), 2(pred − target) (sum), pred − target (half_sum)
def _mse_vjp(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    if p["reduction"] == "mean":
        return g * (2.0 / xs[0].size) * (xs[0] - xs[1])
    return g * (2.0 if p["reduction"] == "sum" else 1.0) * (xs[0] - xs[1])


_MSE_LOCAL = "({pred} − {target})"
register(OpSpec(
    "mse", ("pred", "target"), _mse,
    (_mse_vjp, lambda g, y, xs, p, s: -_mse_vjp(g, y, xs, p, s)),
    S.loss_pair, params=(_MSE_REDUCTION,), label="MSE loss", category="Losses", colour=LOSS,
    role="loss", extra={"task": "regression"}, formula="(1/n) Σ (pred − target)²",
    derivative="2(pred − target)/n",
    variant_param="reduction", variants={
        "mean": Variant("(1/n) Σ (pred − target)²", "2(pred − target)/n",
                        "mse({pred}, {target})",
                        {"pred": f"2·{_MSE_LOCAL}/n·G", "target": f"−2·{_MSE_LOCAL}/n·G"}),
        "sum": Variant("Σ (pred − target)²", "2(pred − target)", "Σ({pred} − {target})²",
                       {"pred": f"2·{_MSE_LOCAL}·G", "target": f"−2·{_MSE_LOCAL}·G"}),
        "half_sum": Variant("½ Σ (pred − target)²", "pred − target", "½·Σ({pred} − {target})²",
                            {"pred": f"{_MSE_LOCAL}·G", "target": f"−{_MSE_LOCAL}·G"}),
    },
))


def _terms(p: Any, n: int) -> int:
    """What a mean divides by: ``n`` for the mean reduction, 1 for the sum."""
    return n if p["reduction"] == "mean" else 1


def _labels(t: np.ndarray, classes: int) -> np.ndarray:
    """Integer class labels from a float array (rounded to the nearest whole number, so the
    loss is flat around each label), checked against the number of classes."""
    rounded = np.rint(t)
    if rounded.size and not np.all(np.abs(t - rounded) <= _LABEL_SLACK):
        bad = t.reshape(-1)[np.argmax(np.abs(t - rounded).reshape(-1) > _LABEL_SLACK)]
        raise ShapeError(f"class label {float(bad):g} is not a whole number; class labels are "
                         "0, 1, 2, ... (use one-hot or soft targets of shape (N, classes) otherwise)")
    if rounded.size and (rounded.min() < 0 or rounded.max() >= classes):
        bad = rounded.max() if rounded.max() >= classes else rounded.min()
        raise ShapeError(f"class label {bad:g} is outside 0..{classes - 1}: the logits have "
                         f"{classes} columns, one per class")
    return rounded.astype(np.intp)


_LABEL_SLACK = 0.01  # a label may be off a whole number by this much (rounding, a numeric check)


def _ce_forward(xs: Any, p: Any) -> tuple[np.ndarray, Any]:
    logits, t = xs
    n = _terms(p, logits.shape[0])
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    if t.ndim == 2:  # one-hot (or soft) targets
        loss = -(t * (z - np.log(s))).sum() / n
        e /= s
        return np.asarray(loss, dtype=logits.dtype), (e, None, t)
    labels = _labels(t, logits.shape[1])
    rows = np.arange(logits.shape[0])
    loss = (np.log(s).sum() - z[rows, labels].sum()) / n
    e /= s
    return np.asarray(loss, dtype=logits.dtype), (e, rows, labels)


# ∂CE/∂logits = (softmax(logits)·Σ_c t − t)/N (mean; = (softmax − onehot)/N when rows sum to
# 1), the same without /N for the sum
def _ce_vjp(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    probs, rows, labels = s
    if rows is None:
        return ((probs * labels.sum(axis=1, keepdims=True) - labels)
                * (g / _terms(p, xs[0].shape[0])))
    d = probs.copy()
    d[rows, labels] -= 1.0
    d *= g / _terms(p, xs[0].shape[0])
    return d


# ∂CE/∂t = −log softmax(logits)/N (mean; without /N for the sum) for one-hot or soft targets;
# class labels take no gradient (grad_inputs), and 0 is their derivative anyway: the loss is
# flat around each whole number
def _ce_vjp_target(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    logits, t = xs
    if t.ndim == 1:
        return np.zeros(t.shape, dtype=np.result_type(g, logits))
    z = logits - logits.max(axis=1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
    z *= -g / _terms(p, logits.shape[0])
    return z


register(OpSpec(
    "softmax_cross_entropy", ("logits", "target"), _ce_forward, (_ce_vjp, _ce_vjp_target),
    S.cross_entropy, params=(_REDUCTION,), label="softmax CE loss", category="Losses",
    colour=LOSS, role="loss", saves=True, extra={"task": "classification"},
    grad_inputs=lambda shapes: (True, len(shapes[1]) == 2),
    formula="−(1/N) Σ log softmax(logits)[target]",
    derivative="(softmax(logits) − onehot(target)) / N",
    doc="Softmax and cross-entropy in one stable gate; target is class labels (N,) or one-hot.",
    variant_param="reduction", variants={
        "mean": Variant("−(1/N) Σ log softmax(logits)[target]",
                        "(softmax(logits) − onehot(target)) / N", "CE({logits}, {target})",
                        {"logits": "(softmax({logits}) − onehot({target}))/N·G",
                         "target": "−log softmax({logits})/N·G (none for class labels)"}),
        "sum": Variant("−Σ log softmax(logits)[target]", "softmax(logits) − onehot(target)",
                       "Σ CE({logits}, {target})",
                       {"logits": "(softmax({logits}) − onehot({target}))·G",
                        "target": "−log softmax({logits})·G (none for class labels)"}),
    },
))

_EPS = 1e-12


def _clip_prob(x: np.ndarray) -> np.ndarray:
    # keep probabilities off 0 and 1 by at least the dtype's resolution (float32 rounds 1 − 1e-12 to 1)
    eps = max(_EPS, float(np.finfo(x.dtype).eps)) if x.dtype.kind == "f" else _EPS
    return np.clip(x, eps, 1.0 - eps)


def _bce_forward(xs: Any, p: Any) -> np.ndarray:
    x, t = xs
    reduce = np.mean if p["reduction"] == "mean" else np.sum
    if p["input"] == "logits":
        # log(1+e^x) − t·x, computed stably
        return reduce(np.logaddexp(0.0, x) - t * x)
    q = _clip_prob(x)
    return -reduce(t * np.log(q) + (1.0 - t) * np.log(1.0 - q))


# ∂BCE/∂x = (σ(x) − t)/n for logits, (q − t)/(q(1 − q))/n for probabilities q (no /n: sum)
def _bce_vjp(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    x, t = xs
    if p["input"] == "logits":
        return g * (_sigmoid(x) - t) / _terms(p, x.size)
    q = _clip_prob(x)
    return g * (q - t) / (q * (1.0 - q)) / _terms(p, x.size)


# ∂BCE/∂t = −x/n for logits, log((1−q)/q)/n for probabilities (no /n: sum)
def _bce_vjp_target(g: np.ndarray, y: Any, xs: Any, p: Any, s: Any) -> np.ndarray:
    x, _ = xs
    if p["input"] == "logits":
        return -g * x / _terms(p, x.size)
    q = _clip_prob(x)
    return g * np.log((1.0 - q) / q) / _terms(p, x.size)


register(OpSpec(
    "binary_cross_entropy", ("pred", "target"), _bce_forward, (_bce_vjp, _bce_vjp_target),
    S.loss_pair, label="binary CE loss", category="Losses", colour=LOSS, role="loss",
    extra={"task": "classification"},
    params=(Param("input", "choice", "probabilities", choices=("probabilities", "logits")),
            _REDUCTION),
    formula="−(1/n) Σ t·log q + (1−t)·log(1−q)", derivative="(q − t) / (q(1 − q)) / n",
    variant_param="reduction", variants={
        "mean": Variant("−(1/n) Σ t·log q + (1−t)·log(1−q)", "(q − t) / (q(1 − q)) / n",
                        "BCE({pred}, {target})",
                        {"pred": "(q − {target})/(q(1 − q))/n·G, q = {pred}",
                         "target": "log((1 − q)/q)/n·G, q = {pred}"}),
        "sum": Variant("−Σ t·log q + (1−t)·log(1−q)", "(q − t) / (q(1 − q))",
                       "Σ BCE({pred}, {target})",
                       {"pred": "(q − {target})/(q(1 − q))·G, q = {pred}",
                        "target": "log((1 − q)/q)·G, q = {pred}"}),
    },
))

