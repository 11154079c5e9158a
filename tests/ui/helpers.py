"""Small helpers shared by the UI tests that work on a graph by node names."""

from __future__ import annotations


def ids_by_name(win) -> dict[str, str]:
    return {n.name: nid for nid, n in win.document.model.nodes.items()}


def select(win, *names: str) -> None:
    by = ids_by_name(win)
    win.scene.clearSelection()
    for name in names:
        win.scene.nodes[by[name]].setSelected(True)
