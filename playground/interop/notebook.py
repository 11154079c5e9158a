"""The NumPy export as a Jupyter notebook: set-up, then one pass walked gate by gate (a markdown
cell per gate with its formula and local derivative, read from the op registry, then its line
of code), then the same code as functions and the training loop. Written with nbformat and
validated against its schema."""

from __future__ import annotations

from typing import Any

from .numpy_script import ScriptParts


def _md_gate_forward(parts: ScriptParts, index: int) -> str:
    node = parts.program.nodes[index]
    spec = node.spec
    texts = spec.texts(node.params)  # a loss's texts follow its reduction
    ins = ", ".join(f"`{parts.program.nodes[j].name}`" for j in node.inputs)
    variant = f" ({spec.variant_param} `{node.params[spec.variant_param]}`)" \
        if spec.variant_param else ""
    text = (f"### `{node.name}` = {spec.label or spec.name}({ins})\n\n"
            f"**{spec.name}**{variant}: {texts.formula or spec.label}. ")
    if spec.doc:
        text += spec.doc + " "
    text += f"Its local derivative is **{texts.derivative}**; the backward pass will use it."
    return text


def _md_gate_backward(parts: ScriptParts, gate: Any) -> str:
    node = parts.program.nodes[gate.index]
    lines = [f"### Back through `{node.name}` ({node.spec.label or node.spec.name})", "",
             (f"The upstream gradient `d_{gate.var}` = ∂{parts.program.nodes[parts.program.output].name}"
             f"/∂{node.name} arrives from the gates after it. Each input gets "
             "*downstream = upstream × local*:"), ""]
    lines += [f"- {note}" for note in gate.notes]
    if any("add up" in line for line in gate.lines):
        lines += ["", "A value that feeds several gates collects one gradient from each: they add up."]
    if any("broadcast" in line for line in gate.lines):
        lines += ["", ("An input that was broadcast (a bias added to every row) sums its gradient "
                      "back over those axes.")]
    return "\n".join(lines)


def notebook_text(parts: ScriptParts, script: str, arrays_name: str) -> str:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from .numpy_export import LOADER

    job = parts.job
    training = parts.setup is not None
    cells = [new_markdown_cell(
        f"# {job.title}\n\n{job.description}\n\nExported from Backprop Playground. The forward "
        "and backward passes are written out gate by gate; every gradient is the upstream "
        "gradient times the gate's local derivative (the chain rule). "
        + ("The last section trains on the same data as the app, with the same split, "
           "standardisation, seed and batch order, so it prints the same losses. "
           if training else "")
        + f"Needs only NumPy; the arrays are in `{arrays_name}` beside this notebook.")]
    setup = ["import math", "from pathlib import Path", "", "import numpy as np", "",
             parts.settings(f"Path({arrays_name!r})"), "", parts.helper_text(), "", LOADER]
    if training:
        setup += ["", _section(script, "def targets(y):", "def train(")]
    cells.append(new_code_cell("\n".join(setup).strip()))

    cells.append(new_markdown_cell("## One pass, gate by gate\n\nThe starting weights and "
                                   + ("the first batch of the training data." if training
                                      else "the inputs' values.")))
    first = ["p, arrays = load_arrays()"]
    if training:
        b = parts.setup.binding
        fvar = parts.var(parts.program.index[b.features])
        tvar = parts.var(parts.program.index[b.target])
        first += ["data = load_data(arrays)",
                  'X_train, T_train, y_train = data["train"]',
                  "rows = X_train.shape[0] if FULL_BATCH else BATCH_SIZE  # full batch: all",
                  f"{fvar}, {tvar} = X_train[:rows], T_train[:rows]"]
    else:
        first += [f"{parts.var(i)} = arrays[{'input:' + parts.program.nodes[i].name!r}]"
                  for i in parts.args]
    unpack = parts.unpack(parts.params, "p", lambda i: parts.program.nodes[i].name)
    if unpack:
        first.append(unpack)
    cells.append(new_code_cell("\n".join(first)))
    for gate in parts.forward:
        cells.append(new_markdown_cell(_md_gate_forward(parts, gate.index)))
        show = gate.var if not parts.program.nodes[gate.index].shape else f"{gate.var}.shape"
        cells.append(new_code_cell("\n".join([*gate.lines, show])))

    out = parts.program.nodes[parts.program.output].name
    cells.append(new_markdown_cell(
        f"## Backward, from the output back\n\nThe chain rule starts at ∂{out}/∂{out} = 1 and "
        "walks the gates in reverse order."))
    cells.append(new_code_cell(parts.seed_line()))
    for gate in parts.backward:
        cells.append(new_markdown_cell(_md_gate_backward(parts, gate)))
        cells.append(new_code_cell("\n".join(gate.lines)))
    grads = ", ".join(f"d_{parts.var(i)}" for i in parts.grads_returned())
    if grads:
        cells.append(new_code_cell(f"{grads}" if "," in grads else grads))

    if training:
        cells.append(new_markdown_cell(
            "## Training\n\nThe same lines as functions, the optimizer and the loop over "
            "minibatches (shuffled exactly as the app shuffles them)."))
        fns = [parts.forward_fn(), parts.predict_fn(), parts.backward_fn(), parts.optimizer(),
               _section(script, "def train(", "def main(")]
        cells.append(new_code_cell("\n\n\n".join(f.strip() for f in fns if f)))
        cells.append(new_code_cell("p, batch_losses, history = train()"))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return str(nbformat.writes(nb))


def _section(script: str, start: str, end: str) -> str:
    """The part of the script from the line starting with ``start`` up to ``end``."""
    lines = script.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(start))
    j = next((k for k, line in enumerate(lines) if k > i and line.startswith(end)), len(lines))
    return "\n".join(lines[i:j]).strip()
