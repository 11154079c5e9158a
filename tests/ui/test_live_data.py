"""What the canvas gets of a live run (ui/training/live_data.py), checked against independent
forward and backward passes of a freshly compiled program on the same weights and data."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from playground.engine.digest import digest
from playground.graph import compile_graph, load
from playground.graph.health import health_by_index
from playground.resources import example_path
from playground.training import Trainer, TrainConfig, bind
from playground.training.loop import encode_targets
from playground.training.workbench import make_split, read_training
from playground.ui.training.live_data import (
    GRADIENT_KINDS,
    MAP_GRID,
    fold_into_gates,
    live_canvas,
    map_nodes,
    plane_of,
)


def trained(example: str, steps: int, **data_overrides):
    model = load(example_path(example))
    data, config = read_training(model.meta.get("training"), **data_overrides)
    if data.features:
        from playground.graph.builders import with_input_width

        x = next(n for n in model.nodes.values() if n.name == "X")
        model.apply(with_input_width(model, x.id, len(data.features))[0])
    program = compile_graph(model)
    split = make_split(data, program)
    trainer = Trainer(program, split, config)
    gen = trainer.steps()
    for _ in range(steps):
        next(gen)
    return model, program, split, trainer


def independent(model, trainer, X, T):
    """A new float64 program with the trainer's weights, run on X, T with every gate."""
    p = compile_graph(model, dtype="float64")
    p.set_params({k: np.array(v) for k, v in trainer.program.param_arrays(False).items()})
    b = bind(p, trainer.split)
    p.set_input(b.features, X)
    p.set_input(b.target, T)
    p.forward(all_values=True)
    p.backward(all_grads=True)
    return p


def names(program, indices):
    return [program.nodes[i].name for i in indices]


def test_the_nodes_with_maps_are_the_hidden_layers_and_the_outputs():
    _m, moons, _s, tr = trained("moons_mlp", 1)
    assert names(moons, map_nodes(moons, moons.index[tr.binding.features])) == \
        ["h1", "h2", "z3", "probs"]  # z1, z2 are pre-activations: h1, h2 show the same units
    _m, digits, _s, tr = trained("digits_mlp", 1)
    assert names(digits, map_nodes(digits, digits.index[tr.binding.features])) == \
        ["h1", "z2", "probs"]


def test_wires_carry_the_last_batch_with_the_weights_now():
    model, program, split, tr = trained("moons_mlp", 30)
    lc = live_canvas(program, tr)
    idx = tr.last_batch
    assert lc.rows == len(idx)
    ref = independent(model, tr, split.X_train[idx], tr.T_train[idx])
    for i, node in enumerate(program.nodes):
        j = ref.index[node.key]
        for have, want in ((lc.values.get(i), ref.values[j]), (lc.grads.get(i), ref.grads[j])):
            if want is None:
                continue
            d = digest(want)
            assert have.shape == d.shape, node.name
            np.testing.assert_allclose([have.mean, have.norm, have.mean_abs],
                                       [d.mean, d.norm, d.mean_abs], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(have.grid, d.grid, rtol=1e-9, atol=1e-12)
    # the health verdicts are those of that same pass
    want = {ref.nodes[i].name: h for i, h in health_by_index(ref).items()}
    assert {program.nodes[i].name: (h.kind, h.level) for i, h in lc.health.items()} == \
        {k: (h.kind, h.level) for k, h in want.items()}


def test_unit_maps_are_each_units_output_over_the_input_plane():
    model, program, split, tr = trained("moons_mlp", 50)
    lc = live_canvas(program, tr)
    xs, ys = lc.plane
    points, _to_inputs, axes = plane_of(tr)
    assert axes == ("x1", "x2")
    # the grid covers the training points with a margin
    assert xs[0] < points[:, 0].min() and xs[-1] > points[:, 0].max()
    assert ys[0] < points[:, 1].min() and ys[-1] > points[:, 1].max()
    gx, gy = np.meshgrid(xs, ys)
    X = np.column_stack([gx.ravel(), gy.ravel()])
    T = encode_targets(np.zeros(len(X), dtype=np.int64), tr.binding, 2, np.float64)
    ref = independent(model, tr, X, T)
    for name in ("h1", "h2", "z3", "probs"):
        i = program.index[next(n.id for n in model.nodes.values() if n.name == name)]
        maps = lc.maps[i]
        want = ref.values[ref.index[program.nodes[i].key]]
        assert maps.maps.shape == (want.shape[1], MAP_GRID, MAP_GRID)
        for u in (0, want.shape[1] - 1):
            np.testing.assert_allclose(maps.maps[u], want[:, u].reshape(MAP_GRID, MAP_GRID),
                                       rtol=1e-5, atol=1e-6)  # float32 maps
    h1 = lc.maps[program.index[next(n.id for n in model.nodes.values() if n.name == "h1")]]
    assert (h1.lo, h1.hi, h1.centred) == (-1.0, 1.0, True)  # tanh: a fixed scale about 0
    probs = lc.maps[program.index[next(n.id for n in model.nodes.values()
                                       if n.name == "probs")]]
    assert (probs.lo, probs.hi, probs.centred) == (0.0, 1.0, False)
    # coloured by the training thread as the canvas would colour them, the plane's y up
    from playground.ui.canvas.unitmaps import map_rgb

    for m in (h1, probs):
        assert m.rgb is not None and m.rgb.dtype == np.uint8
        np.testing.assert_array_equal(m.rgb, map_rgb(m.maps, m.lo, m.hi, m.centred)[:, ::-1])
        np.testing.assert_array_equal(m.rgb[0, -1], map_rgb(m.maps[0, 0], m.lo, m.hi, m.centred))


def test_unit_map_colours_follow_the_colour_table_value_by_value():
    """map_rgb against a plain per-value loop: centred maps put 0 at the middle entry and
    ±max(|lo|, |hi|) at the ends; the others run from lo (entry 0) to hi (entry 255); NaN is
    drawn as 0 and infinities as the ends."""
    from playground.ui.canvas.unitmaps import MAP_LUT, map_rgb

    rng = np.random.default_rng(3)
    m = (rng.standard_normal((3, 5, 7)) * 1.4).astype(np.float32)
    m[0, 0, :3] = [np.nan, np.inf, -np.inf]
    for lo, hi, centred in ((-1.0, 1.0, True), (-2.5, 0.5, True), (0.0, 2.0, False),
                            (0.2, 0.9, False)):
        got = map_rgb(m, lo, hi, centred)
        assert got.shape == (*m.shape, 3) and got.dtype == np.uint8
        for k, v in np.ndenumerate(m):
            v = float(v)
            v = 0.0 if math.isnan(v) else hi if v == math.inf else lo if v == -math.inf else v
            if centred:
                scale = max(abs(lo), abs(hi))
                t = v * (127.5 / scale) + 127.5
            else:
                t = (v - lo) * (255.0 / (hi - lo))
            want = MAP_LUT[min(255, max(0, round(t)))]
            assert tuple(got[k]) == tuple(want), (k, v, lo, hi, centred)


def test_with_feature_inputs_the_maps_span_the_raw_plane():
    model, program, split, tr = trained("moons_mlp", 20, features=("x1", "x2", "x1*x2", "sin(x1)"))
    assert tr.X_train.shape[1] == 4
    lc = live_canvas(program, tr)
    points, to_inputs, _axes = plane_of(tr)
    raw = split.dataset.X[split.train_index]
    np.testing.assert_array_equal(points, raw)  # the data's own units, not the 4 inputs
    xs, ys = lc.plane
    gx, gy = np.meshgrid(xs, ys)
    X = to_inputs(np.column_stack([gx.ravel(), gy.ravel()]))
    assert X.shape == (MAP_GRID * MAP_GRID, 4)
    T = encode_targets(np.zeros(len(X), dtype=np.int64), tr.binding, 2, np.float64)
    ref = independent(model, tr, X, T)
    i = program.index[next(n.id for n in model.nodes.values() if n.name == "h1")]
    np.testing.assert_allclose(lc.maps[i].maps[3],
                               ref.values[ref.index[program.nodes[i].key]][:, 3].reshape(
                                   MAP_GRID, MAP_GRID), rtol=1e-5, atol=1e-6)


def test_other_data_gets_histograms_and_digits_saturated_h1_is_pointed_out():
    model, program, split, tr = trained("digits_mlp", 40)  # one epoch
    lc = live_canvas(program, tr)
    assert lc.maps == {} and lc.plane is None
    h1 = program.index[next(n.id for n in model.nodes.values() if n.name == "h1")]
    hist = lc.histograms[h1]
    assert hist.counts.sum() == lc.rows * 64 and hist.units == 64
    assert (hist.edges[0], hist.edges[-1]) == (0.0, 1.0)  # σ's range
    # the lesson: "about one h1 value in ten is saturated" — pointed out, not called a problem
    health = lc.health[h1]
    assert health.kind == "saturated_sigmoid" and health.level == "notice"
    assert 0.05 <= health.value < 0.5 and health.badge.startswith("saturated ")


@pytest.mark.parametrize("steps", [0, 1])
def test_before_the_first_step_the_next_batch_is_shown(steps):
    model, program, split, tr = trained("moons_mlp", steps)
    nxt = tr.next_batch()
    lc = live_canvas(program, tr)
    assert lc.rows == len(tr.last_batch if steps else nxt)


def _consumers(program):
    out = {}
    for j, node in enumerate(program.nodes):
        for i in node.inputs:
            out.setdefault(i, []).append(j)
    return out


def test_a_layers_vanishing_parameters_are_named_by_its_gate_not_badged_alone():
    """moons at lr 50: tanh saturates, every gradient vanishes. W1 and b1 say so through z1's
    badge (whose explanation names them), not with badges of their own; gates keep theirs; a
    parameter whose gate is fine keeps its own badge."""
    model = load(example_path("moons_mlp"))
    data, config = read_training(model.meta.get("training"))
    program = compile_graph(model)
    trainer = Trainer(program, make_split(data, program), dataclasses.replace(config, lr=50.0))
    gen = trainer.steps()
    for _ in range(200):
        next(gen)
    raw = health_by_index(program)
    users = _consumers(program)
    params = [i for i, h in raw.items() if program.nodes[i].spec.role == "parameter"
              and h.kind in GRADIENT_KINDS]
    assert len(params) >= 4  # the scene this is about: W1, b1, W2, b2 ... vanishing
    folded = fold_into_gates(program, raw)
    for i, h in raw.items():
        if i in params and all(raw[j].kind == h.kind for j in users[i]):
            assert i not in folded
            for j in users[i]:
                assert program.nodes[i].name in folded[j].explanation
                assert folded[j].kind == raw[j].kind and folded[j].badge == raw[j].badge
        else:
            assert folded[i].kind == h.kind and folded[i].badge == h.badge
    assert len(folded) < len(raw)
    # a gate that is fine: the parameters feeding it keep their own badges
    gate = users[params[0]][0]
    fine = dict(raw)
    fine[gate] = dataclasses.replace(raw[gate], kind="ok", level="ok")
    kept = fold_into_gates(program, fine)
    assert all(kept[i] == raw[i] for i in params if gate in users[i])
    # the live canvas's badges are folded so
    live = live_canvas(program, trainer)
    for i in params:
        if i in live.health:
            assert not all(j in live.health and live.health[j].kind == live.health[i].kind
                           for j in users[i])
