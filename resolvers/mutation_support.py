"""What every mutation shares: decoding input IDs, and ``mutation``, which declares a mutation
field in one expression: its input, its payload, the service call it makes and how its payload
is built from what that call returned.

Every expected failure arrives as a ``DomainError`` (a malformed input ID too: ``require_pk``
raises ``NotFound``) and leaves as a ``userErrors`` entry; the unit of work rolls back, so a
failed mutation changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import strawberry

from resolvers.context import Context, ResolverInfo
from resolvers.services import Services
from schema import payloads
from schema.ids import pk_of
from schema.payloads import UserError
from schema.types import Job
from services import types as domain
from services.errors import DomainError, NotFound
from services.job_kind import JobStart
from services.unset import UNSET, Maybe

ContextInfo = ResolverInfo
T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)
InputT = TypeVar("InputT")
JobInputT = TypeVar("JobInputT", bound="KeyedInput")


class FailedPayload(Protocol[P_co]):
    """A payload class, called with only its ``userErrors`` (every payload has the field)."""

    def __call__(self, *, user_errors: list[UserError]) -> P_co: ...


class KeyedInput(Protocol):
    """The input of a mutation that starts a job."""

    @property
    def idempotency_key(self) -> str | None: ...


def require_pk(global_id: str, type_name: str, field: Sequence[str]) -> int:
    """The primary key behind an input ID; anything else is simply not found."""
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise NotFound(f"{type_name} not found.", field)
    return pk


def input_pk(global_id: str, type_name: str, input_field: str) -> int:
    """``require_pk`` for a field of the mutation's ``input`` (named as in the schema)."""
    return require_pk(global_id, type_name, ["input", input_field])


def optional_pk(global_id: str | None, type_name: str, input_field: str) -> Maybe[int]:
    if global_id is strawberry.UNSET:
        return UNSET
    return None if global_id is None else input_pk(global_id, type_name, input_field)


def label_pks(ids: list[strawberry.ID] | None) -> Maybe[list[int]]:
    if ids is strawberry.UNSET:
        return UNSET
    if ids is None:
        return None
    return [require_pk(i, "Label", ["input", "labelIds", str(n)]) for n, i in enumerate(ids)]


def given(value: T | None) -> Maybe[T]:
    """Strawberry's UNSET (field absent) as the services' UNSET."""
    return UNSET if value is strawberry.UNSET else value


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


@dataclass(frozen=True, slots=True)
class Written(Generic[InputT, R]):
    """A mutation's committed write: what its payload and after-commit effects are made from."""

    context: Context
    input: InputT
    result: R


def mutation(
    input_type: type[InputT],
    payload: FailedPayload[P],
    work: Callable[[Services, InputT], Awaitable[R]],
    done: Callable[[Written[InputT, R]], P],
    *,
    then: Callable[[Written[InputT, R]], Awaitable[None]] | None = None,
    memberships: bool = False,
    description: str | None = None,
) -> P:
    """A mutation field: ``work`` (which decodes its input IDs, then calls the service) in a
    unit of work committed once (``run``); a ``DomainError`` from it is the payload's
    ``userErrors``. Otherwise ``then`` does the after-commit effects and ``done`` builds the
    payload (neither fails with a ``DomainError``: the write has happened).

    Typed as strawberry types ``strawberry.mutation(resolver=…)``: as the payload, which the
    class attribute it is assigned to resolves to.
    """
    return _mutation_field(
        input_type,
        payload,
        lambda _context, services, input: work(services, input),
        done,
        then=then,
        memberships=memberships,
        description=description,
    )


Started = tuple[domain.Job, bool]


def job_mutation(
    input_type: type[JobInputT],
    start: Callable[[JobStart, JobInputT], Awaitable[Started]],
    *,
    description: str | None = None,
) -> payloads.JobPayload:
    """A mutation that starts a job: ``start`` writes the job row, committed, and then it is
    enqueued (docs/architecture.md, rule 4: the row is the outbox).

    If Redis is unreachable the job stays QUEUED and the worker's sweeper enqueues it later;
    a repeated idempotency key returns the first job without enqueueing anything.
    """

    def starting(context: Context, services: Services, input: JobInputT) -> Awaitable[Started]:
        jobs = context.jobs
        origin = JobStart(
            services.session,
            services.viewer,
            jobs.limits,
            idempotency_key=input.idempotency_key,
            request_id=context.request_id,
            trace_context=jobs.trace_context(),
        )
        return start(origin, input)

    async def enqueue(written: Written[JobInputT, Started]) -> None:
        job, created = written.result
        if created:
            await written.context.jobs.queue.enqueue(job)

    return _mutation_field(
        input_type,
        payloads.JobPayload,
        starting,
        lambda written: payloads.JobPayload(job=Job.from_model(written.result[0])),
        then=enqueue,
        description=description,
    )


def _mutation_field(
    input_type: type[InputT],
    payload: FailedPayload[P],
    work: Callable[[Context, Services, InputT], Awaitable[R]],
    done: Callable[[Written[InputT, R]], P],
    *,
    then: Callable[[Written[InputT, R]], Awaitable[None]] | None,
    memberships: bool = False,
    description: str | None,
) -> P:
    async def resolve(info: ResolverInfo, input: InputT) -> P:
        context = info.context
        try:
            result = await run(
                context, lambda services: work(context, services, input), memberships=memberships
            )
        except DomainError as error:
            return payload(user_errors=[UserError.of(error)])
        written = Written(context, input, result)
        if then is not None:
            await then(written)
        return done(written)

    # What strawberry reads the field's argument and type from: the module's annotations are
    # strings naming this function's type variables.
    resolve.__annotations__ = {"info": ResolverInfo, "input": input_type, "return": payload}
    field: P = strawberry.mutation(resolver=resolve, description=description)
    return field
