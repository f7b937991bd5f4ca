"""Every job kind, listed once: the worker's arq functions (``jobs/functions.py``) and the
queue's task names (``jobs/queue.py``) come from here (docs/architecture.md, "Adding a job
kind"). Each kind is declared beside its service functions (``services/job_kind.py``)."""

from __future__ import annotations

from db.models import JobKind
from services.exports import EXPORT_JOB
from services.imports import IMPORT_JOB
from services.insights import TRIAGE_JOB
from services.job_kind import JobKindSpec

JOB_KINDS: dict[JobKind, JobKindSpec] = {
    spec.kind: spec for spec in (IMPORT_JOB, EXPORT_JOB, TRIAGE_JOB)
}

# A kind without its declaration would be accepted by the API and never run: refuse to start.
if set(JOB_KINDS) != set(JobKind):
    raise RuntimeError(f"job kinds without a declaration: {set(JobKind) - set(JOB_KINDS)}")
