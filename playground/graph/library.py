"""Ready-made composite nodes (sub-graphs shown as one node) for the palette."""

from __future__ import annotations

from collections.abc import Callable

from .model import GraphModel


def sigmoid_chain() -> GraphModel:
    """σ(x) from primitive gates: −x → exp → +1 → 1/x."""
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": []}, (0, 0))
    neg = m.add_node("neg", "neg", {}, (200, 0))
    e = m.add_node("exp", "exp", {}, (400, 0))
    p1 = m.add_node("add_const", "plus1", {"c": 1.0}, (600, 0))
    r = m.add_node("reciprocal", "sigma", {}, (800, 0))
    for a, b in ((x, neg), (neg, e), (e, p1), (p1, r)):
        m.connect(a.id, b.id, "x")
    m.meta["output"] = r.id
    return m


def sigmoid_neuron() -> GraphModel:
    """σ(w0·x0 + w1·x1 + w2) from primitive gates, the CS231n neuron."""
    m = GraphModel()
    ids = {n: m.add_node("input", n, {"shape": []}, (0, k * 110)).id
           for k, n in enumerate(("w0", "x0", "w1", "x1", "w2"))}
    m0 = m.add_node("mul", "w0x0", {}, (200, 55))
    m1 = m.add_node("mul", "w1x1", {}, (200, 275))
    s = m.add_node("add", "sum01", {}, (400, 165))
    z = m.add_node("add", "z", {}, (600, 300))
    m.connect(ids["w0"], m0.id, "a"); m.connect(ids["x0"], m0.id, "b")
    m.connect(ids["w1"], m1.id, "a"); m.connect(ids["x1"], m1.id, "b")
    m.connect(m0.id, s.id, "a"); m.connect(m1.id, s.id, "b")
    m.connect(s.id, z.id, "a"); m.connect(ids["w2"], z.id, "b")
    prev = z
    for k, (op, name, params) in enumerate((("neg", "neg", {}), ("exp", "exp", {}),
                                            ("add_const", "plus1", {"c": 1.0}),
                                            ("reciprocal", "f", {}))):
        node = m.add_node(op, name, params, (800 + 200 * k, 300))
        m.connect(prev.id, node.id, "x")
        prev = node
    m.meta["output"] = prev.id
    return m


def dense_activation(activation: str) -> Callable[[], GraphModel]:
    def build() -> GraphModel:
        m = GraphModel()
        x = m.add_node("input", "x", {"shape": [None, 1]}, (0, 0))
        w = m.add_node("input", "W", {"shape": [1, 1]}, (0, 120))
        b = m.add_node("input", "b", {"shape": [1]}, (0, 240))
        d = m.add_node("dense", "z", {}, (220, 80))
        a = m.add_node(activation, "a", {}, (440, 80))
        m.connect(x.id, d.id, "x"); m.connect(w.id, d.id, "W"); m.connect(b.id, d.id, "b")
        m.connect(d.id, a.id, "x")
        m.meta["output"] = a.id
        return m

    return build


COMPOSITES: dict[str, tuple[str, str, Callable[[], GraphModel]]] = {
    "sigmoid_chain": ("σ from primitives", "σ(x) = 1/(1+e⁻ˣ) as −x → exp → +1 → 1/x; open it to see the gates.",
                      sigmoid_chain),
    "sigmoid_neuron": ("sigmoid neuron", "σ(w0·x0 + w1·x1 + w2) built from ×, +, −x, exp, +1, 1/x.",
                       sigmoid_neuron),
    "dense_sigmoid": ("dense + σ", "a = σ(x·W + b): a dense layer with a sigmoid activation.",
                      dense_activation("sigmoid")),
    "dense_tanh": ("dense + tanh", "a = tanh(x·W + b).", dense_activation("tanh")),
    "dense_relu": ("dense + ReLU", "a = max(0, x·W + b).", dense_activation("relu")),
}
