"""What every mutation shares: decoding input IDs, and ``mutate``, which runs one service call
in a unit of work, commits, and turns a ``DomainError`` into the payload's ``userErrors``.

Every expected failure arrives as a ``DomainError`` (a malformed input ID too: ``require_pk``
raises ``NotFound``) and leaves as a ``userErrors`` entry; the unit of work rolls back, so a
failed mutation changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypedDict, TypeVar

import strawberry

from resolvers.context import Context, ResolverInfo
from resolvers.services import Services
from schema import payloads
from schema.ids import pk_of
from schema.payloads import UserError
from schema.types import Job
from services import types as domain
from services.errors import DomainError, NotFound
from services.jobs import JobLimits
from services.unset import UNSET, Maybe

ContextInfo = ResolverInfo
T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)


class FailedPayload(Protocol[P_co]):
    """A payload class, called with only its ``userErrors`` (every payload has the field)."""

    def __call__(self, *, user_errors: list[UserError]) -> P_co: ...


def require_pk(global_id: str, type_name: str, field: Sequence[str]) -> int:
    """The primary key behind an input ID; anything else is simply not found."""
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise NotFound(f"{type_name} not found.", field)
    return pk


def optional_pk(global_id: str | None, type_name: str, field: Sequence[str]) -> Maybe[int]:
    if global_id is strawberry.UNSET:
        return UNSET
    return None if global_id is None else require_pk(global_id, type_name, field)


def label_pks(ids: list[strawberry.ID] | None) -> Maybe[list[int]]:
    if ids is strawberry.UNSET:
        return UNSET
    if ids is None:
        return None
    return [require_pk(i, "Label", ["input", "labelIds", str(n)]) for n, i in enumerate(ids)]


def given(value: T | None) -> Maybe[T]:
    """Strawberry's UNSET (field absent) as the services' UNSET."""
    return UNSET if value is strawberry.UNSET else value


class JobOrigin(TypedDict):
    """What every ``start_*`` job service takes from the request that starts the job."""

    request_id: str
    # The request's trace, for the job row to carry to the worker (None while tracing is off).
    trace_context: dict[str, str] | None
    limits: JobLimits


def job_origin(context: Context) -> JobOrigin:
    jobs = context.jobs
    return JobOrigin(
        request_id=context.request_id, trace_context=jobs.trace_context(), limits=jobs.limits
    )


async def run(
    context: Context,
    work: Callable[[Services], Awaitable[T]],
    *,
    memberships: bool = False,
) -> T:
    """Run ``work`` with the request's services bound to the mutation's own session and commit
    once, before the payload is built; then the rest of the request reads what it wrote
    (``Context.after_write``)."""
    async with context.unit_of_work() as services:
        result = await work(services)
        await services.session.commit()
    await context.after_write(memberships=memberships)
    return result


async def with_user_errors(payload: FailedPayload[P], attempt: Callable[[], Awaitable[P]]) -> P:
    """``attempt``'s payload, or ``payload(user_errors=…)`` when it raised a ``DomainError``."""
    try:
        return await attempt()
    except DomainError as error:
        return payload(user_errors=[UserError.of(error)])


async def mutate(
    context: Context,
    payload: FailedPayload[P],
    work: Callable[[Services], Awaitable[R]],
    *,
    done: Callable[[R], P],
    then: Callable[[R], Awaitable[None]] | None = None,
    memberships: bool = False,
) -> P:
    """One mutation: ``work`` (which decodes its input IDs, then calls the service) in a unit
    of work committed once (``run``); a ``DomainError`` from it is the payload's ``userErrors``.
    Otherwise ``then`` does the after-commit effects and ``done`` builds the payload from the
    result (neither fails with a ``DomainError``: the write has happened)."""
    try:
        result = await run(context, work, memberships=memberships)
    except DomainError as error:
        return payload(user_errors=[UserError.of(error)])
    if then is not None:
        await then(result)
    return done(result)


async def start_job(
    context: Context,
    work: Callable[[Services], Awaitable[tuple[domain.Job, bool]]],
) -> payloads.JobPayload:
    """Write the job row and commit, then enqueue: the row is the outbox.

    docs/architecture.md, rule 4.

    If Redis is unreachable the job stays QUEUED and the worker's sweeper enqueues it later;
    a repeated idempotency key returns the first job without enqueueing anything. Input IDs
    are decoded inside ``work``, so a malformed one is a ``userErrors`` entry like the rest.
    """

    async def enqueue(started: tuple[domain.Job, bool]) -> None:
        job, created = started
        if created:
            await context.jobs.queue.enqueue(job)

    return await mutate(
        context,
        payloads.JobPayload,
        work,
        then=enqueue,
        done=lambda started: payloads.JobPayload(job=Job.from_model(started[0])),
    )
