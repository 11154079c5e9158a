"""Datasets, optimizers and the training loop (a generator of frozen metric records). No Qt."""

from .checkpoint import (
    CheckpointError,
    WeightsFit,
    fit_weights,
    load_params,
    restore_params,
    save_params,
    weights_path,
)
from .loop import (
    Binding,
    DivergenceError,
    Metrics,
    PerParam,
    TrainConfig,
    Trainer,
    TrainingError,
    bind,
    predict_classes,
    train,
)
from .optim import OPTIMIZERS, make_optimizer

__all__ = [
    "OPTIMIZERS", "Binding", "CheckpointError", "DivergenceError", "Metrics", "PerParam",
    "TrainConfig", "Trainer", "TrainingError", "WeightsFit", "bind", "fit_weights",
    "load_params", "make_optimizer", "predict_classes", "restore_params", "save_params",
    "train", "weights_path",
]
