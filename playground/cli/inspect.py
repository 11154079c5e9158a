"""``eval``, ``check`` and ``steps``: one pass of a graph, its gradient check, its steps."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from ..engine import EngineError, Program
from ..graph import GraphModel
from .common import (
    DATA_FIELDS,
    EXIT_FAILED,
    CliError,
    _compile,
    _dataset_split,
    _fmt,
    _jsonable,
    _settings,
    load_graph,
    parse_feeds,
)


# -- eval and check ---------------------------------------------------------------------------
def _feeds_for(args: argparse.Namespace, model: GraphModel) -> dict[str, Any]:
    """``--feed`` values, plus sample ``--sample`` of the dataset. When inputs have no value and
    no sample is named, sample 0 of the graph's dataset is fed (as the window's Evaluate does),
    with a note on stderr."""
    from ..graph.inputs import inputs_without_value

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
        from ..training import TrainingError
        from ..training.datasets import DatasetError
        from ..training.workbench import feeds_for_sample

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
        from ..training import CheckpointError, restore_params

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
    from ..engine.gradcheck import GRADCHECK_TOLERANCE, check_program

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
    from ..graph.explain import trace

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
