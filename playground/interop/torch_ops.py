"""Each engine op as a PyTorch expression for the exported ``model.py`` (autograd does the
backward pass). The forms are chosen so that values *and* gradients are the app's, including at
the edges: ``relu`` and ``leaky_relu`` pass the gradient where x > 0 only, the binary
cross-entropy on probabilities clips its input the app's way (the gradient passes through the
clip, as the app's does). A test checks that every registry op has an entry here that reads
every param of the op.

Templates use the op's port names in braces, ``{p[name]}``-style params through callables, and
``{rank}`` for the output's number of axes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Text = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class TorchOp:
    forward: str | Text
    params: tuple[str, ...] = ()
    helpers: tuple[str, ...] = ()


def _reduce(fn: str) -> Text:
    def text(p: Mapping[str, Any]) -> str:
        if p["axis"] is None:
            if p["keepdims"]:
                return f"{{x}}.{fn}().reshape([1] * {{x}}.dim())"
            return f"{{x}}.{fn}()"
        return f"{{x}}.{fn}(dim={p['axis']}, keepdim={bool(p['keepdims'])})"
    return text


def _transpose(p: Mapping[str, Any]) -> str:
    if p["axes"]:
        return f"{{x}}.permute({', '.join(str(a) for a in p['axes'])})"
    return "{x}.permute(*reversed(range({x}.dim())))"


def _mse(p: Mapping[str, Any]) -> str:
    if p["reduction"] == "mean":
        return "F.mse_loss({pred}, {target})"
    total = 'F.mse_loss({pred}, {target}, reduction="sum")'
    return f"{total} * 0.5" if p["reduction"] == "half_sum" else total


def _cross_entropy(p: Mapping[str, Any]) -> str:
    reduction = p["reduction"]
    if p["_target_rank"] == 1:
        if reduction == "mean":
            return "F.cross_entropy({logits}, {target}.long())"
        return f"F.cross_entropy({{logits}}, {{target}}.long(), reduction={reduction!r})"
    # the app passes no gradient to the target (its vjp is None): detached here too
    total = "-({target}.detach() * F.log_softmax({logits}, dim=1)).sum()"
    return f"{total} / {{logits}}.shape[0]" if reduction == "mean" else total


def _bce(p: Mapping[str, Any]) -> str:
    arg = "" if p["reduction"] == "mean" else f", reduction={p['reduction']!r}"
    if p["input"] == "logits":
        return f"F.binary_cross_entropy_with_logits({{pred}}, {{target}}{arg})"
    return f"bce_probabilities({{pred}}, {{target}}{arg})"


TORCH_OPS: dict[str, TorchOp] = {
    "add": TorchOp("{a} + {b}"), "sub": TorchOp("{a} - {b}"), "mul": TorchOp("{a} * {b}"),
    "div": TorchOp("{a} / {b}"), "neg": TorchOp("-{x}"),
    "add_const": TorchOp(lambda p: f"{{x}} + {p['c']!r}", ("c",)),
    "mul_const": TorchOp(lambda p: f"{{x}} * {p['c']!r}", ("c",)),
    "pow": TorchOp(lambda p: f"{{x}} ** {p['exponent']!r}", ("exponent",)),
    "exp": TorchOp("torch.exp({x})"), "log": TorchOp("torch.log({x})"),
    "reciprocal": TorchOp("torch.reciprocal({x})"),
    "relu": TorchOp("torch.relu({x})"),
    "leaky_relu": TorchOp(lambda p: f"F.leaky_relu({{x}}, {p['alpha']!r})", ("alpha",)),
    "tanh": TorchOp("torch.tanh({x})"), "sigmoid": TorchOp("torch.sigmoid({x})"),
    "softmax": TorchOp(lambda p: f"torch.softmax({{x}}, dim={p['axis']})", ("axis",)),
    "log_softmax": TorchOp(lambda p: f"torch.log_softmax({{x}}, dim={p['axis']})", ("axis",)),
    "matmul": TorchOp("{a} @ {b}"),
    "transpose": TorchOp(_transpose, ("axes",)),
    "sum": TorchOp(_reduce("sum"), ("axis", "keepdims")),
    "mean": TorchOp(_reduce("mean"), ("axis", "keepdims")),
    "dense": TorchOp("{x} @ {W} + {b}"),
    "mse": TorchOp(_mse, ("reduction",)),
    "softmax_cross_entropy": TorchOp(_cross_entropy, ("reduction",)),
    "binary_cross_entropy": TorchOp(_bce, ("input", "reduction"), helpers=("bce_probabilities",)),
}

HELPERS = {
    "bce_probabilities": '''def bce_probabilities(q, t, reduction="mean"):
    """Binary cross-entropy of probabilities q, kept off 0 and 1 as the app keeps them. The
    gradient passes through the clip unchanged, as the app's does."""
    eps = max(1e-12, torch.finfo(q.dtype).eps)
    q = q + (q.clamp(eps, 1.0 - eps) - q).detach()
    terms = t * torch.log(q) + (1.0 - t) * torch.log(1.0 - q)
    return -(terms.mean() if reduction == "mean" else terms.sum())''',
}
