"""UI fixtures: a real MainWindow offscreen with its own settings and recovery folder."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QPointF, QSettings, QStandardPaths, QThread
from PySide6.QtWidgets import QApplication

QStandardPaths.setTestModeEnabled(True)
import sys  # noqa: E402

sys.setswitchinterval(0.001)  # as the app does: the GUI thread must not starve behind a worker


@pytest.fixture(scope="session", autouse=True)
def gui_thread_collector(qapp):
    """As the app does at start-up: Python's garbage collector runs on the GUI thread only,
    so that no Qt object left in a reference cycle by one test is destroyed on the training
    thread of another (that deadlocked the suite)."""
    from playground.ui import collector

    collector.install()
    yield
    collector.uninstall()


@pytest.fixture(autouse=True)
def no_thread_left_running(qapp, monkeypatch):
    """Fail any test that leaves a QThread running (napari's conftest does the same): every
    QThread started from Python during the test is recorded and checked afterwards."""
    started: list[QThread] = []
    original = QThread.start

    def recording_start(self, *args):
        started.append(self)
        return original(self, *args)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    QApplication.processEvents()
    leaked = []
    for t in started:
        try:
            running = t.isRunning()
        except RuntimeError:  # already deleted on the C++ side: it finished
            continue
        if running:
            leaked.append(t)
            t.quit()
            t.wait(5000)
    assert not leaked, f"test left {len(leaked)} QThread(s) running"


@pytest.fixture
def recovery_home(tmp_path, monkeypatch):
    from playground.ui import document

    folder = tmp_path / "recovery"
    folder.mkdir()
    monkeypatch.setattr(document, "recovery_dir", lambda: folder)
    return folder


@pytest.fixture
def window(qtbot, tmp_path, recovery_home):
    from playground.ui.mainwindow import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.resize(1300, 850)
    # not qtbot.addWidget: closing deletes the window (WA_DeleteOnClose); the teardown below
    # closes it unless the test did
    win.show()
    qtbot.waitExposed(win)
    # never block on a dialog in tests
    from PySide6.QtWidgets import QMessageBox

    win.questions = []
    win.ask_unsaved = lambda name: (win.questions.append(name), "discard")[1]
    win.errors = []
    win.show_error = lambda title, text: win.errors.append(text)
    yield win
    if not shiboken6.isValid(win):  # the test closed it: it is deleted already
        QApplication.clipboard().clear()
        return
    if win.document is not None:
        win.document.forget_changes()
    win.close()
    # the offscreen platform crashes at exit when the clipboard still holds our QMimeData
    QApplication.clipboard().clear()


def scene_counts(win) -> tuple[int, int, int, int]:
    """(model nodes, node items, model edges, edge items)."""
    from playground.ui.canvas.items import NodeItem
    from playground.ui.canvas.wires import EdgeItem

    items = win.scene.items()
    return (len(win.document.model.nodes), sum(isinstance(i, NodeItem) for i in items),
            len(win.document.model.edges), sum(isinstance(i, EdgeItem) for i in items))


def assert_scene_mirrors_model(win) -> None:
    from playground.ui.canvas.items import NodeItem
    from playground.ui.canvas.wires import EdgeItem

    model = win.document.model
    items = win.scene.items()
    node_items = [i for i in items if isinstance(i, NodeItem)]
    edge_items = [i for i in items if isinstance(i, EdgeItem)]
    assert sorted(i.node_id for i in node_items) == sorted(model.nodes)
    assert sorted(i.edge_id for i in edge_items) == sorted(model.edges)
    for e in edge_items:
        edge = model.edges[e.edge_id]
        assert (e.src, e.dst, e.port) == (edge.src, edge.dst, edge.port)
    for n in node_items:
        assert (n.pos().x(), n.pos().y()) == model.nodes[n.node_id].position


def view_point(win, scene_pos: QPointF):
    return win.view.mapFromScene(scene_pos)
