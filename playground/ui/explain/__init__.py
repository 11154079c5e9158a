"""Explain tools: Evaluate and the values on the wires (evaluate.py), the gradient check, flow
overlay and health badges (checks.py), the value detail view (detail.py), the step-through,
the lessons, the Math card and the granularity tools; tools.py builds them from a session."""
