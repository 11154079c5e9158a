"""NumPy reverse-mode autodiff: the op registry and compiled programs. No Qt here."""

from . import ops as _ops  # noqa: F401  (registers every op)
from . import ops_losses as _ops_losses  # noqa: F401  (and every loss)
from . import shapes
from .memory import MemoryBudgetError, memory_budget, set_memory_budget
from .program import FeedError, NonFiniteError, Program, ProgramNode, infer_shapes
from .registry import (
    REGISTRY,
    EngineError,
    OpSpec,
    Param,
    ParamError,
    ShapeError,
    UnknownOpError,
    Variant,
    categories,
    fmt_shape,
    get_op,
    ops,
    register,
    unbroadcast,
    unregister,
)

__all__ = [
    "REGISTRY", "EngineError", "FeedError", "MemoryBudgetError", "NonFiniteError", "OpSpec",
    "Param", "ParamError", "Program", "ProgramNode", "ShapeError", "UnknownOpError", "Variant",
    "categories", "fmt_shape", "get_op", "infer_shapes", "memory_budget", "ops", "register",
    "set_memory_budget", "shapes", "unbroadcast", "unregister",
]
