"""Write the NumPy script (``--to numpy FILE.py``) or the notebook (``--to notebook FILE.ipynb``)
with the arrays file beside it (``FILE.npz``: starting weights as ``param:NAME``, the data split
raw, or the inputs' values for a graph that does not train), then check it: the generated
``forward`` and ``backward`` run here on sample inputs and are compared with the app's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .common import ExportError, ExportReport, data_arrays, max_difference
from .numpy_script import ScriptParts

HEADER = '''"""{title} — exported from Backprop Playground as plain NumPy.
{description}
{intro}
Needs only NumPy; the arrays are in {arrays} beside this file.

    python {script}{usage}
"""

import argparse
import math
from pathlib import Path

import numpy as np
'''

LOADER = '''def load_arrays(path=ARRAYS):
    """The starting weights (by node name) and the data, from the .npz beside this file."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    p = {key[len("param:"):]: value.astype(DTYPE) for key, value in arrays.items()
         if key.startswith("param:")}
    return p, arrays'''

MAIN_TRAIN = '''def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args()
    train(args.epochs)


if __name__ == "__main__":
    main()
'''

MAIN_ONE_PASS = '''if __name__ == "__main__":
    one_pass()
'''


def arrays_for(parts: ScriptParts) -> dict[str, np.ndarray]:
    job = parts.job
    out = {f"param:{name}": arr for name, arr in job.arrays.items()}
    if parts.setup is not None:
        out.update(data_arrays(parts.setup, job.program))
    else:
        for i in parts.args:
            name = job.program.nodes[i].name
            out[f"input:{name}"] = np.asarray(job.feeds[name])
    return out


def script_text(parts: ScriptParts, script_name: str, arrays_name: str) -> str:
    job = parts.job
    training = parts.setup is not None
    if training:
        c = parts.setup.config if parts.setup else None
        what = (f"Then the {c.optimizer if c else ''} update and a training loop over the same "
                "data as the app: the same split, derived inputs, standardisation, seed and "
                "batch order, the same frozen parameters, so it prints the same losses.")
    else:
        what = "It runs one forward and one backward pass with the inputs' values."
    description = "\n" + _wrap(job.description) + "\n" if job.description else ""
    intro = ("The forward pass and the backward pass are written out gate by gate: each gradient "
             "is the upstream gradient times the gate's local derivative (the chain rule), and "
             "where a value feeds several gates its gradients add up. " + what)
    head = HEADER.format(title=job.title, description=description, intro=_wrap(intro),
                         arrays=arrays_name, script=script_name,
                         usage=" [--epochs N]" if training else "")
    blocks = [head, parts.settings(f"Path(__file__).with_name({arrays_name!r})"),
              parts.helper_text(), LOADER, parts.forward_fn(), parts.predict_fn(),
              parts.backward_fn()]
    if training:
        blocks += [parts.optimizer(), parts.train_fn(), MAIN_TRAIN]
    else:
        blocks += [parts.one_pass_fn(), MAIN_ONE_PASS]
    return "\n\n\n".join(b.strip("\n") for b in blocks if b).replace("\n\n\n\n", "\n\n\n") + "\n"


def _wrap(text: str, width: int = 96) -> str:
    import textwrap

    return "\n".join(textwrap.fill(par, width) for par in text.split("\n"))


def export_numpy(job: Any, out: Path, fmt: str, check: bool, report: Any) -> ExportReport:
    from .api import tolerance, write_npz, write_text

    parts = ScriptParts(job)
    suffix = ".py" if fmt == "numpy" else ".ipynb"
    if out.suffix != suffix:
        out = out.with_name(out.name + suffix) if out.suffix == "" else out
    arrays_path = out.with_suffix(".npz")
    script = script_text(parts, out.name, arrays_path.name)
    files = [str(out), str(arrays_path)]
    write_npz(arrays_path, arrays_for(parts))
    if fmt == "numpy":
        write_text(out, script)
    else:
        from .notebook import notebook_text

        write_text(out, notebook_text(parts, script, arrays_path.name))
    result = ExportReport(fmt, files, notes=[], tolerance=tolerance(job))
    if check:
        report(0.7, "running the generated forward and backward against the app")
        result.max_difference = check_script(script, arrays_path, parts)
        result.checked_with = "the generated forward/backward run here"
    report(1.0, "done")
    return result


def load_script(source: str, arrays_path: Path, name: str = "exported") -> dict[str, Any]:
    """Run the script's definitions (not its main) and return its namespace."""
    namespace: dict[str, Any] = {"__name__": name, "__file__": str(arrays_path.with_suffix(".py"))}
    try:
        exec(compile(source, str(arrays_path.with_suffix(".py")), "exec"), namespace)  # noqa: S102
    except Exception as exc:  # noqa: BLE001 - generated code that does not run is a bug here
        raise ExportError(f"the generated script does not run: {type(exc).__name__}: {exc}") from None
    namespace["ARRAYS"] = arrays_path
    return namespace


def check_script(source: str, arrays_path: Path, parts: ScriptParts) -> float:
    """Largest difference between the script's forward values and gradients and the app's, on
    the job's sample inputs and starting weights."""
    ns = load_script(source, arrays_path)
    program = parts.program
    feeds = parts.job.feeds
    program.set_params(parts.job.arrays)
    program.forward(dict(feeds))
    program.backward(all_grads=parts.setup is None)
    p, _ = ns["load_arrays"]()
    args = {parts.var(i): np.asarray(feeds[program.nodes[i].name], dtype=program.dtype)
            for i in parts.args}
    try:
        values = ns["forward"](p, **args)
        grads = ns["backward"](p, v=values, **args)
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"the generated script fails on sample inputs: "
                          f"{type(exc).__name__}: {exc}") from None
    diffs = [max_difference(v, program.value(k)) for k, v in values.items()]
    diffs += [max_difference(g, program.grad(k)) for k, g in grads.items()]
    return max(diffs, default=0.0)
