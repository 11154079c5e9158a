"""The text of the exported ``train.py`` and ``README.md``. Settings are filled in by
``torch_export``; the rest is fixed code: the app's data pipeline (standardisation with the
training part's statistics), its optimizer maths and its batch order on one process, and the
usual DistributedDataParallel recipe (DistributedSampler, gloo on CPU, nccl on GPU) under
``torchrun ... --ddp``."""

TRAIN = '''"""Train the exported network with PyTorch, as Backprop Playground trains it.

One process (``python train.py``) reproduces the app's run: the same split and standardisation,
the same starting weights, optimizer maths and batch order, so the losses are the app's.
Many processes (``torchrun --nproc_per_node N train.py --ddp``) use DistributedDataParallel
with a DistributedSampler: each global batch of BATCH_SIZE samples is shared out across the
processes (gloo on CPU, nccl on GPU); the order comes from the sampler, not from the app.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from model import DTYPE, Net, load_weights, save_weights

HERE = Path(__file__).resolve().parent

{{SETTINGS}}


{{DATA_FUNCTIONS}}


def load_data():
    """Each part (train, val, test): the inputs made as the app makes them, the targets as the
    loss takes them, and the labels."""
    with np.load(HERE / "data.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    inputs = prepare_inputs(arrays)

    def targets(y):
        if TARGET_KIND == "labels":
            return torch.as_tensor(y, dtype=DTYPE)
        if TARGET_KIND == "column":
            return torch.as_tensor(y.reshape(-1, 1), dtype=DTYPE)
        if TARGET_KIND == "onehot":
            return torch.nn.functional.one_hot(torch.as_tensor(y), N_CLASSES).to(DTYPE)
        return torch.as_tensor(y.reshape(y.shape[0], math.prod(y.shape[1:])), dtype=DTYPE)

    return {part: (torch.as_tensor(inputs[part], dtype=DTYPE), targets(arrays[f"y_{part}"]),
                   torch.as_tensor(arrays[f"y_{part}"])) for part in PARTS}


class Optimizer:
    """The app's optimizers step for step (playground/training/optim.py). torch.optim.SGD with
    weight_decay=L2 is the same as "sgd"; torch's Adam adds eps after the bias correction where
    the app adds it before, so the update is written out here."""

    def __init__(self, params, name, lr, l2=0.0, momentum=0.9, betas=(0.9, 0.999), eps=1e-8):
        self.params = [w for w in params if w.requires_grad]
        self.name, self.lr, self.l2, self.momentum = name, lr, l2, momentum
        self.betas, self.eps, self.t = betas, eps, 0
        self.state = [(torch.zeros_like(w), torch.zeros_like(w)) for w in self.params]

    def zero_grad(self):
        for w in self.params:
            w.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = self.betas
        scale = self.lr * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        for w, (m, v) in zip(self.params, self.state):
            g = w.grad
            if self.l2:
                g = g + self.l2 * w  # L2 weight decay: d/dw (l2/2 |w|^2) = l2 w
            if self.name == "sgd":
                w -= self.lr * g
            elif self.name == "momentum":
                m *= self.momentum
                m -= self.lr * g
                w += m
            else:  # adam
                m *= b1
                m += (1.0 - b1) * g
                v *= b2
                v += (1.0 - b2) * (g * g)
                w -= scale * m / (torch.sqrt(v) + self.eps)


@torch.no_grad()
def evaluate(model, X, T, y):
    """Loss and accuracy on a whole set (None, None when it is empty)."""
    if X.shape[0] == 0:
        return None, None
    out = model(**{FEATURES: X, TARGET: T})
    accuracy = None
    if CLASSIFICATION:
        pred = out[PREDICTION]
        classes = (pred.argmax(dim=1) if pred.dim() == 2 and pred.shape[1] > 1
                   else (pred.reshape(-1) > THRESHOLD).long())
        accuracy = float((classes.cpu() == y).double().mean())
    return float(out[LOSS]), accuracy


def app_batches(n, batch_size, rng):
    """The app's minibatches: a fresh permutation per epoch from its seeded shuffler."""
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield torch.from_numpy(order[start:start + batch_size])


def main():
    parser = argparse.ArgumentParser(description="Train the exported network.")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="the global batch")
    parser.add_argument("--full-batch", action=argparse.BooleanOptionalAction,
                        default=FULL_BATCH, help="every step on the whole training part")
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--optimizer", choices=("sgd", "momentum", "adam"), default=OPTIMIZER)
    parser.add_argument("--l2", type=float, default=L2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--ddp", action="store_true", help="run under torchrun, one process each")
    parser.add_argument("--weights", default=str(HERE / "weights.npz"), help="starting weights")
    parser.add_argument("--save", help="save the trained weights here (.npz keyed by node name)")
    parser.add_argument("--json", action="store_true", help="one JSON object per epoch")
    args = parser.parse_args()

    rank, world = 0, 1
    device = torch.device(args.device)
    if args.ddp:
        backend = "nccl" if args.device.startswith("cuda") else "gloo"
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        if args.device.startswith("cuda"):
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
        if args.batch_size % world and not args.full_batch:
            raise SystemExit(f"the batch size {args.batch_size} must divide by {world} processes")

    data = load_data()
    (X_train, T_train, y_train), (X_val, T_val, y_val) = data["train"], data["val"]
    model = Net().to(device)
    load_weights(model, args.weights)
    model.to(device)
    net = (DistributedDataParallel(model, find_unused_parameters=UNUSED_PARAMETERS)
           if args.ddp else model)
    # the frozen parameters (FROZEN) have requires_grad=False: the optimizer never sees them
    optimizer = Optimizer(model.parameters(), args.optimizer, args.lr, args.l2, MOMENTUM)
    n = X_train.shape[0]
    if args.ddp:
        per_process = math.ceil(n / world) if args.full_batch else args.batch_size // world
        sampler = DistributedSampler(TensorDataset(X_train, T_train), num_replicas=world,
                                     rank=rank, shuffle=not args.full_batch, seed=SEED)
        loader = DataLoader(TensorDataset(X_train, T_train), batch_size=per_process,
                            sampler=sampler)
    else:  # the app's shuffler: SeedSequence(SEED), second child, as its training loop seeds it
        shuffle = np.random.default_rng(np.random.SeedSequence(SEED).spawn(2)[1])

    for epoch in range(1, args.epochs + 1):
        if args.ddp:
            sampler.set_epoch(epoch)
            batches = loader
        elif args.full_batch:  # the whole training part, in order, every step
            batches = [(X_train, T_train)]
        else:
            batches = ((X_train[idx], T_train[idx])
                       for idx in app_batches(n, args.batch_size, shuffle))
        for x, t in batches:
            out = net(**{FEATURES: x.to(device), TARGET: t.to(device)})
            optimizer.zero_grad()
            loss = out[LOSS]
            if args.ddp and LOSS_SUMS:  # DDP averages the processes' gradients; a sum adds them
                loss = loss * world
            loss.backward()  # DDP averages the gradients of the processes here
            optimizer.step()
        train_loss, train_acc = evaluate(model, X_train.to(device), T_train.to(device), y_train)
        val_loss, val_acc = evaluate(model, X_val.to(device), T_val.to(device), y_val)
        record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                  "train_accuracy": train_acc, "val_accuracy": val_acc}
        X_test, T_test, y_test = data["test"]
        if epoch == args.epochs and X_test.shape[0]:  # the test part, once at the end, as the app
            test_loss, test_acc = evaluate(model, X_test.to(device), T_test.to(device), y_test)
            record.update(test_loss=test_loss, test_accuracy=test_acc)
        if rank == 0:
            if args.json:
                print(json.dumps(record), flush=True)
            else:
                line = f"epoch {epoch:>3}/{args.epochs}  loss {train_loss:.4f}"
                if val_loss is not None:
                    line += f"  val {val_loss:.4f}"
                if val_acc is not None:
                    line += f"  val acc {100 * val_acc:.1f}%"
                print(line, flush=True)
                if "test_loss" in record:
                    line = f"test  {X_test.shape[0]} samples  loss {record['test_loss']:.6g}"
                    if record["test_accuracy"] is not None:
                        line += f"  accuracy {100 * record['test_accuracy']:.2f}%"
                    print(line, flush=True)
    if args.save and rank == 0:
        save_weights(model, args.save)
    if args.ddp:  # leave together: no process tears down its connections while a peer still
        dist.barrier()  # uses them, and DDP's reducer goes before the group it holds
        del net, optimizer
        dist.destroy_process_group()
        # gloo's worker threads outlive the group, and one may still be releasing the
        # barrier's work, which takes the interpreter lock: once Python is finalising, that
        # aborts the process ("terminate called without an active exception"; see
        # pytorch/pytorch#179291). All is printed and saved: leave without finalising.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
'''

README = '''# {{TITLE}} — PyTorch project

Exported from Backprop Playground. {{DESCRIPTION}}

- `model.py`: the graph as an `nn.Module`, node by node (gate names as in the app; composites
  are submodules). `load_weights(model, "weights.npz")` / `save_weights(model, path)` read and
  write `.npz` files keyed by node name, the format of the app's `NAME.weights.npz`.
- `train.py`: the app's training run: {{DATA}}, optimizer `{{OPTIMIZER}}` (lr {{LR}},
  L2 {{L2}}), {{BATCH}}, {{EPOCHS}} epochs, seed {{SEED}}. Parameters the app does not
  train (`trainable: false`) have `requires_grad=False` and stay as they are. A test part,
  if the data has one, is scored once at the end, as the app does.
- `weights.npz`: the starting weights; `data.npz`: the training, validation and test parts
  as raw columns (`train.py` derives the feature inputs, if any, and standardises with the
  training part's statistics, as the app does).

Needs `numpy` and `torch`.

```sh
python train.py                        # one process: the app's losses, epoch by epoch
python train.py --device cuda          # on a GPU
python train.py --epochs 5 --optimizer sgd --lr 0.1 --save trained.npz
torchrun --nproc_per_node 2 train.py --ddp                 # 2 processes on CPU (gloo)
torchrun --nproc_per_node 4 train.py --ddp --device cuda   # 4 GPUs (nccl)
torchrun --nnodes 2 --nproc_per_node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
    train.py --ddp --device cuda                           # 2 machines
```

With `--ddp` the batch size is the *global* batch: each of N processes takes `BATCH_SIZE / N`
samples per step from a `DistributedSampler`, and DistributedDataParallel averages their
gradients, so the update is the one a single process would make on the whole batch. The
sampler orders the samples its own way (and repeats a few when the data does not divide by N),
so a `--ddp` run matches another `--ddp` run with the same global batch, not the app's order;
without `--ddp` the batches are the app's. With `--full-batch` each process takes its share
of the whole training part; a loss that sums its terms (reduction `sum`, `half_sum`) is
multiplied by the number of processes, so that DDP's average of the gradients is their sum.
'''
