"""The Explain tools of a window, built from the session: Evaluate and the checks, the value
detail view, the step-through, the lesson, the Math card and the granularity tools, with their
actions. MainWindow places the panels in docks and the actions in menus and toolbars."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence

from .checks import GradientChecks
from .detail import ValueDetail, ValueDetailPanel
from .evaluate import Evaluator
from .granularity_panel import GranularityPanel
from .lessons_panel import LessonPanel
from .mathcard import MathCard
from .stepper import StepThroughPanel

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from ..services import WindowServices
    from ..session import Session

# the Explain menu: actions in this order, None for a separator
MENU = ("evaluate", "evaluate_sample", "show_values", None, "gradient_check", "flow_overlay",
        "health_check", None, "value_detail", None, "step_forward", "step_back", "step_play",
        "step_reset", None, "fuse", "expand", "compare_forms")
TOOLBAR = ("evaluate", "sample_box", "show_values", "gradient_check", "flow_overlay")


class ExplainTools(QObject):
    """Owns the Explain panels and their actions (``actions``: key → QAction)."""

    def __init__(self, session: Session, services: WindowServices,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.services = session, services
        self.evaluator = Evaluator(session, services, self)
        self.checks = GradientChecks(session, services, self.evaluator, self)
        self.detail = ValueDetailPanel(parent)
        self.value_detail = ValueDetail(session, services, self.evaluator, self.detail)
        self.stepper = StepThroughPanel(session, parent)
        self.lesson = LessonPanel(session, services, self.stepper, self.evaluator.evaluate_action,
                                  parent)
        self.math_card = MathCard(session, parent)
        self.granularity = GranularityPanel(session, services, parent)
        self.arrow_keys = CanvasArrowKeys(session, self.stepper)
        for panel in (self.stepper, self.granularity, self.lesson):
            panel.message.connect(lambda text: services.show_status(text, 8000))
        self.granularity.compared.connect(lambda _r: services.show_dock("granularity"))
        self.stepper.position_changed.connect(self._show_step)
        self.actions: dict[str, QAction] = {**self.evaluator.actions, **self.checks.actions}
        self._build_actions()
        session.locked_changed.connect(self._on_locked)

    def _act(self, key: str, text: str, slot: Callable[..., Any], shortcut: str = "",
             tip: str = "", checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setStatusTip(tip or text.replace("&", ""))
        a.setToolTip(tip or text.replace("&", ""))
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        self.actions[key] = a
        return a

    def _build_actions(self) -> None:
        st, gr = self.stepper, self.granularity
        self._act("value_detail", "Value &Detail", self.value_detail.show_selected,
                  tip="The selected node's value and gradient as heatmaps with statistics")
        self._act("step_forward", "Step &Forward", st.step_forward, "Alt+Right",
                  "Step-through: compute the next gate, then send the gradient back wire by wire")
        self._act("step_back", "Step &Back", st.step_back, "Alt+Left",
                  "Step-through: undo the last step")
        play = self._act("step_play", "&Play Step-through", st.set_playing, checkable=True,
                         tip="Step on by itself at the speed set in the Step-through panel")
        st.play_button.toggled.connect(play.setChecked)
        st.timer.timeout.connect(lambda: play.setChecked(st.playing))
        self._act("step_reset", "&Reset Step-through", st.reset,
                  tip="Back to before the first step: no highlight, blank wires")
        self._act("fuse", "&Fuse Gates", gr.fuse_selection, "Ctrl+Alt+F",
                  "Replace the selected primitive gates (−x, exp, +1, 1/x or matmul + add) by "
                  "one fused gate")
        self._act("expand", "E&xpand Gate", gr.expand_selection, "Ctrl+Alt+E",
                  "Replace the selected σ, dense or composite node by its primitive gates")
        self._act("compare_forms", "&Compare Fused and Primitive Forms", gr.compare_selection,
                  tip="Gradient difference, gate counts and time per step of the two forms")
        for key in ("step_forward", "step_back"):
            self.actions[key].setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    def _show_step(self, position: int) -> None:
        """The canvas follows the step-through: the gate stepped and its wires come into view."""
        nodes, edges, _phase = self.stepper.highlight
        if position >= 0 and nodes:
            self.services.show_on_canvas(list(nodes), list(edges))

    def _on_locked(self, locked: bool) -> None:
        """While a training run is live the graph is locked: no fusing, no stepping."""
        for key in ("fuse", "expand", "compare_forms", "step_forward", "step_back", "step_play",
                    "step_reset"):
            self.actions[key].setEnabled(not locked)


class CanvasArrowKeys(QObject):
    """Plain Left/Right on the canvas step through, but only while a step-through is under way
    and no node is selected; otherwise the view keeps its own arrow handling (nudging)."""

    def __init__(self, session: Session, panel: StepThroughPanel) -> None:
        super().__init__(panel)
        self.session, self.panel = session, panel

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress:
            return False
        assert isinstance(event, QKeyEvent)
        key = event.key()
        if key not in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            return False
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if not self.panel.active or self.session.selected_node_ids():
            return False
        if key == Qt.Key.Key_Right:
            self.panel.step_forward()
        else:
            self.panel.step_back()
        return True
