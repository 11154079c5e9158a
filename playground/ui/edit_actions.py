"""Edit-menu actions of a window: undo/redo, clipboard, delete, group/ungroup/open, auto-layout,
layer stack, set output, comment boxes. Every edit is one undo command on the session's current
document; opening and leaving composites go through the session's document stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, QObject, QPointF, QRectF
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

from ..engine import EngineError, get_op
from ..graph import COMPOSITE
from ..graph import edit as E
from .commands import ConnectCommand, StateCommand, remove_command

if TYPE_CHECKING:
    from .canvas.scene import GraphScene
    from .canvas.view import GraphView
    from .document import Document
    from .services import WindowServices
    from .session import Session

CLIP_MIME = "application/x-backprop-playground-nodes"


class EditActions(QObject):
    """The Edit menu's actions (``actions``: key → QAction) and what they do."""

    def __init__(self, session: Session, services: WindowServices, view: GraphView,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.services, self.view = session, services, view
        self.actions: dict[str, QAction] = {}
        K = QKeySequence.StandardKey
        a = self._act
        a("undo", "&Undo", lambda: self.doc.undo.undo(), [K.Undo])
        # Redo: Ctrl+Shift+Z (the platform's Redo on X11 and macOS) and Ctrl+Y, each once
        a("redo", "&Redo", lambda: self.doc.undo.redo(), _redo_keys())
        a("cut", "Cu&t", self.cut, [K.Cut])
        a("copy", "&Copy", self.copy, [K.Copy])
        a("paste", "&Paste", self.paste, [K.Paste])
        a("duplicate", "&Duplicate", self.duplicate, ["Ctrl+D"])
        a("delete", "&Delete", self.delete, [K.Delete, "Backspace"])
        a("select_all", "Select &All", self.select_all, [K.SelectAll])
        a("group", "&Group into Composite", self.group, ["Ctrl+G"])
        a("ungroup", "U&ngroup", self.ungroup, ["Ctrl+Shift+G"])
        a("open_group", "&Open Composite", self.open_selected_group, ["Ctrl+Return"])
        a("set_output", "Set as &Output", self.set_output,
          tip="Make the selected node the one forward and backward passes run toward")
        a("auto_layout", "Auto-&Layout", self.auto_layout, ["Ctrl+L"])
        a("add_backdrop", "Add &Comment Box", self.add_backdrop, ["Ctrl+Shift+B"],
          tip="A titled box behind the selected nodes; moving it moves them")
        a("layer_stack", "&Layer Stack…", self.layer_stack, ["Ctrl+Shift+L"],
          tip="Insert a whole multi-layer perceptron")
        # the toolbar shows these fixed words (its buttons never jump as the texts below change)
        self.actions["undo"].setIconText("Undo")
        self.actions["redo"].setIconText("Redo")
        self._bound: Document | None = None
        session.document_changed.connect(self._bind_undo)
        session.canvas_changed.connect(self._on_canvas)

    def _act(self, key: str, text: str, slot: Callable[[], Any], keys: list[Any] | None = None,
             tip: str = "") -> QAction:
        action = QAction(text, self)
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setStatusTip(tip or text.replace("&", "").rstrip("…"))
        action.triggered.connect(lambda _checked=False: slot())
        self.actions[key] = action
        return action

    # -- state -----------------------------------------------------------------------------
    @property
    def doc(self) -> Document:
        doc = self.session.document
        assert doc is not None
        return doc

    @property
    def scene(self) -> GraphScene:
        scene = self.session.scene
        assert scene is not None
        return scene

    def _bind_undo(self, doc: Document) -> None:
        if self._bound is not None:
            try:
                self._bound.undo.indexChanged.disconnect(self.refresh_undo_actions)
                self._bound.undo.cleanChanged.disconnect(self.refresh_undo_actions)
            except (RuntimeError, TypeError):
                pass
        self._bound = doc
        doc.undo.indexChanged.connect(self.refresh_undo_actions)
        doc.undo.cleanChanged.connect(self.refresh_undo_actions)
        self.refresh_undo_actions()

    def _on_canvas(self, scene: GraphScene) -> None:
        scene.selectionChanged.connect(self.update_enabled)
        self.update_enabled()

    def refresh_undo_actions(self, *_: Any) -> None:
        doc = self.session.document
        if doc is None:
            return
        stack = doc.undo
        undo, redo = self.actions["undo"], self.actions["redo"]
        locked = self.session.locked
        undo.setEnabled(stack.canUndo() and not locked)
        redo.setEnabled(stack.canRedo() and not locked)
        undo.setText(f"&Undo {stack.undoText()}".strip())
        redo.setText(f"&Redo {stack.redoText()}".strip())
        for action, what in ((undo, stack.undoText()), (redo, stack.redoText())):
            keys = " or ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                               for k in action.shortcuts())
            action.setToolTip(f"{action.iconText()} {what}".strip() + (f" ({keys})" if keys else ""))

    def update_enabled(self) -> None:
        scene, doc = self.session.scene, self.session.document
        if scene is None or doc is None:
            return
        try:
            ids = scene.selected_node_ids()
            has = bool(ids) or bool(scene.selected_edge_ids()) or bool(
                scene.selected_backdrop_ids())
        except RuntimeError:  # the scene is being destroyed
            return
        locked = self.session.locked
        composite = len(ids) == 1 and doc.model.nodes[ids[0]].op == COMPOSITE
        enabled = {"cut": bool(ids), "copy": bool(ids), "duplicate": bool(ids), "delete": has,
                   "group": bool(ids), "ungroup": composite, "open_group": composite,
                   "set_output": len(ids) == 1}
        for key, on in enabled.items():
            self.actions[key].setEnabled(on and (key == "copy" or not locked))

    def _push_state(self, after: dict[str, Any], text: str, select: list[str] | None = None
                    ) -> None:
        self.doc.undo.push(StateCommand(self.doc.model, after, text))
        if select is not None:
            self.services.select_nodes(select)

    def _refuse(self, text: str) -> None:
        self.services.show_status(text, 8000)

    def view_centre(self) -> QPointF:
        return self.view.mapToScene(self.view.viewport().rect().center())

    # -- clipboard -------------------------------------------------------------------------
    def copy(self) -> bool:
        ids = self.scene.selected_node_ids()
        if not ids:
            return False
        clip = E.copy_selection(self.doc.model, ids)
        data = QMimeData()
        text = json.dumps(clip)
        data.setData(CLIP_MIME, text.encode("utf-8"))
        data.setText(text)
        QApplication.clipboard().setMimeData(data)
        self.services.show_status(f"Copied {len(ids)} node{'s' if len(ids) != 1 else ''}", 3000)
        return True

    def cut(self) -> None:
        if self.copy():
            self.delete(text="Cut")

    def paste(self) -> None:
        data = QApplication.clipboard().mimeData()
        if data is None:
            return
        raw = (bytes(data.data(CLIP_MIME).data()).decode("utf-8") if data.hasFormat(CLIP_MIME)
               else data.text())
        try:
            clip = json.loads(raw)
            after, new_ids = E.paste(self.doc.model, clip)
        except (ValueError, EngineError) as exc:
            self._refuse(f"Nothing to paste: {exc}" if raw else "The clipboard holds no nodes")
            return
        self._push_state(after, f"Paste {len(new_ids)} node{'s' if len(new_ids) != 1 else ''}",
                         new_ids)

    def duplicate(self) -> None:
        ids = self.scene.selected_node_ids()
        if not ids:
            return
        after, new_ids = E.duplicate(self.doc.model, ids)
        self._push_state(after, f"Duplicate {len(ids)} node{'s' if len(ids) != 1 else ''}",
                         new_ids)

    def delete(self, text: str | None = None) -> None:
        scene = self.scene
        nodes, edges = scene.selected_node_ids(), scene.selected_edge_ids()
        boxes = scene.selected_backdrop_ids()
        if not nodes and not edges and not boxes:
            return
        cmd = remove_command(self.doc.model, nodes, edges)
        if boxes:
            cmd.after.setdefault("meta", {})["backdrops"] = scene.backdrop_data(drop=set(boxes))
            if not nodes and not edges:
                cmd.setText(f"Delete {len(boxes)} comment box{'es' if len(boxes) != 1 else ''}")
        if text:
            cmd.setText(f"{text} {len(nodes)} node{'s' if len(nodes) != 1 else ''}")
        self.doc.undo.push(cmd)

    def add_backdrop(self, title: str = "Comment") -> str:
        from PySide6.QtCore import QRectF

        from .canvas.backdrop import COLOURS, TITLE_H

        scene = self.scene
        ids = scene.selected_node_ids()
        if ids:
            rect = QRectF()
            for nid in ids:
                rect = rect.united(scene.nodes[nid].sceneBoundingRect())
            rect = rect.adjusted(-30, -30 - TITLE_H, 30, 30)
        else:
            c = self.view_centre()
            rect = QRectF(c.x() - 180, c.y() - 120, 360, 240)
        existing = {b["id"] for b in scene.backdrop_data()}
        k = 1
        while f"b{k}" in existing:
            k += 1
        entry = {"id": f"b{k}", "title": title, "colour": COLOURS[(k - 1) % len(COLOURS)],
                 "rect": [rect.x(), rect.y(), rect.width(), rect.height()]}
        after = self.doc.model.to_dict()
        after.setdefault("meta", {})["backdrops"] = [*scene.backdrop_data(), entry]
        self._push_state(after, "Add comment box")
        return str(entry["id"])

    def rename_backdrop(self, backdrop_id: str) -> None:
        item = self.scene.backdrops.get(backdrop_id)
        if item is None:
            return
        title = self.services.ask_text("Comment box", "Title:", item.title)
        if not title or title == item.title:
            return
        data = item.to_data()
        data["title"] = title
        after = self.doc.model.to_dict()
        after.setdefault("meta", {})["backdrops"] = self.scene.backdrop_data(
            replace={backdrop_id: data})
        self._push_state(after, f"Rename comment box to {title}")

    def select_all(self) -> None:
        scene = self.scene
        for item in [*scene.nodes.values(), *scene.edges.values(), *scene.backdrops.values()]:
            item.setSelected(True)

    # -- groups ----------------------------------------------------------------------------
    def group(self) -> None:
        ids = self.scene.selected_node_ids()
        try:
            after, cid = E.group(self.doc.model, ids)
        except EngineError as exc:
            self._refuse(f"Cannot group: {exc}")
            return
        self._push_state(after, f"Group {len(ids)} nodes", [cid])

    def ungroup(self) -> None:
        ids = self.scene.selected_node_ids()
        if len(ids) != 1:
            return
        try:
            after, new_ids = E.ungroup(self.doc.model, ids[0])
        except EngineError as exc:
            self._refuse(f"Cannot ungroup: {exc}")
            return
        self._push_state(after, f"Ungroup {self.doc.model.nodes[ids[0]].name}", new_ids)

    def open_selected_group(self) -> None:
        ids = self.scene.selected_node_ids()
        if len(ids) == 1:
            self.open_group(ids[0])

    def open_group(self, node_id: str) -> None:
        node = self.doc.model.nodes.get(node_id)
        if node is not None and node.op == COMPOSITE:
            self.session.enter_composite(node_id)

    def close_group(self) -> bool:
        """Leave the composite being edited; its changes become one undo step outside."""
        return bool(self.session.levels) and self.session.leave_composites(1)

    def set_output(self) -> None:
        ids = self.scene.selected_node_ids()
        if len(ids) != 1:
            return
        model = self.doc.model
        after = model.to_dict()
        after.setdefault("meta", {})["output"] = ids[0]
        self._push_state(after, f"Set {model.nodes[ids[0]].name} as output")

    def auto_layout(self) -> None:
        model = self.doc.model
        if not model.nodes:
            return
        self._push_state(E.auto_layout(model), "Auto-layout")
        self.view.fit()

    def layer_stack(self) -> None:
        from .layerstack import LayerStackDialog

        dialog = LayerStackDialog(self.view.window())
        try:
            if dialog.exec() != LayerStackDialog.DialogCode.Accepted:
                return
            values = dialog.values()
        finally:
            dialog.deleteLater()
        self.insert_layer_stack(**values)

    def insert_layer_stack(self, **spec: Any) -> list[str]:
        origin = self.view_centre() - QPointF(400, 100)
        scene = self.session.scene
        if scene is not None and scene.nodes:  # below what is there: never on top of it
            taken = QRectF()
            for item in scene.nodes.values():
                taken = taken.united(item.sceneBoundingRect())
            origin = QPointF(taken.left(), taken.bottom() + 90)
        try:
            after, ids = E.build_mlp(self.doc.model, origin=(origin.x(), origin.y()), **spec)
        except EngineError as exc:
            self._refuse(f"Cannot insert the layer stack: {exc}")
            return []
        self._push_state(after, "Insert layer stack", ids)
        self.view.fit()
        return ids

    # -- wires released on empty canvas ----------------------------------------------------
    def ops_fitting(self, node_id: str, from_output: bool) -> list[str]:
        """Palette keys a new node could take to connect to this port."""
        from .palette import palette_entries

        keys = [e[1] for e in palette_entries()]
        if not from_output:
            return keys
        scene = self.session.scene
        shape = scene.shapes.get(node_id) if scene is not None else None
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

    def connect_new_node(self, new_id: str, node_id: str, port: str, from_output: bool) -> None:
        model = self.doc.model
        candidates = ([(node_id, new_id, p) for p in model.input_ports(new_id)] if from_output
                      else [(new_id, node_id, port)])
        for src, dst, p in candidates:
            try:
                self.doc.undo.push(ConnectCommand(model, src, dst, p))
                return
            except EngineError:
                continue
        self._refuse("The new node could not be connected here")


def _redo_keys() -> list[Any]:
    """Ctrl+Shift+Z and Ctrl+Y, each once: the platform's Redo is one of them, and giving a key
    twice makes Qt refuse it as an ambiguous shortcut."""
    keys: list[Any] = []
    for key in (*QKeySequence.keyBindings(QKeySequence.StandardKey.Redo),
                QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")):
        if all(key != k for k in keys):
            keys.append(key)
    return keys
