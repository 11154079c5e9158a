"""The text of an exported NumPy script: settings, helpers, ``forward`` and ``backward`` written
gate by gate, the optimizer, and either a training loop over the app's data (same split,
standardisation, seed and batch order) or, for a graph that does not train, one pass with its
input values. The notebook exporter reuses these pieces cell by cell."""

from __future__ import annotations

from typing import Any

from ..engine import Program
from .common import inference_outputs
from .data_code import data_functions, data_settings
from .numpy_gen import Gate, Generator
from .numpy_ops import HELPERS

OPTIMIZERS = {
    "sgd": '''class Optimizer:
    """SGD: w ← w − lr·(∂L/∂w + l2·w)."""

    def step(self, p, grads):
        for name, g in grads.items():
            w = p[name]
            if L2:
                g = g + L2 * w  # L2 weight decay: ∂/∂w (l2/2 ‖w‖²) = l2·w
            w -= LR * g''',
    "momentum": '''class Optimizer:
    """Momentum: v ← μ·v − lr·(∂L/∂w + l2·w);  w ← w + v."""

    def __init__(self):
        self.v = {}

    def step(self, p, grads):
        for name, g in grads.items():
            w = p[name]
            v = self.v.setdefault(name, np.zeros_like(w))
            v *= MOMENTUM
            v -= LR * (g + L2 * w if L2 else g)
            w += v''',
    "adam": '''class Optimizer:
    """Adam: running means of the gradient (m) and of its square (v), bias-corrected."""

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, p, grads):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        scale = LR * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        for name, g in grads.items():
            w = p[name]
            if L2:
                g = g + L2 * w  # L2 weight decay: ∂/∂w (l2/2 ‖w‖²) = l2·w
            m = self.m.setdefault(name, np.zeros_like(w))
            v = self.v.setdefault(name, np.zeros_like(w))
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            w -= scale * m / (np.sqrt(v) + self.eps)''',
}

TARGETS = {
    "labels": "y.astype(DTYPE)  # class labels as numbers",
    "column": "y.reshape(-1, 1).astype(DTYPE)  # one column of 0/1",
    "onehot": "one_hot(y, N_CLASSES)  # one row per sample, 1 in its class's column",
    "values": "y.reshape(y.shape[0], math.prod(y.shape[1:])).astype(DTYPE)  # one row each",
}


class ScriptParts:
    """The pieces of the script for one export job (``playground.interop.api.Job``)."""

    def __init__(self, job: Any) -> None:
        self.job = job
        program: Program = job.program
        self.program = program
        self.setup = job.setup
        self.gen = Generator(program, trainable_only=self.setup is not None)
        self.names = self.gen.names
        self.forward = self.gen.forward_gates([program.output])
        self.backward, self.with_grad = self.gen.backward_gates()
        self.inputs = self._inputs_of([g.index for g in self.forward])
        self.params = [i for i in program.parameters]
        self.constants = [i for i, n in enumerate(program.nodes) if n.spec.role == "constant"]
        outs = inference_outputs(program)
        self.predict = self.gen.forward_gates(outs) if self.setup is not None else []
        self.predict_outputs = outs
        bound = {self.setup.binding.features, self.setup.binding.target} if self.setup else set()
        # inputs the data feeds are arguments; other inputs are fixed numbers of the script
        self.args = [i for i in self.inputs if not self.setup or program.nodes[i].name in bound]
        self.fixed = [i for i in self.inputs if i not in self.args]

    def _inputs_of(self, gates: list[int]) -> list[int]:
        used = {j for i in gates for j in self.program.nodes[i].inputs}
        return [i for i in self.program.inputs if i in used]

    def var(self, i: int) -> str:
        return self.names[i]

    # -- pieces ------------------------------------------------------------------------------
    def settings(self, arrays_file: str) -> str:
        dtype = self.program.dtype.name
        lines = [f"DTYPE = np.{dtype}",
                 f"ARRAYS = {arrays_file}  # starting weights (param:NAME) and data"]
        s = self.setup
        if s is not None:
            c = s.config
            ds = s.split.dataset
            lines += ["", "# training settings, from the graph (the app's Training panel)",
                      f"EPOCHS = {c.epochs}", f"BATCH_SIZE = {c.batch_size}",
                      (f"FULL_BATCH = {c.full_batch}  # True: every step takes the whole "
                      "training part, in order"), f"LR = {c.lr!r}", f"L2 = {c.l2!r}"]
            if c.optimizer == "momentum":
                lines.append(f"MOMENTUM = {c.momentum!r}")
            frozen = [self.program.nodes[i].name for i in self.params
                      if i not in self.program.trainable]
            lines += [f"SEED = {c.seed}  # the batch order: shuffled exactly as the app shuffles",
                      f"N_CLASSES = {ds.n_classes}",
                      f"THRESHOLD = {s.binding.threshold!r}  # for a one-column prediction"]
            if frozen:
                lines.append(f"FROZEN = {frozen!r}  # trainable: false in the app: no "
                             "gradient, no update")
            lines += ["", *data_settings(s)]
        for i in self.fixed + self.constants:
            node = self.program.nodes[i]
            lines.append(f"{self.var(i)} = np.array({node.params['value']!r}, dtype=DTYPE)"
                         f"  # {node.spec.label.lower()} '{node.name}'")
        return "\n".join(lines)

    def helper_text(self) -> str:
        names = self.gen.helpers()
        if self.setup is not None and self.setup.binding.target_kind == "onehot":
            names.append("one_hot")
        blocks = [HELPERS[h] for h in dict.fromkeys(names)]
        if self.setup is not None:
            blocks.append(data_functions(self.setup))
        return "\n\n\n".join(blocks)

    def unpack(self, indices: list[int], source: str, key: Any) -> str:
        if not indices:
            return ""
        left = ", ".join(self.var(i) for i in indices)
        right = ", ".join(f"{source}[{key(i)!r}]" for i in indices)
        return f"{left} = {right}"

    def signature(self) -> str:
        return ", ".join(["p"] + [self.var(i) for i in self.args])

    def _params_used(self, gates: list[Gate]) -> list[int]:
        used = {j for g in gates for j in self.program.nodes[g.index].inputs}
        return [i for i in self.params if i in used]

    def forward_fn(self) -> str:
        out = [f"def forward({self.signature()}):",
               '    """Every gate\'s value, in the order the app computes them."""']
        unpack = self.unpack(self._params_used(self.forward), "p", lambda i: self.program.nodes[i].name)
        if unpack:
            out.append("    " + unpack)
        out += ["    " + line for g in self.forward for line in g.lines]
        values = ", ".join(f"{g.name!r}: {g.var}" for g in self.forward)
        out.append(f"    return {{{values}}}")
        return "\n".join(out)

    def predict_fn(self) -> str:
        if not self.predict:
            return ""
        ins = self._inputs_of([g.index for g in self.predict])
        if any(i not in self.args for i in ins) or len(ins) != 1:
            return ""
        out = [f"def predict(p, {self.var(ins[0])}):",
               '    """What the network predicts (no loss, no target)."""']
        unpack = self.unpack(self._params_used(self.predict), "p", lambda i: self.program.nodes[i].name)
        if unpack:
            out.append("    " + unpack)
        out += ["    " + line for g in self.predict for line in g.lines]
        names = ", ".join(f"{self.program.nodes[i].name!r}: {self.var(i)}"
                          for i in self.predict_outputs)
        out.append(f"    return {{{names}}}")
        return "\n".join(out)

    def seed_line(self) -> str:
        out = self.var(self.program.output)
        return f"d_{out} = np.ones_like({out})  # ∂{out}/∂{out} = 1: where the chain rule starts"

    def grads_returned(self) -> list[int]:
        return [i for i in self.with_grad if self.program.nodes[i].spec.is_source]

    def backward_fn(self) -> str:
        out = [f"def backward({self.signature()}, v):",
               (f'    """∂{self.program.nodes[self.program.output].name}/∂(each parameter), gate '
               'by gate from the output back:'),
               '    downstream = upstream × local (the chain rule)."""']
        unpack = self.unpack(self._params_used(self.backward), "p", lambda i: self.program.nodes[i].name)
        if unpack:
            out.append("    " + unpack)
        values = [g.index for g in self.forward]
        out.append("    " + self.unpack(values, "v", lambda i: self.program.nodes[i].name))
        out.append("    " + self.seed_line())
        out += ["    " + line for g in self.backward for line in g.lines]
        grads = ", ".join(f"{self.program.nodes[i].name!r}: d_{self.var(i)}"
                          for i in self.grads_returned())
        out.append(f"    return {{{grads}}}")
        return "\n".join(out)

    def optimizer(self) -> str:
        return OPTIMIZERS[self.setup.config.optimizer] if self.setup else ""

    def train_fn(self) -> str:
        s = self.setup
        assert s is not None
        b = s.binding
        nodes = self.program.nodes
        fvar = self.var(self.program.index[b.features])
        tvar = self.var(self.program.index[b.target])
        pred = nodes[b.prediction].name
        loss = nodes[self.program.output].name
        accuracy = s.split.dataset.task == "classification"
        acc_lines = [
            f"    pred = v[{pred!r}]",
            "    if pred.ndim == 2 and pred.shape[1] > 1:",
            "        classes = pred.argmax(axis=1)",
            "    else:",
            "        classes = (pred.reshape(-1) > THRESHOLD).astype(np.int64)",
            "    return float(v[" + repr(loss) + "]), float(np.mean(classes == labels))",
        ] if accuracy else [f"    return float(v[{loss!r}]), None"]
        test_lines = [
            '    X_test, T_test, y_test = data["test"]',
            "    if X_test.shape[0]:  # the test part, scored once at the end as the app does",
            "        test_loss, test_acc = evaluate(p, X_test, T_test, y_test)",
            '        history[-1].update(test_loss=test_loss, test_accuracy=test_acc)',
            '        line = f"test  {X_test.shape[0]} samples  loss {test_loss:.6g}"',
            "        if test_acc is not None:",
            '            line += f"  accuracy {100 * test_acc:.2f}%"',
            "        log(line)",
        ]
        return "\n".join([
            "def targets(y):",
            '    """The labels as the loss node takes them."""',
            f"    return {TARGETS[b.target_kind]}",
            "",
            "",
            "def evaluate(p, features, target, labels):",
            '    """Loss and accuracy on a whole set (None, None when it is empty)."""',
            "    if features.shape[0] == 0:",
            "        return None, None",
            f"    v = forward(p, {fvar}=features, {tvar}=target)",
            *acc_lines,
            "",
            "",
            "def load_data(arrays):",
            '    """Each part (train, val, test) as its inputs, its targets as the loss takes them,',
            '    and its labels."""',
            "    inputs = prepare_inputs(arrays)",
            '    return {part: (inputs[part].astype(DTYPE), targets(arrays[f"y_{part}"]),',
            '                   arrays[f"y_{part}"]) for part in PARTS}',
            "",
            "",
            "def batches(n, shuffle):",
            '    """One epoch\'s minibatches as the app makes them."""',
            "    if FULL_BATCH:  # the whole training part, in order",
            "        return [np.arange(n)]",
            "    order = shuffle.permutation(n)  # a fresh permutation per epoch",
            "    return [order[start:start + BATCH_SIZE] for start in range(0, n, BATCH_SIZE)]",
            "",
            "",
            "def train(epochs=EPOCHS, log=print):",
            '    """Train as the app does; return the weights, the loss of every batch and one record',
            '    per epoch (the last one also holds the test part\'s loss and accuracy, if any)."""',
            "    p, arrays = load_arrays()",
            "    data = load_data(arrays)",
            '    X_train, T_train, y_train = data["train"]',
            '    X_val, T_val, y_val = data["val"]',
            "    # the app's batch order: a generator seeded like its training loop's shuffler",
            "    shuffle = np.random.default_rng(np.random.SeedSequence(SEED).spawn(2)[1])",
            "    optimizer = Optimizer()",
            "    batch_losses, history = [], []",
            "    for epoch in range(1, epochs + 1):",
            "        for batch in batches(X_train.shape[0], shuffle):",
            "            x, t = X_train[batch], T_train[batch]",
            f"            v = forward(p, {fvar}=x, {tvar}=t)",
            f"            grads = backward(p, {fvar}=x, {tvar}=t, v=v)",
            "            optimizer.step(p, grads)  # frozen parameters get no gradient: they stay",
            f"            batch_losses.append(float(v[{loss!r}]))",
            "        train_loss, train_acc = evaluate(p, X_train, T_train, y_train)",
            "        val_loss, val_acc = evaluate(p, X_val, T_val, y_val)",
            '        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,',
            '                        "train_accuracy": train_acc, "val_accuracy": val_acc})',
            '        line = f"epoch {epoch:>3}/{epochs}  loss {train_loss:.4f}"',
            "        if val_loss is not None:",
            '            line += f"  val {val_loss:.4f}"',
            "        if val_acc is not None:",
            '            line += f"  val acc {100 * val_acc:.1f}%"',
            "        log(line)",
            *test_lines,
            "    return p, batch_losses, history",
        ])

    def one_pass_fn(self) -> str:
        args = ", ".join(self.var(i) for i in self.args)
        feeds = "\n".join(f"    {self.var(i)} = arrays[{'input:' + self.program.nodes[i].name!r}]"
                          for i in self.args)
        return "\n".join([
            "def one_pass():",
            '    """One forward and one backward pass with the inputs\' values; print them."""',
            "    p, arrays = load_arrays()",
            *([feeds] if feeds else []),
            f"    v = forward({', '.join(['p'] + ([args] if args else []))})",
            f"    grads = backward({', '.join(['p'] + ([args] if args else []))}, v)",
            "    for name, value in v.items():",
            '        print(f"{name} = {np.array2string(np.asarray(value), precision=6)}")',
            "    for name, g in grads.items():",
            '        print(f"d{name} = {np.array2string(np.asarray(g), precision=6)}")',
            "    return v, grads",
        ])
