"""Guided lessons: short texts that walk through a bundled example. Plain data, no Qt.

A lesson is a JSON file in ``resources/lessons/`` (found through
:func:`playground.resources.lessons_dir`)::

    {
      "format": "backprop-playground/lesson",
      "version": 1,
      "example": "square_of_sum",            # a bundled example (resources/examples/NAME.json)
      "title": "The chain rule in two gates",
      "steps": [
        {"text": "This graph computes f = (x + y)² ...", "action": null},
        {"text": "The add gate computes q = x + y = 1 + 2 = 3.", "action": "forward"}
      ]
    }

``text`` is plain text (one paragraph, Unicode maths such as ∂f/∂x and σ(1−σ) welcome). The
optional ``action`` is what the app does when the step is shown:

* ``forward`` / ``backward``: advance the step-through one forward / backward step (the
  stepper completes the forward pass first when asked to go backward);
* ``evaluate``: run one whole forward and backward pass, so every wire shows value and gradient;
* ``select:<node name>``: select that node of the example (it must exist in the example);
* ``tab:<name>``: show a training plot tab, one of :data:`TABS`;
* ``train_step``: one training step (one update) with the example's own training settings
  (``meta.training``, read by :func:`playground.training.workbench.read_training`), from the
  example's initial weights;
* ``train``: a whole run with the example's own settings;
* ``compare:<example>``: train another bundled example with its own settings and show its
  curves (loss, accuracy, gradients) beside this example's run.

:func:`load_lessons` reads and checks every file; anything wrong raises :class:`LessonError`
naming the file and the field. :func:`lesson_for` finds the lesson of an example.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .resources import example_names, example_path, lessons_dir

__all__ = ["FORMAT", "TABS", "VERSION", "Lesson", "LessonError", "LessonStep", "lesson_for",
           "load_lesson", "load_lessons", "parse_lesson"]

FORMAT = "backprop-playground/lesson"
VERSION = 1
ACTIONS = ("forward", "backward", "evaluate", "train_step", "train")
TABS = ("Loss", "Accuracy", "Gradients", "Updates", "Boundary", "Confusion", "Samples", "Weights")
MAX_BYTES = 256 * 1024
MAX_STEPS = 60
_TOP_KEYS = {"format", "version", "example", "title", "steps"}
_STEP_KEYS = {"text", "action"}


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class LessonStep:
    text: str
    action: str | None = None

    @property
    def kind(self) -> str | None:
        """``forward``, ``backward``, ``evaluate``, ``train_step``, ``train``, ``select``,
        ``tab``, ``compare`` or None."""
        return None if self.action is None else self.action.split(":", 1)[0]

    @property
    def argument(self) -> str | None:
        """The node name of ``select:``, the tab of ``tab:``, the example of ``compare:``;
        else None."""
        if self.action is None or ":" not in self.action:
            return None
        return self.action.split(":", 1)[1]


@dataclass(frozen=True)
class Lesson:
    example: str
    title: str
    steps: tuple[LessonStep, ...]
    path: Path | None = None


def _need(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise LessonError(f"{where}: {what}")


def _node_names(example: str) -> set[str]:
    from .graph import load

    model = load(example_path(example))
    return {n.name for n in model.nodes.values()}


def _check_action(action: Any, where: str, names: set[str] | None) -> None:
    _need(isinstance(action, str), where, f"'action' must be a string or null, got {action!r}")
    kind, sep, arg = action.partition(":")
    if not sep:
        _need(kind in ACTIONS, where, f"unknown action {action!r} (use forward, backward, "
              "evaluate, train_step, train, select:<node name>, tab:<name> or "
              "compare:<example>)")
        return
    if kind == "select":
        _need(bool(arg), where, "'select:' needs a node name")
        if names is not None:
            _need(arg in names, where, f"'{action}': the example has no node named '{arg}'")
        return
    if kind == "tab":
        _need(arg in TABS, where, f"'{action}': unknown tab (tabs: {', '.join(TABS)})")
        return
    if kind == "compare":
        known = example_names()
        _need(arg in known, where, f"'{action}': no bundled example '{arg}' (examples: "
              f"{', '.join(known)})")
        return
    _need(False, where, f"unknown action {action!r}")


def parse_lesson(data: Any, where: str = "lesson", check_nodes: bool = True) -> Lesson:
    """Check a decoded lesson document and return it as a :class:`Lesson`."""
    _need(isinstance(data, Mapping), where, "expected a JSON object")
    fmt = data.get("format")
    _need(fmt == FORMAT, where, f"'format' must be {FORMAT!r}, got {fmt!r}")
    version = data.get("version")
    _need(isinstance(version, int) and not isinstance(version, bool), where,
          f"'version' must be a whole number, got {version!r}")
    _need(version == VERSION, where,
          f"unknown lesson version {version} (this app reads version {VERSION})")
    extra = sorted(set(data) - _TOP_KEYS)
    _need(not extra, where, f"unknown field(s) {', '.join(map(repr, extra))}")
    example = data.get("example")
    known = example_names()
    _need(isinstance(example, str) and example in known, where,
          f"'example' must name a bundled example ({', '.join(known)}), got {example!r}")
    title = data.get("title")
    _need(isinstance(title, str) and bool(title.strip()), where, "'title' must be a non-empty "
          "string")
    raw_steps = data.get("steps")
    _need(isinstance(raw_steps, list) and 0 < len(raw_steps) <= MAX_STEPS, where,
          f"'steps' must be a list of 1 to {MAX_STEPS} steps")
    names = _node_names(example) if check_nodes else None
    steps = []
    for k, item in enumerate(raw_steps, start=1):
        w = f"{where}: step {k}"
        _need(isinstance(item, Mapping), w, "expected an object with 'text' (and 'action')")
        extra = sorted(set(item) - _STEP_KEYS)
        _need(not extra, w, f"unknown field(s) {', '.join(map(repr, extra))}")
        text = item.get("text")
        _need(isinstance(text, str) and bool(text.strip()), w, "'text' must be a non-empty "
              "string")
        action = item.get("action")
        if action is not None:
            _check_action(action, w, names)
        steps.append(LessonStep(text.strip(), action))
    return Lesson(example, title.strip(), tuple(steps))


def load_lesson(path: Path | str) -> Lesson:
    """Read and check one lesson file."""
    path = Path(path)
    where = path.name
    try:
        size = path.stat().st_size
        _need(size <= MAX_BYTES, where, f"the file is {size} bytes, over {MAX_BYTES}")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LessonError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise LessonError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise LessonError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    lesson = parse_lesson(data, where)
    return Lesson(lesson.example, lesson.title, lesson.steps, path)


def load_lessons(directory: Path | str | None = None) -> list[Lesson]:
    """Every lesson in ``directory`` (default: the bundled lessons), by file name; an empty list
    when the folder does not exist. Two lessons for one example are refused."""
    folder = Path(directory) if directory is not None else lessons_dir()
    if not folder.is_dir():
        return []
    lessons: list[Lesson] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        lesson = load_lesson(path)
        if lesson.example in seen:
            raise LessonError(f"{path.name}: '{lesson.example}' already has a lesson "
                              f"({seen[lesson.example]})")
        seen[lesson.example] = path.name
        lessons.append(lesson)
    return lessons


def lesson_for(example_name: str, directory: Path | str | None = None) -> Lesson | None:
    """The lesson that walks through ``example_name``, or None."""
    for lesson in load_lessons(directory):
        if lesson.example == example_name:
            return lesson
    return None
