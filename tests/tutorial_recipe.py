"""The source tutorial's 2-2-1 network written out in NumPy, line for line: what the engine, the
lesson and the window are checked against (tests/test_tutorial_lessons.py,
tests/ui/test_lesson_tutorial.py)."""

from __future__ import annotations

import numpy as np

X, Y = np.array([[0.5, 1.2]]), np.array([[1.0]])
W1, B1 = np.array([[0.4, 0.3], [0.2, 0.7]]), np.array([[0.1, 0.2]])
W2, B2 = np.array([[0.6], [0.8]]), np.array([[0.3]])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def tutorial_recipe(lr: float = 0.1) -> dict[str, np.ndarray]:
    """The tutorial's code, line for line: forward, ½(output − y)², backward, W −= lr·dW."""
    z1 = X @ W1 + B1
    a1 = sigmoid(z1)
    z2 = a1 @ W2 + B2
    output = sigmoid(z2)
    loss = 0.5 * np.sum((output - Y) ** 2)
    d_output = output - Y
    d_z2 = d_output * output * (1 - output)
    d_W2 = a1.T @ d_z2
    d_a1 = d_z2 @ W2.T
    d_z1 = d_a1 * a1 * (1 - a1)
    d_W1 = X.T @ d_z1
    return {"z1": z1, "a1": a1, "z2": z2, "output": output, "loss": loss, "d_output": d_output,
            "d_z2": d_z2, "d_W2": d_W2, "d_a1": d_a1, "d_z1": d_z1, "d_W1": d_W1,
            "W1": W1 - lr * d_W1, "W2": W2 - lr * d_W2}


