"""Write ``model.py``: an ``nn.Module`` that mirrors the graph node by node. Parameters are
attributes named after their nodes, each gate is one line with the node's name, and every
composite becomes a submodule class of its own (nested composites nest). ``forward`` returns
a dict of named outputs: the graph's output (the loss), what the network predicts and, for
training, the loss's prediction input. The target input is optional: without it only the
gates that do not need it run (prediction)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..engine import Program, get_op
from ..graph import COMPOSITE, GraphModel
from .common import ExportError, identifier
from .torch_ops import HELPERS, TORCH_OPS

RESERVED = frozenset({"self", "torch", "nn", "F", "np", "DTYPE", "Net", "out", "super",
                      "PARAMETERS", "bce_probabilities", "forward", "load_weights",
                      "save_weights", "training"})


@dataclass
class ModuleCode:
    cls: str
    init: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)


class ModelWriter:
    """model.py for ``model`` compiled as ``program``; ``target`` (an input name) is optional."""

    def __init__(self, model: GraphModel, program: Program, outputs: list[str],
                 target: str | None, fixed: frozenset[str] = frozenset()) -> None:
        self.model = model
        self.program = program
        self.outputs = outputs  # top-level node names forward returns
        self.target = target
        self.fixed = fixed  # top-level inputs that keep their own value (buffers, not arguments)
        self.classes: list[ModuleCode] = []
        self.class_names: set[str] = {"Net"}
        self.parameters: dict[str, str] = {}  # app name → state_dict key
        self.helpers: set[str] = set()
        self.input_args: dict[str, str] = {}  # top-level input name → forward's argument

    def shape(self, key: str) -> tuple[int | None, ...]:
        return self.program.nodes[self.program.index[key]].shape

    def _class_name(self, name: str) -> str:
        base = "".join(w[:1].upper() + w[1:] for w in re.split(r"\W+|_", name) if w) or "Block"
        base = base if base[0].isalpha() else "Block" + base
        out, k = base, 1
        while out in self.class_names:
            k += 1
            out = f"{base}{k}"
        self.class_names.add(out)
        return out

    def write_graph(self, graph: GraphModel, cls: str, key_prefix: str, name_prefix: str,
                    attr_prefix: str, top: bool) -> ModuleCode:
        code = ModuleCode(cls)
        taken: set[str] = set()
        var: dict[str, str] = {}
        need = self._needed(graph, top)
        order = [nid for nid in graph.topological_order() if nid in need]
        for nid in order:  # sources and submodules first: attributes
            node = graph.nodes[nid]
            if node.op == "input" and top and node.name in self.fixed:
                attr = identifier(node.name, taken, RESERVED)
                var[nid] = f"self.{attr}"
                code.init.append(f"self.register_buffer({attr!r}, torch.tensor("
                                 f"{node.params['value']!r}, dtype=DTYPE))  # input '{node.name}'"
                                 " with its own value")
            elif node.op == "input":
                var[nid] = identifier(node.name, taken, RESERVED)
                code.args.append(var[nid])
                if top:
                    self.input_args[node.name] = var[nid]
            elif node.op in ("parameter", "constant"):
                attr = identifier(node.name, taken, RESERVED)
                var[nid] = f"self.{attr}"
                shape = self.shape(key_prefix + nid)
                dims = ", ".join(str(d or 1) for d in shape)
                if node.op == "parameter":
                    grad = "" if node.params.get("trainable", True) else ", requires_grad=False"
                    dims += "," if len(shape) == 1 else ""
                    code.init.append(f"self.{attr} = nn.Parameter(torch.zeros(({dims}), "
                                     f"dtype=DTYPE){grad})  # parameter '{node.name}'")
                    self.parameters[name_prefix + node.name] = attr_prefix + attr
                else:
                    code.init.append(f"self.register_buffer({attr!r}, torch.tensor("
                                     f"{node.params['value']!r}, dtype=DTYPE))"
                                     f"  # constant '{node.name}'")
            elif node.op == COMPOSITE:
                attr = identifier(node.name, taken, RESERVED)
                sub = self._class_name(node.name)
                body = node.body
                assert body is not None
                self.classes.append(self.write_graph(body, sub, f"{key_prefix}{nid}/",
                                                     f"{name_prefix}{node.name}/",
                                                     f"{attr_prefix}{attr}.", False))
                code.init.append(f"self.{attr} = {sub}()  # composite '{node.name}'")
                var[nid] = f"self.{attr}"
        late = self._after_target(graph, order) if top else set()
        lines_now: list[str] = []
        lines_late: list[str] = []
        for nid in order:
            node = graph.nodes[nid]
            if node.op in ("input", "parameter", "constant"):
                continue
            incoming = graph.incoming(nid)
            ports = graph.input_ports(node)
            ins = [var[incoming[p].src] for p in ports]
            name = identifier(node.name, taken, RESERVED)
            if node.op == COMPOSITE:
                line = f"{name} = {var[nid]}({', '.join(ins)})  # composite '{node.name}'"
            else:
                expr = self._expr(node, key_prefix + nid, dict(zip(ports, ins, strict=True)))
                line = f"{name} = {expr}"
                spec = get_op(node.op)
                line += f"  # {node.name}: {spec.texts(node.params).formula or spec.label}"
            var[nid] = name
            (lines_late if nid in late else lines_now).append(line)
        code.body = lines_now
        if top:
            outs = [(n, var[graph.by_name(n).id]) for n in self.outputs]
            early = [f"{n!r}: {v}" for n, v in outs if graph.by_name(n).id not in late]
            code.body.append(f"out = {{{', '.join(early)}}}")
            if lines_late:
                t = var[graph.by_name(self.target).id] if self.target else ""
                code.body.append(f"if {t} is not None:  # the loss needs the target")
                code.body += ["    " + line for line in lines_late]
                for n, v in outs:
                    if graph.by_name(n).id in late:
                        code.body.append(f"    out[{n!r}] = {v}")
            code.body.append("return out")
            if self.target:
                code.args = [f"{a}=None" if a == var[graph.by_name(self.target).id] else a
                             for a in code.args]
        else:
            code.body.append(f"return {var[graph.composite_output()]}")
        return code

    def _needed(self, graph: GraphModel, top: bool) -> set[str]:
        wanted = [graph.by_name(n).id for n in self.outputs] if top else [graph.composite_output()]
        seen = set(wanted)
        stack = list(wanted)
        while stack:
            for e in graph.incoming(stack.pop()).values():
                if e.src not in seen:
                    seen.add(e.src)
                    stack.append(e.src)
        return seen

    def _after_target(self, graph: GraphModel, order: list[str]) -> set[str]:
        if not self.target:
            return set()
        start = graph.by_name(self.target).id
        late = {start}
        for nid in order:
            if any(e.src in late for e in graph.incoming(nid).values()):
                late.add(nid)
        late.discard(start)
        return late

    def _expr(self, node: Any, key: str, ins: dict[str, str]) -> str:
        op = TORCH_OPS.get(node.op)
        if op is None:
            raise ExportError(f"node '{node.name}' uses op '{node.op}', which the PyTorch export "
                              "cannot express yet", node.name, node.op)
        params = dict(node.params)
        if node.op == "softmax_cross_entropy":
            i = self.program.index[key]
            params["_target_rank"] = len(self.program.nodes[self.program.nodes[i].inputs[1]].shape)
        self.helpers.update(op.helpers)
        text = op.forward(params) if callable(op.forward) else op.forward
        return text.format(**ins)

    def text(self, title: str, dtype: str) -> str:
        top = self.write_graph(self.model, "Net", "", "", "", True)
        classes = [*self.classes, top]
        out = [f'"""{title} — the graph as a PyTorch module, written by Backprop Playground.',
               "",
               "One attribute per parameter node, one line per gate (named as in the app), one",
               'submodule class per composite. Weights load from an .npz keyed by node name."""',
               "", "import numpy as np", "import torch", "import torch.nn.functional as F",
               "from torch import nn", "", f"DTYPE = torch.{dtype}", "",
               "# parameter node name in the app → its name in this module's state_dict",
               "PARAMETERS = {" + ", ".join(f"{k!r}: {v!r}" for k, v in self.parameters.items())
               + "}"]
        for h in sorted(self.helpers):
            out += ["", "", HELPERS[h]]
        for c in classes:
            doc = ("The whole graph." if c.cls == "Net" else "A composite node of the app.")
            out += ["", "", f"class {c.cls}(nn.Module):", f'    """{doc}"""', "",
                    "    def __init__(self):", "        super().__init__()"]
            out += ["        " + line for line in c.init]
            out += ["", f"    def forward(self{''.join(', ' + a for a in c.args)}):"]
            out += ["        " + line for line in c.body]
        out += ["", "", LOAD_SAVE]
        return "\n".join(out) + "\n"


LOAD_SAVE = '''def load_weights(model, path):
    """Set the parameters from an .npz keyed by node name (the app's NAME.weights.npz)."""
    with np.load(path, allow_pickle=False) as data:
        with torch.no_grad():
            for app_name, key in PARAMETERS.items():
                if app_name in data.files:
                    model.get_parameter(key).copy_(torch.from_numpy(data[app_name]))


def save_weights(model, path):
    """Save the parameters as an .npz keyed by node name: the app opens it as trained weights."""
    np.savez(path, **{app_name: model.get_parameter(key).detach().cpu().numpy()
                      for app_name, key in PARAMETERS.items()})'''
