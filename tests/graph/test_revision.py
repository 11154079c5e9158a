"""GraphModel.revision: up with every event, never repeating a state's number (the cache key of
compiled programs, evaluations and math cards); apply/reorder/set_dtype through the model."""

from __future__ import annotations

import pytest

from playground.graph import GraphError, GraphModel, load
from playground.resources import example_path


def _small() -> GraphModel:
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [], "value": 1.0})
    y = m.add_node("input", "y", {"shape": [], "value": 2.0})
    q = m.add_node("add", "q")
    m.connect(x.id, q.id, "a")
    m.connect(y.id, q.id, "b")
    return m


def test_every_event_raises_the_revision_before_the_listeners_hear_it():
    m = _small()
    seen: list[tuple[str, int]] = []
    for name in GraphModel.EVENTS:
        getattr(m, name).connect(lambda *a, name=name: seen.append((name, m.revision)))
    start = m.revision
    x = m.by_name("x").id
    steps = [lambda: m.set_param(x, "value", 3.0), lambda: m.rename(x, "x1"),
             lambda: m.move_node(x, (10, 20)), lambda: m.set_meta("note", "hi"),
             lambda: m.add_node("mul", "p"), lambda: m.set_dtype("float32")]
    for k, step in enumerate(steps, 1):
        step()
        assert m.revision == start + k
        assert seen[-1][1] == m.revision  # a listener sees the new revision
    m.move_node(x, (10, 20))  # no change, no event, same revision
    assert m.revision == start + len(steps)


def test_undo_then_a_different_edit_never_repeats_a_revision():
    m = _small()
    before = m.to_dict()
    m.add_node("tanh", "t")
    after_first = m.revision
    m.apply(before)  # undo
    m.add_node("sigmoid", "s")  # a different edit: the undo index would be the same again
    assert m.revision > after_first
    assert len({after_first, m.revision}) == 2


def test_apply_reaches_the_target_exactly_through_the_mutators():
    m = load(example_path("square_of_sum"))
    target = load(example_path("sigmoid_neuron")).to_dict()
    target["dtype"] = "float32"
    events: list[str] = []
    for name in GraphModel.EVENTS:
        getattr(m, name).connect(lambda *a, name=name: events.append(name))
    r0 = m.revision
    m.apply(target)
    assert m.to_dict() == GraphModel.from_dict(target).to_dict()
    assert m.dtype == "float32" and "meta_changed" in events
    assert m.revision >= r0 + len(events)
    new = m.add_node("add")  # ids handed out after apply never collide with the target's
    assert new.id not in {n["id"] for n in target["nodes"]} | {e["id"] for e in target["edges"]}


def test_reorder_changes_the_revision_but_refuses_a_partial_order():
    m = _small()
    ids, edges = list(m.nodes), list(m.edges)
    r = m.revision
    m.reorder(reversed(ids), edges)
    assert list(m.nodes) == ids[::-1] and m.revision == r + 1
    with pytest.raises(GraphError):
        m.reorder(ids[:1], edges)
    with pytest.raises(GraphError):
        m.set_dtype("float16")
