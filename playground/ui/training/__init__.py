"""The training panel: worker thread, live plots, controls."""
