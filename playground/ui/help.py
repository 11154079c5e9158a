"""The Help menu: Getting Started (the first lesson), a Keyboard Shortcuts sheet made from the
window's own actions, the file format and About.

The shortcut sheet is generated, never written by hand: every action with a shortcut in the
window's menus, grouped by menu (submenus under their menu), then any action that has a
shortcut but sits in no menu. So a new action with a shortcut appears in it by itself.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any, cast

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMenu,
    QMenuBar,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from .. import __version__

APP_NAME = "Backprop Playground"
FIRST_LESSON = "square_of_sum"
MENU = ("getting_started", "shortcuts", "file_format", None, "about")


def _plain(text: str) -> str:
    """A menu or action text without its mnemonic '&' and trailing '…'."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def _keys(action: QAction) -> list[str]:
    """The action's keys as a person types them: the platform's extra bindings for keyboards'
    dedicated keys (a "Copy" key, F16 on old Sun keyboards) are left out."""
    out = []
    for k in action.shortcuts():
        if k.isEmpty():
            continue
        key = cast(Any, k)[0].key()  # the first chord (the stubs miss QKeySequence[i])
        if key >= Qt.Key.Key_Back or Qt.Key.Key_F13 <= key <= Qt.Key.Key_F35:
            continue
        out.append(k.toString(QKeySequence.SequenceFormat.NativeText))
    return out


def shortcut_groups(menubar: QMenuBar, extra: Iterable[QAction] = ()
                    ) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """[(menu title, [(action text, [keys])])] for every action with a shortcut, in menu
    order; actions in ``extra`` that have a shortcut and are in no menu come last, as
    "Other"."""
    groups: list[tuple[str, list[tuple[str, list[str]]]]] = []
    seen: set[int] = set()

    def walk(menu: QMenu, prefix: str, rows: list[tuple[str, list[str]]]) -> None:
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                walk(sub, f"{prefix}{_plain(sub.title())} ▸ ", rows)
                continue
            if action.isSeparator():
                continue
            seen.add(id(action))
            keys = _keys(action)
            if keys:
                rows.append((prefix + _plain(action.text()), keys))

    for top in menubar.actions():
        menu = top.menu()
        if not isinstance(menu, QMenu):
            continue
        rows: list[tuple[str, list[str]]] = []
        walk(menu, "", rows)
        if rows:
            groups.append((_plain(menu.title()), rows))
    others = [(_plain(a.text()), _keys(a)) for a in extra if id(a) not in seen and _keys(a)]
    if others:
        groups.append(("Other", others))
    return groups


CANVAS_KEYS = (
    ("Add a node: search by name", ["Tab", "double-click on empty canvas"]),
    ("Connect", ["drag from an output (right) to an input (left)"]),
    ("Pan", ["middle-drag", "Space + drag"]),
    ("Zoom about the cursor", ["wheel"]),
    ("Select several", ["Ctrl+click", "drag a rectangle"]),
    ("Nudge the selection", ["arrows (Shift: 1 px)"]),
    ("Step through, once started", ["← →"]),
)


def shortcut_sheet(menubar: QMenuBar, extra: Iterable[QAction] = ()) -> str:
    """The Keyboard Shortcuts sheet as HTML."""
    out = ["<h2>Keyboard shortcuts</h2>"]

    def table(title: str, rows: list[tuple[str, list[str]]]) -> None:
        out.append(f"<h3>{html.escape(title)}</h3><table cellspacing='0' cellpadding='3'>")
        for text, keys in rows:
            k = " or ".join(f"<b>{html.escape(key)}</b>" for key in keys)
            out.append(f"<tr><td width='260'>{html.escape(text)}</td><td>{k}</td></tr>")
        out.append("</table>")

    for title, rows in shortcut_groups(menubar, extra):
        table(title, rows)
    table("On the canvas", [(t, list(k)) for t, k in CANVAS_KEYS])
    return "\n".join(out)


FILE_FORMAT = """
<h2>The graph file format</h2>
<p>A graph is a UTF-8 JSON file (<tt>.json</tt>). Open one with File ▸ Open, or write one by
hand or from a script; the bundled examples are files of this kind.</p>
<pre>{
  "format": "backprop-playground/graph",
  "version": 1,
  "dtype": "float64",
  "meta": {"title": "...", "training": {"dataset": "digits", "epochs": 40}},
  "nodes": [
    {"id": "n1", "op": "input", "name": "x",
     "params": {"shape": [], "value": 1.0}, "position": [0, 0]},
    {"id": "n2", "op": "input", "name": "X",
     "params": {"shape": [null, 64]}, "position": [0, 120]}
  ],
  "edges": [{"id": "e1", "src": "n1", "dst": "n3", "port": "a"}]
}</pre>
<ul>
<li><b>nodes</b>: <tt>id</tt> (short, stable), <tt>op</tt> (the gate: <tt>add</tt>,
<tt>matmul</tt>, <tt>sigmoid</tt>, <tt>dense</tt>, <tt>mse</tt>, ...), <tt>name</tt> (unique;
what weights files and the command line use), <tt>params</tt> and <tt>position</tt> on the
canvas. A composite node carries its sub-graph in <tt>body</tt>.</li>
<li><b>edges</b>: a wire from node <tt>src</tt>'s output to input <tt>port</tt> of node
<tt>dst</tt>. A node has one output; an input takes one wire.</li>
<li><b>Shapes</b> are lists of sizes: <tt>[]</tt> is one number, <tt>[3]</tt> three numbers,
<tt>[null, 64]</tt> a batch of rows of 64 numbers. <tt>null</tt> (shown as <b>N</b> in the
window) is the batch: one row per sample, as many as are fed.</li>
<li><b>meta.output</b> may name the output node; otherwise it is the only loss, or the only
node that feeds nothing. <b>meta.training</b> holds the data and run settings (dataset,
epochs, batch size, learning rate, optimizer ...).</li>
<li>Trained weights are kept beside the graph as <tt>NAME.weights.npz</tt>, one array per
parameter node, by name.</li>
<li>Loading never runs code. A file from a newer version, or with an op this version does not
know, is refused with a message naming it; files of older versions are upgraded.</li>
</ul>
<p>The README's “File format” section lists every field.</p>
"""


def about_text() -> str:
    return (
        f"<h2>{APP_NAME}</h2><p>Version {html.escape(__version__)}</p>"
        "<p>Build a neural network as a computational graph, watch every value and gradient on "
        "its wires, step through backpropagation gate by gate, and train it.</p>"
        "<p><b>Licence:</b> MIT.</p>"
        "<p><b>Built with</b> Qt for Python (PySide6, LGPLv3), pyqtgraph, NumPy, "
        "scikit-learn and ONNX.</p>"
        "<p><b>Credits:</b> the gate-by-gate pictures and the sigmoid-neuron example follow "
        "the CS231n notes on backpropagation (Andrej Karpathy); the scalar examples the spirit "
        "of micrograd; the playground idea TensorFlow Playground. The handwritten digits are "
        "scikit-learn's copy of the UCI ML digits set.</p>")


class TextDialog(QDialog):
    """A page of help text (rich text, selectable, links open outside)."""

    def __init__(self, title: str, body: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        box = QVBoxLayout(self)
        box.addWidget(self.browser)
        box.addWidget(buttons)
        self.resize(560, 520)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)


class HelpActions(QObject):
    """The Help menu's actions (``actions``: key → QAction; :data:`MENU` orders them).

    ``window`` parents the dialogs and gives the menu bar and the actions the shortcut sheet
    lists; ``open_example(name)`` opens a bundled example (with its lesson)."""

    def __init__(self, window: Any, open_example: Callable[[str], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window, self.open_example = window, open_example
        self.actions: dict[str, QAction] = {}
        self.dialog: QDialog | None = None
        self._act("getting_started", "&Getting Started", self.getting_started, "F1",
                  "Open the first lesson: f = (x + y)², its values and gradients, step by step")
        self._act("shortcuts", "&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/",
                  "Every key of this window, by menu")
        self._act("file_format", "The Graph &File Format", self.show_file_format,
                  tip="What a saved graph (.json) holds")
        self._act("about", f"&About {APP_NAME}", self.show_about,
                  tip="Version, licence and credits")
        self.actions["about"].setMenuRole(QAction.MenuRole.AboutRole)

    def _act(self, key: str, text: str, slot: Callable[[], Any], shortcut: str = "",
             tip: str = "") -> None:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or _plain(text))
        action.triggered.connect(lambda _checked=False: slot())
        self.actions[key] = action

    def getting_started(self) -> bool:
        return self.open_example(FIRST_LESSON)

    def _show(self, title: str, body: str) -> QDialog:
        if self.dialog is not None:
            try:
                self.dialog.close()
            except RuntimeError:  # closed and deleted already
                pass
        self.dialog = TextDialog(title, body, self.window)
        self.dialog.show()
        return self.dialog

    def show_shortcuts(self) -> QDialog:
        menubar = self.window.menuBar()
        return self._show("Keyboard Shortcuts", shortcut_sheet(menubar, self.window.actions()))

    def show_file_format(self) -> QDialog:
        return self._show("The Graph File Format", FILE_FORMAT)

    def show_about(self) -> None:
        QMessageBox.about(self.window, f"About {APP_NAME}", about_text())
