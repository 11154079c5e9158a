"""Command line: ``python -m playground train|score|eval|check|steps|export|import ...``. No Qt.

Every bad input prints one clear line to stderr and exits non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .. import __version__
from .common import (  # noqa: F401 - re-exported: the commands' shared API
    EXIT_FAILED,
    EXIT_USAGE,
    CliError,
    _add_data_args,
    load_graph,
    one_line,
    parse_feeds,
    resolve_graph,
)
from .inspect import cmd_check, cmd_eval, cmd_steps
from .train import (  # noqa: F401 - re-exported
    class_names,
    cmd_score,
    cmd_train,
    epoch_json,
    epoch_line,
)


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
    from ..interop.commands import add_parsers

    add_parsers(sub)  # export, import
    return parser


def cmd_interop(args: argparse.Namespace, out: TextIO) -> int:
    from ..interop import InteropError
    from ..interop.commands import run

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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
