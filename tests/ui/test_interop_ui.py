"""File ▸ Export (PyTorch, ONNX, NumPy, notebook) and File ▸ Import ONNX in the real window: the
work runs in a worker thread, the dialog shows progress and then the parity, errors are one
line and the current graph is never lost."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication, QFileDialog

from playground.graph import compile_graph
from playground.interop import ExportReport, import_onnx
from playground.interop import export as api_export
from playground.ui import interop_actions

DONE_MS = 60_000


def menu_action(window, *path: str):
    """The QAction at File ▸ ... ▸ ``path[-1]`` (texts without '&' and '…')."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    for k, text in enumerate(path):
        action = next(a for a in menu.actions()
                      if a.text().replace("&", "").rstrip("…") == text)
        if k == len(path) - 1:
            return action
        menu = action.menu()
    raise AssertionError(path)


def export_via_menu(qtbot, window, monkeypatch, label: str, path) -> ExportReport:
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(path), "")))
    interop = window.files.interop
    with qtbot.waitSignal(interop.done, timeout=DONE_MS):
        menu_action(window, "Export", label).trigger()
    assert interop.last_error == ""
    assert interop.last_report is not None
    return interop.last_report


def record_threads(monkeypatch) -> list[int]:
    """The threads the real export ran in."""
    seen: list[int] = []

    def recording(*args, **kwargs):
        seen.append(threading.get_ident())
        return api_export(*args, **kwargs)

    monkeypatch.setattr(interop_actions, "export", recording)
    return seen


def test_the_file_menu_offers_every_format_and_import(window):
    for label in ("PyTorch Project", "ONNX Model", "NumPy Script", "Jupyter Notebook"):
        assert menu_action(window, "Export", label).isEnabled()
    assert menu_action(window, "Import ONNX").isEnabled()
    assert menu_action(window, "Export Canvas as PNG") is not None


def test_onnx_export_runs_in_a_worker_and_says_the_largest_difference(qtbot, window,
                                                                     monkeypatch, tmp_path):
    window.open_example("sine_regression")
    threads = record_threads(monkeypatch)
    target = tmp_path / "sine.onnx"
    report = export_via_menu(qtbot, window, monkeypatch, "ONNX Model", target)
    assert threads and threads[0] != threading.get_ident()  # not the GUI thread
    assert target.is_file() and report.files == [str(target)]
    assert report.max_difference is not None and report.max_difference <= 1e-9
    dialog = window.files.interop.dialog
    assert dialog.isVisible() and not dialog.running
    assert dialog.bar.value() == dialog.bar.maximum()
    assert "largest difference" in dialog.outcome.text()
    assert "onnx.reference" in dialog.outcome.text()
    status = window.statusBar().currentMessage()
    assert "largest difference to the app" in status and "sine.onnx" in status
    # the exported model computes what the graph computes
    imported = compile_graph(import_onnx(target))
    assert len(imported.nodes) > 3
    dialog.reject()  # Close
    assert not dialog.isVisible()


def test_exports_take_the_panels_data_and_the_trained_weights(qtbot, window, monkeypatch,
                                                               tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 2))
    y = np.where(X[:, 0] - X[:, 1] > 0, "a", "b")
    csv = tmp_path / "pts.csv"
    csv.write_text("p,q,cls\n" + "".join(f"{u:.5f},{v:.5f},{c}\n" for (u, v), c in zip(X, y)))
    window.open_example("moons_mlp")
    panel = window.training
    panel.epochs.setValue(2)
    assert panel.import_csv_file(str(csv), label="cls")  # chosen in the panel, not in the file
    assert "csv" not in window.session.root.model.meta["training"]
    project = tmp_path / "project"
    report = export_via_menu(qtbot, window, monkeypatch, "PyTorch Project", project)
    assert (project / "train.py").is_file() and (project / "model.py").is_file()
    with np.load(project / "data.npz") as data:  # the CSV's rows, not moons
        rows = np.concatenate([data["X_train"], data["X_val"], data["X_test"]])
    assert len(rows) == 80
    assert {tuple(r) for r in np.round(rows, 5)} == {tuple(r) for r in np.round(X, 5)}
    pytest.importorskip("torch")  # .ci/run installs it; then the check runs
    assert report.max_difference is not None and report.max_difference <= 1e-9
    assert "torch" in report.checked_with
    # after a run: the trained weights go out, in the NumPy script's arrays
    with qtbot.waitSignal(panel.runner.controller.finished, timeout=20_000):
        assert panel.start()
    trained = {k: np.array(v) for k, v in window.session.trained_arrays().items()}
    script = tmp_path / "net.py"
    report = export_via_menu(qtbot, window, monkeypatch, "NumPy Script", script)
    assert script.is_file() and report.ok and report.max_difference is not None
    with np.load(tmp_path / "net.npz") as arrays:
        for name, value in trained.items():
            np.testing.assert_array_equal(arrays[f"param:{name}"], value)
    assert "with the trained weights" in window.files.interop.dialog.heading.text()
    notebook = tmp_path / "nb"  # the suffix is added
    report = export_via_menu(qtbot, window, monkeypatch, "Jupyter Notebook", notebook)
    assert (tmp_path / "nb.ipynb").is_file() and report.ok


def test_import_onnx_opens_a_new_untitled_graph(qtbot, window, monkeypatch, tmp_path):
    window.open_example("moons_mlp")
    target = tmp_path / "moons.onnx"
    api_export(window.session.root.model, "onnx", target, check=False)
    old_root = window.session.root
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    interop = window.files.interop
    with qtbot.waitSignal(interop.done, timeout=DONE_MS):
        menu_action(window, "Import ONNX").trigger()
    root = window.session.root
    assert root is not old_root and root.path is None and root.modified
    assert window.document is root
    assert interop.last_error == "" and not interop.dialog.isVisible()
    want = import_onnx(target)
    assert sorted(n.name for n in root.model.nodes.values()) == \
        sorted(n.name for n in want.nodes.values())
    assert len(window.scene.nodes) == len(root.model.nodes)  # on the canvas
    positions = {n.position for n in root.model.nodes.values()}
    assert len(positions) == len(root.model.nodes)  # laid out: no two nodes on one spot
    assert "Imported moons.onnx" in window.statusBar().currentMessage()


def test_a_broken_onnx_file_is_refused_in_one_line_and_the_graph_kept(qtbot, window,
                                                                     tmp_path):
    window.open_example("square_of_sum")
    root = window.session.root
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07\x12\x04junk" * 3)
    interop = window.files.interop
    with qtbot.waitSignal(interop.done, timeout=DONE_MS):
        assert interop.import_onnx(bad)
    assert window.session.root is root
    assert len(window.errors) == 1 and "\n" not in window.errors[0]
    assert window.errors[0].startswith("Import failed: broken.onnx")
    assert window.errors[0].endswith("The current graph was left as it was.")
    assert ". The current graph" in window.errors[0]
    assert window.errors[0] in window.statusBar().currentMessage()


def test_an_export_that_cannot_be_written_says_why(qtbot, window, tmp_path):
    window.open_example("square_of_sum")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    interop = window.files.interop
    with qtbot.waitSignal(interop.done, timeout=DONE_MS):
        assert interop.export("numpy", blocker / "inside" / "x.py")
    assert interop.last_report is None
    assert len(window.errors) == 1 and window.errors[0].startswith("Export failed: ")
    assert "cannot be written" in window.errors[0] and "\n" not in window.errors[0]
    assert not interop.dialog.isVisible()


def slow_export(monkeypatch) -> threading.Event:
    """An export that reports progress until cancelled (set the event to let it finish)."""
    finish = threading.Event()

    def slow(model, fmt, path, weights, progress, **kwargs):
        k = 0
        while not finish.is_set():
            progress(min(0.9, k / 1000), "working")
            k += 1
            time.sleep(0.002)
        return ExportReport(fmt, [str(path)], max_difference=0.5, checked_with="a test",
                            notes=[], tolerance=1e-9)

    monkeypatch.setattr(interop_actions, "export", slow)
    return finish


def test_cancel_stops_the_worker_and_a_difference_over_tolerance_is_shown(qtbot, window,
                                                                           monkeypatch,
                                                                           tmp_path):
    window.open_example("square_of_sum")
    finish = slow_export(monkeypatch)
    interop = window.files.interop
    assert interop.export("onnx", tmp_path / "x.onnx")
    assert interop.busy and not interop.export("onnx", tmp_path / "y.onnx")  # one at a time
    qtbot.waitUntil(lambda: interop.dialog.phase.text() == "working", timeout=DONE_MS)
    with qtbot.waitSignal(interop.done, timeout=DONE_MS):
        interop.dialog.reject()  # Cancel
    assert not interop.busy and interop.last_report is None and window.errors == []
    assert window.statusBar().currentMessage().startswith("Cancelled")
    # a check that finds a difference over the tolerance says so, in red
    finish.set()
    with qtbot.waitSignal(interop.done, timeout=DONE_MS):
        assert interop.export("onnx", tmp_path / "x.onnx")
    assert not interop.last_report.ok
    assert "OVER the tolerance" in interop.dialog.outcome.text()
    assert "d1242f" in interop.dialog.outcome.styleSheet()


def test_closing_the_window_during_an_export_waits_for_the_worker(qtbot, window, monkeypatch,
                                                                  tmp_path):
    window.open_example("square_of_sum")
    slow_export(monkeypatch)
    interop = window.files.interop
    assert interop.export("onnx", tmp_path / "x.onnx")
    thread = interop.job.job_thread
    qtbot.waitUntil(lambda: interop.dialog.phase.text() == "working", timeout=DONE_MS)
    window.document.forget_changes()
    window.close()
    QApplication.processEvents()
    assert interop.job.job_thread is None
    with pytest.raises(RuntimeError):  # deleted: it had finished
        thread.isRunning()
