"""Command line: ``python -m playground train|score|eval|check|steps|export|import ...``. No Qt.

Every bad input prints one clear line to stderr and exits non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from . import __version__
from .engine import EngineError, Program
from .graph import GraphModel, compile_graph, load
from .resources import example_names, example_path

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


def _fmt(a: Any) -> str:
    if a is None:
        return "—"
    arr = np.asarray(a)
    if arr.ndim == 0:
        return f"{arr.item():.6g}"
    text = np.array2string(arr, precision=4, threshold=12, edgeitems=2, separator=", ")
    return " ".join(text.split())


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
    from .training.settings import FIELD
    from .training.workbench import DATA_KEYS, TRAIN_KEYS, SettingsError, check_training

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
    from .training.datasets import DatasetError
    from .training.workbench import make_split

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


# -- train ------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    from .training import TrainingError, save_params, train

    model = load_graph(args.graph)
    program = _compile(model, args.dtype)
    data = _dataset_split(args, model, program)
    _, config = _settings(args, model)
    try:
        run = train(program, data, config)
    except TrainingError as exc:
        raise CliError(str(exc)) from None
    classes = class_names(data.dataset)
    if classes and not args.json:
        out.write("classes: " + ", ".join(f"{i} = {n!r}" for i, n in enumerate(classes)) + "\n")
    bar = _Progress(out, config.epochs) if not args.json and out.isatty() else None
    last = None
    try:
        for m in _small_blas(run, program):
            last = m
            if bar:
                bar.update(m)
            if m.epoch_end:
                shown = m.epoch % args.every == 0 or m.epoch in (1, config.epochs)
                if args.json:
                    record = epoch_json(m)
                    if classes:
                        record["classes"] = list(classes)
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                elif bar and shown:
                    bar.epoch(m)
                elif shown:
                    out.write(epoch_line(m, config.epochs) + "\n")
    except TrainingError as exc:
        raise CliError(f"training stopped: {exc}", EXIT_FAILED) from None
    if args.save_weights:
        save_params(program, args.save_weights)
        if not args.json:
            out.write(f"weights saved to {args.save_weights}\n")
    if last is not None and not args.json:
        out.write(f"done: {last.step} steps in {last.elapsed:.2f} s "
                  f"({last.step / max(last.elapsed, 1e-9):.0f} steps/s)\n")
        if last.test_loss is not None:
            out.write(_part_line("test", len(data.X_test), last.test_loss, last.test_accuracy))
    return 0


def _small_blas(run: Iterator[Any], program: Program) -> Iterator[Any]:
    """The run's records, with one BLAS thread for a small model while it runs."""
    from .training.workbench import blas_limits

    with blas_limits(program):
        yield from run


def _part_line(part: str, samples: int, loss: float, accuracy: float | None) -> str:
    acc = f"  accuracy {100 * accuracy:.2f}%" if accuracy is not None else ""
    return f"{part:<10}  {samples:>6} samples  loss {loss:.6g}{acc}\n"


# -- score ------------------------------------------------------------------------------------
def cmd_score(args: argparse.Namespace, out: TextIO) -> int:
    """Loss and accuracy of trained weights on each part of the data (above all the test part)."""
    from .training import CheckpointError, TrainingError, restore_params
    from .training.workbench import score

    model = load_graph(args.graph)
    program = _compile(model, "float64")
    data = _dataset_split(args, model, program)
    try:
        restored = set(restore_params(program, args.weights))
    except CheckpointError as exc:
        raise CliError(exc.lines) from None
    missing = [n for n in program.param_arrays(trainable_only=False) if n not in restored]
    if missing:
        raise CliError(f"{args.weights} has no weights for {', '.join(missing)}; "
                       "save them with train --save-weights")
    try:
        parts = score(program, data)
    except (TrainingError, EngineError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        out.write(json.dumps({part: None if s is None else {
            "samples": s.samples, "loss": s.loss, "accuracy": s.accuracy}
            for part, s in parts.items()}) + "\n")
        return 0
    out.writelines(f"{part:<10}  —\n" if s is None else
                   _part_line(part, s.samples, s.loss, s.accuracy) for part, s in parts.items())
    return 0


def class_names(ds: Any) -> tuple[str, ...] | None:
    """The label → class mapping when it is not plain 0, 1, 2, ... (string labels, or numbers
    that are not their own index), else None."""
    if ds.task != "classification" or ds.classes == tuple(str(i) for i in range(ds.n_classes)):
        return None
    return tuple(ds.classes)


def epoch_json(m: Any) -> dict[str, Any]:
    return {
        "epoch": m.epoch, "step": m.step, "train_loss": m.train_loss, "val_loss": m.val_loss,
        "train_accuracy": m.train_accuracy, "val_accuracy": m.val_accuracy, "lr": m.lr,
        "grad_norms": dict(m.grad_norms), "seconds": round(m.elapsed, 6),
        "test_loss": m.test_loss, "test_accuracy": m.test_accuracy,
    }


def epoch_line(m: Any, epochs: int) -> str:
    parts = [f"epoch {m.epoch:>3}/{epochs}", f"loss {m.train_loss:.4f}"]
    if m.val_loss is not None:
        parts.append(f"val {m.val_loss:.4f}")
    if m.val_accuracy is not None:
        parts.append(f"val acc {100 * m.val_accuracy:.1f}%")
    elif m.train_accuracy is not None:
        parts.append(f"acc {100 * m.train_accuracy:.1f}%")
    parts.append(f"{m.step / max(m.elapsed, 1e-9):.0f} steps/s")
    return "  ".join(parts)


class _Progress:
    """A one-line progress bar on a terminal, redrawn at most 10 times a second."""

    def __init__(self, out: TextIO, epochs: int) -> None:
        self.out, self.epochs, self._t = out, epochs, 0.0

    def update(self, m: Any) -> None:
        now = time.perf_counter()
        if now - self._t < 0.1:
            return
        self._t = now
        per = max(m.steps_per_epoch, 1)
        frac = (m.epoch - 1 + ((m.step - 1) % per) / per) / self.epochs
        bar = "█" * int(30 * frac) + "·" * (30 - int(30 * frac))
        rate = m.step / max(m.elapsed, 1e-9)
        self.out.write(f"\repoch {m.epoch}/{self.epochs} {bar} loss {m.batch_loss:.4f} {rate:.0f} steps/s ")
        self.out.flush()

    def epoch(self, m: Any) -> None:
        self.out.write("\r" + epoch_line(m, self.epochs).ljust(79) + "\n")
        self.out.flush()


# -- eval and check ---------------------------------------------------------------------------
def _feeds_for(args: argparse.Namespace, model: GraphModel) -> dict[str, Any]:
    """``--feed`` values, plus sample ``--sample`` of the dataset. When inputs have no value and
    no sample is named, sample 0 of the graph's dataset is fed (as the window's Evaluate does),
    with a note on stderr."""
    from .graph.inputs import inputs_without_value

    feeds = parse_feeds(args.feed or [])
    to_type, unfed = inputs_without_value(model, feeds)
    if to_type:  # numbers, not data: a sample cannot feed them
        raise CliError(f"input{'s' if len(to_type) > 1 else ''} {', '.join(to_type)} "
                       f"{'have' if len(to_type) > 1 else 'has'} no value: give "
                       f"{'each' if len(to_type) > 1 else 'it'} one with --feed NAME=VALUE")
    if unfed and args.sample is None:
        names = ", ".join(unfed)
        data_settings = _settings(args, model, DATA_FIELDS)[0]
        dataset = data_settings.csv or data_settings.dataset
        if not dataset:
            raise CliError(f"input{'s' if len(unfed) > 1 else ''} {names} "
                           f"{'have' if len(unfed) > 1 else 'has'} no value: give "
                           f"{'each' if len(unfed) > 1 else 'it'} one with --feed NAME=VALUE, "
                           "or feed a sample with --sample I --dataset NAME")
        args.sample = 0
        print(f"note: {names} {'have' if len(unfed) > 1 else 'has'} no value of "
              f"{'their' if len(unfed) > 1 else 'its'} own: feeding sample 0 of {dataset} "
              "(choose another with --sample I, or give values with --feed NAME=VALUE)",
              file=sys.stderr)
    if args.sample is not None:
        from .training import TrainingError
        from .training.datasets import DatasetError
        from .training.workbench import feeds_for_sample

        program = _compile(model)
        data = _dataset_split(args, model, program, DATA_FIELDS)
        try:  # standardised (and derived features made) as for training
            sample = feeds_for_sample(program, data, args.sample)
        except (TrainingError, DatasetError) as exc:
            raise CliError(str(exc)) from None
        for name, value in sample.items():
            feeds.setdefault(name, value)
    return feeds


def _prepare(args: argparse.Namespace, dtype: str | None = None) -> Program:
    """Load, compile (in the file's dtype unless ``dtype`` says otherwise), feed and run."""
    model = load_graph(args.graph)
    feeds = _feeds_for(args, model)
    program = _compile(model, dtype)
    program.init_params(_settings(args, model, DATA_FIELDS)[0].seed)
    if args.weights:
        from .training import CheckpointError, restore_params

        try:
            restore_params(program, args.weights)
        except CheckpointError as exc:
            raise CliError(exc.lines) from None
    try:
        program.run(feeds)
    except EngineError as exc:
        raise CliError(str(exc)) from None
    return program


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    program = _prepare(args)
    names = [n.name for n in program.nodes]
    out_name = program.nodes[program.output].name
    if args.json:
        nodes = {n: {"value": _jsonable(program.value(n)), "grad": _jsonable(program.grad(n))}
                 for n in names}
        out.write(json.dumps({"output": out_name, "nodes": nodes}) + "\n")
        return 0
    width = max(len(n) for n in names)
    out.write(f"{'node':<{width}}  {'value':<30}  gradient ∂{out_name}/∂node\n")
    out.writelines(f"{n:<{width}}  {_fmt(program.value(n)):<30}  {_fmt(program.grad(n))}\n"
                   for n in names)
    return 0


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from .engine.gradcheck import GRADCHECK_TOLERANCE, check_program

    program = _prepare(args, "float64")  # central differences need float64
    try:
        errors = check_program(program, eps=1e-3, order=4)
    except EngineError as exc:
        raise CliError(str(exc)) from None
    worst = max(errors.values(), default=0.0)
    width = max((len(n) for n in errors), default=4)
    for name, err in errors.items():
        ok = err <= GRADCHECK_TOLERANCE
        out.write(f"{name:<{width}}  max relative error {err:.2e}  {'ok' if ok else 'FAILED'}\n")
    verdict = "passed" if worst <= GRADCHECK_TOLERANCE else "FAILED"
    out.write(f"gradient check {verdict}: worst {worst:.2e} (tolerance {GRADCHECK_TOLERANCE:.0e})\n")
    return 0 if worst <= GRADCHECK_TOLERANCE else EXIT_FAILED


def cmd_steps(args: argparse.Namespace, out: TextIO) -> int:
    """The forward and backward steps of one pass, as the stepper shows them."""
    from .graph.explain import trace

    program = _prepare(args)
    try:
        forward, backward = trace(program)
    except EngineError as exc:
        raise CliError(str(exc)) from None
    for f in forward:
        if args.json:
            out.write(json.dumps({
                "phase": "forward", "index": f.index, "node": f.name, "node_id": f.node_id,
                "op": f.op, "inputs": {port: _jsonable(v) for port, _, v in f.inputs},
                "sources": {port: src for port, src, _ in f.inputs},
                "value": _jsonable(f.value), "text": f.text}) + "\n")
        else:
            out.write(f"forward {f.index}: {f.text}\n")
    for b in backward:
        if args.json:
            out.write(json.dumps({
                "phase": "backward", "index": b.index, "node": b.name, "node_id": b.node_id,
                "port": b.port, "input": b.input_name, "input_id": b.input_id,
                "upstream": _jsonable(b.upstream), "local": _jsonable(b.local),
                "local_text": b.local_text, "downstream": _jsonable(b.downstream),
                "total": _jsonable(b.total), "accumulated": b.accumulated,
                "text": b.text}) + "\n")
        else:
            out.write(f"backward {b.index}: {b.text}\n")
    return 0


# -- entry ------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no usage dump
        raise CliError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m playground",
                     description="Backprop Playground on the command line (no window).")
    parser.add_argument("--version", action="version", version=f"Backprop Playground {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    t = sub.add_parser("train", help="train a graph on a dataset")
    t.add_argument("graph", help="a graph file or a bundled example name")
    _add_data_args(t)
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--full-batch", action=argparse.BooleanOptionalAction, default=None,
                   help="every step on the whole training part (batch size = all)")
    t.add_argument("--lr", type=float)
    t.add_argument("--optimizer", choices=("sgd", "momentum", "adam"))
    t.add_argument("--l2", type=float, help="L2 weight decay")
    t.add_argument("--dtype", choices=("float64", "float32"))
    t.add_argument("--save-weights", metavar="FILE.npz")
    t.add_argument("--json", action="store_true", help="one JSON object per epoch")
    t.add_argument("--every", type=int, default=1, metavar="N",
                   help="print every N-th epoch (and the first and last)")
    sc = sub.add_parser("score", help="loss and accuracy of trained weights on the train, "
                        "validation and test parts")
    sc.add_argument("graph", help="a graph file or a bundled example name")
    sc.add_argument("--weights", metavar="FILE.npz", required=True, help="trained parameters")
    _add_data_args(sc)
    sc.add_argument("--json", action="store_true", help="one JSON object")
    for name, helptext, json_help in (
            ("eval", "one forward and backward pass; print every value and gradient", None),
            ("check", "numerical gradient check of every node", ""),
            ("steps", "the forward and backward pass step by step (upstream × local = downstream)",
             "one JSON object per step")):
        e = sub.add_parser(name, help=helptext)
        e.add_argument("graph", help="a graph file or a bundled example name")
        e.add_argument("--feed", action="append", metavar="NAME=VALUE",
                       help="a number or JSON nested list for an input node")
        e.add_argument("--sample", type=int, help="feed sample I of the dataset (sample 0 when "
                       "an input has no value of its own and no --sample is given)")
        e.add_argument("--weights", metavar="FILE.npz", help="trained parameters")
        _add_data_args(e)
        if json_help != "":  # check has no JSON output
            e.add_argument("--json", action="store_true", help=json_help)
    from .interop.commands import add_parsers

    add_parsers(sub)  # export, import
    return parser


def cmd_interop(args: argparse.Namespace, out: TextIO) -> int:
    from .interop import InteropError
    from .interop.commands import run

    try:
        return run(args, out, load_graph)
    except InteropError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None


def command_summaries() -> list[tuple[str, str]]:
    """(command, one-line help) for every command, in the order ``--help`` lists them."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [(a.dest, a.help or "") for a in sub._choices_actions]


COMMANDS = {"train": cmd_train, "score": cmd_score, "eval": cmd_eval, "check": cmd_check,
            "steps": cmd_steps, "export": cmd_interop, "import": cmd_interop}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help(out)
            return EXIT_USAGE
        return COMMANDS[args.command](args, out)
    except CliError as exc:
        for line in exc.lines:
            print(f"error: {one_line(line)}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (OSError, ValueError, MemoryError) as exc:
        print(f"error: {one_line(str(exc) or type(exc).__name__)}", file=sys.stderr)
        return EXIT_FAILED


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters shown as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
