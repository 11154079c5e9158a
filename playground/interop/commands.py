"""The ``export`` and ``import`` commands of ``python -m playground`` (see playground/cli.py)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TextIO

from .api import FORMATS, export
from .common import InteropError
from .onnx_import import import_onnx


def add_parsers(sub: Any) -> None:
    e = sub.add_parser("export", help="write the graph as a PyTorch project, ONNX, NumPy or a notebook")
    e.add_argument("graph", help="a graph file or a bundled example name")
    e.add_argument("--to", required=True, choices=FORMATS, dest="fmt")
    e.add_argument("out", help="a folder (pytorch) or a file (.onnx, .py, .ipynb)")
    e.add_argument("--weights", metavar="W.npz", help="trained parameters (default: the "
                   "initialisation a run in the app starts from)")
    e.add_argument("--with-loss", action="store_true", help="ONNX: keep the loss and its target")
    e.add_argument("--no-check", action="store_true", help="skip the parity check")
    e.add_argument("--json", action="store_true", help="print the report as one JSON object")
    i = sub.add_parser("import", help="import an ONNX model as a graph file")
    i.add_argument("model", help="MODEL.onnx")
    i.add_argument("out", help="GRAPH.json to write")


def run(args: argparse.Namespace, out: TextIO, load_graph: Callable[[str], Any]) -> int:
    """Run ``export`` or ``import``; raise :class:`InteropError` (one line) when refused."""
    if args.command == "import":
        from ..graph import save

        model = import_onnx(args.model)
        try:
            save(model, args.out)
        except OSError as exc:
            raise InteropError(f"{args.out}: cannot be written ({exc.strerror or exc})") from None
        params = sum(1 for n in model.nodes.values() if n.op == "parameter")
        out.write(f"imported {len(model.nodes)} nodes ({params} parameters) into {args.out}\n")
        return 0
    model = load_graph(args.graph)
    report = export(model, args.fmt, args.out, weights=args.weights, with_loss=args.with_loss,
                    check=not args.no_check)
    if args.json:
        out.write(json.dumps({"format": report.format, "files": report.files,
                              "max_difference": report.max_difference,
                              "checked_with": report.checked_with, "ok": report.ok,
                              "notes": report.notes or []}) + "\n")
    else:
        out.write(report.summary() + "\n")
    return 0 if report.ok else 1
