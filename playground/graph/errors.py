"""Typed errors of the graph document; each message says what to do about it."""

from __future__ import annotations

from ..engine.memory import MemoryBudgetError
from ..engine.registry import EngineError


class GraphError(EngineError):
    """Base class: a change to the document was refused and nothing changed."""


class UnknownNodeError(GraphError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown node"


class UnknownPortError(GraphError, ValueError):
    pass


class CycleError(GraphError, ValueError):
    pass


class InputTakenError(GraphError, ValueError):
    pass


class SameNodeError(GraphError, ValueError):
    pass


class ConnectionShapeError(GraphError, ValueError):
    """A wire whose shapes do not fit. When its source is an input that a batch shape would
    fit, ``shape`` is that shape (``[None, 3]``) and ``input_id`` the input's id: the window
    can offer to give the input that shape."""

    def __init__(self, message: str, input_id: str | None = None,
                 shape: list[int | None] | None = None) -> None:
        super().__init__(message)
        self.input_id = input_id if shape is not None else None
        self.shape = shape


class NameError_(GraphError, ValueError):
    """A node name that is empty, taken, or has characters names cannot have."""


class UnconnectedInputError(GraphError, ValueError):
    pass


class InputValueError(GraphError, ValueError):
    """A value typed into an input that does not fit the input's shape; ``input_name`` names
    the input (the Inspector shows the message beside its value field)."""

    def __init__(self, message: str, input_name: str) -> None:
        super().__init__(message)
        self.input_name = input_name


class CompileError(GraphError, ValueError):
    """The graph cannot run yet; ``node_ids`` lists the nodes at fault."""

    def __init__(self, message: str, node_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.node_ids = node_ids


class CompileMemoryError(CompileError, MemoryBudgetError):
    """The graph's arrays would not fit the memory budget; ``node_ids`` names the largest."""

    def __init__(self, message: str, node_ids: tuple[str, ...] = (), what: str = "",
                 nbytes: int = 0, budget: int = 0) -> None:
        CompileError.__init__(self, message, node_ids)
        self.what, self.nbytes, self.budget, self.key = what, nbytes, budget, ""


class SaveError(GraphError, OSError):
    """The document cannot be written (a value no JSON file can hold); the file is untouched.
    An OSError, so a save path that reports a full disk reports this too."""


class FileFormatError(GraphError, ValueError):
    """A graph file that cannot be read; the message names the file and what is wrong."""
