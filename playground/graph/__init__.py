"""The editable graph document: nodes, ports, edges, validation, events, files, compile."""

from .compile import compile_graph, graph_values, node_shape
from .errors import (
    CompileError,
    CompileMemoryError,
    ConnectionShapeError,
    CycleError,
    FileFormatError,
    GraphError,
    InputTakenError,
    InputValueError,
    SameNodeError,
    SaveError,
    UnconnectedInputError,
    UnknownNodeError,
    UnknownPortError,
)
from .model import COMPOSITE, Analysis, Edge, GraphModel, Node
from .serialize import FORMAT, VERSION, dumps, load, loads, save

__all__ = [
    "COMPOSITE", "FORMAT", "VERSION", "Analysis", "CompileError", "CompileMemoryError",
    "ConnectionShapeError", "CycleError", "Edge", "FileFormatError", "GraphError", "GraphModel",
    "InputTakenError", "InputValueError", "Node", "SameNodeError", "SaveError",
    "UnconnectedInputError", "UnknownNodeError", "UnknownPortError",
    "compile_graph", "dumps", "graph_values", "load", "loads", "node_shape", "save",
]
