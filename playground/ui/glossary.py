"""The jargon, explained once in plain words: the symbols the window writes (N, ‖·‖, ∇, μ, σ,
G, ᵀ ...), what each param of an op means and what its choices do (glorot_uniform and friends),
and the Training panel's settings. Tooltips of the palette, the Inspector, the wire labels and
the Training panel read it, so a word means the same everywhere and is explained where it is
met. Plain strings, no Qt."""

from __future__ import annotations

from collections.abc import Mapping

# symbol (as it appears in a text) → what it means, in plain words
SYMBOLS: tuple[tuple[str, str], ...] = (
    ("N", "N = the batch: one row per sample, as many rows as are fed at once"),
    ("‖", "‖·‖ = the norm: the square root of the sum of squares, how big a whole array is"),
    ("∇", "∇ = the gradient ∂L/∂(this): how much the output L changes per unit change here"),
    ("∂", "∂a/∂b = how much a changes per unit change of b, the others held still"),
    ("μ", "μ = the mean (average)"),
    ("σ", "σ = the sigmoid 1/(1 + e⁻ˣ): squashes any number into 0 … 1"),
    ("G", "G = the gradient arriving from the output side (upstream)"),
    ("ᵀ", "ᵀ = transposed: rows become columns"),
    ("⊙", ("a ⊙ b = element by element: each number of a times the number in the same place of "
          "b (so the mean of a ⊙ b is not the mean of a times the mean of b)")),
    ("δ", "δᵢⱼ = 1 when i = j, else 0"),
    ("Σ", "Σ = the sum of all terms"),
    ("η", "η = the learning rate: how big a step each update takes"),
)

LOCAL_DERIVATIVE = ("local derivative: how much this gate's output moves per unit change of each "
                    "input; backprop multiplies it by the gradient from above")


def legend(*texts: str) -> str:
    """The meanings of the symbols that appear in ``texts`` (one per line, '' when none). N
    counts only as a capital standing alone (the batch), G only where a formula uses it."""
    joined = " ".join(texts)
    out = []
    for symbol, meaning in SYMBOLS:
        if symbol in ("N", "G"):
            found = any(_alone(t, symbol) for t in texts)
        else:
            found = symbol in joined
        if found:
            out.append(meaning)
    return "\n".join(out)


def _alone(text: str, letter: str) -> bool:
    for k, ch in enumerate(text):
        if ch == letter:
            before = text[k - 1] if k else " "
            after = text[k + 1] if k + 1 < len(text) else " "
            if not before.isalpha() and not after.isalpha():
                return True
    return False


def legend_html(*texts: str) -> str:
    """:func:`legend` as a small grey block for a rich-text tooltip ('' when nothing)."""
    text = legend(*texts)
    if not text:
        return ""
    lines = "<br>".join(text.splitlines())
    return f"<br><span style='color:gray; font-size:small'>{lines}</span>"


# -- op params -------------------------------------------------------------------------------
# (op or '*', param) → what it is
PARAMS: Mapping[tuple[str, str], str] = {
    ("input", "shape"): "the sizes of what is fed: [] is one number you type in, [3] three "
                        "numbers, [null, 64] a batch of rows of 64 numbers (null, shown as N, "
                        "is the batch: one row per sample, fed from the data)",
    ("input", "value"): "the number (or list) fed when no data is: Evaluate and the "
                        "step-through use it",
    ("parameter", "shape"): "the sizes of the weight array, e.g. [64, 10]: 64 inputs to each of "
                            "10 outputs",
    ("parameter", "init"): "how the weights start before training (pick one to see what it does)",
    ("parameter", "std"): "the spread (standard deviation) of the random start values, for "
                          "init 'normal'",
    ("parameter", "value"): "explicit start values (a number or nested list); overrides init",
    ("parameter", "trainable"): "off: training leaves these weights as they are (frozen)",
    ("constant", "value"): "a fixed number or nested list; never trained",
    ("*", "reduction"): "how the loss combines the samples' errors (pick one to see)",
    ("*", "axis"): "which axis to reduce (0 = down the rows, -1 = along the last); empty for "
                   "all of them",
    ("*", "keepdims"): "keep the reduced axis with size 1, so the shape lines up with the input",
    ("*", "axes"): "the new order of the axes; empty reverses them",
    ("*", "exponent"): "the power p in xᵖ",
    ("*", "c"): "the constant c",
    ("*", "alpha"): "the slope α for negative inputs",
    ("*", "input"): "what the gate is given: probabilities (0 … 1, after a σ) or logits (any "
                    "number; the σ is applied inside, more stable)",
}

# (param, choice) → what choosing it does
CHOICES: Mapping[tuple[str, str], str] = {
    ("init", "glorot_uniform"): "random, evenly spread in ±√(6 / (inputs + outputs)) "
                                "(Glorot/Xavier): signals keep about the same size from layer "
                                "to layer; good with tanh and σ",
    ("init", "glorot_normal"): "random, bell-shaped with spread √(2 / (inputs + outputs)) "
                               "(Glorot/Xavier)",
    ("init", "he_normal"): "random, bell-shaped with spread √(2 / inputs) (He): made for ReLU "
                           "layers, which zero half their inputs",
    ("init", "normal"): "random, bell-shaped with the spread set in 'std'",
    ("init", "zeros"): "all 0: the usual start for biases (for weights, every unit would learn "
                       "the same thing)",
    ("init", "ones"): "all 1",
    ("reduction", "mean"): "the average over the samples (and values): the gradient does not grow "
                           "with the batch",
    ("reduction", "sum"): "the sum over the samples: the gradient grows with the batch",
    ("reduction", "half_sum"): "½ · the sum of squared errors, the tutorials' loss: its gradient "
                               "is just pred − target",
    ("input", "probabilities"): "the gate is given probabilities (0 … 1)",
    ("input", "logits"): "the gate is given raw scores; it applies the σ itself",
}


def param_tip(op: str, param: str, fallback: str = "") -> str:
    """What ``param`` of ``op`` means, in plain words."""
    return PARAMS.get((op, param)) or PARAMS.get(("*", param)) or fallback or param


def choice_tip(param: str, choice: str) -> str:
    return CHOICES.get((param, choice), "")


# -- the Training panel's settings -----------------------------------------------------------
TRAINING: Mapping[str, str] = {
    "dataset": "the examples the network learns from; 2-D sets show a picture of their points",
    "import_csv": "use your own data: a CSV file with one row per sample and one column per "
                  "feature, plus a label column",
    "samples": "how many samples the built-in dataset makes",
    "noise": "how much random jitter the built-in dataset adds to its points (0 = clean)",
    "val_fraction": "the share of the samples held back to check the network on data it did "
                    "not train on (validation)",
    "seed": "the number the random choices start from: the same seed gives the same data "
            "split and the same start weights",
    "standardize": "shift and scale every feature to mean 0 and spread 1 before training "
                   "(gradients behave better)",
    "features": "the Input node that receives each sample's features (a row of numbers)",
    "target": "the Input node that receives each sample's label (the right answer)",
    "optimizer": "how the weights are updated from their gradients: sgd takes a step of "
                 "−learning rate × gradient; momentum keeps part of the last step; adam scales "
                 "each weight's step by its recent gradients",
    "lr": "the learning rate η: how big a step each update takes (too big: the loss jumps "
          "around; too small: it learns slowly). May be changed while training",
    "batch": "how many samples each step averages its gradient over (a minibatch)",
    "epochs": "how many times training goes through all the training samples",
    "l2": "L2 weight decay: pulls every weight a little towards 0 each step, against "
          "overfitting (0 = off)",
    "reinit": "start the weights again from random values (the seed decides which)",
    "train_button": "train for the epochs set above; the graph is locked until it stops",
    "step_button": "exactly one update from one minibatch, then stop",
    "epoch_button": "one pass through all the training samples, then stop",
    "stop_button": "stop training; the weights keep what they learned",
    "reset_button": "clear the plots and start the weights again from random values",
}


def explain_widgets(owner: object, tips: Mapping[str, str] = TRAINING) -> int:
    """Give ``owner``'s widgets (attributes named as in ``tips``) their plain-words tooltips;
    the number of widgets found."""
    found = 0
    for attr, tip in tips.items():
        widget = getattr(owner, attr, None)
        if widget is not None and hasattr(widget, "setToolTip"):
            old = widget.toolTip() if hasattr(widget, "toolTip") else ""
            # keep the allowed range the panel wrote ("seed: a whole number from 0 to ...")
            allowed = old.split(": ", 1)[1] if ": " in old and " from " in old else ""
            widget.setToolTip(tip[0].upper() + tip[1:] + "." + (f" Allowed: {allowed}."
                                                                if allowed else ""))
            found += 1
    return found
