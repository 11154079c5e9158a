"""What the commands share: errors, graphs and feeds from the command line, the data and run
settings (one validation table), the data arguments. No Qt."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import EngineError, Program
from ..engine.formatting import listing
from ..graph import GraphModel, compile_graph, load
from ..resources import example_names, example_path

EXIT_USAGE, EXIT_FAILED = 2, 1


class CliError(Exception):
    """A user error: printed as one line per failure, exit code ``code``."""

    def __init__(self, message: str | Sequence[str], code: int = EXIT_USAGE) -> None:
        self.lines = [message] if isinstance(message, str) else list(message)
        super().__init__("\n".join(self.lines))
        self.code = code


def resolve_graph(arg: str) -> Path:
    """A path, or the name of a bundled example (``digits_mlp``)."""
    path = Path(arg)
    if path.exists() or path.suffix:
        return path
    if arg in example_names():
        return example_path(arg)
    raise CliError(f"no graph file '{arg}' (bundled examples: {', '.join(example_names())})")


def load_graph(arg: str) -> GraphModel:
    try:
        return load(resolve_graph(arg))
    except EngineError as exc:
        raise CliError(str(exc)) from None


def parse_feeds(items: Sequence[str]) -> dict[str, Any]:
    feeds: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise CliError(f"--feed expects NAME=VALUE, got '{item}'")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise CliError(f"--feed {name}: '{raw}' is not a number or a JSON list") from None
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise CliError(f"--feed {name}: '{raw}' is not a number or a nested list of numbers") from None
        if not np.all(np.isfinite(arr)):
            raise CliError(f"--feed {name}: values must be finite numbers")
        feeds[name] = arr
    return feeds


def _compile(model: GraphModel, dtype: str | None = None) -> Program:
    try:
        return compile_graph(model, dtype=dtype)
    except EngineError as exc:
        raise CliError(str(exc)) from None


def _jsonable(a: Any) -> Any:
    if a is None:
        return None
    arr = np.asarray(a)
    return arr.item() if arr.ndim == 0 else arr.tolist()


_fmt = listing  # a whole value on one line (engine/formatting.py)


# eval, check and steps read only the data settings of a file
DATA_FIELDS = frozenset({"dataset", "csv", "label", "task", "samples", "noise", "val_fraction",
                         "test_fraction", "test_csv", "seed", "standardize", "features"})


def _label_column(label: str | None) -> str | int | None:
    """A CSV label column: a 0-based index (negative counts from the end) or a name."""
    if label is not None and label.lstrip("-").isdigit() and label.count("-") <= 1:
        return int(label)
    return label


# -- datasets ---------------------------------------------------------------------------------
def _settings(args: argparse.Namespace, model: GraphModel,
              used: frozenset[str] | None = None) -> Any:
    """(DataSettings, TrainConfig): the graph's ``meta.training`` with the command line on top,
    every value checked by the one validation table (playground/training/settings.py). Refused
    values: one line each; of the file's values only those in ``used`` (default: all)."""
    from ..training.settings import FIELD
    from ..training.workbench import DATA_KEYS, TRAIN_KEYS, SettingsError, check_training

    source = Path(args.graph).name if Path(args.graph).suffix else args.graph
    given = {key: getattr(args, key, None) for key in (*DATA_KEYS, *TRAIN_KEYS)}
    if given.get("label") is not None:
        given["label"] = _label_column(given["label"])
    try:
        read = check_training(model.meta.get("training"), where=f"{source}: meta.training.",
                              used=used, **given)
    except SettingsError as exc:
        raise CliError(exc.lines) from None
    if read.problems:
        lines = []
        for line in read.problems:
            field = next((f for f in FIELD.values() if f".{f.name} " in line), None)
            hint = ""
            if field is not None and not line.startswith("--"):
                hint = (f"; give {field.flag} to override it" if hasattr(args, field.name)
                        else "; correct it in the file")
            lines.append(line + hint)
        raise CliError(lines)
    return read.data, read.config


def _dataset_split(args: argparse.Namespace, model: GraphModel, program: Program,
                   used: frozenset[str] | None = None) -> Any:
    from ..training.datasets import DatasetError
    from ..training.workbench import make_split

    try:
        return make_split(_settings(args, model, used)[0], program)
    except DatasetError as exc:
        raise CliError(str(exc)) from None


def _add_data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", help="digits, iris, moons, circles, blobs, xor, spiral, gaussian, "
                   "sine, or typed (the values typed into the graph's inputs)")
    g.add_argument("--csv", help="a CSV file with a header row")
    g.add_argument("--label", help="the CSV column holding the target (name or 0-based index)")
    g.add_argument("--task", choices=("classification", "regression"),
                   help="what the label is (default: the data's own; CSV: guessed)")
    g.add_argument("--samples", type=int, help="sample count for generated datasets")
    g.add_argument("--noise", type=float, help="noise for generated datasets")
    g.add_argument("--val-fraction", type=float, help="validation fraction (default 0.3; 0: none)")
    g.add_argument("--test-fraction", type=float, help="held-out test fraction (default 0)")
    g.add_argument("--test-csv", metavar="FILE", help="a CSV file as the test part")
    g.add_argument("--features", help="derived inputs of a 2-D set, e.g. x1,x2,x1*x2,x1^2,sin(x1)")
    g.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                   help="standardise features with the training part's statistics (default on)")
    g.add_argument("--seed", type=int, default=None, help="seed for data, split, init and shuffling")


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters shown as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
