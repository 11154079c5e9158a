"""The PySide6 + pyqtgraph user interface: the only layer that knows Qt."""
