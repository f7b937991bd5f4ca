"""Logs, traces and the per-request measures behind the metrics."""
