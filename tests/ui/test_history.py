"""The metrics history the live plots read: bounded per-step rows over long runs.

Records come from a real training run (moons, Adam); the history is fed in batches of varying
size, as the worker's timer-driven flushes deliver them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from playground.graph import compile_graph, load
from playground.training import PerParam, TrainConfig, Trainer
from playground.training.datasets import load_dataset, split
from playground.ui.training.history import MetricsBatch, MetricsHistory
from playground.ui.training.plots import LossPlot, epoch_positions
from tests.conftest import EXAMPLES

LIMIT = 512


@pytest.fixture(scope="module")
def records():
    sp = split(load_dataset("moons", n_samples=200, seed=0), val_fraction=0.3, seed=0)
    program = compile_graph(load(EXAMPLES / "moons_mlp.json"))
    trainer = Trainer(program, sp, TrainConfig(epochs=400, batch_size=16, lr=0.01, optimizer="adam"))
    out = list(trainer.steps())
    assert len(out) > 6 * LIMIT
    return out


def fed(records, limit=LIMIT, check=None) -> MetricsHistory:
    h = MetricsHistory(max_step_rows=limit)
    rng = np.random.default_rng(0)
    i = 0
    while i < len(records):
        k = int(rng.integers(1, 60))
        h.append(records[i:i + k])
        i += k
        if check is not None:
            check(h)
    return h


def test_a_batch_of_run_records_builds_the_same_columns_as_plain_mappings(records):
    """The trainer's records share their parameter names: their columns are built from the
    rows directly; the same records with plain dicts take the general path."""
    batch = records[:300]
    plain = [dataclasses.replace(m, grad_norms=dict(m.grad_norms),
                                 update_ratios=dict(m.update_ratios)) for m in batch]
    fast, slow = MetricsBatch.of(batch).columns, MetricsBatch.of(plain).columns
    assert fast.names == slow.names and "g:W1" in fast.names and "u:b3" in fast.names
    np.testing.assert_array_equal(fast.table, slow.table)
    np.testing.assert_array_equal(fast.table[fast.names.index("g:W2")],
                                  [m.grad_norms["W2"] for m in batch])
    # records of another run (other names) in the same batch: the general path, NaN where
    # a record has no such parameter
    other = dataclasses.replace(batch[0], grad_norms=PerParam(("V",), [2.0]),
                                update_ratios=PerParam(("V",), [3.0]))
    mixed = MetricsBatch.of([*batch[:3], other]).columns
    row = mixed.table[mixed.names.index("g:V")]
    assert np.isnan(row[:3]).all() and row[3] == 2.0
    assert np.isnan(mixed.table[mixed.names.index("g:W1"), 3])


def test_rows_stay_bounded_and_the_kept_rows_hold_their_own_records(records):
    sizes = []
    h = fed(records, check=lambda h: sizes.append(len(h)))
    assert max(sizes) <= LIMIT
    assert h.stride > 1 and len(h) < len(records)
    by_step = {m.step: m for m in records}
    steps = h.step.view().astype(int)
    assert steps[0] == 1 and steps[-1] == records[-1].step
    assert np.all(np.diff(steps) > 0)
    recent = steps[-LIMIT // 4:]
    np.testing.assert_array_equal(recent, np.arange(recent[0], recent[0] + len(recent)))
    # older rows sit on the stride's grid; the rows since the last thinning are all there
    gaps = np.diff(steps)[1:]
    assert gaps.max() == h.stride and np.all(np.diff(gaps) <= 0)
    assert np.all(steps[1:][np.diff(steps) == h.stride] % h.stride == 0)
    name = next(iter(records[0].grad_norms))
    for row, step in enumerate(steps):
        m = by_step[int(step)]
        assert h.batch_loss.view()[row] == m.batch_loss
        assert h.grad_norms[name].view()[row] == m.grad_norms[name]
        assert h.elapsed.view()[row] == m.elapsed and h.epoch.view()[row] == m.epoch
    ends = [m for m in records if m.epoch_end]
    np.testing.assert_array_equal(h.epoch_step.view(), [m.step for m in ends])  # never thinned
    np.testing.assert_array_equal(h.val_loss.view(), [m.val_loss for m in ends])
    assert h.last is records[-1]


def test_old_rows_are_spread_evenly_over_the_whole_run(records):
    h = fed(records)
    steps = h.step.view()
    # no part of the run is missing: every stretch of 5% of the steps keeps some rows
    edges = np.linspace(1, records[-1].step, 21)
    counts = np.histogram(steps, bins=edges)[0]
    assert counts.min() > 0


def test_speed_and_epoch_positions_are_right_on_thinned_rows(records):
    whole = fed(records, limit=10**9)
    thin = fed(records)
    assert len(whole) == len(records) and whole.stride == 1
    rows = np.searchsorted(whole.step.view(), thin.step.view())
    np.testing.assert_allclose(epoch_positions(thin), epoch_positions(whole)[rows])
    s, t = thin.step.view(), thin.elapsed.view()
    k = 200
    assert thin.steps_per_second(k) == pytest.approx((s[-1] - s[-1 - k]) / (t[-1] - t[-1 - k]))
    n = len(records)
    expected = 200 / (records[n - 1].elapsed - records[n - 201].elapsed)
    assert whole.steps_per_second(200) == pytest.approx(expected)


def test_the_loss_plot_draws_the_thinned_history(qtbot, records):
    h = fed(records)
    plot = LossPlot()
    qtbot.addWidget(plot)
    assert plot.refresh(h)
    x, y = plot.batch_curve.getOriginalDataset()
    np.testing.assert_array_equal(x, h.step.view())
    np.testing.assert_array_equal(y, h.batch_loss.view())
    assert len(x) <= LIMIT


def test_a_parameter_that_appears_late_is_padded_with_nan(records):
    name = next(iter(records[0].grad_norms))
    h2 = MetricsHistory()
    stripped = [dataclasses.replace(r, grad_norms={}, update_ratios={}) for r in records[:5]]
    h2.append(stripped)
    h2.append(records[5:8])
    col = h2.grad_norms[name].view()
    assert len(col) == 8 and np.all(np.isnan(col[:5]))
    np.testing.assert_array_equal(col[5:], [m.grad_norms[name] for m in records[5:8]])


def test_a_missing_parameter_gets_nan_and_every_step_column_shares_one_buffer(records):
    name = next(iter(records[0].grad_norms))
    h = MetricsHistory()
    h.append(records[:5])
    h.append([dataclasses.replace(r, grad_norms={k: v for k, v in r.grad_norms.items() if k != name})
              for r in records[5:8]])
    h.append(records[8:10])
    col = h.grad_norms[name].view()
    assert np.all(np.isnan(col[5:8]))
    np.testing.assert_array_equal(col[:5], [m.grad_norms[name] for m in records[:5]])
    np.testing.assert_array_equal(col[8:], [m.grad_norms[name] for m in records[8:10]])
    # a batch is appended with one copy: the per-step columns are rows of one array
    block = h.step.view().base
    columns = [h.epoch, h.batch_loss, h.lr, h.elapsed, h.epoch_pos, *h.grad_norms.values(),
               *h.update_ratios.values()]
    assert len(columns) > 6 and all(c.view().base is block for c in columns)


def test_batches_with_columns_from_the_worker_give_the_same_history(records):
    plain, columnar = MetricsHistory(), MetricsHistory()
    rng = np.random.default_rng(1)
    i = 0
    while i < 2000:
        k = int(rng.integers(1, 80))
        plain.append(records[i:i + k])
        columnar.append(MetricsBatch.of(records[i:i + k]))
        i += k
    for name in ("step", "epoch", "batch_loss", "lr", "elapsed", "epoch_step", "val_loss",
                 "train_accuracy"):
        np.testing.assert_array_equal(getattr(plain, name).view(), getattr(columnar, name).view())
    for a, b in ((plain.grad_norms, columnar.grad_norms), (plain.update_ratios, columnar.update_ratios)):
        assert list(a) == list(b)
        for name in a:
            np.testing.assert_array_equal(a[name].view(), b[name].view())
    assert plain.last is columnar.last is records[i - 1]
    batch = MetricsBatch.of(records[:5])
    assert tuple(batch) == tuple(records[:5]) and batch.columns.rows == 5
    np.testing.assert_array_equal(batch.columns.scalars[:, 2], [m.batch_loss for m in records[:5]])


def test_loss_csv_keeps_every_epoch_end_after_thinning(qtbot, tmp_path, records):
    import csv

    h = fed(records)
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.refresh(h)
    plot.export(tmp_path / "loss.csv")
    with open(tmp_path / "loss.csv", newline="", encoding="utf-8") as f:
        header, *body = list(csv.reader(f))
    assert header == ["step", "epoch", "lr", "batch_loss", "batch_loss_mean_10", "train_loss_epoch",
                      "val_loss_epoch"]
    by_step = {m.step: m for m in records}
    ends = [m for m in records if m.epoch_end]
    got = {int(r[0]): float(r[6]) for r in body if r[6]}
    assert got == {m.step: m.val_loss for m in ends}  # every epoch, thinned rows or not
    for r in body:
        m = by_step[int(r[0])]
        assert int(r[1]) == m.epoch
        assert r[3] == "" or float(r[3]) == m.batch_loss
    assert len(body) < len(records)


def test_the_speed_follows_a_slow_down_within_seconds(records):
    """Slowed from 10 to 2 steps a second: the speed shown is the new one after a few
    seconds, not after 200 more steps (the progress bar said 7 steps/s long after)."""
    import dataclasses

    t, rows = 0.0, []
    for k, r in enumerate(records[:310]):
        t += 0.1 if k < 300 else 0.5
        rows.append(dataclasses.replace(r, elapsed=t))
    h = MetricsHistory(max_step_rows=10**9)
    h.append(tuple(rows))
    assert h.steps_per_second() == pytest.approx(2.0, rel=0.05)
    # a long window mixes in the fast part: the last 200 rows span 24 s
    assert h.steps_per_second(seconds=60) == pytest.approx(200 / 24.0)
