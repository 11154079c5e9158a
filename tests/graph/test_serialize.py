"""Graph files: round trips, atomic saves, and every kind of bad file → FileFormatError."""

from __future__ import annotations

import copy
import inspect
import json
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.graph import (
    COMPOSITE,
    FORMAT,
    VERSION,
    ConnectionShapeError,
    FileFormatError,
    GraphError,
    GraphModel,
    compile_graph,
    dumps,
    load,
    loads,
    save,
)
from playground.graph import serialize as S

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
FILES = sorted(EXAMPLES.glob("*.json"))


def roundtrip(model: GraphModel, path: Path) -> GraphModel:
    save(model, path)
    return load(path)


def example(name: str = "square_of_sum") -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def strict_json(text: str) -> Any:
    """Parse refusing NaN/Infinity, which are not JSON."""
    def refuse(token: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {token}")
    return json.loads(text, parse_constant=refuse)


# -- round trips ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_example_round_trips(path: Path, tmp_path: Path) -> None:
    model = load(path)
    again = roundtrip(model, tmp_path / path.name)
    assert again.to_dict() == model.to_dict()
    assert (tmp_path / path.name).read_bytes() == path.read_bytes()
    assert again.topological_order() == model.topological_order()
    assert again.output_node() == model.output_node()


NAME_ALPHABET = "abcxyzWXσλ权_0129 -."
NAMES = st.text(NAME_ALPHABET, min_size=1, max_size=8).filter(lambda s: s == s.strip())
FLOATS = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
POSITIONS = st.tuples(st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False), FLOATS)
SMALL_SHAPES = st.lists(st.integers(1, 4), min_size=1, max_size=2)


@st.composite
def source_params(draw: st.DrawFn, op: str) -> dict[str, Any]:
    if op == "input":
        shape = draw(st.lists(st.none() | st.integers(1, 4), max_size=3))
        value = draw(st.none() | FLOATS) if not shape else None
        return {"shape": shape, "value": value}
    if op == "constant":
        value = draw(FLOATS | st.lists(FLOATS, min_size=1, max_size=3)
                     | st.lists(st.lists(FLOATS, min_size=2, max_size=2), min_size=1, max_size=2))
        return {"value": value}
    shape = draw(SMALL_SHAPES)
    size = 1
    for d in shape:
        size *= d
    params: dict[str, Any] = {
        "shape": shape,
        "init": draw(st.sampled_from(["glorot_uniform", "glorot_normal", "he_normal", "normal",
                                      "zeros", "ones"])),
        "std": draw(st.floats(0.0, 3.0)),
        "trainable": draw(st.booleans()),
    }
    if draw(st.booleans()):
        params["value"] = draw(st.lists(FLOATS, min_size=size, max_size=size))
    return params


@st.composite
def bodies(draw: st.DrawFn, depth: int) -> GraphModel:
    """A composite body: inputs 'x' (and maybe 'y') feeding a chain with exactly one sink."""
    b = GraphModel(dtype=draw(st.sampled_from(["float64", "float32"])))
    x = b.add_node("input", "x", {"shape": []}, position=draw(POSITIONS))
    inputs = [x.id]
    if draw(st.booleans()):
        inputs.append(b.add_node("input", "y", {"shape": []}).id)
    cur = x.id
    for _ in range(draw(st.integers(1, 3))):
        kinds = ["tanh", "sigmoid", "add", "mul", "add_const"] + (["composite"] if depth < 3 else [])
        op = draw(st.sampled_from(kinds))
        if op == "composite":
            node = b.add_node(COMPOSITE, body=draw(bodies(depth + 1)), position=draw(POSITIONS))
        else:
            params = {"c": draw(FLOATS)} if op == "add_const" else None
            node = b.add_node(op, params=params, position=draw(POSITIONS))
        ports = b.input_ports(node)
        b.connect(cur, node.id, ports[0])
        for port in ports[1:]:
            b.connect(draw(st.sampled_from(inputs)), node.id, port)
        cur = node.id
    if draw(st.booleans()):
        b.set_meta("output", cur)
    return b


OPS = ["input", "constant", "parameter", "add", "mul", "tanh", "sigmoid", "sum", "matmul",
       COMPOSITE]


@st.composite
def graphs(draw: st.DrawFn) -> GraphModel:
    """Random valid documents: any wire the model refuses is simply not made."""
    m = GraphModel(dtype=draw(st.sampled_from(["float64", "float32"])))
    for _ in range(draw(st.integers(0, 12))):
        op = draw(st.sampled_from(OPS))
        name = draw(st.none() | NAMES)
        if name is not None and any(n.name == name for n in m.nodes.values()):
            name = None
        pos = draw(POSITIONS)
        if op == COMPOSITE:
            node = m.add_node(op, name, position=pos, body=draw(bodies(1)))
        elif op in ("input", "constant", "parameter"):
            node = m.add_node(op, name, draw(source_params(op)), position=pos)
        elif op == "sum":
            params = {"axis": draw(st.none() | st.integers(-2, 1)), "keepdims": draw(st.booleans())}
            node = m.add_node(op, name, params, position=pos)
        else:
            node = m.add_node(op, name, position=pos)
        earlier = [nid for nid in m.nodes if nid != node.id]
        for port in m.input_ports(node):
            if earlier and draw(st.integers(0, 4)):
                try:
                    m.connect(draw(st.sampled_from(earlier)), node.id, port)
                except ConnectionShapeError:
                    pass
    if draw(st.booleans()):
        m.set_meta("title", draw(st.text(max_size=20)))
        m.set_meta("training", {"lr": draw(FLOATS), "epochs": draw(st.integers(0, 100))})
    if m.nodes and draw(st.booleans()):
        m.set_meta("output", draw(st.sampled_from(sorted(m.nodes))))
    return m


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_documents_round_trip(tmp_path_factory: pytest.TempPathFactory,
                                     model: GraphModel) -> None:
    path = tmp_path_factory.mktemp("rt") / "graph.json"
    data = copy.deepcopy(model.to_dict())
    again = roundtrip(model, path)
    assert again.to_dict() == data
    text = path.read_text(encoding="utf-8")
    assert text == dumps(again) + "\n"  # saving the loaded model writes the same bytes
    strict_json(text)
    # the analysis (shapes and problems) survives too
    a, b = model.analyse(), again.analyse()
    assert a.shapes == b.shapes and a.problems == b.problems
    assert again.topological_order() == model.topological_order()
    # and a loaded model is editable without id clashes
    fresh = again.add_node("input")
    assert fresh.id not in data["nodes"] and fresh.id not in {e["id"] for e in data["edges"]}


def test_non_ascii_names_are_written_as_utf8(tmp_path: Path) -> None:
    m = GraphModel()
    m.add_node("input", "σ权重 x", {"shape": []})
    path = tmp_path / "u.json"
    save(m, path)
    raw = path.read_bytes()
    assert "σ权重 x".encode() in raw
    assert raw.endswith(b"\n")
    assert load(path).to_dict() == m.to_dict()


def test_saving_nan_is_impossible_so_files_are_strict_json(tmp_path: Path) -> None:
    m = GraphModel()
    k = m.add_node("constant", "k", {"value": 1.0})
    with pytest.raises(GraphError):  # the model refuses NaN before it can reach a file
        m.set_param(k.id, "value", float("nan"))
    save(m, tmp_path / "g.json")
    strict_json((tmp_path / "g.json").read_text(encoding="utf-8"))


# -- atomic save ---------------------------------------------------------------------------------

def _fail(*args: Any, **kwargs: Any) -> Any:
    raise OSError(28, "No space left on device")


def _interrupt(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


@pytest.mark.parametrize(("target", "effect"), [("replace", _fail), ("fsync", _fail),
                                                ("replace", _interrupt), ("fsync", _interrupt)])
def test_a_crash_mid_save_leaves_the_old_file_and_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str,
        effect: Callable[..., Any]) -> None:
    path = tmp_path / "graph.json"
    old = load(EXAMPLES / "digits_mlp.json")
    save(old, path)
    before = path.read_bytes()
    new = load(EXAMPLES / "square_of_sum.json")
    monkeypatch.setattr(os, target, effect)
    with pytest.raises((OSError, KeyboardInterrupt)):
        save(new, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.json"]
    assert load(path).to_dict() == old.to_dict()


def test_a_crash_while_writing_leaves_the_old_file(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "graph.json"
    path.write_bytes(b"old contents")
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def __enter__(self) -> Self:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: bytes) -> int:
            self.fh.write(data[: len(data) // 2])
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(OSError):
        save(load(EXAMPLES / "square_of_sum.json"), path)
    monkeypatch.undo()
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.json"]


def test_save_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "graph.json"
    path.write_text("something older", encoding="utf-8")
    model = load(EXAMPLES / "moons_mlp.json")
    save(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["graph.json"]
    assert path.read_bytes() == (EXAMPLES / "moons_mlp.json").read_bytes()
    save(model, str(path))  # str paths work too
    assert load(path).to_dict() == model.to_dict()


# -- malformed files -----------------------------------------------------------------------------

def write(tmp_path: Path, content: str | bytes, name: str = "bad.json") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def expect_ffe(path: Path, *fragments: str) -> FileFormatError:
    with pytest.raises(FileFormatError) as info:
        load(path)
    assert type(info.value) is FileFormatError
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, (frag, msg)
    return info.value


@pytest.mark.timeout(60)
def test_every_truncation_of_a_file_is_a_file_format_error(tmp_path: Path) -> None:
    full = (EXAMPLES / "square_of_sum.json").read_text(encoding="utf-8")
    body = full.rstrip("\n")
    path = tmp_path / "cut.json"
    for n in range(len(body)):  # every prefix short of the closing brace
        path.write_text(body[:n], encoding="utf-8")
        with pytest.raises(FileFormatError):
            load(path)
    path.write_text(body, encoding="utf-8")
    assert load(path).to_dict() == example()


@pytest.mark.parametrize("text", ["[]", "\"graph\"", "42", "null", "true", "[{\"format\": 1}]", ""])
def test_wrong_top_level_types(tmp_path: Path, text: str) -> None:
    expect_ffe(write(tmp_path, text), "bad.json")


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        cur = d
        for key in path[:-1]:
            cur = cur[key]
        cur[path[-1]] = value
    return edit


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        cur = d
        for key in path[:-1]:
            cur = cur[key]
        del cur[path[-1]]
    return edit


def _append_edge(**edge: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        d["edges"].append({"id": "e99", **edge})
    return edit


BAD_FIELDS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("nodes not a list", _set(("nodes",), {"n1": {}}), "'nodes' must be a list"),
    ("nodes missing", _delete(("nodes",)), "'nodes' must be a list"),
    ("edges not a list", _set(("edges",), "e5"), "'edges' must be a list"),
    ("meta not an object", _set(("meta",), ["title"]), "'meta'"),
    ("dtype unknown", _set(("dtype",), "float16"), "dtype"),
    ("dtype not text", _set(("dtype",), ["float64"]), "dtype"),
    ("node not an object", _set(("nodes", 0), "n1"), "node 0"),
    ("id missing", _delete(("nodes", 0, "id")), "'id'"),
    ("id empty", _set(("nodes", 0, "id"), ""), "'id'"),
    ("id a number", _set(("nodes", 0, "id"), 1), "'id'"),
    ("id twice", _set(("nodes", 1, "id"), "n1"), "'n1'"),
    ("op not text", _set(("nodes", 0, "op"), 3), "'op'"),
    ("op missing", _delete(("nodes", 0, "op")), "'op'"),
    ("unknown op", _set(("nodes", 2, "op"), "frobnicate"), "frobnicate"),
    ("name not text", _set(("nodes", 0, "name"), 5), "'name'"),
    ("name invalid", _set(("nodes", 0, "name"), "a/b"), "a/b"),
    ("name twice", _set(("nodes", 1, "name"), "x"), "already used"),
    ("params a list", _set(("nodes", 0, "params"), [1, 2]), "'params'"),
    ("params text", _set(("nodes", 0, "params"), "shape"), "'params'"),
    ("unknown param", _set(("nodes", 3, "params", "gain"), 1), "gain"),
    ("param wrong kind", _set(("nodes", 3, "params", "exponent"), "two"), "exponent"),
    ("shape not a list", _set(("nodes", 0, "params", "shape"), 3), "shape"),
    ("negative size", _set(("nodes", 0, "params", "shape"), [-1]), "shape"),
    ("float size", _set(("nodes", 0, "params", "shape"), [2.5]), "shape"),
    ("position one number", _set(("nodes", 0, "position"), [1]), "'position'"),
    ("position three", _set(("nodes", 0, "position"), [1, 2, 3]), "'position'"),
    ("position text", _set(("nodes", 0, "position"), ["1", "2"]), "'position'"),
    ("position bools", _set(("nodes", 0, "position"), [True, False]), "'position'"),
    ("position object", _set(("nodes", 0, "position"), {"x": 1, "y": 2}), "'position'"),
    ("position null", _set(("nodes", 0, "position"), None), "'position'"),
    ("position overflows", _set(("nodes", 0, "position"), [10**400, 0]), "position"),
    ("composite without body", _set(("nodes", 2, "op"), COMPOSITE), "body"),
    ("body not an object", lambda d: d["nodes"][2].update(op=COMPOSITE, body=[1]), "body"),
    ("edge not an object", _set(("edges", 0), ["n1", "n3"]), "wire 0"),
    ("edge id missing", _delete(("edges", 0, "id")), "'id'"),
    ("edge port not text", _set(("edges", 0, "port"), 0), "'port'"),
    ("dangling source", _set(("edges", 0, "src"), "n42"), "n42"),
    ("dangling target", _set(("edges", 0, "dst"), "n42"), "n42"),
    ("unknown port", _set(("edges", 0, "port"), "c"), "no input 'c'"),
    ("port into a source", _set(("edges", 0, "dst"), "n2"), "no input"),
    ("port fed twice", _append_edge(src="n2", dst="n3", port="a"), "fed twice"),
    ("edge id twice", lambda d: d["edges"][1].update(id="e5"), "e5"),
    ("edge id is a node id", lambda d: d["edges"][1].update(id="n1"), "n1"),
    ("self loop", lambda d: d["edges"][2].update(src="n4"), "itself"),
    ("cycle", lambda d: d["edges"].__setitem__(
        0, {"id": "e5", "src": "n4", "dst": "n3", "port": "a"}), "loop"),
]


@pytest.mark.parametrize(("label", "edit", "fragment"), BAD_FIELDS, ids=[b[0] for b in BAD_FIELDS])
def test_wrong_fields_are_file_format_errors(tmp_path: Path, label: str,
                                             edit: Callable[[dict[str, Any]], None],
                                             fragment: str) -> None:
    d = example()
    edit(d)
    expect_ffe(write(tmp_path, json.dumps(d)), "bad.json", fragment)


def test_version_from_the_future_asks_to_update(tmp_path: Path) -> None:
    for v in (VERSION + 1, 10**30):
        d = example()
        d["version"] = v
        err = expect_ffe(write(tmp_path, json.dumps(d)), "newer", "update", str(v))
        assert str(VERSION) in str(err)


@pytest.mark.parametrize("version", [0, -1, True, False, 1.0, "1", None, [1]])
def test_bad_versions(tmp_path: Path, version: Any) -> None:
    d = example()
    d["version"] = version
    expect_ffe(write(tmp_path, json.dumps(d)), "version")


def test_missing_version(tmp_path: Path) -> None:
    d = example()
    del d["version"]
    expect_ffe(write(tmp_path, json.dumps(d)), "version")


@pytest.mark.parametrize("fmt", [None, "backprop-playground/graph2", "", 1, FORMAT.upper()])
def test_wrong_format_tag(tmp_path: Path, fmt: Any) -> None:
    d = example()
    if fmt is None:
        del d["format"]
    else:
        d["format"] = fmt
    expect_ffe(write(tmp_path, json.dumps(d)), "not a Backprop Playground graph")


def test_older_versions_are_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pretend the current format is 2: a version-1 file (the bundled examples) must still load,
    # through the registered migration
    def migrate(d: dict[str, Any]) -> dict[str, Any]:
        d = dict(d)
        d["meta"] = {**d.get("meta", {}), "migrated": True}
        return d

    monkeypatch.setattr(S, "VERSION", 2)
    monkeypatch.setitem(S.MIGRATIONS, 1, migrate)
    m = load(EXAMPLES / "square_of_sum.json")
    assert m.meta["migrated"] is True
    assert [n.name for n in m.nodes.values()] == ["x", "y", "q", "f"]


def test_cycle_inside_a_composite_body(tmp_path: Path) -> None:
    d = example()
    body = {k: copy.deepcopy(d[k]) for k in ("nodes", "edges")}
    body["edges"][0] = {"id": "e5", "src": "n4", "dst": "n3", "port": "a"}
    d["nodes"].append({"id": "n9", "op": COMPOSITE, "name": "g", "params": {}, "body": body})
    expect_ffe(write(tmp_path, json.dumps(d)), "loop", "'g'")


@pytest.mark.timeout(20)
@pytest.mark.parametrize("shape", [[100000, 100000], [10**12], [None, 10**7, 10**7],
                                   [2] * 40, [10**400]])
def test_huge_shapes_fail_fast_without_allocating(tmp_path: Path, shape: list[Any]) -> None:
    d = example()
    d["nodes"].append({"id": "n9", "op": "parameter", "name": "W",
                       "params": {"shape": shape}, "position": [0, 0]})
    path = write(tmp_path, json.dumps(d))
    tracemalloc.start()
    try:
        expect_ffe(path, "shape")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


@pytest.mark.timeout(20)
def test_an_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b" " * (S.MAX_FILE_BYTES + 1))
    expect_ffe(path, "too large")


@pytest.mark.timeout(20)
@pytest.mark.parametrize("text", ["[" * 100000, "{\"a\":" * 100000, "[" * 100000 + "]" * 100000],
                         ids=["open lists", "open objects", "closed lists"])
def test_deeply_nested_json(tmp_path: Path, text: str) -> None:
    expect_ffe(write(tmp_path, text), "bad.json")


def test_composites_nested_too_deep(tmp_path: Path) -> None:
    inner: dict[str, Any] = {"nodes": [{"id": "n1", "op": "input", "name": "x"},
                                       {"id": "n2", "op": "neg", "name": "n"}],
                             "edges": [{"id": "e1", "src": "n1", "dst": "n2", "port": "x"}]}
    for _ in range(S.MAX_DEPTH + 2):
        inner = {"nodes": [{"id": "n1", "op": "input", "name": "x"},
                           {"id": "n2", "op": COMPOSITE, "name": "g", "body": inner}],
                 "edges": [{"id": "e1", "src": "n1", "dst": "n2", "port": "x"}]}
    d = {"format": FORMAT, "version": VERSION, **inner}
    expect_ffe(write(tmp_path, json.dumps(d)), "deeper")


@pytest.mark.parametrize("raw", [b"\xff\xfe{\x00}\x00", b'{"format": "\xc3\x28"}', b"\x80" * 10,
                                 "{\"a\": 1}".encode("utf-16")],
                         ids=["utf-16 bom", "bad sequence", "continuation bytes", "utf-16"])
def test_non_utf8_bytes(tmp_path: Path, raw: bytes) -> None:
    expect_ffe(write(tmp_path, raw), "bad.json")


def test_a_directory(tmp_path: Path) -> None:
    (tmp_path / "folder.json").mkdir()
    expect_ffe(tmp_path / "folder.json", "folder")


def test_a_missing_file(tmp_path: Path) -> None:
    expect_ffe(tmp_path / "nope.json", "no such file")


def test_an_unusable_path(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError):
        load(str(tmp_path / "a\0b.json"))


NON_FINITE = [
    ("value NaN", ("nodes", 0, "params", "value"), "NaN"),
    ("value Infinity", ("nodes", 0, "params", "value"), "Infinity"),
    ("value -Infinity", ("nodes", 0, "params", "value"), "-Infinity"),
    ("NaN in a list", ("nodes", 0, "params", "value"), "[1.0, NaN]"),
    ("1e400", ("nodes", 0, "params", "value"), "1e400"),
    ("5000-digit integer", ("nodes", 0, "params", "value"), "1" * 5000),
    ("position NaN", ("nodes", 0, "position"), "[NaN, 0]"),
    ("position 1e999", ("nodes", 0, "position"), "[1e999, 0]"),
    ("float param NaN", ("nodes", 3, "params", "exponent"), "NaN"),
]


@pytest.mark.parametrize(("label", "where", "token"), NON_FINITE, ids=[n[0] for n in NON_FINITE])
def test_non_finite_numbers(tmp_path: Path, label: str, where: tuple[Any, ...],
                            token: str) -> None:
    d = example()
    _set(where, "@@TOKEN@@")(d)
    text = json.dumps(d).replace('"@@TOKEN@@"', token)
    expect_ffe(write(tmp_path, text), "bad.json")


def test_load_never_executes_code(tmp_path: Path) -> None:
    assert "pickle" not in inspect.getsource(S)
    assert "eval(" not in inspect.getsource(S) and "exec(" not in inspect.getsource(S)
    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    d = example()
    d["meta"] = {"title": payload, "__reduce__": ["os.system", [f"touch {marker}"]],
                 "py/object": "os.system"}
    m = load(write(tmp_path, json.dumps(d)))
    assert m.meta["title"] == payload  # just data
    assert m.meta["__reduce__"] == ["os.system", [f"touch {marker}"]]
    for edit in (_set(("nodes", 0, "params", "__reduce__"), "os.system"),
                 _set(("nodes", 0, "op"), "__import__")):
        d = example()
        edit(d)
        expect_ffe(write(tmp_path, json.dumps(d)))
    assert not marker.exists()


def test_error_messages_name_the_file_and_node(tmp_path: Path) -> None:
    d = example()
    d["nodes"][3]["params"]["exponent"] = "two"
    err = expect_ffe(write(tmp_path, json.dumps(d), name="mine.json"))
    assert str(err).startswith("mine.json")
    assert "'f'" in str(err)


def test_loads_accepts_text_and_names_the_source() -> None:
    m = loads(json.dumps(example()), source="clipboard")
    assert m.to_dict() == example()
    with pytest.raises(FileFormatError, match="^clipboard"):
        loads("{", source="clipboard")


# -- fuzz: any edit of a valid file either loads or is a FileFormatError -------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False)
    | st.text(max_size=4) | st.sampled_from(["n1", "n3", "e5", "x", "a", "input", COMPOSITE]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "op", "name", "params", "position", "body", "nodes", "edges",
                         "shape", "value", "src", "dst", "port"]), inner, max_size=3),
    max_leaves=6)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FILES), st.data(), JSON_VALUES)
def test_any_edit_loads_or_raises_file_format_error(path: Path, data: st.DataObject,
                                                    value: Any) -> None:
    d = json.loads(path.read_text(encoding="utf-8"))
    where = data.draw(st.sampled_from(_paths(d)[1:]))
    _set(where, value)(d)
    try:
        model = loads(json.dumps(d))
    except FileFormatError:
        return
    # what loads is safe to analyse and compile: only typed errors come out
    model.analyse()
    try:
        compile_graph(model)
    except GraphError:
        pass
