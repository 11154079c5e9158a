"""Complex edits as before/after documents: the applier, clipboard, group/ungroup, auto layout
and the MLP builder. Every edit is checked by applying it to a live model through its mutators,
with a mirror of the model built from events only (as the Qt scene is) kept in step."""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.graph import (
    COMPOSITE,
    CycleError,
    FileFormatError,
    GraphError,
    GraphModel,
    UnknownNodeError,
    compile_graph,
    graph_values,
    load,
)
from playground.graph.edit import (
    apply_dict,
    auto_layout,
    build_mlp,
    copy_selection,
    duplicate,
    group,
    parse_sizes,
    paste,
    ungroup,
)
from playground.graph.layout import layered_positions, layout_problems
from playground.graph.serialize import model_from_dict, model_to_dict
from playground.resources import example_names, example_path

# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def normalised(doc: dict[str, Any]) -> dict[str, Any]:
    return model_from_dict(copy.deepcopy(doc)).to_dict()


def example(name: str) -> GraphModel:
    return load(example_path(name))


def ids_of(model: GraphModel, *names: str) -> list[str]:
    return [model.by_name(n).id for n in names]


class Mirror:
    """What a scene knows: a copy of the model built from the model's events only. It asserts
    the order a scene relies on (wires leave before their nodes, arrive after them)."""

    def __init__(self, model: GraphModel) -> None:
        self.nodes = {nid: self._node(n) for nid, n in model.nodes.items()}
        self.edges = {e.id: (e.src, e.dst, e.port) for e in model.edges.values()}
        self.meta = copy.deepcopy(model.meta)
        self.dtype = model.dtype
        self.counts: Counter[str] = Counter()
        self.first: Counter[str] = Counter()  # counts after the first apply (apply_and_undo)
        for name in GraphModel.EVENTS:
            getattr(model, name).connect(getattr(self, f"_on_{name}"))

    @staticmethod
    def _node(n: Any) -> dict[str, Any]:
        return {"op": n.op, "name": n.name, "params": copy.deepcopy(n.params),
                "position": tuple(n.position),
                "body": None if n.body is None else model_to_dict(n.body, top=False)}

    def _on_node_added(self, node: Any) -> None:
        self.counts["node_added"] += 1
        assert node.id not in self.nodes
        self.nodes[node.id] = self._node(node)

    def _on_node_removed(self, node: Any) -> None:
        self.counts["node_removed"] += 1
        assert not [e for e in self.edges.values() if node.id in e[:2]], "wires left on a node"
        del self.nodes[node.id]

    def _on_edge_added(self, e: Any) -> None:
        self.counts["edge_added"] += 1
        assert e.id not in self.edges and e.src in self.nodes and e.dst in self.nodes
        self.edges[e.id] = (e.src, e.dst, e.port)

    def _on_edge_removed(self, e: Any) -> None:
        self.counts["edge_removed"] += 1
        del self.edges[e.id]

    def _on_param_changed(self, node: Any, key: str, old: Any, new: Any) -> None:
        self.counts["param_changed"] += 1
        assert self.nodes[node.id]["params"].get(key) == old
        self.nodes[node.id]["params"][key] = copy.deepcopy(new)

    def _on_node_renamed(self, node: Any, old: str, new: str) -> None:
        self.counts["node_renamed"] += 1
        assert self.nodes[node.id]["name"] == old
        assert new not in {n["name"] for n in self.nodes.values()}
        self.nodes[node.id]["name"] = new

    def _on_node_moved(self, node: Any, old: Any, new: Any) -> None:
        self.counts["node_moved"] += 1
        assert self.nodes[node.id]["position"] == tuple(old)
        self.nodes[node.id]["position"] = tuple(new)

    def _on_body_changed(self, node: Any, old: Any, new: Any) -> None:
        self.counts["body_changed"] += 1
        self.nodes[node.id]["body"] = model_to_dict(new, top=False)

    def _on_meta_changed(self, key: str, old: Any, new: Any) -> None:
        self.counts["meta_changed"] += 1
        if key == "dtype":
            self.dtype = new
        elif new is None:
            self.meta.pop(key, None)
        else:
            self.meta[key] = copy.deepcopy(new)

    def check(self, model: GraphModel) -> None:
        assert self.nodes == {nid: self._node(n) for nid, n in model.nodes.items()}
        assert self.edges == {e.id: (e.src, e.dst, e.port) for e in model.edges.values()}
        assert self.meta == model.meta
        assert self.dtype == model.dtype


def apply_and_undo(model: GraphModel, after: dict[str, Any]) -> Mirror:
    """Redo, undo, redo through apply_dict; each restores its document exactly, the mirror
    follows. Leaves the model in the ``after`` state and returns the mirror (counts from the
    first redo are in ``mirror.first``)."""
    before = copy.deepcopy(model.to_dict())
    mirror = Mirror(model)
    apply_dict(model, after)
    mirror.first = Counter(mirror.counts)
    assert model.to_dict() == normalised(after)
    mirror.check(model)
    apply_dict(model, before)
    assert model.to_dict() == before
    mirror.check(model)
    apply_dict(model, after)
    assert model.to_dict() == normalised(after)
    mirror.check(model)
    return mirror


def run(model: GraphModel, feeds: dict[str, Any] | None = None,
        output: str | None = None) -> dict[str, tuple[Any, Any]]:
    program = compile_graph(model, output=output)
    program.forward(feeds)
    program.backward(all_grads=True)
    return graph_values(model, program)


def assert_same(a: tuple[Any, Any], b: tuple[Any, Any], what: str) -> None:
    for x, y, kind in ((a[0], b[0], "value"), (a[1], b[1], "gradient")):
        assert (x is None) == (y is None), f"{kind} of {what}"
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=f"{kind} of {what}")


def canon(model: GraphModel) -> dict[str, Any]:
    """The graph up to ids and positions: per node name, its op, params, body and inputs."""
    out = {}
    for n in model.nodes.values():
        body = None if n.body is None else json.dumps(canon(n.body), sort_keys=True)
        ins = sorted((e.port, model.nodes[e.src].name) for e in model.incoming(n.id).values())
        out[n.name] = (n.op, json.dumps(n.params, sort_keys=True), body, ins)
    return out


def digits_with_values(seed: int = 0) -> GraphModel:
    """digits_mlp with explicit parameter values, so programs compiled from different documents
    start from the same weights."""
    model = example("digits_mlp")
    rng = np.random.default_rng(seed)
    for n in list(model.nodes.values()):
        if n.op == "parameter":
            shape = [int(d) for d in n.params["shape"]]
            model.set_param(n.id, "value", rng.normal(0, 0.3, shape).tolist())
    return model


def digits_feeds(seed: int = 1) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {"X": rng.normal(size=(5, 64)), "y": rng.integers(0, 10, 5).astype(float)}


# ------------------------------------------------------------------------------------------
# random documents
# ------------------------------------------------------------------------------------------

NODE_IDS = ["n1", "n2", "n3", "n4", "n5", "n6", "e1", "e2"]
EDGE_IDS = ["e1", "e2", "e3", "e4", "e5", "e6", "n1", "n2"]
NAMES = ["a", "b", "c", "W1", "W2", "x", "y", "z"]


def _body(op: str, inputs: list[str], dx: float = 100.0) -> dict[str, Any]:
    nodes = [{"id": f"n{k + 1}", "op": "input", "name": nm, "params": {"shape": [None, 3]},
              "position": [0.0, 100.0 * k]} for k, nm in enumerate(inputs)]
    out_id = f"n{len(inputs) + 1}"
    nodes.append({"id": out_id, "op": op, "name": "out", "params": {}, "position": [dx, 0.0]})
    ports = ["x"] if len(inputs) == 1 else ["a", "b"]
    edges = [{"id": f"e{k + 1}", "src": f"n{k + 1}", "dst": out_id, "port": p}
             for k, p in enumerate(ports)]
    return {"dtype": "float64", "nodes": nodes, "edges": edges}


BODIES = [_body("tanh", ["x"]), _body("tanh", ["x"], dx=150.0), _body("add", ["x", "y"])]
PORTS = {"add": ("a", "b"), "mul": ("a", "b"), "neg": ("x",), "tanh": ("x",),
         "add_const": ("x",), "input": (), "parameter": (), "constant": ()}
PARAMS = {
    "input": st.fixed_dictionaries({"shape": st.sampled_from([[None, 3], [3], []]),
                                    "value": st.sampled_from([None, 1.0, [1.0, 2.0, 3.0]])}),
    "parameter": st.fixed_dictionaries({"shape": st.sampled_from([[3], [3, 3]]),
                                        "init": st.sampled_from(["zeros", "glorot_uniform"])}),
    "constant": st.fixed_dictionaries({"value": st.sampled_from([1.0, 2.0, [1.0, 2.0]])}),
    "add_const": st.fixed_dictionaries({"c": st.sampled_from([1.0, 2.5])}),
    COMPOSITE: st.sampled_from([{}, {"note": "kept"}]),
}
META = st.dictionaries(
    st.sampled_from(["title", "description", "training"]),
    st.one_of(st.text(max_size=3), st.integers(0, 3),
              st.fixed_dictionaries({"lr": st.sampled_from([0.1, 0.2])})),
    max_size=2)


@st.composite
def documents(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(0, 6))
    node_ids = draw(st.permutations(NODE_IDS))[:n]
    names = draw(st.permutations(NAMES))[:n]
    nodes, ports = [], {}
    for nid, name in zip(node_ids, names, strict=True):
        op = draw(st.sampled_from([*PORTS, COMPOSITE]))
        params = draw(PARAMS.get(op, st.just({})))
        pos = [draw(st.sampled_from([0.0, 10.0, 20.5])), draw(st.sampled_from([0.0, 5.0]))]
        item = {"id": nid, "op": op, "name": name, "params": params, "position": pos}
        if op == COMPOSITE:
            item["body"] = draw(st.sampled_from(BODIES))
            ports[nid] = tuple(m["name"] for m in item["body"]["nodes"] if m["op"] == "input")
        else:
            ports[nid] = PORTS[op]
        nodes.append(item)
    rank = {nid: k for k, nid in enumerate(draw(st.permutations(node_ids)))}
    wires = []
    for dst in node_ids:
        earlier = [s for s in node_ids if rank[s] < rank[dst]]
        for port in ports[dst]:
            if earlier and draw(st.booleans()):
                wires.append((draw(st.sampled_from(earlier)), dst, port))
    free = [e for e in draw(st.permutations(EDGE_IDS)) if e not in node_ids]
    free += [f"w{k}" for k in range(len(wires))]
    edges = [{"id": eid, "src": s, "dst": d, "port": p}
             for eid, (s, d, p) in zip(free, draw(st.permutations(wires)), strict=False)]
    doc = {"format": "backprop-playground/graph", "version": 1,
           "dtype": draw(st.sampled_from(["float64", "float32"])), "nodes": nodes, "edges": edges}
    meta = draw(META)
    if meta:
        doc["meta"] = meta
    return doc


@st.composite
def edited(draw: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` after an edit: names permuted (swaps), params and positions redrawn, nodes and
    wires deleted, order shuffled, meta and dtype redrawn."""
    out = copy.deepcopy(doc)
    names = draw(st.permutations(NAMES))
    for n, name in zip(out["nodes"], names, strict=False):
        if draw(st.booleans()):
            n["name"] = name
    taken: Counter[str] = Counter(n["name"] for n in out["nodes"])
    spare = iter([nm for nm in NAMES if nm not in taken])
    for n in out["nodes"]:  # keep names unique: a clash takes a spare name
        if taken[n["name"]] > 1:
            taken[n["name"]] -= 1
            n["name"] = next(spare)
        if draw(st.booleans()):
            n["params"] = draw(PARAMS.get(n["op"], st.just({})))
        if draw(st.booleans()):
            n["position"] = [draw(st.sampled_from([0.0, 7.0, 20.5])), 1.0]
    gone = set(draw(st.lists(st.sampled_from([n["id"] for n in out["nodes"]] or ["-"]),
                             max_size=2)))
    out["nodes"] = draw(st.permutations([n for n in out["nodes"] if n["id"] not in gone]))
    out["edges"] = [e for e in out["edges"] if e["src"] not in gone and e["dst"] not in gone
                    and draw(st.integers(0, 3))]
    by_dst: dict[str, list[dict[str, Any]]] = {}
    for e in out["edges"]:
        by_dst.setdefault(e["dst"], []).append(e)
    for pair in by_dst.values():  # rewire under the same wire ids: swap the two ports
        if len(pair) == 2 and draw(st.booleans()):
            pair[0]["port"], pair[1]["port"] = pair[1]["port"], pair[0]["port"]
    out["edges"] = draw(st.permutations(out["edges"]))
    out["dtype"] = draw(st.sampled_from(["float64", "float32"]))
    meta = draw(META)
    out.pop("meta", None)
    if meta:
        out["meta"] = meta
    return out


PAIRS = st.one_of(st.tuples(documents(), documents()),
                  documents().flatmap(lambda a: st.tuples(st.just(a), edited(a))),
                  documents().flatmap(lambda b: st.tuples(edited(b), st.just(b))))

# ------------------------------------------------------------------------------------------
# 1. apply_dict
# ------------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PAIRS)
def test_apply_dict_reaches_any_document_and_back(pair: Any) -> None:
    a, b = pair
    model = model_from_dict(copy.deepcopy(a))
    mirror = apply_and_undo(model, b)
    # nodes replaced (gone, new, other op/body) are the only nodes removed and added
    na = {n["id"]: n for n in a["nodes"]}
    nb = {n["id"]: n for n in b["nodes"]}
    kept = {i for i in na.keys() & nb.keys()
            if na[i]["op"] == nb[i]["op"] and na[i].get("body") == nb[i].get("body")
            and (na[i]["op"] != COMPOSITE or na[i]["params"] == nb[i]["params"])}
    assert mirror.first["node_added"] == len(nb) - len(kept)
    assert mirror.first["node_removed"] == len(na) - len(kept)
    # the next fresh id is above every id the document uses
    used = [int(m.group(1)) for i in [*nb, *(e["id"] for e in b["edges"])]
            if (m := re.search(r"(\d+)$", i))]
    fresh = model.new_id("n")
    assert int(fresh[1:]) > max(used, default=0)


def test_apply_dict_swaps_names_with_renames_only() -> None:
    model = example("square_of_sum")  # x, y, q, f
    target = model.to_dict()
    names = {"x": "y", "y": "q", "q": "x"}  # a three-cycle of names, plus a move
    for n in target["nodes"]:
        n["name"] = names.get(n["name"], n["name"])
    target["nodes"][3]["position"] = [5.0, 6.0]
    mirror = apply_and_undo(model, target)
    assert mirror.first["node_added"] == mirror.first["node_removed"] == 0
    assert mirror.first["edge_added"] == mirror.first["edge_removed"] == 0
    assert mirror.first["node_moved"] == 1
    assert mirror.first["node_renamed"] >= 3
    assert [n.name for n in model.nodes.values()] == ["y", "q", "x", "f"]


def test_apply_dict_sets_changed_params_one_by_one() -> None:
    model = example("sigmoid_neuron")
    target = model.to_dict()
    plus1 = next(n for n in target["nodes"] if n["name"] == "plus1")
    plus1["params"]["c"] = 2.0
    target["nodes"][0]["params"]["value"] = 4.0
    mirror = apply_and_undo(model, target)
    assert mirror.first["param_changed"] == 2
    assert mirror.first["node_added"] == mirror.first["node_removed"] == 0
    assert model.by_name("plus1").params["c"] == 2.0


def test_apply_dict_restores_deleted_nodes_in_their_place() -> None:
    model = example("digits_mlp")
    before = copy.deepcopy(model.to_dict())
    model.remove_node(model.by_name("z1").id)
    model.remove_node(model.by_name("W1").id)
    mirror = Mirror(model)
    apply_dict(model, before)  # the undo of a delete
    assert model.to_dict() == before  # order of nodes and wires included
    assert mirror.counts["node_added"] == 2 and mirror.counts["edge_added"] == 4
    mirror.check(model)


def test_apply_dict_rewires_a_wire_that_keeps_its_id() -> None:
    model = example("square_of_sum")  # q = x + y, f = q²
    target = model.to_dict()
    x_to_q = next(e for e in target["edges"] if e["port"] == "a")
    y_to_q = next(e for e in target["edges"] if e["port"] == "b")
    x_to_q["port"], y_to_q["port"] = "b", "a"
    mirror = apply_and_undo(model, target)
    assert mirror.first["edge_removed"] == mirror.first["edge_added"] == 2
    assert model.edges[x_to_q["id"]].port == "b"


def test_apply_dict_dtype_and_meta_emit_meta_changed() -> None:
    model = example("square_of_sum")
    seen: list[tuple[str, Any, Any]] = []
    model.meta_changed.connect(lambda k, o, n: seen.append((k, o, n)))
    target = model.to_dict()
    target["dtype"] = "float32"
    target["meta"] = {"title": "new", "output": "f"}
    apply_dict(model, target)
    assert ("dtype", "float64", "float32") in seen
    assert ("output", None, "f") in seen
    assert ("description", example("square_of_sum").meta["description"], None) in seen
    assert model.to_dict() == normalised(target)


def test_apply_dict_refuses_a_bad_target_and_changes_nothing() -> None:
    model = example("sigmoid_neuron")
    before = copy.deepcopy(model.to_dict())
    mirror = Mirror(model)
    bad = copy.deepcopy(before)
    bad["nodes"].pop(0)  # wires now start at a missing node
    bad["nodes"][0]["name"] = "renamed"
    with pytest.raises(FileFormatError, match="does not exist"):
        apply_dict(model, bad)
    assert model.to_dict() == before
    assert sum(mirror.counts.values()) == 0


def test_apply_dict_keeps_no_reference_to_the_target() -> None:
    model = GraphModel()
    target = example("digits_mlp").to_dict()
    apply_dict(model, target)
    target["meta"]["training"]["lr"] = 99.0
    target["nodes"][0]["params"]["shape"][1] = 3
    assert model.meta["training"]["lr"] != 99.0
    assert model.by_name("X").params["shape"] == [None, 64]


# ------------------------------------------------------------------------------------------
# 2-3. copy, paste, duplicate
# ------------------------------------------------------------------------------------------


def test_copy_selection_keeps_only_wires_between_selected_nodes() -> None:
    model = example("digits_mlp")
    sel = ids_of(model, "W1", "z1", "h1", "probs")
    clip = copy_selection(model, sel)
    assert [n["id"] for n in clip["nodes"]] == [i for i in model.nodes if i in sel]
    inside = {(e.src, e.dst, e.port) for e in model.edges.values()
              if e.src in sel and e.dst in sel}
    assert {(e["src"], e["dst"], e["port"]) for e in clip["edges"]} == inside
    assert len(inside) == 2  # W1→z1, z1→h1
    model_from_dict(clip)  # a clipboard is a valid document
    with pytest.raises(UnknownNodeError):
        copy_selection(model, ["nope"])


def test_paste_adds_fresh_ids_unique_names_offset_and_wires() -> None:
    model = example("digits_mlp")
    sel = ids_of(model, "W1", "b1", "z1", "h1")
    after, new = paste(model, copy_selection(model, sel), offset=(40, 60))
    assert not set(new) & (set(model.nodes) | set(model.edges))
    doc = model_from_dict(after)
    assert set(doc.nodes) == set(model.nodes) | set(new)
    for old, nid in zip(sel, new, strict=True):
        src, got = model.nodes[old], doc.nodes[nid]
        assert got.op == src.op and got.params == src.params
        assert got.position == (src.position[0] + 40, src.position[1] + 60)
    # names as unique_name makes them: W1 -> W3 (W2 is taken), b1 -> b3, z1 -> z3, h1 -> h2
    assert [doc.nodes[i].name for i in new] == ["W3", "b3", "z3", "h2"]
    names = [n.name for n in doc.nodes.values()]
    assert len(names) == len(set(names))
    wires = {(e.src, e.dst, e.port) for e in doc.edges.values() if e.dst in new}
    m = dict(zip(sel, new, strict=True))
    assert wires == {(m[e.src], m[e.dst], e.port) for e in model.edges.values()
                     if e.src in sel and e.dst in sel}
    mirror = apply_and_undo(model, after)
    assert mirror.first["node_added"] == 4 and mirror.first["edge_added"] == 3
    assert mirror.first["node_removed"] == mirror.first["edge_removed"] == 0


def test_duplicate_of_a_whole_graph_computes_the_same_value() -> None:
    model = example("sigmoid_neuron")
    f = model.by_name("f").id
    after, new = duplicate(model, list(model.nodes))
    apply_and_undo(model, after)
    new_f = new[[n for n in model.nodes if n not in new].index(f)]  # same clipboard order
    a, b = run(model, output=f), run(model, output=new_f)
    assert_same(a[f], b[new_f], "f and its copy")
    assert_same(a[model.by_name("w0").id], b[new[0]], "w0 and its copy")


def test_paste_copies_composite_bodies_and_refuses_bad_clips() -> None:
    model = example("sigmoid_neuron")
    g_after, cid = group(model, ids_of(model, "neg", "exp", "plus1", "f"))
    apply_dict(model, g_after)
    after, (new,) = duplicate(model, [cid])
    doc = model_from_dict(after)
    assert doc.nodes[new].op == COMPOSITE
    assert model_to_dict(doc.nodes[new].body, top=False) == model_to_dict(model.nodes[cid].body,
                                                                          top=False)
    assert doc.nodes[new].body is not model.nodes[cid].body
    with pytest.raises(FileFormatError):
        paste(model, {"nodes": [{"id": "a", "op": "nonsense"}]})


# ------------------------------------------------------------------------------------------
# 4-5. group and ungroup
# ------------------------------------------------------------------------------------------


def check_group_preserves_values(model: GraphModel, names: list[str], feeds: Any = None,
                                 expect_ports: list[str] | None = None) -> tuple[GraphModel, str]:
    sel = ids_of(model, *names)
    ref = run(model, feeds)
    after, cid = group(model, sel)
    apply_and_undo(model, after)
    body = model.nodes[cid].body
    out_name = body.nodes[body.composite_output()].name
    if expect_ports is not None:
        assert list(model.input_ports(cid)) == expect_ports
    got = run(model, feeds)
    common = set(ref) & set(got)
    assert common == set(model.nodes) - {cid}
    for nid in common:
        assert_same(ref[nid], got[nid], model.nodes[nid].name)
    # the composite stands for the selected node that was its output
    orig = {n: i for n, i in zip(names, sel, strict=True)}
    out_id = orig[out_name]
    assert_same(ref[out_id], got[cid], f"group vs {out_name}")
    return model, cid


def test_group_sigmoid_chain_keeps_every_value_and_gradient() -> None:
    model = example("sigmoid_neuron")
    pos = [model.by_name(n).position for n in ("neg", "exp", "plus1", "f")]
    model, cid = check_group_preserves_values(model, ["neg", "exp", "plus1", "f"],
                                              expect_ports=["z"])
    comp = model.nodes[cid]
    assert comp.position == pytest.approx(tuple(np.mean(pos, axis=0)))
    body = comp.body
    assert body.meta["output"] == body.by_name("f").id
    inner = {n.name: n.position for n in body.nodes.values() if n.op != "input"}
    for name, p in zip(("neg", "exp", "plus1", "f"), pos, strict=True):
        assert (inner[name][0] + comp.position[0], inner[name][1] + comp.position[1]) == \
            pytest.approx(p)
    port = body.by_name("z")
    assert port.op == "input" and port.params["shape"] == []
    assert len(model.nodes) == 10 and model.output_node() == cid


def test_group_digits_hidden_layer_keeps_every_value_and_gradient() -> None:
    model, cid = check_group_preserves_values(digits_with_values(), ["z1", "h1"], digits_feeds(),
                                              expect_ports=["X", "W1", "b1"])
    ports = {n.name: n.params["shape"] for n in model.nodes[cid].body.nodes.values()
             if n.op == "input"}
    assert ports == {"X": [None, 64], "W1": [64, 64], "b1": [64]}
    assert [model.nodes[e.dst].name for e in model.outgoing(cid)] == ["z2"]


def test_group_ports_do_not_overlap_and_the_group_gets_a_fresh_id() -> None:
    model = example("digits_mlp")
    after, cid = group(model, ids_of(model, "z1", "h1"))
    body = model_from_dict(after).nodes[cid].body
    ports = sorted(n.position[1] for n in body.nodes.values() if n.op == "input")
    assert len(ports) == 3 and all(b - a >= 130.0 for a, b in itertools.pairwise(ports))
    # ids are never reused, even when the model's id counter is low (ids from a file)
    doc = {"nodes": [{"id": "n3", "op": "input", "name": "x", "params": {"shape": []}},
                     {"id": "n4", "op": "neg", "name": "m"}],
           "edges": [{"id": "n5", "src": "n3", "dst": "n4", "port": "x"}]}
    small = model_from_dict(doc)
    assert small._counter == 3
    after, cid = group(small, ["n4"])
    assert cid not in {"n3", "n4", "n5"}
    assert not {e["id"] for e in after["edges"]} & {"n3", "n4", "n5"}
    after, new = ungroup(model_from_dict(after), cid)
    assert not set(new) & {"n3", "n4", "n5", cid}


def test_group_moves_selected_parameters_inside_and_leaves_inputs_outside() -> None:
    model, cid = check_group_preserves_values(digits_with_values(), ["X", "W1", "b1", "z1", "h1"],
                                              digits_feeds(), expect_ports=["X"])
    assert "X" in {n.name for n in model.nodes.values()}
    assert {"W1", "b1"} <= {n.name for n in model.nodes[cid].body.nodes.values()}
    assert "W1" not in {n.name for n in model.nodes.values()}


def test_group_of_the_graph_output_points_the_output_at_the_group() -> None:
    model = digits_with_values()
    model, cid = check_group_preserves_values(model, ["loss"], digits_feeds())
    assert model.output_node() == cid
    assert model.meta["output"] == cid  # two sinks now (group, probs): named explicitly


def test_group_refuses_what_it_cannot_do() -> None:
    model = example("sigmoid_neuron")
    with pytest.raises(GraphError, match="select the nodes"):
        group(model, [])
    with pytest.raises(GraphError, match="input nodes stay outside"):
        group(model, ids_of(model, "w0", "x0"))
    with pytest.raises(CycleError, match="loop: 'sum01'"):
        group(model, ids_of(model, "w0x0", "z"))
    with pytest.raises(GraphError, match="one output; .*feed outside: w0x0, w1x1"):
        group(model, ids_of(model, "w0x0", "w1x1"))
    digits = example("digits_mlp")
    with pytest.raises(GraphError, match="'loss' is the graph's output"):
        group(digits, ids_of(digits, "z2", "loss"))
    digits.disconnect(digits.edge_into(digits.by_name("z1").id, "b").id)
    with pytest.raises(GraphError, match="shape of 'z1'.*not known"):
        group(digits, ids_of(digits, "h1"))
    with pytest.raises(GraphError, match="connect input 'b' of 'z1'"):
        group(digits, ids_of(digits, "z1", "h1"))
    with pytest.raises(UnknownNodeError):
        group(digits, ["nope"])


def test_group_then_ungroup_restores_the_graph_and_its_values() -> None:
    model = digits_with_values()
    canon_before, feeds = canon(model), digits_feeds()
    pos_before = {n.name: n.position for n in model.nodes.values()}
    ref = {model.nodes[i].name: v for i, v in run(model, feeds).items()}
    after, cid = group(model, ids_of(model, "W1", "b1", "z1", "h1"))
    apply_dict(model, after)
    after2, new = ungroup(model, cid)
    mirror = apply_and_undo(model, after2)
    assert mirror.first["node_removed"] == 1 and mirror.first["node_added"] == 4
    assert set(new) == set(ids_of(model, "W1", "b1", "z1", "h1"))
    assert canon(model) == canon_before
    pos_after = {n.name: n.position for n in model.nodes.values()}
    assert pos_after.keys() == pos_before.keys()
    for name, pos in pos_after.items():
        assert pos == pytest.approx(pos_before[name]), name
    got = {model.nodes[i].name: v for i, v in run(model, feeds).items()}
    assert got.keys() == ref.keys()
    for name, value in ref.items():
        assert_same(value, got[name], name)


def test_ungroup_keeps_unwired_ports_as_inputs_and_repoints_the_output() -> None:
    body = model_from_dict(_body("add", ["p", "q"]))
    body.meta["output"] = body.by_name("out").id
    model = GraphModel()
    c = model.add_node("constant", "c", {"value": 2.0})
    g = model.add_node(COMPOSITE, "g", {}, (500.0, 50.0), body=body)
    model.connect(c.id, g.id, "p", check_shapes=False)
    model.set_meta("output", "g")
    after, new = ungroup(model, g.id)
    doc = model_from_dict(after)
    assert sorted(doc.nodes[i].name for i in new) == ["out", "q"]
    q = doc.by_name("q")
    assert q.op == "input" and doc.edge_into(doc.by_name("out").id, "b").src == q.id
    assert doc.edge_into(doc.by_name("out").id, "a").src == c.id
    assert doc.meta["output"] == doc.by_name("out").id
    # placed around the composite: the inner centroid lands on the composite's position
    pts = [doc.nodes[i].position for i in new]
    assert tuple(np.mean(pts, axis=0)) == pytest.approx((500.0, 50.0))
    with pytest.raises(GraphError, match="not a group"):
        ungroup(model, c.id)


SCALAR_OPS = ["add", "mul", "neg", "tanh", "sigmoid", "add_const"]


@st.composite
def scalar_graphs(draw: Any) -> tuple[dict[str, Any], list[str]]:
    """A random complete graph of scalar gates with one sink, and a random selection."""
    model = GraphModel()
    ids = []
    for k in range(draw(st.integers(1, 3))):
        n = model.add_node("input", f"i{k}", {"shape": [], "value": draw(
            st.floats(0.2, 1.5))}, (0.0, 100.0 * k))
        ids.append(n.id)
    for k in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(SCALAR_OPS))
        n = model.add_node(op, f"g{k}", {}, (200.0 * (k + 1), draw(st.sampled_from([0.0, 90.0]))))
        for port in model.input_ports(n):
            model.connect(draw(st.sampled_from(ids)), n.id, port)
        ids.append(n.id)
    while len(model.sinks()) > 1:  # join the sinks so the graph has one output
        a, b = model.sinks()[:2]
        n = model.add_node("add", None, {}, (2000.0, 0.0))
        model.connect(a, n.id, "a")
        model.connect(b, n.id, "b")
    sel = draw(st.lists(st.sampled_from(list(model.nodes)), min_size=1, unique=True))
    return model.to_dict(), sel


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scalar_graphs())
def test_group_and_ungroup_preserve_values_on_random_graphs(case: Any) -> None:
    doc, sel = case
    model = model_from_dict(doc)
    ref = run(model)
    try:
        after, cid = group(model, sel)
    except GraphError as exc:
        inside = [i for i in sel if model.nodes[i].op != "input"]
        msg = str(exc)
        if "feed outside" in msg:
            assert sum(any(e.dst not in sel for e in model.outgoing(i)) for i in inside) > 1
        elif "loop" in msg:
            assert isinstance(exc, CycleError)
        elif "input nodes stay outside" in msg:
            assert not inside
        else:
            assert "one output" in msg or "graph's output" in msg, msg
        return
    apply_dict(model, after)
    got = run(model)
    for nid in set(ref) & set(got):
        assert_same(ref[nid], got[nid], nid)
    out_name = model.nodes[cid].body.nodes[model.nodes[cid].body.composite_output()].name
    assert_same(ref[model_from_dict(doc).by_name(out_name).id], got[cid], "group")
    after2, _new = ungroup(model, cid)
    apply_dict(model, after2)
    assert canon(model) == canon(model_from_dict(doc))
    back = {model.nodes[i].name: v for i, v in run(model).items()}
    orig = model_from_dict(doc)
    for nid, v in ref.items():
        assert_same(v, back[orig.nodes[nid].name], orig.nodes[nid].name)


# ------------------------------------------------------------------------------------------
# 6. auto layout
# ------------------------------------------------------------------------------------------


def check_layout(model: GraphModel) -> GraphModel:
    """auto_layout moves nodes only, to a layout with no overlaps and left-to-right wires
    (tests/graph/test_layout.py checks the layout itself), and undoes exactly."""
    after = auto_layout(model)
    def strip(d: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in n.items() if k != "position"} for n in d["nodes"]]

    assert strip(after) == strip(model.to_dict())
    assert {k: v for k, v in after.items() if k != "nodes"} == \
        {k: v for k, v in model.to_dict().items() if k != "nodes"}
    doc = model_from_dict(after)
    assert [p for p in layout_problems(doc) if "passes through" not in p] == []
    apply_and_undo(model, after)
    return doc


@pytest.mark.parametrize("name", example_names())
def test_auto_layout_of_every_example(name: str) -> None:
    doc = check_layout(example(name))
    assert layout_problems(doc) == []
    assert {nid: n.position for nid, n in doc.nodes.items()} == \
        {nid: (float(x), float(y)) for nid, (x, y) in layered_positions(example(name)).items()}


def test_auto_layout_orders_layers_to_remove_crossings() -> None:
    model = GraphModel()
    a1 = model.add_node("input", "a1", {"shape": []}, (0, 0))
    a2 = model.add_node("input", "a2", {"shape": []}, (0, 100))
    b2 = model.add_node("neg", "b2", {}, (200, 0))  # stacked crosswise on purpose
    b1 = model.add_node("neg", "b1", {}, (200, 100))
    c2 = model.add_node("tanh", "c2", {}, (400, 0))
    c1 = model.add_node("tanh", "c1", {}, (400, 100))
    for s, d in ((a1, b1), (a2, b2), (b1, c1), (b2, c2)):
        model.connect(s.id, d.id, "x")
    doc = check_layout(model)
    y = {n.name: n.position[1] for n in doc.nodes.values()}
    assert (y["a1"] < y["a2"]) == (y["b1"] < y["b2"]) == (y["c1"] < y["c2"])


@settings(max_examples=100, deadline=None)
@given(documents())
def test_auto_layout_never_overlaps_on_random_graphs(doc: dict[str, Any]) -> None:
    check_layout(model_from_dict(doc))


# ------------------------------------------------------------------------------------------
# 7. MLP builder
# ------------------------------------------------------------------------------------------


def test_parse_sizes() -> None:
    assert parse_sizes("64, 32") == [64, 32]
    assert parse_sizes(" 8 16,4 ") == [8, 16, 4]
    assert parse_sizes("") == []
    for bad in ("64, x", "0", "-3", "2.5", "1,,a", "99999999"):
        with pytest.raises(GraphError, match="not a layer size"):
            parse_sizes(bad)


def test_build_mlp_structure() -> None:
    model = GraphModel()
    after, ids = build_mlp(model, 4, [16, 8], "relu", 3, "softmax_cross_entropy",
                           origin=(100, 50))
    mirror = apply_and_undo(model, after)
    assert mirror.first["node_added"] == len(ids) == len(model.nodes)
    names = {n.name: n for n in model.nodes.values()}
    assert set(names) == {"X", "W1", "b1", "z1", "h1", "W2", "b2", "z2", "h2", "W3", "b3", "z3",
                          "probs", "y", "loss"}
    assert names["X"].params["shape"] == [None, 4]
    assert [names[f"W{k}"].params["shape"] for k in (1, 2, 3)] == [[4, 16], [16, 8], [8, 3]]
    assert [names[f"W{k}"].params["init"] for k in (1, 2, 3)] == \
        ["he_normal", "he_normal", "glorot_uniform"]
    assert all(names[f"b{k}"].params["init"] == "zeros" for k in (1, 2, 3))
    assert names["h1"].op == "relu" and names["y"].params["shape"] == [None]
    assert names["X"].position == (100.0, 50.0)
    chain = [names[n].position[0] for n in ("X", "z1", "h1", "z2", "h2", "z3", "loss")]
    assert chain == sorted(chain) and len(set(chain)) == len(chain)
    analysis = model.analyse()
    assert not analysis.problems
    assert analysis.shapes[names["probs"].id] == (None, 3)
    assert model.output_node() == names["loss"].id


@pytest.mark.parametrize("loss,op,target", [("mse", "mse", [None, 2]),
                                            ("binary_cross_entropy", "binary_cross_entropy",
                                             [None, 2]),
                                            ("none", None, None)])
def test_build_mlp_other_losses_compile_and_run(loss: str, op: str | None, target: Any) -> None:
    model = GraphModel()
    after, _ = build_mlp(model, 3, [5], "sigmoid", 2, loss)
    apply_dict(model, after)
    rng = np.random.default_rng(0)
    feeds: dict[str, Any] = {"X": rng.normal(size=(4, 3))}
    if op is not None:
        assert model.by_name("loss").op == op
        assert model.by_name("y").params["shape"] == target
        feeds["y"] = rng.uniform(0.1, 0.9, size=(4, 2))
    else:
        assert "loss" not in {n.name for n in model.nodes.values()}
    if loss == "binary_cross_entropy":
        probs = model.by_name("probs")
        assert probs.op == "sigmoid"
        assert model.edge_into(model.by_name("loss").id, "pred").src == probs.id
    program = compile_graph(model)
    out = program.forward(feeds)
    assert np.all(np.isfinite(out))
    if op is None:
        assert out.shape == (4, 2)


def test_build_mlp_names_stay_unique_in_a_full_model() -> None:
    model = example("digits_mlp")
    after, ids = build_mlp(model, 64, [10], "tanh", 10, "softmax_cross_entropy",
                           origin=(0, 800), prefix="b_")
    doc = model_from_dict(after)
    new_names = [doc.nodes[i].name for i in ids]
    assert new_names[0] == "b_X" and all(n.startswith("b_") for n in new_names)
    after2, ids2 = build_mlp(model, 64, [10], "tanh", 10, "none")
    doc2 = model_from_dict(after2)
    names = [n.name for n in doc2.nodes.values()]
    assert len(names) == len(set(names))
    assert not set(ids2) & set(model.nodes)
    apply_and_undo(model, after2)


def test_build_mlp_refuses_bad_settings() -> None:
    model = GraphModel()
    with pytest.raises(GraphError, match="activation"):
        build_mlp(model, 2, [4], "swish", 2, "mse")
    with pytest.raises(GraphError, match="loss"):
        build_mlp(model, 2, [4], "tanh", 2, "hinge")
    with pytest.raises(GraphError, match="at least 2"):
        build_mlp(model, 2, [4], "tanh", 1, "softmax_cross_entropy")
    with pytest.raises(GraphError, match="hidden layer size"):
        build_mlp(model, 2, [0], "tanh", 2, "mse")
    with pytest.raises(GraphError, match="input width"):
        build_mlp(model, True, [4], "tanh", 2, "mse")
    assert not model.nodes


def test_build_mlp_trains_on_moons() -> None:
    from playground.training import TrainConfig, Trainer
    from playground.training.datasets import load_dataset, split

    data = split(load_dataset("moons", n_samples=200, seed=0), val_fraction=0.3, seed=0)
    model = GraphModel()
    after, _ = build_mlp(model, 2, [8], "tanh", 2, "softmax_cross_entropy")
    apply_dict(model, after)
    program = compile_graph(model)
    trainer = Trainer(program, data, TrainConfig(epochs=30, batch_size=16, lr=0.1,
                                                 optimizer="momentum", seed=0))
    loss0, _ = trainer.evaluate(trainer.X_train, trainer.T_train, data.y_train)
    records = [m for m in trainer.steps() if m.epoch_end]
    assert records[-1].train_loss < 0.6 * loss0, (loss0, [r.train_loss for r in records])
    assert records[-1].val_accuracy > 0.8
