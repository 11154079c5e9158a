"""The node-editor canvas: scene, items, view."""
