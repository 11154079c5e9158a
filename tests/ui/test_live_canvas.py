"""The canvas during a run, in the real window with the real worker thread: values and gradients
on the wires, the gradient flow and its legend, live health badges, unit maps (TensorFlow
Playground's thumbnails) and histograms; the run bar; slow motion; feature inputs; a locked graph
that can still be looked at."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from playground.engine.digest import Digest
from playground.graph import compile_graph
from playground.training import bind
from playground.ui.canvas.style import HEALTH_COLOURS
from playground.ui.training.live_canvas import HEALTH_KIND, OWNER

from tests.ui.helpers import ids_by_name

WAIT = 15_000


def start_paused(qtbot, window, example: str, epochs: int = 5000, samples: int | None = 300):
    window.open_example(example)
    panel = window.training
    panel.epochs.setValue(epochs)
    if samples is not None:
        panel.samples.setValue(samples)
    with qtbot.waitSignal(window.session.runner.controller.paused_at, timeout=WAIT):
        assert panel.start(start_paused=True)  # the pause before step 1 brings a snapshot
    assert window.live.data is not None  # shown as the pause arrived
    return panel


def stop(qtbot, window) -> None:
    if window.session.runner.running:
        with qtbot.waitSignal(window.session.runner.controller.finished, timeout=WAIT):
            window.session.runner.stop()


def assert_wires_show_the_paused_batch(window) -> dict[str, str]:
    """Every wire's value is the run's, on the batch of its last step with the weights as they
    are now (an independent float64 pass); returns the node ids by name."""
    ov = window.scene.overlays
    ids = ids_by_name(window)
    assert ov.owner == OWNER and ov.labels_visible
    trainer = window.session.runner.controller.trainer
    # an independent pass on the batch shown, with the weights as they are now
    model = window.document.model
    ref = compile_graph(model, dtype="float64")
    ref.set_params({k: np.array(v) for k, v in
                    trainer.program.param_arrays(False).items()})
    b = bind(ref, trainer.split)
    idx = trainer.last_batch
    ref.set_input(b.features, trainer.X_train[idx])
    ref.set_input(b.target, trainer.T_train[idx])
    ref.forward(all_values=True)
    ref.backward(all_grads=True)
    for name in ("X", "z1", "h1", "W2", "z3", "probs", "loss"):
        value = ov.wire_values[ids[name]]
        assert isinstance(value, Digest)
        want = ref.values[ref.index[ids[name]]]
        assert value.shape == want.shape
        assert value.mean == np.float64(want.mean()).item() or \
            abs(value.mean - want.mean()) < 1e-9 * max(1.0, abs(want.mean()))
    return ids


def test_while_training_every_wire_shows_the_runs_values_and_the_flow_has_a_legend(qtbot, window):
    start_paused(qtbot, window, "moons_mlp")
    try:
        with qtbot.waitSignal(window.session.runner.controller.paused_at, timeout=WAIT):
            window.run_bar.step_button.click()  # one step, then paused: we may read the arrays
        # the canvas shows the paused state as soon as the pause is heard
        ov = window.scene.overlays
        ids = assert_wires_show_the_paused_batch(window)
        z1 = ov.wire_labels[ids["z1"]]
        assert z1.value_text.startswith(
            f"({len(window.session.runner.controller.trainer.last_batch)},16)")
        assert ov.wire_grads[ids["W1"]].norm > 0
        # the flow overlay is on, scaled over the wires drawn, with its legend in view
        flow = ov.flow_overlay
        assert flow is not None and flow[ids["W1"]] == ov.wire_grads[ids["W1"]].mean_abs
        legend = window.flow_legend
        assert legend.isVisible() and legend.range == ov.flow_range
        lo, hi = legend.range
        assert 0 < lo < hi
        widths = {e.src: e.flow_width for e in window.scene.edges.values()}
        strongest = max(flow, key=lambda k: flow[k] if k in widths else -1)
        weakest = min(flow, key=lambda k: flow[k] if k in widths else np.inf)
        assert widths[strongest] > widths[weakest]
    finally:
        stop(qtbot, window)
    # after the run the drawing stays (it describes the trained network) until an edit
    assert window.scene.overlays.owner == OWNER and window.scene.overlays.strips
    window.edit.select_all() if hasattr(window.edit, "select_all") else None
    from playground.ui.commands import RenameCommand

    window.document.undo.push(RenameCommand(window.document.model, ids_by_name(window)["h1"],
                                            "hidden1"))
    ov = window.scene.overlays
    assert ov.owner != OWNER and not ov.strips and ov.flow_overlay is None
    assert not window.flow_legend.isVisible()
    assert all(HEALTH_KIND not in ov.node_badges(n) for n in window.scene.nodes)


def test_the_flow_legend_leaves_a_corner_a_live_label_moved_into(qtbot, window):
    """The legend is placed in a free corner when it appears; a wire label that the run's
    changing numbers move under it later sends it to another free corner at the next update."""
    from playground.ui.canvas.minimap_corners import content_under

    start_paused(qtbot, window, "moons_mlp")
    try:
        with qtbot.waitSignal(window.session.runner.controller.paused_at, timeout=WAIT):
            window.run_bar.step_button.click()
        legend, view = window.flow_legend, window.view
        qtbot.waitUntil(legend.isVisible)
        assert not content_under(view, legend.geometry())
        first = legend.corner
        # a label moves under the legend (as a longer number would push it there)
        label = next(lb for lb in window.scene.overlays.wire_labels.values() if lb.isVisible())
        vp = view.viewport().geometry()
        centre = legend.geometry().center() - vp.topLeft()
        label.setPos(label.pos() + view.mapToScene(centre) - label.sceneBoundingRect().center())
        assert label in content_under(view, legend.geometry())
        legend.set_range(legend.range)  # the next live update
        qtbot.waitUntil(lambda: legend.corner != first)
        assert not content_under(view, legend.geometry())
    finally:
        stop(qtbot, window)


def test_a_pause_shows_the_paused_state_even_after_a_periodic_snapshot(qtbot, window,
                                                                     monkeypatch):
    """A slow step (a busy machine) sends a periodic snapshot before the pause's own: the
    periodic one redraws only the maps, so the numbers on the wires must come from the pause's
    snapshot as soon as the pause is heard (a test once read the step before's numbers)."""
    controller = window.session.runner.controller
    start = controller.start
    monkeypatch.setattr(controller, "start",  # a periodic snapshot after every step
                        lambda *a, **k: start(*a, **{**k, "snapshot_interval": 0.0}))
    start_paused(qtbot, window, "moons_mlp")
    try:
        for _ in range(3):
            with qtbot.waitSignal(controller.paused_at, timeout=WAIT):
                window.run_bar.step_button.click()
            assert_wires_show_the_paused_batch(window)
    finally:
        stop(qtbot, window)


def test_unit_maps_sit_above_hidden_and_output_nodes_and_a_click_shows_them_all(qtbot, window):
    start_paused(qtbot, window, "moons_mlp")
    try:
        ids = ids_by_name(window)
        ov = window.scene.overlays
        assert set(ov.strips) == {ids[n] for n in ("h1", "h2", "z3", "probs")}
        h1 = ov.strips[ids["h1"]]
        assert h1.units == 16 and len(h1.images) + 1 == h1.fits() and h1.more == 16 - len(h1.images)
        z3 = ov.strips[ids["z3"]]
        assert z3.units == 2 and len(z3.images) == 2 and z3.more == 0
        # "+k more" readable at the zoom the example opens at: "+k" at least 8 px tall on
        # screen (it was 4), inside its tile
        text = h1._more_text
        zoom = window.view.transform().m11()
        assert zoom < 0.7 and f"+{h1.more}" in text.toPlainText()
        line = text.document().firstBlock().layout().lineAt(0).height()
        assert line * zoom >= 8
        assert h1.tile_rect(len(h1.images)).contains(text.mapRectToParent(
            text.boundingRect()).adjusted(1, 1, -1, -1))
        node = window.scene.nodes[ids["h1"]]
        body = node.mapRectToScene(node.body_rect())
        strip = h1.scene_rect()
        assert strip.bottom() < body.top() and not strip.intersects(body)
        # the first tile is unit 0's map over the plane, in TensorFlow Playground's colours
        from playground.ui.canvas.unitmaps import map_image

        data = window.live.data
        i = window.live._mapping()[ids["h1"]]
        m = data.maps[i]
        assert h1.images[0] == map_image(m.maps[0], m.lo, m.hi, m.centred)
        # drawn with y up: the top-left pixel is the plane's highest y, lowest x
        from playground.ui.canvas.unitmaps import map_rgb

        rgb = map_rgb(m.maps[0], m.lo, m.hi, m.centred)
        top_left = h1.images[0].pixelColor(0, 0)
        assert (top_left.red(), top_left.green(), top_left.blue()) == tuple(rgb[-1, 0])
        assert tuple(rgb[-1, 0]) != tuple(rgb[0, 0])  # (the check can tell)
        # no label sits on a strip
        for label in ov.wire_labels.values():
            if label.isVisible():
                assert not label.label_scene_rect().intersects(strip)
        # a click (the scene is read-only: it still takes clicks) shows every unit's map
        view = window.view
        window.view.centerOn(strip.center())
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.mapFromScene(strip.topLeft() + QPointF(6, 6)))
        detail = window.explain.detail
        qtbot.waitUntil(lambda: detail.isVisible() and detail.picture_key == f"maps:{ids['h1']}",
                        timeout=WAIT)
        assert "16 units" in detail.heading.text()
        shown = detail.picture.pixmap().toImage()
        full = detail.picture.image
        assert full.width() > 4 * 32 * 3  # every unit, enlarged
        # shown whole in the dock, however small: shrunk to fit, its proportions kept, with
        # no scroll bar (a user saw 2 of 16 maps and two scroll bars at 1366 x 768)
        scroll = detail.picture_scroll
        qtbot.waitUntil(lambda: detail.picture.pixmap().width() <= scroll.viewport().width()
                        and detail.picture.pixmap().height() <= scroll.viewport().height())
        shown = detail.picture.pixmap().toImage()
        assert not scroll.horizontalScrollBar().isVisible()
        assert not scroll.verticalScrollBar().isVisible()
        assert abs(shown.width() / shown.height() - full.width() / full.height()) < 0.02
        assert shown.width() == scroll.viewport().width() or \
            shown.height() == scroll.viewport().height() or shown.size() == full.size()
        # more room: larger, never past its own size
        dock = window.docks["values"]
        dock.setFloating(True)
        dock.resize(full.width() + 200, full.height() + 400)
        qtbot.waitUntil(lambda: detail.picture.pixmap().size() == full.size())
        dock.setFloating(False)
        # it follows the run while shown
        before = shown
        with qtbot.waitSignal(window.live.applied, timeout=WAIT):
            window.run_bar.epoch_button.click()
        assert detail.picture.pixmap().toImage() != before
    finally:
        stop(qtbot, window)


def _pixels(image) -> np.ndarray:
    """An image's RGB pixels as an array (rows, cols, 3)."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[
        :, :3 * w].reshape(h, w, 3).copy()


def test_every_live_update_draws_its_own_maps_and_thumbnails(qtbot, window):
    """The unit maps' tiles and the wire labels' heatmaps are refilled in place as a run goes
    on (no new images per update): what they draw is the update's, not an earlier one's."""
    import dataclasses

    from playground.ui.canvas.unitmaps import map_rgb
    from playground.ui.canvas.heatmaps import thumbnail_rgb

    start_paused(qtbot, window, "moons_mlp")
    try:
        ids = ids_by_name(window)
        ov = window.scene.overlays
        h1 = ov.strips[ids["h1"]]
        w2 = ov.wire_labels[ids["W2"]]

        def shown() -> tuple[np.ndarray, np.ndarray]:
            data = window.live.data
            m = data.maps[window.live._mapping()[ids["h1"]]]
            want_map = np.ascontiguousarray(map_rgb(m.maps[0], m.lo, m.hi, m.centred)[::-1])
            tile = _pixels(h1._tile_items[0].pixmap().toImage())
            assert np.array_equal(tile, want_map)
            # the label's heatmap is the one made from the value's digest (here, by the
            # training thread: the same as one made from a plain digest in this thread)
            value = ov.wire_values[ids["W2"]]
            plain = {f.name: getattr(value, f.name) for f in dataclasses.fields(Digest)}
            want_thumb = thumbnail_rgb(Digest(**plain))
            assert np.array_equal(thumbnail_rgb(value), want_thumb)
            thumbs = [thumb for _text, _colour, thumb in w2._lines if thumb is not None]
            assert np.array_equal(_pixels(thumbs[0]), want_thumb)
            return tile, want_thumb

        tile0, thumb0 = shown()
        for _ in range(2):  # (the second time, the images are the ones refilled before)
            with qtbot.waitSignal(window.live.applied, timeout=WAIT):
                window.run_bar.epoch_button.click()
            # paused, and the run bar told so (the worker is blocked before its paused_at
            # reaches the bar: a click on the still disabled button would be lost)
            qtbot.waitUntil(lambda: window.session.runner.controller.paused
                            and window.run_bar.epoch_button.isEnabled(), timeout=WAIT)
            tile, thumb = shown()
            assert not np.array_equal(tile, tile0) and not np.array_equal(thumb, thumb0)
            tile0, thumb0 = tile, thumb
    finally:
        stop(qtbot, window)


def test_the_graph_is_locked_but_can_be_looked_at(qtbot, window):
    start_paused(qtbot, window, "moons_mlp")
    try:
        scene, view = window.scene, window.view
        assert scene.read_only and view.isInteractive()
        ids = ids_by_name(window)
        node = scene.nodes[ids["z1"]]
        before = window.document.model.nodes[ids["z1"]].position
        view.set_zoom(1.0)
        view.centerOn(node)
        vp = view.viewport()
        # a drag on the header (as tests/ui/test_canvas.py moves a node) moves nothing
        start = view.mapFromScene(node.mapToScene(QPointF(60, 8)))
        qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
        for k in range(1, 6):
            qtbot.mouseMove(vp, start + QPoint(20 * k, 10 * k))
        qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(100, 50))
        assert window.document.model.nodes[ids["z1"]].position == before
        assert window.document.undo.count() == 0
        # a drag from an output port draws no wire
        edges = len(window.document.model.edges)
        port = view.mapFromScene(node.output.scenePos())
        qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=port)
        qtbot.mouseMove(vp, port + QPoint(60, 60))
        qtbot.mouseMove(vp, port + QPoint(120, 90))
        qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=port + QPoint(120, 90))
        assert len(window.document.model.edges) == edges
        assert not window.quick_add.isVisible()  # a wire dropped on empty canvas offers nodes
        scene.nudge_selection(10, 0)
        assert window.document.undo.count() == 0
        assert not view.editable
        # a click on a value label shows its value in the Values dock
        label = next(lab for lab in scene.overlays.wire_labels.values() if lab.isVisible())
        rect = label.label_scene_rect()
        view.centerOn(rect.center())
        with qtbot.waitSignal(scene.value_clicked, timeout=WAIT) as clicked:
            QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                             pos=view.mapFromScene(rect.center()))
        assert clicked.args == [label.source_id]
        assert window.explain.detail.node_id == label.source_id
    finally:
        stop(qtbot, window)
    assert not window.scene.read_only and window.view.editable


def test_digits_shows_histograms_and_badges_its_saturated_h1(qtbot, window):
    window.open_example("digits_mlp")
    panel = window.training
    panel.epochs.setValue(2)
    with qtbot.waitSignal(window.session.runner.controller.finished, timeout=WAIT):
        assert panel.start()
    qtbot.waitUntil(lambda: window.live.data is not None, timeout=WAIT)
    ids = ids_by_name(window)
    ov = window.scene.overlays
    h1 = ov.strips[ids["h1"]]
    assert h1.hist is not None and h1.images == []
    counts, lo, hi = h1.hist
    assert (lo, hi) == (0.0, 1.0) and counts.sum() == window.live.data.rows * 64
    text, colour = ov.node_badges(ids["h1"])[HEALTH_KIND]
    assert text.startswith("saturated ") and colour == HEALTH_COLOURS["notice"]
    frac = int(text.split()[1].rstrip("%"))
    assert 5 <= frac < 50
    assert "σ is flat" in window.scene.nodes[ids["h1"]].toolTip()
    # Check Health on the trained weights agrees: h1 is pointed out, nothing is a problem
    flagged = window.checks.health_check()
    assert flagged is not None and flagged["h1"].kind == "saturated_sigmoid"
    assert all(h.level == "notice" for h in flagged.values())


def test_switching_the_live_canvas_off_keeps_the_canvas_quiet_and_the_run_lighter(qtbot, window):
    window.live.action.trigger()
    assert not window.live.enabled
    controller = window.session.runner.controller
    assert "canvas" not in (controller.views or {"canvas"}) or controller.views == frozenset()
    window.open_example("moons_mlp")
    snaps = []
    controller.snapshot.connect(snaps.append)
    window.training.epochs.setValue(2)
    window.training.samples.setValue(300)
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        assert window.training.start()
    assert all(s.canvas is None for s in snaps[:-1])  # periodic snapshots skip it
    ov = window.scene.overlays
    assert ov.owner != OWNER and not ov.strips and ov.flow_overlay is None
    window.live.action.trigger()
    assert window.live.enabled and "canvas" in controller.views


def test_the_live_run_snapshots_at_the_pace_the_canvas_shows_them(qtbot, window):
    """The canvas paces its updates by their cost and tells the live run: its periodic
    snapshots come no faster (see the worker's test); switched off, the run is told too."""
    window.open_example("moons_mlp")
    controller = window.session.runner.controller
    window.training.epochs.setValue(1000)
    assert window.training.start()
    live = window.live
    qtbot.waitUntil(lambda: len(live.shown_at) >= 4, timeout=WAIT)
    worker = controller._worker
    assert live._gap > 0 and worker.gui_interval == live._gap
    live.set_enabled(False)
    assert worker.gui_interval == 0.0
    with qtbot.waitSignal(controller.finished, timeout=WAIT):
        controller.stop()
    live.set_enabled(True)


def test_the_run_bar_runs_and_counts(qtbot, window):
    window.open_example("moons_mlp")
    window.training.epochs.setValue(3)
    window.training.samples.setValue(300)
    bar = window.run_bar
    assert bar.isVisible() and bar.counter.text() == "epoch — · step —"
    with qtbot.waitSignal(window.session.runner.controller.paused_at, timeout=WAIT):
        bar.step_button.click()
    bar.refresh()
    assert "step <b>1</b>" in bar.counter.text() and bar.train_button.text() == "▶ Resume"
    assert bar.lock_action.isVisible()
    with qtbot.waitSignal(window.session.runner.controller.paused_at, timeout=WAIT):
        bar.epoch_button.click()
    bar.refresh()
    h = window.session.runner.history
    assert f"step <b>{h.total_steps}</b>" in bar.counter.text() and "epoch <b>1</b>/3" in \
        bar.counter.text()
    acc = h.val_accuracy.view()[-1]
    assert f"val accuracy <b>{100 * acc:.1f}%</b>" in bar.accuracy_label.text()
    loss = h.batch_loss.view()[-20:].mean()
    assert f"{loss:.4f}" in bar.loss_label.text()
    with qtbot.waitSignal(window.session.runner.controller.finished, timeout=WAIT):
        bar.train_button.click()  # resume: runs to the end
    assert not bar.lock_action.isVisible() and bar.train_button.text() == "▶ Train"
    bar.reset_button.click()
    assert bar.counter.text() == "epoch — · step —"


def test_at_full_speed_the_run_bar_shows_every_metrics_batch_the_worker_sends(
        window, monkeypatch):
    """The worker sends a batch every EMIT_INTERVAL; the run bar reads the numbers with the
    batch that brings them, at most once per REFRESH_MS: each batch must be shown, also one
    handled a little sooner after the last than the interval (a throttle as long as the
    interval would skip it). A clock the test sets."""
    from playground.ui.training import runbar
    from playground.ui.training.worker import EMIT_INTERVAL

    window.open_example("moons_mlp")
    bar = window.run_bar
    now = [100.0]
    monkeypatch.setattr(runbar, "time", type("Clock", (), {"perf_counter": lambda: now[0]}))
    refreshed = []
    monkeypatch.setattr(bar, "refresh", lambda: refreshed.append(now[0]))
    assert window.session.runner.controller.rate is None  # full speed
    for k in range(12):  # sent EMIT_INTERVAL apart, handled a little early or late
        now[0] = 100.0 + k * EMIT_INTERVAL + (0.1 * EMIT_INTERVAL if k % 2 else 0.0)
        bar._on_metrics(())
    assert len(refreshed) == 12
    # batches that come bunched (a GUI thread that was busy) are shown once
    for k in range(1, 4):
        now[0] += EMIT_INTERVAL / 10
        bar._on_metrics(())
    assert len(refreshed) == 12


def test_at_full_speed_the_progress_bar_shows_every_metrics_batch_too(window, monkeypatch):
    from playground.ui.training import panel as panel_module
    from playground.ui.training.worker import EMIT_INTERVAL

    window.open_example("moons_mlp")
    panel = window.training
    now = [100.0]
    monkeypatch.setattr(panel_module, "time", type("Clock", (), {"perf_counter": lambda: now[0]}))
    monkeypatch.setattr(panel, "runner", type("Live", (), {"running": True, "paused": False}))
    shown = []
    monkeypatch.setattr(panel, "_show_progress", lambda: shown.append(now[0]))
    for k in range(12):  # as the run bar above: EMIT_INTERVAL apart, a little early or late
        now[0] = 100.0 + k * EMIT_INTERVAL + (0.1 * EMIT_INTERVAL if k % 2 else 0.0)
        panel._set_progress(k / 12, f"{k}")
    assert len(shown) == 12 and panel._progress == (11 / 12, "11")


def test_the_speed_control_reaches_the_run_and_slow_motion_shows_every_step(qtbot, window):
    window.open_example("moons_mlp")
    window.training.samples.setValue(300)
    bar = window.run_bar
    controller = window.session.runner.controller
    assert bar.rate is None and bar.speed_label.text() == "max"
    bar.set_rate(20)
    assert controller.rate == 20 and bar.speed_label.text() == "20 steps/s"
    shown = []
    window.live.applied.connect(lambda: shown.append(window.live.data.rows))
    steps, counted = [], []
    controller.metrics.connect(lambda batch: steps.extend(m.step for m in batch))
    # connected after the run bar: what its counter says once a step's metrics are in
    controller.metrics.connect(lambda batch: counted.append(bar.counter.text()))
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT):
        bar.epoch_button.click()  # 7 steps at 20/s
    qtbot.waitUntil(lambda: len(shown) >= len(steps), timeout=WAIT)
    assert steps == list(range(1, 8))
    # the counter follows every step at once (the canvas and the plots do)
    assert [f"step <b>{k}</b>" in text for k, text in zip(steps, counted)] == [True] * 7
    assert len(shown) >= 7  # the canvas showed every step
    bar.set_rate(None)
    assert controller.rate is None
    stop(qtbot, window)


def test_in_slow_motion_the_loss_plot_draws_every_step(qtbot, window):
    """At full speed the live plots share a small budget of the GUI thread's time; in slow
    motion the training thread sleeps between steps, and the Loss plot shows each one."""
    window.open_example("moons_mlp")
    window.training.samples.setValue(300)
    window.run_bar.set_rate(10)
    controller = window.session.runner.controller
    plot = window.plots.plots["Loss"]
    drawn: list[int] = []  # the newest step on the curve after each redraw
    refresh = plot.refresh

    def counting(source):
        done = refresh(source)
        if done:
            drawn.append(int(source.step.view()[-1]))
        return done

    plot.refresh = counting
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT):
        window.run_bar.epoch_button.click()  # 7 steps at 10/s
    qtbot.waitUntil(lambda: drawn and drawn[-1] == 7, timeout=WAIT)
    assert set(range(1, 8)) <= set(drawn), drawn
    window.run_bar.set_rate(None)
    stop(qtbot, window)


def test_merged_snapshots_keep_the_wires_numbers_not_yet_shown(qtbot, window):
    """Periodic snapshots carry the wires' numbers once a second; when a snapshot with them is
    overtaken by one without before the canvas had time to show it, the canvas shows the new
    unit maps with those numbers rather than skip them for another second."""
    from types import SimpleNamespace

    from playground.ui.training.live_data import live_canvas

    window.open_example("moons_mlp")
    window.training.samples.setValue(300)
    controller = window.session.runner.controller
    with qtbot.waitSignal(controller.paused_at, timeout=WAIT):
        window.run_bar.step_button.click()
    live = window.live
    program, trainer = window.session.compiled, controller.trainer
    with_wires = live_canvas(program, trainer, wires=True)
    maps_only = live_canvas(program, trainer, wires=False)
    assert with_wires.values and not maps_only.values and maps_only.maps
    live._timer.start(60_000)  # an update is due later: snapshots wait and merge
    live._on_snapshot(SimpleNamespace(canvas=with_wires))
    live._on_snapshot(SimpleNamespace(canvas=maps_only))
    live._timer.stop()
    live._apply_pending()
    assert live.data.wires and live.data.values is with_wires.values
    assert live.data.maps is maps_only.maps
    stop(qtbot, window)


def test_feature_inputs_resize_the_input_and_train(qtbot, window):
    window.open_example("moons_mlp")
    panel = window.training
    assert panel.feature_row.isVisible()
    assert panel.chosen_features() == ("x1", "x2")
    ids = ids_by_name(window)
    model = window.document.model
    assert panel.set_features(["x1", "x2", "x1*x2", "sin(x1)", "sin(x2)"])
    assert model.nodes[ids["X"]].params["shape"] == [None, 5]
    assert model.nodes[ids["W1"]].params["shape"] == [5, 16]
    assert window.session.data.features == ("x1", "x2", "x1*x2", "sin(x1)", "sin(x2)")
    assert "x1·x2" in window.document.undo.undoText()
    panel.epochs.setValue(2)
    panel.samples.setValue(300)
    with qtbot.waitSignal(window.session.runner.controller.finished, timeout=WAIT) as done:
        assert panel.start()
    assert done.args == ["completed"], panel.status.text()
    # the run's settings keep the features (saved with the graph)
    assert model.meta["training"]["features"] == ["x1", "x2", "x1*x2", "sin(x1)", "sin(x2)"]
    # the unit maps are over the raw plane of the two columns
    qtbot.waitUntil(lambda: window.live.data is not None, timeout=WAIT)
    assert window.live.data.maps and window.live.data.plane is not None
    # undo brings the two inputs back, in the graph and in the panel
    window.document.undo.undo()
    assert model.nodes[ids["X"]].params["shape"] == [None, 2]
    assert panel.chosen_features() == ("x1", "x2") and window.session.data.features == ()
    window.document.undo.redo()
    assert panel.chosen_features() == ("x1", "x2", "x1*x2", "sin(x1)", "sin(x2)")
    window.document.undo.undo()
    # a click on a chip is the same edit
    panel.feature_row.boxes["x1^2"].click()
    assert model.nodes[ids["X"]].params["shape"] == [None, 3]
    assert panel.chosen_features() == ("x1", "x2", "x1^2")
    # none at all is refused
    assert not panel.set_features([])
    assert "at least one input" in panel.status.text()
    # other data has no feature inputs
    window.open_example("digits_mlp")
    assert not window.training.feature_row.isVisible()


def test_a_refused_click_on_the_last_input_chip_leaves_it_chosen_and_ticked(window):
    window.open_example("moons_mlp")
    panel = window.training
    boxes = panel.feature_row.boxes
    boxes["x1"].click()
    assert panel.chosen_features() == ("x2",) and boxes["x1"].text() == "x1"
    boxes["x2"].click()  # the last input: refused, the chip stays chosen and says so
    assert "at least one input" in panel.status.text()
    assert panel.chosen_features() == ("x2",)
    assert boxes["x2"].isChecked() and boxes["x2"].text() == "✓ x2"


def test_a_paused_run_can_be_stepped_through_on_the_step_it_makes_next(qtbot, window):
    start_paused(qtbot, window, "moons_mlp")
    runner = window.session.runner
    try:
        with qtbot.waitSignal(runner.controller.paused_at, timeout=WAIT):
            window.run_bar.step_button.click()
        stepper = window.stepper
        assert stepper.isEnabled()
        trainer = runner.controller.trainer
        upcoming = np.array(trainer.next_batch())
        assert stepper.run_to_end()
        assert "step 2" in stepper.sample_note.text()
        ids = ids_by_name(window)
        p = stepper.program
        np.testing.assert_array_equal(p.values[p.index[ids["X"]]], trainer.X_train[upcoming])
        w1_grad = float(np.linalg.norm(p.grads[p.index[ids["W1"]]]))
        # the run's next step computes exactly that gradient
        records = []
        runner.controller.metrics.connect(records.extend)
        with qtbot.waitSignal(runner.controller.paused_at, timeout=WAIT):
            window.run_bar.step_button.click()
        step2 = next(m for m in records if m.step == 2)
        assert step2.grad_norms["W1"] == pytest.approx(w1_grad, rel=1e-9)
        np.testing.assert_array_equal(trainer.last_batch, upcoming)
        # resuming takes the step-through away again
        with qtbot.waitSignal(runner.controller.resumed, timeout=WAIT):
            window.run_bar.train_button.click()
        assert not stepper.isEnabled() and not stepper.loaded
    finally:
        stop(qtbot, window)
    assert stepper.isEnabled()
