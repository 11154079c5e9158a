"""Optimizers that update parameter arrays in place. The learning rate may change between steps."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def norm(a: np.ndarray) -> float:
    flat = a.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))


class Optimizer:
    """``step(params, grads, grad_norms)`` updates ``params`` in place and returns ‖Δw‖ per param."""

    name = "base"

    def __init__(self, lr: float, l2: float = 0.0) -> None:
        self.lr = float(lr)
        self.l2 = float(l2)

    def _grad(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        # L2 weight decay: ∂/∂w (l2/2 ‖w‖²) = l2·w
        return g + self.l2 * w if self.l2 else g

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             grad_norms: Sequence[float]) -> list[float]:
        raise NotImplementedError


class SGD(Optimizer):
    name = "sgd"

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             grad_norms: Sequence[float]) -> list[float]:
        out = []
        lr = self.lr
        for w, g, gn in zip(params, grads, grad_norms, strict=True):
            if self.l2:
                g = self._grad(w, g)
                gn = norm(g)
            w -= lr * g
            out.append(lr * gn)
        return out


class Momentum(Optimizer):
    name = "momentum"

    def __init__(self, lr: float, l2: float = 0.0, momentum: float = 0.9) -> None:
        super().__init__(lr, l2)
        self.momentum = float(momentum)
        self._v: list[np.ndarray] | None = None

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             grad_norms: Sequence[float]) -> list[float]:
        if self._v is None:
            self._v = [np.zeros_like(w) for w in params]
        out = []
        for w, g, v in zip(params, grads, self._v, strict=True):
            v *= self.momentum
            v -= self.lr * self._grad(w, g)
            w += v
            out.append(norm(v))
        return out


class Adam(Optimizer):
    name = "adam"

    def __init__(self, lr: float, l2: float = 0.0, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        super().__init__(lr, l2)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._m: list[np.ndarray] | None = None
        self._v: list[np.ndarray] | None = None
        self.t = 0

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             grad_norms: Sequence[float]) -> list[float]:
        if self._m is None or self._v is None:
            self._m = [np.zeros_like(w) for w in params]
            self._v = [np.zeros_like(w) for w in params]
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        scale = self.lr * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        out = []
        for w, g, m, v in zip(params, grads, self._m, self._v, strict=True):
            g = self._grad(w, g)
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            delta = scale * m / (np.sqrt(v) + self.eps)
            w -= delta
            out.append(norm(delta))
        return out


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, lr: float, l2: float = 0.0, momentum: float = 0.9) -> Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{name}' (known: {', '.join(OPTIMIZERS)})")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive number, got {lr}")
    if name == "momentum":
        return Momentum(lr, l2, momentum)
    return OPTIMIZERS[name](lr, l2)
