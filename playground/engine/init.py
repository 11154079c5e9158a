"""Weight initializers, all drawn from an explicit ``np.random.Generator``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[0] * receptive, shape[1] * receptive


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator, std: float) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def glorot_normal(shape: tuple[int, ...], rng: np.random.Generator, std: float) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_normal(shape: tuple[int, ...], rng: np.random.Generator, std: float) -> np.ndarray:
    fan_in, _ = _fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def normal(shape: tuple[int, ...], rng: np.random.Generator, std: float) -> np.ndarray:
    return rng.normal(0.0, std, size=shape)


def zeros(shape: tuple[int, ...], rng: np.random.Generator, std: float) -> np.ndarray:
    return np.zeros(shape)


def ones(shape: tuple[int, ...], rng: np.random.Generator, std: float) -> np.ndarray:
    return np.ones(shape)


INITIALIZERS: dict[str, Callable[[tuple[int, ...], np.random.Generator, float], np.ndarray]] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_normal": he_normal,
    "normal": normal,
    "zeros": zeros,
    "ones": ones,
}


def initialize(name: str, shape: tuple[int, ...], rng: np.random.Generator,
               std: float = 0.01) -> np.ndarray:
    return INITIALIZERS[name](shape, rng, std)
