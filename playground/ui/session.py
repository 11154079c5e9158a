"""The Session: the centre of the window. Panels talk to it, never to each other or to MainWindow.

It owns what the window's panels share:

- the document stack: the top-level graph (the *root*) and the composites opened for editing
  inside it (:meth:`enter_composite`, :meth:`leave_composites`), with the example it came from;
- the canvas shown (the scene of the current document, set by the window) and its overlays;
- the compiled program of the root graph, keyed on ``GraphModel.revision`` (never on an undo
  index: that repeats after an undo and a different edit), and the trained weights;
- the training run (:class:`~playground.ui.training.runner.TrainingRunner`: controller,
  history, data in use) and whether the graph is locked by it;
- the data settings and the evaluation feeds (sample *i* of the dataset on the inputs).

Every change is announced by a typed signal. Qt-free work (splits, feeds, fitting weights) is
done by :mod:`playground.training` helpers shared with the CLI and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..engine import EngineError, Program
from ..graph import COMPOSITE, GraphModel, compile_graph
from ..training import TrainConfig
from ..training.datasets import Split
from ..training.weights import CheckpointError, fit_weights
from ..training.workbench import (
    DataSettings,
    check_training,
    feeds_for_sample,
    make_split,
    training_meta,
)
from .commands import StateCommand
from .document import Document

if TYPE_CHECKING:
    from .canvas.scene import GraphScene


class SessionError(EngineError):
    """A request the session refuses; the message says why and what to do."""


@dataclass(frozen=True)
class Level:
    """A composite opened for editing: its body's document, and where it sits in the outer one."""

    document: Document
    node_id: str  # the composite node in the outer document
    name: str


def set_fitting_params(program: Program, arrays: Mapping[str, Any]) -> list[str]:
    """Load the arrays whose names and shapes fit ``program`` (copies); the names taken."""
    from ..training.workbench import set_fitting_params as fit

    return fit(program, arrays)


# model events that change what compiles (moves, comment boxes and run settings do not)
_COMPILE_META = ("output", "dtype")
DEFAULT_DATA = DataSettings(dataset="digits")


class Session(QObject):
    document_changed = Signal(object)  # Document: the one being edited (root or composite body)
    root_changed = Signal(object)  # Document: a new top-level graph (new, open, example)
    canvas_changed = Signal(object)  # GraphScene: the scene showing the current document
    program_changed = Signal()  # the compiled program was replaced (a new revision compiled)
    weights_changed = Signal()  # trained weights arrived (a run, a file) or were dropped
    settings_changed = Signal()  # data settings, run settings or the data inputs changed
    sample_changed = Signal(object)  # int | None: the dataset sample Evaluate and Step feed
    locked_changed = Signal(bool)  # a training run is live: the graph is locked for edits
    message = Signal(str)  # something worth a status message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root: Document | None = None
        self._levels: list[Level] = []
        self.example: str | None = None  # the bundled example the root was opened from
        self.scene: GraphScene | None = None
        self.weights: dict[str, np.ndarray] | None = None  # trained weights read with the file
        self.weights_note = ""  # what loading them said (kept visible in the Training panel)
        self.weights_problems: tuple[str, ...] = ()  # one line per name skipped or missing
        self.settings_problems: tuple[str, ...] = ()  # meta.training values refused
        self.locked = False
        self._program: Program | None = None
        self._program_key: tuple[int, int] | None = None  # (id of the model, compile revision)
        self._compile_revision = 0  # the revision of the root's last change to what compiles
        self.params_trained = False  # the program's weights came from a run or a file
        # what the next run and Evaluate use: data, run settings, the data inputs by name
        self.data: DataSettings = DEFAULT_DATA
        self.config = TrainConfig()
        self.inputs: tuple[str | None, str | None] = (None, None)  # (features, labels) inputs
        self._split: tuple[tuple[Any, ...], Split] | None = None
        self.sample: int | None = None  # the sample on the inputs (None: their typed values)
        from .training.comparison import ComparisonRunner
        from .training.runner import TrainingRunner  # the runner reads the session back

        self.runner = TrainingRunner(self)
        self.comparison = ComparisonRunner(self)  # another example's run, drawn beside this one

    # -- documents ----------------------------------------------------------------------------
    @property
    def root(self) -> Document | None:
        """The top-level graph (what is saved, trained and evaluated)."""
        return self._root

    @property
    def document(self) -> Document | None:
        """The document being edited: the root, or the innermost composite opened in it."""
        return self._levels[-1].document if self._levels else self._root

    @property
    def levels(self) -> tuple[Level, ...]:
        return tuple(self._levels)

    @property
    def path_names(self) -> list[str]:
        """For a breadcrumb: "Graph" and the composites opened, outermost first."""
        return ["Graph", *[lv.name for lv in self._levels]]

    def set_root(self, document: Document, example: str | None = None) -> None:
        """A new top-level graph: composites open in the old one are closed (their edits
        dropped with it), the old root is closed and deleted, the run stops."""
        self.runner.stop()
        old = [lv.document for lv in self._levels]
        if self._root is not None:
            old.append(self._root)
        self._levels = []
        if self._root is not None:
            self._listen(self._root.model, False)
        self._root = document
        self._listen(document.model, True)
        self._compile_revision = document.model.revision
        self.example = example
        self._program, self._program_key = None, None
        self.weights = None
        self.weights_note, self.weights_problems = "", ()
        self.params_trained = False
        self._read_settings(document.model.meta.get("training"))
        for doc in old:
            if doc is not document:
                doc.close()
                doc.deleteLater()
        self.runner.forget()
        self.root_changed.emit(document)
        self.document_changed.emit(document)

    def _listen(self, model: GraphModel, on: bool) -> None:
        for name in GraphModel.EVENTS:
            if name != "node_moved":
                event = getattr(model, name)
                (event.connect if on else event.disconnect)(self._on_model_event)

    def _on_model_event(self, *args: Any) -> None:
        root = self._root
        if root is None:
            return
        if len(args) == 3 and isinstance(args[0], str) and args[0] not in _COMPILE_META:
            return  # meta_changed(key, old, new) of a key compiling never reads
        self._compile_revision = root.model.revision
        self._split = None  # typed data lives in the graph

    def enter_composite(self, node_id: str) -> Document:
        """Open composite ``node_id`` of the current document for editing (a copy of its body;
        :meth:`leave_composites` writes it back as one undo step)."""
        outer = self.document
        if outer is None:
            raise SessionError("no graph is open")
        node = outer.model.nodes.get(node_id)
        if node is None or node.op != COMPOSITE or node.body is None:
            raise SessionError("select one composite node to open it")
        inner = Document(GraphModel.from_dict(node.body.to_dict()), parent=self)
        self._levels.append(Level(inner, node_id, node.name))
        self.document_changed.emit(inner)
        return inner

    def leave_composites(self, count: int = 1) -> bool:
        """Close ``count`` open composites, innermost first, each one's edits becoming one undo
        step in the document outside it. False (nothing closed after the first refusal) when a
        body has no single output; the message says so."""
        if count <= 0 or not self._levels:
            return True
        closed = False
        for _ in range(min(count, len(self._levels))):
            level = self._levels[-1]
            outer = self._levels[-2].document if len(self._levels) > 1 else self._root
            assert outer is not None
            if not self._write_back(level, outer):
                if closed:
                    self.document_changed.emit(self.document)
                return False
            self._levels.pop()
            level.document.close()
            level.document.deleteLater()
            closed = True
        self.document_changed.emit(self.document)
        return True

    def _write_back(self, level: Level, outer: Document) -> bool:
        new_body = level.document.model.to_dict()
        node = outer.model.nodes.get(level.node_id)
        if node is None or node.body is None or node.body.to_dict() == new_body:
            return True
        try:
            level.document.model.composite_output()
        except EngineError as exc:
            self.message.emit(f"The composite needs one output before you leave it: {exc}")
            return False
        after = outer.model.to_dict()
        for n in after["nodes"]:
            if n["id"] == level.node_id:
                n["body"] = {k: v for k, v in new_body.items() if k not in ("format", "version")}
        outer.undo.push(StateCommand(outer.model, after, f"Edit inside {node.name}"))
        return True

    def document_chain(self) -> list[Document]:
        """The root and every open composite's document, outermost first."""
        return [d for d in [self._root, *[lv.document for lv in self._levels]] if d is not None]

    def evaluation_model(self) -> tuple[GraphModel, str]:
        """The top-level graph with the open composites as they are being edited now, and the
        program-key prefix of the document shown ('' at the top level, ``"c/"`` inside c)."""
        if self._root is None:
            raise SessionError("no graph is open")
        if not self._levels:
            return self._root.model, ""
        body = self._levels[-1].document.model.to_dict()
        for k in range(len(self._levels) - 1, -1, -1):
            outer = self._levels[k - 1].document if k > 0 else self._root
            data = outer.model.to_dict()
            for n in data["nodes"]:
                if n["id"] == self._levels[k].node_id:
                    n["body"] = {key: v for key, v in body.items() if key not in ("format", "version")}
            body = data
        prefix = "".join(f"{lv.node_id}/" for lv in self._levels)
        return GraphModel.from_dict(body), prefix

    # -- the canvas ---------------------------------------------------------------------------
    def set_scene(self, scene: GraphScene) -> None:
        """The window made ``scene`` to show the current document."""
        self.scene = scene
        self.canvas_changed.emit(scene)

    def selected_node_ids(self) -> list[str]:
        scene = self.scene
        try:
            return scene.selected_node_ids() if scene is not None else []
        except RuntimeError:  # the scene is being destroyed (its document was replaced)
            return []

    # -- the program and the weights ----------------------------------------------------------
    def program(self) -> Program:
        """The root graph compiled, recompiled only when its revision changed. The weights of
        the last program whose names and shapes still fit are carried over; a graph that cannot
        compile raises its CompileError. Never touch its arrays while a run is live and not
        paused (the worker owns them then)."""
        root = self._root
        if root is None:
            raise SessionError("no graph is open")
        key = (id(root.model), self._compile_revision)
        if self._program is not None and self._program_key == key:
            return self._program
        old = self._program
        program = compile_graph(root.model)
        program.init_params(self.data.seed)
        kept: list[str] = []
        if old is not None and self.params_trained:
            kept = set_fitting_params(program, old.param_arrays(trainable_only=False))
        elif self.weights:
            kept = set_fitting_params(program, self.weights)
        self.params_trained = bool(kept)
        self._program, self._program_key = program, key
        self.program_changed.emit()
        return program

    @property
    def compiled(self) -> Program | None:
        """The last program compiled (maybe of an older revision), without compiling."""
        return self._program

    def program_is_current(self) -> bool:
        root = self._root
        return (root is not None and self._program is not None
                and self._program_key == (id(root.model), self._compile_revision))

    def set_weights(self, weights: Mapping[str, np.ndarray] | None) -> None:
        """Trained weights (or None): used by the next compile, Evaluate and the step-through."""
        self.weights = None if weights is None else {k: np.asarray(v) for k, v in weights.items()}
        if self.weights and self._program is not None:
            self.params_trained = bool(set_fitting_params(self._program, self.weights))
        self.weights_changed.emit()

    def load_weights(self, path: Any) -> str:
        """The weights file ``path`` checked against the root's program before anything is used
        (names, shapes, dtypes, finite values, sizes: ``training.weights.fit_weights``); the
        arrays that fit are taken. Returns one line saying what happened, kept in
        :attr:`weights_note` with a line per name skipped or missing in
        :attr:`weights_problems`."""
        self.weights_note, self.weights_problems = "", ()
        try:
            program = self.program()
            fit = fit_weights(program, path)
        except CheckpointError as exc:
            self.weights_note = f"Trained weights not used: {exc.lines[0]}"
            self.weights_problems = tuple(exc.lines)
        except EngineError as exc:  # the graph cannot compile: nothing to check them against
            self.weights_note = f"Trained weights not loaded: the graph cannot compile ({exc})"
        else:
            fit.apply(program)
            self.weights = dict(fit.arrays)
            self.params_trained = bool(fit.taken)
            self.weights_problems = tuple(fit.lines())
            if fit.complete:
                self.weights_note = f"Trained weights loaded: {fit.summary()}"
            elif fit.taken:
                self.weights_note = (f"Some trained weights loaded: {fit.summary()}; the others "
                                     "start from their initial values")
            else:
                self.weights_note = f"No trained weights used: {fit.summary()}"
        self.weights_changed.emit()
        return self.weights_note

    def trained_arrays(self) -> Mapping[str, Any] | None:
        """The parameter arrays Evaluate and the step-through use: during a run the worker's
        latest copies, else the program's (after a run or with file weights), else the file's."""
        runner = self.runner
        if runner.running and not runner.paused:
            snap = runner.snapshot
            return None if snap is None else snap.params
        if self._program is not None and self.params_trained:
            return self._program.param_arrays(trainable_only=False)
        return self.weights

    def next_step_feeds(self) -> tuple[dict[str, np.ndarray], str] | None:
        """While a run is paused: the data inputs fed with the batch of the step it makes next
        (float64 copies), and a note saying so; None otherwise. The step-through traces that
        step with the run's weights as they are."""
        r = self.runner
        trainer, b = r.controller.trainer, r.binding
        if not (r.running and r.paused) or trainer is None or b is None:
            return None
        idx = trainer.next_batch()  # the worker is blocked: reading its trainer is safe
        if idx is None:
            return None
        feeds = {b.features: np.array(trainer.X_train[idx], dtype=np.float64),
                 b.target: np.array(trainer.T_train[idx], dtype=np.float64)}
        step = trainer.step_count + 1
        return feeds, (f"the {len(idx)} samples of step {step}, the step the paused run "
                       "makes next")

    # -- settings and data --------------------------------------------------------------------
    def _read_settings(self, training: Any) -> None:
        """The root's ``meta.training`` through the one validation table: a refused value falls
        back to its default and is named in :attr:`settings_problems` (the panel shows it)."""
        root = self._root
        name = root.display_name() if root is not None else "graph"
        read = check_training(training, where=f"{name}: meta.training.")
        data = read.data
        if data.dataset is None and data.csv is None:
            data = data.replace(dataset=DEFAULT_DATA.dataset)
        self.data, self.config = data, read.config
        self.settings_problems = read.problems
        self.inputs = (None, None)
        self._split = None
        self.settings_changed.emit()
        for line in read.problems:
            self.message.emit(f"{line} (the default is used)")

    def set_settings(self, data: DataSettings | None = None, config: TrainConfig | None = None,
                     inputs: tuple[str | None, str | None] | None = None) -> None:
        """New data settings, run settings or data inputs (the Training panel's form)."""
        changed = False
        for name, value in (("data", data), ("config", config), ("inputs", inputs)):
            if value is not None and value != getattr(self, name):
                setattr(self, name, value)
                changed = True
        if changed:
            if data is not None or inputs is not None:
                self._split = None
            self.settings_changed.emit()

    def run_config(self, reinit: bool) -> TrainConfig:
        """The run settings for a run (seeded with the data seed)."""
        import dataclasses

        return dataclasses.replace(self.config, seed=self.data.seed, reinit=reinit)

    def split(self) -> Split:
        """The data the settings name, split (cached until the settings or the graph change)."""
        features, target = self.inputs
        program = self.program() if self.data.dataset == "typed" else None
        key = (self.data, self.inputs, self._compile_revision if program is not None else None)
        if self._split is not None and self._split[0] == key:
            return self._split[1]
        split = make_split(self.data, program, features=features, target=target)
        self._split = (key, split)
        return split

    def sample_feeds(self, program: Program, index: int) -> tuple[dict[str, np.ndarray], str]:
        """Feeds that put sample ``index`` of the dataset on ``program``'s data inputs, and a
        note saying what was fed."""
        data = self.split()
        features, target = self.inputs
        feeds = feeds_for_sample(program, data, index, features=features, target=target)
        ds = data.dataset
        label = ""
        if ds.task == "classification" and ds.classes:
            label = f", label {ds.classes[int(ds.y[index])]}"
        return feeds, f"sample {index} of {ds.name}{label}"

    def set_sample(self, index: int | None) -> None:
        """Which dataset sample Evaluate and the step-through put on the inputs (None: the
        values typed into them)."""
        index = None if index is None or index < 0 else int(index)
        if index != self.sample:
            self.sample = index
            self.sample_changed.emit(index)

    def remember_settings(self, config: TrainConfig | None = None) -> None:
        """The settings of a run go into the graph's file (``meta.training``) and the root is
        marked modified: its weights and settings are worth saving."""
        root = self._root
        if root is None:
            return
        meta = training_meta(self.data, config or self.config)
        if root.model.meta.get("training") != meta:
            root.model.set_meta("training", meta)
        root.mark_trained()

    # -- locking ------------------------------------------------------------------------------
    def set_locked(self, locked: bool) -> None:
        if locked != self.locked:
            self.locked = locked
            self.locked_changed.emit(locked)
