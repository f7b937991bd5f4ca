"""Data for benchmarks, not product code: nothing in the service imports it.

It ships in the wheel only so that ``issuegraph seed --bench`` (``app/cli.py``, which imports it
lazily) works from an installed package; the benchmark harness calls that command.
"""
