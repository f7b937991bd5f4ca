"""The job kinds' one declaration (jobs/kinds.py): every kind has one, and what it feeds (the
worker's functions, the queue's task names, the finished job's message) comes from it."""

from __future__ import annotations

from app.settings import Settings
from app.worker import worker_options
from db.models import JobKind
from jobs.kinds import JOB_KINDS

# Tasks already queued in Redis carry these names: an upgrade must keep running them.
TASK_NAMES = {
    JobKind.IMPORT_ISSUES: "issues.import",
    JobKind.EXPORT_PROJECT: "projects.export",
    JobKind.TRIAGE_ISSUE: "issues.triage",
}


def test_every_kind_is_declared_once_under_its_stable_task_name() -> None:
    assert {kind: spec.task for kind, spec in JOB_KINDS.items()} == TASK_NAMES
    assert all(spec.kind is kind for kind, spec in JOB_KINDS.items())


def test_the_worker_registers_one_function_per_declared_kind() -> None:
    settings = Settings(database_url="postgresql://u@127.0.0.1/db", redis_url="redis://127.0.0.1")
    functions = worker_options(settings)["functions"]
    assert sorted(f.name for f in functions) == sorted(TASK_NAMES.values())
    assert {f.timeout_s for f in functions} == {settings.job_timeout_seconds + 30}


def test_each_kind_words_its_finished_message() -> None:
    messages = {
        JobKind.IMPORT_ISSUES: JOB_KINDS[JobKind.IMPORT_ISSUES].summary(
            {"created": 3, "failed": 1, "errors": []}
        ),
        JobKind.EXPORT_PROJECT: JOB_KINDS[JobKind.EXPORT_PROJECT].summary(
            {"rows": 2, "bytes": 90, "format": "CSV"}
        ),
        JobKind.TRIAGE_ISSUE: JOB_KINDS[JobKind.TRIAGE_ISSUE].summary({"model": "local"}),
    }
    assert messages == {
        JobKind.IMPORT_ISSUES: "Imported 3 issues; 1 rows failed.",
        JobKind.EXPORT_PROJECT: "Exported 2 issues (90 bytes).",
        JobKind.TRIAGE_ISSUE: "Triaged by local.",
    }
