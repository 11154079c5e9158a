"""What a panel may ask of the window it sits in, as a small typed interface.

Panels and docks are built with the :class:`~playground.ui.session.Session` (the shared state)
and, where they need the window, a :class:`WindowServices`: a status message, selecting a node,
showing a dock or a plot tab, a question. They never import or reach into ``MainWindow``, which
implements this protocol and assembles them.
"""

from __future__ import annotations

from typing import Any, Protocol

# the docks a panel may ask to show (MainWindow maps them to its QDockWidgets)
DOCKS = ("inspector", "training", "plots", "stepper", "lesson", "math", "granularity", "values")


class WindowServices(Protocol):
    def show_status(self, text: str, ms: int = 8000) -> None:
        """A message in the status bar for ``ms`` milliseconds."""

    def select_nodes(self, node_ids: list[str], centre: bool = False) -> bool:
        """Select these nodes of the graph shown, and only these (``centre``: scroll the first
        into the middle of the canvas); False when none of them is there."""

    def show_on_canvas(self, node_ids: list[str], edge_ids: list[str] | None = None) -> None:
        """Scroll (zooming out when they do not fit) the canvas so that these nodes and wires
        and their value labels are in view; the selection stays as it is."""

    def show_dock(self, key: str, raise_: bool = True) -> None:
        """Show one of :data:`DOCKS` (and bring it to the front of its tabs)."""

    def show_plot_tab(self, name: str) -> str:
        """Show a tab of the Plots dock; '' when shown, else why not."""

    def ask_text(self, title: str, label: str, text: str) -> str | None:
        """A line of text from the user; None when cancelled."""

    def ask_int(self, title: str, label: str, value: int, low: int, high: int) -> int | None:
        """A whole number from the user; None when cancelled."""

    def show_error(self, title: str, text: str) -> None:
        """Something failed that the user must read (a dialog, and the status bar)."""

    def ask_unsaved(self, name: str) -> str:
        """``name`` has unsaved changes: 'save', 'discard' or 'cancel'."""

    def ask_restore(self, record: dict[str, Any]) -> bool:
        """After a crash: restore the unsaved graph ``record`` describes?"""
