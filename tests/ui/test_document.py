"""Document safety in the real window: save/reopen, unsaved marker, questions, crash recovery,
unreadable files, recent files, export."""

from __future__ import annotations

import json
import os

from PySide6.QtWidgets import QMessageBox

from playground.graph import load
from playground.ui.commands import AddNodeCommand


def _touch(win) -> None:
    win.document.undo.push(AddNodeCommand(win.document.model, "tanh", (10, 10)))


def test_save_then_reopen_gives_the_identical_document(window, tmp_path, examples_dir):
    window.open_example("moons_mlp")
    _touch(window)
    path = tmp_path / "mine.json"
    assert window.files.save_to(path)
    assert not window.document.modified
    saved = window.document.model.to_dict()
    assert window.open_file(path)
    assert window.document.model.to_dict() == saved
    assert load(path).to_dict() == saved
    assert window.files.recent_files()[0] == str(path.resolve())
    assert "mine.json" in window.windowTitle()


def test_title_shows_the_unsaved_marker(window, tmp_path):
    window.files.save_to(tmp_path / "g.json")
    assert not window.isWindowModified()
    _touch(window)
    assert window.isWindowModified() and "[*]" in window.windowTitle()
    window.document.undo.undo()
    assert not window.isWindowModified()


def test_new_and_open_ask_before_losing_changes(window, tmp_path, examples_dir):
    _touch(window)
    window.ask_unsaved = lambda name: (window.questions.append(name), "cancel")[1]
    window.files.new_file()
    assert window.questions == ["Untitled"]
    assert len(window.document.model.nodes) == 1  # cancelled: nothing lost
    assert not window.open_file(examples_dir / "square_of_sum.json")
    assert len(window.document.model.nodes) == 1
    window.ask_unsaved = lambda name: "discard"
    window.files.new_file()
    assert not window.document.model.nodes


def test_close_with_changes_can_be_cancelled(window):
    _touch(window)
    window.ask_unsaved = lambda name: "cancel"
    assert not window.close()
    assert window.isVisible()
    window.document.undo.setClean()


def test_a_file_that_cannot_be_opened_shows_a_message_and_keeps_the_graph(window, tmp_path):
    window.open_example("square_of_sum")
    before = window.document.model.to_dict()
    for content in ('{"format": "backprop-playground/graph", "version": 1, "nodes": [',
                    '{"format": "backprop-playground/graph", "version": 99, "nodes": []}',
                    b"\xff\xfe\x00garbage"):
        bad = tmp_path / "bad.json"
        bad.write_bytes(content if isinstance(content, bytes) else content.encode())
        assert not window.open_file(bad)
        assert window.document.model.to_dict() == before
    assert len(window.errors) == 3
    assert "bad.json" in window.errors[0] and "JSON" in window.errors[0]
    assert "newer" in window.errors[1]
    assert not window.open_file(tmp_path / "missing.json")
    assert "no such file" in window.errors[-1]


def test_autosave_writes_a_recovery_file_and_a_restart_offers_it(qtbot, window, recovery_home, tmp_path):
    window.open_example("sigmoid_neuron")
    _touch(window)
    window.document.autosave()
    files = list(recovery_home.glob("session-*.json"))
    assert len(files) == 1
    record = json.loads(files[0].read_text())
    assert record["graph"]["nodes"][-1]["op"] == "tanh"
    expected = window.document.model.to_dict()
    # simulate a crash: the process died, so its recovery file carries a dead pid
    record["pid"] = _dead_pid()
    files[0].write_text(json.dumps(record))
    window.document.recovery_path = tmp_path / "elsewhere.json"  # the 'crashed' session's file stays

    from PySide6.QtCore import QSettings

    from playground.ui.mainwindow import MainWindow

    second = MainWindow(QSettings(str(tmp_path / "s2.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    asked = []
    second.ask_restore = lambda rec: (asked.append(rec["path"]), True)[1]
    assert second.files.offer_recovery()
    assert asked == [None]
    assert second.document.model.to_dict() == expected
    assert second.document.modified  # restored work is unsaved until saved
    assert not files[0].exists()
    second.document.undo.setClean()
    second.close()


def test_autosave_happens_after_a_batch_of_changes(qtbot, window, recovery_home):
    _touch(window)
    qtbot.waitUntil(lambda: any(recovery_home.glob("session-*.json")), timeout=3000)
    window.document.undo.undo()
    qtbot.waitUntil(lambda: not any(recovery_home.glob("session-*.json")), timeout=3000)


def test_declining_recovery_removes_the_file(qtbot, window, recovery_home, tmp_path):
    (recovery_home / "session-1-abc.json").write_text(json.dumps(
        {"pid": _dead_pid(), "saved_at": 1.0, "path": None, "graph": load_example_dict()}))
    window.ask_restore = lambda rec: False
    assert not window.files.offer_recovery()
    assert not list(recovery_home.glob("session-*.json"))


def load_example_dict():
    from playground.resources import example_path

    return json.loads(example_path("square_of_sum").read_text())


def _dead_pid() -> int:
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        pid -= 1


def test_export_canvas_png_and_svg(window, tmp_path):
    window.open_example("square_of_sum")
    png, svg = tmp_path / "g.png", tmp_path / "g.svg"
    assert window.files.export_image("png", str(png)) and window.files.export_image("svg", str(svg))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert "<svg" in text and ("<text" in text or "<path" in text)


def test_settings_persist_geometry_and_snap(window, tmp_path):
    window.actions_["snap"].setChecked(True)
    window._toggle_snap()
    window.save_settings()
    from playground.ui.mainwindow import MainWindow

    again = MainWindow(window.settings)
    assert again.actions_["snap"].isChecked() and again.scene.snap
    again.close()
