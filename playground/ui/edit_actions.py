"""Edit-menu actions of the main window: undo/redo, clipboard, delete, group/ungroup/open,
auto-layout, layer stack, set output. Every edit is one undo command."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, QPointF
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from ..engine import EngineError, get_op
from ..graph import COMPOSITE, GraphModel
from ..graph import edit as E
from .commands import ConnectCommand, StateCommand, remove_command

if TYPE_CHECKING:
    from .mainwindow import MainWindow

CLIP_MIME = "application/x-backprop-playground-nodes"


def install(win: MainWindow) -> None:
    K = QKeySequence.StandardKey
    a = win._act
    a("undo", "&Undo", lambda: _doc(win).undo.undo(), K.Undo)
    a("redo", "&Redo", lambda: _doc(win).undo.redo(),
      [QKeySequence(K.Redo), QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    a("cut", "Cu&t", lambda: cut(win), K.Cut)
    a("copy", "&Copy", lambda: copy(win), K.Copy)
    a("paste", "&Paste", lambda: paste(win), K.Paste)
    a("duplicate", "&Duplicate", lambda: duplicate(win), QKeySequence("Ctrl+D"))
    a("delete", "&Delete", lambda: delete(win),
      [QKeySequence(K.Delete), QKeySequence("Backspace")])
    a("select_all", "Select &All", lambda: select_all(win), K.SelectAll)
    a("group", "&Group into Composite", lambda: group(win), QKeySequence("Ctrl+G"))
    a("ungroup", "U&ngroup", lambda: ungroup(win), QKeySequence("Ctrl+Shift+G"))
    a("open_group", "&Open Composite", lambda: open_selected_group(win), QKeySequence("Ctrl+Return"))
    a("set_output", "Set as &Output", lambda: set_output(win),
      tip="Make the selected node the one forward and backward passes run toward")
    a("auto_layout", "Auto-&Layout", lambda: auto_layout(win), QKeySequence("Ctrl+L"))
    a("add_backdrop", "Add &Comment Box", lambda: add_backdrop(win), QKeySequence("Ctrl+Shift+B"),
      tip="A titled box behind the selected nodes; moving it moves them")
    a("layer_stack", "&Layer Stack…", lambda: layer_stack(win), QKeySequence("Ctrl+Shift+L"),
      tip="Insert a whole multi-layer perceptron")
    win.document_changed.connect(lambda doc: _bind_undo(win, doc))


def _doc(win: MainWindow) -> Any:
    assert win.document is not None
    return win.document


def _bind_undo(win: MainWindow, doc: Any) -> None:
    doc.undo.indexChanged.connect(win.refresh_undo_actions)
    doc.undo.cleanChanged.connect(win.refresh_undo_actions)
    win.refresh_undo_actions()
    update_enabled(win)


def refresh_undo_actions(win: MainWindow) -> None:
    if win.document is None:
        return
    stack = win.document.undo
    undo, redo = win.actions_["undo"], win.actions_["redo"]
    undo.setEnabled(stack.canUndo())
    redo.setEnabled(stack.canRedo())
    undo.setText(f"&Undo {stack.undoText()}".strip())
    redo.setText(f"&Redo {stack.redoText()}".strip())


def update_enabled(win: MainWindow) -> None:
    if win.scene is None or win.document is None:
        return
    ids = win.scene.selected_node_ids()
    has = bool(ids) or bool(win.scene.selected_edge_ids()) or bool(win.scene.selected_backdrop_ids())
    for k in ("cut", "copy", "duplicate"):
        win.actions_[k].setEnabled(bool(ids))
    win.actions_["delete"].setEnabled(has)
    win.actions_["group"].setEnabled(bool(ids))
    composite = len(ids) == 1 and win.document.model.nodes[ids[0]].op == COMPOSITE
    win.actions_["ungroup"].setEnabled(composite)
    win.actions_["open_group"].setEnabled(composite)
    win.actions_["set_output"].setEnabled(len(ids) == 1)


def _push_state(win: MainWindow, after: dict[str, Any], text: str, select: list[str] | None = None) -> None:
    doc = _doc(win)
    doc.undo.push(StateCommand(doc.model, after, text))
    if select is not None and win.scene is not None:
        win.scene.clearSelection()
        for nid in select:
            item = win.scene.nodes.get(nid)
            if item is not None:
                item.setSelected(True)


def _refuse(win: MainWindow, text: str) -> None:
    win.statusBar().showMessage(text, 8000)


# -- clipboard ----------------------------------------------------------------------------
def copy(win: MainWindow) -> bool:
    assert win.scene is not None
    ids = win.scene.selected_node_ids()
    if not ids:
        return False
    clip = E.copy_selection(_doc(win).model, ids)
    data = QMimeData()
    text = json.dumps(clip)
    data.setData(CLIP_MIME, text.encode("utf-8"))
    data.setText(text)
    QApplication.clipboard().setMimeData(data)
    win.statusBar().showMessage(f"Copied {len(ids)} node{'s' if len(ids) != 1 else ''}", 3000)
    return True


def cut(win: MainWindow) -> None:
    if copy(win):
        delete(win, text="Cut")


def paste(win: MainWindow) -> None:
    data = QApplication.clipboard().mimeData()
    if data is None:
        return
    raw = bytes(data.data(CLIP_MIME).data()).decode("utf-8") if data.hasFormat(CLIP_MIME) else data.text()
    try:
        clip = json.loads(raw)
        after, new_ids = E.paste(_doc(win).model, clip)
    except (ValueError, EngineError) as exc:
        _refuse(win, f"Nothing to paste: {exc}" if raw else "The clipboard holds no nodes")
        return
    _push_state(win, after, f"Paste {len(new_ids)} node{'s' if len(new_ids) != 1 else ''}", new_ids)


def duplicate(win: MainWindow) -> None:
    assert win.scene is not None
    ids = win.scene.selected_node_ids()
    if not ids:
        return
    after, new_ids = E.duplicate(_doc(win).model, ids)
    _push_state(win, after, f"Duplicate {len(ids)} node{'s' if len(ids) != 1 else ''}", new_ids)


def delete(win: MainWindow, text: str | None = None) -> None:
    assert win.scene is not None
    nodes, edges = win.scene.selected_node_ids(), win.scene.selected_edge_ids()
    boxes = win.scene.selected_backdrop_ids()
    if not nodes and not edges and not boxes:
        return
    cmd = remove_command(_doc(win).model, nodes, edges)
    if boxes:
        cmd.after.setdefault("meta", {})["backdrops"] = win.scene.backdrop_data(drop=set(boxes))
        if not nodes and not edges:
            cmd.setText(f"Delete {len(boxes)} comment box{'es' if len(boxes) != 1 else ''}")
    if text:
        cmd.setText(f"{text} {len(nodes)} node{'s' if len(nodes) != 1 else ''}")
    _doc(win).undo.push(cmd)


def add_backdrop(win: MainWindow, title: str = "Comment") -> str:
    from PySide6.QtCore import QRectF

    from .canvas.backdrop import COLOURS, TITLE_H

    assert win.scene is not None
    ids = win.scene.selected_node_ids()
    if ids:
        rect = QRectF()
        for nid in ids:
            rect = rect.united(win.scene.nodes[nid].sceneBoundingRect())
        rect = rect.adjusted(-30, -30 - TITLE_H, 30, 30)
    else:
        c = win._view_center()
        rect = QRectF(c.x() - 180, c.y() - 120, 360, 240)
    existing = {b["id"] for b in win.scene.backdrop_data()}
    k = 1
    while f"b{k}" in existing:
        k += 1
    entry = {"id": f"b{k}", "title": title, "colour": COLOURS[(k - 1) % len(COLOURS)],
             "rect": [rect.x(), rect.y(), rect.width(), rect.height()]}
    after = _doc(win).model.to_dict()
    after.setdefault("meta", {})["backdrops"] = [*win.scene.backdrop_data(), entry]
    _push_state(win, after, "Add comment box")
    return entry["id"]


def rename_backdrop(win: MainWindow, backdrop_id: str) -> None:
    assert win.scene is not None
    item = win.scene.backdrops.get(backdrop_id)
    if item is None:
        return
    title = win.ask_text("Comment box", "Title:", item.title)
    if not title or title == item.title:
        return
    data = item.to_data()
    data["title"] = title
    after = _doc(win).model.to_dict()
    after.setdefault("meta", {})["backdrops"] = win.scene.backdrop_data(replace={backdrop_id: data})
    _push_state(win, after, f"Rename comment box to {title}")


def select_all(win: MainWindow) -> None:
    assert win.scene is not None
    for item in [*win.scene.nodes.values(), *win.scene.edges.values(), *win.scene.backdrops.values()]:
        item.setSelected(True)


# -- groups -------------------------------------------------------------------------------
def group(win: MainWindow) -> None:
    assert win.scene is not None
    ids = win.scene.selected_node_ids()
    try:
        after, cid = E.group(_doc(win).model, ids)
    except EngineError as exc:
        _refuse(win, f"Cannot group: {exc}")
        return
    _push_state(win, after, f"Group {len(ids)} nodes", [cid])


def ungroup(win: MainWindow) -> None:
    assert win.scene is not None
    ids = win.scene.selected_node_ids()
    if len(ids) != 1:
        return
    try:
        after, new_ids = E.ungroup(_doc(win).model, ids[0])
    except EngineError as exc:
        _refuse(win, f"Cannot ungroup: {exc}")
        return
    _push_state(win, after, f"Ungroup {_doc(win).model.nodes[ids[0]].name}", new_ids)


def open_selected_group(win: MainWindow) -> None:
    assert win.scene is not None
    ids = win.scene.selected_node_ids()
    if len(ids) == 1:
        open_group(win, ids[0])


def open_group(win: MainWindow, node_id: str) -> None:
    from .document import Document

    outer = _doc(win)
    node = outer.model.nodes[node_id]
    assert node.body is not None
    inner = Document(GraphModel.from_dict(node.body.to_dict()))
    inner.parent_link = (outer, node_id)  # type: ignore[attr-defined]
    win.enter_group(inner, node.name)


def close_group(win: MainWindow) -> bool:
    """Leave the composite being edited; its changes become one undo step outside."""
    inner = _doc(win)
    link = getattr(inner, "parent_link", None)
    if link is None:
        return False
    outer, node_id = link
    new_body = inner.model.to_dict()
    if node_id in outer.model.nodes:
        old_body = outer.model.nodes[node_id].body
        if old_body is not None and old_body.to_dict() != new_body:
            try:
                inner.model.composite_output()
            except EngineError as exc:
                _refuse(win, f"The composite needs one output before you leave it: {exc}")
                return False
            after = outer.model.to_dict()
            for n in after["nodes"]:
                if n["id"] == node_id:
                    n["body"] = {k: v for k, v in new_body.items() if k not in ("format", "version")}
            outer.undo.push(StateCommand(outer.model, after,
                                         f"Edit inside {outer.model.nodes[node_id].name}"))
    win.leave_group(outer)
    return True


def set_output(win: MainWindow) -> None:
    assert win.scene is not None
    ids = win.scene.selected_node_ids()
    if len(ids) != 1:
        return
    model = _doc(win).model
    after = model.to_dict()
    after.setdefault("meta", {})["output"] = ids[0]
    _push_state(win, after, f"Set {model.nodes[ids[0]].name} as output")


def auto_layout(win: MainWindow) -> None:
    model = _doc(win).model
    if not model.nodes:
        return
    _push_state(win, E.auto_layout(model), "Auto-layout")
    win.view.fit()


def layer_stack(win: MainWindow) -> None:
    from .layerstack import LayerStackDialog

    dialog = LayerStackDialog(win)
    if dialog.exec() != LayerStackDialog.DialogCode.Accepted:
        return
    insert_layer_stack(win, **dialog.values())


def insert_layer_stack(win: MainWindow, **spec: Any) -> list[str]:
    model = _doc(win).model
    origin = win._view_center() - QPointF(400, 100)
    try:
        after, ids = E.build_mlp(model, origin=(origin.x(), origin.y()), **spec)
    except EngineError as exc:
        _refuse(win, f"Cannot insert the layer stack: {exc}")
        return []
    _push_state(win, after, "Insert layer stack", ids)
    win.view.fit()
    return ids


# -- wires released on empty canvas -------------------------------------------------------
def ops_fitting(win: MainWindow, node_id: str, from_output: bool) -> list[str]:
    """Palette keys a new node could take to connect to this port."""
    from .palette import palette_entries

    keys = [e[1] for e in palette_entries()]
    if not from_output:
        return keys
    shape = win.scene.shapes.get(node_id) if win.scene else None
    out = []
    for key in keys:
        if key.startswith("composite:"):
            out.append(key)
            continue
        spec = get_op(key)
        if not spec.inputs:
            continue
        if shape is None or len(spec.inputs) > 1:
            out.append(key)
            continue
        try:
            spec.shape([shape], spec.defaults())
            out.append(key)
        except EngineError:
            pass
    return out


def connect_new_node(win: MainWindow, new_id: str, node_id: str, port: str, from_output: bool) -> None:
    model = _doc(win).model
    candidates = ([(node_id, new_id, p) for p in model.input_ports(new_id)] if from_output
                  else [(new_id, node_id, port)])
    for src, dst, p in candidates:
        try:
            _doc(win).undo.push(ConnectCommand(model, src, dst, p))
            return
        except EngineError:
            continue
    _refuse(win, "The new node could not be connected here")

