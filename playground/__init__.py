"""Backprop Playground: build neural networks as computational graphs and watch them learn."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("backprop-playground")
except _metadata.PackageNotFoundError:  # running from a source checkout
    __version__ = "0.1.0"
