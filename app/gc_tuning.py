"""Garbage-collector settings for the API process.

A W1 answer keeps a few thousand container objects alive while it is built. With CPython's
default threshold (a young collection every 700 net allocations) a request triggered several
collections, each promoting the request's live objects towards the oldest generation, whose
full collections then walked every object of the process (the schema, the compiled plans,
SQLAlchemy's metadata: ~100 ms each, the p99 of W1). Freezing what start-up built takes those
objects out of every collection, and a higher young threshold lets most of a request's objects
die by reference counting before any collection sees them. (Measured: docs/performance.md.)
"""

from __future__ import annotations

import gc


def tune(*, freeze: bool, threshold: tuple[int, int, int]) -> None:
    """Call once the process is ready to serve (after start-up built what it keeps)."""
    gc.set_threshold(*threshold)
    if freeze:
        gc.collect()
        gc.freeze()
