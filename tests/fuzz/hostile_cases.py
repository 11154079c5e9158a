"""A seeded generator of hostile inputs: graph files, ``meta.training`` settings, CSV files and
weights files, each made from a ``numpy.random.Generator`` so case ``k`` of seed ``s`` is the
same on every machine (``make_case(seed, k)``).

Every case is a :class:`Case`: a kind, the files to write (name → bytes) and a few parameters
for the action the runner (hostile_runner.py) takes on them.
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # duplicates are made on purpose
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
# the examples that need no scikit-learn to run (the runner never imports it)
GRAPHS = ("square_of_sum", "sigmoid_neuron", "sigmoid_neuron_fused", "moons_mlp",
          "sine_regression", "digits_mlp")
KINDS = ("graph", "training", "csv", "weights")
OPS = ("input", "constant", "parameter", "add", "sub", "mul", "div", "neg", "add_const",
       "mul_const", "pow", "exp", "log", "reciprocal", "matmul", "transpose", "sum", "mean",
       "relu", "leaky_relu", "tanh", "sigmoid", "softmax", "log_softmax", "dense", "mse",
       "softmax_cross_entropy", "binary_cross_entropy", "composite")


@dataclass
class Case:
    index: int
    kind: str
    files: dict[str, bytes] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def _deep(n: int) -> Any:
    value: Any = 1
    for _ in range(n):
        value = [value]
    return value


HOSTILE: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2, 3, 0.5, -0.0, 2**63, -(2**63), 10**40, 1e308, -1e308,
    float("nan"), float("inf"), float("-inf"), 1e-320, "", "x", "0", "1e3", "\ud800", "a\nb",
    "digits\x00", "ü" * 300, [], {}, [[]], [1, 2, 3], [None], [0], [-1], [10**7, 10**7],
    [None, 1], [2] * 7, {"a": 1}, {"": None}, _deep(40), "moons", "adam", "sgd",
)


def _pick(rng: np.random.Generator, seq: Any) -> Any:
    return seq[int(rng.integers(len(seq)))]


def _example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


# -- graph files ------------------------------------------------------------------------------
def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        root = root[p]
    return root


TEXTS = ("\ud800", "x\udfff", "a\nb", "tab\there", "nul\x00", "\u202egnp.exe", "é" * 5000,
         "", " ", "n1", "x", "/", "a/b", "名前", "\U0001F600")


def _text_field(rng: np.random.Generator, data: dict[str, Any]) -> None:
    """A text the file carries (a name, an id, a title, the output) set to an odd string."""
    nodes = data.get("nodes")
    choice = int(rng.integers(4))
    if choice == 0 and isinstance(nodes, list) and nodes and isinstance(n := _pick(rng, nodes),
                                                                       dict):
        n[_pick(rng, ("name", "id"))] = _pick(rng, TEXTS)
    elif choice == 1:
        data.setdefault("meta", {})[_pick(rng, ("title", "description", "output"))] = \
            _pick(rng, TEXTS)
    elif choice == 2:  # meta nested deep, from harmless to the ~900 levels of the issue;
        # written into the text afterwards (json.dumps itself cannot go that deep)
        data.setdefault("meta", {})["deep"] = f"__DEEP_{int(rng.integers(20, 1000))}__"
    else:
        edges = data.get("edges")
        if isinstance(edges, list) and edges and isinstance(e := _pick(rng, edges), dict):
            e["id"] = _pick(rng, TEXTS)


def _mutate(rng: np.random.Generator, data: dict[str, Any]) -> None:
    if rng.random() < 0.2:
        _text_field(rng, data)
        return
    paths = _paths(data)[1:]
    path = _pick(rng, paths)
    parent, key = _get(data, path[:-1]), path[-1]
    # leaf 30%, a param 25%, an op 10%, a deletion 10%, a duplicate 5%, meta 10%, a wire 5%,
    # a top-level field 5%
    how = int(rng.choice(8, p=[0.30, 0.10, 0.05, 0.10, 0.25, 0.10, 0.05, 0.05]))
    if how == 0:
        parent[key] = _pick(rng, HOSTILE)
    elif how == 1 and isinstance(parent, dict):
        del parent[key]
    elif how == 2 and isinstance(parent, list):
        parent.append(json.loads(json.dumps(parent[key])))  # a duplicate: same id or name
    elif how == 3:
        nodes = data.get("nodes")
        if isinstance(nodes, list) and nodes and isinstance(nodes[0], dict):
            node = _pick(rng, nodes)
            if isinstance(node, dict):
                node["op"] = _pick(rng, (*OPS, "frobnicate", "add\n", "__class__", ""))
    elif how == 4:
        nodes = data.get("nodes")
        if isinstance(nodes, list) and nodes and isinstance(node := _pick(rng, nodes), dict):
            params = node.setdefault("params", {})
            if isinstance(params, dict):
                params[_pick(rng, ("shape", "value", "axis", "axes", "exponent", "c", "init",
                                   "std", "keepdims", "alpha", "input", "trainable", "bogus"))] \
                    = _pick(rng, HOSTILE)
    elif how == 5:
        meta = data.setdefault("meta", {})
        if isinstance(meta, dict):
            meta[_pick(rng, ("title", "output", "training", "deep"))] = _pick(rng, HOSTILE)
    elif how == 6:
        edges = data.get("edges")
        if isinstance(edges, list) and edges and isinstance(edge := _pick(rng, edges), dict):
            edge[_pick(rng, ("src", "dst", "port", "id"))] = _pick(
                rng, ("n1", "n2", "n3", "e1", "x", "a", "b", "pred", "target", "", None, 7))
    else:
        data[_pick(rng, ("format", "version", "dtype", "nodes", "edges"))] = _pick(rng, HOSTILE)


def _text_damage(rng: np.random.Generator, raw: bytes) -> bytes:
    how = int(rng.integers(6))
    if how == 0 and raw:
        return raw[: int(rng.integers(len(raw)))]
    if how == 1 and raw:
        b = bytearray(raw)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(len(b)))] = int(rng.integers(256))
        return bytes(b)
    if how == 2:
        return b"\xef\xbb\xbf" + raw
    if how == 3:
        return raw.replace(b'"', b"'", 1)
    return raw


def graph_case(rng: np.random.Generator, index: int) -> Case:
    data = _example(_pick(rng, GRAPHS))
    for _ in range(int(rng.integers(0, 3))):  # none at all sometimes: the examples must pass
        try:
            _mutate(rng, data)
        except (KeyError, IndexError, TypeError):
            pass
    text = re.sub(r'"__DEEP_(\d+)__"', lambda m: "[" * int(m.group(1)) + "1" + "]" * int(
        m.group(1)), json.dumps(data))
    raw = text.encode("utf-8")
    if rng.random() < 0.15:
        raw = _text_damage(rng, raw)
    return Case(index, "graph", {"graph.json": raw})


# -- meta.training ----------------------------------------------------------------------------
_GOOD = {"epochs": (1, 2), "batch_size": (1, 8, 32, 100000), "lr": (0.01, 0.1, 1e6),
         "optimizer": ("sgd", "momentum", "adam"), "l2": (0.0, 1e-3, 100.0),
         "seed": (0, 7, 2**31 - 1), "val_fraction": (0.1, 0.3, 0.9),
         "samples": (4, 40), "noise": (0.0, 0.3, 10.0), "standardize": (True, False),
         "momentum": (0.0, 0.9), "dataset": ("xor", "spiral", "gaussian", "sine")}


def training_case(rng: np.random.Generator, index: int) -> Case:
    example = _pick(rng, ("moons_mlp", "sine_regression"))
    data = _example(example)
    training: dict[str, Any] = {k: _pick(rng, good) for k, good in _GOOD.items()
                                if rng.random() < 0.6}
    for key in rng.choice(list(_GOOD), size=int(rng.integers(0, 3)), replace=False):
        training[str(key)] = _pick(rng, HOSTILE)  # up to two hostile values
    if example == "sine_regression":
        training["dataset"] = "sine"
        # an empty validation part for regression is another branch's work (issue 16 part 3)
        if training.get("val_fraction") in (0, 0.0, -0.0, False):
            training["val_fraction"] = 0.2
    elif training.get("dataset") == "sine":
        training["dataset"] = "xor"
    data.setdefault("meta", {})["training"] = training if rng.random() > 0.05 else _pick(
        rng, HOSTILE)
    return Case(index, "training", {"graph.json": json.dumps(data).encode("utf-8")},
                {"command": _pick(rng, ("train", "train", "eval"))})


# -- CSV files ----------------------------------------------------------------------------------
_CELLS = ("0", "1", "2", "-3", "0.5", "1e-3", "1e308", "-1e308", "nan", "NaN", "inf", "-inf",
          "", " ", "abc", "cat", "dog", '"a,b"', '"x""y"', "ü", "１", "0x1F", "1_000", "+7",
          "\x00", "1e999", "9" * 400)


def csv_case(rng: np.random.Generator, index: int) -> Case:
    cols = int(rng.integers(1, 5))
    rows = int(rng.integers(0, 50))
    delim = _pick(rng, (",", ",", ";", "\t"))
    cols = max(cols, 2) if rng.random() < 0.9 else cols
    header = [f"f{i}" for i in range(cols - 1)] + ["label"]
    if rng.random() < 0.15:  # names that are empty, repeated or odd
        header[int(rng.integers(cols))] = _pick(rng, ("", "f0", "label", "x y", "ü", '"q"'))
    style = int(rng.integers(4))  # label column: classes, few ints, many ints, floats
    dirty = 0.05 if rng.random() < 0.3 else 0.0  # odd cells in a third of the files
    ragged = 0.05 if rng.random() < 0.1 else 0.0
    lines = [delim.join(header)]
    for r in range(rows):
        cells = [f"{rng.normal():.4f}" if rng.random() >= dirty else _pick(rng, _CELLS)
                 for _ in range(cols - 1)]
        label = (_pick(rng, ("cat", "dog", "eel")) if style == 0 else str(r % 3) if style == 1
                 else str(r % 25) if style == 2 else f"{rng.normal():.3f}")
        if rng.random() < dirty:
            label = _pick(rng, _CELLS)
        cells.append(label)
        if rng.random() < ragged:
            cells = cells[:-1]  # a ragged row
        lines.append(delim.join(cells))
    text = "\n".join(lines) + ("\n" if rng.random() < 0.8 else "")
    encoding = _pick(rng, ("utf-8", "utf-8", "utf-8-sig", "latin-1"))
    raw = text.encode(encoding, errors="replace")
    if rng.random() < 0.1:
        raw = _text_damage(rng, raw)
    label = _pick(rng, (None, None, None, -1, -1, 0, "label", "label", "nope", 99, -99))
    return Case(index, "csv", {"data.csv": raw},
                {"label": label, "val_fraction": _pick(rng, (0.1, 0.3, 0.5, 0.9)),
                 "standardize": bool(rng.random() < 0.8)})


# -- weights files ----------------------------------------------------------------------------
MOONS_PARAMS = {"W1": (2, 16), "b1": (16,), "W2": (16, 16), "b2": (16,), "W3": (16, 2),
                "b3": (2,)}
_DTYPES = ("<f8", "<f8", "<f4", ">f8", "<f2", "<c16", "<i8", "|b1", "|O",
           [("a", "<f8"), ("b", "<i4")])


def _npy_member(rng: np.random.Generator, shape: tuple[int, ...]) -> bytes:
    dtype = _pick(rng, _DTYPES)
    if rng.random() < 0.2:
        shape = _pick(rng, ((), (1,), (50000, 50000), (3, 3), (2, 16, 1), (0,)))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": bool(
        rng.random() < 0.1), "shape": shape})
    itemsize = 8 if isinstance(dtype, list) else np.dtype(dtype).itemsize
    n = int(np.prod(shape)) * itemsize
    if n > 10**6 or rng.random() < 0.1:
        n = int(rng.integers(0, 64))  # a header that claims more than the data holds
    body = rng.standard_normal(n // 8 + 1).tobytes()[:n]
    if rng.random() < 0.1:
        body = np.full(n // 8 + 1, np.nan).tobytes()[:n]
    return header.getvalue() + body


def weights_case(rng: np.random.Generator, index: int) -> Case:
    buf = io.BytesIO()
    how = int(rng.integers(10))
    if how == 0:
        np.save(buf, rng.standard_normal((2, 16)))  # a .npy given as .npz
    elif how == 1:
        buf.write(rng.bytes(int(rng.integers(0, 300))))
    else:
        method = zipfile.ZIP_DEFLATED if rng.random() < 0.5 else zipfile.ZIP_STORED
        with zipfile.ZipFile(buf, "w", method) as zf:
            for name, shape in MOONS_PARAMS.items():
                if rng.random() < 0.15:
                    continue  # missing
                if rng.random() < 0.6:
                    arr = rng.standard_normal(shape)
                    member = io.BytesIO()
                    np.lib.format.write_array(member, arr)
                    zf.writestr(f"{name}.npy", member.getvalue())
                else:
                    zf.writestr(f"{name}.npy", _npy_member(rng, shape))
            for _ in range(int(rng.integers(0, 3))):
                extra = _pick(rng, ("X.npy", "junk.npy", "W1.npy", "dir/", "notes.txt",
                                    "loss.npy", "../W1.npy", "\u00fc.npy"))
                zf.writestr(extra, _npy_member(rng, (2, 16)) if extra.endswith(".npy")
                            else b"hello")
            if rng.random() < 0.05:  # a small bomb: 32 MB of zeros behind a matching name
                with zf.open("W2.npy", "w", force_zip64=True) as member:
                    header = io.BytesIO()
                    np.lib.format.write_array_header_1_0(
                        header, {"descr": "<f8", "fortran_order": False, "shape": (2048, 2048)})
                    member.write(header.getvalue())
                    for _ in range(32):
                        member.write(bytes(1 << 20))
    raw = buf.getvalue()
    if rng.random() < 0.15:
        raw = _text_damage(rng, raw)
    return Case(index, "weights", {"w.npz": raw}, {"dtype": _pick(rng, ("float64", "float32"))})


MAKERS = {"graph": graph_case, "training": training_case, "csv": csv_case,
          "weights": weights_case}


def make_case(seed: int, index: int) -> Case:
    rng = np.random.default_rng([seed, index])
    kind = KINDS[index % len(KINDS)]
    return MAKERS[kind](rng, index)
