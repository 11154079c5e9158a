"""Explain tools: values and gradients on the wires, gradient check, gradient flow, health
badges (values.py), the detail view (detail.py), and the step-through tools beside them.

The "Explain" menu and toolbar are shared: every tool gets them from :func:`explain_menu` and
:func:`explain_toolbar`, which create them on first use.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMenu, QToolBar


def explain_menu(win: Any) -> QMenu:
    """The window's "Explain" menu: found by its title when another tool made it first, else
    created (before "Insert", or at the end)."""
    menu = getattr(win, "explain_menu", None)
    if menu is not None:
        return menu
    bar = win.menuBar()
    for act in bar.actions():
        if act.text().replace("&", "") == "Explain" and act.menu() is not None:
            win.explain_menu = act.menu()
            return act.menu()
    menu = QMenu("&Explain", win)
    menu.setObjectName("explain_menu")
    anchor = next((a for a in bar.actions() if a.text().replace("&", "") == "Insert"), None)
    if anchor is not None:
        bar.insertMenu(anchor, menu)
    else:
        bar.addMenu(menu)
    win.explain_menu = menu
    return menu


def explain_toolbar(win: Any) -> QToolBar:
    """The window's "Explain" toolbar (created on first use)."""
    bar = getattr(win, "explain_toolbar", None)
    if bar is None:
        bar = win.addToolBar("Explain")
        bar.setObjectName("explain_toolbar")
        win.explain_toolbar = bar
    return bar
