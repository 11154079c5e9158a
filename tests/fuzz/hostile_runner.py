"""Run hostile cases (hostile_cases.py) and report each as one JSON line on stdout.

    python tests/fuzz/hostile_runner.py --seed 16 --cases 2000 [--only K] [--per-case 10]

Run by tests/fuzz/test_fuzz.py in a subprocess under an address-space limit (RLIMIT_AS) and a
memory budget (PLAYGROUND_MEMORY_BUDGET). For every case it prints ``{"case": k, "kind": ...,
"outcome": "ok" | "refused" | "FAIL", "error": ..., "seconds": ..., "peak": bytes}``:

* ``refused``: one of the app's typed errors (the engine's, a dataset's, training's, the CLI's);
* ``FAIL``: any other exception, or a broken promise (a loaded graph that cannot be saved again
  or does not round-trip; weights taken that are not finite or not the parameter's shape).

Each case has ``--per-case`` seconds: past that, faulthandler dumps the stacks and ends the
process, and the parent names the case from the ``{"start": k}`` line printed before it. The
Python heap's peak per case (tracemalloc: NumPy's arrays included) is reported for the parent to
check against the budget.
"""

from __future__ import annotations

import argparse
import faulthandler
import io
import json
import math
import sys
import tempfile
import time
import traceback
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from hostile_cases import EXAMPLES, make_case

from playground import cli
from playground.engine import EngineError
from playground.graph import (
    GraphModel,
    SaveError,
    compile_graph,
    dumps,
    load,
    loads,
)
from playground.training import TrainConfig, Trainer, TrainingError, bind, fit_weights
from playground.training.datasets import DatasetError, load_csv, split
from playground.training.settings import SettingsError, validate_training
from playground.training.weights import read_npz

TYPED = (EngineError, DatasetError, TrainingError, SettingsError, cli.CliError)


class Broken(AssertionError):
    """A promise the app makes about what it accepted was broken."""


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise Broken(what)


def one_line_each(exc: BaseException) -> bool:
    """One line per failure: errors that list several (``lines``, ``errors``) have one each,
    every other message is one line."""
    text = str(exc)
    listed = getattr(exc, "lines", None) or getattr(exc, "errors", None)
    if listed is not None:
        return text.count("\n") == len(listed) - 1
    return "\n" not in text


def random_feeds(program: Any, rng: np.random.Generator) -> dict[str, Any]:
    feeds = {}
    for i in program.inputs:
        node = program.nodes[i]
        shape = tuple(2 if d is None else d for d in node.shape)
        if node.params.get("value") is None:
            feeds[node.name] = rng.integers(0, 2, shape).astype(float) if len(shape) == 1 else \
                rng.standard_normal(shape)
    return feeds


def run_graph(folder: Path, case: Any) -> None:
    model = load(folder / "graph.json")
    try:
        text = dumps(model)  # whatever loads can be saved again ...
    except SaveError as exc:
        raise Broken(f"a graph that loaded cannot be saved: {exc}") from None
    again = loads(text)
    expect(again.to_dict() == model.to_dict(), "the graph does not round-trip")  # ... unchanged
    program = compile_graph(model)
    if sum(math.prod(d or 2 for d in n.shape) for n in program.nodes) > 200_000:
        return
    program.run(random_feeds(program, np.random.default_rng(case.index)))
    if len(program.nodes) < 40:
        from playground.engine.gradcheck import check_program

        check_program(program, max_elements=8)


def run_training(folder: Path, case: Any) -> None:
    path = folder / "graph.json"
    model = load(path)
    validate_training(model.meta.get("training"))  # never raises: a list of FieldErrors
    args = ["train", str(path), "--epochs", "1", "--samples", "40"]
    if case.options["command"] == "eval":
        args = ["eval", str(path), "--sample", "0"]
    parsed = cli.build_parser().parse_args(args)
    cli.COMMANDS[parsed.command](parsed, io.StringIO())


def _tiny_graph(n_features: int, n_out: int, loss: str) -> GraphModel:
    m = GraphModel()
    x = m.add_node("input", "x", {"shape": [None, n_features]})
    w = m.add_node("parameter", "W", {"shape": [n_features, n_out]})
    b = m.add_node("parameter", "b", {"shape": [n_out], "init": "zeros"})
    z = m.add_node("dense", "z")
    y = m.add_node("input", "y", {"shape": [None] if loss == "softmax_cross_entropy"
                                  else [None, n_out]})
    out = m.add_node(loss, "loss")
    for src, dst, port in ((x, z, "x"), (w, z, "W"), (b, z, "b"), (z, out, "pred" if loss ==
                           "mse" else "logits"), (y, out, "target")):
        m.connect(src.id, dst.id, port)
    return m


def run_csv(folder: Path, case: Any) -> None:
    ds = load_csv(folder / "data.csv", label=case.options["label"])
    data = split(ds, val_fraction=case.options["val_fraction"],
                 standardize=case.options["standardize"])
    expect(bool(np.isfinite(data.X_train).all()), "non-finite features were accepted")
    for loss, width in (("softmax_cross_entropy", max(ds.n_classes, 2)), ("mse", 1)):
        program = compile_graph(_tiny_graph(ds.n_features, width, loss))
        try:
            bind(program, data)
        except TrainingError:
            continue
        if ds.task == "regression" and data.X_val.shape[0] == 0:
            continue  # an empty validation part for regression: another branch's work
        for _ in Trainer(program, data, TrainConfig(epochs=1, batch_size=8, max_steps=3)).steps():
            pass


def run_weights(folder: Path, case: Any) -> None:
    path = folder / "w.npz"
    program = compile_graph(load(EXAMPLES / "moons_mlp.json"), dtype=case.options["dtype"])
    params = program.param_arrays(trainable_only=False)
    fit = fit_weights(program, path)
    expect(set(fit.taken) | set(fit.missing) == set(params), "taken + missing != parameters")
    expect(not set(fit.taken) & set(fit.skipped), "a name both taken and skipped")
    for name, arr in fit.arrays.items():
        expect(arr.shape == params[name].shape, f"{name} taken with shape {arr.shape}")
        expect(arr.dtype == program.dtype, f"{name} taken as {arr.dtype}")
        expect(bool(np.isfinite(arr).all()), f"{name} taken with non-finite values")
    fit.apply(program)
    arrays, _ = read_npz(path, None, np.float64)  # no program: load_params' reading
    for name, arr in arrays.items():
        expect(bool(np.isfinite(arr).all()), f"{name} read with non-finite values")


ACTIONS = {"graph": run_graph, "training": run_training, "csv": run_csv, "weights": run_weights}


def run_case(seed: int, index: int, per_case: float) -> dict[str, Any]:
    case = make_case(seed, index)
    print(json.dumps({"start": index, "kind": case.kind}), flush=True)
    faulthandler.dump_traceback_later(per_case, exit=True)
    tracemalloc.reset_peak()
    start = time.perf_counter()
    outcome, error = "ok", ""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, raw in case.files.items():
            (folder / name).write_bytes(raw)
        try:
            ACTIONS[case.kind](folder, case)
        except TYPED as exc:
            outcome, error = "refused", f"{type(exc).__name__}: {exc}"
            if not one_line_each(exc):
                outcome, error = "FAIL", f"a message of several lines: {exc!r}"
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            outcome = "FAIL"
            error = "".join(traceback.format_exception(exc)[-6:])
    faulthandler.cancel_dump_traceback_later()
    peak = tracemalloc.get_traced_memory()[1]
    return {"case": index, "kind": case.kind, "outcome": outcome, "error": error[:2000],
            "seconds": round(time.perf_counter() - start, 4), "peak": peak}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--only", type=int, help="run just this case (to reproduce a finding)")
    parser.add_argument("--per-case", type=float, default=10.0, help="seconds per case")
    args = parser.parse_args(argv)
    tracemalloc.start()
    indices = [args.only] if args.only is not None else range(args.cases)
    for k in indices:
        print(json.dumps(run_case(args.seed, k, args.per_case)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
