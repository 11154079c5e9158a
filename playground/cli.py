"""Command line: ``python -m playground train|eval|check|steps GRAPH ...``. Never imports Qt.

Every bad input prints one clear line to stderr and exits non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
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


DATA_FIELDS = frozenset({"dataset", "samples", "noise", "seed", "standardize"})


def _settings(args: argparse.Namespace, model: GraphModel,
              used: frozenset[str] | None = None) -> Any:
    """The graph's ``meta.training`` overridden by the flags given; every value checked by the
    one validation table (playground/training/settings.py). Refused values: one line each;
    of the file's values only those in ``used`` (default: all) are refused."""
    from .training.settings import FIELD, FIELDS, validate_training

    source = Path(args.graph).name if Path(args.graph).suffix else args.graph
    from_file, file_errors = validate_training(model.meta.get("training"),
                                               where=f"{source}: meta.training.")
    flags = {f.name: getattr(args, f.name) for f in FIELDS
             if getattr(args, f.name, None) is not None}
    if getattr(args, "no_standardize", False):
        flags["standardize"] = False
    from_flags, flag_errors = validate_training(flags, flags=True)
    lines = [str(e) for e in flag_errors]
    for e in file_errors:
        if e.field not in flags and (used is None or e.field in used):
            has_flag = e.field in FIELD and hasattr(args, e.field)
            hint = f"; give {FIELD[e.field].flag} to override it" if has_flag else \
                "; correct it in the file"
            lines.append(f"{e}{hint}")
    if lines:
        raise CliError(lines)
    return from_file.merged(from_flags)


def _label_column(label: str | None) -> str | int | None:
    """A CSV label column: a 0-based index (negative counts from the end) or a name."""
    if label is not None and label.lstrip("-").isdigit() and label.count("-") <= 1:
        return int(label)
    return label


# -- datasets ---------------------------------------------------------------------------------
def _dataset_split(args: argparse.Namespace, model: GraphModel, val_fraction: float | None = None) -> Any:
    from .training.datasets import DatasetError, load_csv, load_dataset, split

    settings = args.settings
    try:
        if args.csv:
            ds = load_csv(args.csv, label=_label_column(args.label))
        else:
            name = settings.dataset
            if not name:
                raise CliError("no dataset: give --dataset NAME or --csv FILE --label COLUMN")
            ds = load_dataset(name, n_samples=settings.samples, noise=settings.noise,
                              seed=settings.seed)
        if val_fraction is None:
            val_fraction = settings.val_fraction
        return split(ds, val_fraction=val_fraction, seed=settings.seed,
                     standardize=settings.standardize)
    except DatasetError as exc:
        raise CliError(str(exc)) from None


def _add_data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", help="digits, iris, moons, circles, blobs, xor, spiral, gaussian, sine")
    g.add_argument("--csv", help="a CSV file with a header row")
    g.add_argument("--label", help="the CSV column holding the target (name or 0-based index)")
    g.add_argument("--samples", type=int, help="sample count for generated datasets")
    g.add_argument("--noise", type=float, help="noise for generated datasets")
    g.add_argument("--val-fraction", type=float, help="held-out fraction (default 0.3)")
    g.add_argument("--no-standardize", action="store_true", help="keep raw feature scales")
    g.add_argument("--seed", type=int, default=None, help="seed for data, split, init and shuffling")


# -- train ------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    from .training import TrainConfig, TrainingError, save_params, train

    model = load_graph(args.graph)
    args.settings = _settings(args, model)
    data = _dataset_split(args, model)
    program = _compile(model, args.dtype)
    try:
        config: TrainConfig = args.settings.config()
        run = train(program, data, config)
    except TrainingError as exc:
        raise CliError(str(exc)) from None
    classes = class_names(data.dataset)
    if classes and not args.json:
        out.write("classes: " + ", ".join(f"{i} = {n!r}" for i, n in enumerate(classes)) + "\n")
    bar = _Progress(out, config.epochs) if not args.json and out.isatty() else None
    last = None
    try:
        for m in run:
            last = m
            if bar:
                bar.update(m)
            if m.epoch_end:
                if args.json:
                    record = epoch_json(m)
                    if classes:
                        record["classes"] = list(classes)
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                elif bar:
                    bar.epoch(m)
                else:
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
    feeds = parse_feeds(args.feed or [])
    if args.sample is not None:
        from .training import TrainingError, bind
        from .training.loop import encode_targets

        data = _dataset_split(args, model, val_fraction=0.0)
        ds = data.dataset
        if not 0 <= args.sample < ds.n_samples:
            raise CliError(f"--sample must be in 0..{ds.n_samples - 1}")
        try:
            b = bind(_compile(model), data)
        except TrainingError as exc:
            raise CliError(str(exc)) from None
        row = int(np.flatnonzero(data.train_index == args.sample)[0])  # standardised like training
        feeds.setdefault(b.features, data.X_train[row: row + 1])
        feeds.setdefault(b.target, encode_targets(ds.y[args.sample: args.sample + 1], b,
                                                  ds.n_classes, np.float64))
    return feeds


def _prepare(args: argparse.Namespace, dtype: str | None = None) -> Program:
    """Load, compile (in the file's dtype unless ``dtype`` says otherwise), feed and run."""
    model = load_graph(args.graph)
    args.settings = _settings(args, model, DATA_FIELDS)  # eval, check, steps: data settings
    feeds = _feeds_for(args, model)
    program = _compile(model, dtype)
    program.init_params(args.settings.seed)
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
    for n in names:
        out.write(f"{n:<{width}}  {_fmt(program.value(n)):<30}  {_fmt(program.grad(n))}\n")
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
    t.add_argument("--lr", type=float)
    t.add_argument("--optimizer", choices=("sgd", "momentum", "adam"))
    t.add_argument("--l2", type=float, help="L2 weight decay")
    t.add_argument("--dtype", choices=("float64", "float32"))
    t.add_argument("--save-weights", metavar="FILE.npz")
    t.add_argument("--json", action="store_true", help="one JSON object per epoch")
    for name, helptext, json_help in (
            ("eval", "one forward and backward pass; print every value and gradient", None),
            ("check", "numerical gradient check of every node", ""),
            ("steps", "the forward and backward pass step by step (upstream × local = downstream)",
             "one JSON object per step")):
        e = sub.add_parser(name, help=helptext)
        e.add_argument("graph", help="a graph file or a bundled example name")
        e.add_argument("--feed", action="append", metavar="NAME=VALUE",
                       help="a number or JSON nested list for an input node")
        e.add_argument("--sample", type=int, help="feed sample I of the dataset")
        e.add_argument("--weights", metavar="FILE.npz", help="trained parameters")
        _add_data_args(e)
        if json_help != "":  # check has no JSON output
            e.add_argument("--json", action="store_true", help=json_help)
    return parser


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "check": cmd_check, "steps": cmd_steps}


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
